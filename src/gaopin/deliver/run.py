"""Delivery runs: build every message first, then send each channel exactly once.

`report_and_deliver` and `warn_and_deliver` are what `gaopin report/warn --email/--notify`
call. A run:

1. checks the configuration of every requested channel (a ConfigError sends nothing);
2. takes the delivery lock (two runs at once: the second waits, then sees what the first
   sent, or gives up with LockedError);
3. makes the report / finds the warnings; settles `pending` rows left by a killed run;
4. resends, as they were (sender and recipients as [mail] says now), the kept messages of
   earlier runs that failed and carry something this run does not (another day's warnings, another month's report);
5. plans each channel from the sends record (what was never sent, or failed cleanly;
   all with --force) and builds each channel's whole message;
6. for each channel: records `pending` with the message, sends, records `sent` / `failed` / `unknown`;
7. raises the most serious failure after all channels had their turn, and exits 9 while
   any send, of this run or an earlier one, has an unknown outcome nobody has settled.

With dry_run the messages are written to files (.eml, payload .json) and nothing is
recorded or sent.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import ssl
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterator, Mapping, TypeVar

from gaopin.config import TIMEZONE, Settings
from gaopin.deliver import content, mail, webhook
from gaopin.deliver.lock import LOCK_TIMEOUT, delivery_lock
from gaopin.deliver.sends import (
    EMAIL,
    ESCALATION,
    FAILED,
    NOTIFY,
    REPORT,
    SENT,
    UNKNOWN,
    WARNING,
    Item,
    Plan,
    SendLog,
    SendRecord,
    Stored,
    report_key,
    resend_commands,
    sent_together,
    shown_key,
)
from gaopin.errors import ConfigError, DeliveryError, GaopinError, InputError, StoreError, UnknownOutcomeError, UsageError
from gaopin.rules.warn import WarnReport

CHANNELS = (EMAIL, NOTIFY)
CHANNEL_LABELS = {EMAIL: "邮件", NOTIFY: "群机器人"}
FORMAT_LABELS = {webhook.WECOM: "企业微信", webhook.DINGTALK: "钉钉"}
log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(TIMEZONE)


# --- results ----------------------------------------------------------------------------

# ChannelResult.status
DONE, DRY_RUN, NOTHING_NEW, ALREADY_SENT, NOT_SENT = "sent", "dry_run", "nothing_new", "already_sent", "not_sent"


@dataclass
class ChannelResult:
    channel: str
    status: str  # sent | dry_run | nothing_new | already_sent | failed | unknown | not_sent
    what: str  # "2024-08 月度报告", "2 条预警、1 件提级办理"
    sent: list[str] = field(default_factory=list)  # keys sent (or, in a dry run, that would be)
    already_sent: list[dict] = field(default_factory=list)  # {"key", "finished_at", "message_id"}
    unknown: list[dict] = field(default_factory=list)  # earlier outcome unknown, not resent
    message_id: str | None = None
    file: str | None = None
    omitted: int = 0  # counted in the robot message but not listed (size limit)
    error: str | None = None
    hint: str | None = field(default=None, repr=False)  # what to do about the error; not serialised
    ids: list[int] = field(default_factory=list, repr=False)  # the sends rows of this attempt; not serialised

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.pop("hint")
        out.pop("ids")
        return out

    def lines(self) -> list[str]:
        label = CHANNEL_LABELS[self.channel]
        out = []
        if self.status == DONE:
            out.append(f"{label}：已发送 {self.what}" + (f"（Message-ID {self.message_id}）" if self.channel == EMAIL else ""))
        elif self.status == DRY_RUN and self.file is None:  # a failed message the real run resends first
            out.append(f"{label}：演练，正式运行时会先按原样重发{self.what}，没有发送")
        elif self.status == DRY_RUN:
            out.append(f"{label}：演练，{self.what} 已写入 {self.file}，没有发送")
        elif self.status == NOTHING_NEW:
            out.append(f"{label}：没有新的预警，未发送")
        elif self.status == ALREADY_SENT:
            first = self.already_sent[0]
            out.append(f"{label}：{self.what} 已于 {first['finished_at']} 发送过，未重发（如需重发请加 --force）")
        elif self.status == FAILED:
            out.append(f"{label}：{self.what} 发送失败：{self.error}")
        elif self.status == UNKNOWN:
            out.append(f"{label}：{self.what} 结果不确定：{self.error}（{_number(self.ids)}）")
        if self.unknown:
            out.append(f"{label}：{_numbered(self.unknown, channel=False)} 上次发送结果不确定，没有重发（确认未收到后可加 --force 重发）")
        if self.omitted:
            out.append(f"{label}：消息长度有限，另有 {self.omitted} 条只计数未列出")
        return out


def _numbered(records: list[dict], channel: bool = True) -> str:
    """Unsettled sends for people, one number per message (`gaopin sends --confirm/--resend`
    settles the whole message by any of its numbers; a warning's key holds its address: masked
    like everything else)."""
    messages: dict[tuple, list[dict]] = {}
    for r in records:
        messages.setdefault(sent_together(r["channel"], r.get("message"), r.get("started_at")), []).append(r)
    parts = []
    for group in list(messages.values())[:5]:
        r = group[0]
        what = f"{CHANNEL_LABELS[r['channel']] + ' ' if channel else ''}{content.safe(shown_key(r.get('kind', ''), r['key']))}"
        parts.append(f"编号 {r['id']}（{what}" + (f" 等，同一消息共 {len(group)} 项" if len(group) > 1 else "") + "）")
    return "、".join(parts) + (f" 等 {len(messages)} 条消息" if len(messages) > 5 else "")


def _number(ids: list[int]) -> str:
    """The number of a message whose outcome just became unknown: any of its rows settles it whole."""
    return f"编号 {ids[0]}" + (f"，同一消息共 {len(ids)} 项" if len(ids) > 1 else "") if ids else "编号见 gaopin sends"


def not_retried_notice(records: list[dict]) -> tuple[str, list[str]]:
    """Earlier failures whose message was not kept, for people, and the commands that send them again."""
    commands = resend_commands((r["kind"], r["channel"], r["key"]) for r in records)
    return f"有 {len(records)} 项以前发送失败、当时的内容没有保存，无法按原样重发：{_numbered(records)}", commands


SETTLE_HINT = (
    "请向收件人或在群里确认是否收到（编号见 gaopin sends）：收到了运行 gaopin sends --confirm 编号；"
    "没有收到运行 gaopin sends --resend 编号，下次运行时重发，或加 --force 立即重发本次的内容"
)


@dataclass
class Delivery:
    results: list[ChannelResult]
    interrupted: list[dict] = field(default_factory=list)  # pending rows of killed runs, now unknown
    dry_run: bool = False
    resent: list[ChannelResult] = field(default_factory=list)  # earlier failed messages, resent as they were
    unsettled: list[dict] = field(default_factory=list)  # other sends whose outcome is unknown, not yet settled
    not_retried: list[dict] = field(default_factory=list)  # earlier failures whose message was not kept: not resent

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "channels": [r.to_dict() for r in self.results],
            "resent": [r.to_dict() for r in self.resent],
            "interrupted": list(self.interrupted),
            "unsettled": list(self.unsettled),
            "not_retried": list(self.not_retried),
        }

    def lines(self) -> list[str]:
        out = [line for r in self.resent for line in r.lines()]
        out += [line for r in self.results for line in r.lines()]
        if self.interrupted:
            out.append(f"有 {len(self.interrupted)} 条发送记录停在“发送中”（上次运行被中断），已标记为结果不确定")
        if self.unsettled:
            out.append(f"另有 {len(self.unsettled)} 项以前的发送结果不确定，尚未确认：{_numbered(self.unsettled)}")
        if self.not_retried:
            what, commands = not_retried_notice(self.not_retried)
            out.append(f"{what}；请运行 {'；'.join(commands)}，按现在的数据重新发送")
        return out

    def error(self) -> GaopinError | None:
        """The failure the run ends with: unknown outcomes first (they need a person), then clean failures."""
        attempts = self.resent + self.results
        unknown = [r for r in attempts if r.status == UNKNOWN or r.unknown]
        failed = [r for r in attempts if r.status == FAILED]
        if unknown or self.unsettled:
            parts = [f"{CHANNEL_LABELS[r.channel]}：{r.error}（{_number(r.ids)}）" for r in unknown if r.status == UNKNOWN]
            parts += [
                f"{CHANNEL_LABELS[r.channel]}：{_numbered(r.unknown, channel=False)} 上次发送结果不确定，没有重发"
                for r in unknown
                if r.unknown
            ]
            if self.unsettled:
                parts.append(f"另有 {len(self.unsettled)} 项以前的发送结果不确定，尚未确认：{_numbered(self.unsettled)}")
            parts += [f"{CHANNEL_LABELS[r.channel]}：{r.error}" for r in failed]
            return UnknownOutcomeError("；".join(parts), SETTLE_HINT)
        if failed:
            return DeliveryError("；".join(f"{CHANNEL_LABELS[r.channel]}：{r.error}" for r in failed), failed[0].hint or "下次运行会自动重试")
        return None

    def raise_for_errors(self) -> None:
        error = self.error()
        if error is not None:
            raise error


# --- channels ---------------------------------------------------------------------------


@dataclass
class Channels:
    """The requested channels with what sending on them needs (checked before anything runs)."""

    names: tuple[str, ...]
    settings: Settings
    dry_run: bool
    secret: str | None = None
    context: ssl.SSLContext | None = None


def prepare_channels(settings: Settings, names: tuple[str, ...] | list[str], dry_run: bool, environ: Mapping[str, str] | None = None) -> Channels:
    names = tuple(n for n in CHANNELS if n in names)
    if not names:
        raise UsageError("没有指定发送方式", "请加 --email 或 --notify")
    channels = Channels(names, settings, dry_run)
    # A rehearsal needs no server; once one is configured it also checks what the real run
    # would refuse (the password file, the CA file, the robot's address), sending nothing.
    if EMAIL in names:
        m = settings.mail
        with _blaming_no_config_file(settings):
            mail.check_settings(m, need_server=not dry_run or bool(m.host))
        if not dry_run:
            channels.secret = mail.password(m, settings, environ)
            channels.context = mail.ssl_context(m, settings)
        elif m.host:
            mail.ssl_context(m, settings)
            if m.password_file:
                mail.password_from_file(settings.resolve_path(m.password_file))
    if NOTIFY in names and (not dry_run or settings.notify.webhook):
        with _blaming_no_config_file(settings):
            webhook.check_url(settings.notify.webhook)
    return channels


@contextmanager
def _blaming_no_config_file(settings: Settings) -> Iterator[None]:
    """A [mail]/[notify] setting found missing or wrong when no gaopin.toml was read at all is
    said as that: the usual cause is cron, whose folder is not the one gaopin.toml is in, and
    "fill in [mail] host in gaopin.toml" would send staff to a file that already has it."""
    try:
        yield
    except ConfigError as exc:
        if settings.source:
            raise
        from gaopin.config import CONFIG_FILE_NAME, ENV_CONFIG, default_config_path

        looked = f"{Path.cwd() / CONFIG_FILE_NAME}、{default_config_path()}"
        raise ConfigError(
            f"没有找到配置文件 {CONFIG_FILE_NAME}（没有 --config 和 {ENV_CONFIG}，也不在 {looked}），所以{exc.message}",
            f"定时任务（cron）里请设置 {ENV_CONFIG}=/完整路径/{CONFIG_FILE_NAME}，或加 --config /完整路径/{CONFIG_FILE_NAME}；"
            f"还没有配置文件时用 gaopin init 生成",
        ) from None


def for_delivery(settings: Settings) -> Settings:
    """Settings for anything that is sent: phone numbers always masked."""
    return dataclasses.replace(settings, privacy=dataclasses.replace(settings.privacy, mask_phones=True))


@dataclass
class Outgoing:
    """One channel's whole message, built before anything is sent."""

    channel: str
    plan: Plan
    what: str
    message: object  # EmailMessage, or the robot payload dict
    title: str = ""
    omitted: int = 0


@contextmanager
def _run_lock(store_path: Path, dry_run: bool, timeout: float) -> Iterator[None]:
    """The delivery lock; none for a dry run on a store that does not exist (the default one,
    never created: a given one is refused before), which reads no sends record and records
    nothing, and must leave nothing behind: the lock file, and its folder, would be made."""
    if dry_run and not Path(store_path).exists():
        yield
        return
    with delivery_lock(store_path, timeout):
        yield


@contextmanager
def _send_log(store_path: Path, dry_run: bool) -> Iterator[SendLog | None]:
    """The sends record: read-only (or absent) in a dry run, created with the store otherwise."""
    from gaopin.store.store import Store

    if dry_run and not Path(store_path).exists():
        yield None
        return
    store = Store(store_path, create=not dry_run)
    try:
        yield SendLog(store.conn)
    finally:
        store.close()


def _plan(log_: SendLog | None, channel: str, items: list[Item], force: bool, exclude: set[Item], unforced: frozenset[Item] = frozenset()) -> Plan:
    if log_ is None:
        return Plan(send=list(dict.fromkeys(items)))
    return log_.plan(channel, items, force, exclude, unforced)


def _record_dict(r: SendRecord) -> dict:
    return {
        "id": r.id,
        "channel": r.channel,
        "key": r.key,
        "kind": r.kind,
        "status": r.status,
        "finished_at": r.finished_at or r.started_at,
        "message_id": r.message_id,
        "started_at": r.started_at,
        "message": r.message,  # the kept message: rows with one were sent together
    }


def _result(out: Outgoing | None, channel: str, plan: Plan, what: str) -> ChannelResult:
    result = ChannelResult(
        channel=channel,
        status=NOT_SENT,
        what=what,
        already_sent=[_record_dict(r) for r in plan.already_sent],
        unknown=[_record_dict(r) for r in plan.unknown],
    )
    if out is not None:
        result.omitted = out.omitted
    return result


def _send_all(
    outgoing: list[Outgoing],
    results: dict[str, ChannelResult],
    channels: Channels,
    log_: SendLog | None,
    clock: Clock,
    dry_run_files: dict[str, Path],
    progress: Callable[[str], None] | None,
) -> None:
    for out in outgoing:
        result = results[out.channel]
        result.sent = [i.key for i in out.plan.recorded()]
        if channels.dry_run:
            path = dry_run_files[out.channel]
            if out.channel == EMAIL:
                mail.write_eml(out.message, path)  # type: ignore[arg-type]
            else:
                _write_json(out.message, path)
            result.status, result.file = DRY_RUN, str(path)
            log.info("dry run: %s for %s written to %s", out.what, out.channel, path)
            continue
        assert log_ is not None
        if progress:
            progress(f"发送{CHANNEL_LABELS[out.channel]}")
        if out.channel == EMAIL:
            kept = (f"{out.message['Subject']}：{out.what}", mail.to_bytes(out.message))  # type: ignore[arg-type]
        else:
            kept = (f"{out.title}：{out.what}", json.dumps(out.message, ensure_ascii=False).encode("utf-8"))
        result.ids = log_.begin(out.channel, out.plan.recorded(), clock(), message=kept)
        _attempt(out.channel, out.message, out.what, log_, result, channels, clock)


def _attempt(channel: str, message: object, what: str, log_: SendLog, result: ChannelResult, channels: Channels, clock: Clock) -> None:
    """Send one message whose rows (result.ids) are recorded `pending`; record and report the outcome."""
    settings = channels.settings
    ids = result.ids
    try:
        if channel == EMAIL:
            message_id = mail.send(message, settings.mail, channels.secret, channels.context)  # type: ignore[arg-type]
        else:
            message_id = _post(message, settings, clock)
    except DeliveryError as exc:
        log_.finish(ids, FAILED, clock(), detail=str(exc))
        result.status, result.error, result.hint = FAILED, exc.message, exc.hint
        log.error("%s of %s failed (will retry on the next run): %s", channel, what, exc)
        return
    except UnknownOutcomeError as exc:
        log_.finish(ids, UNKNOWN, clock(), detail=str(exc))
        result.status, result.error, result.hint = UNKNOWN, exc.message, exc.hint
        log.error("%s of %s: outcome unknown, not resent without --force: %s", channel, what, exc)
        return
    except Exception as exc:
        # A defect while sending (what fails before the hand-off is a DeliveryError): whether the
        # message left is not known. Said so at once, not left `pending` for the next run to
        # report as a killed run; the run ends with the internal error.
        log_.finish(ids, UNKNOWN, clock(), detail=f"发送时出现内部错误（{type(exc).__name__}），无法确定是否已送达")
        raise
    log_.finish(ids, SENT, clock(), message_id=message_id)
    result.status, result.message_id = DONE, message_id
    log.info("%s: sent %s (%d item(s)), id %s", channel, what, len(ids), message_id)


def _resend_failed(
    log_: SendLog | None, channels: Channels, items: list[Item], clock: Clock, progress: Callable[[str], None] | None
) -> tuple[list[ChannelResult], dict[str, set[Item]]]:
    """Resend, as they were, the kept messages of earlier runs that failed and carry something
    `items` do not stand for (what they stand for, this run sends itself). Once per run; a dry
    run only says which it would resend.

    The results, and per channel the items attempted (left out of this run's own message)."""
    attempted: dict[str, set[Item]] = {c: set() for c in channels.names}
    results: list[ChannelResult] = []
    if log_ is None:
        return results, attempted
    for channel in channels.names:
        for stored in log_.stale_failed(channel, items):
            # A dry run only says so: the real run would send it before its own message.
            status = DRY_RUN if channels.dry_run else NOT_SENT
            result = ChannelResult(channel=stored.channel, status=status, what=f"上次发送失败的 {stored.what}", sent=[i.key for i in stored.items])
            if not channels.dry_run:
                _resend(stored, result, log_, channels, clock, progress)
            results.append(result)
            attempted[channel].update(stored.items)
    return results, attempted


def _resend(stored: Stored, result: ChannelResult, log_: SendLog, channels: Channels, clock: Clock, progress: Callable[[str], None] | None) -> None:
    if progress:
        progress(f"重发{CHANNEL_LABELS[stored.channel]}")
    message = mail.from_bytes(stored.body, clock(), channels.settings.mail) if stored.channel == EMAIL else json.loads(stored.body.decode("utf-8"))
    result.ids = log_.begin(stored.channel, stored.items, clock(), message=stored.id)
    _attempt(stored.channel, message, result.what, log_, result, channels, clock)


def _not_retried(log_: SendLog | None, attempts: list[ChannelResult]) -> list[dict]:
    """Earlier failures, on any channel, whose message was not kept and that this run did not
    send again (nor would, in a dry run): nothing resends them unless a person runs the command."""
    if log_ is None:
        return []
    attempted = {(r.channel, key) for r in attempts for key in r.sent}
    return [_record_dict(r) for r in log_.not_retried() if (r.channel, r.key) not in attempted]


def _unsettled(log_: SendLog | None, channels: Channels, attempts: list[ChannelResult]) -> list[dict]:
    """Sends of earlier runs, on any channel, whose outcome is unknown and that this run's
    results do not already name: the run ends with exit 9 until a person settles them."""
    if log_ is None or channels.dry_run:
        return []
    named = {i for r in attempts for i in r.ids} | {d["id"] for r in attempts for d in r.unknown}
    return [_record_dict(r) for r in log_.unsettled() if r.id not in named]


def _post(payload: object, settings: Settings, clock: Clock) -> str:
    import uuid

    url = settings.notify.webhook
    if settings.notify.format == webhook.DINGTALK and settings.notify.secret:
        url = webhook.signed_url(url, settings.notify.secret, int(clock().timestamp() * 1000))
    answer = webhook.post(url, payload, settings.notify.timeout)  # type: ignore[arg-type]
    # Robots give no message id: a local one ties the record to the log line.
    local_id = f"<{uuid.uuid4().hex}@gaopin.notify>"
    log.info("robot %s answered %r for %s", webhook.redact(settings.notify.webhook), answer, local_id)
    return local_id


def _write_json(payload: object, path: Path) -> None:
    from gaopin.io.write import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _settle(log_: SendLog | None, dry_run: bool, clock: Clock) -> list[dict]:
    if log_ is None or dry_run:
        return []
    settled = log_.settle_interrupted(clock())
    for r in settled:
        log.warning("send %s/%s/%s started %s was interrupted: marked unknown", r.kind, r.channel, r.key, r.started_at)
    return [_record_dict(dataclasses.replace(r, status=UNKNOWN)) for r in settled]


def _robot_payload(settings: Settings, title: str, header: list[str], items: list[str]) -> tuple[dict, int]:
    fmt = settings.notify.format
    text, omitted = webhook.fit(header, items, fmt)
    return webhook.payload(fmt, title, text), omitted


# --- the monthly report -------------------------------------------------------------------


def deliver_report(
    report: dict,
    files: dict[str, str],
    channels: Channels,
    store_path: Path,
    force: bool = False,
    dry_run_dir: Path | None = None,
    clock: Clock = wall_clock,
    progress: Callable[[str], None] | None = None,
    contents: Mapping[str, bytes] | None = None,
) -> Delivery:
    """Send a made report (its dict and written files) on each channel, unless already sent there.
    `contents`: the files' bytes as this run wrote them (else they are read from `files`).

    Call with the delivery lock held (report_and_deliver does)."""
    settings = channels.settings
    label = report["period"]["label"]
    what = f"{label} 月度报告"
    period = report["period"]
    items = [Item(REPORT, report_key(label, period["start"], period["end"]))]  # the dates too: see sends.report_key
    folder = Path(dry_run_dir) if dry_run_dir else Path(files["xlsx"]).parent
    with _send_log(store_path, channels.dry_run) as log_:
        interrupted = _settle(log_, channels.dry_run, clock)
        resent, attempted = _resend_failed(log_, channels, items, clock, progress)
        outgoing: list[Outgoing] = []
        results: dict[str, ChannelResult] = {}
        names: dict[str, Path] = {}
        for channel in channels.names:
            plan = _plan(log_, channel, items, force, attempted[channel])
            out = None
            if plan.send:
                if channel == EMAIL:
                    out = Outgoing(channel, plan, what, report_email(report, files, settings, clock(), contents))
                    names[channel] = folder / f"report-{label}.eml"
                else:
                    title, header, lines = content.report_markdown(report, settings.notify.format)
                    payload, omitted = _robot_payload(settings, title, header, lines)
                    out = Outgoing(channel, plan, what, payload, title, omitted)
                    names[channel] = folder / f"report-{label}.{settings.notify.format}.json"
                outgoing.append(out)
            results[channel] = _result(out, channel, plan, what)
            if not plan.send:
                results[channel].status = ALREADY_SENT if plan.already_sent else NOT_SENT
        _send_all(outgoing, results, channels, log_, clock, names, progress)
        done = [results[c] for c in channels.names]
        unsettled = _unsettled(log_, channels, resent + done)
        not_retried = _not_retried(log_, resent + done)
    return Delivery(done, interrupted, channels.dry_run, resent, unsettled, not_retried)


def report_attachment_name(report: dict) -> str:
    return f"report-{report['period']['label']}.xlsx"


def report_email(report: dict, files: dict[str, str], settings: Settings, now: datetime, contents: Mapping[str, bytes] | None = None):
    """The whole report email: subject, HTML with the charts inline, text, the workbook attached
    (`contents`: the files' bytes, else read from `files`)."""
    m = settings.mail

    def data(name: str) -> bytes:
        return contents[name] if contents is not None else Path(files[name]).read_bytes()

    attachment = report_attachment_name(report)
    charts = []
    for name in content.CHART_TITLES:
        if name in files:
            charts.append((name, mail.content_id(name, m), data(name)))
    html = content.report_html(report, [(name, cid) for name, cid, _ in charts], attachment)
    text = content.report_text(report, attachment)
    xlsx = data("xlsx")
    return mail.compose(m, content.report_subject(report), text, html, now, images=charts, attachment=(attachment, xlsx))


def refuse_empty(report: dict, from_files: bool, dry_run: bool = False) -> None:
    """A period without tickets is not reported: its export has not been imported yet, and a
    report "受理 0 件" sent and recorded would stand in for the real one."""
    if report["overall"]["tickets"]:
        return
    p = report["period"]
    what = f"{p['label']} 考核周期（{p['start']} 至 {p['end']}）没有工单"
    what += "，正式运行也不会发送" if dry_run else "，报告没有生成、没有发送，也没有记录"
    if from_files:
        raise InputError(what, "请检查给出的导出文件是不是这个周期的")
    raise StoreError(what, "这个周期的导出可能还没有导入：先用 gaopin import 导入，再运行本命令（导入后照常发送）")


def report_and_deliver(
    settings: Settings,
    month: int,
    year: int | None,
    files: list[Path] | None,
    db: str | None,
    today: date,
    channels: list[str] | tuple[str, ...],
    out_dir: Path | None = None,
    force: bool = False,
    dry_run: bool = False,
    dry_run_dir: Path | None = None,
    clock: Clock = wall_clock,
    progress: Callable[[str], None] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> "ReportDelivery":
    """Make the month's report (phones masked) and send it.

    Raises after all channels had their turn: UnknownOutcomeError, then DeliveryError; the
    error's `result` is the ReportDelivery, what was made and sent all the same."""
    from gaopin.reports.run import run_report
    from gaopin.store.store import existing_store

    settings = for_delivery(settings)
    prepared = prepare_channels(settings, channels, dry_run, environ)
    # Before the lock, which would leave a folder and a lock file behind.
    store_path = existing_store(db, settings, files=bool(files))
    check = functools.partial(refuse_empty, from_files=bool(files), dry_run=dry_run)
    with _run_lock(store_path, dry_run, lock_timeout):
        # The email's files as this run wrote them: once in the output folder, another report of
        # the same month (a hand run) may replace them before they are read.
        written: dict[str, bytes] = {}

        def keep(paths: dict[str, Path]) -> None:
            if EMAIL in prepared.names:
                written.update({name: path.read_bytes() for name, path in paths.items() if name == "xlsx" or name in content.CHART_TITLES})

        report = run_report(settings, month, year, files, db, today, out_dir=out_dir, progress=progress, check=check, staged=keep)
        delivery = deliver_report(report, report["files"], prepared, store_path, force, dry_run_dir, clock, progress, contents=written)
    return _ended(ReportDelivery(report, delivery))


@dataclass
class ReportDelivery:
    """What `gaopin report --email/--notify` returns: the report (as `gaopin report` makes it) and what was sent."""

    report: dict
    delivery: Delivery

    def to_dict(self) -> dict:
        return {**self.report, "delivery": self.delivery.to_dict()}


# --- warnings ------------------------------------------------------------------------------


def warning_items(report: WarnReport) -> list[Item]:
    """What a run may send: the day's warnings and those of the catch-up days before it not yet
    sent (`report.earlier`), and every escalation; the sends record keeps each to once."""
    warnings = [Item(WARNING, w.id, (w.start.isoformat(), w.end.isoformat())) for w in report.earlier + report.warnings]
    return warnings + [Item(ESCALATION, e.ticket_id) for e in report.escalations]


def subset(report: WarnReport, items: list[Item]) -> WarnReport:
    """The report's warnings (the catch-up days' first) and escalations among `items`."""
    wanted = set(items)
    late = [w for w in report.earlier if Item(WARNING, w.id) in wanted]
    notes = list(report.notes)
    if late:  # beside "只列出截至 D 当天的预警": the attachment's 说明 must not contradict its rows
        notes.append(f"另有 {len(late)} 条此前几天结束、还没有发出过的预警一并补发（见各条的起止日期）。")
    return WarnReport(
        late + [w for w in report.warnings if Item(WARNING, w.id) in wanted],
        [e for e in report.escalations if Item(ESCALATION, e.ticket_id) in wanted],
        notes,
        report.center_head,
    )


def _what(part: WarnReport, late_before: date | None) -> str:
    late = content.late_count(part, late_before)
    return f"{len(part.warnings)} 条预警" + (f"（其中补发 {late} 条）" if late else "") + f"、{len(part.escalations)} 件提级办理"


def warn_attachment_name(day: date) -> str:
    return f"warnings-{day.isoformat()}.xlsx"


def warn_email(part: WarnReport, street: str, day: date, settings: Settings, now: datetime, late_before: date | None = None):
    from gaopin.reports.warnings import write_warn_report

    masked = content.masked_copy(part)
    attachment = warn_attachment_name(day)
    with tempfile.TemporaryDirectory(prefix="gaopin-") as tmp:
        path = write_warn_report(masked, Path(tmp) / attachment)
        xlsx = path.read_bytes()
    text = content.warn_text(part, street, day, attachment, late_before)
    html = content.warn_html(part, street, day, attachment, late_before)
    return mail.compose(settings.mail, content.warn_subject(street, day), text, html, now, attachment=(attachment, xlsx))


def deliver_warnings(
    report: WarnReport,
    street: str,
    day: date,
    channels: Channels,
    store_path: Path,
    force: bool = False,
    dry_run_dir: Path | None = None,
    clock: Clock = wall_clock,
    progress: Callable[[str], None] | None = None,
) -> Delivery:
    """Send the warnings and escalations not yet sent on each channel (with `report.earlier`,
    those of the catch-up days before `day` too, marked 补发). Call with the lock held."""
    settings = channels.settings
    items = warning_items(report)
    catch_up = frozenset(warning_items(WarnReport(report.earlier, [])))
    late_before = day if report.earlier else None  # only a `--date` run has catch-up days
    folder = Path(dry_run_dir) if dry_run_dir else Path.cwd()
    with _send_log(store_path, channels.dry_run) as log_:
        interrupted = _settle(log_, channels.dry_run, clock)
        resent, attempted = _resend_failed(log_, channels, items, clock, progress)
        outgoing: list[Outgoing] = []
        results: dict[str, ChannelResult] = {}
        names: dict[str, Path] = {}
        for channel in channels.names:
            # --force resends the day's content: its warnings, and the escalations sent that day or
            # of unknown outcome (every escalation in the data is an item of every run).
            unforced = catch_up | _escalations_of_other_days(log_, channel, items, day) if force else catch_up
            plan = _plan(log_, channel, items, force, attempted[channel], unforced)
            part = subset(report, plan.send)
            what = _what(part, late_before)
            out = None
            if plan.send:
                if channel == EMAIL:
                    out = Outgoing(channel, plan, what, warn_email(part, street, day, settings, clock(), late_before))
                    names[channel] = folder / f"warn-{day.isoformat()}.eml"
                else:
                    title, header, lines = content.warn_markdown(part, street, day, settings.notify.format, late_before)
                    payload, omitted = _robot_payload(settings, title, header, lines)
                    out = Outgoing(channel, plan, what, payload, title, omitted)
                    names[channel] = folder / f"warn-{day.isoformat()}.{settings.notify.format}.json"
                outgoing.append(out)
            results[channel] = _result(out, channel, plan, what)
            if not plan.send:
                results[channel].status = NOTHING_NEW
        _send_all(outgoing, results, channels, log_, clock, names, progress)
        done = [results[c] for c in channels.names]
        unsettled = _unsettled(log_, channels, resent + done)
        not_retried = _not_retried(log_, resent + done)
    return Delivery(done, interrupted, channels.dry_run, resent, unsettled, not_retried)


def _escalations_of_other_days(log_: SendLog | None, channel: str, items: list[Item], day: date) -> frozenset[Item]:
    if log_ is None:
        return frozenset()
    return log_.sent_on_other_days(channel, [i for i in items if i.kind == ESCALATION], day)


@dataclass
class WarnDelivery:
    """What `gaopin warn --email/--notify` returns: the warnings found and what was sent."""

    report: WarnReport
    delivery: Delivery

    def to_dict(self) -> dict:
        return {**self.report.to_dict(), "delivery": self.delivery.to_dict()}


def warn_and_deliver(
    settings: Settings,
    files: list[Path] | None,
    db: str | None,
    channels: list[str] | tuple[str, ...],
    on: date | None = None,
    since: date | None = None,
    show_phones: bool = False,
    force: bool = False,
    dry_run: bool = False,
    dry_run_dir: Path | None = None,
    clock: Clock = wall_clock,
    progress: Callable[[str], None] | None = None,
    lock_timeout: float = LOCK_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> WarnDelivery:
    """Find the warnings (as `gaopin warn` does) and send those not yet sent on each channel.

    `show_phones` affects only the returned report: what is sent is always masked. Raises as
    report_and_deliver does, the error's `result` being the WarnDelivery."""
    from gaopin.rules.warn import warn
    from gaopin.schema import WARN_FIELDS
    from gaopin.store.store import db_path, tickets_from

    prepared = prepare_channels(settings, channels, dry_run, environ)
    result, links = tickets_from(files, db, settings, fields=WARN_FIELDS, progress=progress)
    # --date D also catches up on the days before it: a warning completed after the previous
    # day's run, or while no run happened, is sent now (once; marked 补发).
    earlier_days = settings.delivery.catch_up_days if on is not None else 0
    report = warn(result, settings, on=on, since=since, links=links, show_phones=show_phones, progress=progress, earlier_days=earlier_days)
    street = report.area
    day = on or clock().astimezone(TIMEZONE).date()
    store_path = db_path(db, settings)
    with _run_lock(store_path, dry_run, lock_timeout):
        delivery = deliver_warnings(report, street, day, prepared, store_path, force, dry_run_dir, clock, progress)
    return _ended(WarnDelivery(report, delivery))


_Made = TypeVar("_Made", "ReportDelivery", "WarnDelivery")


def _ended(made: _Made) -> _Made:
    """Log what the run did, then end it: with its most serious failure, which carries what the
    run made and sent (`result`: the CLI writes and shows it before the error), or with `made`."""
    for line in made.delivery.lines():
        log.info("%s", line)
    error = made.delivery.error()
    if error is not None:
        error.result = made
        raise error
    return made


def send_records(store_path: Path, limit: int = 100) -> list[dict]:
    """The latest rows of the sends record, newest first (empty when there is no store)."""
    if not Path(store_path).exists():
        return []
    with _send_log(store_path, dry_run=True) as log_:
        if log_ is None:
            return []
        return _listed(log_.records(limit), log_.not_retried())


def _listed(records: list[SendRecord], not_retried: list[SendRecord]) -> list[dict]:
    """Records for people; `resend`: for a failure whose message was not kept (no run resends
    it as it was), the command that sends it again; None for every other record."""
    commands = {r.id: resend_commands([(r.kind, r.channel, r.key)])[0] for r in not_retried}
    out = []
    for r in records:
        listed = {**r.to_dict(), "resend": commands.get(r.id)}
        if listed["resend"] and listed["detail"]:
            listed["detail"] = _without_retry_promise(listed["detail"])
        out.append(listed)
    return out


def _without_retry_promise(detail: str) -> str:
    """A failure's recorded error without the hint's "下次运行会自动重试", for one no run resends."""
    for said in ("；下次运行会自动重试", "下次运行会自动重试；", "下次运行会自动重试"):
        detail = detail.replace(said, "")
    return detail.replace("（）", "")


def settle_sends(
    store_path: Path, received: list[int], not_received: list[int], clock: Clock = wall_clock, lock_timeout: float = LOCK_TIMEOUT
) -> list[dict]:
    """A person's word on sends of unknown outcome (`gaopin sends --confirm/--resend`): received,
    or not (resent by the next run; one whose message was not kept says, in `resend`, which run
    sends it again). Each id stands for the whole message it was sent in. The rows added."""
    from gaopin.store.store import Store

    if not Path(store_path).exists():  # checked before the lock, which would leave a file (and folder) behind
        raise StoreError(f"工单库 {store_path} 不存在", "请用 --db 指定发送时用的工单库")
    numbers = "、".join(str(i) for i in [*received, *not_received])
    said = f"本次的确认（编号 {numbers}）没有记录"
    with delivery_lock(store_path, lock_timeout, said, "等这次发送结束后再运行同一条 gaopin sends 命令"):  # no run is sending: `pending` rows are of killed runs
        store = Store(store_path, create=False)
        try:
            log_ = SendLog(store.conn)
            _settle(log_, False, clock)
            added = log_.mark(received, not_received, clock())
            listed = _listed(added, log_.not_retried())
        finally:
            store.close()
    for r in added:
        log.info("send %s/%s/%s marked %s by hand", r.kind, r.channel, r.key, r.status)
    return listed


__all__ = [
    "ChannelResult",
    "Channels",
    "Delivery",
    "ReportDelivery",
    "WarnDelivery",
    "deliver_report",
    "deliver_warnings",
    "prepare_channels",
    "report_and_deliver",
    "report_email",
    "send_records",
    "settle_sends",
    "warn_and_deliver",
    "warn_email",
]
