#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 30), installing
# cargo-fuzz from crates.io when it is missing; needs the nightly toolchain.
# Usage: bash scripts/fuzz.sh [SECONDS] [TARGET...]
# The corpus grows in fuzz/corpus/TARGET (so a later run starts where this one stopped)
# and a crash is saved in fuzz/artifacts/TARGET; git ignores both. A target also starts
# from fuzz/seeds/TARGET and uses fuzz/TARGET.dict when they exist.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
for target in "${targets[@]}"; do
    corpora=("fuzz/corpus/$target")
    [[ -d "fuzz/seeds/$target" ]] && corpora+=("fuzz/seeds/$target")
    options=("-max_total_time=$seconds")
    [[ -f "fuzz/$target.dict" ]] && options+=("-dict=$PWD/fuzz/$target.dict")
    mkdir -p "fuzz/corpus/$target"
    echo "fuzzing $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "${corpora[@]}" -- "${options[@]}"
done
