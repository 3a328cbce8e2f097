"""Email: the report and the warnings as MIME messages, sent over SMTP with verified TLS.

Sending is done step by step (EHLO, [STARTTLS], [AUTH], MAIL, RCPT…, DATA) rather than
with `sendmail()`, so that every failure can be put on the right side of one line:

- before the message's final "." has been handed to the server (no connection, TLS or
  certificate failure, login refused, sender or a recipient refused, DATA refused, the
  connection lost while sending the content) the message surely did not arrive:
  `DeliveryError`, recorded as failed and retried on the next run;
- an explicit rejection after the content (a 4xx/5xx final reply) is also clean, and so is
  a connection reset while waiting for it: the server closed with content unread (the end
  of a large message still in the sockets' buffers), so it never got the final ".";
- losing the connection (an orderly close) or timing out while waiting for the final reply
  leaves the outcome unknown: `UnknownOutcomeError`, not resent without --force.

Any refused recipient stops the whole send (RSET, nothing delivered), so that a typo in
`to` is noticed at once instead of one person silently missing every report.

The password comes from GAOPIN_SMTP_PASSWORD or `[mail] password_file`; it is never
logged, never put in an error message, and there is no command-line option for it.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import stat
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from typing import Mapping

from gaopin.config import ENV_SMTP_PASSWORD, TIMEZONE, MailSettings, Settings
from gaopin.errors import ConfigError, DeliveryError, os_reason, UnknownOutcomeError

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
SENDER_NAME = "gaopin 接诉即办"
log = logging.getLogger(__name__)


# --- settings -----------------------------------------------------------------------


def _address_ok(addr: str) -> bool:
    # ASCII only: MAIL FROM/RCPT TO with another character fail while sending (SMTPUTF8 is rare).
    return addr.isascii() and bool(re.fullmatch(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+", addr))


def check_settings(mail: MailSettings, need_server: bool = True) -> None:
    """ConfigError unless [mail] can make (and, with need_server, send) a message."""
    if need_server and not mail.host:
        raise ConfigError("没有配置邮件服务器 [mail] host", "在 gaopin.toml 的 [mail] 中填写 host、port、security、from、to")
    if not mail.sender:
        raise ConfigError("没有配置发件人 [mail] from", '例如 from = "jiesu@example.gov.cn"')
    if not mail.to:
        raise ConfigError("没有配置收件人 [mail] to", '例如 to = ["zhongxin@example.gov.cn"]')
    for where, addrs in (("from", [mail.sender]), ("to", mail.to), ("cc", mail.cc)):
        for addr in addrs:
            if not _address_ok(addr):
                raise ConfigError(f"[mail] {where} 中的地址 {addr!r} 不是有效的邮件地址", "每个地址写成 name@example.com，多个收件人写成列表")
    if need_server:
        try:
            mail.host.encode("idna")  # what the connection does first ("smtp..example.com" fails there)
        except UnicodeError:
            raise ConfigError(f"[mail] host {mail.host!r} 不是有效的服务器名", '例如 host = "smtp.example.com"') from None


def password(mail: MailSettings, settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """The SMTP password: GAOPIN_SMTP_PASSWORD, else [mail] password_file (owner-readable only)."""
    environ = os.environ if environ is None else environ
    if not mail.username:
        return None
    from_env = environ.get(ENV_SMTP_PASSWORD, "")
    if from_env:
        return from_env
    if not mail.password_file:
        raise ConfigError(
            f"配置了 SMTP 登录名 {mail.username}，但没有密码",
            f"请设置环境变量 {ENV_SMTP_PASSWORD}，或在 [mail] password_file 中指定只有本人可读的密码文件",
        )
    return password_from_file(settings.resolve_path(mail.password_file))


def password_from_file(path: Path) -> str:
    """The password in [mail] password_file, which only its owner may read."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ConfigError(f"无法读取密码文件 {path}：{os_reason(exc)}", "请检查 [mail] password_file 的路径") from None
    if os.name != "nt" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"密码文件 {path} 其他人也能读取（权限 {stat.filemode(info.st_mode)}），没有使用",
            f"请运行 chmod 600 {path}",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"无法读取密码文件 {path}：{getattr(exc, 'strerror', None) or type(exc).__name__}", "密码文件应为 UTF-8 文本，只有一行密码") from None
    secret = text.strip("\r\n")
    if not secret:
        raise ConfigError(f"密码文件 {path} 是空的", "请把 SMTP 密码（或授权码）写进该文件")
    return secret


def ssl_context(mail: MailSettings, settings: Settings) -> ssl.SSLContext:
    """Certificates verified against the system's CAs, or [mail] cafile for a private CA."""
    cafile = str(settings.resolve_path(mail.cafile)) if mail.cafile else None
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"无法读取 CA 证书文件 {cafile}：{os_reason(exc)}", "[mail] cafile 应为 PEM 格式的证书文件") from None


# --- messages -----------------------------------------------------------------------


def _domain(addr: str) -> str:
    return addr.rsplit("@", 1)[-1] if "@" in addr else "gaopin.local"


def _aware(now: datetime) -> datetime:
    return now.replace(tzinfo=TIMEZONE) if now.tzinfo is None else now.astimezone(TIMEZONE)


def new_message(mail: MailSettings, subject: str, now: datetime) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    _address(msg, mail, now)
    msg["Auto-Submitted"] = "auto-generated"
    return msg


def _address(msg: EmailMessage, mail: MailSettings, now: datetime) -> None:
    """The headers that come from [mail] and the moment of sending, not from the content:
    replaced when a kept message is resent."""
    for name in ("From", "To", "Cc", "Date", "Message-ID"):
        del msg[name]
    msg["From"] = formataddr((SENDER_NAME, mail.sender))
    msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    msg["Date"] = format_datetime(_aware(now))
    msg["Message-ID"] = make_msgid(domain=_domain(mail.sender))


def compose(
    mail: MailSettings,
    subject: str,
    text: str,
    html: str,
    now: datetime,
    images: list[tuple[str, str, bytes]] = (),
    attachment: tuple[str, bytes] | None = None,
) -> EmailMessage:
    """multipart/mixed[ alternative[ text, related[ html, images ] ], xlsx ].

    `images` are (name, content id without brackets, PNG bytes): the HTML refers to them
    as `cid:<content id>`. `attachment` is (short ASCII file name, xlsx bytes).
    """
    msg = new_message(mail, subject, now)
    # base64: 7-bit safe on any server, without relying on 8BITMIME.
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    if images:
        html_part = msg.get_payload()[1]
        for name, cid, data in images:
            html_part.add_related(data, "image", "png", cid=f"<{cid}>", filename=f"{name}.png", disposition="inline")
    if attachment is not None:
        filename, data = attachment
        if not filename.isascii():  # RFC 2231 names show up as .bin in some Chinese clients
            raise ValueError(f"attachment names must be ASCII: {filename!r}")
        msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename)
    return msg


def content_id(name: str, mail: MailSettings) -> str:
    """A unique content id (without angle brackets) for an inline image."""
    return make_msgid(idstring=name, domain=_domain(mail.sender))[1:-1]


def to_bytes(msg: EmailMessage) -> bytes:
    """The message as it goes over the wire (and is kept until it is sent)."""
    return msg.as_bytes(policy=policy.SMTP)


def from_bytes(data: bytes, now: datetime, mail: MailSettings) -> EmailMessage:
    """A kept message, to be resent: its content as it was; sender, recipients, date and
    Message-ID as now. A send that failed on a wrong `from` or `to`, fixed since, must not
    go out (or be refused again) with the old headers; dated now so that it is not filed
    under an earlier day."""
    import email

    msg = email.message_from_bytes(data, _class=EmailMessage, policy=policy.SMTP)
    _address(msg, mail, now)
    return msg


def write_eml(msg: EmailMessage, path: Path) -> Path:
    """The message as a .eml file (what --dry-run writes instead of sending)."""
    from gaopin.io.write import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(to_bytes(msg))
    return path


# --- sending --------------------------------------------------------------------------


def _local_hostname() -> str:
    """The EHLO name without a DNS lookup (getfqdn can hang where DNS is broken)."""
    name = socket.gethostname()
    return name if re.fullmatch(r"[A-Za-z0-9.-]{1,63}", name or "") else "localhost"


def _where(mail: MailSettings) -> str:
    return f"{mail.host}:{mail.port}"


def _failure(mail: MailSettings, exc: BaseException) -> DeliveryError:
    """A connection-phase failure, said in the person's words."""
    where = _where(mail)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"邮件服务器 {where} 的证书无法验证（{exc.verify_message}）",
            "证书由私有 CA 签发时，请在 [mail] cafile 中指定该 CA 的证书文件；也请检查 host 是否与证书上的名字一致",
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(
            f"与邮件服务器 {where} 建立加密连接失败（{exc.reason or exc}）",
            "请检查 [mail] security 与端口是否匹配：ssl 通常用 465，starttls 通常用 587",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"邮件服务器 {where} 拒绝登录（{exc.smtp_code}）",
            f"请检查 [mail] username 和密码（{ENV_SMTP_PASSWORD} 或 password_file）；有的邮箱要用“授权码”而不是登录密码",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError(f"邮件服务器 {where} 不支持所需的功能（{exc}）", "请检查 [mail] security（ssl、starttls 或 none）和 port")
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"找不到邮件服务器 {mail.host}", "请检查 [mail] host 和网络；下次运行会自动重试")
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"无法连接邮件服务器 {where}（连接被拒绝）", "请检查 [mail] host、port 和网络；下次运行会自动重试")
    if _caused_by(exc, (TimeoutError, socket.timeout)):  # smtplib wraps one while reading the greeting
        return DeliveryError(f"连接邮件服务器 {where} 超时", "请检查网络和防火墙；下次运行会自动重试")
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"邮件服务器 {where} 拒绝：{exc.smtp_code} {_text(exc.smtp_error)}", "下次运行会自动重试")
    return DeliveryError(f"与邮件服务器 {where} 通信失败：{_text(exc)}", "请检查 [mail] 设置和网络；下次运行会自动重试")


def _cut_short(where: str, exc: BaseException) -> DeliveryError:
    """The connection failed before the server had the message's end: not delivered."""
    if _caused_by(exc, (TimeoutError, socket.timeout)):
        return DeliveryError(f"向邮件服务器 {where} 发送邮件内容时超时，邮件没有送达", "请检查网络；邮件较大时可调大 [mail] timeout；下次运行会自动重试")
    reason = "连接被重置" if _caused_by(exc, (ConnectionResetError, BrokenPipeError)) else _text(exc) or type(exc).__name__
    return DeliveryError(
        f"邮件服务器 {where} 没有收完邮件内容就断开了连接（{reason}），邮件没有送达",
        "下次运行会自动重试；如一直如此，请向邮件管理员确认服务器允许的邮件大小",
    )


def _caused_by(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
    """Whether `exc` is, or was raised while handling, a `kind` (smtplib wraps socket errors
    in SMTPServerDisconnected)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())[:200]


def connect(mail: MailSettings, secret: str | None, context: ssl.SSLContext) -> smtplib.SMTP:
    """An open, (TLS-protected,) logged-in SMTP session; DeliveryError when that fails."""
    smtp: smtplib.SMTP | None = None
    try:
        if mail.security == "ssl":
            smtp = smtplib.SMTP_SSL(mail.host, mail.port, local_hostname=_local_hostname(), timeout=mail.timeout, context=context)
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, local_hostname=_local_hostname(), timeout=mail.timeout)
        smtp.ehlo()
        if mail.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise DeliveryError(f"邮件服务器 {_where(mail)} 不支持 STARTTLS", "请改用 security = \"ssl\"（端口 465），或询问邮件管理员")
            smtp.starttls(context=context)
            smtp.ehlo()
        if mail.username:
            smtp.login(mail.username, secret or "")
        return smtp
    except DeliveryError:
        _close(smtp)
        raise
    except (OSError, smtplib.SMTPException, ValueError) as exc:
        # ValueError: a setting the socket refuses (a timeout, a host name); nothing was sent.
        _close(smtp)
        raise _failure(mail, exc) from None


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        try:
            smtp.close()
        except OSError:
            pass


def _dot_stuffed(data: bytes) -> bytes:
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def send(msg: EmailMessage, mail: MailSettings, secret: str | None, context: ssl.SSLContext) -> str:
    """Send one message to [mail] to + cc; its Message-ID. DeliveryError or UnknownOutcomeError."""
    recipients = list(dict.fromkeys([*mail.to, *mail.cc]))
    data = to_bytes(msg)
    message_id = str(msg["Message-ID"])
    smtp = connect(mail, secret, context)
    where = _where(mail)
    try:
        try:
            code, reply = smtp.mail(mail.sender)
            if code != 250:
                raise DeliveryError(f"邮件服务器 {where} 拒绝发件人 {mail.sender}：{code} {_text(reply)}", "请检查 [mail] from 是否与登录的邮箱一致")
            refused = {}
            for rcpt in recipients:
                code, reply = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    refused[rcpt] = f"{code} {_text(reply)}"
            if refused:
                smtp.rset()
                listed = "；".join(f"{k}（{v}）" for k, v in refused.items())
                raise DeliveryError(f"邮件服务器拒绝了收件人：{listed}，没有发给任何人", "请检查 [mail] to 和 cc 中的地址")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise DeliveryError(f"邮件服务器 {where} 不接收邮件内容：{code} {_text(reply)}", "下次运行会自动重试")
            try:
                smtp.send(_dot_stuffed(data))
            except (OSError, smtplib.SMTPException) as exc:
                raise _cut_short(where, exc) from None
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException, ValueError) as exc:  # before the content's end: not delivered
            raise _failure(mail, exc) from None
        # The whole message is with the server: only its final reply says whether it took it.
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            if _caused_by(exc, ConnectionResetError):
                # Nothing is sent after the final ".": a server that read all of it and then
                # closed sends an orderly close. A reset means content it had not read (sendall
                # returns once the content is in the sockets' buffers), so it never got the end.
                raise _cut_short(where, exc) from None
            raise UnknownOutcomeError(
                f"邮件已交给服务器 {where}，但没有收到确认（{_text(exc) or type(exc).__name__}），可能已经送达",
                "请向收件人确认；确认没有收到时可加 --force 重发",
            ) from None
        if code != 250:
            raise DeliveryError(f"邮件服务器 {where} 拒收这封邮件：{code} {_text(reply)}", "下次运行会自动重试；如一直被拒，请联系邮件管理员")
    finally:
        _close(smtp)
    log.info("email %s accepted by %s for %d recipient(s)", message_id, where, len(recipients))
    return message_id


def check_login(mail: MailSettings, secret: str | None, context: ssl.SSLContext) -> str:
    """Connect, secure, log in and quit, sending nothing (gaopin doctor); a description."""
    smtp = connect(mail, secret, context)
    try:
        secured = {"ssl": "SSL", "starttls": "STARTTLS"}.get(mail.security, "未加密")
        login = f"已登录 {mail.username}" if mail.username else "未登录（没有配置 username）"
        return f"{_where(mail)}：连接成功（{secured}），{login}"
    finally:
        _close(smtp)
