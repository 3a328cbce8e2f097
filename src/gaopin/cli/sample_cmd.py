"""`gaopin sample`: deterministic sample data (the 新村街道 street, or a district-scale file)."""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from gaopin.cli.common import DebugOpt, handles_errors

# Kept here as a literal so that `gaopin --help` does not import the generator (and pandas);
# a test checks it equals gaopin.sample.DEFAULT_SEED.
DEFAULT_SEED = 12345
DEFAULT_DISTRICT_ROWS = 100_000


class FileFormat(str, Enum):
    csv = "csv"
    xlsx = "xlsx"


OutOpt = Annotated[Path, typer.Option("--out", "-o", help="输出目录（不存在时自动创建；同名文件会被覆盖）", show_default=False)]
SeedOpt = Annotated[int, typer.Option("--seed", help="随机种子：同一种子生成的文件逐字节相同")]
DistrictOpt = Annotated[
    bool, typer.Option("--district", help="生成全区规模的大文件（约 20 个街道，用于性能测试），不含埋入的案例和标准答案")
]
RowsOpt = Annotated[
    Optional[int],
    typer.Option("--rows", min=1, help=f"全区模式的工单数（默认 {DEFAULT_DISTRICT_ROWS}）", show_default=False),
]
FileFormatOpt = Annotated[
    Optional[FileFormat], typer.Option("--format", help="全区模式的文件格式：csv（UTF-8，默认）或 xlsx", show_default=False)
]


def register(app: typer.Typer) -> None:
    app.command("sample")(sample)


@handles_errors
def sample(
    out: OutOpt,
    seed: SeedOpt = DEFAULT_SEED,
    district: DistrictOpt = False,
    rows: RowsOpt = None,
    format: FileFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """生成示例数据：默认是丰台区新村街道 2024 年 1—10 月的 6656 张工单（含埋入的典型案例、标准答案、排名和配置）；
    加 --district 生成全区规模的大文件。"""
    from gaopin.errors import UsageError

    if not district and (rows is not None or format is not None):
        raise UsageError("--rows 和 --format 只用于全区模式", "请加上 --district，或去掉这两个选项生成街道示例数据")
    if district:
        _district(out, seed, rows or DEFAULT_DISTRICT_ROWS, (format or FileFormat.csv).value)
        return
    from gaopin.sample import write_street_sample

    written = write_street_sample(out, seed)
    typer.echo(f"已生成新村街道示例数据（种子 {seed}）：")
    for path in written:
        typer.echo(f"  {path}")


def _district(out: Path, seed: int, rows: int, fmt: str) -> None:
    from gaopin.cli.render import progress
    from gaopin.sample import write_district_sample

    started = time.monotonic()
    with progress() as step:
        path = write_district_sample(out, rows=rows, fmt=fmt, seed=seed, progress=step)
    typer.echo(f"已生成 {rows} 张工单到 {path}（用时 {time.monotonic() - started:.1f} 秒）")
