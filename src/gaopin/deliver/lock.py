"""One delivery run at a time: a lock file beside the store.

`filelock` uses flock on Unix and msvcrt locking on Windows; either way the operating
system releases the lock when the holder dies, so a killed cron run never blocks the
next one. The lock is held from before the sends record is read until the outcome is
written, so two runs started together cannot both decide that something is unsent.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from gaopin.errors import LockedError, os_reason, StoreError
from gaopin.store.db import refuse_unusable_path

# Long enough for a run started a moment later to wait for a report run to finish.
LOCK_TIMEOUT = 10.0
log = logging.getLogger(__name__)


def lock_path(store_path: Path) -> Path:
    store_path = Path(store_path)
    return store_path.with_name(store_path.name + ".lock")


@contextmanager
def delivery_lock(
    store_path: Path, timeout: float = LOCK_TIMEOUT, not_done: str = "本次没有发送任何内容", hint: str = "稍后再运行即可；定时任务请错开时间"
) -> Iterator[Path]:
    """Hold the delivery lock of the store at `store_path`; LockedError after `timeout` seconds,
    saying what was not done (`not_done`: nothing sent, or a person's confirmation not recorded)."""
    from filelock import FileLock, Timeout

    refuse_unusable_path(store_path)  # before the lock file is made beside it (opening the store would refuse it after)
    path = lock_path(store_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"无法创建锁文件所在的文件夹 {path.parent}：{os_reason(exc)}", "请用 --db 或 GAOPIN_DB 换一个可写的位置") from None
    lock = FileLock(str(path), timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        log.warning("delivery lock %s held by another run; gave up after %.0f s", path, timeout)
        raise LockedError(
            f"另一个 gaopin 正在发送（锁文件 {path}），等待 {timeout:.0f} 秒后放弃，{not_done}",
            hint,
        ) from None
    except OSError as exc:
        raise StoreError(f"无法打开锁文件 {path}：{os_reason(exc)}", "请检查该文件夹的写权限") from None
    try:
        yield path
    finally:
        lock.release()
