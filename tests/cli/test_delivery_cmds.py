"""`gaopin report/warn --email/--notify`, `doctor` and `sends` as cron runs them: quiet on
success, errors on stderr with documented exit codes, a private log, exactly once — also
for two runs started together and for a run killed while sending."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from gaopin.cli import app
from gaopin.config import Settings, load_settings, log_path
from gaopin.rules.warn import warn
from gaopin.io.load import load
from tests.delivery_data import PASSWORD, TINY_PHONES, leaked, python_env, tiny_export, write_config
from tests.servers import Mailbox, Robot, free_port, smtp_server

runner = CliRunner()
REPORT = ["report", "--month", "8", "--year", "2024", "--today", "2024-10-31"]
WARN = ["warn", "--date", "2024-08-03"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def gaopin(args, config, db, env=None):
    return runner.invoke(app, [*args, "--config", str(config), "--db", str(db)], env=env)


def made(db):
    """An empty store at `db`: a send (as every command but import) refuses a store given with
    --db that does not exist."""
    from gaopin.store import Store

    Store(db).close()
    return db


@pytest.fixture
def export(tmp_path):
    return tiny_export(tmp_path)


def test_the_same_report_twice_is_one_email_and_runs_stay_quiet(tmp_path, export):
    made(tmp_path / "g.db")
    with smtp_server() as server:
        config = write_config(tmp_path / "gaopin.toml", server.port)
        first = gaopin([*REPORT, str(export), "--email"], config, tmp_path / "g.db")
        second = gaopin([*REPORT, str(export), "--email", "--verbose"], config, tmp_path / "g.db")
        forced = gaopin([*REPORT, str(export), "--email", "--force"], config, tmp_path / "g.db")
    assert (first.exit_code, first.stdout, first.stderr) == (0, "", "")
    assert second.exit_code == 0 and "邮件：2024-08 月度报告 已于" in second.stdout and "未重发" in second.stdout
    assert forced.exit_code == 0 and forced.stdout == ""
    assert len(server.messages) == 2
    assert server.messages[0]["Subject"] == "【新村街道】2024年8月接诉即办月度报告"
    log = (tmp_path / "gaopin.log").read_text(encoding="utf-8")
    assert "gaopin report finished, exit 0" in log and "已发送 2024-08 月度报告" in log
    if os.name != "nt":
        assert stat.S_IMODE((tmp_path / "gaopin.log").stat().st_mode) == 0o600


def test_smtp_down_is_a_clear_error_exit_7_and_the_next_run_sends_it(tmp_path, export):
    made(tmp_path / "g.db")
    port = free_port()
    config = write_config(tmp_path / "gaopin.toml", port)
    down = gaopin([*REPORT, str(export), "--email"], config, tmp_path / "g.db")
    assert down.exit_code == 7 and down.stdout == ""
    assert f"错误：邮件：无法连接邮件服务器 127.0.0.1:{port}（连接被拒绝）" in down.stderr
    assert "提示：" in down.stderr and "Traceback" not in down.stderr
    with smtp_server(port) as server:
        retried = gaopin([*REPORT, str(export), "--email"], config, tmp_path / "g.db")
        again = gaopin([*REPORT, str(export), "--email"], config, tmp_path / "g.db")
    assert (retried.exit_code, again.exit_code) == (0, 0)
    assert len(server.messages) == 1
    sends = json.loads(gaopin(["sends", "-f", "json"], config, tmp_path / "g.db").stdout)
    assert [(s["key"], s["status"]) for s in sends] == [("2024-08|2024-08-01|2024-08-31", "sent"), ("2024-08|2024-08-01|2024-08-31", "failed")]
    assert "连接被拒绝" in (tmp_path / "gaopin.log").read_text(encoding="utf-8")
    # People read the report's period, not its key's pipes.
    shown = gaopin(["sends"], config, tmp_path / "g.db", env={"COLUMNS": "400"}).stdout
    assert "月度报告" in shown and "至" in shown and "|2024-08-01|" not in shown and "2024-08|" not in shown


def test_a_failed_login_exits_7_and_the_password_is_nowhere(tmp_path, export):
    made(tmp_path / "g.db")
    with smtp_server(auth=("jiesu", PASSWORD)) as server:
        config = write_config(tmp_path / "gaopin.toml", server.port, mail={"username": "jiesu"})
        result = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db", env={"GAOPIN_SMTP_PASSWORD": "Wrong-" + PASSWORD})
        ok = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db", env={"GAOPIN_SMTP_PASSWORD": PASSWORD})
    assert result.exit_code == 7 and "拒绝登录" in result.stderr
    assert ok.exit_code == 0 and len(server.messages) == 1
    log = (tmp_path / "gaopin.log").read_text(encoding="utf-8")
    for text in (result.stdout, result.stderr, log, server.mailbox.raw[0].decode("ascii")):
        assert PASSWORD not in text
    assert leaked(log, TINY_PHONES) == []


def test_warn_notify_posts_new_warnings_once_and_json_keeps_the_library_shape(tmp_path, export):
    made(tmp_path / "g.db")
    with Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", robot_url=robot.url)
        quiet = gaopin([*WARN, str(export), "--notify"], config, tmp_path / "g.db")
        verbose = gaopin([*WARN, str(export), "--notify", "-v", "-f", "json"], config, tmp_path / "g.db")
    assert (quiet.exit_code, quiet.stdout) == (0, "")
    assert len(robot.posts) == 1
    data = json.loads(verbose.stdout)
    delivery = data.pop("delivery")
    configured = load_settings(tmp_path / "gaopin.toml", environ={})  # its leaders own the escalations
    expected = warn(load([export], configured), configured, on=None).to_dict()
    assert data["escalations"] == expected["escalations"] and len(data["warnings"]) == 1
    assert [c["status"] for c in delivery["channels"]] == ["nothing_new"]


def test_a_period_without_tickets_is_neither_sent_nor_recorded_and_the_real_report_goes_out_later(tmp_path, export, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "g.db"
    september = ["report", "--last", "--today", "2024-10-01"]  # the 1 Oct run, before September's export is imported
    with smtp_server() as server, Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", server.port, robot.url)
        assert gaopin(["import", str(export)], config, db).exit_code == 0  # August only
        empty = gaopin([*september, "--email", "--notify"], config, db)
        dry = gaopin([*september, "--email", "--dry-run"], config, db)
        from_files = gaopin([*september, str(export), "--email"], config, db)
        sends = gaopin(["sends", "-f", "json"], config, db)
        assert not (tmp_path / "reports" / "2024-09").exists() and server.messages == [] and robot.posts == []
        (tmp_path / "sep").mkdir()
        later = tiny_export(tmp_path / "sep", [[f"S{i}", f"2024-09-0{i} 10:00", "某人", "13800000000", "新村街道", "恰海社区", "恰海小区1号楼", "城市管理->动物->流浪猫", "猫", "是", "解决", "满意", "恰海社区"] for i in (1, 2)])
        assert gaopin(["import", str(later)], config, db).exit_code == 0
        real = gaopin([*september, "--email", "--notify"], config, db)
    assert (empty.exit_code, empty.stdout) == (6, "")
    assert empty.stderr.splitlines() == [
        "错误：2024-09 考核周期（2024-09-01 至 2024-09-30）没有工单，报告没有生成、没有发送，也没有记录",
        "提示：这个周期的导出可能还没有导入：先用 gaopin import 导入，再运行本命令（导入后照常发送）",
    ]
    assert dry.exit_code == 6 and "没有工单，正式运行也不会发送" in dry.stderr
    assert from_files.exit_code == 5 and "请检查给出的导出文件是不是这个周期的" in from_files.stderr
    assert json.loads(sends.stdout) == []
    assert real.exit_code == 0, real.stderr
    assert len(server.messages) == 1 and len(robot.posts) == 1 and "受理 2 件" in robot.posts[0].body["markdown"]["content"]


def test_a_report_run_on_a_store_that_does_not_exist_leaves_no_folder_or_lock_behind(tmp_path):
    config = write_config(tmp_path / "gaopin.toml", 25)
    missing = tmp_path / "nostore" / "x.db"
    result = gaopin(["report", "--last", "--email"], config, missing)
    assert result.exit_code == 6 and f"工单库 {missing} 也不存在" in result.stderr
    assert not missing.parent.exists()


def test_dry_run_writes_files_and_needs_a_channel(tmp_path, export):
    config = write_config(tmp_path / "gaopin.toml", 25, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    out = tmp_path / "dry"
    result = gaopin([*WARN, str(export), "--email", "--notify", "--dry-run", "--dry-run-dir", str(out)], config, made(tmp_path / "g.db"))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["warn-2024-08-03.eml", "warn-2024-08-03.wecom.json"]
    assert json.loads(gaopin(["sends", "-f", "json"], config, tmp_path / "g.db").stdout) == []  # nothing recorded
    alone = gaopin([*WARN, str(export), "--dry-run"], config, tmp_path / "g.db")
    assert alone.exit_code == 2 and "--dry-run 要与 --email 或 --notify 一起使用" in alone.stderr
    last = gaopin(["report", "--last", "--month", "8", "--email"], config, tmp_path / "g.db")
    assert last.exit_code == 2


def test_a_report_folder_holding_dry_run_files_is_replaced_one_holding_the_users_is_not(tmp_path, export):
    made(tmp_path / "g.db")
    config = write_config(tmp_path / "gaopin.toml", 25, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    dry = [*REPORT, str(export), "--email", "--notify", "--dry-run"]
    folder = tmp_path / "reports" / "2024-08"
    for _ in range(2):  # the monthly run again: the earlier report and its dry-run files are replaced
        result = gaopin(dry, config, tmp_path / "g.db")
        assert result.exit_code == 0, result.stderr
        assert {"report.html", "report-2024-08.eml", "report-2024-08.wecom.json"} <= {p.name for p in folder.iterdir()}
    (folder / "笔记.txt").write_text("别删", encoding="utf-8")
    kept = {p.name for p in folder.iterdir()}
    refused = gaopin(dry, config, tmp_path / "g.db")
    assert refused.exit_code == 5 and refused.stdout == ""
    assert f"错误：输出文件夹 {folder.resolve()} 中已有不是报告的内容（笔记.txt）" in refused.stderr and "提示：" in refused.stderr
    assert {p.name for p in folder.iterdir()} == kept
    exported = export.read_bytes()
    onto_export = gaopin([*REPORT, str(export), "--out", str(export)], config, tmp_path / "g.db")
    assert onto_export.exit_code == 5 and f"错误：{export.resolve()} 是一个文件" in onto_export.stderr
    assert export.read_bytes() == exported and not list(export.parent.glob(f".{export.name}*"))


def test_a_missing_mail_setting_is_a_config_error(tmp_path, export):
    config = write_config(tmp_path / "gaopin.toml")
    result = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db")
    assert result.exit_code == 4 and "没有配置邮件服务器 [mail] host" in result.stderr


@pytest.mark.parametrize("channel, missing", [("--email", "[mail] host"), ("--notify", "[notify] webhook")])
def test_without_a_config_file_the_error_says_none_was_found_not_that_a_setting_is_missing(tmp_path, export, channel, missing):
    """cron without GAOPIN_CONFIG: "没有配置邮件服务器 [mail] host…在 gaopin.toml 的 [mail] 中填写",
    though the office's gaopin.toml (in another folder) has it."""
    (tmp_path / "srv").mkdir()
    write_config(tmp_path / "srv" / "gaopin.toml", 25, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    result = runner.invoke(app, [*WARN, str(export), channel, "--db", str(tmp_path / "g.db")])  # the cwd holds no gaopin.toml
    assert result.exit_code == 4
    assert "没有找到配置文件 gaopin.toml" in result.stderr and missing in result.stderr
    assert str(tmp_path / "gaopin.toml") in result.stderr  # where it looked
    assert "GAOPIN_CONFIG=" in result.stderr and "--config" in result.stderr
    assert not (tmp_path / "g.db").exists()


@pytest.mark.parametrize("variable", ["GAOPIN_MAIL__TIMEOUT", "GAOPIN_NOTIFY__TIMEOUT"])
@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_timeout_of_zero_or_less_is_a_config_error_and_nothing_is_recorded_or_sent(tmp_path, export, variable, value):
    made(tmp_path / "g.db")
    with smtp_server() as server, Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", server.port, robot.url)
        result = gaopin([*WARN, str(export), "--email", "--notify"], config, tmp_path / "g.db", env={variable: value})
        after = gaopin([*WARN, str(export), "--email", "--notify"], config, tmp_path / "g.db")
    setting = variable.removeprefix("GAOPIN_").replace("__", ".").lower()
    assert result.exit_code == 4 and f"错误：配置项 {setting} 应在 0 到 3600 秒之间" in result.stderr and "提示：" in result.stderr
    assert after.exit_code == 0  # nothing was left pending: the next run sends as usual
    assert len(server.messages) == 1 and len(robot.posts) == 1


def test_a_config_error_is_logged_in_the_default_log(tmp_path, export):
    config = tmp_path / "gaopin.toml"
    config.write_text("[mail]\nsecurity = \"tls\"\n", encoding="utf-8")
    result = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db")
    assert result.exit_code == 4
    assert "exit 4" in log_path(Settings()).read_text(encoding="utf-8")


def test_doctor_and_sends(tmp_path):
    with smtp_server() as server:
        config = write_config(tmp_path / "gaopin.toml", server.port)
        good = gaopin(["doctor"], config, tmp_path / "g.db")
    assert good.exit_code == 0
    assert good.stdout.splitlines()[0].startswith("✓ 配置")
    # The store is not made yet: a warning (!), not a failure, and the last line counts it.
    assert "- 群机器人" in good.stdout and good.stdout.splitlines()[-1] == "没有未通过的检查，但有 1 项警告，请看上面标 ! 的行。"
    bad_config = write_config(tmp_path / "bad.toml", free_port())
    bad = gaopin(["doctor"], bad_config, tmp_path / "g.db")
    assert bad.exit_code == 7
    assert "✗ 邮件" in bad.stdout and "    → " in bad.stdout
    missing = gaopin(["sends"], config, tmp_path / "g.db")
    assert missing.exit_code == 6 and f"工单库 {tmp_path / 'g.db'} 不存在" in missing.stderr


def test_sends_on_a_store_that_does_not_exist_is_an_error_and_on_one_without_sends_lists_none(tmp_path, export):
    """A mistyped --db said 还没有发送记录 with exit 0, where every other command (and --confirm) said 不存在."""
    config = write_config(tmp_path / "gaopin.toml", free_port())
    typo = tmp_path / "typo.db"
    for args in (["sends"], ["sends", "-f", "json"], ["sends", "--confirm", "1"]):
        result = gaopin(args, config, typo)
        assert (result.exit_code, result.stdout) == (6, ""), (args, result.output)
        assert result.stderr.startswith(f"错误：工单库 {typo} 不存在")
    assert not list(tmp_path.glob("typo*"))
    db = tmp_path / "g.db"
    assert gaopin(["import", str(export)], config, db).exit_code == 0
    empty = gaopin(["sends"], config, db)
    assert (empty.exit_code, empty.stdout) == (0, "还没有发送记录。\n")
    assert json.loads(gaopin(["sends", "-f", "json"], config, db).stdout) == []


@pytest.mark.parametrize(("limit", "shown"), [("2", 2), ("0", 3), ("-1", 3)])
def test_sends_lists_the_latest_and_0_lists_all(tmp_path, limit, shown):
    from datetime import datetime

    from gaopin.config import TIMEZONE
    from gaopin.deliver.sends import EMAIL, REPORT, SENT, Item, SendLog
    from gaopin.store import Store

    when = datetime(2024, 9, 1, 8, 0, tzinfo=TIMEZONE)
    with Store(tmp_path / "g.db") as store:
        log = SendLog(store.conn)
        for month in ("2024-06", "2024-07", "2024-08"):
            log.finish(log.begin(EMAIL, [Item(REPORT, month)], when), SENT, when)
    done = gaopin(["sends", "-n", limit, "--format", "json"], write_config(tmp_path / "gaopin.toml"), tmp_path / "g.db")
    assert done.exit_code == 0, done.output
    assert len(json.loads(done.stdout)) == shown


# --- as separate processes -------------------------------------------------------------------


def spawn(args, config, db, **env):
    return subprocess.Popen(
        [sys.executable, "-m", "gaopin", *args, "--config", str(config), "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=python_env(**env),
    )


def test_two_runs_started_together_send_at_most_one_email(tmp_path, export):
    made(tmp_path / "g.db")
    hold = threading.Event()
    mailbox = Mailbox(hold=hold)
    with smtp_server(mailbox=mailbox) as server, Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", server.port, robot.url)
        runs = [spawn([*WARN, str(export), "--email", "--notify"], config, tmp_path / "g.db") for _ in range(2)]
        if mailbox.entered.wait(30):
            time.sleep(0.5)  # the other run is now waiting for the lock (or has given up)
        hold.set()
        results = [(p.wait(60), *p.communicate()) for p in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes in ([0, 0], [0, 8]), results
    assert len(server.messages) == 1 and len(robot.posts) == 1
    for code, out, err in results:
        assert out == ""
        if code == 8:
            assert "另一个 gaopin 正在发送" in err


@contextlib.contextmanager
def sending_held(tmp_path, export):
    """A warn run started with --email, held by the mail server between the hand-over and the
    answer: (the run, its config, the mailbox, the server, the event that releases it)."""
    made(tmp_path / "g.db")
    hold = threading.Event()
    mailbox = Mailbox(hold=hold)
    with smtp_server(mailbox=mailbox) as server:
        # The run must still be waiting when the test acts: a 5 s socket timeout ran out first on
        # a loaded machine (the run then ended with exit 9 on its own).
        config = write_config(tmp_path / "gaopin.toml", server.port, mail={"timeout": 120.0})
        victim = spawn([*WARN, str(export), "--email"], config, tmp_path / "g.db")
        assert mailbox.entered.wait(30)
        yield victim, config, mailbox, server, hold


def test_a_run_killed_while_sending_is_not_resent_without_force(tmp_path, export):
    with sending_held(tmp_path, export) as (victim, config, mailbox, server, hold):
        victim.kill()  # between handing the message over and hearing back
        victim.communicate()
        hold.set()
        mailbox.hold = None
        after = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db")
        assert server.messages == []  # (aiosmtpd drops a message whose sender vanished mid-DATA)
        forced = gaopin([*WARN, str(export), "--email", "--force"], config, tmp_path / "g.db")
    assert after.exit_code == 9
    assert "上次发送结果不确定" in after.stderr and "--force" in after.stderr
    assert forced.exit_code == 0
    assert len(server.messages) == 1


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("name, code, said, logged", [("SIGINT", 130, "已中断", "Ctrl-C"), ("SIGTERM", 143, "已终止", "SIGTERM")])
def test_a_run_stopped_while_sending_exits_130_or_143_logs_it_and_is_not_resent(tmp_path, export, name, code, said, logged):
    import signal

    with sending_held(tmp_path, export) as (victim, config, _, _, hold):
        victim.send_signal(getattr(signal, name))  # a timeout's SIGTERM, or Ctrl-C, while the server holds the message
        # The run stops once the send in hand has its answer: the server gives it only now, so
        # the signal is surely in first, however loaded the machine.
        time.sleep(1)
        hold.set()
        out, err = victim.communicate(timeout=60)
        after = gaopin([*WARN, str(export), "--email"], config, tmp_path / "g.db")
    assert victim.returncode == code and said in err and "Traceback" not in err
    assert f"gaopin warn interrupted ({logged}), exit {code}" in (tmp_path / "gaopin.log").read_text(encoding="utf-8")
    assert after.exit_code == 9 and "编号" in after.stderr  # the send may have arrived: not resent blindly


def test_cron_bare_environment_and_another_time_zone(tmp_path, export):
    made(tmp_path / "g.db")
    config = write_config(tmp_path / "gaopin.toml", 25, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K")
    env = python_env(TZ="America/New_York", GAOPIN_CONFIG=str(config), GAOPIN_DB=str(tmp_path / "g.db"))
    for name in ("HOME", "USERPROFILE", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "LANG", "LC_ALL", "TERM"):
        env.pop(name, None)
    env["PATH"] = "/usr/bin:/bin"
    out = tmp_path / "dry"
    done = subprocess.run(
        [sys.executable, "-m", "gaopin", *WARN, str(export), "--email", "--notify", "--dry-run", "--dry-run-dir", str(out)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
    eml = (out / "warn-2024-08-03.eml").read_bytes().decode("ascii")
    date_header = next(line for line in eml.splitlines() if line.startswith("Date:"))
    assert date_header.endswith("+0800")  # Beijing time, not the machine's New York
    assert "gaopin warn finished, exit 0" in (tmp_path / "gaopin.log").read_text(encoding="utf-8")


def test_an_unknown_robot_post_exits_9_on_later_days_until_settled_and_resend_sends_it_again(tmp_path, export):
    made(tmp_path / "g.db")
    with Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", robot_url=robot.url)
        robot.drop = True  # the post arrives, the answer never comes
        first = gaopin([*WARN, str(export), "--notify"], config, tmp_path / "g.db")
        robot.drop = False
        later = gaopin(["warn", "--date", "2024-08-20", str(export), "--notify"], config, tmp_path / "g.db")
        sends = json.loads(gaopin(["sends", "-f", "json"], config, tmp_path / "g.db").stdout)
        number = sends[0]["id"]
        wrong = gaopin(["sends", "--confirm", "999"], config, tmp_path / "g.db")
        marked = gaopin(["sends", "--resend", str(number)], config, tmp_path / "g.db")
        resent = gaopin(["warn", "--date", "2024-08-21", str(export), "--notify"], config, tmp_path / "g.db")
        after = gaopin(["warn", "--date", "2024-08-22", str(export), "--notify"], config, tmp_path / "g.db")
    assert (first.exit_code, later.exit_code) == (9, 9)
    assert f"（编号 {sends[-1]['id']}，同一消息共 3 项）" in first.stderr  # the run that lost the answer names it too
    # the escalations are in this day's list too; the warning of 08-03 is not (beyond the catch-up days), and is named all the same
    assert f"另有 1 项以前的发送结果不确定，尚未确认：编号 {sends[-1]['id']}（群机器人 point_day|恰海小区3号楼" in later.stderr
    assert "gaopin sends --confirm 编号" in later.stderr and "gaopin sends --resend 编号" in later.stderr
    assert wrong.exit_code == 2 and "编号 999：没有这条发送记录" in wrong.stderr and "gaopin sends 列出发送记录" in wrong.stderr
    assert marked.exit_code == 0 and marked.stdout.count("已确认没有收到，下次运行时重发") == 3
    assert (resent.exit_code, resent.stderr, after.exit_code) == (0, "", 0)
    assert len(robot.posts) == 2 and robot.posts[1].body == robot.posts[0].body  # resent as it was


def test_a_run_ending_with_exit_7_or_9_writes_and_shows_what_it_found_and_sent_first(tmp_path, export):
    import openpyxl

    db = made(tmp_path / "g.db")
    with Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", free_port(), robot_url=robot.url)  # no mail server: the email fails
        failed = gaopin([*WARN, str(export), "--email", "--notify", "--verbose", "-o", str(tmp_path / "w.xlsx")], config, db)
        robot.drop = True  # the post arrives, the answer never comes
        unknown = gaopin([*REPORT, str(export), "--notify", "--verbose", "-f", "json"], config, db)
        robot.drop = False
        inherited = gaopin(["warn", "--date", "2024-08-04", str(export), "--notify", "--verbose", "-o", str(tmp_path / "w.csv")], config, db)
    assert failed.exit_code == 7 and "错误：邮件：无法连接邮件服务器" in failed.stderr
    assert "提早预警（1 条）" in failed.stdout and "群机器人：已发送 1 条预警、2 件提级办理" in failed.stdout
    assert "邮件：1 条预警、2 件提级办理 发送失败" in failed.stdout
    assert openpyxl.load_workbook(tmp_path / "w.xlsx").sheetnames[0] == "预警"
    assert unknown.exit_code == 9 and "错误：群机器人：" in unknown.stderr
    shown = json.loads(unknown.stdout)
    assert shown["period"]["label"] == "2024-08" and shown["delivery"]["channels"][0]["status"] == "unknown"
    # nothing new to send on 08-04, but the unknown report of the run before ends this one with 9 too
    assert inherited.exit_code == 9 and "另有 1 项以前的发送结果不确定" in inherited.stderr
    assert "群机器人：没有新的预警，未发送" in inherited.stdout and (tmp_path / "w.csv").exists()
    assert len(robot.posts) == 2


def test_an_output_that_cannot_be_written_does_not_hide_a_failed_send(tmp_path, export):
    """-o naming a folder after the mail failed: the run ended with 5 and never said the mail
    had failed (exit 7, which monitoring watches)."""
    made(tmp_path / "g.db")
    (tmp_path / "w.xlsx").mkdir()
    config = write_config(tmp_path / "gaopin.toml", free_port())  # no mail server
    result = gaopin([*WARN, str(export), "--email", "-o", str(tmp_path / "w.xlsx")], config, tmp_path / "g.db")
    assert result.exit_code == 7
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("错误：无法写入") and "w.xlsx" in lines[0]
    assert any(line.startswith("错误：邮件：无法连接邮件服务器") for line in lines[1:])


def test_sends_says_which_command_sends_again_a_failure_whose_message_was_not_kept(tmp_path):
    from datetime import datetime

    from gaopin.config import TIMEZONE
    from gaopin.deliver.sends import EMAIL, FAILED, REPORT, UNKNOWN, Item, SendLog
    from gaopin.store import Store

    when = datetime(2024, 7, 1, 8, 0, tzinfo=TIMEZONE)
    with Store(tmp_path / "g.db") as store:  # as a version before messages were kept left them: no message
        log = SendLog(store.conn)
        log.finish(log.begin(EMAIL, [Item(REPORT, "2024-06")], when), FAILED, when, detail="连接被拒绝（请检查网络；下次运行会自动重试）")
        log.finish(log.begin(EMAIL, [Item(REPORT, "2024-05")], when), UNKNOWN, when)
    config = write_config(tmp_path / "gaopin.toml")
    marked = gaopin(["sends", "--resend", "2"], config, tmp_path / "g.db")
    listed = gaopin(["sends"], config, tmp_path / "g.db")
    records = json.loads(gaopin(["sends", "-f", "json"], config, tmp_path / "g.db").stdout)
    assert marked.exit_code == 0
    assert marked.stdout == "邮件 月度报告 2024-05：已确认没有收到；当时的内容没有保存，无法按原样重发：请运行 gaopin report --month 5 --year 2024 --email\n"
    assert [(r["key"], r["status"], r["resend"]) for r in records] == [
        ("2024-05", "failed", "gaopin report --month 5 --year 2024 --email"),
        ("2024-05", "unknown", None),
        ("2024-06", "failed", "gaopin report --month 6 --year 2024 --email"),
    ]
    assert records[2]["detail"] == "连接被拒绝（请检查网络）"  # the hint's "下次运行会自动重试" is not true of it
    assert listed.stdout.count("失败（当时的内容没有保存，无法按原样重发）") == 2 and "下次" not in listed.stdout
    # A person settles one that no run will send again: it is listed as settled, not as sent.
    dismissed = gaopin(["sends", "--confirm", "3"], config, tmp_path / "g.db")
    assert dismissed.stdout == "邮件 月度报告 2024-05：已确认不再需要重发\n"
    relisted = gaopin(["sends"], config, tmp_path / "g.db").stdout
    assert "已确认不再重发" in relisted and relisted.count("失败（当时的内容没有保存") == 1


def test_a_given_store_that_does_not_exist_is_refused_by_every_send_and_dry_run_leaving_nothing(tmp_path, export):
    """`warn FILE --notify --dry-run --db typo.db` left an empty typo.db.lock behind; the real run
    made typo.db and sent everything again, with none of the store's person links."""
    typo = tmp_path / "typo.db"
    with Robot() as robot, smtp_server() as server:
        config = write_config(tmp_path / "gaopin.toml", server.port, robot.url)
        runs = {
            " ".join(args): gaopin(args, config, typo)
            for args in (
                [*WARN, str(export), "--notify", "--dry-run"],
                [*WARN, str(export), "--notify"],
                [*REPORT, str(export), "--email", "--notify", "--dry-run"],
                [*REPORT, str(export), "--email", "--notify"],
            )
        }
    for args, result in runs.items():
        assert (result.exit_code, result.stdout) == (6, ""), (args, result.output)
        assert result.stderr.splitlines()[0] == f"错误：工单库 {typo} 不存在", args
    assert robot.posts == [] and server.messages == []
    assert not list(tmp_path.glob("typo*")) and not (tmp_path / "reports").exists()


def test_a_dry_run_on_the_default_store_never_created_leaves_nothing_and_a_real_send_creates_it(tmp_path, export):
    """Without a store given, an office that never imported rehearses and sends from its files:
    the dry run leaves no lock file (nor its folder) where the store would be; the real send
    keeps its sends record in a new store there."""
    from gaopin.store.store import default_db_path

    store = default_db_path()
    with Robot() as robot:
        config = write_config(tmp_path / "gaopin.toml", robot_url=robot.url)
        dry = runner.invoke(app, [*WARN, str(export), "--notify", "--dry-run", "--config", str(config)])
        dry_report = runner.invoke(app, [*REPORT, str(export), "--notify", "--dry-run", "--config", str(config)])
        assert (dry.exit_code, dry_report.exit_code) == (0, 0), dry.output + dry_report.output
        assert not store.parent.exists() and robot.posts == []
        real = runner.invoke(app, [*WARN, str(export), "--notify", "--config", str(config)])
    assert real.exit_code == 0, real.output
    assert len(robot.posts) == 1 and store.exists() and store.with_name(store.name + ".lock").exists()
