"""Delivery runs, exactly once: twice → one email, --force → two, SMTP down → retried,
unknown outcomes not resent, killed runs, two runs at once, only new warnings, dry runs."""

from __future__ import annotations

import dataclasses
import email
import io
import json
import threading
from datetime import date, datetime
from email import policy

import openpyxl
import pytest

from gaopin.config import TIMEZONE, load_settings
from gaopin.deliver.run import deliver_report, prepare_channels, report_and_deliver, send_records, warn_and_deliver
from gaopin.deliver.sends import EMAIL, REPORT, Item, SendLog
from gaopin.errors import ConfigError, DeliveryError, ExitCode, LockedError, UnknownOutcomeError
from gaopin.store import Store
from tests.delivery_data import ROWS, SAMPLE, SAMPLE_TODAY, TINY_PHONES, delivery_settings, fixed_clock, leaked, tiny_export
from tests.servers import Mailbox, Robot, all_text, free_port, smtp_server

CLOCK = fixed_clock(datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE))
DAY = date(2024, 8, 3)
AUG = "2024-08|2024-08-01|2024-08-31"  # the August report's key: its label and dates


@pytest.fixture(autouse=True)
def _store(tmp_path):
    """The store the runs record their sends in (g.db): a send refuses a given store that does
    not exist (gaopin.store.store.existing_store)."""
    Store(tmp_path / "g.db").close()


def send_report(report, settings, store, force=False):
    channels = prepare_channels(settings, ["email"], dry_run=False, environ={})
    delivery = deliver_report(report, report["files"], channels, store, force=force, clock=CLOCK)
    delivery.raise_for_errors()  # as report_and_deliver does after every channel had its turn
    return delivery


def statuses(store):
    return [(r["kind"], r["channel"], r["key"], r["status"]) for r in send_records(store)]


# --- the monthly report -----------------------------------------------------------------


def test_the_same_report_twice_sends_one_email_and_force_sends_another(sample_report, tmp_path):
    store = tmp_path / "g.db"
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        first = send_report(sample_report, settings, store)
        second = send_report(sample_report, settings, store)
        assert len(server.messages) == 1
        forced = send_report(sample_report, settings, store, force=True)
        assert len(server.messages) == 2
    assert [r.status for r in (first.results + second.results + forced.results)] == ["sent", "already_sent", "sent"]
    assert second.lines() == ["邮件：2024-08 月度报告 已于 2024-09-01 08:00:00 发送过，未重发（如需重发请加 --force）"]
    assert second.error() is None
    assert statuses(store) == [("report", "email", AUG, "sent")] * 2


def test_the_calendar_month_is_sent_after_the_cycle_of_the_same_label(sample_report, tmp_path):
    """[period] start_day 19, then back to 1: the report "2024-08" of 08-01 to 08-31 was taken as
    sent because the cycle "2024-08" (07-19 to 08-18) was, and never sent (exit 0)."""
    store = tmp_path / "g.db"
    cycle = {**sample_report, "period": {"label": "2024-08", "start": "2024-07-19", "end": "2024-08-18"}}
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        send_report(cycle, settings, store)
        month = send_report(sample_report, settings, store)
        again = send_report(sample_report, settings, store)
    assert [r.status for r in month.results + again.results] == ["sent", "already_sent"]
    assert len(server.messages) == 2
    assert [s[2] for s in statuses(store)] == [AUG, "2024-08|2024-07-19|2024-08-18"]  # newest first


def test_a_label_only_record_of_an_older_version_stands_for_the_calendar_month(sample_report, tmp_path):
    store = tmp_path / "g.db"
    with Store(store) as s:  # as a version before the key held the dates recorded August
        log = SendLog(s.conn)
        log.finish(log.begin(EMAIL, [Item(REPORT, "2024-08")], CLOCK()), "sent", CLOCK(), message_id="<old@x>")
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        month = send_report(sample_report, settings, store)
        forced = send_report(sample_report, settings, store, force=True)
    assert [r.status for r in month.results + forced.results] == ["already_sent", "sent"]
    assert len(server.messages) == 1
    assert statuses(store) == [("report", "email", "2024-08", "sent")] * 2  # one record for the report


def test_smtp_down_fails_cleanly_and_the_next_run_sends_exactly_once(sample_report, tmp_path):
    store, port = tmp_path / "g.db", free_port()
    settings = delivery_settings(port)
    with pytest.raises(DeliveryError) as caught:
        send_report(sample_report, settings, store)
    assert caught.value.exit_code == ExitCode.DELIVERY
    assert f"无法连接邮件服务器 127.0.0.1:{port}（连接被拒绝）" in caught.value.message
    assert statuses(store) == [("report", "email", AUG, "failed")]
    with smtp_server(port) as server:
        retried = send_report(sample_report, settings, store)
        again = send_report(sample_report, settings, store)
    assert len(server.messages) == 1
    assert [r.status for r in retried.results + again.results] == ["sent", "already_sent"]
    assert statuses(store) == [("report", "email", AUG, "sent"), ("report", "email", AUG, "failed")]


def test_an_unknown_outcome_is_not_resent_without_force(sample_report, tmp_path):
    store = tmp_path / "g.db"
    mailbox = Mailbox(drop_after_data=True)
    with smtp_server(mailbox=mailbox) as server:
        settings = delivery_settings(server.port)
        with pytest.raises(UnknownOutcomeError) as first:
            send_report(sample_report, settings, store)
        mailbox.drop_after_data = False
        with pytest.raises(UnknownOutcomeError) as second:
            send_report(sample_report, settings, store)
        assert len(server.messages) == 1
        forced = send_report(sample_report, settings, store, force=True)
    assert first.value.exit_code == ExitCode.UNKNOWN_OUTCOME
    # the number `gaopin sends --confirm/--resend` takes, on the run that lost the answer and on the rerun
    [number] = [r["id"] for r in send_records(store) if r["status"] == "unknown"]
    assert f"（编号 {number}）" in first.value.message
    assert f"编号 {number}（2024-08 月度报告 2024-08-01 至 2024-08-31） 上次发送结果不确定，没有重发" in second.value.message and "--force" in second.value.hint
    assert [r.status for r in forced.results] == ["sent"]
    assert len(server.messages) == 2
    assert [s[3] for s in statuses(store)] == ["sent", "unknown"]


def test_a_run_killed_while_sending_leaves_an_unknown_outcome(sample_report, tmp_path):
    store = tmp_path / "g.db"
    with Store(store) as s:  # what a run killed between "pending" and the answer leaves behind
        SendLog(s.conn).begin(EMAIL, [Item(REPORT, "2024-08")], CLOCK())
    with smtp_server() as server:
        with pytest.raises(UnknownOutcomeError) as caught:
            send_report(sample_report, delivery_settings(server.port), store)
    assert server.messages == []
    assert "上次发送结果不确定" in caught.value.message
    [record] = send_records(store)
    assert record["status"] == "unknown" and "中断" in record["detail"]


def test_a_defect_while_sending_leaves_no_send_pending(tmp_path, monkeypatch):
    from gaopin.deliver import mail

    def broken(*args, **kwargs):
        raise RuntimeError("a defect")

    monkeypatch.setattr(mail, "send", broken)
    with smtp_server() as server:
        with pytest.raises(RuntimeError):
            warn_and_deliver(delivery_settings(server.port), [tiny_export(tmp_path)], str(tmp_path / "g.db"), ["email"], on=DAY, clock=CLOCK, environ={})
    records = send_records(tmp_path / "g.db")
    assert {r["status"] for r in records} == {"unknown"}  # said at once, not left for the next run to call "interrupted"
    assert all("内部错误（RuntimeError）" in r["detail"] for r in records)


# --- two runs at once -----------------------------------------------------------------------


def test_two_runs_at_once_send_one_email(tmp_path):
    export = tiny_export(tmp_path)
    store = tmp_path / "g.db"
    hold = threading.Event()
    mailbox = Mailbox(hold=hold)
    outcomes: dict[str, object] = {}

    def run(name, timeout):
        try:
            outcomes[name] = warn_and_deliver(settings, [export], str(store), ["email"], on=DAY, clock=CLOCK, lock_timeout=timeout, environ={})
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcomes[name] = exc

    with smtp_server(mailbox=mailbox) as server:
        settings = delivery_settings(server.port)
        first = threading.Thread(target=run, args=("first", 5))
        first.start()
        assert mailbox.entered.wait(10)  # the first run is inside DATA, holding the lock
        run("impatient", 0.2)  # gives up at once
        patient = threading.Thread(target=run, args=("patient", 10))
        patient.start()
        hold.set()
        first.join(15)
        patient.join(15)
    assert isinstance(outcomes["impatient"], LockedError)
    assert [r.status for r in outcomes["first"].delivery.results] == ["sent"]
    assert [r.status for r in outcomes["patient"].delivery.results] == ["nothing_new"]
    assert len(server.messages) == 1


# --- warnings -------------------------------------------------------------------------------


def test_only_warnings_not_sent_before_go_out(tmp_path):
    store = tmp_path / "g.db"
    more = ROWS + [
        ["A5", "2024-08-05 11:00", "钱七", "13412345678", "新村街道", "桥一社区", "桥一小区6号楼", "城市管理->噪声扰民->生活噪声", "敲墙", None, None, None, "桥一社区"],
        ["A6", "2024-08-05 12:00", "孙八", "13312345678", "新村街道", "桥一社区", "桥一小区6号楼", "城市管理->噪声扰民->生活噪声", "敲墙", None, None, None, "桥一社区"],
    ]
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        first = warn_and_deliver(settings, [tiny_export(tmp_path)], str(store), ["email"], clock=CLOCK, environ={})
        later = tmp_path / "later"
        later.mkdir()
        second = warn_and_deliver(settings, [tiny_export(later, more)], str(store), ["email"], clock=CLOCK, environ={})
    assert [len(m.warnings) for m in (first.report, second.report)] == [1, 2]
    one, two = server.messages
    assert "恰海小区3号楼" in all_text(one) and "桥一小区6号楼" not in all_text(one)
    text = two.get_body(("plain",)).get_content()
    assert "桥一小区6号楼" in text and "恰海小区3号楼" not in text
    assert "新预警 1 条；新的提级办理工单 0 件" in text
    assert second.delivery.results[0].sent == ["point_day|桥一小区6号楼|城市管理->噪声扰民->生活噪声|2024-08-05"]


def test_a_show_phones_run_records_what_it_sent_as_every_run_does(tmp_path):
    """A point holding a number: after a --show-phones run, `gaopin sends` listed the number
    and the next run sent the same warnings again (its masked key looked new)."""
    rows = [[f"P{i}", f"2024-08-03 10:0{i}", "市民", f"1390000000{i}", "新村街道", "桥一社区", "电话13512345678旁桥一小区6号楼", "城市管理->噪声扰民->生活噪声", "敲墙", None, None, None, "桥一社区"] for i in range(3)]
    store = tmp_path / "g.db"
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        shown = warn_and_deliver(settings, [tiny_export(tmp_path, rows)], str(store), ["email"], on=DAY, show_phones=True, clock=CLOCK, environ={})
        again = warn_and_deliver(settings, [tiny_export(tmp_path, rows)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
    assert "13512345678" in shown.report.warnings[0].point  # shown to the person who asked
    assert len(server.messages) == 1 and again.delivery.results[0].status == "nothing_new"
    assert leaked(" ".join(r["key"] for r in send_records(store)), ["13512345678"]) == []


def test_the_warning_email_names_the_center_head_and_owners_and_masks_phones(tmp_path):
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        warn_and_deliver(settings, [tiny_export(tmp_path)], str(tmp_path / "g.db"), ["email"], on=DAY, show_phones=True, clock=CLOCK, environ={})
    [msg] = server.messages
    assert msg["Subject"] == "【新村街道】接诉即办提早预警（2024-08-03）"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "中心负责人：赵立群" in body and "责任领导：李志强" in body and "A1、A2、A3" in body
    [attachment] = [p for p in msg.iter_attachments() if p.get_filename()]
    assert attachment.get_filename() == "warnings-2024-08-03.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert wb.sheetnames == ["预警", "提级办理", "说明"]
    cells = " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "李志强" in cells
    # --show-phones shows them on the terminal only: nothing sent carries one
    assert leaked(all_text(msg) + cells, TINY_PHONES) == []


def test_the_warning_email_of_several_streets_is_titled_with_their_number_not_one_street(tmp_path):
    """A district's export: the subject named its most frequent street (马家堡南街道, 6% of the tickets)."""
    others = [[f"L{i}", f"2024-08-0{i + 1} 11:00", "市民", f"1350000000{i}", "丰台区卢沟桥街道", "小井社区", f"小井{i}号楼", "城市管理->噪声扰民->生活噪声", "吵", None, None, None, "小井社区"] for i in range(4)]
    with smtp_server() as server:
        settings = delivery_settings(server.port).with_values({"report.street": ""})  # named from the data
        done = warn_and_deliver(settings, [tiny_export(tmp_path, ROWS + others)], str(tmp_path / "g.db"), ["email"], on=DAY, clock=CLOCK, environ={})
    [msg] = server.messages
    assert msg["Subject"] == "【2 个街道】接诉即办提早预警（2024-08-03）" and done.report.area == "2 个街道"
    text = msg.get_body(("plain",)).get_content()
    assert "新村街道·恰海社区" in text and "责任领导：李志强" in text  # found under the community's own name


def test_a_failing_channel_does_not_hold_back_the_other(tmp_path):
    export, store, port = tiny_export(tmp_path), tmp_path / "g.db", free_port()
    with Robot() as robot:
        settings = delivery_settings(port, robot.url)
        with pytest.raises(DeliveryError) as caught:
            warn_and_deliver(settings, [export], str(store), ["email", "notify"], on=DAY, clock=CLOCK, environ={})
        assert caught.value.message.startswith("邮件：")
        assert len(robot.posts) == 1
        with smtp_server(port) as server:
            later = warn_and_deliver(settings, [export], str(store), ["email", "notify"], on=DAY, clock=CLOCK, environ={})
    assert {r.channel: r.status for r in later.delivery.results} == {"email": "sent", "notify": "nothing_new"}
    assert len(server.messages) == 1 and len(robot.posts) == 1


def test_a_configuration_error_sends_nothing_at_all(tmp_path):
    with smtp_server() as server:
        settings = delivery_settings(server.port)  # no [notify] webhook
        with pytest.raises(ConfigError) as caught:
            warn_and_deliver(settings, [tiny_export(tmp_path)], str(tmp_path / "g.db"), ["email", "notify"], on=DAY, clock=CLOCK, environ={})
    assert "webhook" in caught.value.message and server.messages == []
    assert send_records(tmp_path / "g.db") == []


def test_nothing_to_warn_about_sends_nothing(tmp_path):
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        quiet = warn_and_deliver(settings, [tiny_export(tmp_path, ROWS[3:4])], str(tmp_path / "g.db"), ["email"], on=DAY, clock=CLOCK, environ={})
    assert server.messages == [] and [r.status for r in quiet.delivery.results] == ["nothing_new"]


# --- dry runs and masking --------------------------------------------------------------------


def test_a_dry_run_writes_the_message_and_payload_sends_and_records_nothing(tmp_path, db, phones):
    settings = load_settings(SAMPLE / "gaopin.toml", environ={})
    settings = dataclasses.replace(
        settings,
        mail=dataclasses.replace(settings.mail, sender="jiesu@example.gov.cn", to=["zhongxin@example.gov.cn"]),
        privacy=dataclasses.replace(settings.privacy, mask_phones=False),  # sending masks anyway
    )
    out = tmp_path / "out"
    sent = report_and_deliver(settings, 8, 2024, None, str(db), SAMPLE_TODAY, ["email", "notify"], out_dir=out, dry_run=True, clock=CLOCK, environ={})
    assert [(r.status, r.file) for r in sent.delivery.results] == [("dry_run", str(out / "report-2024-08.eml")), ("dry_run", str(out / "report-2024-08.wecom.json"))]
    assert send_records(db) == []
    msg = email.message_from_bytes((out / "report-2024-08.eml").read_bytes(), policy=policy.default)
    assert msg["Subject"] == "【新村街道】2024年8月接诉即办月度报告"
    payload = json.loads((out / "report-2024-08.wecom.json").read_text(encoding="utf-8"))
    assert payload["msgtype"] == "markdown" and "综合成绩 97.42" in payload["markdown"]["content"]
    [attachment] = [p for p in msg.iter_attachments() if p.get_filename()]
    wb = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)
    cells = " ".join(str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "****" in cells  # the ledger sheet's callers are there, masked
    assert leaked(all_text(msg) + cells + json.dumps(payload, ensure_ascii=False), phones) == []


def test_the_report_email_takes_this_runs_files_even_if_another_report_replaces_them(tmp_path, db, monkeypatch):
    """A hand `report` of the same month replaced the folder between the cron run's swap and its
    reading the files: the email said 728 tickets and attached the other run's workbook."""
    from gaopin.reports import run as report_run

    settings = load_settings(SAMPLE / "gaopin.toml", environ={})
    settings = dataclasses.replace(settings, mail=dataclasses.replace(settings.mail, sender="jiesu@example.gov.cn", to=["zhongxin@example.gov.cn"]))
    out = tmp_path / "out"
    swap = report_run._replace_folder

    def and_then_another_run(staging, target):
        swap(staging, target)
        for path in target.iterdir():  # the other run's report, in place at once
            path.write_bytes(b"another run's " + path.name.encode())

    monkeypatch.setattr(report_run, "_replace_folder", and_then_another_run)
    report_and_deliver(settings, 8, 2024, None, str(db), SAMPLE_TODAY, ["email"], out_dir=out, dry_run=True, dry_run_dir=tmp_path / "dry", clock=CLOCK, environ={})
    msg = email.message_from_bytes((tmp_path / "dry" / "report-2024-08.eml").read_bytes(), policy=policy.default)
    [attachment] = [p for p in msg.iter_attachments() if p.get_filename()]
    wb = openpyxl.load_workbook(io.BytesIO(attachment.get_content()), read_only=True)  # a workbook, this run's
    assert wb.sheetnames[0] == "汇总"
    images = [p.get_content() for p in msg.walk() if p.get_content_maintype() == "image"]
    assert images and all(image.startswith(b"\x89PNG") for image in images)


# --- earlier sends, whatever this run's --date ----------------------------------------------

NOISE = ["新村街道", "桥一社区", "桥一小区6号楼", "城市管理->噪声扰民->生活噪声", "敲墙", None, None, None, "桥一社区"]
AUG5 = ROWS + [["A5", "2024-08-05 11:00", "钱七", "13412345678", *NOISE], ["A6", "2024-08-05 12:00", "孙八", "13312345678", *NOISE]]


def test_a_failed_send_is_resent_as_it_was_by_the_next_days_run(tmp_path):
    store, port = tmp_path / "g.db", free_port()
    # No catch-up days: the warning of 08-03 is not among 08-05's own (with them, the run sends it itself).
    settings = delivery_settings(port, delivery={"catch_up_days": 0})
    with pytest.raises(DeliveryError):
        warn_and_deliver(settings, [tiny_export(tmp_path)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
    later = tmp_path / "later"
    later.mkdir()
    export = tiny_export(later, AUG5)
    dry = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 5), dry_run=True, dry_run_dir=tmp_path / "dry", clock=CLOCK, environ={})
    assert dry.delivery.lines()[0] == "邮件：演练，正式运行时会先按原样重发上次发送失败的 【新村街道】接诉即办提早预警（2024-08-03）：1 条预警、2 件提级办理，没有发送"
    assert [r.sent for r in dry.delivery.results] == [["point_day|桥一小区6号楼|城市管理->噪声扰民->生活噪声|2024-08-05"]]  # as the real run below
    with smtp_server(port) as server:
        next_day = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 5), clock=CLOCK, environ={})
        again = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 5), clock=CLOCK, environ={})
    resent, new = server.messages
    assert resent["Subject"] == "【新村街道】接诉即办提早预警（2024-08-03）"  # the message that failed, as it was
    assert "恰海小区3号楼" in all_text(resent) and "新预警 1 条；新的提级办理工单 2 件" in all_text(resent)
    text = new.get_body(("plain",)).get_content()
    assert "桥一小区6号楼" in text and "新预警 1 条；新的提级办理工单 0 件" in text  # the escalations went out above
    [line, *_] = next_day.delivery.lines()
    assert line.startswith("邮件：已发送 上次发送失败的 【新村街道】接诉即办提早预警（2024-08-03）：1 条预警、2 件提级办理")
    assert [r.status for r in next_day.delivery.resent + next_day.delivery.results] == ["sent", "sent"]
    assert (again.delivery.resent, [r.status for r in again.delivery.results]) == ([], ["nothing_new"])
    assert len(server.messages) == 2
    assert [s[3] for s in statuses(store)] == ["sent"] * 4 + ["failed"] * 3  # newest first
    with Store(store) as s:  # a message sent is not kept
        assert s.conn.execute("SELECT count(*) FROM send_messages").fetchone()[0] == 0


def test_a_failed_email_is_resent_with_the_sender_and_recipients_of_the_fixed_settings(tmp_path):
    """A send refused for its From: (or a recipient), fixed in [mail] as the error said: every
    later run resent the kept message with the old From:/To: and was refused again (exit 7 for ever)."""
    store = tmp_path / "g.db"
    mailbox = Mailbox(refuse={"bad@example.gov.cn"}, refuse_from={"old@example.gov.cn"})
    later = tmp_path / "later"
    later.mkdir()
    export = tiny_export(later, AUG5)
    with smtp_server(mailbox=mailbox) as server:
        wrong = delivery_settings(server.port, mail={"from": "old@example.gov.cn", "to": ["zhongxin@example.gov.cn", "bad@example.gov.cn"]}, delivery={"catch_up_days": 0})
        with pytest.raises(DeliveryError):
            warn_and_deliver(wrong, [tiny_export(tmp_path)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
        fixed = delivery_settings(server.port, mail={"cc": ["lingdao@example.gov.cn"]}, delivery={"catch_up_days": 0})
        next_day = warn_and_deliver(fixed, [export], str(store), ["email"], on=date(2024, 8, 5), clock=CLOCK, environ={})
    assert [r.status for r in next_day.delivery.resent + next_day.delivery.results] == ["sent", "sent"]
    resent = server.messages[0]
    assert resent["Subject"] == "【新村街道】接诉即办提早预警（2024-08-03）" and "恰海小区3号楼" in all_text(resent)  # the content as it was
    assert (resent["From"].addresses[0].addr_spec, resent["To"], resent["Cc"]) == ("jiesu@example.gov.cn", "zhongxin@example.gov.cn", "lingdao@example.gov.cn")
    assert resent["Message-ID"] == next_day.delivery.resent[0].message_id and resent["Message-ID"].endswith("@example.gov.cn>")


def test_a_failed_email_is_resent_by_the_next_run_that_sends_email_not_by_a_robot_run(tmp_path):
    """What docs/cron.md §2 says (it said every --email/--notify run resends both)."""
    store, port = tmp_path / "g.db", free_port()
    later = tmp_path / "later"
    later.mkdir()
    export = tiny_export(later, AUG5)
    with Robot() as robot:
        settings = delivery_settings(port, robot.url, delivery={"catch_up_days": 0})
        with pytest.raises(DeliveryError):
            warn_and_deliver(settings, [tiny_export(tmp_path)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
        with smtp_server(port) as server:
            robot_run = warn_and_deliver(settings, [export], str(store), ["notify"], on=date(2024, 8, 5), clock=CLOCK, environ={})
            assert robot_run.delivery.resent == [] and server.messages == []
            email_run = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 5), clock=CLOCK, environ={})
    assert [r.status for r in email_run.delivery.resent] == ["sent"]
    assert server.messages[0]["Subject"] == "【新村街道】接诉即办提早预警（2024-08-03）"


def test_an_unknown_outcome_ends_every_later_run_with_exit_9_until_a_person_settles_it(tmp_path):
    from gaopin.deliver.run import settle_sends

    store = tmp_path / "g.db"
    later = tmp_path / "later"
    later.mkdir()
    export = tiny_export(later, AUG5)
    mailbox = Mailbox(drop_after_data=True)
    with smtp_server(mailbox=mailbox) as server:
        settings = delivery_settings(server.port)
        with pytest.raises(UnknownOutcomeError):
            warn_and_deliver(settings, [export], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
        mailbox.drop_after_data = False
        with pytest.raises(UnknownOutcomeError) as next_day:
            warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 5), clock=CLOCK, environ={})
        assert len(server.messages) == 2  # the day's own warning went out first
        assert [r.status for r in next_day.value.result.delivery.results] == ["sent"]  # the error carries what the run sent
        unknown = [r for r in send_records(store) if r["status"] == "unknown"]
        assert {r["key"] for r in unknown} == {"A2", "A3", "point_day|恰海小区3号楼|城市管理->动物->流浪猫|2024-08-03"}
        assert f"编号 {unknown[-1]['id']}" in next_day.value.message and "gaopin sends --confirm" in next_day.value.hint
        added = settle_sends(store, [unknown[0]["id"]], [], clock=CLOCK)  # one number settles its whole message
        quiet = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 6), clock=CLOCK, environ={})
    assert [(r["status"], r["detail"]) for r in added] == [("sent", "人工确认已收到")] * 3
    assert quiet.delivery.error() is None and quiet.delivery.unsettled == []
    assert len(server.messages) == 2


# A point and problem with a two_day warning on 08-10/11 (and a point_day on 08-11); tickets of
# 08-09 arriving later move the two_day warning's first day to 08-09.
PILES = ["新村街道", "育仁里社区", "育仁里3号楼", "城市管理->市容环境->乱堆物料", "堆物", None, None, None, "育仁里社区"]


def piles(prefix, day, caller, phone, n):
    return [[f"{prefix}{i}", f"{day} 0{i + 1}:00", caller, phone, *PILES] for i in range(n)]


FIRST = piles("T", "2024-08-10", "甲某", "13122220001", 2) + piles("U", "2024-08-11", "乙某", "13122220002", 2) + piles("V", "2024-08-11", "丙某", "13122220003", 1)
LATE = piles("L", "2024-08-09", "丁某", "13122220004", 3)
NEXT_WEEK = piles("N", "2024-08-14", "戊某", "13122220005", 3) + piles("M", "2024-08-15", "己某", "13122220006", 2)


def test_a_warning_grown_by_late_tickets_is_not_sent_again_a_new_one_later_is(tmp_path):
    store = tmp_path / "g.db"

    def run(rows, day):
        folder = tmp_path / f"x{len(rows)}"
        folder.mkdir()
        return warn_and_deliver(settings, [tiny_export(folder, rows)], str(store), ["email"], on=day, clock=CLOCK, environ={})

    with smtp_server() as server:
        settings = delivery_settings(server.port)
        first = run(FIRST, date(2024, 8, 11))
        late = run(FIRST + LATE, date(2024, 8, 11))
        later = run(FIRST + LATE + NEXT_WEEK, date(2024, 8, 15))
    assert {(w.rule, w.start.isoformat()) for w in first.report.warnings} == {("two_day", "2024-08-10"), ("point_day", "2024-08-11")}
    assert ("two_day", "2024-08-09") in {(w.rule, w.start.isoformat()) for w in late.report.warnings}
    # the grown two_day warning is not sent again; the late tickets' own point_day warning of 08-09 is new (补发)
    assert [r.sent for r in late.delivery.results] == [["point_day|育仁里3号楼|城市管理->市容环境->乱堆物料|2024-08-09"]]
    # a new warning on days not joined to the first: sent (with the point_day warning of 08-14, caught up on)
    assert [r.sent for r in later.delivery.results] == [[f"{rule}|育仁里3号楼|城市管理->市容环境->乱堆物料|2024-08-14" for rule in ("point_day", "two_day")]]
    assert len(server.messages) == 3


# --- the daily run catches up on the days before its --date ------------------------------------


def cats(prefix, point, when, n, community="恰海社区"):
    """n tickets about stray cats at `point`, an hour apart from `when` (no callback answers: no escalation)."""
    day, hour = when.split(" ")
    return [
        [f"{prefix}{i}", f"{day} {int(hour) + i:02d}:00", f"某{prefix}{i}", f"1312222{i:04d}", "新村街道", community, point, "城市管理->动物->流浪猫", "猫", None, None, None, community]
        for i in range(n)
    ]


# An old warning (07-01), one completed after 08-03's noon run (its third ticket at 14:00), one on
# 08-05 while the machine was off (no runs on 08-05 and 08-06), one on 08-07 before the run.
OLD = cats("O", "恰海小区1号楼", "2024-07-01 09", 3)
AFTERNOON = cats("P", "恰海小区2号楼", "2024-08-03 10", 2) + cats("Q", "恰海小区2号楼", "2024-08-03 14", 1)
OFF = cats("R", "桥一小区5号楼", "2024-08-05 08", 3, "桥一社区")
MORNING = cats("S", "桥一小区7号楼", "2024-08-07 08", 3, "桥一社区")


def test_the_daily_run_sends_every_warning_once_also_those_completed_after_a_run_or_while_none_ran(tmp_path):
    tickets = OLD + AFTERNOON + OFF + MORNING
    store = tmp_path / "g.db"
    sent: list[str] = []
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        for day in (3, 4, 7, 8, 9):  # the noon runs; the machine was off on 08-05 and 08-06
            noon = datetime(2024, 8, day, 12, 0, tzinfo=TIMEZONE)
            folder = tmp_path / f"08-{day:02d}"
            folder.mkdir()
            export = tiny_export(folder, [r for r in tickets if r[1] < noon.strftime("%Y-%m-%d %H:%M")])  # exported at noon
            run = warn_and_deliver(settings, [export], str(store), ["email"], on=noon.date(), clock=lambda: noon, environ={})
            sent += [key for r in run.delivery.results for key in r.sent]
            assert run.delivery.error() is None
    every = {w.id for w in warn_and_deliver(settings, [export], str(store), ["email"], dry_run=True, environ={}).report.warnings}
    caught_up = {k for k in every if "1号楼" not in k}
    # every warning of the catch-up days sent exactly once; the old one (before the first run's week) never
    assert sorted(sent) == sorted(caught_up) and len(caught_up) == 3
    assert [s[2] for s in statuses(store)] == sent[::-1]
    subjects = [m["Subject"] for m in server.messages]
    assert subjects == [f"【新村街道】接诉即办提早预警（2024-08-0{d}）" for d in (4, 7)]
    late, mixed = (m.get_body(("plain",)).get_content() for m in server.messages)
    [attachment] = [p for p in server.messages[0].iter_attachments() if p.get_filename()]
    notes = [c for row in openpyxl.load_workbook(io.BytesIO(attachment.get_content()))["说明"].iter_rows(values_only=True) for c in row if c]
    assert "另有 1 条此前几天结束、还没有发出过的预警一并补发（见各条的起止日期）。" in notes
    assert "新预警 1 条（其中 1 条是 2024-08-04 以前的，补发）" in late
    assert "【补发】单日同点位：恰海小区2号楼" in late and "补发：这条预警截至 2024-08-03，以前没有发出" in late
    assert "新预警 2 条（其中 1 条是 2024-08-07 以前的，补发）" in mixed
    assert "【补发】单日同点位：桥一小区5号楼" in mixed and "截至 2024-08-05" in mixed
    assert "【补发】单日同点位：桥一小区7号楼" not in mixed and "单日同点位：桥一小区7号楼" in mixed
    # --force resends the day's content, not the catch-up days' (they went out: no 补发 "以前没有发出").
    again = warn_and_deliver(settings, [export], str(store), ["email"], on=date(2024, 8, 7), force=True, dry_run=True, dry_run_dir=tmp_path / "f", environ={})
    [forced] = again.delivery.results
    assert forced.sent == [k for k in sent if "7号楼" in k] and "补发" not in forced.what


def test_a_dry_run_checks_the_files_the_real_run_would_refuse(tmp_path):
    """The rehearsal (cron.md) passed with a password file others can read or a missing CA file,
    which the real run refuses (exit 4). It still needs no server to show the content."""
    secret = tmp_path / "smtp.pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    secret.chmod(0o644)
    readable = delivery_settings(2525, mail={"username": "jiesu", "password_file": str(secret)})
    with pytest.raises(ConfigError, match="其他人也能读取"):
        prepare_channels(readable, ["email"], dry_run=True, environ={})
    secret.chmod(0o600)
    assert prepare_channels(readable, ["email"], dry_run=True, environ={}).secret is None  # read, not kept
    no_ca = delivery_settings(2525, mail={"cafile": str(tmp_path / "none.pem")})
    with pytest.raises(ConfigError, match="CA"):
        prepare_channels(no_ca, ["email"], dry_run=True, environ={})
    bad_robot = delivery_settings(robot_url="http://机器人 地址/hook")
    with pytest.raises(ConfigError):
        prepare_channels(bad_robot, ["notify"], dry_run=True, environ={})
    content_only = delivery_settings(2525, mail={"host": ""})  # no server yet: the content alone
    assert prepare_channels(content_only, ["email"], dry_run=True, environ={}).dry_run


def test_an_unsettled_message_is_named_by_one_number_not_one_per_item():
    """One email of 302 items whose outcome is unknown read as five numbers "等 302 项", as if
    staff had 302 sends to confirm; any of its numbers settles it whole."""
    from gaopin.deliver.run import _numbered

    one_email = [{"id": 10 + i, "channel": "email", "key": f"A{i}", "started_at": "2024-09-01 08:00:00", "message": 7} for i in range(302)]
    robot = [{"id": 400, "channel": "notify", "key": "B1", "started_at": "2024-09-01 08:00:01", "message": None}]
    assert _numbered(one_email + robot) == "编号 10（邮件 A0 等，同一消息共 302 项）、编号 400（群机器人 B1）"


def test_a_failure_recorded_before_messages_were_kept_is_named_by_every_run_until_one_sends_it_again(sample_report, tmp_path):
    from gaopin.deliver.sends import FAILED

    store = tmp_path / "g.db"
    with Store(store) as s:  # as a version before messages were kept left it: failed, no message
        log = SendLog(s.conn)
        log.finish(log.begin(EMAIL, [Item(REPORT, "2024-08")], CLOCK()), FAILED, CLOCK(), detail="连接被拒绝（下次运行会自动重试）")
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        warned = warn_and_deliver(settings, [tiny_export(tmp_path)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
        assert len(server.messages) == 1  # the day's warnings; what failed then cannot be resent as it was
        sent = send_report(sample_report, settings, store)  # the month's own run sends it again
        again = warn_and_deliver(settings, [tiny_export(tmp_path)], str(store), ["email"], on=DAY, clock=CLOCK, environ={})
    assert warned.delivery.error() is None  # nothing of this run failed
    assert warned.delivery.lines()[-1] == (
        "有 1 项以前发送失败、当时的内容没有保存，无法按原样重发：编号 1（邮件 2024-08）；"
        "请运行 gaopin report --month 8 --year 2024 --email，按现在的数据重新发送"
    )
    assert [r["key"] for r in warned.delivery.to_dict()["not_retried"]] == ["2024-08"]
    assert [r.status for r in sent.results] == ["sent"] and sent.not_retried == []
    assert again.delivery.not_retried == [] and len(server.messages) == 2
    listed = send_records(store)
    assert [(r["status"], r["resend"]) for r in listed if r["kind"] == "report"] == [("sent", None), ("failed", None)]


def test_force_resends_the_days_escalations_not_every_one_ever_sent(tmp_path):
    """`warn --date D --force` after an uncertain send: the escalations sent on earlier days
    stayed sent (it had resent every 单否/双否 in the data, counted as new)."""
    later = ["E5", "2024-08-05 09:00", "钱七", "13412345678", "新村街道", "桥一社区", "桥一小区8号楼", "城市管理->噪声扰民->生活噪声", "施工", "是", "未解决", "不满意", "桥一社区"]
    store = tmp_path / "g.db"
    with smtp_server() as server:
        settings = delivery_settings(server.port)
        for day, rows in ((3, ROWS[:3]), (5, [*ROWS, later])):
            noon = datetime(2024, 8, day, 12, 0, tzinfo=TIMEZONE)
            folder = tmp_path / f"08-{day:02d}"
            folder.mkdir()
            run = warn_and_deliver(settings, [tiny_export(folder, rows)], str(store), ["email"], on=noon.date(), clock=lambda: noon, environ={})
            assert run.delivery.error() is None
        export = folder / "tickets.xlsx"
        escalated = [k for kind, _, k, _ in statuses(store) if kind == "escalation"]
        assert sorted(escalated) == ["A2", "A3", "E5"]  # A2, A3 sent on 08-03; E5 on 08-05
        noon = datetime(2024, 8, 5, 13, 0, tzinfo=TIMEZONE)
        again = warn_and_deliver(settings, [export], str(store), ["email"], on=noon.date(), force=True, clock=lambda: noon, environ={})
    [forced] = again.delivery.results
    assert forced.sent == ["E5"]
    assert "1 件提级办理" in forced.what
    # without the fix the forced email listed A2 and A3 again
    assert "A2" not in all_text(server.messages[-1]) and "E5" in all_text(server.messages[-1])
