"""Our CLI -> the Python server: every client subcommand prints what it prints against our server.

Each side gets a fresh server so RouteChat state matches. ListFeatures order is not part
of the contract (README, "What the server guarantees"), so list output is compared as a sorted multiset of lines.
"""

import json
import os

import rgmodel
from harness import case, check, check_eq

CHAT_INPUT = "".join(f"{la},{lo} {message}\n" for message, la, lo in rgmodel.TUTORIAL_NOTES) + (
    "# a comment line\n"
    "0,0 Sixth message\n"
    "40.9146138,-74.6188906 at Berkshire \u00e9\u6771\n"
    "409146138,-746188906 again at Berkshire\n"
)


def run_both(ctx, args, stdin=None, py_args=(), sort=False):
    """Runs `routeguide ARGS --addr X` against a fresh our server and a fresh Python server."""
    outputs = []
    for server in (ctx.our_server(), ctx.py_server(*py_args)):
        result = ctx.cli(*args, "--addr", server.addr, stdin=stdin)
        check_eq(result.returncode, 0, f"`routeguide {' '.join(args)}` against {server.label} exits 0 "
                 f"(stderr: {result.stderr.strip()[-300:]!r})")
        outputs.append(result.stdout)
    ours, theirs = outputs
    if sort:
        check_eq(sorted(theirs.splitlines()), sorted(ours.splitlines()),
                 f"`routeguide {' '.join(args)}`: same lines against the Python server (any order)")
    else:
        check_eq(theirs, ours, f"`routeguide {' '.join(args)}`: same stdout against the Python server")
    return ours


@case("cli_get_against_python_server")
def cli_get(ctx):
    out = run_both(ctx, ["get", "409146138,-746188906"])
    check(rgmodel.BERKSHIRE_NAME in out, "get prints the feature's name", out)
    out = run_both(ctx, ["get", "0,0"])
    check(out.startswith("No feature"), "get at (0,0) prints no feature", out)
    run_both(ctx, ["get", "40.9146138,-74.6188906", "--json"])
    out = run_both(ctx, ["get", "0.0,0.0", "--json"])
    check('"name":""' in out.replace(" ", ""), "--json includes default values", out)


@case("cli_list_against_python_server")
def cli_list(ctx):
    args = ["list", "%d,%d" % rgmodel.TUTORIAL_LO, "%d,%d" % rgmodel.TUTORIAL_HI]
    out = run_both(ctx, args, sort=True)
    check_eq(len(out.splitlines()), 100, "list prints 100 features")
    run_both(ctx, args + ["--json"], sort=True)
    run_both(ctx, ["list", "42.0,-73.0", "40.0,-75.0", "--json"], sort=True)


@case("cli_record_against_python_server")
def cli_record(ctx):
    db = ctx.config["canonical"]
    route = os.path.join(ctx.tmpdir, "route.txt")
    with open(route, "w", encoding="utf-8") as file:
        file.write("# tutorial route\n")
        for latitude, longitude, _ in db.features[:12]:
            file.write(f"{latitude},{longitude}\n")
        file.write("40.9146138,-74.6188906\n\n0,0\n")
    out = run_both(ctx, ["record", route])
    check("Finished trip with 14 points" in out, "record prints the summary", out)
    run_both(ctx, ["record", route, "--json"])
    run_both(ctx, ["record", "--random", "25", "--seed", "7", "--json"])
    run_both(ctx, ["record", "-"], stdin="0,0\n10000000,0\n")


@case("cli_chat_against_python_server")
def cli_chat(ctx):
    out = run_both(ctx, ["chat"], stdin=CHAT_INPUT)
    lines = out.splitlines()
    check_eq(len(lines), 5, "chat prints one line per replayed note")
    check('"First message"' in lines[0] and '"Third message"' in lines[1],
          "the tutorial's replies come first, in order", lines)
    run_both(ctx, ["chat", "--json"], stdin=CHAT_INPUT)


def sort_list_section(text):
    """Returns demo output with the ListFeatures section's lines sorted."""
    lines, result, in_list = text.splitlines(), [], []
    section = None
    for line in lines:
        if line.startswith("--------------"):
            section = line
            result.append(line)
        elif section and "ListFeatures" in section:
            in_list.append(line)
            if len(in_list) == 1:
                result.append("<list>")
        else:
            result.append(line)
    return result, sorted(in_list)


@case("cli_demo_against_python_server")
def cli_demo(ctx):
    outputs = []
    for server in (ctx.our_server(), ctx.py_server()):
        result = ctx.cli("demo", "--seed", "1", "--addr", server.addr)
        check_eq(result.returncode, 0, f"demo against {server.label} exits 0 (stderr: {result.stderr[-300:]!r})")
        outputs.append(sort_list_section(result.stdout))
    (ours, ours_list), (theirs, theirs_list) = outputs
    check_eq(theirs, ours, "demo --seed 1: same output against the Python server (list section aside)")
    check_eq(theirs_list, ours_list, "demo --seed 1: same ListFeatures lines (any order)")
    check_eq(len(ours_list), 100, "demo lists 100 features")
    check(any('"First message"' in line for line in ours), "demo's RouteChat prints First message", ours)


@case("cli_bench_against_python_server", timeout=90)
def cli_bench(ctx):
    # Every RPC the load generator drives, against both servers: each run must make calls
    # and count no error.
    servers = (ctx.our_server(), ctx.py_server())
    for rpc in ("get-feature", "list-features", "record-route", "route-chat"):
        for server in servers:
            args = ("bench", "--rpc", rpc, "--duration", "1s", "--warmup", "0s", "--concurrency", "4",
                    "--points", "10", "--json")
            result = ctx.cli(*args, "--addr", server.addr, timeout=30)
            described = f"`routeguide {' '.join(args)}` against {server.label}"
            check_eq(result.returncode, 0, f"{described} exits 0 (stderr: {result.stderr.strip()[-300:]!r})")
            report = json.loads(result.stdout)
            check_eq(report["rpc"], rpc, f"{described}: the report names the RPC")
            check(report["calls"] > 0, f"{described}: some calls finished", report)
            check_eq(report["errors"], {}, f"{described}: no call failed")
            check(report["received"] > 0, f"{described}: some messages came back", report)
