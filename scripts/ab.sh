#!/usr/bin/env bash
# Compares the server CPU per call of two routeguide builds, or of a build and the ceiling,
# by running them AT THE SAME TIME: both servers share core 0, their two load generators
# share core 1. On this shared, noisy machine two runs one after the other differ by 10-30%,
# but two servers measured side by side in the same seconds see the same conditions, so a
# few-percent change shows up consistently in every round.
#
# Usage: scripts/ab.sh A_BINARY B_BINARY [routeguide bench flags...]
#   e.g. cp target/release/routeguide /tmp/rg-before   # then change the code, rebuild
#        scripts/ab.sh /tmp/rg-before target/release/routeguide --rpc record-route --points 100
# A binary whose name contains "ceiling" is started as examples/ceiling.rs (with
# --list-features 68), any other as `routeguide serve --db $AB_DB`.
#
# Prints, per round, each side's server CPU per call (µs) and calls/s, then the median of
# the per-round CPU ratios B/A. It compares cost, not the issue's throughput targets: those
# come from scripts/bench.sh.
#
# Knobs: AB_ROUNDS (3), AB_DURATION (5s), AB_DB (target/bench-run/db-1m.json, written by
# scripts/bench.sh), AB_CONCURRENCY (32).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 2 ]; then
    sed -n '2,19p' "$0" >&2
    exit 2
fi
A=$1 B=$2
shift 2
ROUNDS=${AB_ROUNDS:-3}
DURATION=${AB_DURATION:-5s}
DB=${AB_DB:-target/bench-run/db-1m.json}
CONCURRENCY=${AB_CONCURRENCY:-32}
RG=target/release/routeguide
OUT=$(mktemp -d)
[ -s "$DB" ] || { echo "no database at $DB: run scripts/bench.sh once, or set AB_DB" >&2; exit 2; }
[ -x "$RG" ] || cargo build --release --bin routeguide

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done; wait; rm -rf "$OUT"; }
trap cleanup EXIT

# start LABEL BINARY PORT: starts a server on core 0 and waits for `listening on`.
start() {
    local label=$1 binary=$2 port=$3
    case $(basename "$binary") in
    *ceiling*) taskset -c 0 "$binary" --addr "127.0.0.1:$port" --list-features 68 >"$OUT/$label.log" 2>&1 & ;;
    *) taskset -c 0 "$binary" serve --addr "127.0.0.1:$port" --db "$DB" >"$OUT/$label.log" 2>&1 & ;;
    esac
    PIDS+=($!)
    until grep -q "listening on" "$OUT/$label.log"; do
        kill -0 "${PIDS[-1]}" 2>/dev/null || { cat "$OUT/$label.log" >&2; exit 1; }
        sleep 0.1
    done
}

start a "$A" 50091
start b "$B" 50092
for ((r = 1; r <= ROUNDS; r++)); do
    benches=()
    for side in a:50091:${PIDS[0]} b:50092:${PIDS[1]}; do
        IFS=: read -r label port pid <<<"$side"
        taskset -c 1 "$RG" bench --addr "127.0.0.1:$port" --server-pid "$pid" \
            --concurrency "$CONCURRENCY" --connections 2 --db "$DB" --duration "$DURATION" \
            --warmup 1s --json "$@" >"$OUT/r$r-$label.json" 2>/dev/null &
        benches+=($!)
    done
    wait "${benches[@]}"
done

python3 - "$OUT" "$ROUNDS" "$A" "$B" <<'PY'
import json, statistics, sys
out, rounds, a, b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ratios = []
print(f"A = {a}\nB = {b}")
for r in range(1, rounds + 1):
    row = {}
    for side in "ab":
        rep = json.load(open(f"{out}/r{r}-{side}.json"))
        row[side] = (rep["server_cpu"]["micros_per_call"], rep["calls_per_second"])
    ratios.append(row["b"][0] / row["a"][0])
    print(f"round {r}: A {row['a'][0]:7.2f} µs/call {row['a'][1]:8.0f} calls/s | "
          f"B {row['b'][0]:7.2f} µs/call {row['b'][1]:8.0f} calls/s | B/A CPU {ratios[-1]:.3f}")
print(f"median B/A server CPU per call: {statistics.median(ratios):.3f} "
      f"(range {min(ratios):.3f}-{max(ratios):.3f})")
PY
