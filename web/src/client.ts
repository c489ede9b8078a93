// The page's RouteGuide client: connect-web's gRPC-Web transport for GetFeature and
// ListFeatures, the one-shot helper for RecordRoute and RouteChat, and an optional token.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import {
  type Feature,
  PointSchema,
  RectangleSchema,
  RouteGuide,
  type RouteNote,
  RouteNoteSchema,
  type RouteSummary,
  RouteSummarySchema,
} from "./gen/route_guide_pb";
import type { PointE7, RectE7 } from "./geo";
import { callOnce } from "./oneshot";

/** Metadata that asks ListFeatures for the number of features in the rectangle. */
const COUNT_REQUEST = "routeguide-want-count";
/** The response header that carries that number. */
const COUNT = "routeguide-feature-count";
const TOKEN_KEY = "routeguide-token";
const CALL_TIMEOUT_MS = 30_000;

let token = sessionStorage.getItem(TOKEN_KEY) ?? "";

/** Sets the bearer token sent with every call from now on (empty: none). */
export function setToken(value: string): void {
  token = value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
}

function authorization(): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

const withToken: Interceptor = (next) => (request) => {
  if (token) {
    request.header.set("authorization", `Bearer ${token}`);
  }
  return next(request);
};

const client = createClient(
  RouteGuide,
  createGrpcWebTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [withToken],
    defaultTimeoutMs: CALL_TIMEOUT_MS,
  }),
);

/** Returns GetFeature's answer at `point`. */
export function getFeature(point: PointE7): Promise<Feature> {
  return client.getFeature(create(PointSchema, point));
}

/** At most `limit` features of a rectangle, and how many it holds when the server says. */
export interface Listing {
  features: Feature[];
  /** The number of features in the rectangle, when the server counted them. */
  total?: number;
  /** Whether the rectangle holds more than `features`. */
  more: boolean;
}

/**
 * Returns the first `limit` features ListFeatures streams for `rect`, then cancels the rest
 * of the stream, so a view over millions of features reads only `limit` of them.
 * Throws CANCELLED when `signal` aborts the listing.
 */
export async function listFeatures(rect: RectE7, limit: number, signal: AbortSignal): Promise<Listing> {
  const stream = new AbortController();
  const cancel = () => stream.abort();
  signal.addEventListener("abort", cancel);
  const features: Feature[] = [];
  let total: number | undefined;
  let more = false;
  try {
    const responses = client.listFeatures(create(RectangleSchema, rect), {
      signal: stream.signal,
      headers: { [COUNT_REQUEST]: "1" },
      onHeader: (headers) => {
        const value = headers.get(COUNT);
        total = value === null ? undefined : Number(value);
      },
    });
    for await (const feature of responses) {
      if (features.length === limit) {
        more = true;
        break;
      }
      features.push(feature);
    }
  } catch (error) {
    // Cancelling the rest ourselves is not a failure; the caller's abort is.
    if (!stream.signal.aborted || signal.aborted) {
      throw error;
    }
  } finally {
    stream.abort();
    signal.removeEventListener("abort", cancel);
  }
  if (signal.aborted) {
    throw new ConnectError("listing replaced by a newer one", Code.Canceled);
  }
  return { features, total, more: total === undefined ? more : total > features.length };
}

/** Sends the whole route to RecordRoute in one request and returns the summary. */
export async function recordRoute(points: PointE7[]): Promise<RouteSummary> {
  const messages = points.map((point) => create(PointSchema, point));
  const path = `/${RouteGuide.typeName}/${RouteGuide.method.recordRoute.name}`;
  const answers = await callOnce(path, PointSchema, messages, RouteSummarySchema, authorization());
  if (answers.length !== 1) {
    throw new ConnectError(`RecordRoute answered ${answers.length} messages, not 1`, Code.Internal);
  }
  return answers[0];
}

/** Sends one note to RouteChat and returns the earlier notes at its location. */
export function routeChat(at: PointE7, message: string): Promise<RouteNote[]> {
  const note = create(RouteNoteSchema, { location: at, message });
  const path = `/${RouteGuide.typeName}/${RouteGuide.method.routeChat.name}`;
  return callOnce(path, RouteNoteSchema, [note], RouteNoteSchema, authorization());
}
