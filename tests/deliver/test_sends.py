"""The exactly-once record: states and transitions of the sends table."""

from __future__ import annotations

from datetime import datetime

import pytest

from gaopin.config import TIMEZONE
from gaopin.deliver.sends import EMAIL, FAILED, NOTIFY, PENDING, REPORT, SENT, UNKNOWN, WARNING, Item, SendLog, stamp
from gaopin.errors import UsageError
from gaopin.store import Store

T0 = datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE)
T1 = datetime(2024, 9, 1, 8, 1, tzinfo=TIMEZONE)
AUG, W1, W2 = Item(REPORT, "2024-08"), Item(WARNING, "point_day|p|c|2024-08-03"), Item(WARNING, "two_day|p|c|2024-08-03")


@pytest.fixture
def log(tmp_path):
    with Store(tmp_path / "g.db") as store:
        yield SendLog(store.conn)


def test_never_sent_items_are_sent(log):
    plan = log.plan(EMAIL, [AUG, AUG])
    assert plan.send == [AUG] and not plan.already_sent and not plan.unknown


def test_sent_items_are_skipped_per_channel_and_force_resends(log):
    ids = log.begin(EMAIL, [W1], T0)
    log.finish(ids, SENT, T1, message_id="<m1@x>")
    plan = log.plan(EMAIL, [W1, W2])
    assert plan.send == [W2]
    assert [(r.key, r.status, r.message_id, r.finished_at) for r in plan.already_sent] == [(W1.key, SENT, "<m1@x>", "2024-09-01 08:01:00")]
    assert log.plan(NOTIFY, [W1]).send == [W1]  # each channel has its own record
    assert log.plan(EMAIL, [W1, W2], force=True).send == [W1, W2]


def test_failed_items_are_retried(log):
    log.finish(log.begin(EMAIL, [AUG], T0), FAILED, T1, detail="连接被拒绝")
    plan = log.plan(EMAIL, [AUG])
    assert plan.send == [AUG] and [r.status for r in plan.retried] == [FAILED]


def test_unknown_items_are_not_resent_without_force(log):
    log.finish(log.begin(EMAIL, [AUG], T0), UNKNOWN, T1, detail="没有收到确认")
    plan = log.plan(EMAIL, [AUG])
    assert plan.send == [] and [r.status for r in plan.unknown] == [UNKNOWN]
    assert log.plan(EMAIL, [AUG], force=True).send == [AUG]


def test_a_pending_row_left_by_a_killed_run_becomes_unknown(log):
    log.begin(EMAIL, [AUG], T0)  # …and the process died here
    assert [r.status for r in log.plan(EMAIL, [AUG]).unknown] == [PENDING]
    settled = log.settle_interrupted(T1)
    assert [(r.key, r.status) for r in settled] == [(AUG.key, PENDING)]
    [record] = log.records()
    assert (record.status, record.finished_at) == (UNKNOWN, "2024-09-01 08:01:00")
    assert "中断" in record.detail
    assert log.settle_interrupted(T1) == []


def test_the_latest_attempt_decides_and_history_is_kept(log):
    log.finish(log.begin(EMAIL, [AUG], T0), FAILED, T0)
    log.finish(log.begin(EMAIL, [AUG], T1), SENT, T1, message_id="<m2@x>")
    assert log.plan(EMAIL, [AUG]).send == []
    assert [r.status for r in log.records()] == [SENT, FAILED]


def test_pending_is_committed_before_sending(tmp_path):
    """Another connection (another process) sees the pending row at once."""
    with Store(tmp_path / "g.db") as a, Store(tmp_path / "g.db") as b:
        SendLog(a.conn).begin(EMAIL, [AUG], T0)
        assert [r.status for r in SendLog(b.conn).records()] == [PENDING]


def test_times_are_beijing_whatever_the_clock_zone():
    from datetime import timezone

    assert stamp(datetime(2024, 9, 1, 0, 0, tzinfo=timezone.utc)) == "2024-09-01 08:00:00"
    assert stamp(datetime(2024, 9, 1, 8, 0)) == "2024-09-01 08:00:00"


def grown(start: str, end: str) -> Item:
    return Item(WARNING, f"two_day|p|c|{start}", (start, end))


def test_a_warning_whose_days_hold_the_first_day_of_one_handled_is_that_one(log):
    log.finish(log.begin(EMAIL, [grown("2024-08-10", "2024-08-11")], T0), SENT, T1)
    earlier = log.plan(EMAIL, [grown("2024-08-09", "2024-08-11")])  # late tickets of 08-09
    assert earlier.send == [] and [r.key for r in earlier.already_sent] == ["two_day|p|c|2024-08-10"]
    assert log.plan(EMAIL, [grown("2024-08-14", "2024-08-15")]).send == [grown("2024-08-14", "2024-08-15")]
    other = Item(WARNING, "two_day|p|另一问题|2024-08-09", ("2024-08-09", "2024-08-11"))
    assert log.plan(EMAIL, [other]).send == [other]


def test_a_grown_warning_is_recorded_under_the_key_it_first_failed_with(log):
    log.finish(log.begin(EMAIL, [grown("2024-08-10", "2024-08-11")], T0, message=("预警", b"body")), FAILED, T1)
    plan = log.plan(EMAIL, [grown("2024-08-09", "2024-08-11")])
    assert [i.key for i in plan.recorded()] == ["two_day|p|c|2024-08-10"] and [r.status for r in plan.retried] == [FAILED]
    assert log.stale_failed(EMAIL, [grown("2024-08-09", "2024-08-11")]) == []  # this run sends it itself
    [stored] = log.stale_failed(EMAIL, [])  # a run about something else resends it as it was
    assert (stored.what, stored.body, stored.items) == ("预警", b"body", [grown("2024-08-10", "2024-08-11")])


def test_unknown_outcomes_are_settled_by_a_person_one_number_per_message(log):
    ids = log.begin(EMAIL, [W1, W2], T0, message=("预警", b"body"))
    log.finish(ids, UNKNOWN, T1)
    other = log.begin(NOTIFY, [W1], T0, message=("预警", b"payload"))
    log.finish(other, UNKNOWN, T1)
    with pytest.raises(UsageError) as caught:  # a mistyped number: exit 2, not a store problem
        log.mark([ids[0], 999], [], T1)
    assert caught.value.message == "编号 999：没有这条发送记录"
    assert len(log.unsettled()) == 3  # nothing written
    added = log.mark([ids[1]], other, T1)
    assert [(r.channel, r.key, r.status, r.message is None) for r in added] == [
        (EMAIL, W1.key, SENT, True), (EMAIL, W2.key, SENT, True), (NOTIFY, W1.key, FAILED, False)
    ]
    assert log.unsettled() == [] and [s.items for s in log.stale_failed(NOTIFY, [])] == [[W1]]
    with pytest.raises(UsageError):
        log.mark([ids[0]], [], T1)  # settled already
    kept = log.conn.execute("SELECT body FROM send_messages").fetchall()
    assert [bytes(b) for (b,) in kept] == [b"payload"]  # the received message is not kept


def test_purge_drops_the_messages_kept_for_sends_begun_before_its_date(tmp_path):
    """A failed send keeps its whole message (ticket ids, titles) for the resend: purge removes
    those of sends begun before its date, as it removes the tickets, and keeps later ones."""
    from datetime import date

    with Store(tmp_path / "g.db") as store:
        log = SendLog(store.conn)
        old = log.begin(EMAIL, [W1], datetime(2024, 8, 5, 8, 0), message=("warning", b"GD2024080500001 ..."))
        log.finish(old, FAILED, datetime(2024, 8, 5, 8, 1))
        new = log.begin(EMAIL, [W2], datetime(2024, 10, 5, 8, 0), message=("warning", b"GD2024100500001 ..."))
        log.finish(new, FAILED, datetime(2024, 10, 5, 8, 1))
        store.purge(date(2024, 9, 1))
        kept = store.conn.execute("SELECT body FROM send_messages").fetchall()
        assert [bytes(b) for (b,) in kept] == [b"GD2024100500001 ..."]
        assert [s.items for s in log.stale_failed(EMAIL, [])] == [[W2]]  # only the later one is resent
    assert b"GD2024080500001" not in (tmp_path / "g.db").read_bytes()


def test_records_newest_first_and_a_negative_limit_lists_all(log):
    """`gaopin sends -n 0` lists every send (it showed one: the limit was raised to 1)."""
    for item in (AUG, W1, W2):
        log.finish(log.begin(EMAIL, [item], T0), SENT, T1)
    assert [r.key for r in log.records(2)] == [W2.key, W1.key]
    assert [r.key for r in log.records(-1)] == [W2.key, W1.key, AUG.key]


def test_a_failure_without_a_kept_message_is_not_retried_and_says_which_run_sends_it_again(log):
    from gaopin.deliver.sends import ESCALATION, NOT_RECEIVED_NOT_KEPT, resend_commands

    # As a version before messages were kept left them: failed, or unknown, with no message.
    old_report = log.begin(EMAIL, [Item(REPORT, "2024-06")], T0)
    log.finish(old_report, FAILED, T1, detail="连接被拒绝")
    log.finish(log.begin(NOTIFY, [Item(ESCALATION, "GD1"), Item(ESCALATION, "GD2")], T0), UNKNOWN, T1)
    superseded = log.begin(EMAIL, [W1], T0)
    log.finish(superseded, FAILED, T1)
    log.finish(log.begin(EMAIL, [W1], T1, message=("预警", b"body")), FAILED, T1)  # failed again: kept, resent as it was
    assert [r.key for r in log.not_retried()] == ["2024-06"]
    assert log.stale_failed(EMAIL, []) and all(s.items == [W1] for s in log.stale_failed(EMAIL, []))
    unknown = log.unsettled()[0].id
    added = log.mark([], [unknown], T1)
    assert [(r.status, r.detail) for r in added] == [(FAILED, NOT_RECEIVED_NOT_KEPT)] * 2
    assert [r.key for r in log.not_retried()] == ["2024-06", "GD1", "GD2"]
    assert resend_commands((r.kind, r.channel, r.key) for r in log.not_retried()) == [
        "gaopin report --month 6 --year 2024 --email",
        "gaopin warn --date today --notify",  # every warn run holds all escalations
    ]
    warnings = [(WARNING, EMAIL, "point_day|p|c|2024-08-05"), (WARNING, NOTIFY, W1.key), (REPORT, NOTIFY, "2024-06"), (REPORT, EMAIL, "2024-06")]
    assert resend_commands(warnings) == ["gaopin report --month 6 --year 2024 --email --notify", "gaopin warn --since 2024-08-03 --email --notify"]
    log.finish(log.begin(EMAIL, [Item(REPORT, "2024-06")], T1), SENT, T1)  # a later run sent it: settled
    assert [r.key for r in log.not_retried()] == ["GD1", "GD2"]
    # One no run will send again (a warning whose point a newer gaopin reads differently): a
    # person says it is no longer to be sent, and it is not named again.
    gd1 = next(r.id for r in log.not_retried() if r.key == "GD1")
    from gaopin.deliver.sends import DISMISSED

    # One number stands for the message both escalations failed in.
    assert [(r.key, r.status, r.detail) for r in log.mark([gd1], [], T1)] == [("GD1", SENT, DISMISSED), ("GD2", SENT, DISMISSED)]
    assert log.not_retried() == []


def test_a_reports_key_holds_its_dates_and_a_label_only_record_stands_for_the_calendar_month(log):
    """After [period] start_day 19 → 1 the calendar month "2024-08" was taken as sent because
    the cycle "2024-08" (07-19 to 08-18) was: the key was the label alone."""
    from gaopin.deliver.sends import report_key, resend_commands

    month, cycle = Item(REPORT, report_key("2024-08", "2024-08-01", "2024-08-31")), Item(REPORT, report_key("2024-08", "2024-07-19", "2024-08-18"))
    log.finish(log.begin(EMAIL, [cycle], T0), SENT, T1)
    assert log.plan(EMAIL, [month]).send == [month] and log.plan(EMAIL, [cycle]).send == []
    # An older version's record ("2024-08", no dates): the calendar month's, as start_day 1 made it
    log.finish(log.begin(NOTIFY, [AUG], T0), SENT, T1)
    assert [r.key for r in log.plan(NOTIFY, [month]).already_sent] == ["2024-08"]
    assert log.plan(NOTIFY, [cycle]).send == [cycle]
    forced = log.plan(NOTIFY, [month], force=True)
    assert forced.recorded() == [AUG]  # recorded under the old key: one record for the report
    # and one that failed is resent by the month's run itself, not by every other run as it was
    log.finish(log.begin(EMAIL, [Item(REPORT, "2024-07")], T0, message=("报告", b"body")), FAILED, T1)
    july = Item(REPORT, report_key("2024-07", "2024-07-01", "2024-07-31"))
    assert log.stale_failed(EMAIL, [july]) == [] and log.plan(EMAIL, [july]).recorded() == [Item(REPORT, "2024-07")]
    assert resend_commands([(REPORT, EMAIL, month.key), (REPORT, NOTIFY, "2024-08")]) == ["gaopin report --month 8 --year 2024 --email --notify"]
