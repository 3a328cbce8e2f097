"""The ticket record the generator builds, and how its values are written the way exports do.

A ticket carries both what it *means* (the canonical point, category, person, outcome)
and how the export *writes* it (an address variant, a separator variant, a phone cell
that is a number or text, a time cell that is a datetime or text). The files render the
written form; the ground truth records the meaning.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from gaopin.sample import street_data as sd

EXPORT_HEADERS = (
    "工单编号", "工单类型", "来电时间", "来电人", "来电人电话/账号", "被反映区", "被反映街乡镇", "村/社区", "小区点位",
    "问题分类", "标题", "主要内容", "主办单位", "派单方式", "工单状态", "办结时间", "是否有效回访", "是否联系",
    "是否解决", "是否满意",
)  # fmt: skip

RESOLVED, PARTIAL, UNRESOLVED = "是", "部分解决", "否"
SATISFIED, BASIC, UNSATISFIED, UNRATED = "满意", "基本满意", "不满意", "未评价"

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_CN_DIGITS = "零一二三四五六七八九"


def fullwidth(text: str) -> str:
    return text.translate(_FULLWIDTH)


def chinese_number(n: int) -> str:
    """1–9 only: the point rule must turn these back into digits, and larger numerals
    (十二, 二十一) are read differently by different implementations."""
    assert 1 <= n <= 9
    return _CN_DIGITS[n]


# --- phones --------------------------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    text: str  # as written in the export
    digits: str  # the usable number ("" for 保密, accounts and blanks)
    numeric_cell: bool = False  # written as a number cell in the xlsx

    @property
    def usable(self) -> bool:
        return bool(self.digits)


SECRET = Phone("保密", "")


class PhoneBook:
    """Unique numbers: a number never belongs to two intended persons."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make) -> str:
        while True:
            number = make()
            if number not in self.used:
                self.used.add(number)
                return number

    def mobile(self, numeric_share: float = 0.8) -> Phone:
        rng = self.rng
        number = self._fresh(lambda: rng.choice(sd.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}")
        return Phone(number, number, numeric_cell=rng.random() < numeric_share)

    def landline(self) -> Phone:
        # Fengtai landlines: 010-6xxxxxxx (and 010-8xxxxxxx, not used here).
        local = self._fresh(lambda: "6" + f"{self.rng.randrange(10**7):07d}")
        return Phone(f"010-{local}", f"010{local}")

    def account(self) -> Phone:
        # An app or 12345 web account, not a phone: never links a person.
        text = self._fresh(lambda: "A" + f"{self.rng.randrange(10**9):09d}")
        return Phone(text, "")


# --- names -----------------------------------------------------------------------------


class NameBook:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        n = len(sd.SURNAMES)
        self._surname_weights = [1.0 / (i + 3) for i in range(n)]

    def surname(self) -> str:
        return self.rng.choices(sd.SURNAMES, weights=self._surname_weights)[0]

    def full(self) -> str:
        rng = self.rng
        given = rng.choice(sd.GIVEN_TWO) if rng.random() < 0.7 else rng.choice(sd.GIVEN_ONE)
        return self.surname() + given

    def polite(self) -> str:
        return self.surname() + self.rng.choice(("先生", "女士"))

    def caller(self) -> str:
        """A caller as exports name them: mostly 王女士/李先生, some full names, a few anonymous."""
        r = self.rng.random()
        if r < 0.56:
            return self.polite()
        if r < 0.92:
            return self.full()
        if r < 0.98:
            return self.rng.choice(sd.ANONYMOUS_NAMES)
        return self.rng.choice(("先生", "女士"))


# --- places ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PointSpec:
    """A point (building level) and what is needed to write its address in variant forms."""

    kind: str
    community: str
    base: str  # estate, road, village or place name
    number: int = 0  # building, door or house number
    yard: int = 0  # courtyard number (courtyard kind)

    @property
    def point(self) -> str:
        if self.kind == sd.BUILDING:
            return f"{self.base}{self.number}号楼"
        if self.kind == sd.COURTYARD:
            return f"{self.base}{self.yard}号院{self.number}号楼"
        if self.kind in (sd.ROAD, sd.HOUSE):
            return f"{self.base}{self.number}号"
        if self.kind == sd.YARD:
            return f"{self.base}{self.number}号院"
        return self.base


def building(community: str, estate: str, number: int) -> PointSpec:
    return PointSpec(sd.BUILDING, community, estate, number)


ROAD_SUFFIXES = ("门前", "附近", "东侧", "西侧", "路段", "对面")


def render_address(spec: PointSpec, rng: random.Random, variant_share: float = 0.3) -> str:
    """The address as a caller or operator wrote it: variants all normalise to `spec.point`."""
    digits = str(spec.number)
    text: str
    if spec.kind in (sd.BUILDING, sd.COURTYARD):
        head = spec.base if spec.kind == sd.BUILDING else f"{spec.base}{spec.yard}号院"
        unit = rng.randint(1, 6)
        room = f"{rng.randint(1, 6)}0{rng.randint(1, 4)}"
        styles = ["plain", "unit", "room"]
        if rng.random() < variant_share:
            styles = ["fullwidth", "dong", "dong_room", "chinese", "spaced", "unit_cn"]
        style = rng.choice(styles)
        if style == "chinese" and spec.number > 9:
            style = "dong"
        if style == "plain":
            text = f"{head}{digits}号楼"
        elif style == "unit":
            text = f"{head}{digits}号楼{unit}单元{room}"
        elif style == "room":
            text = f"{head}{digits}号楼{room}室"
        elif style == "fullwidth":
            text = fullwidth(f"{head}{digits}号楼") + (fullwidth(f"{unit}单元") if rng.random() < 0.5 else "")
        elif style == "dong":
            text = f"{head}{digits}{rng.choice('栋栋栋幢')}"
        elif style == "dong_room":
            text = f"{head}{digits}栋{room}室"
        elif style == "chinese":
            text = f"{head}{chinese_number(spec.number)}号楼"
        elif style == "spaced":
            text = f"{head} {digits}号楼 {unit}单元"
        else:  # unit_cn: Chinese numerals in the unit part only
            text = f"{head}{digits}号楼{chinese_number(unit)}单元"
    elif spec.kind in (sd.ROAD, sd.HOUSE, sd.YARD):
        mark = "号院" if spec.kind == sd.YARD else "号"
        style = rng.choice(["plain", "suffix"]) if rng.random() >= variant_share else rng.choice(["fullwidth", "spaced"])
        if style == "suffix" and spec.kind == sd.ROAD:
            # 樊羊路12号门前: the point still ends after 12号.
            text = f"{spec.base}{digits}{mark}{rng.choice(ROAD_SUFFIXES)}"
        elif style in ("plain", "suffix"):
            text = f"{spec.base}{digits}{mark}"
        elif style == "fullwidth":
            text = f"{spec.base}{fullwidth(digits)}{mark}"
        else:
            text = f"{spec.base} {digits}{mark}"
    else:
        text = spec.base
        if rng.random() < variant_share * 0.5 and len(text) > 3:
            cut = rng.randint(2, len(text) - 1)
            text = text[:cut] + " " + text[cut:]
    if rng.random() < 0.22:
        text = rng.choice(sd.ADDRESS_PREFIXES) + text
    if rng.random() < 0.03:
        text = " " + text if rng.random() < 0.5 else text + " "
    return text


# --- times -----------------------------------------------------------------------------


def time_text(when: datetime, rng: random.Random) -> str:
    """One of the text forms operators type instead of a datetime cell (minutes only)."""
    style = rng.randrange(5)
    y, m, d, hh, mm = when.year, when.month, when.day, when.hour, when.minute
    if style == 0:
        return f"{y}/{m}/{d} {hh}:{mm:02d}"
    if style == 1:
        return f"{y}年{m}月{d}日 {hh}:{mm:02d}"
    if style == 2:
        return f"{y}年{m}月{d}日{hh}时{mm:02d}分"
    if style == 3:
        return fullwidth(f"{y}年{m}月{d}日 {hh}:{mm:02d}")
    return fullwidth(f"{y}/{m}/{d} {hh}:{mm:02d}")


# --- the ticket ------------------------------------------------------------------------


@dataclass
class Ticket:
    case: str  # planted case name, "" for background
    received: datetime
    ticket_type: str
    caller: str
    phone: Phone
    spec: PointSpec
    address: str
    category: str  # canonical path "a->b->c"
    title: str
    content: str
    unit: str
    dispatch: str = sd.CITY_DISPATCH
    street_text: str = sd.STREET
    category_text: str = ""  # as written; "" means the canonical path
    received_text: str | None = None  # a text cell instead of a datetime cell
    closed: datetime | None = None
    valid: bool | None = None  # None until outcomes are assigned
    contacted: bool | None = None
    resolved: str | None = None  # RESOLVED / PARTIAL / UNRESOLVED
    satisfied: str | None = None
    ticket_id: str = ""

    @property
    def point(self) -> str:
        return self.spec.point

    @property
    def community(self) -> str:
        return self.spec.community

    @property
    def day(self):
        return self.received.date()

    @property
    def month(self) -> int:
        return self.received.month
