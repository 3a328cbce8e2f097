"""`gaopin doctor`: check configuration, store, font, log, SMTP login and webhook; say what to fix."""

from __future__ import annotations

from typing import Annotated

import typer

from gaopin.cli.common import ConfigOpt, DbOpt, DebugOpt, Format, FormatOpt, handles_errors, print_json

SYMBOLS = {"ok": "✓", "fail": "✗", "warn": "!", "skip": "-"}


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


@handles_errors
def doctor(
    offline: Annotated[bool, typer.Option("--offline", help="不连接邮件服务器和群机器人，只检查设置")] = False,
    format: FormatOpt = Format.text,
    db: DbOpt = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """检查配置、工单库（可写、结构版本、有无损坏）、中文字体、报告缓存、日志、邮件登录和群机器人地址，逐项说明怎么修。

    工单库逐页检查一遍（SQLite 的 quick_check，100 万张工单的库约几秒），不做任何修改。
    邮件只连接、加密、登录后退出，不发信；群机器人只测试能否连上服务器，不发消息。
    有任何一项失败时，以第一项失败对应的退出码结束（配置 4、工单库 6、工单库正被写入 8、邮件或群机器人 7）。
    """
    from gaopin.cli import logs
    from gaopin.config import load_settings
    from gaopin.deliver.doctor import run_checks
    from gaopin.errors import ConfigError

    try:
        logs.configure(load_settings(config))
    except ConfigError:
        logs.configure(None)
    report = run_checks(config, str(db) if db else None, network=not offline)
    if format is Format.json:
        print_json(report.to_dict())
    else:
        width = max(len(c.name) for c in report.checks)
        for c in report.checks:
            typer.echo(f"{SYMBOLS[c.status]} {c.name}{'　' * (width - len(c.name))}  {c.detail}")
            if c.hint and c.status != "ok":
                typer.echo(f"    → {c.hint}")
        failed = sum(1 for c in report.checks if c.status == "fail")
        warned = sum(1 for c in report.checks if c.status == "warn")
        if failed:
            typer.echo(f"有 {failed} 项未通过，请按上面的提示修改。")
        elif warned:
            # Not an all-clear: a warning (no gaopin.toml found) is what makes cron's --email runs fail.
            typer.echo(f"没有未通过的检查，但有 {warned} 项警告，请看上面标 {SYMBOLS['warn']} 的行。")
        else:
            typer.echo("全部检查通过。")
    if not report.ok:
        raise typer.Exit(report.exit_code)
