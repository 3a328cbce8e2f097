"""Masking of phones and names in what people see."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaopin.privacy import MASK, mask_name, mask_phone, mask_phones_in_text


@pytest.mark.parametrize(
    "phone, masked",
    [
        ("13812345678", "138****5678"),
        ("01065123456", "010****3456"),
        ("65123456", "65****56"),
        ("A000102948", "A0****48"),
        ("12345", MASK),
        ("", ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@given(st.text(alphabet="0123456789", min_size=11, max_size=12))
def test_mask_phone_hides_the_middle(phone):
    masked = mask_phone(phone)
    assert masked.startswith(phone[:3]) and masked.endswith(phone[-4:])
    assert phone not in masked
    assert MASK in masked


@pytest.mark.parametrize("name, masked", [("张三", "张*"), ("欧阳娜娜", "欧***"), ("王", "*"), ("", "")])
def test_mask_name(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "text, masked",
    [
        ("请回电13812345678，谢谢", "请回电138****5678，谢谢"),
        ("电话 138-1234-5678", "电话 138****5678"),
        ("座机010-65123456", "座机010****3456"),
        ("联系 65123456 或 13900001111", "联系 65****56 或 139****1111"),
        ("全角号码１３８１２３４５６７８", "全角号码138****5678"),
        ("没有号码", "没有号码"),
        ("工单2408031234567890已办结", "工单2408031234567890已办结"),
        ("", ""),
        # However the groups are written: the IME's dashes, dots, underscores, slashes.
        ("138 1234 5678", "138****5678"),
        ("138-12345678", "138****5678"),
        ("１３８ １２３４ ５６７８", "138****5678"),
        ("138—1234—5678", "138****5678"),
        ("138——1234——5678", "138****5678"),
        ("138–1234–5678", "138****5678"),
        ("138－1234－5678", "138****5678"),
        ("138.1234.5678", "138****5678"),
        ("138_1234_5678", "138****5678"),
        ("138/1234/5678", "138****5678"),
        ("138\u30001234\u30005678", "138****5678"),
        ("138 - 1234 - 5678", "138****5678"),
        ("1381 234 5678", "138****5678"),
        ("0086-139-1234-0001", "008****0001"),
        # Landlines: the area code in brackets, the local number in two halves.
        ("010-8765-4321", "010****4321"),
        ("(010) 8765 4321", "010****4321"),
        ("（010）87654321", "010****4321"),
        ("（０１０）８７６５－４３２１", "010****4321"),
        ("010—87654321", "010****4321"),
        ("座机8765-4321。", "座机87****21。"),
        ("电话 6512 3456", "电话 65****56"),
        ("请回电13812345678 1234", "请回电138****5678 1234"),
        # A second number after a slash; a middle dot, a tab or a narrow space between groups.
        ("电话13812345678/6512-3457", "电话138****5678/65****57"),
        ("6512-3456/6512-3458", "65****56/65****58"),
        ("301/6512-3459", "301/65****59"),
        ("138·1234·5678", "138****5678"),
        ("138\t1234\t5678", "138****5678"),
        ("138\u20091234\u20095678", "138****5678"),
        # Pasted from the web or typed loosely: zero-width and narrow no-break spaces, several
        # spaces, commas between the groups.
        ("139\u200b1111\u200b0011", "139****0011"),
        ("139\u202f1111\u202f0012", "139****0012"),
        ("139   1111   0013", "139****0013"),
        ("139，1111，0014", "139****0014"),
        ("139,1111,0015", "139****0015"),
        ("13812345678，13900001111", "138****5678，139****1111"),
        ("2024/08/31 房号301/302", "2024/08/31 房号301/302"),
    ],
)
def test_mask_phones_in_text(text, masked):
    assert mask_phones_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2024-08-31",
        "2024.08.31",
        "2024/8/31",
        "2024/08/31-2024/09/30",
        "2024-08-01至2024-08-31 09:30",
        "09:30-11:30",
        "0930-1130",
        "GD2024010100102",
        "GD-2024-0801-0012",
        "2024-0801",
        "2023-2024学年",
        "11号楼2单元301",
        "3-2-301室",
        "1301-1302室",
        "2301-2302室",
        "押金3000-5000",
        "2980-3980元",
        "5600 平米",
        "金额1234.56元",
        "1.5-2.5万",
        "138一1234一5678",  # 一 is a word, not a dash
        "110101199003077777",
        "11010119900307777X",
        "100 200 300 400",
        "138****5678 1234",  # the end of a masked number, not masked again
    ],
)
def test_what_is_not_a_phone_is_left_alone(text):
    assert mask_phones_in_text(text) == text


_mobile = st.builds(lambda a, b: f"1{a}{b}", st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
_words = st.text(alphabet=st.characters(whitelist_categories=("Lo", "Po", "Zs")), max_size=10)


_separator = st.sampled_from(["", " ", "-", "—", "——", "–", "－", ".", "_", "/", "\u3000", " - ", "\u200b", "\u202f", "   ", "，", ","])


@given(_words, _mobile, _separator, _separator, _words)
def test_no_mobile_number_survives_in_free_text(before, phone, sep1, sep2, after):
    written = f"{phone[:3]}{sep1}{phone[3:7]}{sep2}{phone[7:]}"
    masked = mask_phones_in_text(before + written + after)
    assert masked == before + mask_phone(phone) + after


# Numbers and pieces of numbers, and what is written between them.
_phone_like = st.lists(
    st.tuples(
        st.sampled_from(["13812345678", "8765", "4321", "010", "(010)", "86", "2024", "3000", "１２３４"]),
        st.sampled_from(["", " ", "-", "—", ".", "/", "）", "号", "元", "*", "一"]),
    ),
    max_size=6,
).map(lambda parts: "".join(a + b for a, b in parts))


@given(_phone_like)
def test_masking_twice_is_masking_once(text):
    once = mask_phones_in_text(text)
    assert mask_phones_in_text(once) == once


_digits_and_words = st.text(alphabet=st.sampled_from(list("0123456789０１２３４５６７８９- +号楼电话①") + ["\u0663"]), max_size=20)


def _searched(text: str) -> str:
    """mask_phones_in_text without its shortcut: the search on every text with a digit."""
    import re

    from gaopin.privacy import _FULL_WIDTH_DIGITS, _PHONE_IN_TEXT

    if not text or not any(ch.isdigit() for ch in text):
        return text
    return _PHONE_IN_TEXT.sub(lambda m: mask_phone(re.sub(r"[^0-9]", "", m.group(0))), text.translate(_FULL_WIDTH_DIGITS))


@given(_digits_and_words)
def test_the_shortcut_for_texts_with_few_digits_changes_nothing(text):
    assert mask_phones_in_text(text) == _searched(text)
