"""`gaopin clean`: the canonical table written out for use elsewhere."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from gaopin.config import Settings
from gaopin.errors import UsageError
from gaopin.io.load import load
from gaopin.io.write import Sheet, cells_over_xlsx_limit, refuse_input_as_output, write_csv, write_xlsx
from gaopin.io.canonical import map_unique
from gaopin.privacy import mask_name, mask_phone, mask_phones_in_text
from gaopin.schema import CANONICAL_COLUMNS

# Callers type numbers into titles, contents, addresses and the name field, and an answer
# column that cannot be read keeps what was typed: every text column but the id is masked.
NOT_TEXT = ("ticket_id", "received_at", "closed_at", "caller_phone")


def clean_files(
    paths: Iterable[str | os.PathLike[str]], output: Path, settings: Settings, show_phones: bool = False
) -> dict:
    suffix = Path(output).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise UsageError(f"不支持的输出格式“{suffix or output}”", "输出文件名请以 .csv 或 .xlsx 结尾")
    paths = list(paths)
    refuse_input_as_output(Path(output), paths)
    result = load(paths, settings)
    frame = result.frame[list(CANONICAL_COLUMNS)].copy()
    for name in ("received_at", "closed_at"):
        frame[name] = frame[name].dt.strftime("%Y-%m-%d %H:%M:%S")
    if not show_phones and settings.privacy.mask_phones:
        frame["caller_phone"] = map_unique(frame["caller_phone"], mask_phone)
        for name in CANONICAL_COLUMNS:
            if name not in NOT_TEXT:
                frame[name] = map_unique(frame[name], mask_phones_in_text)
    if settings.privacy.mask_names:
        frame["caller_name"] = map_unique(frame["caller_name"], mask_name)
    cut = 0
    if suffix == ".csv":
        write_csv(frame, Path(output))
    else:
        cut = cells_over_xlsx_limit(frame)
        write_xlsx(Path(output), [Sheet("工单", frame)])
    return {"output": str(output), "tickets": len(frame), "rejected": len(result.rejected), "merged": result.merged, "cut": cut}
