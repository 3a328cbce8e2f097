import pandas as pd
import pyarrow as pa
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
        ("南大园一百零一号楼2单元", "南大园101号楼"),
        ("南大园101号楼", "南大园101号楼"),
        ("南大园一百一号楼", "南大园一百一号楼"),  # 110 or 101: not guessed
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
        # The punctuation after a prefix goes with it (review C: three points of one building).
        ("新村街道，恰海小区3号楼2单元", "恰海小区3号楼"),
        ("丰台区新村街道·恰海小区3号楼3单元", "恰海小区3号楼"),
        ("北京市、丰台区 - 新村街道：恰海小区3号楼", "恰海小区3号楼"),
        ("，恰海小区3号楼", "恰海小区3号楼"),
        ("新村街道，", "新村街道,"),
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
    [
        ("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("两", 2), ("一〇", 10), ("九十九", 99), ("零", 0),
        ("一百", 100), ("一百零一", 101), ("两百一十", 210), ("一千零五", 1005), ("一千零一十", 1010), ("一零一", 101), ("二〇〇八", 2008),
    ],
)  # fmt: skip
def test_chinese_numerals(text, value):
    assert chinese_to_int(text) == value


# Not one number as written: 一二三 (digits without a zero), the colloquial 一百一 (110, or 101?),
# units out of order or repeated, two digits in a row, a trailing 零.
@pytest.mark.parametrize("text", ["一二三", "十十", "二十三四", "一百一", "一千二", "百", "十百", "一百零", "零一百", "一百零零一"])
def test_what_is_not_one_number_is_left_alone(text):
    assert chinese_to_int(text) is None


def _written(n: int) -> str:
    """The reference: how 1–9999 are written out (一百零一, 一千零一十, 十五)."""
    digits = "零一二三四五六七八九"
    out, zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // unit % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("" if unit == 10 and d == 1 and not out else digits[d]) + name
    return out


def test_every_number_up_to_9999_written_out_is_read_back():
    assert [_written(n) for n in (10, 15, 101, 110, 1010, 2008)] == ["十", "十五", "一百零一", "一百一十", "一千零一十", "二千零八"]
    assert [n for n in range(1, 10_000) if chinese_to_int(_written(n)) != n] == []


def test_point_column_uses_the_street_column_and_keeps_blanks():
    address = pd.Series(["西罗园街道某小区1号楼", None, "某小区1栋"], dtype="str")
    street = pd.Series(["丰台区西罗园街道", "丰台区西罗园街道", None], dtype="str")
    out = point_column(address, street)
    assert out.tolist()[0] == "某小区1号楼"
    assert pd.isna(out.tolist()[1])
    assert out.tolist()[2] == "某小区1号楼"


@given(st.text(alphabet="恰海小区南大园一二三十百千零〇两栋幢号楼院单元层室0123456789 　丰台区北京市，·、-#", max_size=30))
def test_normalising_a_point_again_changes_nothing(text):
    normalize = PointNormalizer(["新村街道"])
    once = normalize(text)
    assert normalize(once) == once


# Addresses for comparing PointNormalizer.many with the one-at-a-time normaliser: the characters
# the Arrow path reads (digits, letters, ideographs, spaces, half- and full-width), the steps it
# leaves to Python (Chinese numerals, zeros in front), and characters that send an address there.
_ADDRESS_PARTS = st.one_of(
    st.sampled_from(["北京市", "丰台区", "新村街道", "新村", "丰台区新村街道", "恰海小区", "南大园", "號"]),
    st.sampled_from(["号楼", "号院", "号", "栋", "幢", "单元", "层", "室", "#", "#楼", "楼"]),
    st.text(alphabet="0123456789０１２３", min_size=1, max_size=4),
    st.text(alphabet="一二三十百千零〇两", min_size=1, max_size=3),
    st.text(alphabet="abcXYZｂＺ 　\t", min_size=1, max_size=3),
    st.text(alphabet="，·、-()（）\u200bﾊＫ¸", min_size=1, max_size=2),
)
ADDRESSES = st.lists(_ADDRESS_PARTS, max_size=8).map("".join)


@given(st.lists(st.one_of(ADDRESSES, st.none()), max_size=25), st.lists(st.sampled_from(["新村", "恰海", "南大园3号", "ab", "·"]), max_size=3))
def test_many_equals_one_at_a_time(addresses, prefixes):
    normalize = PointNormalizer(prefixes)
    expected = [None if a is None else (normalize(a) or None) for a in addresses]
    assert normalize.many(pa.array(addresses, type=pa.string())).to_pylist() == expected


@pytest.mark.parametrize(
    "address",
    ["北京市丰台区新村街道", "新村街道新村", "恰海小区12单元3层", "12单元3层", "A12单元", "恰海小区３栋３０２室", "恰 海小区 12 号院 3号楼", "ｘ1号", "恰海小区03号楼", "恰海小区三号楼"],
)
def test_many_on_the_cases_each_step_decides(address):
    normalize = PointNormalizer(street_prefixes(["丰台区新村街道"]))
    assert normalize.many(pa.array([address, None, ""], type=pa.string())).to_pylist() == [normalize(address) or None, None, None]
