#!/usr/bin/env bash
# Reproduces every ratio in BENCHMARKS.md in one run on this machine.
#
# Builds release binaries, generates the 1M and 10M databases (kept in $OUT between runs),
# then measures routeguide side by side with the ceiling server (examples/ceiling.rs) and
# the linear-scan baseline (`routeguide serve --linear-scan`). Every load generator run's
# JSON report is kept in $OUT/*.json; the summary table goes to stdout.
#
# Every 1M comparison runs BENCH_ROUNDS times, alternating which side goes first (keep
# it even so that each side goes first equally often), and the summary reports the median
# of the per-round ratios with their range.
#
# Knobs: BENCH_OUT (default target/bench-run), BENCH_DURATION (5s), BENCH_WARMUP (1s),
# BENCH_ROUNDS (4), BENCH_WHOLE_DURATION (15s, each 10M whole-database run),
# BENCH_STARTUP_ROUNDS (3, 10M bare parses and start-ups, alternating),
# BENCH_NOTES_LOCATIONS (10000, the durable-notes section), BENCH_ONLY=notes (run only the
# durable-notes section: RouteChat on the embedded store against memory, about a minute),
# BENCH_POSTGRES_URL (a PostgreSQL database the durable-notes section also measures, e.g.
# after `eval "$(bash scripts/test-postgres.sh start)"`: "$ROUTEGUIDE_TEST_POSTGRES_URL").
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${BENCH_OUT:-target/bench-run}
DURATION=${BENCH_DURATION:-5s}
WARMUP=${BENCH_WARMUP:-1s}
ROUNDS=${BENCH_ROUNDS:-4}
# Whole-database streams of 10M features take seconds each: measure them longer.
WHOLE_DURATION=${BENCH_WHOLE_DURATION:-15s}
STARTUP_ROUNDS=${BENCH_STARTUP_ROUNDS:-3}
RG=target/release/routeguide
CEILING=target/release/examples/ceiling
OURS=127.0.0.1:50071
CEIL=127.0.0.1:50072
LINEAR=127.0.0.1:50073
NOTES_MEMORY=127.0.0.1:50074
NOTES_EMBEDDED=127.0.0.1:50075
NOTES_POSTGRES=127.0.0.1:50076
NOTES_LOCATIONS=${BENCH_NOTES_LOCATIONS:-10000}
ONLY=${BENCH_ONLY:-}
mkdir -p "$OUT"

if [ "$ONLY" = notes ]; then
    cargo build --release --bin routeguide
else
    cargo build --release --bin routeguide --example ceiling
    [ -s "$OUT/db-1m.json" ] || "$RG" gen --n 1000000 --seed 1 --out "$OUT/db-1m.json"
    [ -s "$OUT/db-10m.json" ] || "$RG" gen --n 10000000 --seed 1 --out "$OUT/db-10m.json"
fi

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# start NAME CMD...: starts a server logging to $OUT/NAME.log, waits for `listening on`,
# and sets SERVER_PID and STARTUP_SECONDS (process start to that line).
start() {
    local name=$1
    shift
    local begin
    begin=$(date +%s.%N)
    $SERVER_PREFIX "$@" >"$OUT/$name.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    until grep -q "listening on" "$OUT/$name.log"; do
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/$name.log"; exit 1; }
        sleep 0.02
    done
    STARTUP_SECONDS=$(echo "$(date +%s.%N) - $begin" | bc)
}

stop() {
    kill -INT "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# bench NAME ADDR PID ARGS...: one load generator run against the server with pid PID,
# JSON report in $OUT/NAME.json.
bench() {
    local name=$1 addr=$2 pid=$3
    shift 3
    echo "+ $BENCH_PREFIX routeguide bench --addr $addr $* --duration $DURATION --warmup $WARMUP" >&2
    $BENCH_PREFIX "$RG" bench --addr "$addr" --server-pid "$pid" --duration "$DURATION" \
        --warmup "$WARMUP" --json "$@" >"$OUT/$name.json"
}

GET=(--rpc get-feature --concurrency 32 --connections 2 --db "$OUT/db-1m.json")
LIST=(--rpc list-features --concurrency 32 --connections 2 --db "$OUT/db-1m.json")
ROUTE=(--rpc record-route --points 100 --concurrency 32 --connections 2 --db "$OUT/db-1m.json")
CHAT=(--rpc route-chat --points 100 --streams 16 --connections 2 --db "$OUT/db-1m.json")

# measure P R NAME ARGS... -- SERVER...: one round of one measure. Each SERVER is
# label=addr=pid; the servers run back to back, in reverse order on even rounds so that a
# drift of the machine's speed does not always favour the same side.
measure() {
    local p=$1 r=$2 name=$3
    shift 3
    local args=()
    while [ "$1" != "--" ]; do args+=("$1"); shift; done
    shift
    local servers=("$@")
    if [ $((r % 2)) -eq 0 ]; then
        local reversed=()
        for ((i = ${#servers[@]} - 1; i >= 0; i--)); do reversed+=("${servers[i]}"); done
        servers=("${reversed[@]}")
    fi
    local server label addr pid
    for server in "${servers[@]}"; do
        IFS== read -r label addr pid <<<"$server"
        bench "$p-r$r-$name-$label" "$addr" "$pid" "${args[@]}"
    done
}

# Durable notes: RouteChat, 16 streams of 100 notes over NOTES_LOCATIONS locations, on the
# embedded store (SQLite, every commit fsynced, a fresh file) against the in-memory store,
# ROUNDS times in the same run, reports in $OUT/notes-rR-chat-{memory,embedded}.json.
NOTES_CHAT=(--rpc route-chat --points 100 --streams 16 --connections 2 --locations "$NOTES_LOCATIONS")
notes_section() {
    rm -f "$OUT/notes.db" "$OUT/notes.db-wal" "$OUT/notes.db-shm"
    start notes-memory "$RG" serve --addr "$NOTES_MEMORY" --notes memory:
    local memory_pid=$SERVER_PID
    start notes-embedded "$RG" serve --addr "$NOTES_EMBEDDED" --notes "$OUT/notes.db"
    local embedded_pid=$SERVER_PID
    local servers=("memory=$NOTES_MEMORY=$memory_pid" "embedded=$NOTES_EMBEDDED=$embedded_pid")
    local pids=("$memory_pid" "$embedded_pid")
    if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
        start notes-postgres "$RG" serve --addr "$NOTES_POSTGRES" --notes "$BENCH_POSTGRES_URL"
        servers+=("postgres=$NOTES_POSTGRES=$SERVER_PID")
        pids+=("$SERVER_PID")
    fi
    for ((r = 1; r <= ROUNDS; r++)); do
        measure notes "$r" chat "${NOTES_CHAT[@]}" -- "${servers[@]}"
    done
    for pid in "${pids[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

SERVER_PREFIX="" BENCH_PREFIX=""
if [ "$ONLY" = notes ]; then
    notes_section
    python3 scripts/bench_summary.py --notes "$OUT" "$ROUNDS" "$NOTES_LOCATIONS"
    exit 0
fi

# pass P: every 1M comparison, ROUNDS times, with reports in $OUT/P-rR-*.json. All three
# servers stay up for the whole pass (an idle one uses no CPU).
pass() {
    local p=$1
    start "$p-ours" "$RG" serve --addr "$OURS" --db "$OUT/db-1m.json"
    local ours_pid=$SERVER_PID
    start "$p-linear" "$RG" serve --addr "$LINEAR" --db "$OUT/db-1m.json" --linear-scan
    local linear_pid=$SERVER_PID
    # The ceiling streams as many features per call as routeguide does on average.
    bench "$p-probe-list01" "$OURS" "$ours_pid" "${LIST[@]}" --rect-size 0.01
    local per_call
    per_call=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round(r["received"]/r["sent"]))' "$OUT/$p-probe-list01.json")
    start "$p-ceiling" "$CEILING" --addr "$CEIL" --list-features "$per_call"
    local ceiling_pid=$SERVER_PID
    local ours="ours=$OURS=$ours_pid" linear="linear=$LINEAR=$linear_pid" ceiling="ceiling=$CEIL=$ceiling_pid"
    for ((r = 1; r <= ROUNDS; r++)); do
        measure "$p" "$r" get "${GET[@]}" -- "$ours" "$ceiling"
        measure "$p" "$r" list001 "${LIST[@]}" --rect-size 0.001 -- "$ours" "$linear"
        measure "$p" "$r" list01 "${LIST[@]}" --rect-size 0.01 -- "$ours" "$ceiling" "$linear"
        measure "$p" "$r" route "${ROUTE[@]}" -- "$ours" "$ceiling"
        measure "$p" "$r" chat "${CHAT[@]}" -- "$ours" "$ceiling"
    done
    for pid in "$ours_pid" "$linear_pid" "$ceiling_pid"; do
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}

# Shared: both sides float over both cores, as a deployment would run.
SERVER_PREFIX="" BENCH_PREFIX=""
pass shared
# Pinned: the servers get core 0 and the load generator core 1, so neither steals the
# other's CPU and each server is measured on exactly one core.
SERVER_PREFIX="taskset -c 0" BENCH_PREFIX="taskset -c 1"
pass pinned
SERVER_PREFIX="" BENCH_PREFIX=""

# 10M database: bare parse, start-up, whole-database streaming, memory. Parse and
# start-up alternate STARTUP_ROUNDS times (one sample each moved by 30% between runs
# here); the summary reports the median of the per-pair ratios. The last server stays up.
BARES=() STARTUPS=()
for ((r = 1; r <= STARTUP_ROUNDS; r++)); do
    begin=$(date +%s.%N)
    "$RG" bench-parse "$OUT/db-10m.json" 2>"$OUT/bare-parse-10m.log"
    BARES+=("$(echo "$(date +%s.%N) - $begin" | bc)")
    start ours-10m "$RG" serve --addr "$OURS" --db "$OUT/db-10m.json"
    STARTUPS+=("$STARTUP_SECONDS")
    if [ "$r" -lt "$STARTUP_ROUNDS" ]; then stop; fi
done
DURATION=$WHOLE_DURATION bench whole-ours "$OURS" "$SERVER_PID" --rpc list-features --whole-world --streams 2 --connections 2 --timeout 600s
PEAK_10M=$(peak_rss_mib "$SERVER_PID")
stop
start ceiling-10m "$CEILING" --addr "$CEIL" --list-features 10000000
DURATION=$WHOLE_DURATION bench whole-ceiling "$CEIL" "$SERVER_PID" --rpc list-features --whole-world --streams 2 --connections 2 --timeout 600s
stop

notes_section

python3 scripts/bench_summary.py "$OUT" "$ROUNDS" "$(IFS=,; echo "${BARES[*]}")" \
    "$(IFS=,; echo "${STARTUPS[*]}")" "$PEAK_10M"
grep -h "database loaded" "$OUT/ours-10m.log"
grep -h "bare parse done" "$OUT/bare-parse-10m.log"
python3 scripts/bench_summary.py --notes "$OUT" "$ROUNDS" "$NOTES_LOCATIONS"
