"""`gaopin doctor`'s checks, against real local servers; nothing is sent or changed."""

from __future__ import annotations

import os
import sqlite3

import pytest

from gaopin.deliver.doctor import FAIL, OK, SKIP, WARN, run_checks
from gaopin.errors import ExitCode
from gaopin.store.db import LATEST
from tests.delivery_data import PASSWORD, write_config
from tests.servers import Mailbox, Robot, free_port, smtp_server

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def by_name(report):
    return {c.name: c for c in report.checks}


def test_everything_in_place(tmp_path, db):
    mailbox = Mailbox()
    with smtp_server(auth=("jiesu", PASSWORD), mailbox=mailbox) as server, Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", server.port, robot.url, mail={"username": "jiesu"})
        report = run_checks(config, str(db), environ={"GAOPIN_SMTP_PASSWORD": PASSWORD})
    checks = by_name(report)
    assert list(checks) == ["配置", "工单库", "中文字体", "报告缓存", "日志", "邮件", "群机器人"]
    assert report.ok and report.exit_code == 0
    assert checks["工单库"].status == OK and f"结构版本 {LATEST}，6656 张工单" in checks["工单库"].detail
    assert checks["邮件"].status == WARN and "已登录 jiesu" in checks["邮件"].detail and "明文" in checks["邮件"].hint
    assert checks["群机器人"].status == OK and "TOKEN123" not in checks["群机器人"].detail
    assert mailbox.logins == ["jiesu"] and mailbox.messages == []  # logged in, sent nothing
    assert robot.posts == []  # connected, posted nothing


def test_a_configuration_error_is_the_first_and_only_check(tmp_path):
    config = tmp_path / "gaopin.toml"
    config.write_text("[mail]\nsecurity = \"tls\"\n", encoding="utf-8")
    report = run_checks(config, None, environ={})
    [check] = report.checks
    assert check.status == FAIL and "security" in check.detail and "ssl" in check.hint
    assert report.exit_code == ExitCode.CONFIG


def test_unreachable_servers_and_a_failed_login_say_what_to_fix(tmp_path):
    with smtp_server(auth=("jiesu", PASSWORD)) as server:
        config = write_config(tmp_path / "gaopin.toml", server.port, f"http://127.0.0.1:{free_port()}/robot?key=K", mail={"username": "jiesu"})
        report = run_checks(config, str(tmp_path / "new.db"), environ={"GAOPIN_SMTP_PASSWORD": "wrong"})
    checks = by_name(report)
    assert checks["邮件"].status == FAIL and "拒绝登录" in checks["邮件"].detail and "wrong" not in checks["邮件"].detail
    assert checks["群机器人"].status == FAIL and "无法连接" in checks["群机器人"].detail
    assert checks["工单库"].status == WARN and "尚未创建" in checks["工单库"].detail
    assert not report.ok and report.exit_code == ExitCode.DELIVERY


def test_offline_and_unconfigured(tmp_path):
    config = write_config(tmp_path / "gaopin.toml")
    report = run_checks(config, None, environ={}, network=False)
    checks = by_name(report)
    assert checks["邮件"].status == SKIP and checks["群机器人"].status == SKIP
    assert report.ok


def test_an_older_store_is_reported_not_upgraded(tmp_path):
    from tests.builders import store_at_version

    path = store_at_version(tmp_path / "old.db", 2)
    report = run_checks(write_config(tmp_path / "gaopin.toml"), str(path), environ={}, network=False)
    check = by_name(report)["工单库"]
    assert check.status == WARN and "结构版本 2" in check.detail and "自动升级到结构版本" in check.hint
    # Any command that opens it upgrades it, not only one that writes (sends, ledger show …).
    assert "下一个用到工单库的命令" in check.hint and "old.db.v2.bak" in check.hint
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_a_store_path_that_is_a_folder_fails_with_what_to_do(tmp_path):
    """`doctor --db some_dir/` said 无法读取：disk I/O error, 如文件已损坏，请从备份恢复."""
    folder = tmp_path / "stores"
    folder.mkdir()
    report = run_checks(write_config(tmp_path / "gaopin.toml"), str(folder), environ={}, network=False)
    check = by_name(report)["工单库"]
    assert (check.status, check.detail) == (FAIL, f"工单库路径 {folder} 是一个文件夹")
    assert check.hint == f"请把工单库路径（--db、GAOPIN_DB 或 [store] path）指向文件夹中的一个文件，例如 {folder / 'gaopin.db'}" and report.exit_code == ExitCode.STORE


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_store_path_that_is_a_named_pipe_fails_at_once(tmp_path):
    """`doctor --db pipe.db` waited for ever in SQLite's open, which a SIGTERM did not stop."""
    from tests.io.test_sniff import within_seconds

    pipe = tmp_path / "pipe.db"
    os.mkfifo(pipe)
    report = within_seconds(lambda: run_checks(write_config(tmp_path / "gaopin.toml"), str(pipe), environ={}, network=False), pipe)
    check = by_name(report)["工单库"]
    assert (check.status, check.detail) == (FAIL, f"工单库路径 {pipe} 不是普通文件（是命名管道）") and report.exit_code == ExitCode.STORE


def test_a_store_with_a_damaged_page_fails_the_store_check(tmp_path):
    """Its first page, the count of tickets and the sends read well: only a check of every
    page finds the damage, which every report and ledger run would then stop at."""
    from tests.builders import damaged_store

    path = damaged_store(tmp_path)
    before = path.read_bytes()
    report = run_checks(write_config(tmp_path / "gaopin.toml"), str(path), environ={}, network=False)
    check = by_name(report)["工单库"]
    assert check.status == FAIL and check.detail == f"工单库 {path} 已损坏（database disk image is malformed）"
    assert "从备份恢复" in check.hint and report.exit_code == ExitCode.STORE
    assert path.read_bytes() == before


def test_a_store_being_written_is_locked_not_a_store_to_restore(tmp_path, db):
    """A store another process holds locked (an import running) was 无法读取：database is locked
    with the hint to restore it from a backup, which would lose the import."""
    from tests.builders import held_by_another_process

    with held_by_another_process(db, "EXCLUSIVE"):
        report = run_checks(write_config(tmp_path / "gaopin.toml"), str(db), environ={}, network=False)
    check = by_name(report)["工单库"]
    assert check.status == FAIL and check.detail.startswith("工单库正被另一个程序写入")
    assert "备份" not in check.hint and report.exit_code == ExitCode.LOCKED


@pytest.mark.parametrize("where", ["folder", "under_a_file"])
def test_a_log_file_that_cannot_be_a_file_fails_the_log_check(tmp_path, where):
    """[log] file naming a folder passed (a folder is writable) while the run itself warned
    that it could not write the log."""
    if where == "folder":
        (tmp_path / "logs").mkdir()
        log = "logs"
    else:
        (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
        log = "notes.txt/gaopin.log"
    config = tmp_path / "gaopin.toml"
    config.write_text(f'[log]\nfile = "{log}"\n', encoding="utf-8")
    report = run_checks(config, None, environ={}, network=False)
    check = by_name(report)["日志"]
    assert check.status == FAIL and report.exit_code == ExitCode.CONFIG


def test_a_failure_whose_message_was_not_kept_is_a_warning_with_the_command_that_sends_it_again(tmp_path):
    from datetime import datetime

    from gaopin.config import TIMEZONE
    from gaopin.deliver.sends import EMAIL, FAILED, REPORT, Item, SendLog
    from gaopin.store import Store

    when = datetime(2024, 7, 1, 8, 0, tzinfo=TIMEZONE)
    with Store(tmp_path / "g.db") as store:  # as a version before messages were kept left it: no message
        log = SendLog(store.conn)
        log.finish(log.begin(EMAIL, [Item(REPORT, "2024-06")], when), FAILED, when, detail="连接被拒绝")
    report = run_checks(write_config(tmp_path / "gaopin.toml"), str(tmp_path / "g.db"), environ={}, network=False)
    check = by_name(report)["发送记录"]
    assert check.status == WARN and report.ok
    assert check.detail == "有 1 项以前发送失败、当时的内容没有保存，无法按原样重发：编号 1（邮件 2024-06）"
    assert check.hint == "请运行 gaopin report --month 6 --year 2024 --email，按现在的数据重新发送（发送成功后不再提示）"


def test_no_config_file_is_a_warning_saying_how_cron_finds_one(tmp_path, monkeypatch):
    """From cron without GAOPIN_CONFIG, doctor passed "✓ 配置 没有找到 gaopin.toml" while every
    --email run failed for want of [mail] (review of round 13)."""
    from gaopin.deliver.doctor import WARN, check_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    check, settings = check_config(None, environ={})
    assert settings is not None and settings.source == ""
    assert check.status == WARN and "没有找到 gaopin.toml" in check.detail
    assert "GAOPIN_CONFIG" in check.hint and "gaopin init" in check.hint


@pytest.mark.parametrize("case", ["new", "off", "group-writable", "a file", "under a file", "charts group-writable"])
def test_the_report_cache_check_says_whether_reports_can_reuse_their_charts(tmp_path, case):
    folder = tmp_path / "cache"
    value = str(folder)
    if case == "off":
        value = "off"
    elif case == "group-writable":
        folder.mkdir()
        os.chmod(folder, 0o775)
    elif case == "a file":
        folder.write_text("x", encoding="utf-8")
    elif case == "under a file":
        folder.write_text("x", encoding="utf-8")
        value = str(folder / "report")
    elif case == "charts group-writable":  # the cache is not used for charts (review H)
        (folder / "charts").mkdir(parents=True)
        os.chmod(folder, 0o700)
        os.chmod(folder / "charts", 0o777)
    config = tmp_path / "gaopin.toml"
    config.write_text(f'[report]\ncache_dir = "{value}"\n', encoding="utf-8")
    report = run_checks(config, None, environ={}, network=False)
    check = by_name(report)["报告缓存"]
    expected = {"new": OK, "off": SKIP}.get(case, WARN)
    assert check.status == expected, check
    assert report.exit_code == 0  # a cache that cannot be used only costs time
    assert folder.exists() == (case != "new" and case != "off")  # the check creates nothing
    if expected == WARN:
        assert value in check.detail and "cache_dir" in check.hint
