"""Random exports through the whole pipeline: load → warn → import → ledger → report.

Hypothesis writes real files (xlsx by xlsxwriter, CSV in utf-8, utf-8-sig or gb18030) with
random header dialects (aliases, decorated headers, extra columns, title rows, shuffled
columns) and cells of every type (text with CJK, emoji, control and formula-like characters;
integers, huge and non-finite floats, booleans, dates, times, blanks). The properties:

- nothing raises except a GaopinError the export asked for (a header gaopin cannot find);
- every row with an id is accounted for: it is a ticket, a duplicate merged into one (and
  reported), or rejected with a reason;
- every loaded ticket is in the store after the import;
- warn, the ledger and the report run on whatever was loaded.

A few dozen examples run in every test run (GAOPIN_FUZZ_EXAMPLES to change);
`python benchmarks/fuzz.py --examples 5000` (or `make fuzz`) runs the same property longer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings, strategies as st

from gaopin.errors import GaopinError, InputError
from gaopin.io.load import ROW_COL, load
from gaopin.io.readers import cell_text
from gaopin.schema import FIELD_BY_NAME, FIELDS
from tests.builders import csv_text, settings as make_settings

EXAMPLES = int(os.environ.get("GAOPIN_FUZZ_EXAMPLES", "40"))
OPTIONAL = tuple(f.name for f in FIELDS if f.name not in ("ticket_id", "received_at"))
# Headers that are no alias of anything: the loader must leave them unused.
EXTRA_HEADERS = ("备注", "工单状态", "办理结果", "回复内容", "序号", "Unnamed: 3", "处理人", "附件")
TITLES = ("新村街道 12345 工单明细", "说明：本表由系统导出", "导出时间：2024年9月1日", "", "合计")

# --- cell values -------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), max_codepoint=0x2FFFF),
        st.sampled_from("=+-@\t\r\n＝＋－＠ \u3000\u200b王䶮😀,;|\"'"),
    ),
    max_size=12,
)
_formula_like = st.builds(lambda s, t: s + t, st.sampled_from(["=", "+", "-", "@", "＝", "=HYPERLINK(", "=cmd|' /C calc'!A0"]), _text)
_number = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.1, 1e15, 1e16, 13812345678.0, 2408031234567890123.0, -0.0]),
)
_when = st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(2100, 1, 1))
_any = st.one_of(
    _text, _formula_like, _number, st.booleans(), _when, st.dates(dt.date(1900, 3, 1), dt.date(2100, 1, 1)), st.times(), st.none()
)
_ticket_id = st.one_of(
    st.from_regex(r"\AGD2024[0-9]{6}\Z"),
    st.integers(1, 10**6),
    st.builds(lambda s: f" {s}\u200b", st.from_regex(r"\A[A-Z][0-9]{3}\Z")),
    st.builds(lambda s: s.translate(str.maketrans("0123456789", "０１２３４５６７８９")), st.from_regex(r"\A[0-9]{5}\Z")),
    st.sampled_from([2408031234567890123, 1.23457e18, "1.23457E+18", "", " "]),
    _any,
)
_august = st.datetimes(dt.datetime(2024, 7, 25), dt.datetime(2024, 9, 5))
_received = st.one_of(
    _august,
    _august.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    _august.map(lambda d: f"{d.year}年{d.month}月{d.day}日 {d.hour}:{d.minute:02d}"),
    _august.map(lambda d: (d - dt.datetime(1899, 12, 30)).total_seconds() / 86400),
    _any,
)
_domain = {
    "caller_phone": st.one_of(st.sampled_from(["13812345678", "13912345678", "010-65123456", "保密", 13700001111]), _any),
    "caller_name": st.one_of(st.sampled_from(["张三", "李四", "匿名", "王䶮"]), _any),
    "address": st.one_of(st.sampled_from(["恰海小区3号楼2单元", "恰海小区三号楼", "桥一小区6号楼"]), _any),
    "category": st.one_of(st.sampled_from(["城市管理->动物->流浪猫", "城乡建设->物业"]), _any),
    "community": st.one_of(st.sampled_from(["恰海社区", "桥一社区"]), _any),
    "resolved": st.one_of(st.sampled_from(["是", "否", "部分解决", "解决"]), _any),
    "satisfied": st.one_of(st.sampled_from(["满意", "不满意", "基本满意"]), _any),
    "valid_callback": st.one_of(st.sampled_from(["是", "否"]), _any),
    "ticket_type": st.one_of(st.sampled_from(["投诉", "咨询"]), _any),
}


def _value(name: str | None):
    if name == "ticket_id":
        return _ticket_id
    if name == "received_at":
        return _received
    return _domain.get(name, _any)


# --- an export -------------------------------------------------------------------------------------


@dataclass
class Export:
    kind: str  # xlsx | csv
    encoding: str
    newline: str
    titles: list[str]
    headers: list[str]
    fields: list[str | None]  # the canonical field each column stands for (None: extra)
    rows: list[list[object]]
    config: dict = field(default_factory=dict)

    @property
    def header_row(self) -> int:
        return len(self.titles) + 1  # 1-based file row of the header


def _decorate(header: str, how: int) -> str:
    """Spellings the header matcher ignores: spaces, a * for required, full width."""
    return [header, f" {header} ", f"*{header}", header.replace("/", "／"), f"{header}\n"][how]


@st.composite
def exports(draw) -> Export:
    optional = draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=8))
    fields: list[str | None] = ["ticket_id", "received_at", *optional]
    headers = [_decorate(draw(st.sampled_from(FIELD_BY_NAME[f].aliases)), draw(st.integers(0, 4))) for f in fields]
    extras = draw(st.lists(st.sampled_from(EXTRA_HEADERS), unique=True, max_size=3))
    fields += [None] * len(extras)
    headers += extras
    order = draw(st.permutations(list(range(len(fields)))))
    fields = [fields[i] for i in order]
    headers = [headers[i] for i in order]
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        rows.append([draw(_value(f)) for f in fields])
    # Some ids again, as in a later export.
    if rows and draw(st.booleans()):
        at = fields.index("ticket_id")
        for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=3)):
            rows[-1 - i % len(rows)][at] = rows[i][at]
    config = {
        "rules": {
            "category_level": draw(st.integers(0, 3)),
            "point_day": {"min_tickets": draw(st.integers(1, 3))},
            "two_day": {"min_tickets": draw(st.integers(1, 5)), "min_persons": draw(st.integers(1, 2))},
        },
        "ledger": {kind: {"min_tickets": draw(st.integers(1, 4))} for kind in ("caller", "point", "issue")},
        "filters": {"exclude": draw(st.sampled_from([{}, {"工单类型": ["咨询"]}, {"备注": ["x"]}]))},
        "privacy": {"mask_names": draw(st.booleans())},
    }
    return Export(
        kind=draw(st.sampled_from(["xlsx", "csv"])),
        encoding=draw(st.sampled_from(["utf-8-sig", "utf-8", "gb18030"])),
        newline=draw(st.sampled_from(["\r\n", "\n"])),
        titles=draw(st.lists(st.sampled_from(TITLES), max_size=3)),
        headers=headers,
        fields=fields,
        rows=rows,
        config=config,
    )


def write_xlsx(export: Export, path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False, "nan_inf_to_errors": True})
    ws = wb.add_worksheet("工单")
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for r, title in enumerate(export.titles):
        if title:
            ws.write_string(r, 0, title)
    top = len(export.titles)
    for c, header in enumerate(export.headers):
        ws.write_string(top, c, header)
    for r, row in enumerate(export.rows, start=top + 1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, bool):
                ws.write_boolean(r, c, v)
            elif isinstance(v, (int, float)):
                ws.write_number(r, c, float(v))
            elif isinstance(v, (dt.datetime, dt.date, dt.time)):
                ws.write_datetime(r, c, v, when)
            else:
                ws.write_string(r, c, v)
    wb.close()


def csv_cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    return str(v)


def write_csv(export: Export, path: Path) -> None:
    # Not csv.writer: with lineterminator="\n" it leaves a lone \r unquoted, which splits the record.
    rows = [[t] for t in export.titles] + [export.headers] + [[csv_cell(v) for v in row] for row in export.rows]
    path.write_bytes(csv_text(rows, newline=export.newline).encode(export.encoding))


def id_text(export: Export, value: object) -> str:
    """The id cell as the reader will see it (before the loader tidies it)."""
    if export.kind == "csv":
        return csv_cell(value)
    if isinstance(value, bool):
        return cell_text(value)
    if isinstance(value, (int, float)):
        return cell_text(float(value))
    return cell_text(value)


# --- the property ----------------------------------------------------------------------------------


def _expected_refusal(export: Export, path: Path, exc: GaopinError) -> bool:
    """The refusals an export may legitimately earn."""
    if export.kind == "csv":
        head = path.read_bytes()[:8192]
        if b"\x00" in head and "二进制" in exc.message:
            return True  # a NUL byte: the file looks binary
    return False


def check_pipeline(export: Export) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / f"export.{export.kind}"
        (write_xlsx if export.kind == "xlsx" else write_csv)(export, path)
        cfg = make_settings(**export.config)
        try:
            result = load([path], cfg)
        except InputError as exc:
            unreadable, blank = "没有一个能读出来" in exc.message, "每一行都是空的" in exc.message
            if not (unreadable or blank):
                assert _expected_refusal(export, path, exc), f"{exc.message} / {exc.hint}"
                event("refused")
                return
            # Refused because no time (or no id) can be read: so it is, and the rest copes with such tickets.
            result = load([path], cfg, strict=False)
            if unreadable:
                assert result.frame["received_at"].isna().all() and result.counts["date"], exc.message
            else:
                assert result.frame.empty or result.frame["received_at"].isna().all(), exc.message
            event("refused: no time readable" if unreadable else "refused: a required column blank")
        _check_accounting(export, result)
        event(f"{export.kind}: {min(len(result.frame), 4)} tickets, {min(len(result.rejected), 2)} rejected")
        _run_the_rest(result, cfg, root)


def _check_accounting(export: Export, result) -> None:
    frame = result.frame
    rejected_rows = {p.row for p in result.rejected}
    assert all(p.message for p in result.rejected)
    kept_rows = set(frame[ROW_COL].astype(int))
    merged_rows = {int(r) for p in result.problems if p.kind == "duplicate" for r in re.findall(r"第 (\d+) 行", p.message)}
    at = export.fields.index("ticket_id")
    for i, row in enumerate(export.rows):
        file_row = export.header_row + 1 + i
        text = id_text(export, row[at])
        if not any(ch.isalnum() for ch in text):
            continue  # no id to speak of: may be skipped as blank or rejected
        assert file_row in kept_rows | rejected_rows | merged_rows, (file_row, text, export)
    assert frame["ticket_id"].is_unique and frame["ticket_id"].notna().all()
    assert not kept_rows & rejected_rows


def _run_the_rest(result, cfg, root: Path) -> None:
    from gaopin.ledger.service import ledger_month, write_ledger
    from gaopin.reports.monthly import build_report
    from gaopin.reports.render import write_workbook
    from gaopin.reports.warnings import write_warn_report
    from gaopin.rules.warn import warn
    from gaopin.store import Store

    report = warn(result, cfg)
    event(f"warnings: {bool(report.warnings)}, escalations: {bool(report.escalations)}")
    json.dumps(report.to_dict(), ensure_ascii=False)
    write_warn_report(report, root / "warn.xlsx")
    write_warn_report(report, root / "warn.csv")
    with Store(root / "g.db") as store:
        store.import_result(result, "export", "sha", dt.datetime(2024, 9, 1))
        stored = {r[0] for r in store.conn.execute("SELECT ticket_id FROM tickets")}
        assert stored == set(result.frame["ticket_id"])
        if stored:
            view, _ = ledger_month(store, cfg, 8, 2024, dt.date(2024, 9, 30))
            event(f"ledger entries: {bool(view['entries'])}")
            write_ledger(view, root / "ledger.xlsx")
            json.dumps(view, ensure_ascii=False)
        else:
            view = None
    monthly = build_report(result, cfg, 2024, 8, ledger=view)
    json.dumps(monthly, ensure_ascii=False, default=str)
    assert all(v is None or math.isfinite(v) for v in monthly["overall"].values() if isinstance(v, float))
    write_workbook(monthly, root / "report.xlsx")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(exports())
def test_random_exports_through_the_whole_pipeline(export):
    check_pipeline(export)
