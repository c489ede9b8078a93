"""Runs the interop cases and prints one line per case, then `N passed, N failed, N skipped`.

Normally started by run.sh, which puts the generated stubs on PYTHONPATH:
    python suite.py --bin target/debug/routeguide [--only SUBSTRING ...] [--verbose]
Exits 1 when any case failed. A case that skips is listed again at the end; under
CI=true it counts as failed (nothing is skipped in CI).
"""

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import rgmodel  # noqa: E402

# Registration order is run order.
import cases_python_client  # noqa: E402,F401
import cases_health_reflection  # noqa: E402,F401
import cases_cli  # noqa: E402,F401
import cases_wire  # noqa: E402,F401
import cases_grpcurl  # noqa: E402,F401
import cases_tls  # noqa: E402,F401
import cases_browser  # noqa: E402,F401
import cases_browser_token  # noqa: E402,F401


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the routeguide binary")
    parser.add_argument("--db", default=os.path.join(HERE, "..", "..", "data", "route_guide_db.json"),
                        help="the canonical 100-feature database")
    parser.add_argument("--only", action="append", default=[], help="run cases whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="print tracebacks of crashed cases")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="routeguide-interop-")
    config = {
        "bin": os.path.abspath(args.bin),
        "db": os.path.abspath(args.db),
        "canonical": rgmodel.FeatureDb.load(args.db),
        "workdir": workdir,
        "grpcurl": shutil.which("grpcurl", path=os.path.dirname(sys.executable) + os.pathsep
                                + os.environ.get("PATH", "")),
        "verbose": args.verbose,
        "ci": os.environ.get("CI") == "true",
    }
    cases = [c for c in harness.CASES if not args.only or any(o in c.name for o in args.only)]
    try:
        passed, failed, skipped = harness.run_cases(cases, config)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if skipped:
        banner = "!" * 78
        print(f"\n{banner}\n{len(skipped)} case(s) SKIPPED: they did not run, so they prove nothing "
              "(under CI=true a skip is a failure):")
        for name, reason in skipped:
            print(f"  SKIP {name}: {reason}")
        print(banner)
    print(f"{passed} passed, {failed} failed, {len(skipped)} skipped")
    # Threads of timed-out cases may still be blocked in gRPC; do not wait for them.
    sys.stdout.flush()
    os._exit(1 if failed or not cases else 0)


if __name__ == "__main__":
    main()
