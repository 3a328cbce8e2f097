"""The pipeline fuzz of tests/test_fuzz.py, run much longer and with fresh randomness.

    python benchmarks/fuzz.py --examples 5000          # or: make fuzz
    python benchmarks/fuzz.py --examples 500 --seed 7  # reproducible

The property is the one the test suite runs with a few dozen examples: random exports
(header dialects, title rows, cells of every type, xlsx and CSV in several encodings) through
load → warn → import → ledger → report, with nothing raised that the export did not ask for
and every row with an id accounted for. A failure prints hypothesis' smallest example and
a reproduction blob; keep it as an @example on the test in tests/test_fuzz.py once fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=None, help="a fixed seed (default: fresh randomness)")
    args = parser.parse_args()

    from hypothesis import HealthCheck, given, seed, settings

    from tests.test_fuzz import check_pipeline, exports

    run = settings(
        max_examples=args.examples,
        deadline=None,
        derandomize=False,
        database=None,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
    )(given(exports())(check_pipeline))
    if args.seed is not None:
        run = seed(args.seed)(run)
    started = time.monotonic()
    run()
    print(f"{args.examples} examples passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
