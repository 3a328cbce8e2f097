"""Inputs for the delivery tests: a tiny export with phones everywhere, the bundled sample,
and settings pointing at the test servers."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl

from gaopin.config import TIMEZONE, Settings
from tests.builders import settings as build_settings

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
SAMPLE_TODAY = date(2024, 10, 31)
PASSWORD = "Pw-7e1c!not-in-logs"

HEADER = ["工单编号", "来电时间", "来电人", "来电人电话/账号", "被反映街乡镇", "村/社区", "小区点位", "问题分类", "标题", "是否有效回访", "是否解决", "是否满意", "主办单位"]
# One point_day warning on 2024-08-03 (A1–A3), one escalation pair; phones in the phone
# column, in a title and in an address.
ROWS = [
    ["A1", "2024-08-03 09:01", "张三", 13812345678, "新村街道", "恰海社区", "北京市丰台区新村街道恰海小区３号楼2单元301", "城市管理->动物->流浪猫", "猫被困 请回电13812345678", "是", "解决", "满意", "恰海社区"],
    ["A2", "2024-08-03 09:03", "李四", 13912345678, "新村街道", "恰海社区", "恰海小区三号楼", "城市管理->动物->流浪猫", "猫 电话 010-63451234", "是", "未解决", "不满意", "恰海社区"],
    ["A3", "2024-08-03 09:05", "王五", "13712345678", "新村街道", "恰海社区", "恰海小区3栋402室", "城市管理->动物->流浪猫", "猫", "是", "未解决", "满意", "恰海社区"],
    ["A4", "2024-08-05 10:00", "赵六", "13612345678", "新村街道", "桥一社区", "桥一小区6号楼 13512345678", "城市管理->噪声扰民->生活噪声", "敲墙", "是", "解决", "满意", "桥一社区"],
]
TINY_PHONES = ["13812345678", "13912345678", "13712345678", "13612345678", "13512345678", "63451234"]
OWNERS = {"center_head": "赵立群", "communities": {"恰海社区": "李志强", "桥一社区": "张红梅"}}


def tiny_export(folder: Path, rows: list[list[Any]] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows or ROWS:
        ws.append(r)
    path = folder / "tickets.xlsx"
    wb.save(path)
    return path


def mail_section(port: int, **extra: Any) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": "none", "from": "jiesu@example.gov.cn", "to": ["zhongxin@example.gov.cn"], "timeout": 5.0, **extra}


def notify_section(url: str, **extra: Any) -> dict:
    return {"webhook": url, "format": "wecom", "timeout": 5.0, **extra}


def delivery_settings(port: int | None = None, robot_url: str | None = None, mail: dict | None = None, notify: dict | None = None, **sections: Any) -> Settings:
    data: dict[str, Any] = {"owners": OWNERS, "report": {"street": "新村街道"}, **sections}
    if port is not None:
        data["mail"] = mail_section(port, **(mail or {}))
    if robot_url is not None:
        data["notify"] = notify_section(robot_url, **(notify or {}))
    return build_settings(**data)


def write_config(path: Path, port: int | None = None, robot_url: str | None = None, mail: dict | None = None, notify: dict | None = None, extra: str = "") -> Path:
    """A gaopin.toml for CLI runs (TOML written by hand: the tests read like the file an office keeps)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ['[owners]', 'center_head = "赵立群"', '[owners.communities]', '"恰海社区" = "李志强"', '"桥一社区" = "张红梅"', "[report]", 'street = "新村街道"']
    if port is not None:
        lines.append("[mail]")
        lines += [f"{k} = {value(v)}" for k, v in mail_section(port, **(mail or {})).items()]
    if robot_url is not None:
        lines.append("[notify]")
        lines += [f"{k} = {value(v)}" for k, v in notify_section(robot_url, **(notify or {})).items()]
    lines.append("[log]")
    lines.append(f"file = {value(str(path.parent / 'gaopin.log'))}")
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def fixed_clock(when: datetime | None = None):
    when = when or datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE)
    return lambda: when


def copy_db(source: Path, folder: Path) -> Path:
    target = folder / "gaopin.db"
    shutil.copyfile(source, target)
    return target


def sample_phones() -> list[str]:
    """Every phone number in the sample: the caller column and numbers typed into free text."""
    from gaopin.config import load_settings
    from gaopin.io.load import load

    frame = load([SAMPLE / "tickets.xlsx"], load_settings(SAMPLE / "gaopin.toml", environ={})).frame
    phones = {p for p in frame["caller_phone"].dropna() if p.isdigit() and len(p) >= 7}
    for column in ("title", "content", "address"):
        for text in frame[column].dropna():
            phones.update(re.findall(r"(?<!\d)1[3-9]\d{9}(?!\d)", text))
    return sorted(phones)


def leaked(text: str, phones: list[str]) -> list[str]:
    """The phone numbers (in full) that appear in `text`, ignoring separators inside them."""
    digits_only = re.sub(r"(?<=\d)[- ](?=\d)", "", text)
    return [p for p in phones if p in digits_only]


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a child `python -m gaopin`: this tree's gaopin, whatever the cwd."""
    import os

    import gaopin

    env = dict(os.environ)
    src = str(Path(gaopin.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([src] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).is_absolute()])
    env.update(extra)
    return env
