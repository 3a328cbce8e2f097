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
    ],
)
def test_mask_phones_in_text(text, masked):
    assert mask_phones_in_text(text) == masked


_mobile = st.builds(lambda a, b: f"1{a}{b}", st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
_words = st.text(alphabet=st.characters(whitelist_categories=("Lo", "Po", "Zs")), max_size=10)


@given(_words, _mobile, _words)
def test_no_mobile_number_survives_in_free_text(before, phone, after):
    masked = mask_phones_in_text(before + phone + after)
    assert phone not in masked
    assert masked.startswith(before) and masked.endswith(after)


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
