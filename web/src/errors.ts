// Every failed call is shown as its gRPC status name and message.
import { Code, ConnectError } from "@connectrpc/connect";

/** gRPC's status names, indexed by code. */
const STATUS_NAMES = [
  "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
  "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
  "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
  "UNAUTHENTICATED",
];

/** Returns "STATUS: message" for a failed call (or any other error). */
export function describe(error: unknown): string {
  const connect = ConnectError.from(error);
  const name = STATUS_NAMES[connect.code] ?? `STATUS ${connect.code}`;
  return `${name}: ${connect.rawMessage}`;
}

/** Says whether the error is the server asking for credentials. */
export function isUnauthenticated(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Unauthenticated;
}

/** Says whether the error is a call this page cancelled itself. */
export function isCancelled(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Canceled;
}
