"""Interleaved pairs of one command on an earlier revision and on this checkout: a change's gain.

    python benchmarks/ab.py HEAD~1                        # warn on the 1M-row CSV, 8 pairs
    python benchmarks/ab.py 32db93f --target report --pairs 6

On the 2-core machine single runs move by a fifth from one minute to the next, and run.py's
medians of 5 by a tenth from one run to the next: a change worth a few percent shows only in pairs
run back to back, the base and the new code in turn (docs/performance.md). The base revision's
`src` is extracted (`git archive`) into benchmarks/out/ab-<commit>/ and run from there on
PYTHONPATH, with this checkout's interpreter and libraries; the new code is this checkout's `src`,
committed or not. Every run is a fresh process, with run.py's environment.

Targets: `warn` (the JSON of the big CSV), `import` (into a new store), `ledger` and `report`
(right after an import: each side imports the file once with its own code, and each run gets a
fresh copy of that store, flushed to disk, and an empty chart cache). Which side runs first
alternates from pair to pair. Prints each pair, the medians, how often the new code was faster,
and whether the two gave the same output (warn's and the ledger's JSON, the import's summary, the
report's files, byte for byte); exits 1 when they differ.
"""

from __future__ import annotations

import argparse
import filecmp
import io
import shutil
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

from run import ENV, OUT, PY, REPORT_CACHE, copy_store, ensure_export, gaopin, measure

ROOT = Path(__file__).resolve().parent.parent
MONTH = ("--month", "8", "--today", "2024-10-31")


def extract(revision: str) -> tuple[str, Path]:
    """(the commit, a folder holding that commit's `src`), extracted once per commit."""
    commit = subprocess.run(["git", "rev-parse", "--short", revision], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    folder = OUT / f"ab-{commit}"
    if not (folder / "src" / "gaopin").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        archive = subprocess.run(["git", "archive", "--format=tar", commit, "src"], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # The "data" filter (no links out, no odd modes) exists from Python 3.11.4 on.
            tar.extractall(folder, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    # Compiled once, as run.py compiles this checkout's: every run then starts from bytecode.
    subprocess.run([PY, "-m", "compileall", "-q", str(folder / "src")], env=ENV, check=True)
    return commit, folder / "src"


def fresh_copy(store: Path, work: Path) -> None:
    for p in work.parent.glob(work.name + "*"):
        p.unlink()
    copy_store(store, work)
    shutil.rmtree(REPORT_CACHE, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", help="the earlier revision (a commit, a branch, HEAD~1)")
    ap.add_argument("--target", choices=["warn", "import", "ledger", "report"], default="warn")
    ap.add_argument("--pairs", type=int, default=8, help="pairs of runs (default 8)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the CSV (default 1,000,000)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    big = ensure_export(args.rows, "csv")
    commit, base_src = extract(args.base)
    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "src")], env=ENV, check=True)
    sides = {"base": base_src, "new": ROOT / "src"}
    envs = {side: {**ENV, "PYTHONPATH": str(src)} for side, src in sides.items()}
    folder = OUT / "ab-runs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    stores = {side: folder / f"{side}.db" for side in sides}
    if args.target in ("ledger", "report"):
        for side in sides:  # each side's store written by its own code (its own schema)
            subprocess.run(gaopin("import", str(big), "--db", str(stores[side])), env=envs[side], check=True, stdout=subprocess.DEVNULL)
    work = folder / "work.db"
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    same = True
    print(f"{args.target}: {commit} (base) against this checkout (new), {args.pairs} pairs", file=sys.stderr)
    for i in range(args.pairs):
        outputs = {}
        # Which side runs first alternates: a run that warms the page cache or the CPU's clock for
        # the next would otherwise favour one side.
        for side in ("base", "new") if i % 2 == 0 else ("new", "base"):
            out = folder / f"{side}.out"
            if args.target == "warn":
                cmd = gaopin("warn", str(big), "--format", "json")
            elif args.target == "import":
                for p in folder.glob("import.db*"):
                    p.unlink()
                cmd = gaopin("import", str(big), "--db", str(folder / "import.db"))
            elif args.target == "ledger":
                fresh_copy(stores[side], work)
                cmd = gaopin("ledger", *MONTH, "--db", str(work), "--format", "json")
            else:
                fresh_copy(stores[side], work)
                shutil.rmtree(folder / f"report-{side}", ignore_errors=True)
                cmd = gaopin("report", *MONTH, "--db", str(work), "--out", str(folder / f"report-{side}"))
            with open(out, "wb") as fh:
                s, _, _ = measure(cmd, env=envs[side], stdout=fh)
            seconds[side].append(s)
            outputs[side] = out
        if args.target == "report":
            compared = filecmp.dircmp(folder / "report-base", folder / "report-new")
            pair_same = not (compared.left_only or compared.right_only or compared.diff_files or compared.funny_files)
            pair_same = pair_same and not filecmp.cmpfiles(folder / "report-base", folder / "report-new", compared.common_files, shallow=False)[1]
        else:
            pair_same = filecmp.cmp(outputs["base"], outputs["new"], shallow=False)
        same = same and pair_same
        base, new = seconds["base"][-1], seconds["new"][-1]
        print(f"  pair {i + 1}: base {base:6.2f} s, new {new:6.2f} s  {'new faster' if new < base else 'base faster'}{'' if pair_same else '  OUTPUT DIFFERS'}", file=sys.stderr)
    faster = sum(n < b for b, n in zip(seconds["base"], seconds["new"]))
    print(
        f"{args.target}, {args.pairs} interleaved pairs, {commit} → this checkout: medians "
        f"{statistics.median(seconds['base']):.2f} s → {statistics.median(seconds['new']):.2f} s, "
        f"new faster in {faster} of {args.pairs}; output {'the same' if same else 'DIFFERENT'}"
    )
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
