"""Performance at district scale, measured against the cost of just reading the file.

    python benchmarks/run.py --rows 1000000           # everything (about a quarter of an hour)
    python benchmarks/run.py --rows 100000 --repeat 3 # a quick look

Each measurement is a fresh subprocess; wall time, the child's peak RSS and its CPU time (user +
system, with the processes it waited for: the report's chart process) are recorded (wait4); the
median of --repeat runs is reported (5 by default: on the 2-core machine medians of 3 moved a
ratio by up to a sixth from one run to the next, the report after an import's from 3.94 to 4.59),
and runs of a target and its floor are interleaved so that machine noise hits both. The CPU ratio
beside each wall-time ratio tells the two kinds of cost apart: a target whose wall ratio is above
its CPU ratio keeps the two cores less busy than the floor does (work that waits on one core), one
whose CPU ratio is above the limit does more work than the limit allows however it is scheduled. Floors, in the same run on the same file:

- CSV floor: pyarrow.csv.read_csv of the file, converted to pandas with Arrow-backed strings;
- XLSX floor: pandas.read_excel(engine="calamine") with every column read as text;
- start-up floor: python -c "import typer".

Synthetic exports come from gaopin's own generator (`gaopin sample --district`) and are
cached in benchmarks/out/.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PY = sys.executable
# The same allocator, set up the same way, for gaopin and the floors (gaopin sets both itself;
# see gaopin/__init__.py).
ENV = {
    **os.environ,
    "ARROW_DEFAULT_MEMORY_POOL": os.environ.get("ARROW_DEFAULT_MEMORY_POOL", "jemalloc"),
    "JE_ARROW_MALLOC_CONF": os.environ.get("JE_ARROW_MALLOC_CONF", "muzzy_decay_ms:-1"),
    "NO_COLOR": "1",
}
# gaopin runs from its compiled bytecode, as an installed package does (pip compiles it, like the
# floors' libraries): a shell with PYTHONDONTWRITEBYTECODE set would have every run compile
# gaopin's sources again (about 0.1 s). The bytecode is written once, before the first run.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)
# The report's chart and font cache ([report] cache_dir) of the benchmark's own: a run after an
# import starts with it empty (new data: new charts); a run on an unchanged store finds what the
# report before it drew, as any report made again does.
REPORT_CACHE = OUT / "report-cache"
ENV["GAOPIN_REPORT__CACHE_DIR"] = str(REPORT_CACHE)

CSV_FLOOR = """
import sys, pyarrow as pa, pyarrow.csv as pcsv, pandas as pd
t = pcsv.read_csv(sys.argv[1])
df = t.to_pandas(types_mapper=lambda ty: pd.ArrowDtype(ty) if pa.types.is_string(ty) or pa.types.is_large_string(ty) else None)
print(len(df))
"""
XLSX_FLOOR = """
import sys, pandas as pd
df = pd.read_excel(sys.argv[1], engine="calamine", dtype=str)
print(len(df))
"""


@dataclass
class Result:
    name: str
    seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rss(self) -> float:
        return statistics.median(self.rss_mb)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def measure(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, stdout: Any = subprocess.DEVNULL) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds) of one child process (`env`: ENV by default;
    `stdout`: where its output goes, nowhere by default)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=ENV if env is None else env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        raise SystemExit(f"failed ({code}): {' '.join(cmd)}\n{err}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def gaopin(*args: str) -> list[str]:
    return [PY, "-m", "gaopin", *args]


def ensure_export(rows: int, fmt: str) -> Path:
    target = OUT / f"district-{rows}.{fmt}"
    if target.exists():
        return target
    tmp = OUT / f"gen-{rows}-{fmt}"
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"generating {rows} rows as {fmt} …", file=sys.stderr)
    subprocess.run(gaopin("sample", "--district", "--rows", str(rows), "--format", fmt, "--out", str(tmp)), env=ENV, check=True)
    (tmp / f"tickets.{fmt}").rename(target)
    shutil.rmtree(tmp)
    return target


def interleave(repeat: int, jobs: dict[str, tuple[list[str], object]]) -> dict[str, Result]:
    """Run each job `repeat` times, round-robin; a job's second element prepares each run."""
    results = {name: Result(name) for name in jobs}
    for _ in range(repeat):
        for name, (cmd, before) in jobs.items():
            if callable(before):
                before()
            s, mb, cpu = measure(cmd)
            results[name].seconds.append(s)
            results[name].rss_mb.append(mb)
            results[name].cpu.append(cpu)
            print(f"  {name:<28} {s:8.2f} s {mb:9.0f} MB {cpu:8.2f} s CPU", file=sys.stderr)
    return results


def copy_store(store: Path, to: Path) -> None:
    """The store and the columnar copy of its tickets beside it, as an import leaves them: on
    disk (a copy left in the page cache made the timed run's first commit flush its 600 MB,
    0.3-0.5 s)."""
    for name in ("", "-tickets.arrow"):
        source = store.with_name(store.name + name)
        if source.exists():
            target = to.with_name(to.name + name)
            shutil.copyfile(source, target)
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the big CSV (default 1,000,000)")
    ap.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the xlsx (default 100,000)")
    ap.add_argument("--small-rows", type=int, default=100_000, help="rows of the small CSV for the scaling check")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each target and floor; the median is reported (default 5)")
    ap.add_argument("--only", nargs="*", default=None, help="targets: warn-csv warn-xlsx import ledger report help scaling")
    ap.add_argument("--json", type=Path, help="also write the results as JSON")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    subprocess.run([PY, "-m", "compileall", "-q", str(Path(importlib.util.find_spec("gaopin").origin).parent)], env=ENV, check=True)
    only = set(args.only or ["warn-csv", "warn-xlsx", "import", "ledger", "report", "help", "scaling"])
    big = ensure_export(args.rows, "csv")
    rows: list[tuple] = []

    def add(target: str, r: Result, floor: Result, limit: float, what: str = "time", rss_limit: float | None = None) -> None:
        ratio = r.median / floor.median
        line = [target, r.name, r.median, r.rss, floor.median, floor.rss, ratio, limit, ratio <= limit]
        if rss_limit is not None:
            rss_ratio = r.rss / floor.rss
            line += [rss_ratio, rss_limit, rss_ratio <= rss_limit]
        else:
            line += [None, None, None]
        line += [r.cpu_median, floor.cpu_median, r.cpu_median / floor.cpu_median]
        rows.append(tuple(line))

    # Every target on the big CSV is run alternately with its own runs of the floor: the
    # machine's speed drifts by a fifth within minutes (docs/performance.md), which a floor
    # measured once at the start would put into the later targets' ratios.
    csv_floor = {"csv floor": ([PY, "-c", CSV_FLOOR, str(big)], None)}
    if "warn-csv" in only:
        print("CSV floor and warn on the big CSV", file=sys.stderr)
        res = interleave(args.repeat, {**csv_floor, "warn csv --format json": (gaopin("warn", str(big), "--format", "json"), None)})
        add("1 warn 1M csv", res["warn csv --format json"], res["csv floor"], 2.0, rss_limit=2.0)
    if "warn-xlsx" in only:
        xlsx = ensure_export(args.xlsx_rows, "xlsx")
        print("XLSX floor and warn on the xlsx", file=sys.stderr)
        res = interleave(args.repeat, {"xlsx floor": ([PY, "-c", XLSX_FLOOR, str(xlsx)], None), "warn xlsx": (gaopin("warn", str(xlsx)), None)})
        add("2 warn 100k xlsx", res["warn xlsx"], res["xlsx floor"], 1.3)
    db = OUT / f"store-{args.rows}.db"
    if only & {"import", "ledger", "report"}:
        print("import", file=sys.stderr)

        def fresh() -> None:
            for p in OUT.glob(f"store-{args.rows}.db*"):
                p.unlink()

        res = interleave(args.repeat, {**csv_floor, "import (new store)": (gaopin("import", str(big), "--db", str(db)), fresh)})
        add("3 import 1M csv", res["import (new store)"], res["csv floor"], 4.0)
        res = interleave(args.repeat, {**csv_floor, "re-import (same file)": (gaopin("import", str(big), "--db", str(db)), None), "re-import --force": (gaopin("import", str(big), "--db", str(db), "--force"), None)})
        add("3 re-import (skipped)", res["re-import (same file)"], res["csv floor"], 2.0)
        add("3 re-import --force", res["re-import --force"], res["csv floor"], 2.0)
    # The ledger and the report twice each: right after the import (the refresh computes
    # every entry: the cost after any new data) and again on an unchanged store (the
    # refresh's kept result is reused: the cost of every later view, e.g. the report after
    # the ledger, or staff looking again). Each "after import" run gets a fresh copy.
    imported = OUT / f"store-{args.rows}-imported.db"
    work = OUT / f"store-{args.rows}-work.db"
    if only & {"ledger", "report"}:
        copy_store(db, imported)

    def from_import() -> None:
        for p in OUT.glob(f"store-{args.rows}-work.db*"):
            p.unlink()
        copy_store(imported, work)
        shutil.rmtree(REPORT_CACHE, ignore_errors=True)

    month = ("--month", "8", "--today", "2024-10-31")
    out_dir = OUT / "report"
    if "ledger" in only:
        res = interleave(args.repeat, {**csv_floor, "ledger after import": (gaopin("ledger", *month, "--db", str(work)), from_import)})
        add("4 ledger --month 8", res["ledger after import"], res["csv floor"], 3.0)
        gaopin_run = gaopin("ledger", *month, "--db", str(db))
        subprocess.run(gaopin_run, env=ENV, check=True, stdout=subprocess.DEVNULL)
        res = interleave(args.repeat, {**csv_floor, "ledger, unchanged store": (gaopin_run, None)})
        add("4 ledger --month 8", res["ledger, unchanged store"], res["csv floor"], 3.0)
    if "report" in only:
        res = interleave(args.repeat, {**csv_floor, "report after import": (gaopin("report", *month, "--db", str(work), "--out", str(out_dir)), from_import)})
        add("4 report --month 8", res["report after import"], res["csv floor"], 3.0)
        report_run = gaopin("report", *month, "--db", str(db), "--out", str(out_dir))
        subprocess.run(report_run, env=ENV, check=True, stdout=subprocess.DEVNULL)
        res = interleave(args.repeat, {**csv_floor, "report, unchanged store": (report_run, None)})
        add("4 report --month 8", res["report, unchanged store"], res["csv floor"], 3.0)
    for p in OUT.glob(f"store-{args.rows}-*.db*"):
        p.unlink()
    if "help" in only:
        res = interleave(max(args.repeat, 5), {"import typer": ([PY, "-c", "import typer"], None), "gaopin --help": (gaopin("--help"), None), "gaopin warn --help": (gaopin("warn", "--help"), None)})
        add("5 --help", res["gaopin --help"], res["import typer"], 2.0)
        add("5 warn --help", res["gaopin warn --help"], res["import typer"], 2.0)
    if "scaling" in only:
        small = ensure_export(args.small_rows, "csv")
        res = interleave(args.repeat, {"warn small csv": (gaopin("warn", str(small), "--format", "json"), None), "warn big csv": (gaopin("warn", str(big), "--format", "json"), None)})
        add("6 scaling warn", res["warn big csv"], res["warn small csv"], 11.0 * args.rows / args.small_rows / 10)
        rows[-1] = (rows[-1][0], f"{args.small_rows}→{args.rows}", *rows[-1][2:])
    print_table(rows, args)
    if args.json:
        args.json.write_text(json.dumps([list(r) for r in rows], indent=2, ensure_ascii=False))


def print_table(rows: list[tuple], args) -> None:
    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}; rows={args.rows}, xlsx rows={args.xlsx_rows}, median of {args.repeat}\n")
    print("| target | run | seconds | peak RSS MB | floor s | floor RSS MB | ratio | limit | ok | RSS ratio | RSS limit | RSS ok | CPU s | floor CPU s | CPU ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|---:|")
    for r in rows:
        cells = [r[0], r[1], f"{r[2]:.2f}", f"{r[3]:.0f}", f"{r[4]:.2f}", f"{r[5]:.0f}", f"{r[6]:.2f}", f"{r[7]:.1f}", "✓" if r[8] else "✗"]
        cells += ["", "", ""] if r[9] is None else [f"{r[9]:.2f}", f"{r[10]:.1f}", "✓" if r[11] else "✗"]
        cells += [f"{r[12]:.2f}", f"{r[13]:.2f}", f"{r[14]:.2f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
