"""Prints the BENCHMARKS.md tables from the JSON reports scripts/bench.sh leaves in OUT."""
import json
import sys

out, bare, startup, peak = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]


def report(name):
    with open(f"{out}/{name}.json") as f:
        return json.load(f)


def cores(rep, who):
    c = rep.get(who)
    return f"{c['cores']:.2f}" if c else "-"


def server_us(rep, per):
    c = rep.get("server_cpu")
    if not c or not rep[per]:
        return "-"
    return f"{(c['user_seconds'] + c['system_seconds']) * 1e6 / rep[per]:.2f}"


ROWS = [
    ("GetFeature calls/s", "get-ours", "get-ceiling", "calls_per_second", "sent", ">= 0.9x", "ceiling"),
    ("ListFeatures 0.001° calls/s", "list001-ours", "list001-linear", "calls_per_second", "sent", ">= 40x", "linear scan"),
    ("ListFeatures 0.01° calls/s", "list01-ours", "list01-ceiling", "calls_per_second", "sent", ">= 0.9x", "ceiling"),
    ("ListFeatures 0.01° calls/s", "list01-ours", "list01-linear", "calls_per_second", "sent", ">= 15x", "linear scan"),
    ("RecordRoute points/s", "route-ours", "route-ceiling", "sent_per_second", "sent", ">= 0.9x", "ceiling"),
    ("RouteChat notes/s, 16 streams", "chat-ours", "chat-ceiling", "sent_per_second", "sent", "reported", "ceiling"),
]


def table(prefix, rows):
    print("| measure | routeguide | baseline | ratio | target | server CPU µs per call or item: ours / baseline | ratio of CPU per item | p50 / p99 ms (ours) | cores used, server / bench: ours; baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    for what, ours, base, key, per, target, base_name in rows:
        a, b = report(prefix + ours), report(prefix + base)
        ratio = a[key] / b[key] if b[key] else float("inf")
        ua, ub = server_us(a, per), server_us(b, per)
        cpu_ratio = f"{float(ub) / float(ua):.2f}x" if "-" not in (ua, ub) else "-"
        print(f"| {what} | {a[key]:,.0f} | {base_name} {b[key]:,.0f} | **{ratio:.2f}x** | {target} | {ua} / {ub} | {cpu_ratio} | "
              f"{a['latency_ms']['p50']:.3f} / {a['latency_ms']['p99']:.3f} | "
              f"{cores(a, 'server_cpu')} / {cores(a, 'bench_cpu')}; {cores(b, 'server_cpu')} / {cores(b, 'bench_cpu')} |")
    names = {prefix + n for row in rows for n in row[1:3]}
    errors = {n: report(n)["errors"] for n in sorted(names) if report(n)["errors"]}
    print(f"\nerrors: {errors or 'none'}")


for prefix, title in [("shared-", "Shared cores (server and load generator float over both cores)"),
                      ("pinned-", "Pinned (server on core 0, load generator on core 1)")]:
    print(f"\n### {title}\n")
    table(prefix, ROWS)
    l01, l001 = report(prefix + "list01-ours"), report(prefix + "list001-ours")
    print(f"features per call: 0.01° {l01['received'] / l01['sent']:.1f}, 0.001° {l001['received'] / l001['sent']:.2f}")

print("\n### 10M features\n")
table("", [("Whole-database ListFeatures features/s", "whole-ours", "whole-ceiling", "received_per_second", "received", ">= 0.8x", "ceiling")])
print(f"\nbare serde_json parse {bare:.2f} s (process start to exit); `routeguide serve` start-up to `listening on` {startup:.2f} s: "
      f"**{startup / bare:.2f}x** (target <= 2x); serve peak RSS (VmHWM) after loading and the whole-database streams: **{peak} MiB** (target <= 1024)")
