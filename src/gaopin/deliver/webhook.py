"""Group robots: WeCom (企业微信) and DingTalk (钉钉) markdown messages posted to a webhook.

Payloads are the robots' markdown message types:

- wecom:    {"msgtype": "markdown", "markdown": {"content": text}}
- dingtalk: {"msgtype": "markdown", "markdown": {"title": title, "text": text}}

A DingTalk robot with 加签 gets `timestamp` (ms) and `sign` (URL-encoded base64 of
HMAC-SHA256 over "timestamp\\nsecret", keyed with the secret) as query parameters.
Both robots answer JSON with `errcode` 0 on success.

Failures are classified for the exactly-once record: anything that goes wrong before
the request has been handed over (DNS, refused connection, TLS) or an explicit refusal
(an HTTP error status, errcode ≠ 0) is a clean failure (DeliveryError, retried on the next
run); losing the connection or timing out while waiting for the answer, or a success status
whose body is not the robot's answer (no errcode: a gateway's page, `{}`), leaves the
outcome unknown (UnknownOutcomeError, not resent without --force).

The webhook URL carries the robot's key: it is never logged or written, only `redact()`ed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request

from gaopin.errors import ConfigError, DeliveryError, UnknownOutcomeError

WECOM, DINGTALK = "wecom", "dingtalk"
FORMATS = (WECOM, DINGTALK)
# WeCom's markdown content is limited to 4096 bytes of UTF-8; DingTalk's limit is larger,
# and the same budget keeps a leaders' message readable on a phone.
MAX_BYTES = 4096
MAX_RESPONSE = 64 * 1024
log = logging.getLogger(__name__)


def more_line(n: int) -> str:
    return f"……另有 {n} 条未列出，详见邮件附件或 gaopin warn 的输出"


def fit(header: list[str], items: list[str], fmt: str, limit: int = MAX_BYTES) -> tuple[str, int]:
    """The markdown text of header and as many items as fit in `limit` bytes, then a line
    saying how many were left out; (text, number left out)."""
    sep = "\n\n" if fmt == DINGTALK else "\n"  # DingTalk joins single newlines into one paragraph

    def size(parts: list[str]) -> int:
        return len(sep.join(parts).encode("utf-8"))

    kept: list[str] = []
    for i, item in enumerate(items):
        left_after = len(items) - i - 1
        tail = [more_line(left_after)] if left_after else []
        if size(header + kept + [item] + tail) <= limit:
            kept.append(item)
            continue
        break
    left = len(items) - len(kept)
    parts = header + kept + ([more_line(left)] if left else [])
    text = sep.join(parts)
    while len(text.encode("utf-8")) > limit:  # only a header longer than the limit gets here
        text = text.encode("utf-8")[: limit - 3].decode("utf-8", errors="ignore") + "…"
    return text, left


def payload(fmt: str, title: str, text: str) -> dict:
    if fmt == WECOM:
        return {"msgtype": "markdown", "markdown": {"content": text}}
    if fmt == DINGTALK:
        return {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
    raise ConfigError(f"不支持的机器人类型 {fmt!r}", "[notify] format 可选 wecom 或 dingtalk")


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 HMAC-SHA256 of "timestamp\\nsecret" keyed with the secret, URL-encoded."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def redact(url: str) -> str:
    """The URL without its query (where the robot's key is) and credentials."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "（无法解析的地址）"
    return f"{parts.scheme}://{host}{port}{parts.path}" + ("?…" if parts.query else "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """A webhook address gaopin will post to: https (http only to this machine), with a host."""
    if not url:
        raise ConfigError("没有配置群机器人地址 [notify] webhook", "在 gaopin.toml 的 [notify] 中填写机器人的 webhook 地址")
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"群机器人地址无法解析：{redact(url)}", "请从机器人设置中复制完整的 webhook 地址") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"群机器人地址不是 https 网址：{redact(url)}", "请从机器人设置中复制完整的 webhook 地址（以 https:// 开头）")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigError(f"群机器人地址 {redact(url)} 没有加密（http）", "请使用 https:// 开头的地址")
    if parts.username or parts.password:
        raise ConfigError(f"群机器人地址中不应包含用户名或密码：{redact(url)}", "请从机器人设置中复制 webhook 地址")
    if not url.isascii() or any(ord(c) <= 32 or ord(c) == 127 for c in url):
        # The request line is ASCII: such an address would only fail while sending.
        raise ConfigError(f"群机器人地址中有中文、空格等字符：{redact(url)}", "请从机器人设置中重新复制完整的 webhook 地址")


def _opener(context: ssl.SSLContext) -> urllib.request.OpenerDirector:
    # Proxies from the environment (HTTPS_PROXY …) are honoured, as urlopen would.
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def post(url: str, body: dict, timeout: float, context: ssl.SSLContext | None = None) -> str:
    """POST the payload; the robot's errmsg on success. DeliveryError / UnknownOutcomeError otherwise."""
    where = redact(url)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    opener = _opener(context or ssl.create_default_context())
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _refused(where, exc.code) from None
    except urllib.error.URLError as exc:
        # urllib wraps what fails while connecting and handing over the request: not delivered.
        raise DeliveryError(f"无法连接群机器人 {where}：{_reason(exc.reason)}", _hint(exc.reason)) from None
    except (ValueError, http.client.InvalidURL) as exc:
        # The request refused before it is written (an address or a timeout the socket does not
        # take, a malformed proxy setting): not delivered. Its text may quote the key: not shown.
        raise DeliveryError(f"无法向群机器人 {where} 发送（{type(exc).__name__}）", "请检查 [notify] webhook、timeout 和代理设置（HTTPS_PROXY）") from None
    except (OSError, http.client.HTTPException) as exc:
        # The request was handed over; the answer never came.
        raise UnknownOutcomeError(
            f"群机器人 {where} 没有回应（{_reason(exc)}），消息可能已经发到群里",
            "请在群里确认；确认没有收到时可加 --force 重发",
        ) from None
    try:
        with response:
            raw = response.read(MAX_RESPONSE)
    except (OSError, http.client.HTTPException) as exc:
        raise UnknownOutcomeError(
            f"读取群机器人 {where} 的回应时出错（{_reason(exc)}），消息可能已经发到群里",
            "请在群里确认；确认没有收到时可加 --force 重发",
        ) from None
    errcode, errmsg = _errcode(raw)
    if errcode is None:
        # A success status without the robot's verdict (a gateway's page, `{}`): the robot may
        # have posted it, so it is not resent as a clean failure would be.
        raise UnknownOutcomeError(
            f"群机器人 {where} 收下了消息，但回应无法识别（不是机器人的 errcode 回应），消息可能已经发到群里",
            "请在群里确认，并确认 [notify] webhook 是企业微信或钉钉群机器人的地址、代理没有改写回应；确认没有收到时可加 --force 重发",
        )
    if errcode != 0:
        raise DeliveryError(f"群机器人拒绝了消息：errcode {errcode}，{errmsg[:200]}", _errcode_hint(errcode))
    return errmsg or "ok"


def _refused(where: str, status: int) -> DeliveryError:
    """An HTTP error status: refused, retried by the next run; the hint depends on whose fault it is."""
    if status == 429:
        return DeliveryError(f"群机器人 {where} 限流，没有接收消息（HTTP 429）", "发送太频繁，被机器人限流；下次运行会自动重试")
    if status >= 500:
        return DeliveryError(f"群机器人服务器 {where} 出错，没有接收消息（HTTP {status}）", "企业微信/钉钉（或代理）的服务器暂时出错；下次运行会自动重试")
    return DeliveryError(
        f"群机器人 {where} 拒绝了消息（HTTP {status}）",
        "请检查 [notify] webhook 地址是否正确、机器人是否被移出群（以及代理设置）；改正后下次运行会自动重试",
    )


def _errcode(raw: bytes) -> tuple[int | None, str]:
    """The robot's errcode and errmsg in its answer; errcode None when the answer has none."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both
        return None, ""
    if not isinstance(answer, dict):
        return None, ""
    errcode = answer.get("errcode")
    if isinstance(errcode, str) and errcode.strip().lstrip("-").isdigit():
        errcode = int(errcode)
    if not isinstance(errcode, int) or isinstance(errcode, bool):
        return None, ""
    return errcode, str(answer.get("errmsg", ""))


def _reason(exc: object) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"证书无法验证（{exc.verify_message}）"
    if isinstance(exc, socket.gaierror):
        return "找不到服务器（域名解析失败）"
    if isinstance(exc, ConnectionRefusedError):
        return "连接被拒绝"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "超时"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "对方关闭了连接"
    return str(exc)[:200] or type(exc).__name__


def _hint(reason: object) -> str:
    if isinstance(reason, ssl.SSLError):
        return "请检查系统时间和证书；企业内网请确认没有被代理替换证书"
    return "请检查网络、代理（HTTPS_PROXY）和 [notify] webhook 地址；下次运行会自动重试"


def _errcode_hint(errcode: int) -> str:
    hints = {
        93000: "webhook 地址无效，请重新从机器人设置中复制",
        310000: "钉钉加签不符：请检查 [notify] secret（或 GAOPIN_NOTIFY__SECRET）和系统时间",
        45009: "发送太频繁，被机器人限流；下次运行会自动重试",
        300001: "钉钉机器人的 access_token 无效，请重新复制 webhook 地址",
    }
    return hints.get(errcode, "请对照机器人文档检查 errcode；下次运行会自动重试")


def reachable(url: str, timeout: float, context: ssl.SSLContext | None = None) -> str:
    """Open a TCP (and, for https, TLS) connection to the webhook's host, send nothing; a description."""
    check_url(url)
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if parts.scheme == "https":
                ctx = context or ssl.create_default_context()
                with ctx.wrap_socket(sock, server_hostname=host) as tls:
                    return f"{host}:{port} 可以连接（{tls.version()}，证书有效）"
            return f"{host}:{port} 可以连接"
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"无法连接群机器人服务器 {host}:{port}：{_reason(exc)}", _hint(exc)) from None
