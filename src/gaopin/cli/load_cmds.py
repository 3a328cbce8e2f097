"""Commands about reading exports: inspect, clean, init."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gaopin.cli.common import (
    ConfigOpt,
    DebugOpt,
    EncodingOpt,
    Format,
    FormatOpt,
    HeaderRowOpt,
    SheetOpt,
    ShowPhonesOpt,
    handles_errors,
    load_overrides,
    print_json,
    settings_from,
)
from gaopin.cli.render import console, plain, progress, table

InputFiles = Annotated[list[Path], typer.Argument(help="12345 导出文件（.xlsx/.xls/.csv），可以给多个", show_default=False)]


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)
    app.command("clean")(clean)
    app.command("init")(init)


@handles_errors
def inspect(
    files: InputFiles,
    format: FormatOpt = Format.text,
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    show_phones: ShowPhonesOpt = False,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """查看一个新导出文件：用了哪张表、哪一行表头、每列对应哪个字段、填充率和发现的问题。"""
    from gaopin.io.inspect import inspect_files

    settings = settings_from(config, load_overrides(encoding, sheet, header_row))
    with progress() as step:
        report = inspect_files(files, settings, show_phones=show_phones, progress=step)
    if format is Format.json:
        print_json(report)
        return
    _render_inspect(report, masked=not show_phones and settings.privacy.mask_phones)


def _render_inspect(report: dict, masked: bool = True) -> None:
    from gaopin.io.load import PROBLEM_LABELS
    from gaopin.numbers import percent
    from gaopin.privacy import mask_phones_in_text
    from gaopin.schema import label

    # A file or sheet named after a caller (张三13812345678.xlsx) is named on the lines.
    shown = mask_phones_in_text if masked else str

    def e(value: object) -> str:
        # Text from files and messages ("[columns] 配置", "工单[8月].xlsx") is not rich markup
        # (table cells are plain text already).
        return "" if value is None else plain(value)

    out = console()
    for f in report["files"]:
        where = f"工作表“{f['sheet']}”" if f["sheet"] else f"编码 {f['encoding']}" if f["encoding"] else "网页表格"
        at = f"{f['header_row']}–{f['header_row'] + 1}" if f["header_rows"] == 2 else f["header_row"]
        out.print(f"[bold]{e(shown(f['path']))}[/]（{f['kind']}，{e(shown(where))}，表头在第 {at} 行，{f['rows']} 行数据）")
        rows = [
            (c["position"], c["header"], f"{c['field']}（{label(c['field'])}）" if c["field"] else "未使用", c["note"])
            for c in f["columns"]
        ]
        out.print(table(None, ["列", "原表头", "标准字段", "说明"], rows))
    for note in report["sheet_notes"]:
        out.print(e(note))
    dr = report["date_range"]
    out.print(
        f"共读取 {report['rows_read']} 行，{report['tickets']} 张工单（去重后），拒收 {report['rejected']} 行；"
        f"受理时间 {dr['start'] or '—'} 至 {dr['end'] or '—'}"
    )
    fill_rows = [(name, v["label"], percent(v["fill_rate"])) for name, v in report["fields"].items()]
    out.print(table("字段填充率", ["字段", "名称", "填充率"], fill_rows))
    if report["missing_fields"]:
        out.print("导出中没有的字段：" + "、".join(f"{n}（{label(n)}）" for n in report["missing_fields"]))
    if report["problems"]:
        counts = "，".join(f"{PROBLEM_LABELS.get(k, k)} {v}" for k, v in report["problem_counts"].items())
        prob_rows = [
            (PROBLEM_LABELS.get(p["kind"], p["kind"]), shown(Path(p["file"]).name) if p["file"] else "", p["row"] or "", p["value"] or "", p["message"])
            for p in report["problems"]
        ]
        out.print(table(f"发现的问题（{counts}）", ["类型", "文件", "行", "值", "说明"], prob_rows))
    else:
        out.print("没有发现问题。")


@handles_errors
def clean(
    files: InputFiles,
    output: Annotated[Path, typer.Option("--output", "-o", help="输出文件：.csv（UTF-8 带 BOM，Excel 可直接打开）或 .xlsx", show_default=False)],
    encoding: EncodingOpt = None,
    sheet: SheetOpt = None,
    header_row: HeaderRowOpt = None,
    show_phones: ShowPhonesOpt = False,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
) -> None:
    """把导出文件整理成标准表（每个标准字段一列，时间写成 YYYY-MM-DD HH:MM:SS），供其他用途使用。"""
    from gaopin.io.clean import clean_files

    settings = settings_from(config, load_overrides(encoding, sheet, header_row))
    summary = clean_files(files, output, settings, show_phones=show_phones)
    notes = [f"合并重复编号 {summary['merged']} 行"] if summary["merged"] else []
    notes += [f"拒收 {summary['rejected']} 行"] if summary["rejected"] else []
    typer.echo(f"已写出 {summary['tickets']} 张工单到 {summary['output']}" + (f"（{'，'.join(notes)}，见 gaopin inspect）" if notes else ""))
    if summary["cut"]:
        typer.echo(f"注意：有 {summary['cut']} 个单元格超过 Excel 每格 32767 个字的上限，写入 .xlsx 时被截断；要完整内容请写成 .csv")


@handles_errors
def init(
    path: Annotated[Path, typer.Argument(help="写到哪里", show_default=True)] = Path("gaopin.toml"),
    force: Annotated[bool, typer.Option("--force", help="覆盖已存在的文件")] = False,
    debug: DebugOpt = False,
) -> None:
    """生成一份带注释的默认配置文件 gaopin.toml。"""
    from gaopin.io.write import write_default_config

    from gaopin.config import CONFIG_FILE_NAME, ENV_CONFIG, default_config_path

    written = write_default_config(path, force=force)
    where = Path(written).resolve()
    if where == default_config_path().resolve():
        use = "当前目录没有 gaopin.toml 时，本用户运行的 gaopin 都用它"
    elif where == (Path.cwd() / CONFIG_FILE_NAME).resolve():
        use = f"在这个目录运行 gaopin 时生效；从别的目录或 cron 运行时，请设环境变量 {ENV_CONFIG}={where} 或加 --config {where}"
    else:
        use = f"运行 gaopin 时请加 --config {where}，或设环境变量 {ENV_CONFIG}={where}"
    typer.echo(f"已生成 {written}；按需修改后，{use}。")
