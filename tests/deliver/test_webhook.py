"""Group robots: payloads of both robots posted to a local HTTP server, DingTalk signing,
size limits, and how failures are classified."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.config import TIMEZONE
from gaopin.deliver import webhook
from gaopin.deliver.run import warn_and_deliver
from gaopin.errors import ConfigError, DeliveryError, ExitCode, UnknownOutcomeError
from gaopin.store import Store
from tests.delivery_data import TINY_PHONES, delivery_settings, fixed_clock, leaked, tiny_export
from tests.servers import Robot, free_port

DAY = date(2024, 8, 3)
NOON = datetime(2024, 8, 3, 12, 0, tzinfo=TIMEZONE)


@pytest.fixture(autouse=True)
def _store(tmp_path):
    """The store the runs record their sends in (g.db): a send refuses a given store that does
    not exist (gaopin.store.store.existing_store)."""
    Store(tmp_path / "g.db").close()


def run(settings, export, db, **kw):
    return warn_and_deliver(settings, [export], str(db), ["notify"], on=DAY, clock=fixed_clock(NOON), environ={}, **kw)


def test_wecom_payload_and_a_second_run_posts_nothing(tmp_path):
    export = tiny_export(tmp_path)
    with Robot() as robot:
        settings = delivery_settings(robot_url=robot.url)
        first = run(settings, export, tmp_path / "g.db")
        second = run(settings, export, tmp_path / "g.db")
    [post] = robot.posts
    assert post.path == "/robot/send" and post.query == {"access_token": "TOKEN123"}
    assert set(post.body) == {"msgtype", "markdown"} and post.body["msgtype"] == "markdown"
    assert set(post.body["markdown"]) == {"content"}
    content = post.body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096
    assert content.startswith('**<font color="warning">【新村街道】接诉即办提早预警（2024-08-03）</font>**')
    for text in ["中心负责人：赵立群", "单日同点位：恰海小区3号楼（恰海社区）", "责任领导：李志强", "A1、A2、A3", "双否 A2"]:
        assert text in content
    assert leaked(content, TINY_PHONES) == []
    assert "138＊＊＊＊5678" in content  # the title's number, masked (full-width stars: not markdown)
    assert [r.status for r in first.delivery.results] == ["sent"]
    assert [r.status for r in second.delivery.results] == ["nothing_new"]
    assert second.delivery.lines() == ["群机器人：没有新的预警，未发送"]


def test_dingtalk_payload_is_signed(tmp_path):
    export = tiny_export(tmp_path)
    with Robot(secret="SEC-abc123") as robot:
        settings = delivery_settings(robot_url=robot.url, notify={"format": "dingtalk", "secret": "SEC-abc123"})
        run(settings, export, tmp_path / "g.db")
    [post] = robot.posts
    assert robot.bad_signatures == 0
    assert post.query["access_token"] == "TOKEN123"
    assert post.query["timestamp"] == str(int(NOON.timestamp() * 1000))
    assert set(post.body) == {"msgtype", "markdown"} and set(post.body["markdown"]) == {"title", "text"}
    assert post.body["markdown"]["title"] == "【新村街道】接诉即办提早预警（2024-08-03）"
    assert "\n\n" in post.body["markdown"]["text"]  # DingTalk needs blank lines between lines


def test_sign_matches_the_published_algorithm():
    secret, ts = "SECxyz", 1725148800000
    expected = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()).decode()
    assert urllib.parse.unquote_plus(webhook.sign(secret, ts)) == expected
    assert webhook.signed_url("https://oapi.dingtalk.com/robot/send?access_token=x", secret, ts).startswith(
        "https://oapi.dingtalk.com/robot/send?access_token=x&timestamp=1725148800000&sign="
    )


def test_a_wrong_signature_is_refused_cleanly_and_retried_next_run(tmp_path):
    export = tiny_export(tmp_path)
    with Robot(secret="right") as robot:
        wrong = delivery_settings(robot_url=robot.url, notify={"format": "dingtalk", "secret": "wrong"})
        with pytest.raises(DeliveryError) as caught:
            run(wrong, export, tmp_path / "g.db")
        right = delivery_settings(robot_url=robot.url, notify={"format": "dingtalk", "secret": "right"})
        retried = run(right, export, tmp_path / "g.db")
    assert "310000" in caught.value.message and "secret" in caught.value.hint
    assert caught.value.exit_code == ExitCode.DELIVERY
    assert [r.status for r in retried.delivery.results] == ["sent"]
    assert len(robot.posts) == 2 and robot.bad_signatures == 1


def test_no_answer_after_posting_is_an_unknown_outcome_not_resent(tmp_path):
    export = tiny_export(tmp_path)
    with Robot() as robot:
        robot.drop = True
        settings = delivery_settings(robot_url=robot.url)
        with pytest.raises(UnknownOutcomeError):
            run(settings, export, tmp_path / "g.db")
        robot.drop = False
        with pytest.raises(UnknownOutcomeError) as again:
            run(settings, export, tmp_path / "g.db")
        forced = run(settings, export, tmp_path / "g.db", force=True)
    assert "上次发送结果不确定" in again.value.message
    assert [r.status for r in forced.delivery.results] == ["sent"]
    assert len(robot.posts) == 2  # the dropped one, and the forced one


@pytest.mark.parametrize("answer", [b"<html>502 Bad Gateway</html>", b"{}", b'{"errmsg": "ok"}', b"[0]", b'{"errcode": null}'])
def test_a_success_status_without_the_robots_verdict_is_an_unknown_outcome_not_resent(tmp_path, answer):
    """A 200 with a gateway's page or `{}` was a clean failure ("回应无法识别", "errcode -1"):
    the next run posted the same warnings again, though the robot may have posted them."""
    export = tiny_export(tmp_path)
    with Robot() as robot:
        robot.answer = answer
        settings = delivery_settings(robot_url=robot.url)
        with pytest.raises(UnknownOutcomeError) as caught:
            run(settings, export, tmp_path / "g.db")
        robot.answer = None
        with pytest.raises(UnknownOutcomeError) as again:
            run(settings, export, tmp_path / "g.db")
    assert caught.value.exit_code == ExitCode.UNKNOWN_OUTCOME
    assert "回应无法识别" in caught.value.message and "TOKEN" not in str(caught.value)
    assert "上次发送结果不确定" in again.value.message
    assert len(robot.posts) == 1  # not posted twice


def test_an_explicit_errcode_is_a_clean_refusal_retried_next_run(tmp_path):
    export = tiny_export(tmp_path)
    with Robot() as robot:
        robot.answer = b'{"errcode": "93000", "errmsg": "invalid webhook url"}'
        settings = delivery_settings(robot_url=robot.url)
        with pytest.raises(DeliveryError) as caught:
            run(settings, export, tmp_path / "g.db")
        robot.answer = None
        retried = run(settings, export, tmp_path / "g.db")
    assert "errcode 93000" in caught.value.message and caught.value.exit_code == ExitCode.DELIVERY
    assert [r.status for r in retried.delivery.results] == ["sent"] and len(robot.posts) == 2


@pytest.mark.parametrize(
    "status, said, hint",
    [(429, "限流", "限流；下次运行会自动重试"), (500, "服务器", "暂时出错；下次运行会自动重试"), (503, "服务器", "暂时出错"), (404, "拒绝了消息", "webhook 地址")],
)
def test_an_http_error_status_is_a_clean_refusal_with_a_hint_for_its_cause(tmp_path, status, said, hint):
    """429 and 500 said "请检查 webhook 地址是否正确、机器人是否被移出群", and not that the next run retries."""
    export = tiny_export(tmp_path)
    with Robot() as robot:
        robot.status, robot.answer = status, b"<html>error</html>"
        settings = delivery_settings(robot_url=robot.url)
        with pytest.raises(DeliveryError) as caught:
            run(settings, export, tmp_path / "g.db")
        robot.status, robot.answer = 200, None
        retried = run(settings, export, tmp_path / "g.db")
    assert f"HTTP {status}" in caught.value.message and said in caught.value.message and hint in caught.value.hint
    assert "下次运行会自动重试" in caught.value.hint and "TOKEN" not in str(caught.value)
    assert [r.status for r in retried.delivery.results] == ["sent"] and len(robot.posts) == 2


def test_an_unreachable_robot_is_a_clean_failure(tmp_path):
    settings = delivery_settings(robot_url=f"http://127.0.0.1:{free_port()}/robot/send?access_token=T")
    with pytest.raises(DeliveryError) as caught:
        run(settings, tiny_export(tmp_path), tmp_path / "g.db")
    assert "无法连接群机器人" in caught.value.message and "TOKEN" not in caught.value.message


def test_a_timeout_the_socket_refuses_is_a_clean_failure_before_anything_is_posted():
    with Robot() as robot:
        with pytest.raises(DeliveryError) as caught:  # what [notify] validation keeps out of the file
            webhook.post(robot.url, webhook.payload("wecom", "t", "x"), timeout=-1)
    assert robot.posts == [] and "TOKEN" not in str(caught.value)


def test_long_lists_are_cut_to_the_robot_limit(tmp_path, db):
    from tests.delivery_data import SAMPLE
    from gaopin.config import load_settings

    import dataclasses

    with Robot() as robot:
        settings = load_settings(SAMPLE / "gaopin.toml", environ={})
        settings = dataclasses.replace(settings, notify=dataclasses.replace(settings.notify, webhook=robot.url))
        sent = warn_and_deliver(settings, None, str(db), ["notify"], on=date(2024, 8, 6), clock=fixed_clock(), environ={})
    [post] = robot.posts
    content = post.body["markdown"]["content"]
    assert len(content.encode("utf-8")) <= webhook.MAX_BYTES
    [result] = sent.delivery.results
    assert result.omitted > 0 and f"另有 {result.omitted} 条未列出" in content
    assert content.count("\n**") >= 2  # both warnings listed before the escalations


@given(
    header=st.lists(st.text(min_size=1, max_size=80), min_size=1, max_size=3),
    items=st.lists(st.text(min_size=1, max_size=900), max_size=40),
    fmt=st.sampled_from(["wecom", "dingtalk"]),
)
def test_fit_stays_within_the_limit_and_counts_what_it_leaves_out(header, items, fmt):
    text, left = webhook.fit(header, items, fmt, limit=2048)
    assert len(text.encode("utf-8")) <= 2048
    assert 0 <= left <= len(items)
    if left:
        assert text.endswith(webhook.more_line(left))
    kept = len(items) - left
    sep = "\n\n" if fmt == "dingtalk" else "\n"
    assert text.startswith(sep.join(header + items[:kept]))


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", True),
        ("http://127.0.0.1:8080/robot", True),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", False),
        ("ftp://example.com/x", False),
        ("qyapi.weixin.qq.com/cgi-bin/webhook/send", False),
        ("https://user:pw@example.com/x", False),
        ("https://example.com:99999/x", False),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=机器人", False),
        ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a b", False),
        ("", False),
    ],
)
def test_webhook_urls(url, ok):
    if ok:
        webhook.check_url(url)
    else:
        with pytest.raises(ConfigError):
            webhook.check_url(url)


def test_redact_hides_the_robot_key():
    assert webhook.redact("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET") == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"


def test_payload_shapes():
    assert webhook.payload("wecom", "t", "x") == {"msgtype": "markdown", "markdown": {"content": "x"}}
    assert webhook.payload("dingtalk", "t", "x") == {"msgtype": "markdown", "markdown": {"title": "t", "text": "x"}}
    assert json.dumps(webhook.payload("wecom", "t", "中文"), ensure_ascii=False)
