"""`gaopin doctor`'s last line: an all-clear only when no check failed or warned."""

from __future__ import annotations

from typer.testing import CliRunner

from gaopin.cli import app
from tests.delivery_data import write_config

runner = CliRunner()


def test_warnings_without_failures_are_counted_not_an_all_clear(tmp_path):
    """No gaopin.toml found (a warning, !) ended with "全部检查通过。", and cron's --email runs from
    that environment then failed for want of [mail]. Warnings are no failures: exit 0 still."""
    result = runner.invoke(app, ["doctor", "--offline", "--db", str(tmp_path / "g.db")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    warned = [line for line in lines if line.startswith("! ")]
    assert any(line.startswith("! 配置") for line in warned)
    assert lines[-1] == f"没有未通过的检查，但有 {len(warned)} 项警告，请看上面标 ! 的行。"
    assert "全部检查通过" not in result.stdout


def test_nothing_failed_or_warned_is_an_all_clear(tmp_path, db):
    result = runner.invoke(app, ["doctor", "--offline", "--config", str(write_config(tmp_path / "gaopin.toml")), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert not any(line.startswith(("! ", "✗ ")) for line in result.stdout.splitlines())
    assert result.stdout.splitlines()[-1] == "全部检查通过。"
