"""Settings: defaults, gaopin.toml, the environment and flags, and errors that name the key."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from gaopin.config import (
    Settings,
    env_overrides,
    iter_settings,
    load_settings,
    render_default_toml,
    render_markdown_table,
    to_dict,
)
from gaopin.errors import ConfigError, ExitCode
from gaopin.io.write import write_default_config


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_file():
    assert load_settings(environ={}) == Settings()


def test_file_values_and_source(tmp_path):
    (tmp_path / "conf").mkdir()
    cfg = _write(
        tmp_path / "conf" / "gaopin.toml",
        """
[load]
sheet = 2
date_format = "%m/%d/%Y %I:%M:%S %p"

[columns]
ticket_id = "Case ID"
category = ["L1", "L2", "L3"]

[rules.point_day]
min_tickets = 4

[mail]
from = "office@example.org"
to = "head@example.org"

[store]
path = "data/tickets.db"
""",
    )
    s = load_settings(cfg, environ={})
    assert s.load.sheet == "2"
    assert s.load.date_format == "%m/%d/%Y %I:%M:%S %p"
    assert s.columns == {"ticket_id": "Case ID", "category": ["L1", "L2", "L3"]}
    assert s.rules.point_day.min_tickets == 4
    assert s.rules.two_day.min_tickets == 5
    assert s.mail.sender == "office@example.org"
    assert s.mail.to == ["head@example.org"]
    assert s.source == str(cfg)
    assert s.resolve_path(s.store.path) == tmp_path / "conf" / "data" / "tickets.db"


def test_config_found_in_current_directory(tmp_path):
    _write(tmp_path / "gaopin.toml", "[rules.point_day]\nmin_tickets = 7\n")
    s = load_settings(environ={})
    assert s.rules.point_day.min_tickets == 7
    assert Path(s.source).name == "gaopin.toml"


def test_config_from_environment_variable(tmp_path):
    cfg = _write(tmp_path / "other.toml", "[ledger]\ndue_soon_days = 5\n")
    assert load_settings(environ={"GAOPIN_CONFIG": str(cfg)}).ledger.due_soon_days == 5


def test_missing_explicit_config_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="找不到配置文件") as err:
        load_settings(tmp_path / "nope.toml", environ={})
    assert err.value.exit_code == ExitCode.CONFIG


def test_an_explicit_config_that_is_a_named_pipe_is_not_called_missing(tmp_path):
    """`--config pipe.toml` (a named pipe) said 找不到配置文件 of a path that is there."""
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    pipe = tmp_path / "pipe.toml"
    os.mkfifo(pipe)
    with pytest.raises(ConfigError) as err:
        load_settings(pipe, environ={})
    assert err.value.message == f"配置文件 {pipe} 不是普通文件（是命名管道）" and err.value.exit_code == ExitCode.CONFIG


@pytest.mark.parametrize(
    "text, named, hint",
    [
        ("[rules.point_dya]\nmin_tickets = 4\n", "rules.point_dya", "rules.point_day"),
        ("[rules]\ncategory_levle = 1\n", "rules.category_levle", "rules.category_level"),
        ("colums = {}\n", "colums", "columns"),
        ("[load]\nheader = 3\n", "load.header", None),
    ],
)
def test_unknown_key_is_named_with_a_suggestion(tmp_path, text, named, hint):
    cfg = _write(tmp_path / "g.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert f"未知的配置项 {named}" in err.value.message
    assert str(cfg) in err.value.message
    if hint:
        assert hint in err.value.hint


@pytest.mark.parametrize(
    "text, named",
    [
        ('[rules.point_day]\nmin_tickets = "三"\n', "rules.point_day.min_tickets"),
        ("[rules.point_day]\nmin_tickets = 2.5\n", "rules.point_day.min_tickets"),
        ("[privacy]\nmask_phones = 1\n", "privacy.mask_phones"),
        ("[mail]\nto = [1, 2]\n", "mail.to"),
        ("[load]\nheader_row = \"3\"\n", "load.header_row"),
        ("[score]\nresponse_weight = \"0.1\"\n", "score.response_weight"),
        ("[owners]\ncommunities = [\"a\"]\n", "owners.communities"),
        ("[columns]\nticket_id = 5\n", "columns.ticket_id"),
        ("rules = 3\n", "rules"),
    ],
)
def test_ill_typed_value_is_named(tmp_path, text, named):
    cfg = _write(tmp_path / "g.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert named in err.value.message
    assert err.value.hint


@pytest.mark.parametrize(
    "text, named",
    [
        ('[notify]\nwebhook = ["https://oapi.dingtalk.com/robot/send?access_token=TOKEN-0123456789abcdef"]\n', "notify.webhook"),
        ("[notify]\nsecret = 20240817193355\n", "notify.secret"),
    ],
)
def test_an_ill_typed_credential_is_named_without_its_value(tmp_path, text, named):
    """The robot's key in the webhook address, or the signing secret, was printed in the error,
    which cron mails to MAILTO (review of round 13)."""
    cfg = _write(tmp_path / "g.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert named in err.value.message and "内容不显示" in err.value.message
    assert "TOKEN-0123456789abcdef" not in err.value.message and "20240817193355" not in err.value.message


@pytest.mark.parametrize(
    "text, named",
    [
        ("[rules]\ncategory_level = 5\n", "rules.category_level"),
        ("[period]\nstart_day = 30\n", "period.start_day"),
        ("[rules.two_day]\nmin_persons = 0\n", "rules.two_day.min_persons"),
        ("[score]\nresolution_weight = 1.5\n", "score.resolution_weight"),
        ("[limits]\nmax_file_mb = 0\n", "limits.max_file_mb"),
        ("[limits]\nmax_rows = -1\n", "limits.max_rows"),
        ("[score]\nresponse_weight = 1.0\nresolution_weight = 1.0\nsatisfaction_weight = 1.0\n", "之和应为 1，实际是 3"),
        ("[score]\nsatisfaction_weight = 0.5\n", "之和应为 1，实际是 1.1"),
        ("[load]\nheader_row = -1\n", "load.header_row"),
        ('[mail]\nsecurity = "tls"\n', "mail.security"),
        ('[load]\nencoding = "gb-what"\n', "load.encoding"),
        ('[load]\ndate_format = "%m/%d/%Q"\n', "load.date_format"),
        ('[load]\ndate_format = "%Y-%m-%d %"\n', "load.date_format"),
        ("[privacy]\nretention_months = -1\n", "privacy.retention_months 应至少为 0"),  # purge deleted every ticket
        ("[ledger]\ndue_soon_days = -3\n", "ledger.due_soon_days"),
        ("[log]\nmax_bytes = 0\n", "log.max_bytes"),
        ("[log]\nbackups = -1\n", "log.backups"),
        ("[mail]\nport = 0\n", "mail.port"),
        ("[privacy]\nretention_months = 30000\n", "privacy.retention_months 应至多为 1200"),  # purge: year -476
        ("[delivery]\ncatch_up_days = 800000\n", "delivery.catch_up_days 应至多为 366"),
        ("[ledger.point]\ndays = 99999999999999999\n", "ledger.point.days"),
        ("[delivery]\ncatch_up_days = -1\n", "delivery.catch_up_days"),
        ("[mail]\ntimeout = 0\n", "mail.timeout"),
        ("[notify]\ntimeout = -1\n", "notify.timeout"),
        ("[notify]\ntimeout = nan\n", "notify.timeout"),
        ("[mail]\ntimeout = 1e9\n", "mail.timeout"),
    ],
)
def test_out_of_range_value_is_named(tmp_path, text, named):
    cfg = _write(tmp_path / "g.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert named in err.value.message


def test_toml_syntax_error(tmp_path):
    cfg = _write(tmp_path / "g.toml", "[load]\nsheet = 工单\n")
    with pytest.raises(ConfigError, match="格式错误") as err:
        load_settings(cfg, environ={})
    assert str(cfg) in err.value.message
    assert "引号" in err.value.hint


@pytest.mark.parametrize(
    "text, hint",
    [
        ("［report］\nstreet = \"新村街道\"\n", "“［”→“[”、“］”→“]”"),
        ("[report]\nstreet ＝ \"新村街道\"\n", "第 2 行有中文输入法打出的全角符号，请改成英文半角：“＝”→“=”"),
        ("[report]\nstreet = “新村街道”\n", "““”→“\"”、“””→“\"”"),
        ("[owners.communities]\n\"恰海社区\" = \"张三，李四\"\nx ＝ 1\n", "第 3 行"),  # ， inside quotes is text
    ],
)
def test_full_width_toml_syntax_is_named_in_the_hint(tmp_path, text, hint):
    cfg = _write(tmp_path / "g.toml", text)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert hint in err.value.hint


def test_config_not_utf8(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_bytes('[report]\nstreet = "新村街道"\n'.encode("gb18030"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load_settings(cfg, environ={})


def test_config_with_bom_is_read(tmp_path):
    cfg = tmp_path / "g.toml"
    cfg.write_bytes('[report]\nstreet = "新村街道"\n'.encode("utf-8-sig"))
    assert load_settings(cfg, environ={}).report.street == "新村街道"


# --- environment --------------------------------------------------------------------------


def test_env_override_is_typed_and_beats_the_file(tmp_path):
    cfg = _write(tmp_path / "g.toml", "[rules.point_day]\nmin_tickets = 6\n")
    s = load_settings(cfg, environ={"GAOPIN_RULES__POINT_DAY__MIN_TICKETS": "4"})
    assert s.rules.point_day.min_tickets == 4
    assert isinstance(s.rules.point_day.min_tickets, int)


def test_catch_up_days_default_and_environment(tmp_path):
    from gaopin.config import CATCH_UP_DAYS

    assert Settings().delivery.catch_up_days == CATCH_UP_DAYS == 7
    assert load_settings(environ={"GAOPIN_DELIVERY__CATCH_UP_DAYS": "0"}).delivery.catch_up_days == 0


def test_env_overrides_shape():
    env = {
        "GAOPIN_RULES__POINT_DAY__MIN_TICKETS": "4",
        "GAOPIN_PRIVACY__MASK_PHONES": "false",
        "GAOPIN_MAIL__TO": '["a@example.org", "b@example.org"]',
        "GAOPIN_DB": "/tmp/x.db",
        "GAOPIN_CONFIG": "ignored.toml",
        "GAOPIN_DEBUG": "1",
        "OTHER__THING": "1",
    }
    assert env_overrides(env) == {
        "rules": {"point_day": {"min_tickets": 4}},
        "privacy": {"mask_phones": False},
        "mail": {"to": ["a@example.org", "b@example.org"]},
        "store": {"path": "/tmp/x.db"},
    }


@pytest.mark.parametrize(
    "name, raw, key, value",
    [
        ("GAOPIN_REPORT__STREET", "新村街道", ("report", "street"), "新村街道"),
        ("GAOPIN_LOAD__SHEET", "2", ("load", "sheet"), "2"),
        ("GAOPIN_LOAD__SHEET", "2024.08", ("load", "sheet"), "2024.08"),
        ("GAOPIN_LOAD__SHEET", "2024-08-01", ("load", "sheet"), "2024-08-01"),
        ("GAOPIN_MAIL__USERNAME", "true", ("mail", "username"), "true"),
        ("GAOPIN_LOAD__DATE_FORMAT", "%Y/%m/%d", ("load", "date_format"), "%Y/%m/%d"),
        ("GAOPIN_MAIL__TO", "head@example.org", ("mail", "to"), ["head@example.org"]),
        ("GAOPIN_MAIL__FROM", "office@example.org", ("mail", "sender"), "office@example.org"),
        ("GAOPIN_MAIL__PORT", "587", ("mail", "port"), 587),
        ("GAOPIN_MAIL__TIMEOUT", "12", ("mail", "timeout"), 12.0),
        # Quoted as in the file: the text inside the quotes (the quotes were kept).
        ("GAOPIN_OWNERS__CENTER_HEAD", '"王五"', ("owners", "center_head"), "王五"),
        ("GAOPIN_REPORT__STREET", "'新村街道'", ("report", "street"), "新村街道"),
        ("GAOPIN_MAIL__TO", '"head@example.org"', ("mail", "to"), ["head@example.org"]),
        ("GAOPIN_MAIL__TO", '["a@example.org", "b@example.org"]', ("mail", "to"), ["a@example.org", "b@example.org"]),
        ("GAOPIN_REPORT__STREET", '新村"街道"', ("report", "street"), '新村"街道"'),
    ],
)
def test_env_string_settings_keep_their_text(name, raw, key, value):
    s = load_settings(environ={name: raw})
    section, attr = key
    assert getattr(getattr(s, section), attr) == value


def test_env_unknown_key_is_named():
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"GAOPIN_RULES__POINT_DAY__MIN_TICKET": "4"})
    assert "环境变量" in err.value.message
    assert "rules.point_day.min_ticket" in err.value.message


def test_env_ill_typed_value_is_named():
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"GAOPIN_RULES__POINT_DAY__MIN_TICKETS": "four"})
    assert "rules.point_day.min_tickets" in err.value.message


def test_an_out_of_range_value_names_where_it_was_set(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"GAOPIN_RULES__POINT_DAY__MIN_TICKETS": "0"})
    assert err.value.hint == "请修改环境变量 GAOPIN_RULES__POINT_DAY__MIN_TICKETS"
    cfg = _write(tmp_path / "g.toml", "[rules.point_day]\nmin_tickets = 0\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert err.value.hint == f"请修改配置文件 {cfg}"
    with pytest.raises(ConfigError) as err:
        Settings().with_values({"load.header_row": -1})
    assert err.value.hint == "请检查命令行选项的取值"


def test_a_relative_path_in_a_variable_is_relative_to_the_current_folder(tmp_path, monkeypatch):
    """A path in the file is relative to the file's folder; one in a variable, like --db, to
    the current folder (GAOPIN_DB=t.db next to a config elsewhere went into the config's folder)."""
    from gaopin.store import db_path

    (tmp_path / "conf").mkdir()
    cfg = _write(tmp_path / "conf" / "g.toml", '[report]\nrankings = "r.csv"\n')
    monkeypatch.chdir(tmp_path)
    s = load_settings(cfg, environ={"GAOPIN_DB": "envdb.db", "GAOPIN_LOG__FILE": "logs/g.log"})
    assert db_path(None, s) == tmp_path / "envdb.db"
    assert s.resolve_path(s.log.file) == tmp_path / "logs" / "g.log"
    assert s.resolve_path(s.report.rankings) == tmp_path / "conf" / "r.csv"
    assert load_settings(cfg, environ={"GAOPIN_DB": "/data/t.db"}).store.path == "/data/t.db"


def test_gaopin_db_sets_the_store_path():
    assert load_settings(environ={"GAOPIN_DB": "/data/t.db"}).store.path == "/data/t.db"


# --- flags ------------------------------------------------------------------------------


def test_overrides_are_applied_last_and_none_is_ignored(tmp_path):
    cfg = _write(tmp_path / "g.toml", '[load]\nencoding = "utf-8-sig"\nsheet = "工单"\n')
    s = load_settings(
        cfg,
        environ={"GAOPIN_LOAD__HEADER_ROW": "2"},
        overrides={"load.encoding": "gb18030", "load.sheet": None, "load.header_row": 3},
    )
    assert (s.load.encoding, s.load.sheet, s.load.header_row) == ("gb18030", "工单", 3)
    assert s.source == str(cfg)


def test_with_values_validates_like_the_file():
    with pytest.raises(ConfigError) as err:
        Settings().with_values({"load.header_row": -2})
    assert "load.header_row" in err.value.message
    with pytest.raises(ConfigError) as err:
        Settings().with_values({"load.nope": 1})
    assert "load.nope" in err.value.message


def test_with_values_keeps_everything_else():
    base = Settings()
    changed = base.with_values({"rules.point_day.min_tickets": 9})
    assert changed.rules.point_day.min_tickets == 9
    assert dataclasses.replace(changed, rules=base.rules) == base


def test_to_dict_round_trips_through_with_values():
    s = load_settings(environ={"GAOPIN_MAIL__FROM": "a@example.org", "GAOPIN_COLUMNS__TICKET_ID": "Case ID"})
    assert to_dict(s)["mail"]["from"] == "a@example.org"
    assert s.with_values({}) == s


# --- init -------------------------------------------------------------------------------


def test_init_file_reads_back_as_the_defaults(tmp_path):
    path = write_default_config(tmp_path / "gaopin.toml")
    assert load_settings(path, environ={}) == dataclasses.replace(Settings(), source=str(path))


def _uncomment_defaults(text: str) -> str:
    """Uncomment every `# key = default` line of a real [section] (not the commented examples)."""
    out, in_section = [], False
    for line in text.splitlines():
        if re.fullmatch(r"\[[\w.]+\]", line):
            in_section = True
        elif not line.strip():
            in_section = False
        elif in_section and re.match(r"# \w+ = ", line):
            line = line[2:]
        out.append(line)
    return "\n".join(out) + "\n"


def test_init_file_uncommented_still_gives_the_defaults(tmp_path):
    text = _uncomment_defaults(render_default_toml())
    assert "\nmin_tickets = 3\n" in text and "\nsecurity = \"ssl\"\n" in text and '\nfrom = ""\n' in text
    cfg = _write(tmp_path / "full.toml", text)
    assert load_settings(cfg, environ={}) == dataclasses.replace(Settings(), source=str(cfg))


def test_init_file_documents_every_setting():
    text = render_default_toml()
    for key, f, _ in iter_settings():
        leaf = key.rsplit(".", 1)[-1]
        assert leaf in text, key
        assert f.metadata["doc"] in text, key


def test_markdown_table_lists_every_setting():
    table = render_markdown_table()
    for key, _, _ in iter_settings():
        assert f"`{key}`" in table


def test_env_sets_column_mappings_as_text_or_lists():
    s = load_settings(environ={"GAOPIN_COLUMNS__TICKET_ID": "12345", "GAOPIN_COLUMNS__CATEGORY": '["L1", "L2"]'})
    assert s.columns == {"ticket_id": "12345", "category": ["L1", "L2"]}


def test_valid_load_settings_are_accepted(tmp_path):
    cfg = _write(tmp_path / "g.toml", '[load]\nencoding = "GB18030"\ndate_format = "%m/%d/%Y %I:%M:%S %p"\n')
    assert load_settings(cfg, environ={}).load.encoding == "GB18030"


def test_env_overrides_one_column_mapping_and_keeps_the_others(tmp_path):
    cfg = _write(tmp_path / "g.toml", '[columns]\nticket_id = "Case ID"\nreceived_at = "Created"\n')
    s = load_settings(cfg, environ={"GAOPIN_COLUMNS__RECEIVED_AT": "Created Date"})
    assert s.columns == {"ticket_id": "Case ID", "received_at": "Created Date"}


def test_score_weights_that_add_up_to_one_are_accepted(tmp_path):
    cfg = _write(tmp_path / "g.toml", "[score]\nresponse_weight = 0.2\nresolution_weight = 0.5\nsatisfaction_weight = 0.3\n")
    score = load_settings(cfg, environ={}).score
    assert (score.response_weight, score.resolution_weight, score.satisfaction_weight) == (0.2, 0.5, 0.3)


@pytest.mark.parametrize("text, where", [("[store]\npath = 5\n", "store.path"), ("[report]\nout_dir = 3\n", "report.out_dir"), ("[owners]\ncenter_head = 7\n", "owners.center_head")])
def test_a_number_where_text_is_expected_is_refused(tmp_path, text, where):
    """`path = 5` made a store file named 5; only a sheet's number or a numeric login may be a number."""
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path / "gaopin.toml", text), environ={})
    assert where in err.value.message and "应为字符串" in err.value.message


def test_a_numeric_sheet_and_login_are_read_as_text(tmp_path):
    s = load_settings(_write(tmp_path / "gaopin.toml", "[load]\nsheet = 2\n[mail]\nusername = 123456789\n"), environ={})
    assert (s.load.sheet, s.mail.username) == ("2", "123456789")


def test_a_config_that_is_a_folder_is_an_error_not_ignored(tmp_path, monkeypatch):
    (tmp_path / "gaopin.toml").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as found:
        load_settings(environ={})
    assert "是一个文件夹" in found.value.message
    with pytest.raises(ConfigError) as named:
        load_settings(tmp_path / "gaopin.toml", environ={})
    assert "是一个文件夹" in named.value.message


def test_a_password_in_the_mail_section_is_told_where_it_goes(tmp_path):
    """[mail] password = "…" was answered "是不是想写 mail.password_file？", which invites the
    password written as a path (review of round 13)."""
    cfg = _write(tmp_path / "g.toml", '[mail]\npassword = "s3cret"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    assert "未知的配置项 mail.password" in err.value.message and "s3cret" not in err.value.message
    assert "不能写在 gaopin.toml 里" in err.value.hint and "GAOPIN_SMTP_PASSWORD" in err.value.hint
