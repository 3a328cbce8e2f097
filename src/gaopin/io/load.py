"""The loader: one or more exports in, one canonical ticket table out.

Nothing is dropped silently: a row without a ticket id is *rejected* with its reason,
a date that cannot be read leaves the row in place with an empty time and is counted,
and every oddity is a `Problem` that `gaopin inspect` shows.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gaopin.config import Settings
from gaopin.errors import InputError
from gaopin.io import canonical as conv, csvfile
from gaopin.io.bulk import collector_paused
from gaopin.io.dates import DTYPE, parse_datetimes
from gaopin.io.header import LEVEL_NAMES, ColumnMap, Header, Mapping, choose_columns, find_header, map_columns, names_ticket_id, validate_columns_config
from gaopin.io.readers import Body, Grid, read
from gaopin.io.sniff import CSV, HTML
from gaopin.privacy import mask_phones_in_text
from gaopin.schema import CANONICAL_COLUMNS, DATETIME_FIELDS as TIME_FIELDS, DISPATCH_CLASS, FIELD_BY_NAME, FIELDS, label

MAX_DETAILS = 200  # problems listed one by one per kind and file; all are counted
# Rows converted at a time when a load streams its tickets to a sink (the store's insert).
STREAM_ROWS = 1 << 17
_WORKERS = min(4, os.cpu_count() or 1)
FILE_COL, ROW_COL = "_file", "_row"  # the source (file, or sheet of a workbook) a ticket came from, and its row
# Plain text fields; the ticket id is text too but has its own conversion (NFKC, corruption check).
TEXT_FIELDS = tuple(f.name for f in FIELDS if f.kind == "text" and f.name != "ticket_id")
FREE_TEXT = ("title", "content")  # shown, never matched
# A line under the table (合计, 制表人：张三 138…, 说明) read as a row: its first cell is a
# label, not a ticket id; no 12345 id starts with a Chinese word. Matched on the id without its
# blanks (合  计, 合　计), after any opening bracket (（合计）); NFKC has made （ and ： ASCII.
FOOTER_ID = (
    r"^[(\[【〔〈《]*(合计|总计|小计|共计|累计|本页|制表|填表|填报|审核|统计|说明|备注|注:|数据来源|导出时间|打印"
    r"|经办|负责人|单位\(?盖章|盖章|以上共|日期:"
    # Page and count lines, sign-offs and contacts under a table, and the traditional forms.
    r"|共\d+(?:条|件|行|张|页)|第\d+页|页码|以下空白|以下无|制单|审批|导出人|联系人|联系电话|电话:|合計|總計|小計"
    # What exports print above or below the rows: counts, dates, query conditions.
    r"|汇总|总件数|总数|记录数|数据截止|截止时间|截止日期|导出日期|查询条件|查询时间|统计时间|统计日期|生成时间)"
    # A page's title repeated where pages were pasted together: 新村街道工单明细(第2页).
    r"|第\d+页"
)
_BLANKS = r"[\s\p{Z}]+"
REJECTED_NO_ID = "缺少工单编号"
REJECTED_FOOTER = "不是工单：表格下方的合计、制表人或说明行"
# No ticket id is without a digit: a placeholder typed by hand (/, 无, —), a header row repeated
# where pages were pasted together (工单编号), a label (Total).
REJECTED_NOT_ID = "不是编号（没有数字）：手工补的占位符（/、无）、分页处重复的表头或说明行不是工单"
# 2.02401E+12: what Excel shows a long number as, and writes when it saves a CSV it opened.
REJECTED_SCIENTIFIC = "是科学计数法，位数已丢失，不能作为编号：CSV 文件用 Excel 打开后又保存过就会这样，请改用系统导出的原始文件"
CHOICE_FIELDS = tuple(f.name for f in FIELDS if f.kind in ("yesno", "resolved", "satisfied"))


# What each kind of problem is called where staff read it (inspect's table); JSON keeps the kind.
PROBLEM_LABELS = {
    "date": "读不出的日期",
    "phone": "可疑号码",
    "value": "认不出的取值",
    "duplicate": "重复的工单编号",
    "rejected": "拒收的行",
    "formula": "没有计算结果的公式",
    "extra_cells": "多出的单元格",
    "config": "配置",
    "id": "工单编号",
}


@dataclass
class Problem:
    kind: str  # a key of PROBLEM_LABELS
    message: str
    file: str = ""
    row: int | None = None
    field: str | None = None
    value: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SourceInfo:
    path: str
    kind: str
    sheet: str | None
    encoding: str | None
    header_row: int  # 1-based
    columns: list[ColumnMap]
    rows: int = 0  # non-blank data rows
    tickets: int = 0  # rows kept (not rejected)
    formulas_without_value: int = 0
    header_rows: int = 1  # 2 for a grouped header over two rows
    name: str = ""  # as problems name it: the path, with the sheet when a workbook gave several

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "kind": self.kind,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "header_rows": self.header_rows,
            "rows": self.rows,
            "tickets": self.tickets,
            "columns": [
                {"position": c.position + 1, "header": c.header, "field": c.field, "note": c.note}
                for c in self.columns
                if c.header
            ],
        }


@dataclass
class LoadResult:
    frame: pd.DataFrame
    sources: list[SourceInfo]
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)  # problems per kind, including those not listed
    rejected: list[Problem] = field(default_factory=list)  # every rejected row, never capped
    fields: frozenset[str] = frozenset()
    extra_columns: tuple[str, ...] = ()
    sheet_notes: list[str] = field(default_factory=list)  # which sheets of a workbook were read, which not and why
    merged: int = 0  # rows merged into an earlier row (or file) with the same ticket id

    def has(self, name: str) -> bool:
        return name in self.fields

    @property
    def rows_read(self) -> int:
        return sum(s.rows for s in self.sources)

    def received_by(self, day: date) -> "LoadResult":
        """The tickets as they stood on `day`: those received later left out (undated ones kept).
        Itself when none is later."""
        received = self.frame["received_at"]
        later = (received >= pd.Timestamp(day) + pd.Timedelta(days=1)).to_numpy()
        if not later.any():
            return self
        return dataclasses.replace(self, frame=self.frame[~later].reset_index(drop=True))

    def empty_note(self) -> str | None:
        """Which files, or sheets of a workbook, held a header and no tickets (None: none)."""
        empty = [Path(s.name or s.path).name for s in self.sources if s.rows == 0]
        return empty_files_note(empty) if empty else None

    def notes(self) -> list[str]:
        """What a command that only shows results (warn, report) must still say about the input:
        rows left out, and formulas that read as empty."""
        out = list(self.sheet_notes)
        if (empty := self.empty_note()) is not None:
            out.append(empty)
        if self.rejected:
            reasons = sorted({_reject_kind(p) for p in self.rejected})
            out.append(f"{len(self.rejected)} 行被拒收（{'、'.join(reasons)}），没有计入；用 gaopin inspect 查看是哪些行。")
        if self.merged:
            out.append(f"合并重复编号 {self.merged} 行：这些行的工单编号与别的行相同，与之合并为一张工单（靠后的逐项覆盖，空值不覆盖）；用 gaopin inspect 查看是哪些编号。")
        return out + self.input_notes()

    def input_notes(self) -> list[str]:
        """What the cells themselves make doubtful (`import` says the rows rejected and merged
        itself): answers not recognised, formulas without results, rows wider than the header."""
        out = []
        if self.counts.get("extra_cells"):
            # Most often a comma inside a CSV cell without quotes: the row's later cells move one
            # column to the right, and its answers are read from the wrong columns.
            out.append(
                f"有 {self.counts['extra_cells']} 行比表头多出单元格（多半是内容里有没加引号的逗号），这些行后面几栏的值可能错位，"
                "是否解决、是否满意等可能读错；用 gaopin inspect 查看是哪些行，改正后重新导出。"
            )
        if self.counts.get("value"):
            # An answer that cannot be read is kept as typed: it is no 否 or 不满意 to the rules.
            # 是否有效回访 is counted only when it says 是: an unreadable one is no valid callback.
            out.append(f"有 {self.counts['value']} 个是否解决、是否满意等栏的取值无法识别，按原样保留，不算作“否”或“不满意”（是否有效回访无法识别的不算有效回访）；用 gaopin inspect 查看。")
        if self.counts.get("formula"):
            out.append(f"有 {self.counts['formula']} 个公式单元格没有计算结果，读出来是空的；请在 Excel/WPS 中打开并保存一次。")
        return out


def empty_files_note(names: list[str]) -> str:
    # Not an error (a quiet day exports nothing), but "no warnings" or "新增 0" must not read as
    # a checked all-clear when the export itself was empty.
    return f"{'、'.join(names)} 中没有工单（表头下面是空的）；如不应为空，请检查导出时选的日期范围。"


class _Log:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.counts: Counter = Counter()
        self._listed: Counter = Counter()

    def add(self, problem: Problem, count: int = 1) -> None:
        self.counts[problem.kind] += count
        key = (problem.kind, problem.file)
        if self._listed[key] < MAX_DETAILS:
            self._listed[key] += 1
            self.problems.append(problem)


def load(
    paths: Iterable[str | os.PathLike[str]],
    settings: Settings,
    fields: Iterable[str] | None = None,
    keep_extra: bool = False,
    progress: Callable[[str], None] | None = None,
    sink: Callable[[pd.DataFrame], None] | None = None,
    strict: bool = True,
) -> LoadResult:
    """Read exports in command-line order; the same ticket in a later file wins field by field.

    `fields` limits reading to the canonical fields a command needs (ids and times are
    always read); `keep_extra` keeps the unmapped source columns too.

    `sink` (one file only) is handed the tickets part by part while the rest are still being
    converted, when that is safe: when the file is one table (not several sheets of a workbook)
    and no kept ticket id repeats in it (rejected rows do not count), so that nothing is merged. The parts, in order, are then exactly the result's
    frame; otherwise the sink is never called. Either way the result is the same.

    A file with 受理时间 values none of which can be read is an InputError: the commands
    that count would otherwise report nothing to warn of. `strict=False` (inspect, whose job
    is to show what is wrong) lists it as a problem instead.
    """
    with collector_paused():
        try:
            return _load(paths, settings, fields, keep_extra, progress, sink, strict)
        finally:
            csvfile.forget_ahead()  # not taken when the load ended before the body (an error)


def _load(
    paths: Iterable[str | os.PathLike[str]],
    settings: Settings,
    fields: Iterable[str] | None,
    keep_extra: bool,
    progress: Callable[[str], None] | None,
    sink: Callable[[pd.DataFrame], None] | None = None,
    strict: bool = True,
) -> LoadResult:
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("没有给出要读取的文件", "请在命令后写上导出文件的路径，例如 gaopin warn 工单.xlsx")
    if sink is not None and len(paths) != 1:
        raise ValueError("a sink takes the tickets of one file")
    validate_columns_config(settings.columns)
    log = _Log()
    frames: list[pd.DataFrame] = []
    sources: list[SourceInfo] = []
    rejected: list[Problem] = []
    present: set[str] = set()
    extras: list[str] = []
    sheet_notes: list[str] = []
    streamed = False
    for path in paths:
        if progress:
            progress(f"读取 {path.name}")
        grids = read(path, settings.load, settings.limits, settings.columns)
        tables, note = _tables(grids, settings, path)
        if note:
            sheet_notes.append(note)
        formulas = sum(g.formulas_without_value for g in grids)  # the workbook's, counted once
        for grid, header, mapping in tables:
            # The sheets of one workbook are read as if each were a file of its own.
            source = f"{path}［{grid.sheet}］" if len(tables) > 1 else str(path)
            index = len(sources)
            info = SourceInfo(str(path), grid.kind, grid.sheet, grid.encoding, header.index + 1, mapping.columns, header_rows=header.rows, name=source)
            info.formulas_without_value, formulas = formulas, 0
            _check_configured(settings, mapping, source, log)
            choice = choose_columns(mapping, fields, keep_extra, settings.filters.exclude)
            positions, label_at = choice.positions, choice.label_at
            body = grid.body(header.last, choice.columns)
            info.encoding = grid.encoding  # reading the body may have found a later non-UTF-8 byte
            # Text kinds: every cell is text. They have no text cells to mark an id as text (exports
            # write ="GD2024…" to keep Excel from reading a number), and no date cells.
            text_kind = grid.kind in (CSV, HTML)
            if text_kind and not body.quote_free:
                for column in body.frame.columns:
                    cells = body.frame[column]
                    unwrapped = conv.unwrap_excel_text(cells)
                    if unwrapped is not cells:
                        body.frame[column] = unwrapped
            # Streamed only when the file is one table: the sheets' tickets are merged after.
            part_sink = sink if len(tables) == 1 else None
            # [load] date_format comes before the ISO forms where no cell is a date cell: in a CSV
            # or an HTML table, and in a workbook's time columns of text only (a real date cell
            # reaches the parser as ISO text, which only the ISO passes may read).
            format_first = frozenset(name for name in TIME_FIELDS if text_kind or positions.get(name) in body.text_only)
            frame, file_rejected, streamed = _to_canonical(
                body, mapping, positions, index, source, settings, log, part_sink, strict, len(tables) > 1, format_first, label_at
            )
            if info.formulas_without_value:
                log.add(
                    Problem(
                        "formula",
                        f"有 {info.formulas_without_value} 个公式单元格没有计算结果，读出来是空的；"
                        "请在 Excel/WPS 中打开并保存一次再导入",
                        file=source,
                    ),
                    info.formulas_without_value,
                )
            info.rows = len(frame) + len(file_rejected)
            info.tickets = len(frame)
            sources.append(info)
            rejected.extend(file_rejected)
            if file_rejected:  # no "rejected 0" among the problem counts
                log.counts["rejected"] += len(file_rejected)
            present.update(n for n in CANONICAL_COLUMNS if n in frame.columns and n in _mapped_fields(mapping))
            extras.extend(c for c in unmapped_columns(frame) if c not in extras)
            frames.append(frame)
    if streamed:
        combined = frames[0]  # finished part by part, and no id repeats
    else:
        combined = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        combined = _with_dispatch_class(_merge_duplicates(_ensure_columns(combined, extras), [s.name for s in sources], log))
    if "dispatch" in present:
        present.add(DISPATCH_CLASS)
    return LoadResult(
        frame=combined,
        sources=sources,
        problems=log.problems,
        counts=log.counts,
        rejected=rejected,
        fields=frozenset(present),
        extra_columns=tuple(extras),
        sheet_notes=sheet_notes,
        merged=sum(s.tickets for s in sources) - len(combined),
    )


def _mapped_fields(mapping: Mapping) -> set[str]:
    names = set(mapping.fields)
    if mapping.has_category:
        names.add("category")
    if "dispatch" in names:
        names.add(DISPATCH_CLASS)
    return names


def _check_configured(settings: Settings, mapping: Mapping, source: str, log: _Log) -> None:
    for name, value in settings.columns.items():
        targets = LEVEL_NAMES if name == "category" and isinstance(value, list) else (name,)
        if not any(t in mapping.fields for t in targets):
            log.add(Problem("config", f"[columns] 中 {name} = {value!r} 在文件里没有找到对应的表头", file=source, field=name))


@dataclass
class _Converted:
    """What the column conversions made of some rows, and what they found."""

    times: dict[str, tuple[pd.Series, pd.Series, pd.Series]]  # (tidied text, datetimes, failed)
    phone: tuple[pd.Series, dict[str, str]] | None
    choices: dict[str, tuple[pd.Series, list[str]]]
    category: pd.Series | None
    texts: dict[str, pd.Series]


def _convert(
    raw: pd.DataFrame, positions: dict[str, int], settings: Settings, pool: ThreadPoolExecutor, format_first: frozenset[str] = frozenset(), whole: bool = True
) -> _Converted:
    """Every column but the id converted, side by side (Arrow and numpy work outside the GIL);
    `format_first`: the time fields whose [load] date_format is tried before the ISO forms.

    `whole`: the rows are the file's, not a part streamed into the store. The converted text
    columns are then made one Arrow chunk each, in their threads: a CSV is read in a hundred
    blocks, and the rules take rows from the same columns again and again (a district year's
    `warn`: about 0.4 s). A part goes into SQLite as it is: joining its chunks would only cost."""

    def col(name: str) -> pd.Series | None:
        pos = positions.get(name)
        return None if pos is None else raw[str(pos)]

    def submit(convert: Callable, *args, **kwargs) -> Future:
        return pool.submit(_in_one_chunk, convert, *args, **kwargs) if whole else pool.submit(convert, *args, **kwargs)

    time_jobs = {name: pool.submit(_times, s, settings.load.date_format, name in format_first) for name in TIME_FIELDS if (s := col(name)) is not None}
    phone = col("caller_phone")
    phone_job = submit(conv.phone_column, phone) if phone is not None else None
    choice_jobs = {name: submit(conv.choice_column, s, FIELD_BY_NAME[name].kind) for name in CHOICE_FIELDS if (s := col(name)) is not None}
    category_job = submit(conv.category_column, col("category"), [col(level) for level in LEVEL_NAMES])
    text_jobs = {name: submit(conv.text_column, s, zero_width=name not in FREE_TEXT) for name in TEXT_FIELDS if (s := col(name)) is not None}
    extra_jobs = {
        name: submit(conv.text_column, raw[str(pos)], zero_width=False)
        for name, pos in positions.items()
        if name not in FIELD_BY_NAME and name not in LEVEL_NAMES
    }
    return _Converted(
        times={name: job.result() for name, job in time_jobs.items()},
        phone=phone_job.result() if phone_job is not None else None,
        choices={name: job.result() for name, job in choice_jobs.items()},
        category=category_job.result(),
        texts={name: job.result() for name, job in [*text_jobs.items(), *extra_jobs.items()]},
    )


def _in_one_chunk(convert: Callable, *args, **kwargs):
    """What `convert` gives, its text column (all of it, or the first of a tuple) in one chunk."""
    out = convert(*args, **kwargs)
    if isinstance(out, tuple):
        return (conv.one_chunk(out[0]), *out[1:])
    return conv.one_chunk(out) if out is not None else None


@dataclass
class _Findings:
    """What the conversions of a file's rows found, to be logged: each time column's tidied text
    and failed mask, the suspicious phones, and each choice column's unknown values."""

    times: dict[str, tuple[pd.Series, pd.Series]]
    phones: dict[str, str]
    unknown: dict[str, list[str]]


def _findings(parts: list[_Converted]) -> _Findings:
    """What converting the whole columns would have found, from the conversions of consecutive
    row ranges."""

    def joined(series: list[pd.Series]) -> pd.Series:
        return series[0] if len(series) == 1 else pd.concat(series)

    first = parts[0]
    return _Findings(
        times={name: (joined([p.times[name][0] for p in parts]), joined([p.times[name][2] for p in parts])) for name in first.times},
        phones=conv.joined_phone_problems([p.phone[1] for p in parts]) if first.phone is not None else {},
        # In order of first appearance, as one conversion lists them.
        unknown={name: list(dict.fromkeys(v for p in parts for v in p.choices[name][1])) for name in first.choices},
    )


def _frame(ids: pd.Series, rows: pd.Series, bad: np.ndarray, converted: _Converted, file_index: int) -> pd.DataFrame:
    """The canonical tickets of these rows (the rejected ones left out), numbered from 0."""
    index = ids.index
    out: dict[str, pd.Series] = {"ticket_id": ids}
    for name in ("received_at", "closed_at"):
        out[name] = converted.times[name][1] if name in converted.times else pd.Series(pd.NaT, index=index, dtype=DTYPE)
    if converted.phone is not None:
        out["caller_phone"] = converted.phone[0]
    for name, (values, _) in converted.choices.items():
        out[name] = values
    if converted.category is not None:
        out["category"] = converted.category
    out.update(converted.texts)
    frame = pd.DataFrame(out, index=index)
    frame[FILE_COL] = file_index
    frame[ROW_COL] = rows.astype("int64").to_numpy() if len(index) else pd.Series([], dtype="int64")
    if not bad.any():
        return frame.reset_index(drop=True)
    return frame[~bad].reset_index(drop=True)


def _to_canonical(
    body: Body,
    mapping: Mapping,
    positions: dict[str, int],
    file_index: int,
    source: str,
    settings: Settings,
    log: _Log,
    sink: Callable[[pd.DataFrame], None] | None = None,
    strict: bool = True,
    one_of_sheets: bool = False,
    format_first: frozenset[str] = frozenset(),
    label_at: int | None = None,
) -> tuple[pd.DataFrame, list[Problem], bool]:
    """(canonical tickets, rejected rows, streamed). `one_of_sheets`: the rows are one sheet of
    several read from a workbook. `label_at`: the table's first column (header.choose_columns),
    read for the rows without an id.

    With a `sink`, and when no kept ticket id repeats in the file (nothing to merge), the
    tickets are converted STREAM_ROWS at a time and each part goes to the sink, finished, as
    soon as it is made: the store inserts one part while the next is converted. The parts together are exactly
    what converting the whole columns at once gives; what is found is logged afterwards from all
    of them, in the order of converting the columns one by one.
    """
    raw = body.frame
    rows = body.row_numbers.reset_index(drop=True)
    raw = raw.reset_index(drop=True)
    for number, message in body.problems:
        log.add(Problem("extra_cells", message, file=source, row=number))
    # Blank rows (every cell empty) are not tickets.
    if len(raw.columns):
        # A row whose cells are all blank or whitespace is not a ticket. Most rows have a first
        # cell: the other columns are looked at only for the rows still blank.
        nonblank = np.zeros(len(raw), dtype=bool)
        blank = np.arange(len(raw))
        # The first column read only for its labels does not make a row: a row with nothing but
        # its 序号 (or 合计) was skipped as blank before it was read, and still is.
        read = set(map(str, positions.values()))
        for c in (c for c in raw.columns if c in read):
            if not len(blank):
                break
            found = conv.has_text(raw[c] if len(blank) == len(raw) else raw[c].iloc[blank])
            nonblank[blank[found]] = True
            blank = blank[~found]
        nonblank = pd.Series(nonblank, index=raw.index)
    else:
        nonblank = pd.Series(False, index=raw.index)
    if not nonblank.all():  # filtering copies every column: only when some row is blank
        raw = raw[nonblank].reset_index(drop=True)
        rows = rows[nonblank.to_numpy()].reset_index(drop=True) if len(rows) else rows
    body_index = pd.Series(nonblank.to_numpy().nonzero()[0])
    n = len(raw)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        # The ids first, for the whole file: which rows are rejected, and whether any id repeats,
        # must be known before a part is finished.
        ids_job = pool.submit(_in_one_chunk, conv.id_column, raw[str(positions["ticket_id"])])

        def fates() -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            """(ids, what a rejected row shows: its id or its footer label, no id, footer, not an
            id, rejected)."""
            ids, corrupted = ids_job.result()
            imprecise_rows = set(body.imprecise.get(positions["ticket_id"], []))
            if imprecise_rows:
                corrupted = corrupted | body_index.isin(imprecise_rows).to_numpy()
            no_id = ids.isna().to_numpy()
            footer, not_id = _footers(ids)
            shown = ids
            if label_at is not None and no_id.any():
                # 合计 in the 序号 column beside a blank 工单编号 cell: a footer, not a ticket
                # that lost its id.
                at = np.flatnonzero(no_id)
                labels = conv.id_column(raw[str(label_at)].iloc[at])[0]
                under = _footer_labels(labels)[0]
                if under.any():
                    shown = ids.copy()
                    shown.iloc[at[under]] = labels.iloc[under].to_numpy()
                    footer[at[under]] = True
                    no_id = no_id & ~footer
            return ids, shown, no_id, footer, not_id, no_id | footer | not_id | corrupted.to_numpy()

        streamed = False
        if sink is not None and n:
            ids, shown, no_id, footer, not_id, bad = fates()
            streamed = not _repeats(ids[~bad] if bad.any() else ids)
        step = STREAM_ROWS if streamed else max(n, 1)
        parts: list[_Converted] = []
        frames: list[pd.DataFrame] = []
        for start in range(0, max(n, 1), step):
            part = raw if step >= n else raw.iloc[start : start + step]
            converted = _convert(part, positions, settings, pool, format_first, whole=not streamed)
            parts.append(converted)
            if streamed:
                at = slice(start, start + len(part))
                finished = _finished(_frame(ids.iloc[at], rows.iloc[at], bad[at], converted, file_index))
                sink(finished)
                frames.append(finished)
        if sink is None or not n:
            ids, shown, no_id, footer, not_id, bad = fates()
    found = _findings(parts)

    # A rejected row (合计 2) is reported once, as rejected: its cells are not tickets' times.
    times = {name: (text[~bad], failed[~bad]) for name, (text, failed) in found.times.items()} if bad.any() else found.times
    # Every id blank, footers under an id-less table too: the ids may be in another column.
    if n and ids.isna().all():
        _check_filled("ticket_id", mapping, source, log, strict)
    if "received_at" in times:
        if n and not times["received_at"][0].notna().any() and not bad.all():
            _check_filled("received_at", mapping, source, log, strict)
        _check_some_time_read(*times["received_at"], mapping, source, settings, log, strict, one_of_sheets)
    for name, (text, failed) in times.items():
        if failed.any():
            hit = failed[failed].index
            for i in hit[:MAX_DETAILS]:
                log.add(Problem("date", f"{label(name)}无法识别", file=source, row=int(rows[i]), field=name, value=str(text[i])))
            if len(hit) > MAX_DETAILS:
                log.counts["date"] += len(hit) - MAX_DETAILS
    # Nor are its other cells tickets' phones or answers (合计 行's 200件 in 是否有效回访).
    kept = ~bad
    if found.phones:
        raw_phones = conv.text_column(raw[str(positions["caller_phone"])])
        for value, why in found.phones.items():
            hits = raw_phones.index[(raw_phones == value).to_numpy() & kept]
            if not len(hits):
                continue
            log.add(
                Problem("phone", f"可疑号码（{why}），共 {len(hits)} 行", file=source, row=int(rows[hits[0]]), field="caller_phone", value=value),
                len(hits),
            )
    for name, unknown in found.unknown.items():
        raw_choices = conv.text_column(raw[str(positions[name])]) if unknown else None
        for value in unknown:
            # Match on the raw text: the kept value is tidied and may differ from it.
            hits = raw_choices.index[(raw_choices == value).to_numpy() & kept]
            if not len(hits):
                continue
            log.add(
                Problem("value", f"{label(name)}的取值“{value}”无法识别，已原样保留（共 {len(hits)} 行）", file=source, row=int(rows[hits[0]]), field=name, value=value),
                len(hits),
            )
    rejected = []
    for i in np.flatnonzero(bad).tolist():
        field = "ticket_id"
        if no_id[i]:
            reason, value = REJECTED_NO_ID, None
        elif footer[i]:
            # No field: the cell is a label (制表人：张三 138…), masked where shown like any text.
            reason, value, field = REJECTED_FOOTER, str(shown[i]), None
        elif not_id[i]:
            reason, value = f"工单编号“{ids[i]}”{REJECTED_NOT_ID}", str(ids[i])
        else:
            value = str(ids[i])
            if conv.SCIENTIFIC_ID.match(value):
                reason = f"工单编号“{value}”{REJECTED_SCIENTIFIC}"
            else:
                reason = f"工单编号“{value}”被存成了数字，超过 15 位后已失真，不能作为编号"
        rejected.append(Problem("rejected", reason, file=source, row=int(rows[i]), field=field, value=value))
    if streamed:
        return (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]), rejected, True
    return _frame(ids, rows, bad, parts[0], file_index), rejected, False


def _check_filled(name: str, mapping: Mapping, source: str, log: _Log, strict: bool) -> None:
    """A required column blank in every row while another column could hold the field (the ids
    or times are there, and a more likely header name won the field) would count nothing: every
    row rejected, or "受理 0 件". Without such a column a blank column stays what it was (an
    export that leaves the times empty is read, its tickets undated)."""
    others = [c.header for c in mapping.columns if c.field is None and c.note.startswith("与更优先的列重复") and f"（{label(name)}）" in c.note]
    if not others:
        return
    chosen = next((c.header for c in mapping.columns if c.field == name), label(name))
    what = f"“{chosen}”列每一行都是空的，读不出{label(name)}"
    hint = f"数据在“{others[0]}”列时，请在 gaopin.toml 的 [columns] 中写 {name} = \"{others[0]}\"；否则请重新导出"
    if strict:
        raise InputError(f"{source} 的{what}", hint)
    log.add(Problem("config", f"{what}，warn、report、import、clean 会拒绝这个文件；{hint}", file=source, field=name), 0)


def _check_some_time_read(
    text: pd.Series, failed: pd.Series, mapping: Mapping, source: str, settings: Settings, log: _Log, strict: bool, one_of_sheets: bool = False
) -> None:
    """A file whose 受理时间 cells are all unreadable (US month-first order, a wrong column)
    would count nothing: no warning, an all-clear. Some unreadable cells are only noted."""
    if not failed.any() or failed.sum() < text.notna().sum():
        return
    header = next((c.header for c in mapping.columns if c.field == "received_at"), label("received_at"))
    column = f"“{header}”列" if header == label("received_at") else f"“{header}”列（受理时间）"
    what = f"{column}没有一个能读出来（{int(failed.sum())} 个）"
    hint = (
        "请把时间存成“年-月-日 时:分”（如 2024-08-01 09:00），"
        "或在 gaopin.toml 的 [load] 中用 date_format 写明写法（如 date_format = \"%m/%d/%Y %H:%M\"）"
    )
    example = str(text[failed].iloc[0])
    if one_of_sheets:  # perhaps not tickets at all (a 汇总 by month)
        hint = f"如这张表不是工单，请在 gaopin.toml 的 [load] 中用 sheet 写明工单所在的表；否则{hint}"
    if strict:
        shown = mask_phones_in_text(example) if settings.privacy.mask_phones else example
        raise InputError(f"{source} 的{what}，例如“{shown}”", hint)
    # Listed, not counted: the cells are counted one by one as date problems below.
    log.add(Problem("date", f"{what}，warn、report、import、clean 会拒绝这个文件；{hint}", file=source, field="received_at", value=example), 0)


def _times(s: pd.Series, date_format: str, format_first: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(tidied text, datetimes, failed mask) of a time column (`format_first`: parse_datetimes)."""
    text = conv.text_column(s)
    return (text, *parse_datetimes(text, date_format, format_first))


def _ensure_columns(frame: pd.DataFrame, extras: list[str]) -> pd.DataFrame:
    """Every canonical column present (blank where the export lacks it), in canonical order."""
    blank = None  # one blank column for all the missing ones: its values are never written to
    for name in [*CANONICAL_COLUMNS, *extras]:
        if name not in frame.columns:
            if name in ("received_at", "closed_at"):
                frame[name] = pd.Series(pd.NaT, index=frame.index, dtype=DTYPE)
            else:
                blank = conv.blank_text(frame.index) if blank is None else blank
                frame[name] = blank
    return frame[list(CANONICAL_COLUMNS) + extras + [FILE_COL, ROW_COL]]


def unmapped_columns(frame: pd.DataFrame) -> list[str]:
    """The unmapped source columns kept in a converted frame, in their order."""
    return [c for c in frame.columns if c not in CANONICAL_COLUMNS and c not in (FILE_COL, ROW_COL)]


def _with_dispatch_class(frame: pd.DataFrame) -> pd.DataFrame:
    # Derived after merging, so that it always agrees with the dispatch value that was kept.
    frame[DISPATCH_CLASS] = conv.dispatch_class_column(frame["dispatch"])
    return frame


def _finished(frame: pd.DataFrame) -> pd.DataFrame:
    """A part of one file's tickets in which no id repeats, as the whole would be after merging."""
    return _with_dispatch_class(_ensure_columns(frame, unmapped_columns(frame)))


def _tables(grids: list[Grid], settings: Settings, path: Path) -> tuple[list[tuple[Grid, Header, Mapping]], str]:
    """The tables of a file to read as tickets, each with its header and columns; and, for a
    workbook of several sheets, a note of which sheets were read and which not, and why.

    One grid (a CSV, a configured sheet, a workbook's only sheet) is read as it is. Of several
    sheets, every visible one whose header has a ticket id column is read: a 说明 or 汇总 sheet
    is not tickets, a hidden one is often an old copy."""
    if len(grids) == 1:
        grid = grids[0]
        # A configured sheet is named in errors; a file's only table is the file.
        source = f"{path} 的工作表“{grid.sheet}”" if settings.load.sheet and grid.sheet is not None else str(path)
        try:
            header = find_header(grid.head, settings.columns, settings.load.header_row, source)
        except InputError as exc:
            raise (_with_sheet_hint(exc, path, settings, grid.sheet) if grid.sheet is not None else exc) from None
        try:
            mapping = map_columns(header.cells, settings.columns, source)
        except InputError as exc:
            raise _header_row_advice(exc, grid, header, settings, source) from None
        return [(grid, header, mapping)], ""
    tables = []
    skipped: dict[str, list[str]] = {}
    for grid in grids:
        if grid.hidden or grid.empty:
            skipped.setdefault("隐藏" if grid.hidden else "空白", []).append(grid.sheet)
            continue
        header = _ticket_header(grid, settings)
        if header is None:
            skipped.setdefault("没有工单表头", []).append(grid.sheet)
            continue
        try:
            mapping = map_columns(header.cells, settings.columns, f"{path} 的工作表“{grid.sheet}”")
        except InputError:
            # A list of ticket ids without 受理时间 (a 汇总 of 单否 tickets beside the 明细) is
            # not a table of tickets; with no sheet of tickets at all, the error says why.
            skipped.setdefault("缺少受理时间等必需的列", []).append(grid.sheet)
            continue
        tables.append((grid, header, mapping))
    if not tables:
        raise _no_ticket_sheet(path, skipped, settings)
    read_names = "、".join(f"“{grid.sheet}”" for grid, _, _ in tables)
    left = "，".join(f"{'、'.join(f'“{n}”' for n in names)}（{why}）" for why, names in skipped.items())
    note = f"{path.name} 有 {len(grids)} 张工作表：读取了 {read_names}" + (f"；没有读取 {left}" if left else "") + "。"
    return tables, note


def _header_row_advice(exc: InputError, grid: Grid, header: Header, settings: Settings, source: str) -> InputError:
    """A configured header row that is not the header (`--header-row 3` on a data row) reads as
    columns missing; when the header is found on another row, say that instead."""
    if not settings.load.header_row:
        return exc
    try:
        found = find_header(grid.head, settings.columns, 0, source)
        map_columns(found.cells, settings.columns, source)
    except InputError:
        return exc
    if found.index == header.index:
        return exc
    # The row itself is not shown: it is a ticket (names, numbers), and errors go to the log too.
    return InputError(
        f"{source} 的第 {settings.load.header_row} 行不是表头（没有认出一个字段名，像是一行工单）；表头在第 {found.index + 1} 行",
        f"请改正 --header-row 或 gaopin.toml 的 [load] header_row：写 {found.index + 1}，或写 0 让 gaopin 自动识别",
    )


def _ticket_sheets(path: Path, settings: Settings, but: str | None = None) -> list[str]:
    """The sheets of a workbook whose header has a ticket id column, hidden ones too: what an
    error proposes for `[load] sheet`. Read again, on the error's path only."""
    quiet = dataclasses.replace(settings.load, sheet="")
    try:
        grids = read(path, quiet, settings.limits)
    except InputError:
        return []
    out = []
    for grid in grids:
        if grid.sheet == but or grid.empty:
            continue
        if grid.hidden:
            try:
                grid = read(path, dataclasses.replace(quiet, sheet=grid.sheet), settings.limits)[0]
            except InputError:
                continue
        if _ticket_header(grid, settings) is not None:
            out.append(grid.sheet)
    return out


def _ticket_header(grid: Grid, settings: Settings) -> Header | None:
    """The header of a sheet of tickets: one with a ticket id column; None for a 说明 or 汇总 sheet.

    A configured `header_row` is where the header is on the sheets that have it there; another
    sheet of the workbook (第二批 with its header on row 1) is searched as usual."""
    for row in dict.fromkeys((settings.load.header_row, 0)):
        try:
            header = find_header(grid.head, settings.columns, row, "")
        except InputError:
            continue
        if names_ticket_id(header.cells, settings.columns):
            return header
    return None


def _sheet_advice(sheets: list[str]) -> str:
    names = "、".join(f"“{n}”" for n in sheets[:10])
    return f"工作表 {names} 有工单表头：如工单在其中，请在 gaopin.toml 的 [load] 中写 sheet = \"{sheets[0]}\"（或在命令后加 --sheet）"


def _with_sheet_hint(exc: InputError, path: Path, settings: Settings, sheet: str) -> InputError:
    """The header error of a configured (or only) sheet, proposing the sheets that do have a
    ticket header."""
    others = _ticket_sheets(path, settings, but=sheet)
    return InputError(exc.message, f"{_sheet_advice(others)}；否则{exc.hint}") if others else exc


def _no_ticket_sheet(path: Path, skipped: dict[str, list[str]], settings: Settings) -> InputError:
    """No visible sheet of a workbook holds tickets: the error says what each sheet is, and
    proposes a hidden sheet that has a ticket header."""
    whys = "；".join(f"{'、'.join(f'“{n}”' for n in names)}：{why}" for why, names in skipped.items())
    hint = "请用 gaopin inspect 加 --sheet 表名 查看工单所在的表认出了哪些表头；认不出时在 gaopin.toml 的 [columns] 中写明，例如 ticket_id = \"工单编号\"（见 docs/data-format.md）"
    hidden = [n for n in _ticket_sheets(path, settings) if n in skipped.get("隐藏", [])]
    if hidden:
        hint = f"{_sheet_advice(hidden)}；否则{hint}"
    return InputError(f"{path} 中没有一张工作表有工单表头（含“工单编号”列的表头）：{whys}", hint)


def _footer_labels(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Where a cell (id-converted) is a label under the table (FOOTER_ID), and where the cells
    outside ASCII are. The labels are Chinese: only those (few among ids) are searched, a tenth of
    the cost of searching a million."""
    found = np.zeros(len(values), dtype=bool)
    other = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(conv.arrow(values)), True).to_numpy(zero_copy_only=False))
    if len(other):
        labels = conv.series(pc.replace_substring_regex(conv.arrow(values.iloc[other]), _BLANKS, ""), values.index[other])
        found[other] = conv.matches(labels, FOOTER_ID).to_numpy()
    return found, other


def _footers(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Where an id is a label under the table (合计, 制表人：…), and where another has no digit
    (REJECTED_NOT_ID). Of the ASCII ids only the short (Total, N/A, /) can lack a digit."""
    found, other = _footer_labels(ids)
    values = conv.arrow(ids)
    short = pc.fill_null(pc.less(pc.binary_length(values), 8), False).to_numpy(zero_copy_only=False)
    short[other] = True
    candidates = np.flatnonzero(short & ~found)
    not_id = np.zeros(len(ids), dtype=bool)
    if len(candidates):
        not_id[candidates] = ~conv.matches(ids.iloc[candidates], "[0-9]").to_numpy()
    return found, not_id


def _reject_kind(p: Problem) -> str:
    """Why a row was rejected, in a word, for the notes of commands that only show results."""
    if p.value is None:
        return REJECTED_NO_ID
    if p.message == REJECTED_FOOTER:
        return "表格下方的合计或落款行"
    if p.message.endswith(REJECTED_NOT_ID):
        return "工单编号没有数字（占位符、重复的表头或说明行）"
    if p.message.endswith(REJECTED_SCIENTIFIC):
        return "工单编号是科学计数法：CSV 被 Excel 另存过，请用原始导出"
    return "工单编号被存成数字而失真"


def _repeats(ids: pd.Series) -> bool:
    # Exports are often sorted by id: then no id repeats, and no hashing is needed.
    return not _strictly_increasing(ids) and bool(ids.duplicated().any())


def _merge_duplicates(frame: pd.DataFrame, sources: list[str], log: _Log) -> pd.DataFrame:
    """One row per ticket: later files and lower rows win, field by field (a blank never erases)."""
    if not _repeats(frame["ticket_id"]):
        return frame
    dup = frame["ticket_id"].duplicated(keep=False)
    part = frame[dup]
    ids = part["ticket_id"].unique()
    shown = part[part["ticket_id"].isin(ids[:MAX_DETAILS])]
    for ticket_id, group in shown.groupby("ticket_id", sort=False):
        where = "、".join(f"{Path(sources[f]).name} 第 {r} 行" for f, r in zip(group[FILE_COL], group[ROW_COL]))
        last = group.iloc[-1]
        log.add(
            Problem(
                "duplicate",
                f"工单编号重复出现 {len(group)} 次（{where}），已合并：后出现的记录逐项覆盖，空值不覆盖",
                file=sources[int(last[FILE_COL])],
                row=int(last[ROW_COL]),
                field="ticket_id",
                value=str(ticket_id),
            )
        )
    log.counts["duplicate"] += max(0, len(ids) - MAX_DETAILS)
    merged = part.groupby("ticket_id", sort=False).last().reset_index()
    out = pd.concat([frame[~dup], merged[frame.columns]], ignore_index=True)
    return out.sort_values([FILE_COL, ROW_COL], kind="stable").reset_index(drop=True)


def _strictly_increasing(values: pd.Series) -> bool:
    if len(values) < 2:
        return True
    text = conv.arrow(values)
    return bool(pc.all(pc.fill_null(pc.less(text[:-1], text[1:]), False)).as_py())
