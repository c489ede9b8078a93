"""The map page in a real browser (headless Chromium, browser.py) against our server: what it
lists, draws, looks up, records and posts is what the gRPC API says, and it asks nothing of
any host but 127.0.0.1.

The page's answers are compared with Python grpcio calls to the same server, or with the
database itself (rgmodel). A screenshot of the page is saved to $INTEROP_SCREENSHOT.
"""

import os
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import route_guide_pb2 as pb
import route_guide_pb2_grpc as pb_grpc
import rgmodel
from browser import Browser
from harness import case, check, check_eq

LIST_LIMIT = 500
CALL_TIMEOUT = 10
# Pixels kept clear of the zoom buttons (top left) and the attribution (bottom right).
MARGIN = 90


def rect_of(data):
    """Returns the ((lat, lon), (lat, lon)) corners a listing's dataset names."""
    return ((int(data["loLat"]), int(data["loLon"])), (int(data["hiLat"]), int(data["hiLon"])))


def at(latitude, longitude):
    """Returns a point as the page prints it."""
    return f"{latitude / 1e7:.7f}, {longitude / 1e7:.7f}"


def stub(ctx, server):
    return pb_grpc.RouteGuideStub(ctx.channel(server.addr))


def pixels(browser, features):
    return {f: browser.pixel(f[0], f[1]) for f in features}


def isolated(browser, features, gap=18):
    """Returns (feature, pixel) pairs for listed features drawn at least `gap` pixels from
    every other one and clear of the map's edges and controls, so a click hits them alone."""
    width, height = browser.map_size()
    drawn = pixels(browser, features)
    chosen = []
    for feature, (x, y) in drawn.items():
        if not (MARGIN < x < width - MARGIN and 20 < y < height - 40):
            continue
        near = [o for o, (ox, oy) in drawn.items()
                if o[:2] != feature[:2] and (ox - x) ** 2 + (oy - y) ** 2 < gap * gap]
        if not near:
            chosen.append((feature, (x, y)))
    return chosen


def empty_spot(browser, features):
    """Returns a pixel of the map with no feature within 25 pixels."""
    width, height = browser.map_size()
    drawn = list(pixels(browser, features).values())
    for y in range(40, int(height) - 40, 23):
        for x in range(MARGIN, int(width) - MARGIN, 29):
            if all((fx - x) ** 2 + (fy - y) ** 2 > 625 for fx, fy in drawn) and not browser.marker_at(x, y):
                return x, y
    raise AssertionError("no empty spot on the map")


def selected_after(browser, x, y):
    """Clicks the map at (x, y) and returns the selection's dataset once GetFeature answered."""
    browser.click_map(x, y)
    return browser.wait("the click's GetFeature answers",
                        lambda: (d := browser.dataset("selected")).get("state") not in ("idle", "loading") and d)


@case("browser_first_view_lists_the_database", timeout=90)
def first_view(ctx):
    server = ctx.our_server()
    db = ctx.config["canonical"]
    browser = Browser(ctx, server.addr)
    view = browser.open()
    check_eq(view["state"], "done", "the first view is listed")
    expected = sorted(db.inside(*rect_of(view)))
    check_eq(len(expected), 100, "the first view fits the database's extent: every feature is in it")
    check_eq(sorted(browser.listed()), expected, "the side panel lists the features in view")
    check_eq(browser.text("features-status"), "100 features in view.", "the status counts them")
    unnamed = browser.js("return Array.from(document.querySelectorAll('#feature-list li .unnamed'))"
                         ".map(e => e.textContent)")
    check_eq(unnamed, ["(unnamed)"] * sum(1 for f in expected if f[2] == ""),
             "unnamed features are marked as such")
    markers = browser.js("return document.querySelectorAll('path.leaflet-interactive').length")
    check_eq(markers, 100, "every listed feature has a marker")
    # The bundled land outline (web/src/land.ts) fills land with #f3f0e6 on a canvas; the
    # first view, New Jersey and New York, is mostly land.
    land = browser.js("""
        const canvas = document.querySelector('.leaflet-overlay-pane canvas');
        if (!canvas) return -1;
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let land = 0;
        for (let i = 0; i < data.length; i += 4)
            if (data[i] === 243 && data[i + 1] === 240 && data[i + 2] === 230) land++;
        return land / (data.length / 4);""")
    check(land > 0.2, "the bundled land outline is drawn: a share of the canvas is land-coloured", land)

    browser.driver.find_element("css selector", ".leaflet-control-zoom-in").click()
    zoomed = browser.listing(after=int(view["query"]))
    inside = db.inside(*rect_of(zoomed))
    check(len(inside) < 100, "zooming in narrows the view", rect_of(zoomed))
    check_eq(sorted(browser.listed()), sorted(inside), "zooming lists the new view")
    urls = browser.check_only_local()
    check(any(u.endswith("/routeguide.RouteGuide/ListFeatures") for u in urls),
          "the page called ListFeatures through gRPC-Web", urls)
    check_eq(browser.console_errors(), [], "the page logs no errors (nor policy violations)")


@case("browser_rectangle_lists_what_list_features_returns", timeout=90)
def rectangle(ctx):
    server = ctx.our_server()
    browser = Browser(ctx, server.addr)
    view = browser.open()
    width, height = browser.map_size()
    start, end = (width * 0.3, height * 0.25), (width * 0.55, height * 0.7)
    browser.shift_drag(start, end)
    drawn = browser.listing(after=int(view["query"]))
    check_eq(drawn["kind"], "rectangle", "a shift-drag lists a rectangle")
    lo, hi = rect_of(drawn)
    corners = [browser.js("const p = routeguideMap.containerPointToLatLng([arguments[0], arguments[1]]);"
                          "return [p.lat * 1e7, p.lng * 1e7]", *pixel) for pixel in (start, end)]
    wanted = ((min(c[0] for c in corners), min(c[1] for c in corners)),
              (max(c[0] for c in corners), max(c[1] for c in corners)))
    tolerance = abs(wanted[1][0] - wanted[0][0]) / (end[1] - start[1]) * 3  # three pixels
    check(all(abs(got - want) < tolerance for got, want in zip(lo + hi, wanted[0] + wanted[1])),
          "the listed rectangle is the one dragged", ((lo, hi), wanted))
    request = pb.Rectangle(lo=pb.Point(latitude=lo[0], longitude=lo[1]),
                           hi=pb.Point(latitude=hi[0], longitude=hi[1]))
    streamed = [(f.location.latitude, f.location.longitude, f.name)
                for f in stub(ctx, server).ListFeatures(request, timeout=CALL_TIMEOUT)]
    check(0 < len(streamed) < 100, "the rectangle holds some of the features", len(streamed))
    check_eq(browser.listed(), streamed, "the page lists exactly what ListFeatures returns, in order")
    check_eq(browser.text("features-status"), f"{len(streamed)} features in the rectangle.",
             "the status counts them")

    browser.press_escape()
    back = browser.listing(after=int(drawn["query"]))
    check_eq(back["kind"], "view", "Escape returns to the view")
    # Escape during a drag cancels it: releasing afterwards lists nothing new.
    browser.shift_drag(start, end, release=False)
    check(browser.js("return document.getElementById('map').classList.contains('drawing')"),
          "a drag in progress is drawn")
    browser.press_escape()
    browser.release_mouse()
    check(not browser.js("return document.getElementById('map').classList.contains('drawing')"),
          "Escape ends the drag")
    after = browser.dataset("features")
    check_eq((after["kind"], after["query"]), ("view", back["query"]),
             "a cancelled drag lists no rectangle")
    browser.check_only_local()


@case("browser_click_asks_get_feature", timeout=90)
def click(ctx):
    server = ctx.our_server()
    db = ctx.config["canonical"]
    browser = Browser(ctx, server.addr)
    browser.open()
    features = browser.listed()
    targets = isolated(browser, features)
    named = next(((f, p) for f, p in targets if f[2]), None)
    unnamed = next(((f, p) for f, p in targets if not f[2]), None)
    check(named is not None and unnamed is not None, "the view has isolated named and unnamed features")
    service = stub(ctx, server)
    for (latitude, longitude, name), (x, y), state in [(*named, "feature"), (*unnamed, "unnamed")]:
        shown = selected_after(browser, x, y)
        answer = service.GetFeature(pb.Point(latitude=latitude, longitude=longitude), timeout=CALL_TIMEOUT)
        check_eq((int(shown["lat"]), int(shown["lon"])), (latitude, longitude),
                 "a click on a marker asks GetFeature at its feature")
        check_eq((shown["state"], shown["name"]), (state, answer.name), "the page shows GetFeature's answer")
        text = browser.text("selected")
        expected = (f"Feature “{name}” at {at(latitude, longitude)}" if name
                    else f"Unnamed feature at {at(latitude, longitude)}")
        check_eq(text, expected, "the selection names the feature")
    x, y = empty_spot(browser, features)
    shown = selected_after(browser, x, y)
    latitude, longitude = int(shown["lat"]), int(shown["lon"])
    check(not db.has_feature(latitude, longitude), "the empty spot has no feature", (latitude, longitude))
    check_eq(shown["state"], "none", "a click where nothing is says so")
    check_eq(browser.text("selected"), f"No feature here ({at(latitude, longitude)})", "no feature here")
    browser.check_only_local()


@case("browser_route_shows_record_route_summary", timeout=90)
def route(ctx):
    server = ctx.our_server()
    browser = Browser(ctx, server.addr)
    browser.open()
    features = browser.listed()
    stops = isolated(browser, features)[:3]
    check_eq(len(stops), 3, "the view has three isolated features")
    empty = empty_spot(browser, features)

    browser.click("route-mode")
    browser.click_map(*stops[0][1])
    browser.press_escape()
    check(not browser.visible("route"), "Escape cancels the route being drawn")
    check_eq(browser.dataset("route").get("state"), "cancelled", "the route is dropped")

    browser.click("route-mode")
    for _, pixel in stops:
        browser.click_map(*pixel)
    browser.click_map(*empty)
    browser.wait("four route points", lambda: browser.text("route-status").startswith("4 points"))
    browser.click("route-finish")
    data = browser.wait("RecordRoute answers", lambda: (d := browser.dataset("route"))["state"] in ("done", "error") and d)
    check_eq(data["state"], "done", "RecordRoute succeeded")
    points = [tuple(int(v) for v in p.split(",")) for p in data["points"].split(";")]
    check_eq(points[:3], [f[:2] for f, _ in stops], "marker clicks add their features' exact points")
    summary = stub(ctx, server).RecordRoute(iter([pb.Point(latitude=a, longitude=b) for a, b in points]),
                                             timeout=CALL_TIMEOUT)
    shown = {key: int(browser.dataset(f"summary-{key}")["value"])
             for key in ("points", "features", "distance", "time")}
    check_eq((shown["points"], shown["features"], shown["distance"]),
             (summary.point_count, summary.feature_count, summary.distance),
             "the page shows RecordRoute's summary of the same points")
    check_eq((shown["points"], shown["features"]), (4, 3), "four points, three of them features")
    allowed, _ = rgmodel.route_distances_allowed(points)
    check(shown["distance"] in allowed, "the distance is the haversine sum", (shown["distance"], allowed))
    check(browser.visible("route-summary"), "the summary is shown")
    browser.check_only_local()


@case("browser_notes_replay_in_a_second_session", timeout=90)
def notes(ctx):
    server = ctx.our_server()
    here = rgmodel.BERKSHIRE
    posted = []
    for session, message in enumerate(["a note from the first session", "and one from the second"]):
        browser = Browser(ctx, server.addr)
        browser.open()
        shown = selected_after(browser, *browser.pixel(*here))
        check_eq((int(shown["lat"]), int(shown["lon"])), here, f"session {session + 1} selects Berkshire")
        browser.type_into("note-text", message)
        browser.click("note-post")
        status = browser.wait("the note is posted",
                              lambda: (d := browser.dataset("note-status"))["state"] in ("posted", "error") and d)
        check_eq(status["state"], "posted", f"session {session + 1} posts its note")
        replay = browser.js("return Array.from(document.querySelectorAll('#note-list li')).map(e => e.textContent)")
        check_eq(replay, posted, f"session {session + 1} sees the notes left there before, oldest first")
        posted.append(message)
        browser.check_only_local()
        browser.close()
    note = pb.RouteNote(location=pb.Point(latitude=here[0], longitude=here[1]), message="from python")
    replies = [n.message for n in stub(ctx, server).RouteChat(iter([note]), timeout=CALL_TIMEOUT)]
    check_eq(replies, posted, "gRPC clients see the notes the page posted")


@case("browser_errors_show_grpc_status_and_message", timeout=90)
def errors(ctx):
    server = ctx.our_server("--max-note-bytes", "16")
    browser = Browser(ctx, server.addr)
    browser.open()
    browser.type_into("goto-point", "95, 10")
    browser.driver.find_element("css selector", "#goto button").click()
    browser.wait("the error is shown", lambda: browser.visible("error"))
    detail = rgmodel.point_error(950_000_000, 100_000_000)
    check_eq(browser.text("error"), f"INVALID_ARGUMENT: {detail}", "GetFeature's status and message")

    shown = selected_after(browser, *browser.pixel(*rgmodel.BERKSHIRE))
    check_eq(shown["state"], "feature", "a good click clears the way")
    check(not browser.visible("error"), "a new action hides the old error")
    browser.type_into("note-text", "this note is longer than sixteen bytes")
    browser.click("note-post")
    browser.wait("the note's error is shown", lambda: browser.visible("error"))
    text = browser.text("error")
    check(text.startswith("INVALID_ARGUMENT: ") and "16" in text, "RouteChat's status and message", text)
    browser.check_only_local()


@case("browser_large_database_reads_a_bounded_view", timeout=180)
def large(ctx):
    path = os.path.join(ctx.tmpdir, "large.json")
    db = rgmodel.write_generated_db(path, 300_000)
    server = ctx.our_server("--db", path, env={"RUST_LOG": "routeguide=debug"})
    browser = Browser(ctx, server.addr)
    view = browser.open()
    total = len(db.inside(*rect_of(view)))
    check(total > 100_000, "the first view holds most of the database", total)
    check_eq((int(view["shown"]), int(view["total"])), (LIST_LIMIT, total),
             "the page lists 500 features and the server's count of all in view")
    listed = browser.listed()
    check(set(listed) <= set(db.inside(*rect_of(view))), "the listed features are in view")
    check_eq(browser.text("features-status"),
             f"Showing 500 of {total:,} features in view. Zoom in to see the other {total - 500:,}.",
             "the status says how many more there are")
    line = browser.wait("the server logs the view's ListFeatures as cancelled",
                        lambda: next((l for l in server.log if 'rpc="ListFeatures"' in l
                                      and "call cancelled by client" in l), None), timeout=30)
    sent = int(line.split("items=")[1].split()[0])
    check(sent < total, "the page cancelled the rest of the stream", (sent, total))
    browser.check_only_local()


def _png():
    """Returns a valid 1x1 transparent PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00")) + chunk(b"IEND", b""))


class TileServer(ThreadingHTTPServer):
    """A tile server on 127.0.0.1 that answers every GET with a PNG and remembers the paths."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.paths.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(self.server.png)))
            self.end_headers()
            self.wfile.write(self.server.png)

        def log_message(self, *args):
            pass

    def __init__(self):
        super().__init__(("127.0.0.1", 0), TileServer.Handler)
        self.paths, self.png = [], _png()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.shutdown()
        self.server_close()


@case("browser_tiles_only_when_configured", timeout=90)
def tiles(ctx):
    tile_server = ctx.track(TileServer())
    template = f"http://127.0.0.1:{tile_server.server_port}/{{z}}/{{x}}/{{y}}.png"
    server = ctx.our_server("--map-tiles", template, "--map-attribution", "Test tiles <b>&</b>")
    browser = Browser(ctx, server.addr)
    browser.open()
    browser.wait("tiles are fetched from the template", lambda: tile_server.paths)
    paths = list(tile_server.paths)
    check(all(p.endswith(".png") and p.count("/") == 3 for p in paths), "z/x/y paths", paths[:3])
    attribution = browser.js("return document.querySelector('.leaflet-control-attribution').textContent")
    check("Test tiles <b>&</b>" in attribution, "the attribution is shown as plain text", attribution)
    check_eq(browser.console_errors(), [], "the tiles pass the page's content security policy")
    browser.check_only_local()


@case("browser_screenshot", timeout=90)
def screenshot(ctx):
    server = ctx.our_server()
    browser = Browser(ctx, server.addr)
    browser.open()
    features = browser.listed()
    # Five stops spread over the view, west to east, make a route worth looking at.
    stops = sorted(isolated(browser, features), key=lambda stop: stop[1][1])
    stops = sorted(stops[:: max(1, len(stops) // 5)][:5], key=lambda stop: stop[1][0])
    browser.click("route-mode")
    for _, pixel in stops:
        browser.click_map(*pixel)
    browser.click("route-finish")
    browser.wait("the route's summary", lambda: browser.dataset("route").get("state") == "done")
    selected_after(browser, *browser.pixel(*rgmodel.BERKSHIRE))
    for note in ["Trailhead parking is full on weekends", "Bridge on the east loop is out"]:
        browser.type_into("note-text", note)
        browser.click("note-post")
        browser.wait("the note is posted", lambda: browser.dataset("note-status").get("state") == "posted")
    path = os.environ.get("INTEROP_SCREENSHOT") or os.path.join(ctx.tmpdir, "map.png")
    browser.screenshot(path)
    with open(path, "rb") as file:
        check(file.read(8) == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG", path)
    browser.check_only_local()
