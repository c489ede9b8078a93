"""Wire edge cases with Python grpcio on one side: gzip, a large stream, deadlines,
metadata, INVALID_ARGUMENT messages, and cancellation."""

import os
import subprocess
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import route_guide_pb2 as pb
import rgmodel
from cases_python_client import CALL_TIMEOUT, check_distance, key, point, stub_for
from harness import CheckFailed, case, check, check_eq, check_rpc_error
from wiretap import WireTap

BIG_FEATURES = 100_000
WORLD = pb.Rectangle(lo=point(-900_000_000, -1_800_000_000), hi=point(900_000_000, 1_800_000_000))
_big_lock = threading.Lock()


def big_db(ctx):
    """Returns (path, FeatureDb) of the generated 100,000-feature file, made once per run."""
    with _big_lock:
        if "big_db" not in ctx.config:
            path = os.path.join(ctx.config["workdir"], "features-100k.json")
            ctx.config["big_db"] = (path, rgmodel.write_generated_db(path, BIG_FEATURES))
        return ctx.config["big_db"]


def tapped(ctx, upstream):
    return ctx.track(WireTap(upstream))


@case("gzip_python_client_to_our_server")
def gzip_python_client(ctx):
    db = ctx.config["canonical"]
    tap = tapped(ctx, ctx.our_server().addr)
    stub = stub_for(ctx, tap.addr, compression=grpc.Compression.Gzip)
    gzip = grpc.Compression.Gzip
    feature = stub.GetFeature(point(*rgmodel.BERKSHIRE), timeout=CALL_TIMEOUT, compression=gzip)
    check_eq(feature.name, rgmodel.BERKSHIRE_NAME, "gzip GetFeature answer")
    rect = pb.Rectangle(lo=point(*rgmodel.TUTORIAL_LO), hi=point(*rgmodel.TUTORIAL_HI))
    check_eq(len(list(stub.ListFeatures(rect, timeout=CALL_TIMEOUT, compression=gzip))), 100,
             "gzip ListFeatures streams 100 features")
    route = [(la, lo) for la, lo, _ in db.features] * 5
    summary = stub.RecordRoute(iter([point(*p) for p in route]), timeout=CALL_TIMEOUT, compression=gzip)
    check_eq(summary.point_count, 500, "gzip RecordRoute point_count over 500 points")
    check_distance(summary.distance, route, "gzip RecordRoute distance over 500 points")
    notes = [pb.RouteNote(location=point(7, 7), message="gzip " * 200) for _ in range(3)]
    replies = list(stub.RouteChat(iter(notes), timeout=CALL_TIMEOUT, compression=gzip))
    check_eq(len(replies), 3, "gzip RouteChat replays 0+1+2 notes")
    channel_default = stub_for(ctx, tap.addr, compression=grpc.Compression.Gzip)
    check_eq(channel_default.GetFeature(point(0, 0), timeout=CALL_TIMEOUT).name, "",
             "channel-level gzip GetFeature works")
    # grpc core sends a message compressed only when that makes it smaller: the three
    # 1000-byte notes shrink, 12-byte points do not. tonic compresses every message.
    check(tap.count("client->server", True) >= 3, "the Python client's large notes went gzip-compressed",
          f"{tap.count('client->server', True)} compressed, {tap.count('client->server', False)} plain")
    check(tap.count("server->client", True) >= 100, "our server's responses came back gzip-compressed",
          f"{tap.count('server->client', True)} compressed, {tap.count('server->client', False)} plain")


@case("gzip_our_cli_to_python_server")
def gzip_our_cli(ctx):
    reference = ctx.our_server()
    python = ctx.py_server("--gzip")
    tap = tapped(ctx, python.addr)
    lo, hi = "%d,%d" % rgmodel.TUTORIAL_LO, "%d,%d" % rgmodel.TUTORIAL_HI
    commands = [(["get", "409146138,-746188906", "--json"], None, False),
                (["list", lo, hi, "--json"], None, True),
                (["record", "--random", "30", "--seed", "3", "--json"], None, False),
                (["chat", "--json"], "".join(f"0,0 {c * 1000}\n" for c in "abc"), False)]
    for args, stdin, unordered in commands:
        results = [ctx.cli(*args, "--addr", addr, stdin=stdin) for addr in (reference.addr, tap.addr)]
        for result, label in zip(results, ("our server", "gzip Python server")):
            check_eq(result.returncode, 0, f"`{' '.join(args)}` against {label} exits 0 "
                     f"(stderr: {result.stderr.strip()[-300:]!r})")
        ours, theirs = (r.stdout for r in results)
        if unordered:
            ours, theirs = sorted(ours.splitlines()), sorted(theirs.splitlines())
        check_eq(theirs, ours, f"`{' '.join(args)}`: same output from the gzip Python server")
    check(tap.count("server->client", True) > 0,
          "the Python server's responses reached our CLI gzip-compressed (grpc-encoding: gzip)",
          f"{tap.count('server->client', True)} compressed, {tap.count('server->client', False)} plain")


@case("list_features_100k_read_fully", timeout=120)
def list_features_100k(ctx):
    path, db = big_db(ctx)
    stub = stub_for(ctx, ctx.our_server("--db", path).addr)
    got = [(f.location.latitude, f.location.longitude, f.name)
           for f in stub.ListFeatures(WORLD, timeout=90)]
    check_eq(len(got), BIG_FEATURES, "the whole world streams every generated feature")
    check(sorted(got) == sorted(db.features), "each generated feature exactly once with its name")
    corner_a, corner_b = db.features[10][:2], db.features[20][:2]
    rect = pb.Rectangle(lo=point(*corner_a), hi=point(*corner_b))
    part = sorted((f.location.latitude, f.location.longitude, f.name)
                  for f in stub.ListFeatures(rect, timeout=60))
    check_eq(part, sorted(db.inside(corner_a, corner_b)),
             "a sub-rectangle cornered on two features (inclusive, normalised)")
    shared_location = db.features[49][:2]
    check_eq(stub.GetFeature(point(*shared_location), timeout=CALL_TIMEOUT).name,
             db.name_at(*shared_location), "GetFeature where two features share a point gives the first")


def blocked_requests(release, first):
    """Yields `first` then blocks until `release` is set, keeping the client's side open."""
    yield first
    release.wait()


@case("deadline_python_client_to_our_server")
def deadline_python_client(ctx):
    server = ctx.our_server()
    stub = stub_for(ctx, server.addr)
    release = threading.Event()
    try:
        started = time.monotonic()
        chat = stub.RouteChat(blocked_requests(release, pb.RouteNote(location=point(1, 1), message="x")),
                              timeout=1)
        check_rpc_error(lambda: list(chat), grpc.StatusCode.DEADLINE_EXCEEDED, "RouteChat kept open past 1s")
        check(time.monotonic() - started < 5, "the RouteChat deadline fires promptly")
        record = lambda: stub.RecordRoute(blocked_requests(release, point(1, 1)), timeout=1)  # noqa: E731
        check_rpc_error(record, grpc.StatusCode.DEADLINE_EXCEEDED, "RecordRoute kept open past 1s")
    finally:
        release.set()
    check_eq(stub.GetFeature(point(*rgmodel.BERKSHIRE), timeout=CALL_TIMEOUT).name, rgmodel.BERKSHIRE_NAME,
             "the server still answers after the deadlines")


def start_held_chat(ctx, server, first_line):
    """Starts `routeguide chat --timeout 1s`, writes one note, keeps stdin open; returns
    (process, captured output dict, reader threads, a Condition notified on each line and
    when each output closes)."""
    chat = ctx.popen([ctx.bin, "chat", "--timeout", "1s", "--addr", server.addr],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    captured = {"out": "", "err": "", "closed": 0}
    changed = threading.Condition()

    def drain(name, stream):
        for line in stream:
            with changed:
                captured[name] += line
                changed.notify_all()
        with changed:
            captured["closed"] += 1
            changed.notify_all()

    readers = [threading.Thread(target=drain, args=(n, f), daemon=True)
               for n, f in (("out", chat.stdout), ("err", chat.stderr))]
    for reader in readers:
        reader.start()
    chat.stdin.write(first_line)
    chat.stdin.flush()
    return chat, captured, readers, changed


def check_deadline_output(chat, text, description):
    check_eq(chat.returncode, 4, f"{description}: exit code 4 (RPC error status) (output: {text.strip()!r})")
    check("deadline" in text.lower(), f"{description}: the error mentions the deadline", text.strip())


@case("deadline_our_cli_to_python_server")
def deadline_our_cli(ctx):
    server = ctx.py_server("--hang-chat")
    started = time.monotonic()
    result = ctx.cli("chat", "--timeout", "1s", "--addr", server.addr, stdin="0,0 hello\n", timeout=15)
    check(time.monotonic() - started < 8, "chat ends soon after its 1s deadline")
    check_deadline_output(result, result.stdout + result.stderr,
                          "against a Python server whose RouteChat stays open")


@case("deadline_our_cli_to_our_server")
def deadline_our_cli_our_server(ctx):
    # stdin stays open, so the client never half-closes: only the deadline can end the call.
    chat, captured, readers, changed = start_held_chat(ctx, ctx.our_server(), "0,0 hello\n")
    with changed:
        changed.wait_for(lambda: "deadline" in (captured["err"] + captured["out"]).lower()
                         or captured["closed"] == 2, timeout=8)
    check("deadline" in (captured["err"] + captured["out"]).lower(),
          "our server ends the open RouteChat with a deadline error within 8s", captured)
    chat.stdin.close()
    try:
        chat.wait(10)
    except subprocess.TimeoutExpired as error:
        raise CheckFailed("chat did not exit after its stdin closed") from error
    for reader in readers:
        reader.join(5)
    check_deadline_output(chat, captured["out"] + captured["err"], "against our server, stdin held open")


@case("deadline_our_cli_exits_with_stdin_open")
def deadline_cli_exits_promptly(ctx):
    # A user typing into `routeguide chat` keeps stdin open: the deadline must still end the
    # process, not only print the error.
    chat, captured, readers, _ = start_held_chat(ctx, ctx.py_server("--hang-chat"), "0,0 hello\n")
    try:
        chat.wait(6)
    except subprocess.TimeoutExpired as error:
        raise CheckFailed("`chat --timeout 1s` with stdin open printed "
                          f"{captured['err'].strip()!r} but was still running 6s later") from error
    finally:
        chat.stdin.close()
    for reader in readers:
        reader.join(5)
    check_deadline_output(chat, captured["out"] + captured["err"], "with stdin open")


@case("metadata_in_and_out")
def metadata_in_and_out(ctx):
    stub = stub_for(ctx, ctx.our_server().addr)
    metadata = (("x-interop-request-id", "42"), ("x-interop-tags", "a"), ("x-interop-tags", "b"),
                ("x-interop-trace-bin", b"\x00\x01\xfe\xff"), ("x-interop-big", "v" * 4000))
    feature, call = stub.GetFeature.with_call(point(*rgmodel.BERKSHIRE), metadata=metadata,
                                              timeout=CALL_TIMEOUT)
    check_eq(feature.name, rgmodel.BERKSHIRE_NAME, "GetFeature with custom (text, repeated, binary) metadata")
    initial, trailing = call.initial_metadata(), call.trailing_metadata()
    check(initial is not None and trailing is not None, "initial and trailing metadata are readable")
    check(all(isinstance(k, str) for k, _ in tuple(initial) + tuple(trailing)), "metadata keys are strings")
    stream = stub.ListFeatures(pb.Rectangle(lo=point(*rgmodel.TUTORIAL_LO), hi=point(*rgmodel.TUTORIAL_HI)),
                               metadata=metadata, timeout=CALL_TIMEOUT)
    check(stream.initial_metadata() is not None, "streaming call's initial metadata is readable")
    check_eq(len(list(stream)), 100, "ListFeatures with custom metadata")
    check(stream.trailing_metadata() is not None, "streaming call's trailing metadata is readable")
    check_eq(stream.code(), grpc.StatusCode.OK, "ListFeatures with custom metadata ends OK")
    summary, call = stub.RecordRoute.with_call(iter([point(1, 1)]), metadata=metadata, timeout=CALL_TIMEOUT)
    check_eq(summary.point_count, 1, "RecordRoute with custom metadata")


@case("metadata_from_python_server_to_python_client")
def metadata_python_server(ctx):
    # The Python server attaches metadata to every call; our CLI runs in the cli_* cases
    # prove it tolerates it; here a Python client confirms it really is on the wire.
    stub = stub_for(ctx, ctx.py_server().addr)
    _, call = stub.GetFeature.with_call(point(0, 0), metadata=(("x-interop-request-id", "7"),),
                                        timeout=CALL_TIMEOUT)
    check(("x-interop-server", "python-grpcio") in tuple(call.initial_metadata()),
          "the Python server sends custom initial metadata", call.initial_metadata())
    check(("x-interop-trailer-bin", b"\x00\xffinterop") in tuple(call.trailing_metadata()),
          "the Python server sends custom binary trailing metadata", call.trailing_metadata())


@case("invalid_argument_messages_intact")
def invalid_argument(ctx):
    stub = stub_for(ctx, ctx.our_server().addr)
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    error = check_rpc_error(lambda: stub.GetFeature(point(900_000_001, 0), timeout=CALL_TIMEOUT),
                            invalid, "GetFeature latitude 900000001", "latitude 900000001")
    check("out of range" in error.details(), "the message says what is wrong", error.details())
    check_rpc_error(lambda: stub.GetFeature(point(0, -1_800_000_001), timeout=CALL_TIMEOUT),
                    invalid, "GetFeature longitude -1800000001", "longitude -1800000001")
    check_rpc_error(lambda: list(stub.ListFeatures(pb.Rectangle(hi=point(1, 1)), timeout=CALL_TIMEOUT)),
                    invalid, "ListFeatures without lo", "lo")
    check_rpc_error(lambda: list(stub.ListFeatures(pb.Rectangle(lo=point(1, 1)), timeout=CALL_TIMEOUT)),
                    invalid, "ListFeatures without hi", "hi")
    check_rpc_error(lambda: list(stub.ListFeatures(
        pb.Rectangle(lo=point(0, 0), hi=point(-900_000_002, 0)), timeout=CALL_TIMEOUT)),
        invalid, "ListFeatures with an invalid hi", "latitude -900000002")
    route = [point(1, 1), point(2, 2), point(900_000_001, 3), point(4, 4)]
    error = check_rpc_error(lambda: stub.RecordRoute(iter(route), timeout=CALL_TIMEOUT),
                            invalid, "RecordRoute with an invalid third point", "point 2")
    check("latitude 900000001" in error.details(), "RecordRoute's message names the value", error.details())
    kept = pb.RouteNote(location=point(9, 9), message="kept before the bad note")
    check_rpc_error(lambda: list(stub.RouteChat(iter([kept, pb.RouteNote(message="nowhere")]),
                                                timeout=CALL_TIMEOUT)),
                    invalid, "RouteChat note without location", "location")
    big = pb.RouteNote(location=point(9, 9), message="\u00e9" * 2500)
    error = check_rpc_error(lambda: list(stub.RouteChat(iter([kept, big]), timeout=CALL_TIMEOUT)),
                            invalid, "RouteChat 5000-byte message", "message")
    check("5000" in error.details() and "4096" in error.details(),
          "the message gives the size and the limit", error.details())
    replays = list(stub.RouteChat(iter([pb.RouteNote(location=point(9, 9), message="later")]),
                                  timeout=CALL_TIMEOUT))
    check_eq([n.message for n in replays], [kept.message] * 2,
             "valid notes before an invalid one stay stored (both failed calls' first notes)")
    check_eq(stub.GetFeature(point(0, 0), timeout=CALL_TIMEOUT).name, "", "the server still answers")


def cpu_seconds(pid):
    """Returns the process's user+system CPU time from /proc (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@case("cancel_streams_midway_leaves_server_healthy", timeout=90)
def cancel_midway(ctx):
    path, db = big_db(ctx)
    server = ctx.our_server("--db", path)
    channel = ctx.channel(server.addr)
    stub = stub_for(ctx, server.addr)
    for round_number in range(8):
        stream = stub.ListFeatures(WORLD, timeout=60)
        for _ in range(1 + round_number * 100):
            next(stream)
        stream.cancel()
        check_eq(stream.code(), grpc.StatusCode.CANCELLED, f"cancelled ListFeatures {round_number} is CANCELLED")
    release = threading.Event()
    # A note stored at (3,3) first makes the server answer the held chat's first note with
    # a replay: that reply shows the server is working on the call before it is cancelled.
    seed = pb.RouteNote(location=point(3, 3), message="seed")
    check_eq(list(stub.RouteChat(iter([seed]), timeout=CALL_TIMEOUT)), [], "a first note has no replay")
    chat = stub.RouteChat(blocked_requests(release, pb.RouteNote(location=point(3, 3), message="m")),
                          timeout=30)
    check_eq(next(chat).message, "seed", "the held RouteChat is answered before it is cancelled")
    record = stub.RecordRoute.future(blocked_requests(release, point(3, 3)), timeout=30)
    # HTTP/2 opens streams in order, so once a later call on the connection is answered the
    # server has taken the RecordRoute; after the cancels, likewise for their RST_STREAMs.
    stub.GetFeature(point(0, 0), timeout=CALL_TIMEOUT)
    chat.cancel()
    record.cancel()
    release.set()
    stub.GetFeature(point(0, 0), timeout=CALL_TIMEOUT)
    # Work for cancelled calls stops: an idle server burns (almost) no CPU.
    before = cpu_seconds(server.process.pid)
    time.sleep(1.5)  # The CPU measurement window (behaviour under test), not synchronisation.
    burnt = cpu_seconds(server.process.pid) - before
    check(burnt < 0.5, "the server stops working for cancelled calls", f"{burnt:.2f}s CPU in 1.5s idle")
    check(server.alive(), "the server is still running after 10 cancelled calls")
    first = db.features[0]
    check_eq(stub.GetFeature(point(*first[:2]), timeout=CALL_TIMEOUT).name, db.name_at(*first[:2]),
             "GetFeature works after the cancellations")
    corner_a, corner_b = db.features[1][:2], db.features[2][:2]
    part = sorted((f.location.latitude, f.location.longitude, f.name)
                  for f in stub.ListFeatures(pb.Rectangle(lo=point(*corner_a), hi=point(*corner_b)),
                                             timeout=60))
    check_eq(part, sorted(db.inside(corner_a, corner_b)), "a ListFeatures works after the cancellations")
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=CALL_TIMEOUT)
    check_eq(health.status, health_pb2.HealthCheckResponse.SERVING, "health is SERVING after the cancellations")
    replays = list(stub.RouteChat(iter([pb.RouteNote(location=point(3, 3), message="n")]), timeout=CALL_TIMEOUT))
    check(all(key(n.location) == (3, 3) for n in replays), "RouteChat works after the cancellations")
