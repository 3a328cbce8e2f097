"""One delivery run at a time, released when the holder dies."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from gaopin.deliver.lock import delivery_lock, lock_path
from gaopin.errors import ExitCode, LockedError
from tests.delivery_data import python_env


def test_a_second_run_gives_up_with_locked(tmp_path):
    store = tmp_path / "g.db"
    with delivery_lock(store, timeout=1):
        started = time.monotonic()
        with pytest.raises(LockedError) as caught:
            with delivery_lock(store, timeout=0.2):
                pass
        assert time.monotonic() - started < 1
    assert caught.value.exit_code == ExitCode.LOCKED
    assert "另一个 gaopin 正在发送" in caught.value.message
    with delivery_lock(store, timeout=0.2):  # released on leaving the block
        pass
    assert lock_path(store).name == "g.db.lock"


def test_the_lock_is_released_when_its_holder_is_killed(tmp_path):
    store = tmp_path / "g.db"
    code = (
        "import sys, time\n"
        "from gaopin.deliver.lock import delivery_lock\n"
        "with delivery_lock(sys.argv[1]):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(store)], stdout=subprocess.PIPE, text=True, env=python_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockedError):
            with delivery_lock(store, timeout=0.2):
                pass
        holder.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no cleanup runs
        holder.wait(10)
        with delivery_lock(store, timeout=5):
            pass
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.stdout.close()


def test_a_confirmation_given_while_a_run_sends_says_it_was_not_recorded(tmp_path):
    """`gaopin sends --confirm 3` during a run said "本次没有发送任何内容": not whether the word was taken."""
    from datetime import datetime

    from gaopin.config import TIMEZONE
    from gaopin.deliver.run import send_records, settle_sends
    from gaopin.deliver.sends import EMAIL, UNKNOWN, WARNING, Item, SendLog
    from gaopin.store import Store

    store, now = tmp_path / "g.db", datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE)
    with Store(store) as s:
        log = SendLog(s.conn)
        [number] = log.begin(EMAIL, [Item(WARNING, "point_day|p|c|2024-08-03")], now)
        log.finish([number], UNKNOWN, now)
    with delivery_lock(store, timeout=1):
        with pytest.raises(LockedError) as caught:
            settle_sends(store, [number], [], clock=lambda: now, lock_timeout=0.2)
    assert caught.value.exit_code == ExitCode.LOCKED
    assert f"本次的确认（编号 {number}）没有记录" in caught.value.message and "没有发送任何内容" not in caught.value.message
    assert "gaopin sends" in caught.value.hint
    assert [r["status"] for r in send_records(store)] == [UNKNOWN]
