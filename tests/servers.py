"""Real servers for the delivery tests: an SMTP server (aiosmtpd) and a group-robot stand-in.

Nothing is mocked: gaopin talks SMTP and HTTP to these over 127.0.0.1, and the tests read
what arrived.
"""

from __future__ import annotations

import asyncio
import base64
import email
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import threading
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --- SMTP ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received, and how it behaves."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    drop_after_data: bool = False  # close the connection instead of answering the message
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    # messages whose From: header holds one of these are refused at the end of DATA (553),
    # as servers do when From: is not the logged-in mailbox
    refuse_from: set[str] = field(default_factory=set)
    hold: threading.Event | None = None  # handle_DATA waits for this before answering
    entered: threading.Event = field(default_factory=threading.Event)  # set when a message's DATA arrives
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook name
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.entered.set()
        if self.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 60)
        content = envelope.original_content or envelope.content
        parsed = email.message_from_bytes(content, policy=policy.default)
        if any(a.addr_spec in self.refuse_from for a in (parsed["From"].addresses if parsed["From"] else ())):
            return "553 5.7.1 From header must match the authenticated user"
        self.raw.append(content)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.drop_after_data:
            server.transport.abort()  # the message is here, the answer never leaves
            return "250 OK"
        return "250 OK"


class Authenticator:
    """Accepts one user and password; a failed login must be handled=False or the client hangs."""

    def __init__(self, user: str, password: str, mailbox: Mailbox):
        self.user, self.password, self.mailbox = user, password, mailbox

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if login == self.user and password == self.password:
                self.mailbox.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def messages(self) -> list[EmailMessage]:
        return self.mailbox.messages


@contextmanager
def smtp_server(
    port: int | None = None,
    *,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
    auth: tuple[str, str] | None = None,
    mailbox: Mailbox | None = None,
) -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller

    mailbox = mailbox or Mailbox()
    port = port or free_port()
    kwargs: dict = {}
    if starttls is not None:
        kwargs.update(tls_context=starttls, require_starttls=True)
    if auth is not None:
        kwargs.update(
            authenticator=Authenticator(auth[0], auth[1], mailbox),
            auth_required=True,
            # aiosmtpd counts only STARTTLS as TLS: over implicit TLS (or none) AUTH must be allowed as is.
            auth_require_tls=starttls is not None,
        )
    controller = Controller(mailbox, hostname=HOST, port=port, ssl_context=implicit_tls, **kwargs)
    controller.start()
    try:
        yield SmtpServer(port, mailbox)
    finally:
        if mailbox.hold is not None:
            mailbox.hold.set()
        controller.stop()


@contextmanager
def _raw_server(on_connect: Callable[[socket.socket], None]) -> Iterator[int]:
    """A bare socket server (not aiosmtpd) that hands each connection to `on_connect` in a
    thread of its own; connections still open at the end are closed. Yields its port."""
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.2)
    done = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)
            threading.Thread(target=on_connect, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


@contextmanager
def cutting_smtp_server(after: int = 4096) -> Iterator[int]:
    """An SMTP server that accepts everything up to DATA, reads `after` bytes of the content
    and closes the connection: what a server that cuts a large message short does. Yields its port."""

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 cut ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-cut\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    lines.read(after)
                    return  # closed with the rest of the content unread: the peer gets a reset
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 OK\r\n")

    with _raw_server(serve) as port:
        yield port


@contextmanager
def silent_server() -> Iterator[int]:
    """A port whose server accepts connections and never says a word (a firewall or a hung
    server). Yields the port."""
    with _raw_server(lambda conn: None) as port:
        yield port


def tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1/localhost from a throwaway CA, and the CA's PEM file."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    cafile = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return server, cafile


# --- group robot --------------------------------------------------------------------------


@dataclass
class Post:
    path: str
    query: dict[str, str]
    body: dict
    raw: bytes


class Robot:
    """A WeCom/DingTalk robot stand-in: records posts, answers errcode (or drops the connection,
    or answers `status` with `answer` as the body: a gateway's page, a JSON without errcode)."""

    def __init__(self, secret: str | None = None):
        self.posts: list[Post] = []
        self.secret = secret
        self.errcode = 0
        self.drop = False
        self.status = 200
        self.answer: bytes | None = None
        self.bad_signatures = 0
        robot = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                parts = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parts.query))
                robot.posts.append(Post(parts.path, query, json.loads(raw.decode("utf-8")), raw))
                if robot.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                errcode = robot.errcode
                if robot.secret is not None and not robot.signature_ok(query):
                    robot.bad_signatures += 1
                    errcode = 310000
                body = json.dumps({"errcode": errcode, "errmsg": "ok" if errcode == 0 else "refused"}).encode()
                if robot.answer is not None:
                    body = robot.answer
                self.send_response(robot.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def signature_ok(self, query: dict[str, str]) -> bool:
        """DingTalk's check, computed here independently of gaopin."""
        timestamp = query.get("timestamp", "")
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), f"{timestamp}\n{self.secret}".encode(), hashlib.sha256).digest()
        ).decode()
        return bool(timestamp) and query.get("sign") == expected  # parse_qsl already URL-decoded it

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_address[1]}/robot/send?access_token=TOKEN123"

    def __enter__(self) -> "Robot":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def all_text(msg: EmailMessage) -> str:
    """Every text part of a message, decoded, with its headers."""
    out = [str(v) for _, v in msg.items()]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            out.append(part.get_content())
    return "\n".join(out)
