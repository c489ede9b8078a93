"""A test-only RouteGuide server on Python grpcio, implementing the guarantees in README.md
("What the server guarantees").

Run as a script (the suite does): it binds 127.0.0.1 on the given port (0 picks one)
and logs `listening on 127.0.0.1:PORT` to stderr once it serves. Options:
  --db FILE      features in the canonical JSON format (default: the repo's data file)
  --gzip         compress every response with gzip
  --hang-chat    RouteChat never answers and never ends on its own (deadline tests)
  --tls-cert FILE --tls-key FILE   serve TLS with this PEM certificate and key
It also serves grpc.health.v1 and reflection (v1alpha), and puts custom initial and
trailing metadata on every RouteGuide call so clients see metadata they did not expect.
"""

import argparse
import collections
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

import route_guide_pb2
import route_guide_pb2_grpc
import rgmodel

SERVICE_NAME = "routeguide.RouteGuide"


def _invalid(context, message):
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)


def _point_or_abort(context, point, prefix=""):
    error = rgmodel.point_error(point.latitude, point.longitude)
    if error:
        _invalid(context, prefix + error)
    return (point.latitude, point.longitude)


class RouteGuideServicer(route_guide_pb2_grpc.RouteGuideServicer):
    """The four RPCs over an immutable FeatureDb and an in-memory, shared note store."""

    def __init__(self, db, hang_chat=False, max_note_bytes=rgmodel.DEFAULT_MAX_NOTE_BYTES):
        self.db = db
        self.hang_chat = hang_chat
        self.max_note_bytes = max_note_bytes
        # Notes per location, oldest first; the lock makes "replay then store" one step,
        # so concurrent writers at one location see a single order.
        self.notes = collections.defaultdict(
            lambda: collections.deque(maxlen=rgmodel.DEFAULT_NOTES_PER_LOCATION))
        self.notes_lock = threading.Lock()

    @staticmethod
    def _metadata(context):
        context.send_initial_metadata((("x-interop-server", "python-grpcio"),))
        context.set_trailing_metadata((("x-interop-trailer", "done"),
                                       ("x-interop-trailer-bin", b"\x00\xffinterop")))

    def GetFeature(self, request, context):
        self._metadata(context)
        latitude, longitude = _point_or_abort(context, request)
        return route_guide_pb2.Feature(name=self.db.name_at(latitude, longitude),
                                       location=request)

    def ListFeatures(self, request, context):
        self._metadata(context)
        for field in ("lo", "hi"):
            if not request.HasField(field):
                _invalid(context, f"{field} is missing")
            _point_or_abort(context, getattr(request, field), f"{field}: ")
        lo = (request.lo.latitude, request.lo.longitude)
        hi = (request.hi.latitude, request.hi.longitude)
        for latitude, longitude, name in self.db.inside(lo, hi):
            if not context.is_active():
                return
            yield route_guide_pb2.Feature(
                name=name, location=route_guide_pb2.Point(latitude=latitude, longitude=longitude))

    def RecordRoute(self, request_iterator, context):
        self._metadata(context)
        started = time.monotonic()
        point_count = feature_count = 0
        total = 0.0
        previous = None
        for index, point in enumerate(request_iterator):
            current = _point_or_abort(context, point, f"point {index}: ")
            point_count += 1
            if self.db.has_feature(*current):
                feature_count += 1
            if previous is not None:
                total += rgmodel.haversine_metres(previous, current)
            previous = current
        return route_guide_pb2.RouteSummary(
            point_count=min(point_count, rgmodel.INT32_MAX),
            feature_count=min(feature_count, rgmodel.INT32_MAX),
            distance=min(int(total), rgmodel.INT32_MAX),
            elapsed_time=min(int(time.monotonic() - started), rgmodel.INT32_MAX))

    def RouteChat(self, request_iterator, context):
        self._metadata(context)
        if self.hang_chat:
            ended = threading.Event()
            context.add_callback(ended.set)
            for _ in request_iterator:
                pass
            ended.wait()
            return
        for index, note in enumerate(request_iterator):
            if not note.HasField("location"):
                _invalid(context, f"note {index}: location is missing")
            key = _point_or_abort(context, note.location, f"note {index}: ")
            size = len(note.message.encode("utf-8"))
            if size > self.max_note_bytes:
                _invalid(context, f"note {index}: message is {size} bytes, "
                                  f"the limit is {self.max_note_bytes}")
            stored = route_guide_pb2.RouteNote()
            stored.CopyFrom(note)
            with self.notes_lock:
                earlier = list(self.notes[key])
                self.notes[key].append(stored)
            yield from earlier


def serve(port, db, gzip=False, hang_chat=False, tls=None):
    """Starts the server, over TLS with `tls` = (certificate PEM, key PEM); returns
    (server, bound port)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=128),
        compression=grpc.Compression.Gzip if gzip else None,
        options=[("grpc.so_reuseport", 0)])
    route_guide_pb2_grpc.add_RouteGuideServicer_to_server(
        RouteGuideServicer(db, hang_chat=hang_chat), server)
    health_servicer = health.HealthServicer()
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    if tls is None:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    else:
        cert, key = tls
        credentials = grpc.ssl_server_credentials([(key, cert)])
        bound = server.add_secure_port(f"127.0.0.1:{port}", credentials)
    server.start()
    return server, bound


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "data", "route_guide_db.json"))
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--hang-chat", action="store_true")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    tls = None
    if args.tls_cert and args.tls_key:
        with open(args.tls_cert, "rb") as cert, open(args.tls_key, "rb") as key:
            tls = (cert.read(), key.read())
    server, port = serve(args.port, rgmodel.FeatureDb.load(args.db), args.gzip, args.hang_chat, tls)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"python routeguide listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop(grace=1).wait()


if __name__ == "__main__":
    main()
