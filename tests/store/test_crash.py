"""Kill `gaopin import` and `gaopin ledger` at random moments: the store stays whole.

Each run is a real subprocess on a real SQLite file, killed with SIGKILL. Afterwards the
file must pass SQLite's integrity check, every import reported as done before the kill
must be fully present, and no import may be half there.
"""

import csv
import os
import random
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


def test_killed_imports_leave_the_store_whole(exports, tmp_path):
    root, files, ids = exports
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    started = time.monotonic()
    full = subprocess.run(gaopin("import", *map(str, files), "--db", str(tmp_path / "timing.db")), env=env, capture_output=True, text=True)
    assert full.returncode == 0, full.stderr
    duration = time.monotonic() - started
    rnd = random.Random(20241128)
    outcomes = []
    for k in range(KILLS):
        db = tmp_path / f"k{k}.db"
        proc = subprocess.Popen(gaopin("import", *map(str, files), "--db", str(db)), env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        time.sleep(rnd.uniform(0.1, duration))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        reported = [Path(line.split("：")[0]).name for line in out.splitlines() if "：新增" in line]
        if db.exists():
            outcomes.append(check_store(db, reported, ids))
        else:
            assert reported == []
    # The kills landed at different points: before, during and between imports.
    assert len(set(outcomes)) >= 2, outcomes


def test_killed_ledger_refreshes_leave_the_store_whole(exports, tmp_path):
    root, files, ids = exports
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    base = tmp_path / "base.db"
    subprocess.run(gaopin("import", *map(str, files), "--db", str(base)), env=env, check=True, capture_output=True)
    reference = tmp_path / "ref.db"
    reference.write_bytes(base.read_bytes())
    started = time.monotonic()
    subprocess.run(gaopin("ledger", "--month", "8", "--year", "2024", "--today", "2024-08-31", "--db", str(reference)), env=env, check=True, capture_output=True)
    duration = time.monotonic() - started
    ref = sqlite3.connect(reference)
    expected = sorted(ref.execute("SELECT id FROM entries").fetchall()), ref.execute("SELECT stats FROM ledger_cache").fetchone()
    assert expected[0] and expected[1], "the data must produce ledger entries"
    rnd = random.Random(7)
    for k in range(KILLS):
        db = tmp_path / f"l{k}.db"
        db.write_bytes(base.read_bytes())
        proc = subprocess.Popen(gaopin("ledger", "--month", "8", "--year", "2024", "--today", "2024-08-31", "--db", str(db)), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.1, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        got = sorted(conn.execute("SELECT id FROM entries").fetchall()), conn.execute("SELECT stats FROM ledger_cache").fetchone()
        assert got in (([], None), expected), "a refresh must be all or nothing"
        conn.close()
