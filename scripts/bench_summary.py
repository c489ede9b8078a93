"""Prints the BENCHMARKS.md tables from the JSON reports scripts/bench.sh leaves in OUT.

Every 1M measure ran ROUNDS times, the order of its servers reversed on even rounds; a
ratio is the median of the per-round ratios (within a round the runs are back to back),
shown with its range. The other columns are medians of each side's values over the rounds
(so "ratio of CPU per item" is a ratio of medians).
"""
import json
import os
import statistics
import sys


def notes_table(out, rounds, locations):
    """The durable-notes section: the embedded store against memory, same run."""
    def load(r, side):
        with open(f"{out}/notes-r{r}-chat-{side}.json") as f:
            return json.load(f)
    memory = [load(r, "memory") for r in range(1, rounds + 1)]
    embedded = [load(r, "embedded") for r in range(1, rounds + 1)]
    ratios = [e["sent_per_second"] / m["sent_per_second"] for m, e in zip(memory, embedded)]
    us = lambda reps: statistics.median(
        (r["server_cpu"]["user_seconds"] + r["server_cpu"]["system_seconds"]) * 1e6 / r["sent"]
        for r in reps) if all(r.get("server_cpu") and r["sent"] for r in reps) else None
    print(f"\n### Durable notes: RouteChat, 16 streams over {locations} locations, {rounds} rounds\n")
    print("| measure | embedded (median) | memory (median) | ratio: median (range) | target "
          "| server CPU µs per note: embedded / memory | replies per note |")
    print("|---|---|---|---|---|---|---|")
    ue, um = us(embedded), us(memory)
    per_note = statistics.median(r["received"] / r["sent"] for r in embedded if r["sent"])
    print(f"| RouteChat notes/s | {statistics.median(r['sent_per_second'] for r in embedded):,.0f} "
          f"| {statistics.median(r['sent_per_second'] for r in memory):,.0f} "
          f"| **{statistics.median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}) | >= 0.5x "
          f"| {'-' if ue is None else f'{ue:.2f}'} / {'-' if um is None else f'{um:.2f}'} | {per_note:.1f} |")
    sides = [("embedded", embedded), ("memory", memory)]
    if os.path.exists(f"{out}/notes-r1-chat-postgres.json"):
        postgres = [load(r, "postgres") for r in range(1, rounds + 1)]
        sides.append(("postgres", postgres))
        pratios = [p["sent_per_second"] / m["sent_per_second"] for m, p in zip(memory, postgres)]
        up = us(postgres)
        print(f"| PostgreSQL notes/s (same rounds) | postgres {statistics.median(r['sent_per_second'] for r in postgres):,.0f} "
              f"| {statistics.median(r['sent_per_second'] for r in memory):,.0f} "
              f"| {statistics.median(pratios):.3f}x ({min(pratios):.3f}-{max(pratios):.3f}) | reported "
              f"| {'-' if up is None else f'{up:.2f}'} / {'-' if um is None else f'{um:.2f}'} | - |")
    errors = {f"{side} round {r}": rep["errors"] for side, reps in sides
              for r, rep in enumerate(reps, start=1) if rep["errors"]}
    print(f"\nerrors: {errors or 'none'}")


if sys.argv[1] == "--notes":
    notes_table(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    sys.exit(0)

out, rounds = sys.argv[1], int(sys.argv[2])
# Comma-separated samples, paired in order: bare parse i ran just before start-up i.
bares = [float(x) for x in sys.argv[3].split(",")]
startups = [float(x) for x in sys.argv[4].split(",")]
peak = sys.argv[5]


def report(name):
    with open(f"{out}/{name}.json") as f:
        return json.load(f)


def server_us(rep, per):
    c = rep.get("server_cpu")
    if not c or not rep[per]:
        return None
    return (c["user_seconds"] + c["system_seconds"]) * 1e6 / rep[per]


def cores(rep, who):
    c = rep.get(who)
    return c["cores"] if c else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


# (what, measure, baseline label, value key, per-item key, target, baseline name)
ROWS = [
    ("GetFeature calls/s", "get", "ceiling", "calls_per_second", "sent", ">= 0.85x", "ceiling"),
    ("ListFeatures 0.001° calls/s", "list001", "linear", "calls_per_second", "sent", ">= 40x", "linear scan"),
    ("ListFeatures 0.01° calls/s", "list01", "ceiling", "calls_per_second", "sent", ">= 0.85x", "ceiling"),
    ("ListFeatures 0.01° calls/s", "list01", "linear", "calls_per_second", "sent", ">= 15x", "linear scan"),
    ("RecordRoute points/s", "route", "ceiling", "sent_per_second", "sent", ">= 0.7x", "ceiling"),
    ("RouteChat notes/s, 16 streams", "chat", "ceiling", "sent_per_second", "sent", "reported", "ceiling"),
]


def rounds_table(prefix):
    print("| measure | routeguide (median) | baseline (median) | ratio: median (range) | target "
          "| server CPU µs per call or item: ours / baseline | ratio of CPU per item | p50 / p99 ms (ours) "
          "| cores used, server / bench: ours; baseline |")
    print("|---|---|---|---|---|---|---|---|---|")
    errors = {}
    for what, measure, base, key, per, target, base_name in ROWS:
        ours = [report(f"{prefix}-r{r}-{measure}-ours") for r in range(1, rounds + 1)]
        theirs = [report(f"{prefix}-r{r}-{measure}-{base}") for r in range(1, rounds + 1)]
        ratios = [a[key] / b[key] if b[key] else float("inf") for a, b in zip(ours, theirs)]
        ua = median([server_us(a, per) for a in ours])
        ub = median([server_us(b, per) for b in theirs])
        cpu_ratio = ub / ua if ua and ub else None
        print(f"| {what} | {median([a[key] for a in ours]):,.0f} | {base_name} {median([b[key] for b in theirs]):,.0f} "
              f"| **{median(ratios):.2f}x** ({min(ratios):.2f}-{max(ratios):.2f}) | {target} "
              f"| {fmt(ua, '.2f')} / {fmt(ub, '.2f')} | {fmt(cpu_ratio, '.2f')}x "
              f"| {median([a['latency_ms']['p50'] for a in ours]):.3f} / {median([a['latency_ms']['p99'] for a in ours]):.3f} "
              f"| {fmt(median([cores(a, 'server_cpu') for a in ours]), '.2f')} / {fmt(median([cores(a, 'bench_cpu') for a in ours]), '.2f')}; "
              f"{fmt(median([cores(b, 'server_cpu') for b in theirs]), '.2f')} / {fmt(median([cores(b, 'bench_cpu') for b in theirs]), '.2f')} |")
        for side, reps in (("ours", ours), (base, theirs)):
            for r, rep in enumerate(reps, start=1):
                if rep["errors"]:
                    errors[f"{measure} {side} round {r}"] = rep["errors"]
    print(f"\nerrors: {errors or 'none'}")


def single_table(rows):
    print("| measure | routeguide | baseline | ratio | target | server CPU µs per item: ours / baseline | ratio of CPU per item |")
    print("|---|---|---|---|---|---|---|")
    for what, ours, base, key, per, target, base_name in rows:
        a, b = report(ours), report(base)
        ratio = a[key] / b[key] if b[key] else float("inf")
        ua, ub = server_us(a, per), server_us(b, per)
        cpu_ratio = ub / ua if ua and ub else None
        print(f"| {what} | {a[key]:,.0f} | {base_name} {b[key]:,.0f} | **{ratio:.2f}x** | {target} "
              f"| {fmt(ua, '.3f')} / {fmt(ub, '.3f')} | {fmt(cpu_ratio, '.2f')}x |")
    errors = {n: report(n)["errors"] for row in rows for n in row[1:3] if report(n)["errors"]}
    print(f"\nerrors: {errors or 'none'}")


for prefix, title in [("shared", "Shared cores (servers and load generator float over both cores)"),
                      ("pinned", "Pinned (servers on core 0, load generator on core 1)")]:
    print(f"\n### {title}, {rounds} rounds\n")
    rounds_table(prefix)
    l01 = [report(f"{prefix}-r{r}-list01-ours") for r in range(1, rounds + 1)]
    l001 = [report(f"{prefix}-r{r}-list001-ours") for r in range(1, rounds + 1)]
    per_call = lambda reps: sum(r["received"] for r in reps) / sum(r["sent"] for r in reps)
    print(f"features per call: 0.01° {per_call(l01):.1f}, 0.001° {per_call(l001):.2f}")

print("\n### 10M features\n")
single_table([("Whole-database ListFeatures features/s", "whole-ours", "whole-ceiling", "received_per_second", "received", ">= 0.8x", "ceiling")])
startup_ratios = sorted(s / b for b, s in zip(bares, startups))
print(f"\n10M start-up, {len(startup_ratios)} alternating pairs: bare serde_json parse "
      f"{statistics.median(bares):.2f} s (process start to exit, median of {', '.join(f'{b:.2f}' for b in bares)}); "
      f"`routeguide serve` to `listening on` {statistics.median(startups):.2f} s "
      f"(median of {', '.join(f'{t:.2f}' for t in startups)}): "
      f"**{statistics.median(startup_ratios):.2f}x** ({startup_ratios[0]:.2f}-{startup_ratios[-1]:.2f}, target <= 2x); "
      f"serve peak RSS (VmHWM) after loading and the whole-database streams: **{peak} MiB** (target <= 1024)")
