"""Email through a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS and SSL with a
throwaway CA, failed logins, refused recipients, and what arrives, parsed."""

from __future__ import annotations

import io
import os
import sys
from datetime import datetime

import openpyxl
import pytest

from gaopin.config import TIMEZONE
from gaopin.deliver import mail
from gaopin.deliver.run import deliver_report, prepare_channels
from gaopin.errors import ConfigError, DeliveryError, ExitCode, UnknownOutcomeError
from tests.delivery_data import PASSWORD, delivery_settings, fixed_clock, leaked
from tests.servers import Mailbox, all_text, cutting_smtp_server, free_port, silent_server, smtp_server, tls_contexts

NOW = datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE)
# aiosmtpd warns about AUTH over plain text, which the failed-login test does on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def simple(settings, text="测试正文\n.第二行以点开头\n"):
    return mail.compose(settings.mail, "【新村街道】测试", text, "<p>测试</p>", NOW)


def send(settings, msg, environ=None):
    secret = mail.password(settings.mail, settings, environ or {})
    return mail.send(msg, settings.mail, secret, mail.ssl_context(settings.mail, settings))


def test_the_report_email_arrives_whole(sample_report, phones, tmp_path):
    with smtp_server() as server:
        settings = delivery_settings(server.port, mail={"cc": ["lingdao@example.gov.cn"]})
        channels = prepare_channels(settings, ["email"], dry_run=False, environ={})
        delivery = deliver_report(sample_report, sample_report["files"], channels, tmp_path / "s.db", clock=fixed_clock(NOW))
    assert [r.status for r in delivery.results] == ["sent"]
    [msg] = server.messages
    [(sender, rcpts)] = server.mailbox.envelopes
    assert sender == "jiesu@example.gov.cn" and rcpts == ["zhongxin@example.gov.cn", "lingdao@example.gov.cn"]
    assert msg["Subject"] == "【新村街道】2024年8月接诉即办月度报告"
    assert msg["Date"] == "Sun, 01 Sep 2024 08:00:00 +0800"
    assert msg["Message-ID"] == delivery.results[0].message_id
    assert msg["Cc"] == "lingdao@example.gov.cn"
    # HTML with the charts inline, referenced by cid
    html = msg.get_body(("html",))
    images = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert {p.get_filename() for p in images} == {f"{name}.png" for name in ("monthly", "rates", "communities", "categories", "heatmap", "rankings")}
    body = html.get_content()
    for image in images:
        cid = str(image["Content-ID"]).strip().strip("<>")
        assert f'src="cid:{cid}"' in body
        assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "综合成绩" in body and "97.42" in body
    # the plain-text alternative is the headline
    text = msg.get_body(("plain",)).get_content()
    assert "新村街道8月（2024-08-01 至 2024-08-31）受理 741 件，综合成绩 97.42" in text
    # the workbook, under a short ASCII name, opening with openpyxl
    [attachment] = [p for p in msg.iter_attachments() if p.get_filename()]
    assert attachment.get_filename() == "report-2024-08.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)
    assert wb.sheetnames[:2] == ["汇总", "社区"]
    cells = " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    # no phone number of the input anywhere in what was sent
    assert leaked(all_text(msg) + cells, phones) == []
    assert b"8bit" not in server.mailbox.raw[0]  # 7-bit safe: every body part base64


def test_starttls_with_a_private_ca_and_login(tmp_path):
    context, cafile = tls_contexts(tmp_path)
    with smtp_server(starttls=context, auth=("jiesu", PASSWORD)) as server:
        settings = delivery_settings(server.port, mail={"security": "starttls", "cafile": str(cafile), "username": "jiesu"})
        send(settings, simple(settings), {"GAOPIN_SMTP_PASSWORD": PASSWORD})
    assert server.mailbox.logins == ["jiesu"]
    [msg] = server.messages
    assert msg["Subject"] == "【新村街道】测试"
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "测试正文\n.第二行以点开头\n"


def test_implicit_ssl_with_a_private_ca(tmp_path):
    context, cafile = tls_contexts(tmp_path)
    with smtp_server(implicit_tls=context, auth=("jiesu", PASSWORD)) as server:
        settings = delivery_settings(server.port, mail={"security": "ssl", "cafile": str(cafile), "username": "jiesu"})
        send(settings, simple(settings), {"GAOPIN_SMTP_PASSWORD": PASSWORD})
    assert len(server.messages) == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_a_certificate_from_an_unknown_ca_is_refused(tmp_path, security):
    context, _ = tls_contexts(tmp_path)
    kwargs = {"starttls": context} if security == "starttls" else {"implicit_tls": context}
    with smtp_server(**kwargs) as server:
        settings = delivery_settings(server.port, mail={"security": security})  # system CAs only
        with pytest.raises(DeliveryError) as caught:
            send(settings, simple(settings))
    assert "证书无法验证" in caught.value.message and "cafile" in caught.value.hint
    assert server.messages == []


def test_a_failed_login_is_a_clean_failure_that_names_no_password():
    with smtp_server(auth=("jiesu", PASSWORD)) as server:
        settings = delivery_settings(server.port, mail={"username": "jiesu"})
        with pytest.raises(DeliveryError) as caught:
            send(settings, simple(settings), {"GAOPIN_SMTP_PASSWORD": "wrong-password"})
    assert caught.value.exit_code == ExitCode.DELIVERY
    assert "拒绝登录" in caught.value.message and "授权码" in caught.value.hint
    assert "wrong-password" not in str(caught.value)
    assert server.messages == []


def test_a_refused_recipient_stops_the_whole_send():
    mailbox = Mailbox(refuse={"nobody@example.gov.cn"})
    with smtp_server(mailbox=mailbox) as server:
        settings = delivery_settings(server.port, mail={"to": ["zhongxin@example.gov.cn", "nobody@example.gov.cn"]})
        with pytest.raises(DeliveryError) as caught:
            send(settings, simple(settings))
    assert "nobody@example.gov.cn" in caught.value.message and "没有发给任何人" in caught.value.message
    assert server.messages == []


def test_no_server_is_a_clean_failure():
    settings = delivery_settings(free_port())
    with pytest.raises(DeliveryError) as caught:
        send(settings, simple(settings))
    assert "连接被拒绝" in caught.value.message


def test_a_server_that_never_answers_is_a_timeout_with_the_firewall_hint():
    """It said "通信失败：Connection unexpectedly closed: timed out" (smtplib's wrapping)."""
    with silent_server() as port:
        settings = delivery_settings(port, mail={"timeout": 0.3})
        with pytest.raises(DeliveryError) as caught:
            send(settings, simple(settings))
    assert f"连接邮件服务器 127.0.0.1:{port} 超时" in caught.value.message and "防火墙" in caught.value.hint


def test_a_connection_lost_after_the_message_was_handed_over_is_an_unknown_outcome():
    with smtp_server(mailbox=Mailbox(drop_after_data=True)) as server:
        settings = delivery_settings(server.port)
        with pytest.raises(UnknownOutcomeError) as caught:
            send(settings, simple(settings))
    assert caught.value.exit_code == ExitCode.UNKNOWN_OUTCOME
    assert "可能已经送达" in caught.value.message
    assert len(server.messages) == 1  # it did arrive: which is why it must not be resent blindly


@pytest.mark.parametrize("size", [200_000, 20_000_000])
def test_a_connection_reset_before_the_server_read_the_whole_message_is_a_clean_failure(size):
    """A server that resets after 4 KB of a large message never got its end, so it cannot have
    taken it: that was "may have arrived" (exit 9, not resent) instead of retried (exit 7).
    200 KB fit in the sockets' buffers (the reset shows while waiting for the final reply);
    20 MB do not (it shows while the content is written)."""
    with cutting_smtp_server(after=4096) as port:
        settings = delivery_settings(port)
        big = mail.compose(settings.mail, "【新村街道】测试", "正文", "<p>正文</p>", NOW, attachment=("big.xlsx", os.urandom(size)))
        with pytest.raises(DeliveryError) as caught:
            send(settings, big)
    assert caught.value.exit_code == ExitCode.DELIVERY
    assert "没有收完" in caught.value.message and "下次运行会自动重试" in caught.value.hint


def test_a_setting_the_socket_refuses_is_a_clean_failure_before_anything_is_sent():
    import dataclasses

    with smtp_server() as server:
        settings = delivery_settings(server.port)
        refused = dataclasses.replace(settings.mail, timeout=-1.0)  # what [mail] validation keeps out of the file
        with pytest.raises(DeliveryError) as caught:
            mail.send(simple(settings), refused, None, mail.ssl_context(refused, settings))
    assert caught.value.exit_code == ExitCode.DELIVERY and server.messages == []


def test_dot_stuffing():
    assert mail._dot_stuffed(b"a\r\n.b\r\n..c") == b"a\r\n..b\r\n...c\r\n.\r\n"


# --- settings and the password ---------------------------------------------------------


def test_the_password_comes_from_the_environment_first(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    os.chmod(secret, 0o600)
    settings = delivery_settings(25, mail={"username": "u", "password_file": str(secret)})
    assert mail.password(settings.mail, settings, {"GAOPIN_SMTP_PASSWORD": "from-env"}) == "from-env"
    assert mail.password(settings.mail, settings, {}) == "from-file"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_password_file_others_can_read_is_refused(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    os.chmod(secret, 0o644)
    settings = delivery_settings(25, mail={"username": "u", "password_file": str(secret)})
    with pytest.raises(ConfigError) as caught:
        mail.password(settings.mail, settings, {})
    assert "其他人也能读取" in caught.value.message and "chmod 600" in caught.value.hint
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "section, expected",
    [
        ({"username": "u"}, "没有密码"),
        ({"username": "u", "password_file": "missing.txt"}, "无法读取密码文件"),
        ({"to": []}, "没有配置收件人"),
        ({"from": ""}, "没有配置发件人"),
        ({"to": ["not an address"]}, "不是有效的邮件地址"),
        ({"to": ["张三@example.gov.cn"]}, "不是有效的邮件地址"),
        ({"host": ""}, "没有配置邮件服务器"),
        ({"host": "smtp..example.com"}, "不是有效的服务器名"),
    ],
)
def test_mail_settings_errors_are_config_errors(section, expected):
    settings = delivery_settings(25, mail=section)
    with pytest.raises(ConfigError) as caught:
        mail.check_settings(settings.mail)
        mail.password(settings.mail, settings, {})
    assert expected in caught.value.message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_attachment_names_must_be_ascii():
    settings = delivery_settings(25)
    with pytest.raises(ValueError):
        mail.compose(settings.mail, "s", "t", "<p>h</p>", NOW, attachment=("报告.xlsx", b"x"))
