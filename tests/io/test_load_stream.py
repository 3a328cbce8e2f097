"""A load that hands its tickets to a sink part by part gives what a load of the whole does."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

import gaopin.io.load as loader
from gaopin.config import Settings
from gaopin.io.canonical import joined_phone_problems, phone_column
from gaopin.io.load import load
from tests.builders import write_csv


HEADER = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "是否解决", "是否满意", "派单方式", "备注"]

_ID = st.one_of(
    st.sampled_from(["A1", "A2", "A3", "B1", "B2", "Ａ１", " A1 "]),  # repeats, also after NFKC and trimming
    st.builds(lambda i: f"GD{i:06d}", st.integers(0, 10**6)),
    st.sampled_from(["", "1.23457E+17"]),  # rejected: no id, an id a number cell destroyed
)
_TIME = st.sampled_from(["2024-08-03 09:00:00", "2024/8/3 9:05", "2024年8月3日", "下午3点", "45507.5", "昨天", "", "2024-02-30 10:00:00"])
_PHONE = st.sampled_from(["13812345678", "138-1234-5678", "010-6512 3456", "12345", "1111111", "123456789012345", "无", "", "１３８１２３４５６７８"])
_ROW = st.tuples(
    _ID,
    _TIME,
    st.sampled_from(["张三", "李四", " 王五 ", ""]),
    _PHONE,
    st.sampled_from(["恰海小区3号楼", "京铁和园12号楼", ""]),
    st.sampled_from(["是", "否", "解决", "说不清", "待定", ""]),
    st.sampled_from(["满意", "不满意", "一般般", ""]),
    st.sampled_from(["市派", "区派", "直派", ""]),
    st.sampled_from(["x", "", "备注"]),
)
_BLANK = ("",) * len(HEADER)


def _load_both(rows: list[tuple], part_rows: int) -> tuple:
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "t.csv", [HEADER, *rows])
        # Not strict: a file none of whose times can be read is compared too, not refused.
        whole = load([path], Settings(), keep_extra=True, strict=False)
        parts: list[pd.DataFrame] = []
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(loader, "STREAM_ROWS", part_rows)
            streamed = load([path], Settings(), keep_extra=True, sink=parts.append, strict=False)
    return whole, streamed, parts


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(_ROW, st.just(_BLANK)), min_size=1, max_size=14), part_rows=st.integers(1, 4))
def test_a_load_streamed_in_parts_equals_the_whole(rows, part_rows):
    whole, streamed, parts = _load_both(rows, part_rows)
    assert_frame_equal(streamed.frame, whole.frame)
    assert [p.to_dict() for p in streamed.problems] == [p.to_dict() for p in whole.problems]
    assert streamed.counts == whole.counts
    assert [p.to_dict() for p in streamed.rejected] == [p.to_dict() for p in whole.rejected]
    assert (streamed.fields, streamed.extra_columns) == (whole.fields, whole.extra_columns)
    assert [s.to_dict() for s in streamed.sources] == [s.to_dict() for s in whole.sources]
    if whole.counts["duplicate"]:
        assert parts == []  # tickets to merge: nothing is handed over before the whole is known
    elif len(whole.frame) + len(whole.rejected):
        kept = [p for p in parts if len(p)]
        assert_frame_equal(pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0], whole.frame)
        assert all(len(p) <= part_rows for p in kept)


def test_parts_are_handed_over_as_they_are_made(tmp_path):
    rows = [[f"GD{i:03d}", "2024-08-03 09:00:00", "张三", "13812345678", "恰海小区3号楼", "是", "满意", "市派", ""] for i in range(10)]
    path = write_csv(tmp_path / "t.csv", [HEADER, *rows])
    sizes: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loader, "STREAM_ROWS", 4)
        result = load([path], Settings(), sink=lambda part: sizes.append(len(part)))
    assert sizes == [4, 4, 2]
    assert result.frame["ticket_id"].tolist() == [f"GD{i:03d}" for i in range(10)]


def test_a_sink_takes_one_file_only(tmp_path):
    path = write_csv(tmp_path / "t.csv", [HEADER[:2], ["A1", "2024-08-03"]])
    with pytest.raises(ValueError):
        load([path, path], Settings(), sink=lambda part: None)


@given(
    values=st.lists(st.sampled_from(["13812345678", "138-1234-5678", "12345", "1111111", "无", "12-34", "0000000", None, "１２３"]), max_size=12),
    part_rows=st.integers(1, 4),
)
def test_phone_problems_of_parts_join_as_those_of_the_whole(values, part_rows):
    column = pd.Series(values, dtype="str")
    parts = [phone_column(column.iloc[at : at + part_rows])[1] for at in range(0, len(values), part_rows)]
    assert list(joined_phone_problems(parts).items()) == list(phone_column(column)[1].items())
