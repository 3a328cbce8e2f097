"""The canonical ticket table: field names, Chinese labels, header aliases, value rules.

This module is the one place that knows how a 12345 export names its columns and
writes its values. Aliases are in priority order: when two columns of an export match
one field, the earlier alias wins and the other column is reported as unused.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

# --- fields ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    aliases: tuple[str, ...]
    kind: str = "text"  # text | datetime | yesno | resolved | satisfied | phone | category
    doc: str = ""


FIELDS: tuple[Field, ...] = (
    Field("ticket_id", "工单编号", ("工单编号", "工单号", "案卷编号", "受理编号"), doc="工单的唯一编号（必需）"),
    Field(
        "received_at",
        "受理时间",
        ("受理时间", "来电时间", "创建时间", "登记时间", "派单时间"),
        kind="datetime",
        doc="受理（来电）时间（必需）",
    ),
    Field("ticket_type", "工单类型", ("工单类型",), doc="诉求/投诉/咨询/求助/建议"),
    Field("caller_name", "诉求人", ("诉求人", "来电人", "联系人"), doc="诉求人姓名"),
    Field(
        "caller_phone",
        "来电号码",
        ("来电号码", "来电人电话/账号", "来电人电话", "联系电话", "诉求人电话"),
        kind="phone",
        doc="电话号码归一为数字；不是电话的账号原样保留",
    ),
    Field("street", "街乡镇", ("被反映街乡镇", "所属街道", "街乡镇"), doc="被反映的街道、乡镇"),
    Field("community", "社区", ("所属社区", "村/社区", "社区", "所在村社区"), doc="村/社区"),
    Field("address", "诉求地址", ("诉求地址", "小区点位", "问题点位", "事发地址", "地址"), doc="问题地址，归一到楼栋即为点位"),
    Field(
        "category",
        "问题分类",
        ("问题分类",),
        kind="category",
        doc="分类路径 一级->二级->三级；也可由 一级分类/二级分类/三级分类 三列拼成",
    ),
    Field("title", "标题", ("标题",)),
    Field("content", "诉求内容", ("诉求内容", "主要内容", "来电内容")),
    Field("unit", "承办单位", ("承办单位", "主办单位", "二级承办单位简称")),
    Field("dispatch", "派单方式", ("派单方式", "派单类型", "工单来源"), doc="原样保留，另派生 dispatch_class"),
    Field("valid_callback", "是否有效回访", ("是否有效回访",), kind="yesno"),
    Field("contacted", "是否联系", ("是否联系", "是否响应"), kind="yesno"),
    Field("resolved", "是否解决", ("是否解决",), kind="resolved", doc="是/否/部分解决"),
    Field("satisfied", "是否满意", ("是否满意",), kind="satisfied", doc="满意/基本满意/不满意/未评价"),
    Field("closed_at", "办结时间", ("办结时间",), kind="datetime"),
)

FIELD_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
REQUIRED_FIELDS: tuple[str, ...] = ("ticket_id", "received_at")
CATEGORY_LEVEL_ALIASES: tuple[tuple[str, ...], ...] = (("一级分类",), ("二级分类",), ("三级分类",))
# Derived columns the loader adds after the source fields.
DISPATCH_CLASS = "dispatch_class"
DERIVED_LABELS = {DISPATCH_CLASS: "派单类别"}
# Every column of the canonical table, in output order.
CANONICAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS) + (DISPATCH_CLASS,)
DATETIME_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.kind == "datetime")
# The category level columns (一级/二级/三级分类) that the loader joins into `category`.
LEVEL_LABELS = {"category_l1": "问题分类第一级", "category_l2": "问题分类第二级", "category_l3": "问题分类第三级"}
LABELS: dict[str, str] = {f.name: f.label for f in FIELDS} | DERIVED_LABELS | LEVEL_LABELS


def label(name: str) -> str:
    return LABELS.get(name, name)


def field_named(key: str) -> str | None:
    """The canonical column a key written by staff means (in [filters]): its name, its Chinese
    label or an alias (工单类型, 派单类别); None for any other header."""
    if key in CANONICAL_COLUMNS:
        return key
    k = compact(key)
    for name, text in LABELS.items():
        if name in CANONICAL_COLUMNS and k == compact(text):
            return name
    for f in FIELDS:
        if k in {compact(a) for a in f.aliases}:
            return f.name
    return None


def fields_named(keys: Iterable[str]) -> set[str]:
    """The source fields a command must read for these keys to mean something: a command that
    reads only some fields reads these too (the 派单类别 is derived from the 派单方式)."""
    names = {n for n in map(field_named, keys) if n is not None}
    return names | ({"dispatch"} if DISPATCH_CLASS in names else set())


# --- text keys ---------------------------------------------------------------------------

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_WHITESPACE = re.compile(r"\s+")
# Blanks and zero-width characters, removed in one pass (twice as fast as translate, then sub).
_BLANK_OR_ZERO_WIDTH = re.compile("[\\s" + "".join(chr(c) for c in ZERO_WIDTH) + "]+")


def _compact_once(text: str) -> str:
    return _BLANK_OR_ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text)).upper()


def compact(text: str) -> str:
    """NFKC, zero-width characters and all whitespace removed, Latin letters upper-cased.

    The key form used to compare headers, addresses and names. It is a fixed point
    (compact(compact(x)) == compact(x)): removing a blank can put a combining mark next to
    a letter and upper-casing can undo NFKC ("K¸" → "K\u0327" → "Ķ"), so repeat until stable.
    """
    key = _compact_once(text)
    for _ in range(4):
        if key.isascii():
            return key
        # key holds no blank or zero-width character (removed, and no upper-case mapping makes
        # one): if it is NFKC and upper case already, another pass would give it back unchanged.
        if unicodedata.is_normalized("NFKC", key) and key.upper() == key:
            return key
        again = _compact_once(key)
        if again == key:
            return key
        key = again
    return key


def tidy(text: str) -> str:
    """Display form of a cell: zero-width characters gone, padding and runs of blanks trimmed."""
    text = text.translate(ZERO_WIDTH).replace("\u3000", " ")
    return _WHITESPACE.sub(" ", text).strip()


def header_key(text: str) -> str:
    return compact(text).lstrip("*")


# --- phones ---------------------------------------------------------------------------

_PHONE_SPLIT = re.compile(r"[,，;；、/|]+|\s{2,}")
_PHONE_JUNK = re.compile(r"[\s\-－—()（）.]")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$", re.IGNORECASE)
_NUMBER_CELL = re.compile(r"\d+\.0+")
# A number masked for people (gaopin's 138****5678, 13****78, ****; ＊ after NFKC): it names no
# one, and must never be taken for a caller's number or written over the real one in the store.
_MASKED_PHONE = re.compile(r"\d{0,4}\*{3,}\d{0,4}")
MASKED_PHONE_PROBLEM = "号码是隐藏过的（如 138****5678），不能用来识别诉求人，当作空白；请用没有隐藏号码的导出（gaopin clean 加 --show-phones）"
# A number with a word of Chinese before or after it (手机：13812345678, 13812345678（本人）):
# the number is the caller's. Only Chinese words: A000102948 (an app account) is kept whole.
_LABELLED_PHONE = re.compile(r"(?:[\u4e00-\u9fff]{1,6}[:：]?\s*)?([+\d][\d\s\-()]{5,18}\d)\s*(?:[(（][\u4e00-\u9fff]{1,8}[)）]|[\u4e00-\u9fff]{1,8})?")
_COUNTRY_PREFIX = re.compile(r"^(?:\+?0086|\+86|\+)*")
# After the country code: a mobile, a landline that kept its trunk 0, or a 400/800 service number.
_AFTER_COUNTRY_CODE = re.compile(r"1[3-9]\d{9}|0\d*|[48]00\d{7}")
_BARE_86_MOBILE = re.compile(r"86(1[3-9]\d{9})")
# Area codes without their trunk 0: 10 (Beijing), 2x, 3xx–9xx; none starts 11–19, so a
# 10-digit 138… after +86 is a mobile missing a digit (flagged), not a landline.
_AREA_CODE_START = re.compile(r"10|[2-9]")
MIN_PHONE_DIGITS = 7


def _phone_text(value: str) -> str:
    """A phone cell as its number is looked for in it: NFKC, zero-width characters out, trimmed."""
    return unicodedata.normalize("NFKC", value).translate(ZERO_WIDTH).strip()


def is_masked_phone(value: str) -> bool:
    return bool(_MASKED_PHONE.fullmatch(_phone_text(value)))


def normalize_phone(value: str) -> str:
    """A phone number as digits; a value that is not a phone number is kept as it is.

    `13812345678.0` (a number cell) → `13812345678`; `+86 138-1234-5678` → `13812345678`;
    `86-13812345678` → `13812345678`; `+86-10-63251982` → `01063251982` (the trunk 0 back);
    `'13812345678` (Excel's text mark) → `13812345678`; `13812345678, 13900001111` → the
    first; `手机：13812345678` and `13812345678（本人）` → `13812345678`; `A000102948` (an app
    account) is kept; a masked number (`138****5678`) is blank.
    """
    text = _phone_text(value)
    if not text or _MASKED_PHONE.fullmatch(text):
        return ""
    if _NUMBER_CELL.fullmatch(text):  # a phone stored as a number cell: 13812345678.0
        text = text.split(".")[0]
    first = _PHONE_SPLIT.split(text)[0].strip() or text
    tokens = first.split()
    if len(tokens) > 1 and len(_PHONE_JUNK.sub("", tokens[0])) >= 11:
        first = tokens[0]  # "13812345678 13900001111": two numbers, one space apart
    labelled = _LABELLED_PHONE.fullmatch(first)
    if labelled and labelled.group(1) != first:
        first = labelled.group(1)
    candidate = _PHONE_JUNK.sub("", first).removeprefix("'")
    # Every country prefix goes ("+0086", "+86 0086 …"), so that a result never starts with one.
    prefix = _COUNTRY_PREFIX.match(candidate).group()
    stripped = candidate[len(prefix):]
    if not stripped.isdigit():
        return text
    if bare := _BARE_86_MOBILE.fullmatch(stripped):
        return bare.group(1)  # 86 13812345678: the same caller as 13812345678
    if "86" in prefix and 9 <= len(stripped) <= 11 and _AREA_CODE_START.match(stripped) and not _AFTER_COUNTRY_CODE.fullmatch(stripped):
        # +86 10 6325 1982: dialled from abroad, a landline drops its trunk 0; at home it has it.
        return "0" + stripped
    return stripped


def is_usable_phone(phone: str) -> bool:
    """A number that can identify a person: ASCII digits only, ≥7 of them, not all one digit.

    The one definition of a usable number (full-width digits are ASCII after `normalize_phone`'s
    NFKC; other scripts' digits are not). `rules.persons.phone_codes` applies it to a whole column,
    "not all one digit" by arithmetic there (`io.canonical.one_digit_repeated`)."""
    return phone.isascii() and phone.isdigit() and len(phone) >= MIN_PHONE_DIGITS and len(set(phone)) > 1


def phone_problem(raw: str, normalized: str) -> str | None:
    """Why a phone value looks wrong, or None."""
    if not normalized:
        return MASKED_PHONE_PROBLEM if is_masked_phone(raw) else None
    if _SCIENTIFIC.match(raw.strip()):
        return "号码被 Excel 存成了科学计数法，位数已丢失"
    if not normalized.isdigit():
        return None  # an account name or 保密: kept as is, not an error
    if not normalized.isascii():
        return "号码含有其他文字的数字，不能用来识别诉求人"
    if not is_usable_phone(normalized):
        return "号码位数过少或全是同一数字"
    if len(normalized) > 12:
        return "号码位数过多"
    if len(normalized) == 10 and normalized.startswith("1"):
        # Mobiles have 11 digits, landlines start with their area code's 0 or have 7–8.
        return "号码只有 10 位，像是少了一位的手机号"
    return None


# --- yes/no values ----------------------------------------------------------------------

YES, NO, PARTIAL = "是", "否", "部分解决"
_YESNO = {
    "是": YES, "Y": YES, "YES": YES, "1": YES, "1.0": YES, "TRUE": YES, "T": YES, "√": YES,
    "有效": YES, "有效回访": YES, "已联系": YES, "已响应": YES, "联系": YES, "响应": YES,
    "否": NO, "N": NO, "NO": NO, "0": NO, "0.0": NO, "FALSE": NO, "F": NO, "×": NO,
    "无效": NO, "无效回访": NO, "未联系": NO, "未响应": NO,
}  # fmt: skip
_RESOLVED = _YESNO | {"解决": YES, "已解决": YES, "未解决": NO, "部分解决": PARTIAL}
SATISFIED_VALUES = ("满意", "基本满意", "不满意", "未评价")
_SATISFIED = {v: v for v in SATISFIED_VALUES} | {
    "非常满意": "满意", "很满意": "满意", "一般": "基本满意", "未回访": "未评价",
    # An unhappy caller written more strongly is still 不满意: left unread, no 单否/双否 was raised.
    "非常不满意": "不满意", "很不满意": "不满意", "特别不满意": "不满意",
}  # fmt: skip


_CHOICES = {"yesno": _YESNO, "resolved": _RESOLVED, "satisfied": _SATISFIED}


def normalize_choice(kind: str, value: str) -> tuple[str, bool]:
    """(normalised value, recognised?) for a yes/no, resolved or satisfied cell."""
    key = compact(value).rstrip("。.！!；;，,")  # 不满意。 as typed into a form
    if not key:
        return "", True
    table = _CHOICES[kind]
    if key in table:
        return table[key], True
    return tidy(value), False


# The values a recognised answer is stored as, per kind.
CHOICE_VALUES = {kind: sorted(set(table.values())) for kind, table in _CHOICES.items()}


# --- categories -----------------------------------------------------------------------

CATEGORY_SEPARATOR = "->"
# Longest first, so that "-->" is not read as "-" + "->"; "/" is never a separator (水/电/气).
_CATEGORY_SPLIT = re.compile(r"\s*(?:-{1,2}>|＞|>|→|－>)\s*")


def normalize_category(value: str) -> str:
    parts = [tidy(p) for p in _CATEGORY_SPLIT.split(unicodedata.normalize("NFKC", value))]
    return CATEGORY_SEPARATOR.join(p for p in parts if p)


def join_category_levels(levels: list[str]) -> str:
    return CATEGORY_SEPARATOR.join(tidy(v) for v in levels if v and tidy(v))


def category_key(path: str, level: int) -> str:
    """The category at `level` (1–3), or the full path for level 0: the "same problem" key."""
    if level <= 0 or not path:
        return path
    return CATEGORY_SEPARATOR.join(path.split(CATEGORY_SEPARATOR)[:level])


# --- dispatch -------------------------------------------------------------------------

CITY, DISTRICT = "市派", "区派"


def dispatch_class(value: str) -> str:
    if any(word in value for word in ("市派", "市级", "市直")):
        return CITY
    if any(word in value for word in ("区派", "区级")):
        return DISTRICT
    return ""


# The canonical fields `warn` reads (content, dispatch, closing times and the ticket type are not
# needed; the loader adds the fields [filters] name, such as 工单类型).
WARN_FIELDS = (
    "ticket_id", "received_at", "caller_name", "caller_phone", "street", "community",
    "address", "category", "title", "unit", "valid_callback", "contacted", "resolved", "satisfied",
)  # fmt: skip
