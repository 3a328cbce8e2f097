"""Kill `gaopin import` and `gaopin ledger` at moments spread over their work: the store stays whole.

Each run is a real subprocess on a real SQLite file, killed with SIGKILL. Afterwards the
file must pass SQLite's integrity check, every import reported as done before the kill
must be fully present, and no import may be half there.

The kill times follow each run's own progress (a file reported imported, the ledger's rollback
journal appearing and going), not random times within one duration measured beforehand: most of
a run is Python starting up, and runs slower than the measured one (the machine busier by then)
put every kill before the store was written, so that the kills landing in two phases was luck.
"""

import csv
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

ROWS_PER_FILE = 3000
FILES = 4
KILLS = 20


def write_export(path: Path, start: int) -> list[str]:
    ids = []
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["工单编号", "受理时间", "来电人", "来电号码", "小区点位", "问题分类", "村/社区", "是否解决"])
        for i in range(start, start + ROWS_PER_FILE):
            tid = f"K{i:07d}"
            ids.append(tid)
            day = 1 + i % 28
            w.writerow([tid, f"2024-08-{day:02d} {i % 24:02d}:{i % 60:02d}:00", f"居民{i % 50}", f"138{i % 400:08d}", f"小区{i % 300}号楼", "城市管理->市容环境->占道经营", f"社区{i % 19}", "解决"])
    return ids


def gaopin(*args: str) -> list[str]:
    return [sys.executable, "-m", "gaopin", *args]


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    files, ids = [], {}
    for n in range(FILES):
        path = root / f"export{n}.csv"
        ids[path.name] = write_export(path, n * ROWS_PER_FILE)
        files.append(path)
    return root, files, ids


def check_store(db: Path, reported: list[str], ids: dict[str, list[str]]) -> int:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    have = {r[0] for r in conn.execute("SELECT ticket_id FROM tickets")}
    imported = [r[0] for r in conn.execute("SELECT file_name FROM imports ORDER BY id")]
    for name in reported:
        assert name in imported, f"{name} was reported imported but is missing"
    for name, file_ids in ids.items():
        present = sum(1 for t in file_ids if t in have)
        assert present in (0, len(file_ids)), f"{name} is half imported ({present} of {len(file_ids)})"
        assert (present == len(file_ids)) == (name in imported)
    conn.close()
    return len(imported)


def spread(kills: int, phases: int) -> list[tuple[int, float]]:
    """(phase, fraction of it) for each kill: the phases in turn, each at evenly spread fractions."""
    per_phase = math.ceil(kills / phases)
    return [(k % phases, (k // phases + 0.5) / per_phase) for k in range(kills)]


def reported_lines(proc: subprocess.Popen, count: int) -> list[str]:
    """The lines a run prints until `count` files are reported imported (fewer if it ends first)."""
    lines: list[str] = []
    while sum("：新增" in line for line in lines) < count:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    return lines


def test_killed_imports_leave_the_store_whole(exports, tmp_path):
    root, files, ids = exports
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    args = gaopin("import", *map(str, files), "--db", str(tmp_path / "timing.db"))
    # Phase j (0…FILES): after the j-th file is reported imported, until the next is (or the run
    # ends); phase 0 begins at the start. Their lengths from a full run; each kill waits for its
    # phase in its own run, then for its fraction of the phase's length.
    started = time.monotonic()
    full = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks = [0.0]
    for _ in range(FILES):
        assert reported_lines(full, 1), "the full run must report every file"
        marks.append(time.monotonic() - started)
    _, err = full.communicate()
    assert full.returncode == 0, err
    marks.append(time.monotonic() - started)
    outcomes = []
    for k, (phase, fraction) in enumerate(spread(KILLS, FILES + 1)):
        db = tmp_path / f"k{k}.db"
        proc = subprocess.Popen(gaopin("import", *map(str, files), "--db", str(db)), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        before = reported_lines(proc, phase)
        time.sleep(fraction * (marks[phase + 1] - marks[phase]))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        reported = [Path(line.split("：")[0]).name for line in [*before, *out.splitlines()] if "：新增" in line]
        if db.exists():
            outcomes.append(check_store(db, reported, ids))
        else:
            assert reported == []
    # The kills landed at different points: before, during and between imports.
    assert len(set(outcomes)) >= 2, outcomes


def journal_times(proc: subprocess.Popen, journal: Path, until: str | None = None) -> tuple[float | None, float | None]:
    """When (from now) a run's rollback journal appeared and went: its write transaction. Watched
    until the run ends, or `until` ("written": the journal appeared; "committed": it went)."""
    started = time.monotonic()
    appeared = gone = None
    while proc.poll() is None:
        there = journal.exists()
        if appeared is None and there:
            appeared = time.monotonic() - started
            if until == "written":
                break
        elif appeared is not None and gone is None and not there:
            gone = time.monotonic() - started
            if until == "committed":
                break
        time.sleep(0.0005)
    return appeared, gone


def test_killed_ledger_refreshes_leave_the_store_whole(exports, tmp_path):
    root, files, ids = exports
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    base = tmp_path / "base.db"
    subprocess.run(gaopin("import", *map(str, files), "--db", str(base)), env=env, check=True, capture_output=True)
    reference = tmp_path / "ref.db"
    args = gaopin("ledger", "--month", "8", "--year", "2024", "--today", "2024-08-31", "--db", str(reference))
    # Phases: before the refresh writes (its journal appears), while it writes, after it commits
    # (the journal goes, in the rollback-journal mode the store uses); their lengths from a full run.
    for _ in range(3):  # the write takes some 20 ms: a loaded machine may let the watcher miss it
        reference.write_bytes(base.read_bytes())
        full = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = time.monotonic()
        appeared, gone = journal_times(full, Path(f"{reference}-journal"))
        assert full.wait() == 0
        duration = time.monotonic() - started
        if appeared is not None and gone is not None:
            break
    else:
        pytest.fail("the refresh's write transaction (its rollback journal) was never seen")
    lengths = [appeared, gone - appeared, duration - gone]
    ref = sqlite3.connect(reference)
    expected = sorted(ref.execute("SELECT id FROM entries").fetchall()), ref.execute("SELECT stats FROM ledger_cache").fetchone()
    assert expected[0] and expected[1], "the data must produce ledger entries"
    outcomes = []
    for k, (phase, fraction) in enumerate(spread(KILLS, len(lengths))):
        db = tmp_path / f"l{k}.db"
        db.write_bytes(base.read_bytes())
        proc = subprocess.Popen(gaopin("ledger", "--month", "8", "--year", "2024", "--today", "2024-08-31", "--db", str(db)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if phase:
            journal_times(proc, Path(f"{db}-journal"), until=("written", "committed")[phase - 1])
        time.sleep(fraction * lengths[phase])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = sorted(conn.execute("SELECT id FROM entries").fetchall()), conn.execute("SELECT stats FROM ledger_cache").fetchone()
        assert got in (([], None), expected), "a refresh must be all or nothing"
        outcomes.append(got == expected)
        conn.close()
    # Kills before the write left nothing, kills after the commit the whole ledger.
    assert set(outcomes) == {False, True}, outcomes
