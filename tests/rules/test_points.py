import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.rules.points import PointNormalizer, chinese_to_int, point_column, street_prefixes


@pytest.fixture
def normalize():
    return PointNormalizer(street_prefixes(["丰台区新村街道"]))


@pytest.mark.parametrize(
    "address",
    ["北京市丰台区新村街道恰海小区３号楼2单元301", "恰海小区三号楼", " 恰海小区 3号楼 1单元", "恰海小区3栋402室"],
)
def test_the_issue_examples_are_one_point(normalize, address):
    assert normalize(address) == "恰海小区3号楼"


@pytest.mark.parametrize(
    ("address", "point"),
    [
        ("南大园300号院5号楼2单元", "南大园300号院5号楼"),
        ("南大园300号", "南大园300号"),
        ("12 Main St", "12MAINST"),
        ("恰海小区十二号楼", "恰海小区12号楼"),
        ("恰海小区二十三号楼", "恰海小区23号楼"),
        ("恰海小区两栋", "恰海小区2号楼"),
        ("恰海小区3幢", "恰海小区3号楼"),
        ("南大园九号院", "南大园9号院"),
        ("恰海小区2单元301", "恰海小区"),
        ("恰海小区5层", "恰海小区"),
        ("2单元301", "2单元301"),  # never down to nothing
        ("樊羊路12号附近", "樊羊路12号"),
        ("恰海\u200b小区3号楼", "恰海小区3号楼"),
        # Zeros in front are dropped, as in 零三号楼; a 0 inside a number or on its own stays.
        ("恰海小区03号楼", "恰海小区3号楼"),
        ("恰海小区零三号楼", "恰海小区3号楼"),
        ("恰海小区003栋", "恰海小区3号楼"),
        ("南大园05号院", "南大园5号院"),
        ("恰海小区10号楼", "恰海小区10号楼"),
        ("恰海小区100号楼", "恰海小区100号楼"),
        ("恰海小区0号楼", "恰海小区0号楼"),
    ],
)
def test_building_level(normalize, address, point):
    assert normalize(address) == point


@pytest.mark.parametrize(
    ("address", "point"),
    [
        ("丰台区云岗北区3号楼", "云岗北区3号楼"),
        ("北京市丰台区芳古园一区5号楼", "芳古园一区5号楼"),
        ("丰台区", "丰台区"),
        ("北京市", "北京市"),
        ("新村街道恰海小区3号楼", "恰海小区3号楼"),
        ("丰台区新村街道恰海小区3号楼", "恰海小区3号楼"),
    ],
)
def test_prefixes_are_removed_but_never_an_estates_own_qu(normalize, address, point):
    assert normalize(address) == point


def test_configured_prefixes_longest_first():
    normalize = PointNormalizer(["新村", "新村街道"])
    assert normalize("新村街道恰海小区3号楼") == "恰海小区3号楼"
    assert normalize("新村恰海小区3号楼") == "恰海小区3号楼"


@pytest.mark.parametrize(
    ("text", "value"),
    [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("两", 2), ("一〇", 10), ("九十九", 99), ("零", 0)],
)
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


@pytest.mark.parametrize("text", ["一二三", "十十", "二十三四"])
def test_numerals_beyond_99_are_left_alone(text):
    assert chinese_to_int(text) is None


def test_point_column_uses_the_street_column_and_keeps_blanks():
    address = pd.Series(["西罗园街道某小区1号楼", None, "某小区1栋"], dtype="str")
    street = pd.Series(["丰台区西罗园街道", "丰台区西罗园街道", None], dtype="str")
    out = point_column(address, street)
    assert out.tolist()[0] == "某小区1号楼"
    assert pd.isna(out.tolist()[1])
    assert out.tolist()[2] == "某小区1号楼"


@given(st.text(alphabet="恰海小区南大园一二三十两栋幢号楼院单元层室0123456789 　丰台区北京市", max_size=30))
def test_normalising_a_point_again_changes_nothing(text):
    normalize = PointNormalizer(["新村街道"])
    once = normalize(text)
    assert normalize(once) == once
