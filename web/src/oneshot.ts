// One-shot gRPC-Web calls for the client-streaming RPCs (RecordRoute, RouteChat), which
// connect-web refuses because fetch cannot stream a request body: every request message
// goes in one body, and the response's frames are read once it has arrived. Messages are
// encoded and decoded by protobuf-es; this file only frames them.
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

const CONTENT_TYPE = "application/grpc-web+proto";
/** A frame's header: one flag byte, then the payload's length (big-endian u32). */
const FRAME_HEADER = 5;
const TRAILER_FLAG = 0x80;

/** Returns `payloads` as one gRPC-Web body: each behind its 5-byte frame header. */
export function frame(payloads: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const size = payloads.reduce((sum, p) => sum + FRAME_HEADER + p.length, 0);
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  let offset = 0;
  for (const payload of payloads) {
    body[offset] = 0;
    view.setUint32(offset + 1, payload.length);
    body.set(payload, offset + FRAME_HEADER);
    offset += FRAME_HEADER + payload.length;
  }
  return body;
}

/** A response body split into its message payloads and its trailer block, if any. */
interface Frames {
  messages: Uint8Array[];
  trailer?: Headers;
}

/** Splits a gRPC-Web response body into frames. */
export function unframe(body: Uint8Array): Frames {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Frames = { messages: [] };
  let offset = 0;
  while (offset < body.length) {
    if (offset + FRAME_HEADER > body.length) {
      throw new ConnectError("truncated gRPC-Web frame header", Code.Internal);
    }
    const flags = body[offset];
    const length = view.getUint32(offset + 1);
    const start = offset + FRAME_HEADER;
    if (start + length > body.length) {
      throw new ConnectError("truncated gRPC-Web frame", Code.Internal);
    }
    const payload = body.subarray(start, start + length);
    if (flags & TRAILER_FLAG) {
      frames.trailer = parseTrailer(payload);
    } else if (flags !== 0) {
      throw new ConnectError(`unexpected gRPC-Web frame flags ${flags}`, Code.Internal);
    } else {
      frames.messages.push(payload);
    }
    offset = start + length;
  }
  return frames;
}

/** Parses a trailer block: "name: value" lines separated by CRLF. */
function parseTrailer(payload: Uint8Array): Headers {
  const trailer = new Headers();
  for (const line of new TextDecoder().decode(payload).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      trailer.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
  }
  return trailer;
}

/** Throws the call's error when `status` (from trailers or headers) is not OK. */
function checkStatus(status: Headers): void {
  const code = Number(status.get("grpc-status"));
  if (code === 0) {
    return;
  }
  let message = status.get("grpc-message") ?? "";
  try {
    message = decodeURIComponent(message);
  } catch {
    // Not percent-encoded after all: show it as it came.
  }
  throw new ConnectError(message, code in Code ? code : Code.Unknown);
}

/**
 * Calls `path` (e.g. "/routeguide.RouteGuide/RecordRoute") with every input in one request
 * body and returns every response message.
 *
 * Throws a ConnectError carrying the gRPC status of a failed call, `UNAVAILABLE` when the
 * server cannot be reached and `CANCELLED` when `signal` aborts it.
 */
export async function callOnce<I extends DescMessage, O extends DescMessage>(
  path: string,
  input: I,
  requests: MessageShape<I>[],
  output: O,
  headers: Record<string, string>,
  signal?: AbortSignal,
): Promise<MessageShape<O>[]> {
  const body = frame(requests.map((message) => toBinary(input, message)));
  let response: Response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { ...headers, "content-type": CONTENT_TYPE, accept: CONTENT_TYPE, "x-grpc-web": "1" },
      body,
      signal,
    });
  } catch (error) {
    const code = signal?.aborted ? Code.Canceled : Code.Unavailable;
    throw new ConnectError(`cannot reach the server: ${String(error)}`, code);
  }
  if (response.status !== 200) {
    throw new ConnectError(`HTTP status ${response.status}`, httpCode(response.status));
  }
  const frames = unframe(new Uint8Array(await response.arrayBuffer()));
  // A call that failed at once answers "trailers-only": its status is in the headers.
  const status = frames.trailer ?? (response.headers.has("grpc-status") ? response.headers : undefined);
  if (status === undefined) {
    throw new ConnectError("the response has no gRPC status", Code.Internal);
  }
  checkStatus(status);
  return frames.messages.map((payload) => fromBinary(output, payload));
}

/** Maps an HTTP error status to the gRPC code gRPC-Web clients use for it. */
function httpCode(status: number): Code {
  switch (status) {
    case 400: return Code.Internal;
    case 401: return Code.Unauthenticated;
    case 403: return Code.PermissionDenied;
    case 404: return Code.Unimplemented;
    case 429: case 502: case 503: case 504: return Code.Unavailable;
    default: return Code.Unknown;
  }
}
