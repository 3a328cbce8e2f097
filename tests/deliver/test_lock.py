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
