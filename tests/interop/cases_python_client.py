"""Python grpcio client -> our server: the tutorial's four RPCs, futures and asyncio chat.

Health and reflection are in cases_health_reflection.py."""

import asyncio
import queue
import random
import threading
import time

import grpc

import route_guide_pb2 as pb
import route_guide_pb2_grpc as pb_grpc
import rgmodel
from harness import case, check, check_eq

CALL_TIMEOUT = 10


def point(latitude, longitude):
    return pb.Point(latitude=latitude, longitude=longitude)


def key(p):
    return (p.latitude, p.longitude)


def stub_for(ctx, addr, **kwargs):
    return pb_grpc.RouteGuideStub(ctx.channel(addr, **kwargs))


def check_feature(feature, db, latitude, longitude, description):
    """Checks a GetFeature answer against the spec: first feature there, else empty name."""
    check_eq(key(feature.location), (latitude, longitude), f"{description}: location echoes the point")
    check_eq(feature.name, db.name_at(latitude, longitude), f"{description}: name")


def misses(db, count, seed):
    rng = random.Random(seed)
    points = []
    while len(points) < count:
        candidate = (rng.randint(-900_000_000, 900_000_000), rng.randint(-1_800_000_000, 1_800_000_000))
        if not db.has_feature(*candidate):
            points.append(candidate)
    return points


@case("get_feature_hit_and_miss_blocking")
def get_feature_blocking(ctx):
    db = ctx.config["canonical"]
    stub = stub_for(ctx, ctx.our_server().addr)
    feature = stub.GetFeature(point(*rgmodel.BERKSHIRE), timeout=CALL_TIMEOUT)
    check_eq(feature.name, rgmodel.BERKSHIRE_NAME, "hit at the tutorial's point has its name")
    check_feature(feature, db, *rgmodel.BERKSHIRE, "tutorial hit")
    miss = stub.GetFeature(point(0, 0), timeout=CALL_TIMEOUT)
    check_eq((miss.name, key(miss.location)), ("", (0, 0)), "miss at (0,0) is an empty name at the point")
    check(miss.HasField("location"), "miss answer carries a location message")
    # Every canonical feature (36 unnamed ones included) and the extreme valid corners.
    for latitude, longitude, _ in db.features:
        check_feature(stub.GetFeature(point(latitude, longitude), timeout=CALL_TIMEOUT), db,
                      latitude, longitude, f"feature at ({latitude},{longitude})")
    for corner in [(900_000_000, 1_800_000_000), (-900_000_000, -1_800_000_000)]:
        check_feature(stub.GetFeature(point(*corner), timeout=CALL_TIMEOUT), db, *corner,
                      f"extreme valid point {corner}")


@case("get_feature_futures_16_at_once")
def get_feature_futures(ctx):
    db = ctx.config["canonical"]
    stub = stub_for(ctx, ctx.our_server().addr)
    hits = [(la, lo) for la, lo, _ in random.Random(16).sample(db.features, 8)]
    points = [p for pair in zip(hits, misses(db, 8, 16)) for p in pair]
    calls = [stub.GetFeature.future(point(*p), timeout=CALL_TIMEOUT) for p in points]
    for p, call in zip(points, calls):
        check_feature(call.result(), db, *p, f"future GetFeature at {p}")
        check_eq(call.code(), grpc.StatusCode.OK, f"future at {p} ends OK")


@case("list_features_tutorial_rectangle")
def list_features_tutorial(ctx):
    db = ctx.config["canonical"]
    stub = stub_for(ctx, ctx.our_server().addr)
    rect = pb.Rectangle(lo=point(*rgmodel.TUTORIAL_LO), hi=point(*rgmodel.TUTORIAL_HI))
    got = [(f.location.latitude, f.location.longitude, f.name)
           for f in stub.ListFeatures(rect, timeout=CALL_TIMEOUT)]
    check_eq(len(got), 100, "the tutorial rectangle streams all 100 features")
    check_eq(sorted(got), sorted(db.features), "each canonical feature exactly once, unnamed included")
    swapped = pb.Rectangle(lo=point(*rgmodel.TUTORIAL_HI), hi=point(*rgmodel.TUTORIAL_LO))
    again = [(f.location.latitude, f.location.longitude, f.name)
             for f in stub.ListFeatures(swapped, timeout=CALL_TIMEOUT)]
    check_eq(sorted(again), sorted(got), "swapped corners give the same features (normalised)")
    # Inclusive bounds: a rectangle whose corners are two features' exact points.
    a, b = db.features[3], db.features[40]
    rect = pb.Rectangle(lo=point(a[0], b[1]), hi=point(b[0], a[1]))
    edge = sorted((f.location.latitude, f.location.longitude, f.name)
                  for f in stub.ListFeatures(rect, timeout=CALL_TIMEOUT))
    check_eq(edge, sorted(db.inside((a[0], b[1]), (b[0], a[1]))),
             "features on the rectangle's edges are included")
    check_eq(list(stub.ListFeatures(pb.Rectangle(lo=point(0, 0), hi=point(10, 10)),
                                    timeout=CALL_TIMEOUT)), [], "an empty rectangle streams nothing")


def check_distance(distance, route, description):
    """Checks a reported RecordRoute distance against the model's haversine sum."""
    allowed, total = rgmodel.route_distances_allowed(route)
    check(distance in allowed, description,
          f"expected {' or '.join(map(str, sorted(allowed)))} (sum {total!r}), got {distance}")


def check_summary(summary, db, route, description):
    """Checks a RouteSummary's counts exactly and its distance against the model's sum."""
    check_eq((summary.point_count, summary.feature_count),
             (len(route), sum(1 for p in route if db.has_feature(*p))), f"{description}: counts")
    check_distance(summary.distance, route, f"{description}: distance (haversine sum, truncated)")


def tutorial_route(db, seed):
    rng = random.Random(seed)
    route = [(la, lo) for la, lo, _ in (rng.choice(db.features) for _ in range(10))]
    # A repeated point counts each time; a point without a feature does not count.
    return route + [route[0], route[0], (0, 0), (123_456_789, -98_765_432)]


@case("record_route_blocking")
def record_route_blocking(ctx):
    db = ctx.config["canonical"]
    stub = stub_for(ctx, ctx.our_server().addr)
    route = tutorial_route(db, 1)
    started = time.monotonic()
    summary = stub.RecordRoute(iter([point(*p) for p in route]), timeout=CALL_TIMEOUT)
    wall = time.monotonic() - started
    check_summary(summary, db, route, "tutorial route")
    check(0 <= summary.elapsed_time <= wall, "elapsed_time is whole seconds within the call",
          f"{summary.elapsed_time} for a {wall:.2f}s call")
    empty = stub.RecordRoute(iter([]), timeout=CALL_TIMEOUT)
    check_eq((empty.point_count, empty.feature_count, empty.distance), (0, 0, 0), "an empty route")
    # Back and forth between antipodes: > 2^31 metres, saturates.
    antipodes = [(0, 0), (0, 1_800_000_000)] * 60
    far = stub.RecordRoute(iter([point(*p) for p in antipodes]), timeout=CALL_TIMEOUT)
    check_eq(far.distance, rgmodel.INT32_MAX, "distance saturates at 2147483647")
    # Antipodes whose haversine term rounds to just above 1: half the circumference, not NaN.
    rounded = [(-834_308_498, -1_752_063_631), (834_308_498, 47_936_369)]
    half = stub.RecordRoute(iter([point(*p) for p in rounded]), timeout=CALL_TIMEOUT)
    check_distance(half.distance, rounded,
                   "antipodes rounding past the formula's domain are half the circumference")


@case("record_route_future")
def record_route_future(ctx):
    db = ctx.config["canonical"]
    stub = stub_for(ctx, ctx.our_server().addr)
    route = tutorial_route(db, 2)

    def slow_points():
        for p in route:
            # A deliberately slow client: elapsed_time must count real seconds, so they pass.
            time.sleep(0.1)
            yield point(*p)

    started = time.monotonic()
    future = stub.RecordRoute.future(slow_points(), timeout=CALL_TIMEOUT)
    summary = future.result()
    wall = time.monotonic() - started
    check_summary(summary, db, route, "future")
    check(1 <= summary.elapsed_time <= wall, "elapsed_time counts the ~1.4s the route took",
          f"{summary.elapsed_time} for a {wall:.2f}s call")


def tutorial_note(index):
    message, latitude, longitude = rgmodel.TUTORIAL_NOTES[index]
    return pb.RouteNote(location=point(latitude, longitude), message=message)


@case("route_chat_tutorial_notes")
def route_chat_tutorial(ctx):
    stub = stub_for(ctx, ctx.our_server().addr)
    outgoing = queue.Queue()
    replies = []
    arrived = threading.Condition()

    def requests():
        while (note := outgoing.get()) is not None:
            yield note

    call = stub.RouteChat(requests(), timeout=20)

    def read():
        for note in call:
            with arrived:
                replies.append((note.message, key(note.location)))
                arrived.notify_all()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for index in range(3):
        outgoing.put(tutorial_note(index))
    # The server answers the notes of one stream in order, so a reply to any of the first
    # three notes would arrive before the reply to the fourth.
    for index, expected in [(3, ("First message", (0, 0))), (4, ("Third message", (1, 0)))]:
        outgoing.put(tutorial_note(index))
        with arrived:
            arrived.wait_for(lambda: len(replies) >= index - 2, timeout=10)
            got = list(replies)
        check(len(got) >= index - 2, f"a reply arrives after note {index + 1}", got)
        check_eq(got[index - 3], expected,
                 f"reply to note {index + 1} (none to the first three, which have nothing earlier)")
    outgoing.put(None)
    reader.join(10)
    check(not reader.is_alive(), "the call ends after the client half-closes")
    check_eq(call.code(), grpc.StatusCode.OK, "RouteChat ends OK")
    check_eq([r[0] for r in replies], ["First message", "Third message"],
             "exactly two replies in all, no echo of the sender's new notes")


def aio_note(location, message):
    return pb.RouteNote(location=point(*location), message=message)


@case("route_chat_aio_50_streams_see_each_other", timeout=60)
def route_chat_aio(ctx):
    addr = ctx.our_server().addr
    asyncio.run(_aio_chat(addr, 50))


async def _aio_chat(addr, clients):
    shared = (5_000_000, 5_000_000)

    def own(i):
        return (100_000_000 + i, 200_000_000)

    channels = [grpc.aio.insecure_channel(addr) for _ in range(5)]
    stubs = [pb_grpc.RouteGuideStub(c) for c in channels]
    ready = [0]
    all_ready = asyncio.Event()
    results = {}

    async def read(call, description):
        note = await call.read()
        check(note is not grpc.aio.EOF, f"{description}: stream still open")
        return note

    async def client(i):
        call = stubs[i % len(stubs)].RouteChat(timeout=30)
        await call.write(aio_note(shared, f"shared {i}"))
        await call.write(aio_note(own(i), f"mine {i}"))
        await call.write(aio_note(own(i), f"probe {i}"))
        await call.write(aio_note(own(i), f"probe2 {i}"))
        shared_replies = []
        while (note := await read(call, f"client {i}")).message != f"mine {i}":
            check_eq(key(note.location), shared, f"client {i}: replays before its own are shared-location notes")
            shared_replies.append(note.message)
        replayed = [(await read(call, f"client {i}")).message for _ in range(2)]
        check_eq(replayed, [f"mine {i}", f"probe {i}"],
                 f"client {i}: probe2 replays mine then probe, oldest first")
        ready[0] += 1
        if ready[0] == clients:
            all_ready.set()
        await asyncio.wait_for(all_ready.wait(), 20)
        neighbour = (i + 1) % clients
        await call.write(aio_note(own(neighbour), f"visit {i}"))
        marker = (300_000_000 + i, 0)
        await call.write(aio_note(marker, f"end {i}"))
        await call.write(aio_note(marker, f"end2 {i}"))
        visit = []
        while (note := await read(call, f"client {i}")).message != f"end {i}":
            visit.append(note.message)
        await call.done_writing()
        check(await call.read() is grpc.aio.EOF, f"client {i}: no more replies after half-close")
        check_eq(await call.code(), grpc.StatusCode.OK, f"client {i}: RouteChat ends OK")
        results[i] = (shared_replies, visit)

    try:
        await asyncio.gather(*(client(i) for i in range(clients)))
        for i, (shared_replies, visit) in results.items():
            neighbour = (i + 1) % clients
            check(f"shared {i}" not in shared_replies, f"client {i}: its own new note is not echoed")
            check(visit[:2] == [f"mine {neighbour}", f"probe {neighbour}"]
                  and visit[2:] in ([], [f"probe2 {neighbour}"]),
                  f"client {i} sees client {neighbour}'s notes, oldest first", f"got {visit}")
        # A late client at the shared location gets all 50 notes; each stream saw a prefix.
        final = stubs[0].RouteChat(timeout=10)
        await final.write(aio_note(shared, "late"))
        await final.done_writing()
        everyone = [n.message async for n in final]
        check_eq(sorted(everyone), sorted(f"shared {i}" for i in range(clients)),
                 "a later stream gets every client's shared note once")
        for i, (shared_replies, _) in results.items():
            check_eq(shared_replies, everyone[:len(shared_replies)],
                     f"client {i}: replays are the oldest notes in storage order")
    finally:
        for channel in channels:
            await channel.close()
