"""Settings: named defaults, overridden by gaopin.toml, then the environment, then flags.

Every setting is a dataclass field whose metadata carries its Chinese description; the
commented default file (`gaopin init`) and the table in docs/configuration.md are both
rendered from these fields, so there is one definition of each setting.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from gaopin.errors import ConfigError, not_a_file, os_reason

# Periods and "today" are Beijing time whatever TZ the machine (or cron) has.
TIMEZONE = ZoneInfo("Asia/Shanghai")
APP_NAME = "gaopin"
CACHE_OFF = "off"  # [report] cache_dir: no cache
CONFIG_FILE_NAME = "gaopin.toml"
LOG_FILE_NAME = "gaopin.log"
ENV_PREFIX = "GAOPIN_"
ENV_CONFIG = "GAOPIN_CONFIG"
ENV_DB = "GAOPIN_DB"
# Settings that name a file or folder.
PATH_SETTINGS = ("store.path", "log.file", "report.out_dir", "report.rankings", "report.font", "mail.password_file", "mail.cafile")
ENV_SMTP_PASSWORD = "GAOPIN_SMTP_PASSWORD"
# `warn --date D --email/--notify` also sends the warnings not yet sent that ended in the week
# before D: one completed after D-1's noon run, or while the machine was off over a holiday,
# still goes out (marked 补发); a first run on an old store sends one week, not a year.
CATCH_UP_DAYS = 7
# The longest [mail]/[notify] timeout (seconds): a run waiting longer for one answer is stuck.
MAX_TIMEOUT = 3600


def now_local() -> datetime:
    """The current wall-clock time in Beijing (naive, like the exports' times)."""
    return datetime.now(TIMEZONE).replace(tzinfo=None)


def today_local() -> date:
    return now_local().date()


def _doc(text: str, **extra: Any) -> dict[str, Any]:
    return {"doc": text, **extra}


def setting(default: Any, doc: str, **extra: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=_doc(doc, **extra))
    return field(default=default, metadata=_doc(doc, **extra))


def section(cls: type, doc: str) -> Any:
    return field(default_factory=cls, metadata=_doc(doc, section=True))


# --- sections -------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSettings:
    sheet: str = setting("", "要读取的工作表名称或序号（从 1 起）；留空时读每一张有工单表头（有“工单编号”列）的可见工作表", number_ok=True)
    header_row: int = setting(0, "表头所在行（从 1 起）；0 表示自动识别（前 30 行中匹配别名最多的一行）")
    encoding: str = setting("", "CSV 编码；留空时先试 utf-8-sig，再试 gb18030")
    date_format: str = setting(
        "",
        "日期格式（strftime 写法），例如美国导出的 \"%m/%d/%Y %I:%M:%S %p\"；留空时自动识别常见写法",
    )


# [area] scope: one street's data, several streets' (a district center's), or decided from the
# tickets (gaopin.rules.streets); and what the figures of all tickets are called in each.
AUTO_SCOPE, STREET_SCOPE, DISTRICT_SCOPE = "auto", "street", "district"
SCOPES = (AUTO_SCOPE, STREET_SCOPE, DISTRICT_SCOPE)
WHOLE_LABELS = {STREET_SCOPE: "全街道", DISTRICT_SCOPE: "全部街道"}


def whole_label(scope: str | None) -> str:
    """全街道, or 全部街道 in a report of several streets."""
    return WHOLE_LABELS.get(scope or STREET_SCOPE, WHOLE_LABELS[STREET_SCOPE])


@dataclass(frozen=True)
class AreaSettings:
    scope: str = setting(
        AUTO_SCOPE,
        "数据是一个街道的（street：写着相邻街道的工单也算本街道的）还是多个街道的（district，如区中心：报告另按街道分组，"
        "报告、预警和台账中的社区前写明所属街道，如“新村街道·东和社区”）；auto：写了街道的工单中没有一个街道超过一半时为 district（没有街道名称的数据总是 street）",
        choices=list(SCOPES),
    )


@dataclass(frozen=True)
class PointSettings:
    prefixes: list[str] = setting(
        [], "地址开头要去掉的街道、乡镇名称（北京市和 16 个区名总会去掉）", example=["新村街道", "新村"]
    )


@dataclass(frozen=True)
class PointDayRule:
    min_tickets: int = setting(3, "同一点位、同一问题在一个自然日内达到多少件即预警")


@dataclass(frozen=True)
class TwoDayRule:
    min_tickets: int = setting(5, "同一点位、同一问题在连续两天内达到多少件")
    min_persons: int = setting(2, "且来自至少多少位不同诉求人")


@dataclass(frozen=True)
class RulesSettings:
    category_level: int = setting(0, "判断“同一问题”用的分类层级：0 为完整分类路径，1/2/3 为只看前几级；预警、台账和月度报告的问题分类（分组、失分、图表）都按它")
    point_day: PointDayRule = section(PointDayRule, "单日同点位预警（point_day）")
    two_day: TwoDayRule = section(TwoDayRule, "两日多人预警（two_day）")


@dataclass(frozen=True)
class FilterSettings:
    exclude: dict[str, list[str]] = setting(
        {},
        "在所有规则之前剔除的工单：字段（标准字段名或原表头）= 取值列表",
        example={"工单类型": ["咨询"]},
    )


@dataclass(frozen=True)
class OwnerSettings:
    center_head: str = setting("", "中心负责人，每份预警都会写明")
    communities: dict[str, str] = setting(
        {}, "社区 = 包片领导", example={"恰海社区": "张三", "桥一社区": "李四"}
    )


@dataclass(frozen=True)
class StoreSettings:
    path: str = setting("", "工单库（SQLite 文件）路径；留空时用用户数据目录下的 gaopin.db（环境变量 GAOPIN_DB 优先）")


@dataclass(frozen=True)
class CallerLedger:
    min_tickets: int = setting(5, "同一诉求人在连续 days 天内达到多少件列入台账")
    days: int = setting(30, "统计窗口（自然日）")


@dataclass(frozen=True)
class PointLedger:
    min_tickets: int = setting(10, "同一点位在连续 days 天内达到多少件列入台账")
    days: int = setting(30, "统计窗口（自然日）")


@dataclass(frozen=True)
class IssueLedger:
    min_tickets: int = setting(8, "同一点位、同一问题在连续 days 天内达到多少件")
    min_persons: int = setting(3, "且来自至少多少位不同诉求人")
    days: int = setting(90, "统计窗口（自然日）")


@dataclass(frozen=True)
class LedgerSettings:
    due_soon_days: int = setting(3, "办理时限前多少天内显示为“临期”")
    caller: CallerLedger = section(CallerLedger, "高频诉求人")
    point: PointLedger = section(PointLedger, "高频点位")
    issue: IssueLedger = section(IssueLedger, "高频问题")


@dataclass(frozen=True)
class ScoreSettings:
    response_weight: float = setting(0.10, "响应率权重（三项权重之和须为 1）")
    resolution_weight: float = setting(0.50, "解决率权重（三项权重之和须为 1）")
    satisfaction_weight: float = setting(0.40, "满意率权重（三项权重之和须为 1）")
    basic_satisfied_factor: float = setting(0.9, "“基本满意”折算为满意的系数")


@dataclass(frozen=True)
class PeriodSettings:
    start_day: int = setting(1, "考核周期起始日（1–28）：1 为自然月；19 表示上月 19 日至本月 18 日")


@dataclass(frozen=True)
class ReportSettings:
    street: str = setting("", "报告标题、邮件主题里的名称；留空时为工单最多的街乡镇（“丰台区新村街道”与“新村街道”算一个），多个街道的数据为“N 个街道”（见 [area]）")
    rankings: str = setting("", "区里公布的排名 CSV（列：月份, 接诉量排名, 综合成绩排名, 市直派成绩）")
    out_dir: str = setting(
        "", "报告输出目录，实际输出到其下的 YYYY-MM/；相对路径相对于配置文件所在的文件夹；留空时为当前文件夹下的 reports/"
    )
    font: str = setting("", "图表用的中文字体文件（.otf/.ttf）；留空时用随包安装的思源黑体（Noto Sans SC）")
    cache_dir: str = setting(
        "",
        "图表和网页字体的缓存目录：数字没有变的报告（重出一次，或导入新数据后重出上个月的）直接用上次画好的图表和字体；"
        f"相对路径相对于配置文件所在的文件夹；留空时为用户缓存目录下的 gaopin/report；设为 {CACHE_OFF} 则不缓存",
    )


@dataclass(frozen=True)
class MailSettings:
    host: str = setting("", "SMTP 服务器")
    port: int = setting(465, "SMTP 端口（ssl 通常 465，starttls 通常 587）")
    security: str = setting("ssl", "加密方式：ssl、starttls 或 none", choices=["ssl", "starttls", "none"])
    username: str = setting("", "SMTP 登录名；留空则不登录", number_ok=True)
    password_file: str = setting(
        "", "存放 SMTP 密码的文件（只能本人可读）；也可用环境变量 GAOPIN_SMTP_PASSWORD；不能写在命令行里"
    )
    sender: str = setting("", "发件人地址（配置文件里写作 from）", key="from")
    to: list[str] = setting([], "收件人列表")
    cc: list[str] = setting([], "抄送列表")
    cafile: str = setting("", "私有 CA 证书文件（PEM）；留空时用系统证书")
    timeout: float = setting(30.0, "连接超时（秒，大于 0、至多 3600）")


@dataclass(frozen=True)
class NotifySettings:
    webhook: str = setting("", "群机器人 webhook 地址")
    format: str = setting("wecom", "机器人类型：wecom（企业微信）或 dingtalk（钉钉）", choices=["wecom", "dingtalk"])
    secret: str = setting("", "钉钉机器人加签密钥（可选）；也可用环境变量 GAOPIN_NOTIFY__SECRET")
    timeout: float = setting(15.0, "请求超时（秒，大于 0、至多 3600）")


@dataclass(frozen=True)
class DeliverySettings:
    catch_up_days: int = setting(
        CATCH_UP_DAYS,
        "warn --date D 发送（--email/--notify）时，还补发在 D 之前这么多天内结束、尚未发送的预警（注明“补发”）；0 为只发 D 当天结束的",
    )


@dataclass(frozen=True)
class LogSettings:
    file: str = setting("", "日志文件；留空时写到用户日志目录下的 gaopin.log")
    max_bytes: int = setting(1_000_000, "日志文件达到多少字节后轮换")
    backups: int = setting(5, "保留几个旧日志文件")


@dataclass(frozen=True)
class PrivacySettings:
    mask_phones: bool = setting(True, "在所有给人看的输出中隐藏电话中间四位（138****5678）")
    mask_names: bool = setting(False, "在给人看的输出中隐藏姓名（张*）")
    retention_months: int = setting(0, "gaopin purge 不带 --before 时删除多少个月以前的工单；0 表示不设期限")


@dataclass(frozen=True)
class LimitSettings:
    max_file_mb: int = setting(1024, "输入文件（xlsx、xls、csv、网页）大小上限（MB）")
    max_uncompressed_mb: int = setting(2048, "xlsx 解压后总大小上限（MB，按压缩包的声明）")
    max_ratio: int = setting(200, "xlsx 中任一文件的压缩比上限")
    max_cells: int = setting(
        20_000_000, "工作表数据区域的单元格数上限（行 × 列；读取时每个单元格约占 100 字节内存，2000 万约 2 GB）"
    )
    max_columns: int = setting(16_384, "工作表列数上限（Excel 本身最多 16384 列）")
    max_rows: int = setting(1_048_576, "工作表行数上限（Excel 本身最多 1048576 行）")


@dataclass(frozen=True)
class Settings:
    load: LoadSettings = section(LoadSettings, "读取选项")
    columns: dict[str, Any] = setting(
        {},
        "表头映射：标准字段名 = \"原表头\"（分类也可写成层级列表），优先于内置别名",
        example={"ticket_id": "Case ID", "received_at": "Created Date", "category": ["L1", "L2", "L3"]},
    )
    area: AreaSettings = section(AreaSettings, "数据范围：一个街道或多个街道")
    point: PointSettings = section(PointSettings, "点位（地址归一到楼栋）")
    rules: RulesSettings = section(RulesSettings, "提早预警规则")
    filters: FilterSettings = section(FilterSettings, "预警前剔除的工单")
    owners: OwnerSettings = section(OwnerSettings, "责任领导（1+9+28）")
    store: StoreSettings = section(StoreSettings, "工单库")
    ledger: LedgerSettings = section(LedgerSettings, "高频诉求台账")
    score: ScoreSettings = section(ScoreSettings, "三率与综合成绩")
    period: PeriodSettings = section(PeriodSettings, "考核周期")
    report: ReportSettings = section(ReportSettings, "月度报告")
    mail: MailSettings = section(MailSettings, "邮件发送")
    notify: NotifySettings = section(NotifySettings, "群机器人通知")
    delivery: DeliverySettings = section(DeliverySettings, "定时发送")
    log: LogSettings = section(LogSettings, "日志")
    privacy: PrivacySettings = section(PrivacySettings, "隐私")
    limits: LimitSettings = section(LimitSettings, "输入文件安全上限")

    # Where the settings came from; relative paths in the file are relative to it.
    source: str = field(default="", metadata={"internal": True})

    def resolve_path(self, value: str) -> Path:
        """A path from the settings, relative to the config file's folder."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.source:
            path = Path(self.source).parent / path
        return path

    def with_values(self, values: dict[str, Any]) -> "Settings":
        """A copy with dotted keys (`rules.point_day.min_tickets`) replaced: used for flags."""
        merged = to_dict(self)
        for dotted, value in values.items():
            if value is None:
                continue
            node = merged
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        built = _build(Settings, merged, "", origin="命令行参数")
        return dataclasses.replace(built, source=self.source)


# --- reading ---------------------------------------------------------------------------


def _toml_key(f: dataclasses.Field) -> str:
    return f.metadata.get("key", f.name)


def _public_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if not f.metadata.get("internal")]


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        return "字符串列表"
    if origin is dict:
        return "表"
    return {int: "整数", float: "数字", str: "字符串", bool: "true/false"}.get(tp, str(tp))


# Settings whose value is a credential (the webhook's address holds the robot's key): an error
# names its type, never the value, which would reach a terminal and cron's mail.
SECRET_SETTINGS = ("notify.webhook", "notify.secret")


def _shown(where: str, value: Any) -> str:
    if where not in SECRET_SETTINGS:
        return repr(value)
    kind = {bool: "true/false", int: "整数", float: "数字", str: "字符串", list: "列表", dict: "表"}.get(type(value), type(value).__name__)
    return f"一个{kind}（内容不显示）"


def _coerce(tp: Any, value: Any, where: str, f: dataclasses.Field | None = None) -> Any:
    origin = get_origin(tp)
    bad = ConfigError(
        f"配置项 {where} 应为{_type_name(tp)}，实际是 {_shown(where, value)}",
        "请修改 gaopin.toml（或对应的环境变量），可运行 gaopin init 查看默认写法",
    )
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad
        val_type = get_args(tp)[1]
        out: dict[str, Any] = {}
        for k, v in value.items():
            if val_type is Any:
                if not (isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))):
                    raise ConfigError(
                        f"配置项 {where}.{k} 应为字符串或字符串列表，实际是 {v!r}",
                        "请修改 gaopin.toml 的 [columns] 表",
                    )
                out[str(k)] = v
            else:
                out[str(k)] = _coerce(val_type, v, f"{where}.{k}")
        return out
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if isinstance(value, int) and not isinstance(value, bool) and f is not None and f.metadata.get("number_ok"):
            value = str(value)  # sheet = 2; a numeric SMTP login
        if not isinstance(value, str):
            raise bad
        choices = f.metadata.get("choices") if f is not None else None
        if choices and value not in choices:
            raise ConfigError(
                f"配置项 {where} 的值 {value!r} 无效",
                f"可选值：{'、'.join(choices)}",
            )
        return value
    raise bad  # pragma: no cover - every field type is handled above


def _build(cls: type, data: dict[str, Any], prefix: str, origin: str) -> Any:
    hints = get_type_hints(cls)
    fields = {_toml_key(f): f for f in _public_fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        where = f"{prefix}{key}"
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f"是不是想写 {prefix}{close[0]}？" if close else "请对照 gaopin init 生成的默认文件检查拼写"
        if prefix == "mail." and "pass" in key.lower():
            # Not "did you mean password_file?": that invites the password written as a path.
            hint = "密码不能写在 gaopin.toml 里：请存进一个只有本人可读的文件，用 mail.password_file 写明这个文件的路径，或设环境变量 GAOPIN_SMTP_PASSWORD"
        raise ConfigError(f"{origin}中有未知的配置项 {where}", hint)
    values: dict[str, Any] = {}
    for key, f in fields.items():
        tp = hints[f.name]
        if key not in data:
            continue
        where = f"{prefix}{key}"
        if dataclasses.is_dataclass(tp):
            sub = data[key]
            if not isinstance(sub, dict):
                raise ConfigError(f"{origin}中 {where} 应为一个表 [{where}]", "请对照 gaopin init 生成的默认文件修改")
            values[f.name] = _build(tp, sub, f"{where}.", origin)
        else:
            values[f.name] = _coerce(tp, data[key], where, f)
    try:
        obj = cls(**values)
    except TypeError as exc:  # pragma: no cover - guarded by the checks above
        raise ConfigError(f"{origin}无法解析：{exc}") from exc
    _validate(obj, prefix, origin)
    return obj


def _fix_where(origin: str, key: str) -> str:
    """Where the user changes a bad value: the file, the environment variable or the option."""
    if origin == "环境变量":
        return f"请修改环境变量 {ENV_PREFIX}{key.upper().replace('.', '__')}"
    if origin == "命令行参数":
        return "请检查命令行选项的取值"
    return f"请修改{origin.strip()}" if origin.startswith("配置文件") else "请修改 gaopin.toml"


# The lowest value of settings that a value below it would turn against the user: a negative
# retention made `purge` delete every ticket (its cut-off in the future), a log of at most 0
# bytes never rotated, a negative 临期 window never showed 临期.
LOWEST = {"privacy.retention_months": 0, "ledger.due_soon_days": 0, "log.max_bytes": 1, "log.backups": 0, "mail.port": 1, "delivery.catch_up_days": 0}
# And the highest, where a larger one reaches past the calendar (a retention of 30,000 months
# ended in year -476, an internal error) or past what the setting can mean.
HIGHEST = {
    "privacy.retention_months": 1200,
    "delivery.catch_up_days": 366,
    "ledger.due_soon_days": 366,
    "ledger.caller.days": 3660,
    "ledger.point.days": 3660,
    "ledger.issue.days": 3660,
    "log.backups": 1000,
    "mail.port": 65535,
}


def _validate(obj: Any, prefix: str, origin: str = "") -> None:
    """Range checks that the type alone cannot express."""

    def fail(key: str, text: str) -> None:
        raise ConfigError(f"配置项 {prefix}{key} {text}", _fix_where(origin, prefix + key))

    if isinstance(obj, RulesSettings) and obj.category_level not in (0, 1, 2, 3):
        fail("category_level", f"应为 0、1、2 或 3，实际是 {obj.category_level}")
    if isinstance(obj, (MailSettings, NotifySettings)) and not (math.isfinite(obj.timeout) and 0 < obj.timeout <= MAX_TIMEOUT):
        # 0 would make the socket non-blocking, a negative one is refused by it: both only fail
        # while sending, after the send was recorded.
        raise ConfigError(
            f"配置项 {prefix}timeout 应在 0 到 {MAX_TIMEOUT} 秒之间（不含 0），实际是 {obj.timeout:g}",
            f"{_fix_where(origin, prefix + 'timeout')}，例如 {'30' if origin == '环境变量' else 'timeout = 30'}",
        )
    if isinstance(obj, PeriodSettings) and not 1 <= obj.start_day <= 28:
        fail("start_day", f"应在 1 到 28 之间，实际是 {obj.start_day}")
    if isinstance(obj, LoadSettings):
        if obj.header_row < 0:
            fail("header_row", "不能为负数")
        if obj.encoding:
            try:
                codecs.lookup(obj.encoding)
            except LookupError:
                raise ConfigError(
                    f"配置项 {prefix}encoding 的编码名称“{obj.encoding}”无效", "常用编码：utf-8-sig、gb18030、utf-16"
                ) from None
        if obj.date_format:
            problem = _date_format_problem(obj.date_format)
            if problem:
                raise ConfigError(
                    f"配置项 {prefix}date_format 的写法“{obj.date_format}”无效（{problem}）",
                    "请按 strftime 写法填写，例如 \"%m/%d/%Y %I:%M:%S %p\"",
                )
    for f in _public_fields(type(obj)):
        value = getattr(obj, f.name)
        lowest, highest = LOWEST.get(prefix + f.name), HIGHEST.get(prefix + f.name)
        if lowest is not None and not value >= lowest:
            fail(f.name, f"应至少为 {lowest}，实际是 {value}")
        if highest is not None and not value <= highest:
            fail(f.name, f"应至多为 {highest}，实际是 {value}")
        # A limit of 0 would refuse every file (a 3 KB export reported as "1 MB, over 0 MB").
        if (f.name in ("min_tickets", "min_persons", "days") or isinstance(obj, LimitSettings)) and value < 1:
            fail(f.name, f"应至少为 1，实际是 {value}")
        if f.name.endswith("_weight") or f.name == "basic_satisfied_factor":
            if not 0 <= value <= 1:
                fail(f.name, f"应在 0 到 1 之间，实际是 {value}")
    if isinstance(obj, ScoreSettings):
        total = obj.response_weight + obj.resolution_weight + obj.satisfaction_weight
        # The composite score is a weighted mean on 0–100: weights adding up to anything
        # else (a typo such as 0.1/0.5/0.5) would give scores above 100 or deflated ones.
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ConfigError(
                f"配置项 {prefix}response_weight、resolution_weight、satisfaction_weight 之和应为 1，实际是 {total:g}"
                f"（{obj.response_weight:g} + {obj.resolution_weight:g} + {obj.satisfaction_weight:g}）",
                "请修改 gaopin.toml，例如北京的权重 0.1、0.5、0.4",
            )


def _date_format_problem(fmt: str) -> str | None:
    """Why pandas cannot use `fmt` ('Q' is a bad directive …), or None."""
    import pandas as pd  # only when a format is configured: it is the parser that will use it

    try:
        pd.to_datetime(pd.Series(["2024-08-03"]), format=fmt, errors="coerce")
    except ValueError as exc:
        return str(exc).splitlines()[0][:120]
    return None


def to_dict(obj: Any) -> dict[str, Any]:
    """Settings as a TOML-shaped dict (keys as written in the file)."""
    out: dict[str, Any] = {}
    for f in _public_fields(type(obj)):
        value = getattr(obj, f.name)
        out[_toml_key(f)] = to_dict(value) if dataclasses.is_dataclass(value) else value
    return out


def _parse_env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _env_value(parts: list[str], text: str) -> Any:
    """An environment value read for the type of the setting it names.

    Text settings keep the text as it is (a sheet named 2024.08 or a user named true is
    not a number or a boolean); lists may be written as TOML arrays; numbers and booleans
    are read as TOML.
    """
    types = {key: tp for key, _, tp in iter_settings()}
    tp: Any = None
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in types:
            tp = types[key]
            if n < len(parts):  # a key inside a table such as [columns] or [owners.communities]
                tp = get_args(tp)[1] if get_origin(tp) is dict and n == len(parts) - 1 else None
            break
    if tp is str or tp is Any or get_origin(tp) is list:
        stripped = text.strip()
        # Text quoted as in the file ("王五") is that text; a list is written as a TOML array.
        quoted = len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "\"'"
        if quoted or (tp is not str and stripped.startswith("[")):
            parsed = _parse_env_value(stripped)
            return parsed if tp is not str or isinstance(parsed, str) else text
        return text
    return _parse_env_value(text)


def env_overrides(environ: dict[str, str] | os._Environ) -> dict[str, Any]:
    """`GAOPIN_RULES__POINT_DAY__MIN_TICKETS=4` as a nested dict; GAOPIN_DB names the store."""
    data: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        node = data
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _env_value(parts, raw)
    if environ.get(ENV_DB):
        data.setdefault("store", {})["path"] = environ[ENV_DB]
    # A relative path in a variable means the current folder, as on the command line (a path
    # in the file is relative to the file's folder: see Settings.resolve_path).
    for dotted in PATH_SETTINGS:
        section, key = dotted.split(".")
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            data[section][key] = str(Path.cwd() / Path(value).expanduser())
    return data


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / CONFIG_FILE_NAME


def report_cache_dir(settings: "Settings") -> Path | None:
    """[report] cache_dir (relative to the config file), else the user cache directory; None: off."""
    value = settings.report.cache_dir
    if value.strip().lower() == CACHE_OFF:
        return None
    if value:
        return settings.resolve_path(value)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "report"


def log_path(settings: "Settings") -> Path:
    """[log] file (relative to the config file), else gaopin.log in the user log directory."""
    if settings.log.file:
        return settings.resolve_path(settings.log.file)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)) / LOG_FILE_NAME


def find_config(explicit: str | os.PathLike[str] | None, environ: dict[str, str] | os._Environ | None = None) -> Path | None:
    """--config, else $GAOPIN_CONFIG, else ./gaopin.toml, else the user config dir."""
    environ = os.environ if environ is None else environ
    chosen = explicit or environ.get(ENV_CONFIG)
    if chosen:
        path = Path(chosen).expanduser()
        if path.is_dir():
            raise ConfigError(f"配置文件 {path} 是一个文件夹", f"请写出其中的文件，例如 {path / CONFIG_FILE_NAME}")
        kind = not_a_file(path)  # a named pipe, a device: reading it would wait or never end
        if kind:
            raise ConfigError(f"配置文件 {path} 不是普通文件（是{kind}）", "请检查 --config 或 GAOPIN_CONFIG 的路径，或运行 gaopin init 生成一个")
        if not path.is_file():
            raise ConfigError(f"找不到配置文件 {path}", "请检查 --config 或 GAOPIN_CONFIG 的路径，或运行 gaopin init 生成一个")
        return path
    for candidate in (Path.cwd() / CONFIG_FILE_NAME, default_config_path()):
        if candidate.is_file():
            return candidate
        if candidate.is_dir():  # not silently passed over: the settings staff wrote would be ignored
            raise ConfigError(f"{candidate} 是一个文件夹，不是配置文件", "请把它改名或移走，再用 gaopin init 生成配置文件")
    return None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码", "请用 UTF-8 编码保存 gaopin.toml") from exc
    except OSError as exc:
        raise ConfigError(f"无法读取配置文件 {path}：{os_reason(exc)}", "请检查文件权限") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path} 格式错误：{exc}", _toml_hint(text, exc)) from exc


_FULL_WIDTH_SYNTAX = {"［": "[", "］": "]", "＝": "=", "＂": '"', "“": '"', "”": '"', "‘": "'", "’": "'", "，": ",", "＃": "#", "｛": "{", "｝": "}"}


def _toml_hint(text: str, exc: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError has no lineno attribute; the message carries it.
    found = re.search(r"at line (\d+)", str(exc))
    lineno = int(found.group(1)) if found else None
    lines = text.splitlines()
    if lineno and 0 < lineno <= len(lines):
        line = lines[lineno - 1]
        # Typed with a Chinese input method: ［report］, street ＝ "…", “…”. Text inside proper
        # quotes may hold any of these.
        outside = re.sub(r'"[^"]*"|\'[^\']*\'', "", line)
        wide = [c for c in dict.fromkeys(outside) if c in _FULL_WIDTH_SYNTAX]
        if wide:
            shown = "、".join(f"“{c}”→“{_FULL_WIDTH_SYNTAX[c]}”" for c in wide)
            return f"第 {lineno} 行有中文输入法打出的全角符号，请改成英文半角：{shown}"
        key = line.split("=", 1)[0].strip()
        if key and not key.startswith(('"', "'", "[", "#")) and not key.isascii():
            return f'中文的键名要加英文双引号，例如 "{key}" = "…"'
    return "请按 TOML 格式修改（字符串值要加英文双引号）"


def load_settings(
    config: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | os._Environ | None = None,
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """Defaults, then the config file, then GAOPIN_* variables, then dotted-key overrides."""
    environ = os.environ if environ is None else environ
    path = find_config(config, environ)
    data: dict[str, Any] = {}
    if path is not None:
        data = read_toml(path)
        _build(Settings, data, "", origin=f"配置文件 {path} ")
    env = env_overrides(environ)
    if env:
        _build(Settings, _deep_merge(data, env), "", origin="环境变量")
        data = _deep_merge(data, env)
    settings = _build(Settings, data, "", origin="配置")
    settings = dataclasses.replace(settings, source=str(path) if path else "")
    if overrides:
        settings = settings.with_values(overrides)
    return settings


# --- rendering -------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_bare(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)  # pragma: no cover


def _toml_bare(key: str) -> str:
    return key if key.replace("_", "").isascii() and key.replace("_", "").isalnum() else _toml_value(key)


def iter_settings(cls: type = Settings, prefix: str = "") -> list[tuple[str, dataclasses.Field, Any]]:
    """(dotted key, field, type) of every leaf setting, in file order."""
    hints = get_type_hints(cls)
    out = []
    for f in _public_fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{_toml_key(f)}"
        if dataclasses.is_dataclass(tp):
            out.extend(iter_settings(tp, f"{key}."))
        else:
            out.append((key, f, tp))
    return out


def _default_of(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def render_default_toml() -> str:
    """The commented default gaopin.toml that `gaopin init` writes."""
    lines = [
        "# gaopin 配置文件（TOML 格式）。",
        "# 每一项都写着默认值（[columns]、[filters]、[owners.communities] 下写的是示例，不是默认值）；去掉行首的 # 再修改即可生效。",
        "# 环境变量可覆盖任何一项：GAOPIN_<节>__<项>，例如 GAOPIN_RULES__POINT_DAY__MIN_TICKETS=4。",
        "",
    ]

    def emit(cls: type, prefix: str, title: str) -> None:
        hints = get_type_hints(cls)
        leaves = [f for f in _public_fields(cls) if not dataclasses.is_dataclass(hints[f.name])]
        subs = [f for f in _public_fields(cls) if dataclasses.is_dataclass(hints[f.name])]
        table_leaves = [f for f in leaves if get_origin(hints[f.name]) is dict]
        plain_leaves = [f for f in leaves if get_origin(hints[f.name]) is not dict]
        if prefix and plain_leaves:
            lines.append(f"# {title}")
            lines.append(f"[{prefix}]")
            for f in plain_leaves:
                lines.append(f"# {f.metadata['doc']}")
                lines.append(f"# {_toml_key(f)} = {_toml_value(_default_of(f))}")
            lines.append("")
        for f in table_leaves:
            key = f"{prefix}.{_toml_key(f)}" if prefix else _toml_key(f)
            lines.append(f"# {f.metadata['doc']}")
            example = f.metadata.get("example", {})
            if key == "filters.exclude":
                lines.append(f"# [{prefix}]")
                lines.append(f"# exclude = {_toml_value(example)}")
            else:
                lines.append(f"# [{key}]")
                for k, v in example.items():
                    lines.append(f"# {_toml_bare(k)} = {_toml_value(v)}")
            lines.append("")
        for f in subs:
            key = f"{prefix}.{_toml_key(f)}" if prefix else _toml_key(f)
            emit(hints[f.name], key, f.metadata["doc"])

    emit(Settings, "", "")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown_table() -> str:
    """The settings table of docs/configuration.md (a test keeps the page in step)."""
    rows = ["| 配置项 | 类型 | 默认值 | 说明 |", "|---|---|---|---|"]
    for key, f, tp in iter_settings():
        default = _toml_value(_default_of(f))
        doc = f.metadata["doc"].replace("|", "\\|")
        rows.append(f"| `{key}` | {_type_name(tp)} | `{default}` | {doc} |")
    return "\n".join(rows) + "\n"
