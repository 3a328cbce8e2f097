"""The log file: configured here, once per command, from [log]; the library only logs.

- rotating (`[log] max_bytes`, `backups`), at `[log] file` or the user log directory;
- created readable by its owner only (0600), rotated files too;
- times in Beijing time with the offset, whatever TZ the machine or cron has;
- every line passes through the phone mask; passwords are never given to the logger.

A log that cannot be opened is reported once on stderr and the command carries on:
losing the log must not stop the warnings from going out.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from gaopin.config import TIMEZONE, LogSettings, Settings, log_path
from gaopin.errors import os_reason
from gaopin.privacy import mask_phones_in_text

LOGGER = "gaopin"
FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A RotatingFileHandler whose files are created with mode 0600."""

    def _open(self):  # noqa: ANN202 - the base class's hook
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


# A Message-ID (<hex…@gaopin.notify>) is made by gaopin and holds no one's number; its digit runs
# looked like one, and a masked id could no longer be found in `gaopin sends`.
_MESSAGE_ID = re.compile(r"(<[^<>\s@]+@[^<>\s@]+>)")


class MaskPhones(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line (or raise)
            message = f"{record.msg} {record.args}"
        parts = _MESSAGE_ID.split(message)
        record.msg = "".join(part if i % 2 else mask_phones_in_text(part) for i, part in enumerate(parts))
        record.args = None
        return True


class BeijingFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return datetime.fromtimestamp(record.created, TIMEZONE).isoformat(timespec="milliseconds")


_handler: logging.Handler | None = None


def configure(settings: Settings | None) -> Path | None:
    """Point the "gaopin" logger at the settings' log file (replacing an earlier handler)."""
    global _handler
    logger = logging.getLogger(LOGGER)
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler.close()
        _handler = None
    log = settings.log if settings is not None else LogSettings()
    path = log_path(settings) if settings is not None else log_path(Settings())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = PrivateRotatingFileHandler(path, maxBytes=max(log.max_bytes, 0), backupCount=max(log.backups, 0), encoding="utf-8")
    except OSError as exc:
        print(f"警告：无法写日志文件 {path}（{os_reason(exc)}），本次运行不记日志。请检查 [log] file。", file=sys.stderr)
        return None
    handler.setFormatter(BeijingFormatter(FORMAT))
    handler.addFilter(MaskPhones())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    _handler = handler
    return path


def log_error(exc: BaseException) -> None:
    from gaopin.errors import GaopinError

    if not _ready():
        return
    logger = logging.getLogger(f"{LOGGER}.cli")
    if isinstance(exc, GaopinError):
        logger.error("exit %d: %s", int(exc.exit_code), exc)
    else:
        logger.error("internal error: %s: %s", type(exc).__name__, str(exc)[:500])


def _ready() -> bool:
    """A log to write to. An error before the settings were read (a missing --month, an existing
    file for `init`) goes to the default log; without a handler, logging's last resort would
    print the line, unmasked, above the command's own 错误/提示 lines."""
    return _handler is not None or configure(None) is not None


def log_interrupted(command: str, code: int, how: str) -> None:
    if not _ready():
        return
    logging.getLogger(f"{LOGGER}.cli").warning("gaopin %s interrupted (%s), exit %d", command, how, int(code))


def log_done(command: str, code: int) -> None:
    logging.getLogger(f"{LOGGER}.cli").info("gaopin %s finished, exit %d", command, code)
