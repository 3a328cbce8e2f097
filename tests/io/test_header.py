"""Finding the header row and mapping its columns to canonical fields."""

from __future__ import annotations

import pytest

from gaopin.errors import ConfigError, ExitCode, InputError
from gaopin.io.header import LEVEL_NAMES, Header, detect_header, find_header, map_columns, validate_columns_config
from gaopin.schema import LEVEL_LABELS

STANDARD = ["工单编号", "受理时间", "诉求人", "来电号码", "诉求地址", "问题分类", "是否解决", "是否满意", "派单方式"]
DIALECT = ["工单号", "来电时间", "来电人", "来电人电话/账号", "小区点位", "一级分类", "二级分类", "三级分类", "承办单位"]


def _fields(headers, columns=None) -> dict[str, str | None]:
    m = map_columns(headers, columns or {}, "t.xlsx")
    return {c.header: c.field for c in m.columns}


# --- header row -----------------------------------------------------------------------


def test_header_below_title_and_note_rows():
    head = [
        ["新村街道 12345 接诉即办工单明细", "", ""],
        ["说明：本表由系统导出，统计口径以受理时间为准", "", ""],
        ["", "", ""],
        STANDARD,
        ["A1", "2024-08-03", "张三"],
    ]
    assert detect_header(head, {}, 0, "t.xlsx") == 3


def test_the_row_matching_most_aliases_wins():
    head = [["工单编号", "受理时间"], STANDARD]
    assert detect_header(head, {}, 0, "t.xlsx") == 1


def test_dialect_header_is_found():
    assert detect_header([["标题"], DIALECT], {}, 0, "t.xlsx") == 1


def test_header_cells_with_blanks_newlines_markers_and_full_width():
    head = [["＊工单编号", "受理\n时间", " 诉求人\u3000", "ＩＤ"]]
    assert detect_header(head, {}, 0, "t.csv") == 0
    assert _fields(head[0]) == {"＊工单编号": "ticket_id", "受理 时间": "received_at", "诉求人": "caller_name", "ＩＤ": None}


# --- headers over two rows -------------------------------------------------------------

GROUP_TOP = ["工单编号", "来电时间", "诉求人信息", "", "回访情况", ""]
GROUP_SUB = ["", "", "来电人", "来电人电话/账号", "是否解决", "是否满意"]


def test_group_titles_over_sub_headers_are_one_header():
    head = [["工单明细", "", "", "", "", ""], GROUP_TOP, GROUP_SUB, ["A1", "2024-08-03", "张三", "13812345678", "是", "满意"]]
    header = find_header(head, {}, 0, "t.xlsx")
    assert header == Header(1, ["工单编号", "来电时间", "来电人", "来电人电话/账号", "是否解决", "是否满意"], 2)
    assert header.last == 2


def test_a_group_title_that_reads_as_a_field_is_still_a_group_title():
    """诉求人 (an alias of 来电人) over 姓名 and 联系电话: the phone and the answers were lost."""
    top = ["工单编号", "来电时间", "诉求人", "", "回访情况", ""]
    sub = ["", "", "姓名", "联系电话", "是否解决", "是否满意"]
    header = find_header([top, sub, ["A1", "2024-08-03", "张三", "13812345678", "是", "满意"]], {}, 0, "t.xlsx")
    assert header == Header(0, ["工单编号", "来电时间", "姓名", "联系电话", "是否解决", "是否满意"], 2)


def test_a_configured_header_row_takes_its_sub_headers_too():
    head = [["工单明细"], GROUP_TOP, GROUP_SUB]
    assert find_header(head, {}, 2, "t.xlsx").rows == 2


@pytest.mark.parametrize(
    "data",
    [
        ["A1", "2024-08-03", "张三", "13812345678", "是", "满意"],
        ["A1", "", "", "", "", ""],  # a sparse ticket
        ["A1", "2024-08-03", "", "", "是否解决", ""],  # a cell that happens to read like a header
        ["", "", "", "", "", ""],  # a blank row under a header merged down over nothing
    ],
)
def test_a_one_row_header_and_its_data_are_never_one_header(data):
    head = [["工单编号", "来电时间", "来电人", "", "是否解决", "是否满意"], data]
    assert find_header(head, {}, 0, "t.xlsx") == Header(0, head[0])


def test_group_titles_above_a_full_header_are_not_part_of_it():
    """Each column has its own header in the lower row: the row above adds nothing."""
    head = [["基本信息", "", "诉求人信息", "", "回访", ""], ["工单编号", "来电时间", "来电人", "来电号码", "是否解决", "是否满意"], ["A1", "2024-08-03", "张三", "138", "是", "满意"]]
    assert find_header(head, {}, 0, "t.xlsx") == Header(1, head[1])


def test_a_title_row_above_the_header_is_not_part_of_it():
    head = [["新村街道 12345 工单明细", "", ""], ["工单编号", "受理时间", ""], ["A1", "2024-08-03", "x"]]
    assert find_header(head, {}, 0, "t.xlsx") == Header(1, head[1])


def test_configured_header_row():
    head = [["x", "y"], STANDARD, STANDARD]
    assert detect_header(head, {}, 3, "t.xlsx") == 2


def test_configured_header_row_beyond_the_file():
    with pytest.raises(InputError) as err:
        detect_header([STANDARD], {}, 5, "t.xlsx")
    assert "第 5 行" in err.value.message and "--header-row" in err.value.hint and "[load] header_row" in err.value.hint


def test_no_recognisable_header_lists_what_was_seen():
    head = [["Report"], ["Case ID", "Created Date", "Agency", "Complaint Type"], ["1", "08/03/2024", "DSNY", "Noise"]]
    with pytest.raises(InputError) as err:
        detect_header(head, {}, 0, "us311.csv")
    assert err.value.exit_code == ExitCode.INPUT
    assert "us311.csv" in err.value.message and "找不到可识别的表头" in err.value.message
    assert "Case ID、Created Date、Agency、Complaint Type" in err.value.message
    assert "[columns]" in err.value.hint and "docs/data-format.md" in err.value.hint


def test_one_matching_cell_is_not_a_header():
    with pytest.raises(InputError):
        detect_header([["工单编号", "x", "y"]], {}, 0, "t.csv")


def test_configured_headers_count_for_detection():
    head = [["311 Service Requests"], ["Unique Key", "Created Date", "Agency"]]
    columns = {"ticket_id": "Unique Key", "received_at": "Created Date"}
    assert detect_header(head, columns, 0, "us311.csv") == 1


# --- mapping --------------------------------------------------------------------------


def test_standard_mapping():
    assert _fields(STANDARD) == {
        "工单编号": "ticket_id",
        "受理时间": "received_at",
        "诉求人": "caller_name",
        "来电号码": "caller_phone",
        "诉求地址": "address",
        "问题分类": "category",
        "是否解决": "resolved",
        "是否满意": "satisfied",
        "派单方式": "dispatch",
    }


def test_dialect_mapping_with_level_columns():
    m = map_columns(DIALECT, {}, "t.xlsx")
    assert {c.header: c.field for c in m.columns} == {
        "工单号": "ticket_id",
        "来电时间": "received_at",
        "来电人": "caller_name",
        "来电人电话/账号": "caller_phone",
        "小区点位": "address",
        "一级分类": "category_l1",
        "二级分类": "category_l2",
        "三级分类": "category_l3",
        "承办单位": "unit",
    }
    assert m.has_category
    assert m.position("category_l3") == 7


@pytest.mark.parametrize(
    "headers, winner, loser",
    [
        (["工单编号", "派单时间", "受理时间"], "受理时间", "派单时间"),
        (["工单编号", "受理时间", "派单时间"], "受理时间", "派单时间"),
        (["工单编号", "受理时间", "联系电话", "来电号码"], "来电号码", "联系电话"),
        (["受理编号", "工单编号", "受理时间"], "工单编号", "受理编号"),
        (["工单编号", "受理时间", "地址", "诉求地址"], "诉求地址", "地址"),
    ],
)
def test_alias_priority(headers, winner, loser):
    m = map_columns(headers, {}, "t.xlsx")
    by_header = {c.header: c for c in m.columns}
    assert by_header[winner].field is not None
    assert by_header[loser].field is None
    assert "重复" in by_header[loser].note  # shown as unused, with the reason


def test_same_header_twice_leftmost_wins():
    m = map_columns(["工单编号", "受理时间", "工单编号"], {}, "t.xlsx")
    assert [c.field for c in m.columns] == ["ticket_id", "received_at", None]


def test_path_column_beats_level_columns():
    m = map_columns(["工单编号", "受理时间", "一级分类", "问题分类", "二级分类"], {}, "t.xlsx")
    assert m.position("category") == 3
    levels = [c for c in m.columns if c.header.endswith("级分类")]
    assert all(c.field is None and "问题分类" in c.note for c in levels)


def test_unused_columns_are_marked():
    m = map_columns(["工单编号", "受理时间", "备注", ""], {}, "t.xlsx")
    assert [(c.field, c.note) for c in m.columns[2:]] == [(None, "未使用"), (None, "未使用")]


def test_columns_config_overrides_aliases():
    headers = ["工单编号", "Case ID", "受理时间", "Created Date"]
    m = map_columns(headers, {"ticket_id": "Case ID", "received_at": "created date"}, "t.csv")
    fields = {c.header: (c.field, c.note) for c in m.columns}
    assert fields["Case ID"] == ("ticket_id", "[columns] 配置")
    assert fields["Created Date"] == ("received_at", "[columns] 配置")
    assert fields["工单编号"][0] is None and fields["受理时间"][0] is None


def test_columns_config_category_levels():
    headers = ["Unique Key", "Created Date", "Complaint Type", "Descriptor", "问题分类"]
    columns = {"ticket_id": "Unique Key", "received_at": "Created Date", "category": ["Complaint Type", "Descriptor"]}
    m = map_columns(headers, columns, "us311.csv")
    assert m.position("category_l1") == 2 and m.position("category_l2") == 3
    assert m.position("category") is None  # the configured levels replace the 问题分类 alias


def test_columns_config_category_path():
    m = map_columns(["id", "t", "Type"], {"ticket_id": "id", "received_at": "t", "category": "Type"}, "x.csv")
    assert m.position("category") == 2


def test_missing_required_column():
    with pytest.raises(InputError) as err:
        map_columns(["工单编号", "诉求人", "来电号码"], {}, "t.xlsx")
    message = err.value.message
    assert "缺少必需的列：受理时间（received_at）" in message
    assert "看到的表头：工单编号、诉求人、来电号码" in message
    assert "[columns]" in err.value.hint and "received_at" in err.value.hint


def test_missing_id_column_hint_names_the_id_field():
    """The hint's example was received_at = "来电时间", a column the file had and gaopin knew."""
    with pytest.raises(InputError) as err:
        map_columns(["工单类型", "来电时间", "来电人"], {}, "t.csv")
    assert "缺少必需的列：工单编号（ticket_id）" in err.value.message
    assert "指明哪一列是工单编号，例如 ticket_id = " in err.value.hint and "来电时间" not in err.value.hint


def test_configured_header_not_found_is_named():
    with pytest.raises(InputError) as err:
        map_columns(["工单编号", "受理时间"], {"received_at": "Created Date"}, "t.csv")
    assert 'received_at = "Created Date"' in err.value.message
    assert "看到的表头：工单编号、受理时间" in err.value.message
    assert "[columns]" in err.value.hint


@pytest.mark.parametrize(
    "columns, named",
    [
        ({"ticket": "Case ID"}, "columns.ticket"),
        ({"dispatch_class": "派单类别"}, "columns.dispatch_class"),
        ({"ticket_id": ["a", "b"]}, "columns.ticket_id"),
        ({"category": ["a", "b", "c", "d"]}, "columns.category"),
        ({"category": []}, "columns.category"),
    ],
)
def test_bad_columns_config_is_named(columns, named):
    with pytest.raises(ConfigError) as err:
        validate_columns_config(columns)
    assert named in err.value.message
    assert err.value.exit_code == ExitCode.CONFIG


def test_configured_headers_absent_from_the_file_are_named_when_no_header_is_found():
    head = [["工单编号", "受理时间"], ["A1", "2024-08-03"]]
    with pytest.raises(InputError) as err:
        detect_header(head, {"received_at": "Created Date", "category": ["L1", "工单编号"]}, 0, "t.csv")
    assert 'received_at = "Created Date"、category = "L1"' in err.value.message
    assert "看到的表头：工单编号、受理时间" in err.value.message
    assert "[columns]" in err.value.hint


def test_level_names_have_labels():
    assert tuple(LEVEL_LABELS) == LEVEL_NAMES
