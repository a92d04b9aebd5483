"""`make bench`: every bench/bench_*.py module, each printing ratios against a baseline
measured in the same run (machines are shared and noisy: absolute times mean little).

A module defines ``async def main(args: argparse.Namespace) -> list[str]`` returning the
lines to print. ``make bench BENCH_ARGS="--only exams --quick"`` runs a subset, smaller.
``make bench BENCH_ARGS=--national`` runs only the 10-minute national session
(bench/national.py; not in CI). PostgreSQL benchmarks use APKD_BENCH_POSTGRES_URL (default:
the local server, as CI has it). HTTP load comes from Debian's wrk (bench/common.py), which
``make bench`` installs when it is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", action="append", default=[], help="run modules whose name contains this")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--national",
        action="store_true",
        help="only the national-session run (10 minutes, plot in bench/out/)",
    )
    parser.add_argument("--minutes", type=int, default=0, help="length of the --national run (default 10)")
    args = parser.parse_args()
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if args.national:
        names = ["national"]
    elif args.only:
        names = [n for n in names if any(o in n for o in args.only)]
    failed = 0
    for name in names:
        print(f"== {name} ==", flush=True)
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            for line in asyncio.run(module.main(args)):
                print("  " + line, flush=True)
        except Exception as exc:  # a broken benchmark is reported, the others still run
            failed += 1
            print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
        print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
