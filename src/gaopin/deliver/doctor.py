"""`gaopin doctor`: is everything a scheduled run needs in place? Each check says what to fix.

Nothing here changes anything: the store is opened read-only (an old schema is reported,
not upgraded), the SMTP check logs in and quits without sending, the webhook check opens
a TCP/TLS connection to the robot's host without posting.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from typing import Mapping

from gaopin.config import Settings, load_settings, log_path, report_cache_dir
from gaopin.errors import ExitCode, GaopinError

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"


@dataclass
class Check:
    name: str
    status: str  # ok | fail | warn | skip
    detail: str
    hint: str = ""
    exit_code: int = 0  # of a failure: what a real run would end with

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail, "hint": self.hint}


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks)

    @property
    def exit_code(self) -> int:
        """The exit code of the first failed check, 0 when none failed."""
        return next((c.exit_code for c in self.checks if c.status == FAIL), int(ExitCode.OK))

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def _failed(name: str, exc: GaopinError) -> Check:
    return Check(name, FAIL, exc.message, exc.hint or "", int(exc.exit_code))


def check_config(config: str | os.PathLike[str] | None, environ: Mapping[str, str] | None) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(config, environ)
    except GaopinError as exc:
        return _failed("配置", exc), None
    if settings.source:
        return Check("配置", OK, f"使用 {settings.source}"), settings
    # Defaults are enough to read exports, not to send anything: from cron, whose folder is not
    # gaopin.toml's, this is the usual reason the mail and robot settings are "missing".
    from gaopin.config import CONFIG_FILE_NAME, ENV_CONFIG

    return (
        Check(
            "配置",
            WARN,
            f"没有找到 {CONFIG_FILE_NAME}，使用默认设置（没有邮件和群机器人的设置）",
            f"定时任务（cron）里请设置 {ENV_CONFIG}=/完整路径/{CONFIG_FILE_NAME} 或加 --config；还没有配置文件时用 gaopin init 生成",
        ),
        settings,
    )


def check_store(settings: Settings, db: str | None) -> Check:
    from gaopin.deliver.sends import PENDING, UNKNOWN
    from gaopin.store.db import LATEST, damaged_error, is_damaged, is_damaged_error, is_lock_error, locked_error, refuse_unusable_path
    from gaopin.store.store import db_path

    path = db_path(db, settings)
    try:
        refuse_unusable_path(path)  # SQLite would say only "disk I/O error"
    except GaopinError as exc:
        return _failed("工单库", exc)
    if not path.exists():
        folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
        if folder is None or not os.access(folder, os.W_OK):
            return Check("工单库", FAIL, f"{path} 不存在，所在位置也无法写入", "请用 --db、GAOPIN_DB 或 [store] path 换一个可写的位置", int(ExitCode.STORE))
        return Check("工单库", WARN, f"{path} 尚未创建", "先运行 gaopin import 导入工单；发送记录也保存在工单库中")
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
        return Check("工单库", FAIL, f"{path} 或其所在文件夹不可写", "SQLite 需要能写文件本身和它所在的文件夹（用于日志文件）；请检查权限", int(ExitCode.STORE))
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            # Every page read once (about 7 s for a store of a million tickets not yet in the
            # system's cache, 0.3 s when it is): a damaged page shows nowhere else until a run reads it.
            if is_damaged(conn):
                return _failed("工单库", damaged_error(path))
            tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0] if version >= 1 else 0
            stuck = 0
            if version >= 3:
                stuck = conn.execute(
                    "SELECT count(*) FROM sends WHERE id IN (SELECT max(id) FROM sends GROUP BY kind, channel, key) AND status IN (?, ?)",
                    (UNKNOWN, PENDING),
                ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        if is_damaged_error(exc):
            return _failed("工单库", damaged_error(path))
        if is_lock_error(exc):  # being written: not a reason to restore anything
            return _failed("工单库", locked_error())
        return Check("工单库", FAIL, f"{path} 无法读取：{exc}", "如文件已损坏，请从备份恢复", int(ExitCode.STORE))
    if version > LATEST:
        return Check("工单库", FAIL, f"{path} 由更新版本的 gaopin 创建（结构版本 {version}）", "请升级 gaopin", int(ExitCode.STORE))
    detail = f"{path}：结构版本 {version}，{tickets} 张工单"
    if version < LATEST:
        return Check("工单库", WARN, detail, f"下一个用到工单库的命令（import、warn、ledger、report、sends……）会把它自动升级到结构版本 {LATEST}（升级前自动备份为 {path.name}.v{version}.bak；升级后旧版本的 gaopin 不能再打开它）")
    if stuck:
        return Check("工单库", WARN, detail + f"；{stuck} 条发送结果不确定", "请确认这些邮件/群消息是否收到（编号见 gaopin sends）：收到了运行 gaopin sends --confirm 编号，没收到运行 gaopin sends --resend 编号")
    return Check("工单库", OK, detail)


def check_sends(settings: Settings, db: str | None) -> Check | None:
    """Earlier failures whose message was not kept: no run resends them, so a person is told
    which command does (None when there are none, or no store of a version that keeps messages)."""
    from gaopin.deliver.run import not_retried_notice
    from gaopin.deliver.sends import SendLog
    from gaopin.store.store import db_path

    path = db_path(db, settings)
    if not path.is_file():  # none yet, or no store at all (the store check says so)
        return None
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=5)
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] < 6:  # no kept messages yet: told after the upgrade
                return None
            records = SendLog(conn).not_retried()
        finally:
            conn.close()
    except sqlite3.Error:  # the store check says what is wrong with the store
        return None
    if not records:
        return None
    what, commands = not_retried_notice([{**r.to_dict(), "message": r.message} for r in records])
    return Check("发送记录", WARN, what, f"请运行 {'；'.join(commands)}，按现在的数据重新发送（发送成功后不再提示）")


def check_font(settings: Settings) -> Check:
    from gaopin.charts import find_cjk_font

    try:
        font = find_cjk_font(settings.resolve_path(settings.report.font) if settings.report.font else "")
    except GaopinError as exc:
        return _failed("中文字体", exc)
    return Check("中文字体", OK, str(font))


def check_report_cache(settings: Settings) -> Check:
    from gaopin.cache import Cache

    root = report_cache_dir(settings)
    if root is None:
        return Check("报告缓存", SKIP, "[report] cache_dir = \"off\"：每次都重画图表")
    problem = Cache(root).problem()
    if problem is not None:
        return Check(
            "报告缓存", WARN, f"{root} {problem}，不能用作缓存",
            "报告照常生成，只是数字没有变时也要重画图表；请在 [report] cache_dir 换一个只有你能写的文件夹，或设为 off",
        )  # fmt: skip
    return Check("报告缓存", OK, str(root))


def check_log(settings: Settings) -> Check:
    path = log_path(settings)
    folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), None)
    if path.is_dir():  # writable as a folder, but no log can be written to it
        return Check("日志", FAIL, f"[log] file 指向的 {path} 是一个文件夹", "请写文件夹里的一个文件名，例如 logs/gaopin.log", int(ExitCode.CONFIG))
    target = path if path.exists() else folder
    if target is None or (target is folder and not folder.is_dir()) or not os.access(target, os.W_OK):
        return Check("日志", FAIL, f"无法写入日志文件 {path}", "请在 [log] file 中换一个可写的位置", int(ExitCode.CONFIG))
    return Check("日志", OK, str(path))


def check_mail(settings: Settings, environ: Mapping[str, str] | None, network: bool) -> Check:
    from gaopin.deliver import mail

    m = settings.mail
    if not (m.host or m.sender or m.to):
        return Check("邮件", SKIP, "没有配置 [mail]", "需要 --email 时，在 gaopin.toml 的 [mail] 中填写 host、from、to 等")
    try:
        mail.check_settings(m)
        secret = mail.password(m, settings, environ)
        context = mail.ssl_context(m, settings)
        if not network:
            return Check("邮件", OK, f"{m.host}:{m.port}（{m.security}）设置齐全，未测试连接")
        detail = mail.check_login(m, secret, context)
    except GaopinError as exc:
        return _failed("邮件", exc)
    if m.security == "none" and m.username:
        return Check("邮件", WARN, detail, "密码以明文传输：请改用 security = \"ssl\" 或 \"starttls\"")
    return Check("邮件", OK, detail + f"；收件人 {len(m.to)} 个" + (f"，抄送 {len(m.cc)} 个" if m.cc else ""))


def check_webhook(settings: Settings, network: bool) -> Check:
    from gaopin.deliver import webhook

    n = settings.notify
    if not n.webhook:
        return Check("群机器人", SKIP, "没有配置 [notify] webhook", "需要 --notify 时，填写企业微信或钉钉群机器人的 webhook 地址")
    try:
        webhook.check_url(n.webhook)
        if not network:
            return Check("群机器人", OK, f"{webhook.redact(n.webhook)}（{n.format}），未测试连接")
        detail = webhook.reachable(n.webhook, n.timeout)
    except GaopinError as exc:
        return _failed("群机器人", exc)
    label = {"wecom": "企业微信", "dingtalk": "钉钉"}[n.format]
    if n.format == "dingtalk" and not n.secret:
        return Check("群机器人", WARN, f"{label}：{detail}", "没有配置加签密钥 [notify] secret；机器人开启了“加签”时必须配置")
    return Check("群机器人", OK, f"{label}：{detail}")


def run_checks(
    config: str | os.PathLike[str] | None = None,
    db: str | None = None,
    environ: Mapping[str, str] | None = None,
    network: bool = True,
) -> DoctorReport:
    report = DoctorReport()
    first, settings = check_config(config, environ)
    report.checks.append(first)
    if settings is None:
        return report
    report.checks.append(check_store(settings, db))
    sends = check_sends(settings, db)
    if sends is not None:
        report.checks.append(sends)
    report.checks.append(check_font(settings))
    report.checks.append(check_report_cache(settings))
    report.checks.append(check_log(settings))
    report.checks.append(check_mail(settings, environ, network))
    report.checks.append(check_webhook(settings, network))
    return report


__all__ = ["Check", "DoctorReport", "run_checks", "OK", "FAIL", "WARN", "SKIP"]
