"""No caller's phone number leaves gaopin in anything it prints, writes or sends.

A full run on the bundled sample (sample_data/, --today 2024-10-31) plus a few planted
tickets whose callers typed their numbers where numbers do not belong (title, content,
address, name; with dashes, spaces, +86, full-width digits), and ledger entries staff filled
in typing numbers (unit, measures, a note, resolve and close reasons). Every output of every command
— stdout and stderr, CSV, JSON, workbooks (every cell), the HTML report, the chart PNGs —
is scanned for every phone number of the input, as digits, however it is punctuated.
The same run with --show-phones must show them: otherwise the scan could not fail.

OUTPUT_PRODUCERS below lists what is scanned, each a function (Run) -> None that adds
outputs: the commands' own output and files, then what delivery sent — every email as it
arrived at a real local SMTP server (raw .eml, each decoded text part, the xlsx attachment
cell by cell) and every request body a local robot received — and finally the log file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import openpyxl
import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.rules.persons import GENERIC_NAMES
from tests.builders import write_csv

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TODAY = "2024-10-31"

# Tickets whose callers wrote numbers into free text; three at one point on one day (a
# warning) from one caller with five tickets in August (a ledger entry).
PLANTED_PHONES = ["13912340001", "13912340002", "01065123400", "13912340004", "13912340005", "13912340006", "13912340008", "01065123401", "13912340003", "65123402"]
PLANTED = [
    ["工单编号", "来电时间", "来电人", "来电人电话/账号", "小区点位", "问题分类", "标题", "主要内容", "是否有效回访", "是否解决", "是否满意"],
    *[
        [
            f"PL{i}",
            f"2024-08-20 10:0{i}:00",
            "王先生 139-1234-0004",
            "13912340005",
            "桥一小区东门 电话13912340006",  # no 号楼: the whole address is the point
            "城市管理->动物->流浪猫",
            f"请回电 139 1234 000{1 + i % 2}",
            "联系人电话：+86 010-65123400，或１３９１２３４０００２，（010）6512-3401，139—1234—0003，座机6512 3402",
            "是",
            "否",
            "不满意",
        ]
        for i in range(5)
    ],
    ["PL9", "13912340008", "赵六", "13800000000", "桥一小区1号楼", "城市管理->动物->流浪猫", "", "", "", "", ""],  # a number in the time column
]


@dataclass
class Output:
    name: str
    data: bytes
    kind: str = "text"  # text | xlsx | png


@dataclass
class Run:
    root: Path
    show_phones: bool
    config: Path
    db: Path
    inputs: list[Path]
    outputs: list[Output] = field(default_factory=list)

    @property
    def flags(self) -> list[str]:
        return ["--show-phones"] if self.show_phones else []

    def cli(self, *args: object, name: str) -> str:
        result = CliRunner().invoke(app, [str(a) for a in args] + ["--config", str(self.config)])
        assert result.exit_code == 0, (args, result.output)
        self.outputs.append(Output(f"{name}.stdout", result.stdout.encode()))
        self.outputs.append(Output(f"{name}.stderr", result.stderr.encode()))
        return result.stdout

    def files(self, *paths: Path) -> None:
        for p in paths:
            kind = {".xlsx": "xlsx", ".png": "png"}.get(p.suffix, "text")
            self.outputs.append(Output(str(p.relative_to(self.root)), p.read_bytes(), kind))


def inspect(run: Run) -> None:
    run.cli("inspect", *run.inputs, *run.flags, name="inspect")
    run.cli("inspect", *run.inputs, "--format", "json", *run.flags, name="inspect-json")


def clean(run: Run) -> None:
    for suffix in (".csv", ".xlsx"):
        out = run.root / f"clean{suffix}"
        run.cli("clean", *run.inputs, "-o", out, *run.flags, name=f"clean{suffix}")
        run.files(out)


def warn(run: Run) -> None:
    run.cli("warn", *run.inputs, *run.flags, name="warn")
    run.cli("warn", *run.inputs, "--format", "json", *run.flags, name="warn-json")
    for suffix in (".xlsx", ".csv", ".json"):
        out = run.root / f"warnings{suffix}"
        run.cli("warn", *run.inputs, "-o", out, *run.flags, name=f"warn{suffix}")
        run.files(out)


# Numbers staff type into the ledger (a unit's, callers' in the measures, notes and reasons).
STAFF_PHONES = ["13912340021", "13912340022", "13912340023", "01065123424", "13912340025"]


def ledger_actions(run: Run) -> None:
    """Staff fill in a caller entry and resolve and close another, typing numbers as they go."""
    view = json.loads(run.cli("ledger", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "-f", "json", *run.flags, name="ledger-before"))
    caller = next(e["id"] for e in view["entries"] if e["kind"] == "caller")
    other = next(e["id"] for e in view["entries"] if e["kind"] != "caller")
    for args in (
        ["assign", caller, "--unit", "物业 139-1234-0021", "--measures", "已约业主13912340022面谈"],
        ["note", caller, "已电话回访 139 1234 0023"],
        ["resolve", other, "--reason", "与业主（010）6512 3424沟通"],
        ["close", other, "--reason", "回访13912340025满意"],
    ):
        run.cli("ledger", *args, "--today", TODAY, "--db", run.db, name=f"ledger-{args[0]}")


def ledger(run: Run) -> None:
    out = run.root / "ledger.xlsx"
    run.cli("ledger", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "-o", out, *run.flags, name="ledger")
    run.files(out)
    view = json.loads(run.cli("ledger", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "-f", "json", *run.flags, name="ledger-json"))
    callers = [e["id"] for e in view["entries"] if e["kind"] == "caller"]
    others = [e["id"] for e in view["entries"] if e["kind"] != "caller"]
    assert callers and others
    for entry in callers[:8] + others[:4]:
        run.cli("ledger", "show", entry, "--today", TODAY, "--db", run.db, *run.flags, name=f"show-{entry}")
        run.cli("ledger", "show", entry, "--today", TODAY, "--db", run.db, "-f", "json", *run.flags, name=f"show-{entry}-json")


def report(run: Run) -> None:
    out = run.root / "report"
    run.cli("report", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "--out", out, name="report")
    run.cli("report", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "--out", out, "-f", "json", name="report-json")
    run.files(*sorted(p for p in out.iterdir() if p.is_file()))
    # The charts and the font kept for the next report (the second run above took them from there).
    kept = sorted(p for p in (run.root / "report-cache").rglob("*") if p.is_file())
    assert {p.suffix for p in kept} == {".png", ".otf", ".json"}
    run.files(*kept)


def delivery(run: Run) -> None:
    """Email (report and warnings) through a real SMTP server, warnings to a robot over HTTP:
    every message as it arrived (headers, text and HTML parts, the workbook attachment) and
    every request body the robot received."""
    import email as email_lib
    from email import policy

    from tests.servers import Robot, smtp_server

    with smtp_server() as server, Robot() as robot:
        settings = (
            f'\n[mail]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nfrom = "center@example.com"\nto = ["leaders@example.com"]\n'
            f'[notify]\nwebhook = "{robot.url}"\nformat = "wecom"\n'
        )
        config = run.root / "delivery.toml"
        config.write_text(run.config.read_text(encoding="utf-8") + settings, encoding="utf-8")
        for args in (
            ["report", "--month", "8", "--year", "2024", "--today", TODAY, "--db", run.db, "--out", run.root / "report-mail", "--email", "--notify"],
            ["warn", "--db", run.db, "--since", "2024-08-01", "--email", "--notify"],
        ):
            result = CliRunner().invoke(app, [str(a) for a in args] + ["--config", str(config)])
            assert result.exit_code == 0, (args, result.output)
            run.outputs.append(Output(f"{args[0]}-delivery.stderr", result.stderr.encode()))
        assert server.mailbox.raw and robot.posts
        for i, raw in enumerate(server.mailbox.raw):
            message = email_lib.message_from_bytes(raw, policy=policy.default)
            run.outputs.append(Output(f"mail{i}.eml", raw))
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    run.outputs.append(Output(f"mail{i}.{part.get_content_subtype()}", part.get_content().encode()))
                elif part.get_filename() and part.get_filename().endswith(".xlsx"):
                    run.outputs.append(Output(f"mail{i}/{part.get_filename()}", part.get_payload(decode=True), "xlsx"))
        for i, post in enumerate(robot.posts):
            # Decoded JSON: full-width digits hide as \u escapes in the raw body.
            run.outputs.append(Output(f"robot{i}.json", json.dumps(post.body, ensure_ascii=False).encode()))


def log(run: Run) -> None:
    """The log file every command wrote (last, after all of them)."""
    logs = sorted(run.root.glob("gaopin.log*"))
    assert logs, "the commands wrote no log"
    for path in logs:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    run.files(*logs)


# What a full run produces, in order: the log comes last.
OUTPUT_PRODUCERS: list[Callable[[Run], None]] = [inspect, clean, warn, ledger_actions, ledger, report, delivery, log]


def _full_run(root: Path, show_phones: bool, config_text: str = "") -> Run:
    root.mkdir(parents=True, exist_ok=True)
    config = root / "gaopin.toml"
    log_file = f'\n[log]\nfile = "{(root / "gaopin.log").as_posix()}"\n'
    config.write_text((SAMPLE / "gaopin.toml").read_text(encoding="utf-8").replace('rankings = "rankings.csv"', f'rankings = "{(SAMPLE / "rankings.csv").as_posix()}"\ncache_dir = "report-cache"') + log_file + config_text, encoding="utf-8")
    planted = write_csv(root / "planted.csv", PLANTED)
    run = Run(root, show_phones, config, root / "g.db", [SAMPLE / "tickets.xlsx", planted])
    run.cli("import", *run.inputs, "--db", run.db, name="import")
    for produce in OUTPUT_PRODUCERS:
        produce(run)
    return run


def input_phones() -> set[str]:
    """Every phone of the input, as digits: the phone column of the sample and the planted ones."""
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(SAMPLE / "tickets.xlsx")).get_sheet_by_index(0).to_python()
    header = next(r for r in rows if "来电人电话/账号" in r)
    at = header.index("来电人电话/账号")
    phones = set()
    for row in rows[rows.index(header) + 1 :]:
        value = row[at]
        digits = str(int(value)) if isinstance(value, float) else re.sub(r"[^0-9]", "", str(value))
        if len(digits) >= 7 and not str(value).startswith("A"):
            phones.add(digits)
    return phones | set(PLANTED_PHONES) | set(STAFF_PHONES)


# Digits joined by spaces and dashes; and, as callers also write, by the IME's long dashes, dots,
# underscores, slashes and brackets. Both: joining more could also hide a number in a longer run.
_DIGIT_RUNS = [
    re.compile(r"[0-9０-９](?:[0-9０-９]|[-\s ](?=[0-9０-９]))*"),
    re.compile(r"[0-9０-９](?:[0-9０-９]|[-\s —–－._/()（）]{1,3}(?=[0-9０-９]))*"),
]


def numbers_in(text: str) -> set[str]:
    """Runs of digits, however punctuated (139-1234-0001, 139 1234 0001, 139—1234—0001, (010) 6512 3400, full width), with +86/0086 dropped."""
    out = set()
    for run in (r for pattern in _DIGIT_RUNS for r in pattern.findall(text)):
        digits = re.sub(r"[^0-9]", "", run.translate(str.maketrans("０１２３４５６７８９", "0123456789")))
        out.add(digits)
        for prefix in ("0086", "86"):
            if digits.startswith(prefix):
                out.add(digits[len(prefix) :])
    return out


def text_of(output: Output) -> str:
    if output.kind == "xlsx":
        import io

        wb = openpyxl.load_workbook(io.BytesIO(output.data))
        return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    if output.kind == "png":
        return output.data.decode("latin-1")  # a PNG holds no text, but a leak in its metadata would show
    return output.data.decode("utf-8-sig", "replace")


def leaks(run: Run, phones: set[str]) -> dict[str, set[str]]:
    found = {}
    for output in run.outputs:
        hit = numbers_in(text_of(output)) & phones
        if hit:
            found[output.name] = hit
    return found


@pytest.fixture(scope="module")
def phones() -> set[str]:
    found = input_phones()
    assert len(found) > 1000  # the scan has something to look for
    return found


@pytest.fixture(scope="module")
def masked(tmp_path_factory) -> Run:
    """The default masking of phones, and names masked too ([privacy] mask_names, off by default)."""
    return _full_run(tmp_path_factory.mktemp("masked"), show_phones=False, config_text="\n[privacy]\nmask_names = true\n")


def test_the_run_produced_every_kind_of_output(masked):
    kinds = {o.name.rsplit(".", 1)[-1] for o in masked.outputs}
    assert {"stdout", "stderr", "csv", "xlsx", "json", "html", "png", "eml", "plain", "log"} <= kinds
    names = {o.name for o in masked.outputs}
    assert {"clean.csv", "warnings.xlsx", "ledger.xlsx", "report/report.html", "report/report.xlsx"} <= names


def test_no_phone_of_the_input_appears_in_any_output(masked, phones):
    assert leaks(masked, phones) == {}


def test_the_planted_tickets_are_shown_masked(masked):
    """Not vacuous: the tickets with numbers in their text are in the outputs, masked."""
    everything = "\n".join(text_of(o) for o in masked.outputs)
    assert "PL0" in everything and "139****0005" in everything
    assert "请回电 139****0001" in everything
    assert "物业 139****0021" in everything and "已电话回访 139****0023" in everything


def test_with_show_phones_the_scan_finds_them(tmp_path_factory, phones):
    run = _full_run(tmp_path_factory.mktemp("shown"), show_phones=True)
    found = leaks(run, phones)
    assert {"clean.csv", "clean.xlsx", "warnings.json", "ledger.xlsx"} <= set(found), sorted(found)
    assert "13912340005" in found["clean.csv"]
    assert {"13912340021", "13912340022"} <= found["ledger.xlsx"] and set(STAFF_PHONES) <= set().union(*found.values())


@pytest.mark.parametrize("number", ["13912340001", "139-1234-0001", "139 1234 0001", "+86 13912340001", "１３９１２３４０００１", "0086-139-1234-0001", "139—1234—0001", "139.1234.0001", "139_1234_0001", "139/1234/0001"])
def test_the_scan_sees_a_number_however_it_is_written(number):
    assert "13912340001" in numbers_in(f"请回电{number}，谢谢")


def test_names_are_masked_when_asked(masked):
    """[privacy] mask_names: no caller's name (other than placeholders like 市民) in any output."""
    import python_calamine

    rows = python_calamine.CalamineWorkbook.from_path(str(SAMPLE / "tickets.xlsx")).get_sheet_by_index(0).to_python()
    header = next(r for r in rows if "来电人" in r)
    at = header.index("来电人")
    names = {str(r[at]).strip() for r in rows[rows.index(header) + 1 :]} | {"王先生"}
    # Leaders' names (gaopin.toml [owners]) are shown on purpose; a caller may share one.
    staff = (SAMPLE / "gaopin.toml").read_text(encoding="utf-8")
    names = {n for n in names if len(n) >= 2 and n not in GENERIC_NAMES and n not in staff}
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))
    shown = {}
    for output in masked.outputs:
        hit = set(pattern.findall(text_of(output)))
        if hit:
            shown[output.name] = sorted(hit)[:5]
    assert shown == {}
    everything = "\n".join(text_of(o) for o in masked.outputs)
    assert "王**" in everything  # the planted caller, masked


@pytest.mark.parametrize("number", ["01065123400", "010-6512-3400", "(010) 6512 3400", "（010）6512-3400", "010—65123400"])
def test_the_scan_sees_a_landline_however_it_is_written(number):
    assert "01065123400" in numbers_in(f"座机{number}。")
