"""A CSV export read with the standard library and Arrow, never pandas: its first records (where
the header is looked for), one pass over its bytes for quotes and NUL bytes, and Arrow's read of
its body. `readers` makes a CSV's grid of these.

They stand apart so that a command can begin the body's read before it has loaded pandas
(`gaopin.io.ahead`): `arrow_table` takes the table read ahead when it was read with the very
options asked for, from the same unchanged file, and reads the file itself otherwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gaopin.config import LoadSettings
from gaopin.errors import InputError
from gaopin.io import sniff

if TYPE_CHECKING:
    import pyarrow as pa


HEAD_ROWS = 30
# Arrow reads a CSV in blocks of this many bytes, a chunk of each column per block: blocks of a
# few MB parse faster than larger ones (they stay in the CPU's cache).
CSV_BLOCK_BYTES = 4 << 20
# A larger CSV is searched for quotes and NUL bytes in two halves at once (`scan_bytes`).
SCAN_SPLIT_BYTES = 32 << 20


def head_rows(load: LoadSettings) -> int:
    """The rows read first: where the header is looked for, or down to the one configured."""
    return max(HEAD_ROWS, load.header_row)


DELIMITERS = (",", "\t", ";", "|")


def _decode_head(raw: bytes, encoding: str) -> str:
    """Decode the first bytes strictly; a character cut at the end of the sample is left out.

    An incremental decoder holds back an incomplete trailing character instead of failing
    (comparing error offsets would not work for utf-8-sig, whose offsets skip the BOM).
    """
    return codecs.getincrementaldecoder(encoding)(errors="strict").decode(raw, final=False)


def decode_error(path: Path, tried: list[str], raw: bytes | None = None) -> InputError:
    """Name every encoding tried and where in the file each one failed."""
    parts = []
    for enc in tried:
        where = ""
        if raw is not None:
            try:
                raw.decode(enc)
            except UnicodeDecodeError as exc:
                where = f"第 {exc.start} 字节处无法解码"
            except LookupError:
                pass
        parts.append(f"{enc}（{where}）" if where else enc)
    return InputError(
        f"{path} 的编码无法识别（试过 {'、'.join(parts)}）",
        # The setting serves every run (cron too); the flag one command.
        '请在 Excel/WPS 中另存为“CSV UTF-8”或 .xlsx，或在 gaopin.toml 的 [load] 中写明编码，例如 encoding = "gb18030"（也可以在命令后加 --encoding gb18030）',
    )


@dataclass(frozen=True)
class Head:
    """A CSV's first records (`read_head`)."""

    records: list[list[str]]
    line_ends: list[int]  # after each record, the physical lines read so far
    encoding: str  # Python's name: the first of `candidates` that decodes the first bytes
    candidates: list[str]
    delimiter: str
    quoted: bool  # a quote in the first bytes


def read_head(path: Path, load: LoadSettings) -> Head:
    """The first records of a CSV, decoded in the configured encoding or the first that fits.

    Raises InputError for an encoding that cannot be, or is not, the file's, and for a file of
    nothing but blanks."""
    with path.open("rb") as fh:
        raw_head = fh.read(256 * 1024)
        at_end = not fh.read(1)
    if raw_head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif load.encoding:
        candidates = [load.encoding]
    elif bomless := sniff.bomless_utf16(raw_head):
        candidates = [bomless]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    text = None
    encoding = candidates[0]
    for enc in candidates:
        try:
            text = raw_head.decode(enc) if at_end else _decode_head(raw_head, enc)
            encoding = enc
            break
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise InputError(f"不认识的编码名称“{enc}”", "常用编码：utf-8-sig、gb18030、utf-16") from None
    if text is None:
        raise decode_error(path, candidates, raw_head)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError(f"{path} 没有任何内容（只有空白）", "请重新从 12345 系统导出")
    delimiter = sniff_delimiter(text)
    records, line_ends = csv_records(text, delimiter, head_rows(load), complete=at_end)
    return Head(records, line_ends, encoding, candidates, delimiter, '"' in text)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the most records of the head into the same number (>1) of cells.

    Counting characters per line is not enough: a tab-separated export whose content holds
    commas has more commas than tabs on some lines.
    """
    best, best_score = ",", (0, 0)
    for d in DELIMITERS:
        records, _ = csv_records(text, d, HEAD_ROWS, complete=False)
        widths = [len(r) for r in records if len(r) > 1]
        if not widths:
            continue
        common = Counter(widths).most_common(1)[0][0]
        score = (widths.count(common), common)
        if score > best_score:
            best, best_score = d, score
    return best


def csv_records(text: str, delimiter: str, limit: int, complete: bool) -> tuple[list[list[str]], list[int]]:
    """The first records, and after each the number of physical lines read so far."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[list[str]] = []
    ends: list[int] = []
    try:
        for record in reader:
            out.append(record)
            ends.append(reader.line_num)
            if len(out) >= limit:
                break
    except csv.Error:
        pass  # a quote cut off at the end of the sample
    if not complete and len(out) < limit and out:
        out, ends = (out[:-1], ends[:-1]) if len(out) > 1 else (out, ends)  # the last record may be cut
    return out, ends


# Encodings (Python's names for them) in which a quote is always the byte 0x22, so that a file
# without that byte holds no quote: ASCII's own byte in UTF-8 and the GB family (whose other
# bytes are never 0x22 either), one of its two bytes in UTF-16. Others (UTF-7 writes +ACI-,
# EBCDIC 0x7F) are not assumed to.
_QUOTE_AS_BYTE = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "gbk", "gb2312"})


def quote_is_byte(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _QUOTE_AS_BYTE
    except LookupError:
        return False


def scan_bytes(path: Path, nul: bool = True) -> bool:
    """Whether the file holds a quote (0x22) at all (`may_quote_newlines`), in one pass over its
    bytes that also refuses a NUL byte anywhere (`nul`), as sniff refuses one in its first
    bytes: Arrow would read it into a cell and clean would copy it out. One memchr per byte
    sought and megabyte, into one reused buffer (a fifth faster than mapping the whole file).

    A file above SCAN_SPLIT_BYTES is searched in two halves at once, the second in a thread:
    reading leaves the GIL, and the other core is idle until Arrow reads the file (a district
    year's 500 MB: 0.12 s -> 0.07 s). Under `warn`'s read ahead (`gaopin.io.ahead`) Arrow is
    already reading, and the scan shares the cores with it (0.1 s)."""
    size = path.stat().st_size
    found = threading.Event()  # a quote, when no NUL is sought: both halves may stop
    if size <= SCAN_SPLIT_BYTES:
        quote, at = _scan_range(path, 0, None, nul, found)
    else:
        middle = size // 2
        with ThreadPoolExecutor(max_workers=1) as pool:
            later = pool.submit(_scan_range, path, middle, None, nul, found)
            quote, at = _scan_range(path, 0, middle, nul, found)
            quote_later, at_later = later.result()
        quote, at = quote or quote_later, at if at >= 0 else at_later
    if at >= 0:
        _refuse_nul(path, at)  # the first NUL: the first half's, if it has one
    return quote


def _scan_range(path: Path, start: int, end: int | None, nul: bool, found: threading.Event) -> tuple[bool, int]:
    """(a quote in the bytes from `start` to `end` (None: the end of the file), the offset of
    the first NUL byte there or -1): stops at a NUL, and at a quote when no NUL is sought."""
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    quote = False
    offset = start
    with path.open("rb", buffering=0) as fh:
        fh.seek(start)
        while (end is None or offset < end) and not found.is_set():
            size = fh.readinto(view if end is None else view[: min(len(buffer), end - offset)])
            if not size:
                break
            if nul and (at := buffer.find(b"\x00", 0, size)) != -1:
                return quote, offset + at
            if not quote:
                quote = buffer.find(b'"', 0, size) != -1
                if quote and not nul:
                    found.set()
                    break
            offset += size
    return quote, -1


def _refuse_nul(path: Path, at: int) -> None:
    """The error for a NUL byte at offset `at`, with its line."""
    line = 1
    with path.open("rb") as fh:  # only now: count the lines before it
        left = at
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            line += chunk.count(b"\n")
            left -= len(chunk)
    raise sniff.nul_error(path, line)


def may_quote_newlines(path: Path, encoding: str, quoted: bool | None = None) -> bool:
    """Could a quoted value hold a line break? Not if the file has no quote character at all
    (`quoted`: `scan_bytes` of the file, when already known).

    Arrow reads much faster when values cannot span lines, and many exports quote nothing.
    In UTF-8 and GB18030 the byte 0x22 is only ever a quote; other encodings are assumed to quote.
    """
    if encoding not in ("utf-8-sig", "utf-8", "utf8", "gb18030"):
        return True
    return scan_bytes(path, nul=False) if quoted is None else quoted



# --- the body -------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyRead:
    """What Arrow is asked to read of a CSV's body: the columns are named by position ("0", "1", …)."""

    encoding: str  # Python's name
    delimiter: str
    skip_lines: int  # the physical lines above the body (pyarrow skips lines, not records)
    width: int  # the widest record from the header down: every column Arrow will meet
    header_width: int
    wanted: tuple[str, ...]
    include: tuple[str, ...]  # `wanted`, the cells right of the header (reported), and with `multiline` every column
    multiline: bool  # a quoted value may hold a line break

    @property
    def names(self) -> list[str]:
        return [str(i) for i in range(self.width)]

    @property
    def beyond(self) -> list[str]:
        """The columns right of the last header cell: reported, not read."""
        return self.names[self.header_width :]


def body_read(path: Path, head: Head, encoding: str, header_index: int, columns: list[int] | None, quoted: bool | None) -> BodyRead:
    """The read of the body below `header_index` in `encoding`: the columns at `columns` (None:
    every header column). `quoted`: `scan_bytes` of the file, when known."""
    # pyarrow skips physical lines, not records: a quoted title cell may span several.
    skip = head.line_ends[header_index] if header_index < len(head.line_ends) else header_index + 1
    header_width = len(head.records[header_index]) if header_index < len(head.records) else 0
    # Rows above the header (a long 说明 line) do not count: they are never read as data.
    width = max((len(r) for r in head.records[header_index:]), default=0)
    names = [str(i) for i in range(width)]
    wanted = [str(i) for i in range(header_width)] if columns is None else [str(i) for i in columns]
    beyond = names[header_width:]
    include = wanted + [n for n in beyond if n not in wanted]
    multiline = may_quote_newlines(path, encoding, quoted)
    if multiline:
        # A quote left open in a column this command does not need loses records too: every
        # column is read to be looked at (readers._swallowed_records), then only the wanted ones kept.
        include += [n for n in names[:header_width] if n not in include]
    return BodyRead(encoding, head.delimiter, skip, width, header_width, tuple(wanted), tuple(include), multiline)


def arrow_table(path: Path, read: BodyRead) -> pa.Table:
    """Arrow's read of the body (`pyarrow.csv.read_csv`), raising what it raises. The table read
    ahead (`Ahead`) is taken instead when it is this very read of this unchanged file."""
    ahead = _take_ahead()
    if ahead is not None:
        done = ahead.outcome(path, read)
        if done is not None:
            table, error = done
            if error is not None:
                raise error
            return table
    return _read_table(path, read)


def _read_table(path: Path, read: BodyRead) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = read.names
    arrow_encoding = "utf8" if read.encoding in ("utf-8-sig", "utf-8", "utf8") else read.encoding
    return pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=names, skip_rows=read.skip_lines, encoding=arrow_encoding, block_size=CSV_BLOCK_BYTES),
        # Blank lines stay rows (all empty, dropped later) so that row numbers match the file.
        parse_options=pcsv.ParseOptions(delimiter=read.delimiter, newlines_in_values=read.multiline, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(
            # 64-bit offsets, as pandas keeps its text: the columns then go to pandas without a copy.
            column_types={n: pa.large_string() for n in names},
            include_columns=list(read.include),
            # An empty cell, quoted or not, is a blank (null) as it is read: no pass over the frame.
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


# --- reading ahead --------------------------------------------------------------------


def _identity(path: Path) -> tuple[int, int, int, int]:
    """The file as it is now: a file changed (or replaced) since has another."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class Ahead:
    """One CSV's body read ahead, in another thread (`gaopin.io.ahead`), for `arrow_table` to take.

    The thread calls `read` (or not) and then always `end`; `arrow_table` waits for `end`."""

    def __init__(self, path: Path) -> None:
        self.identity = _identity(path)
        self._ended = threading.Event()
        self._read: BodyRead | None = None
        self._table: pa.Table | None = None
        self._error: Exception | None = None

    def read(self, path: Path, read: BodyRead) -> None:
        """Read the body in the calling thread, keeping the table or Arrow's error for the taker."""
        try:
            self._table = _read_table(path, read)
        except Exception as exc:  # noqa: BLE001 - raised again by the reader that takes it
            self._error = exc
        self._read = read

    def end(self) -> None:
        self._ended.set()

    def outcome(self, path: Path, read: BodyRead) -> tuple[pa.Table | None, Exception | None] | None:
        """(table, error) of `read`, once the thread has ended; None when it read something else,
        or nothing, or when the file has changed since it began. Another read is waited for too:
        its table is let go of before the reader reads its own (two tables of a district year at
        once would double the memory)."""
        self._ended.wait()
        try:
            same = self._read == read and _identity(path) == self.identity
        except OSError:
            same = False
        if not same:
            self._table = self._error = None
            return None
        return self._table, self._error


_ahead: Ahead | None = None
_ahead_lock = threading.Lock()


def expect(path: Path) -> Ahead:
    """A new read ahead of `path` (its reader is the caller's to start), replacing any other."""
    global _ahead
    ahead = Ahead(path)
    with _ahead_lock:
        _ahead = ahead
    return ahead


def forget_ahead() -> None:
    """Let go of a read ahead not taken (the command ended before reading the body)."""
    global _ahead
    with _ahead_lock:
        _ahead = None


def _take_ahead() -> Ahead | None:
    """The read ahead, no longer kept here; None when there is none."""
    global _ahead
    with _ahead_lock:
        ahead, _ahead = _ahead, None
    return ahead
