"""The refresh keeps its result and reuses it only while nothing it depends on has changed."""

import dataclasses
from datetime import date, datetime

import pytest
from tests.builders import caller_tickets as rows, store_with, tickets

from gaopin.config import Settings
from gaopin.ledger import service
from gaopin.ledger.refresh import refresh

TODAY = date(2024, 12, 31)


@pytest.fixture
def store(tmp_path):
    s = store_with(tmp_path / "g.db", rows("A", "13800000001", "赵建国", range(6)) + rows("B", "13900000002", "钱女士", range(0, 10, 2), point="桥一社区5号楼"))
    yield s
    s.close()


def view(store, m=8, settings=None, today=TODAY):
    return service.ledger_month(store, settings or Settings(), m, 2024, today)


def test_an_unchanged_store_reuses_the_kept_result_with_the_same_view(store):
    first, s1 = view(store)
    again, s2 = view(store)
    assert not s1.cached and s2.cached
    assert again == first
    for m in (7, 8, 9):
        kept, _ = view(store, m)
        store.conn.execute("DELETE FROM ledger_cache")
        fresh, summary = view(store, m)
        assert not summary.cached and fresh == kept


def test_a_new_import_is_counted(store):
    view(store)
    store.import_result(tickets(rows("C", "13800000001", "赵建国", [20, 21])), "c.xlsx", "sha-c", datetime(2024, 9, 1))
    after, summary = view(store)
    assert not summary.cached
    [caller] = [e for e in after["entries"] if e["kind"] == "caller" and e["key"]["name"] == "赵建国"]
    assert caller["tickets_total"] == 8


def test_an_owner_or_a_note_keeps_the_result_and_shows_at_once(store):
    """assign and note change no cycle or ticket: the kept result stays, and the view shows
    the new owner and the note (read afresh) — the same as a refresh from scratch would."""
    first, _ = view(store)
    entry = next(e for e in first["entries"] if e["kind"] == "caller")
    service.assign(store, entry["id"], TODAY, owner="张书记", deadline=date(2024, 9, 30))
    service.note(store, entry["id"], "已约谈", TODAY)
    again, summary = view(store)
    assert summary.cached
    [shown] = [e for e in again["entries"] if e["id"] == entry["id"]]
    assert shown["owner"] == "张书记" and shown["deadline"] == "2024-09-30"
    detail = service.show(store, Settings(), entry["id"], TODAY)
    assert detail["events"][-1]["text"] == "已约谈"
    store.conn.execute("DELETE FROM ledger_cache")
    store.conn.commit()
    fresh, recomputed = view(store)
    assert not recomputed.cached and fresh == again
    assert service.show(store, Settings(), entry["id"], TODAY) == detail


def test_staff_actions_links_and_settings_each_force_a_refresh(store):
    first, _ = view(store)
    entry = next(e for e in first["entries"] if e["kind"] == "caller")
    service.resolve(store, entry["id"], "已解决", date(2024, 8, 20), TODAY)
    assert not view(store)[1].cached and view(store)[1].cached
    store.link("13800000001", "13900000002", TODAY)
    assert not view(store)[1].cached and view(store)[1].cached
    store.unlink("13900000002", TODAY)
    assert not view(store)[1].cached
    stricter = Settings()
    stricter = dataclasses.replace(stricter, ledger=dataclasses.replace(stricter.ledger, point=dataclasses.replace(stricter.ledger.point, min_tickets=50)))
    assert not view(store, settings=stricter)[1].cached
    assert not view(store)[1].cached


def test_a_later_today_refreshes_only_when_tickets_fall_between(store):
    store.import_result(tickets(rows("D", "13700000003", "孙先生", range(5), start=date(2024, 11, 1))), "d.xlsx", "sha-d", datetime(2024, 11, 10))
    _, s1 = view(store, today=date(2024, 10, 1))
    assert not s1.cached
    assert view(store, today=date(2024, 10, 20))[1].cached  # nothing received in between
    later, s3 = view(store, 11, today=date(2024, 11, 30))
    assert not s3.cached and any(e["key"].get("name") == "孙先生" for e in later["entries"] if e["kind"] == "caller")


def test_unreadable_kept_figures_are_recomputed(store):
    first, _ = view(store)
    store.conn.execute("UPDATE ledger_cache SET stats = x'00ff'")
    store.conn.commit()
    again, summary = view(store)
    assert not summary.cached and again == first


def test_purge_drops_the_kept_figures(store):
    refresh(store, Settings(), TODAY)
    assert store.conn.execute("SELECT count(*) FROM ledger_cache").fetchone()[0] == 1
    store.purge(date(2024, 8, 3))
    assert store.conn.execute("SELECT count(*) FROM ledger_cache").fetchone()[0] == 0


def test_an_import_landing_during_a_refresh_is_not_taken_as_seen(store, monkeypatch):
    from gaopin.ledger import refresh as refresh_module
    from gaopin.ledger.refresh import is_current
    from gaopin.store import Store

    real_prepare = refresh_module.prepare

    def prepare_while_another_process_imports(*args, **kwargs):
        # The tickets have been read; another process commits an import now.
        with Store(store.path) as other:
            other.import_result(tickets(rows("E", "13600000004", "孙先生", range(5))), "e.xlsx", "sha-e", datetime(2024, 9, 2))
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(refresh_module, "prepare", prepare_while_another_process_imports)
    refresh(store, Settings(), TODAY)
    monkeypatch.setattr(refresh_module, "prepare", real_prepare)
    assert not is_current(store, Settings(), TODAY)
    after, summary = view(store)
    assert not summary.cached and any(e["key"].get("name") == "孙先生" for e in after["entries"] if e["kind"] == "caller")


def test_the_report_keeps_the_refresh_it_shares_and_reuses_it(store):
    from gaopin.ledger.refresh import is_current
    from gaopin.reports.run import make_report

    first = make_report(Settings(), 8, 2024, None, str(store.path), TODAY)
    assert is_current(store, Settings(), TODAY)
    again = make_report(Settings(), 8, 2024, None, str(store.path), TODAY)
    assert again["ledger"] == first["ledger"] and again == first


def as_kept_by_an_older_version(store, **inputs):
    """The kept result as an older gaopin left it: its ledger cache version (and `inputs`)."""
    import json

    from gaopin.ledger.refresh import CACHE_VERSION

    kept = json.loads(store.conn.execute("SELECT inputs FROM ledger_cache").fetchone()[0])
    kept.update(version=[kept["version"][0], CACHE_VERSION - 1], **inputs)
    store.conn.execute("UPDATE ledger_cache SET inputs = ?", (json.dumps(kept, ensure_ascii=False, sort_keys=True),))
    store.conn.commit()


def test_a_look_back_tells_what_changed_since_the_ledger_was_brought_up_to_date(store):
    """An upgrade alone read as "新的导入、号码关联或设置变化"; an upgrade may change how settings
    are written, so with one they are not named."""
    view(store)
    earlier = date(2024, 8, 20)
    assert view(store, today=earlier)[1].stale_because == []
    as_kept_by_an_older_version(store, settings=["as an older version wrote them"])
    _, summary = view(store, today=earlier)
    assert (summary.stale_since, summary.stale_because) == (TODAY, ["upgrade"])
    store.import_result(tickets(rows("C", "13700000003", "孙先生", [30])), "c.xlsx", "sha-c", datetime(2024, 9, 1))
    store.link("13800000001", "13700000003", TODAY)
    assert view(store, today=earlier)[1].stale_because == ["upgrade", "imports", "links"]
    view(store)  # brought up to date
    service.resolve(store, "GP-2024-0001", "已协调", date(2024, 8, 25), TODAY)
    assert view(store, today=earlier)[1].stale_because == ["endings"]
    view(store)
    other = dataclasses.replace(Settings(), ledger=dataclasses.replace(Settings().ledger, due_soon_days=5))
    assert view(store, settings=other, today=earlier)[1].stale_because == ["settings"]
    store.conn.execute("DELETE FROM ledger_cache")  # as a purge does
    store.conn.commit()
    assert view(store, today=earlier)[1].stale_because == ["unknown"]
