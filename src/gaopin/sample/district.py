"""District mode: a large, realistic export for benchmarks (no planted cases, no ground truth).

About 20 streets × 20 communities, a Zipf-like spread of points and of repeat callers,
bursts of several callers about one point on one day, and the value styles of the street
sample. Rows are made column by column with numpy, a chunk of whole days at a time, and
streamed to the file, so memory stays flat whatever the row count.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from gaopin.errors import UsageError
from gaopin.io.write import atomic_path
from gaopin.sample import street_data as sd
from gaopin.sample.model import EXPORT_HEADERS, fullwidth
from gaopin.sample.outcomes import WORDED_MONTHS
from gaopin.sample.street import DEFAULT_SEED

FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit less the header row
CHUNK_ROWS = 20_000  # at least this many rows (whole days) per chunk: tens of MB of Python strings
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2024, 10, 31)
N_DAYS = (LAST_DAY - FIRST_DAY).days + 1
CLOSE_DAYS = 10
EXCEL_EPOCH = datetime(1899, 12, 30)

STREETS = (
    "新村街道", "丰益街道", "南苑东街道", "和义北街道", "青塔西街道", "花乡北街道", "五里店街道", "长辛路街道",
    "云岗南街道", "宛平东街道", "卢沟西街道", "马家堡南街道", "大红门西街道", "方庄北街道", "东高地南街道",
    "看丹东街道", "玉泉营街道", "成寿寺街道", "王佐南镇", "北宫东镇",
)  # fmt: skip
COMMUNITIES_PER_STREET = 20
# Syllables for invented names: 东园、嘉和、康泰… (380 pairs per suffix).
FIRST_CHARS = "东西南北新华嘉和康泰富丰安永春明光兴益盛"
SECOND_CHARS = "园苑里庄坊府城景馨林华和安康泰乐宁源晖锦"
ESTATE_SUFFIXES = ("小区", "家园", "花园", "里", "苑", "宿舍")
ROAD_SUFFIXES = ("路", "街", "南路", "北街")
PLACE_SUFFIXES = ("菜市场", "公园", "南门", "地下车库", "公交站", "商业街")
KINDS = (sd.BUILDING, sd.ROAD, sd.PLACE)
PLAIN_SHARE = 0.62  # addresses written in the plain form; the rest use one of the variants
VARIANTS = 4
REPEAT_SHARE = 0.35  # rows from a repeat caller (a pool of one caller per 40 rows, Zipf-like)
REPEAT_POOL_RATIO = 40
HOME_SHARE = 0.75  # a repeat caller's rows about their own building
BURST_SHARE = 0.015  # rows in bursts: 3–9 callers, one point+category, one day, within 3 hours

HOUR_WEIGHTS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.5, 3.5, 6, 8, 8.5, 8, 6.5, 6, 7.5, 7.5, 7, 6.5, 6, 6, 5.5, 4.5, 3, 2])
MONTH_VOLUME = {1: 0.85, 2: 0.75, 3: 0.9, 4: 0.95, 5: 1.0, 6: 1.05, 7: 1.15, 8: 1.12, 9: 1.08, 10: 1.05}


def _objects(values) -> np.ndarray:
    """An object array: numpy adds Python strings element by element with `+`."""
    values = list(values)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


# --- the fixed world --------------------------------------------------------------------------


@dataclass
class World:
    point_text: np.ndarray  # canonical point
    point_kind: np.ndarray  # index into KINDS
    addresses: np.ndarray  # (n_points, VARIANTS): written forms, column 0 plain
    street: np.ndarray
    street_short: np.ndarray  # 丰益 for 丰益街道: unit names like 市场监管局丰益所
    community: np.ndarray
    point_cdf: np.ndarray  # cumulative Zipf-like popularity


def _names(rng: np.random.Generator, suffixes: tuple[str, ...], n: int) -> list[str]:
    combos = [a + b for a in FIRST_CHARS for b in SECOND_CHARS if a != b]
    picks = rng.choice(len(combos), size=n, replace=False)
    return [combos[i] + suffixes[k % len(suffixes)] for k, i in enumerate(picks)]


def build_world(rng: np.random.Generator) -> World:
    rows: list[tuple[str, int, list[str], str, str]] = []
    for street in STREETS:
        communities = _names(rng, ("社区",), COMMUNITIES_PER_STREET)
        estates = _names(rng, ESTATE_SUFFIXES, COMMUNITIES_PER_STREET * 2)
        roads = _names(rng, ROAD_SUFFIXES, COMMUNITIES_PER_STREET)
        places = _names(rng, PLACE_SUFFIXES, COMMUNITIES_PER_STREET * 2)
        prefix = f"{sd.CITY}{sd.DISTRICT}{street}"
        for k, community in enumerate(communities):
            for estate in estates[2 * k : 2 * k + 2]:
                for b in range(1, int(rng.integers(6, 19)) + 1):
                    point = f"{estate}{b}号楼"
                    forms = [point, f"{point}{int(rng.integers(1, 7))}单元{int(rng.integers(1, 7))}0{int(rng.integers(1, 5))}",
                             f"{estate}{fullwidth(str(b))}栋", prefix + point]  # fmt: skip
                    rows.append((point, 0, forms, street, community))
            road = roads[k]
            for n in sorted(rng.choice(np.arange(1, 120), size=8, replace=False)):
                point = f"{road}{int(n)}号"
                rows.append((point, 1, [point, f"{point}门前", f"{road}{fullwidth(str(int(n)))}号", prefix + point], street, community))
            for place in places[2 * k : 2 * k + 2]:
                rows.append((place, 2, [place, place, place[:2] + " " + place[2:], prefix + place], street, community))
    n = len(rows)
    weights = 1.0 / (rng.permutation(n) + 5.0) ** 0.9
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    addresses = np.empty((n, VARIANTS), dtype=object)
    for i, r in enumerate(rows):
        addresses[i, :] = r[2]
    return World(
        point_text=_objects(r[0] for r in rows),
        point_kind=np.array([r[1] for r in rows]),
        addresses=addresses,
        street=_objects(r[3] for r in rows),
        street_short=_objects(r[3].removesuffix("街道").removesuffix("镇") for r in rows),
        community=_objects(r[4] for r in rows),
        point_cdf=cdf,
    )


# --- text pools -------------------------------------------------------------------------------

BODIES = 32  # content bodies per category


@dataclass
class Texts:
    paths: np.ndarray  # (n_cat, 3): the path as written with "->", "-->", "→"
    weights: np.ndarray  # (n_kinds, n_cat, 13): weight by point kind, category and month
    title_pre: np.ndarray  # (n_cat, 2): title = pre + point (if has_where) + post
    title_post: np.ndarray
    title_has_where: np.ndarray
    bodies: np.ndarray  # (n_cat, BODIES)
    unit_pre: np.ndarray  # (n_cat,): unit = pre + (street | street short | community) + post
    unit_post: np.ndarray
    unit_mode: np.ndarray  # 0 fixed, 1 street, 2 street short, 3 community


def build_texts(rng: np.random.Generator) -> Texts:
    cats = sd.CATEGORIES
    weights = np.zeros((len(KINDS), len(cats), 13))
    for j, c in enumerate(cats):
        for month in range(1, 13):
            for k, kind in enumerate(KINDS):
                fits = kind in c.kinds or (kind == sd.BUILDING and (sd.COURTYARD in c.kinds or sd.HOUSE in c.kinds))
                weights[k, j, month] = c.weight_in(month) if fits else 0.0
    pre, post, has = [], [], []
    for c in cats:
        parts = [t.partition("{where}") for t in (list(c.titles) * 2)[:2]]
        pre.append([p[0] for p in parts])
        post.append([p[2] for p in parts])
        has.append([bool(p[1]) for p in parts])
    bodies = []
    for c in cats:
        row = []
        for _ in range(BODIES):
            k = int(rng.choice(3, p=(0.45, 0.4, 0.15)))
            extras = "".join(sd.EXTRAS[i] + "，" for i in rng.choice(len(sd.EXTRAS), size=k, replace=False))
            row.append(
                c.details[int(rng.integers(len(c.details)))] + "，" + extras
                + sd.DURATIONS[int(rng.integers(len(sd.DURATIONS)))] + sd.DEMANDS[int(rng.integers(len(sd.DEMANDS)))]
            )  # fmt: skip
        bodies.append(row)
    unit_pre, unit_post, unit_mode = [], [], []
    for c in cats:
        key = c.units[0]
        unit = sd.UNITS.get(key, "")
        if key == sd.COMMUNITY_UNIT:
            unit_pre.append(""), unit_post.append("居委会"), unit_mode.append(3)
        elif unit.startswith(sd.STREET):
            unit_pre.append(""), unit_post.append(unit[len(sd.STREET) :]), unit_mode.append(1)
        elif sd.STREET_SHORT + "所" in unit:
            before, _, after = unit.partition(sd.STREET_SHORT)
            unit_pre.append(before), unit_post.append(after), unit_mode.append(2)
        else:
            unit_pre.append(unit), unit_post.append(""), unit_mode.append(0)
    return Texts(
        paths=np.array([[c.path, c.path.replace("->", "-->"), c.path.replace("->", "→")] for c in cats], dtype=object),
        weights=weights,
        title_pre=np.array(pre, dtype=object),
        title_post=np.array(post, dtype=object),
        title_has_where=np.array(has, dtype=bool),
        bodies=np.array(bodies, dtype=object),
        unit_pre=np.array(unit_pre, dtype=object),
        unit_post=np.array(unit_post, dtype=object),
        unit_mode=np.array(unit_mode),
    )


# --- calendar ---------------------------------------------------------------------------------


@dataclass
class Calendar:
    """Per-day lookups for days 0 … N_DAYS + CLOSE_DAYS (closing can fall after October)."""

    text: np.ndarray  # "2024-01-01 "
    number: np.ndarray  # 20240101
    month: np.ndarray
    clock: np.ndarray  # second of day → "HH:MM:SS"


def build_calendar() -> Calendar:
    days = [FIRST_DAY + timedelta(days=i) for i in range(N_DAYS + CLOSE_DAYS + 1)]
    return Calendar(
        text=_objects(d.strftime("%Y-%m-%d ") for d in days),
        number=np.array([int(d.strftime("%Y%m%d")) for d in days], dtype=np.int64),
        month=np.array([d.month for d in days]),
        clock=_objects(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)),
    )


def _day_weights() -> np.ndarray:
    days = [FIRST_DAY + timedelta(days=i) for i in range(N_DAYS)]
    w = np.array([MONTH_VOLUME[d.month] * (1.0 if d.weekday() < 5 else 0.8) for d in days])
    return w / w.sum()


# --- rows -------------------------------------------------------------------------------------

SURNAMES = _objects(sd.SURNAMES)
SURNAME_CDF = np.cumsum(1.0 / (np.arange(len(sd.SURNAMES)) + 3.0))
SURNAME_CDF /= SURNAME_CDF[-1]
NAME_TAILS = _objects(["先生", "女士"] * 12 + list(sd.GIVEN_TWO) + list(sd.GIVEN_ONE))
MOBILE_PREFIXES = np.array([int(p) for p in sd.MOBILE_PREFIXES], dtype=np.int64)
TYPES = _objects(t for t, _ in sd.TICKET_TYPES)
TYPE_P = np.array([w for _, w in sd.TICKET_TYPES], dtype=float)
TYPE_P /= TYPE_P.sum()
OPENERS = _objects(sd.OPENERS)
# xlsx-only companions of some columns: numbers for date-time and phone number cells.
RECEIVED_SERIAL, CLOSED_SERIAL, PHONE_NUMBER = "_received_serial", "_closed_serial", "_phone_number"


def generate_rows(rows: int, seed: int = DEFAULT_SEED) -> Iterator[dict[str, np.ndarray]]:
    """The district export chunk by chunk, in time order: header → one value per row."""
    rng = np.random.default_rng(seed)
    world = build_world(rng)
    texts = build_texts(rng)
    cal = build_calendar()
    pool = max(10, rows // REPEAT_POOL_RATIO)
    pool_cdf = np.cumsum(1.0 / (np.arange(pool) + 8.0) ** 1.15)
    pool_cdf /= pool_cdf[-1]
    pool_home = np.searchsorted(world.point_cdf, rng.random(pool))
    next_caller = pool  # one-off callers get fresh ids from here on
    counts = rng.multinomial(rows, _day_weights())
    # A burst can move rows to another day: leave room for that in the per-day sequence.
    seq_width = max(5, len(str(100 + 6 * (2 * int(counts.max()) + 10))))
    start = 0
    while start < N_DAYS:
        end, n = start, 0
        while end < N_DAYS and (n < CHUNK_ROWS or end == start):
            n += int(counts[end])
            end += 1
        day = np.repeat(np.arange(start, end), counts[start:end])
        start = end
        if n == 0:
            continue
        sec = rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum()) * 3600 + rng.integers(0, 3600, size=n)
        repeat = rng.random(n) < REPEAT_SHARE
        caller = np.where(repeat, np.searchsorted(pool_cdf, rng.random(n)), next_caller + np.arange(n))
        next_caller += n
        point = np.searchsorted(world.point_cdf, rng.random(n))
        at_home = repeat & (rng.random(n) < HOME_SHARE)
        point = np.where(at_home, pool_home[np.minimum(caller, pool - 1)], point)
        cat = _categories(rng, texts, world.point_kind[point], cal.month[day])
        _bursts(rng, day, sec, point, cat, caller, next_caller)
        next_caller += n
        order = np.lexsort((sec, day))
        yield _render(rng, day[order], sec[order], point[order], cat[order], caller[order], world, texts, cal, seq_width)


def _categories(rng: np.random.Generator, texts: Texts, kind: np.ndarray, month: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(texts.weights[kind, :, month], axis=1)
    draw = rng.random(len(kind)) * cdf[:, -1]
    return (cdf < draw[:, None]).sum(axis=1)


def _bursts(rng, day, sec, point, cat, caller, fresh_from) -> None:
    """Runs of rows become one point+category on one day within three hours, each a new caller."""
    n = len(day)
    count = int(n * BURST_SHARE / 6)
    if count == 0 or n < 20:
        return
    starts = rng.choice(n - 10, size=count, replace=False)
    sizes = rng.integers(3, 10, size=count)
    for s, size in zip(starts.tolist(), sizes.tolist()):
        idx = np.arange(s, min(n, s + size))
        point[idx], cat[idx], day[idx] = point[s], cat[s], day[s]
        base = min(int(sec[s]), 86400 - 3 * 3600 - 1)
        sec[idx] = base + np.sort(rng.integers(0, 3 * 3600, size=len(idx)))
        caller[idx] = fresh_from + idx


def _render(rng, day, sec, point, cat, caller, world: World, texts: Texts, cal: Calendar, seq_width: int) -> dict[str, np.ndarray]:
    n = len(day)
    month = cal.month[day]
    # GD + date + a rising per-day sequence number.
    rank = np.arange(n) - np.searchsorted(day, day, side="left")
    seq = 100 + rank * 6 + rng.integers(0, 6, size=n)
    ids = "GD" + _objects((cal.number[day] * 10**seq_width + seq).astype(str))
    received = cal.text[day] + cal.clock[sec]
    typed = np.flatnonzero(rng.random(n) < 0.03)
    received[typed] = [_typed_time(int(d), int(s), k) for k, (d, s) in enumerate(zip(day[typed], sec[typed]))]
    sec = sec.copy()
    sec[typed] -= sec[typed] % 60  # typed times carry minutes only
    close_day = day + rng.integers(1, CLOSE_DAYS + 1, size=n)
    close_sec = rng.integers(8 * 3600, 21 * 3600, size=n)
    name, phone, phone_number = _callers(caller)
    variant = np.where(rng.random(n) < PLAIN_SHARE, 0, rng.integers(1, VARIANTS, size=n))
    where = world.point_text[point]
    t = rng.integers(0, 2, size=n)
    title = texts.title_pre[cat, t] + np.where(texts.title_has_where[cat, t], where, "") + texts.title_post[cat, t]
    content = _fit(OPENERS[rng.integers(0, len(OPENERS), size=n)] + where + texts.bodies[cat, rng.integers(0, BODIES, size=n)])
    street = world.street[point]
    mode = texts.unit_mode[cat]
    middle = np.where(mode == 1, street, np.where(mode == 2, world.street_short[point], np.where(mode == 3, world.community[point], "")))
    unit = texts.unit_pre[cat] + middle + texts.unit_post[cat]
    valid, contacted, resolved, satisfied = _outcomes(rng, month)
    separator = np.where(rng.random(n) < 0.015, rng.integers(1, 3, size=n), 0)
    return {
        "工单编号": ids,
        "工单类型": TYPES[rng.choice(len(TYPES), size=n, p=TYPE_P)],
        "来电时间": received,
        "来电人": name,
        "来电人电话/账号": phone,
        "被反映区": np.full(n, sd.DISTRICT, dtype=object),
        "被反映街乡镇": np.where(rng.random(n) < 0.05, sd.DISTRICT + street, street),
        "村/社区": world.community[point],
        "小区点位": world.addresses[point, variant],
        "问题分类": texts.paths[cat, separator],
        "标题": title,
        "主要内容": content,
        "主办单位": unit,
        "派单方式": np.where(rng.random(n) < 0.7, sd.CITY_DISPATCH, sd.DISTRICT_DISPATCH),
        "工单状态": np.full(n, sd.STATUS_DONE, dtype=object),
        "办结时间": cal.text[close_day] + cal.clock[close_sec],
        "是否有效回访": np.where(valid, "是", "否"),
        "是否联系": contacted,
        "是否解决": resolved,
        "是否满意": satisfied,
        RECEIVED_SERIAL: np.where(np.isin(np.arange(n), typed), np.nan, _serial(day, sec)),
        CLOSED_SERIAL: _serial(close_day, close_sec),
        PHONE_NUMBER: phone_number,
    }


def _typed_time(day: int, sec: int, k: int) -> str:
    d = FIRST_DAY + timedelta(days=day)
    hh, mm = sec // 3600, sec // 60 % 60
    style = k % 4
    if style == 0:
        return f"{d.year}/{d.month}/{d.day} {hh}:{mm:02d}"
    if style == 1:
        return f"{d.year}年{d.month}月{d.day}日 {hh}:{mm:02d}"
    if style == 2:
        return f"{d.year}年{d.month}月{d.day}日{hh}时{mm:02d}分"
    return fullwidth(f"{d.year}年{d.month}月{d.day}日 {hh}:{mm:02d}")


def _serial(day: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """Excel date serials (days since 1899-12-30 plus the fraction of the day)."""
    return (FIRST_DAY - EXCEL_EPOCH.date()).days + day.astype(float) + sec / 86400.0


def _callers(caller: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Name and phone as functions of the caller id, so a repeat caller is always the same."""
    h1 = (caller * 2654435761) % 2**31
    h2 = (caller * 40503 + 12345) % 2**31
    name = SURNAMES[np.searchsorted(SURNAME_CDF, (h1 % 10007) / 10007.0)] + NAME_TAILS[h2 % len(NAME_TAILS)]
    anonymous = h2 % 97 < 3
    name[anonymous] = "匿名"
    # Mobile numbers: the last 8 digits are a bijection of the id (48271 is prime to 10^8), so unique.
    number = MOBILE_PREFIXES[h1 % len(MOBILE_PREFIXES)] * 10**8 + (caller * 48271 + 1) % 10**8
    phone = _objects(number.astype(str))
    kind = h2 % 100
    phone[kind < 3] = "保密"
    landline = np.flatnonzero((kind >= 3) & (kind < 5))
    phone[landline] = "010-" + _objects((6 * 10**7 + (caller[landline] * 7919) % 10**7).astype(str))
    account = np.flatnonzero(kind == 5)
    phone[account] = [f"A{c % 10**9:09d}" for c in caller[account].tolist()]
    numeric = (kind >= 6) & (kind < 86)  # most mobiles are number cells in the xlsx
    return name, phone, np.where(numeric, number, 0)


def _fit(content: np.ndarray) -> np.ndarray:
    lengths = np.fromiter(map(len, content), dtype=np.int64, count=len(content))
    short = np.flatnonzero(lengths < sd.MIN_CONTENT)
    content[short] = content[short] + sd.PADDING
    long = np.flatnonzero(lengths > sd.MAX_CONTENT)
    content[long] = [c[: sd.MAX_CONTENT - 1] + "。" for c in content[long]]
    return content


def _outcomes(rng: np.random.Generator, month: np.ndarray):
    """Callback results improving over the year, in the wording of each month's export."""
    n = len(month)
    progress = (month - 1) / 9.0
    valid = rng.random(n) < 0.85
    contacted = np.where(valid, np.where(rng.random(n) < 0.97 + 0.025 * progress, "是", "否"), "")
    worded = np.isin(month, sorted(WORDED_MONTHS))
    r = rng.random(n)
    yes = 0.92 + 0.05 * progress
    resolved = np.where(
        r < yes, np.where(worded, "解决", "是"), np.where(r < yes + 0.01, "部分解决", np.where(worded, "未解决", "否"))
    )
    s = rng.random(n)
    sat = 0.86 + 0.08 * progress
    satisfied = np.where(s < sat, "满意", np.where(s < sat + 0.05, "基本满意", np.where(s < sat + 0.09, "不满意", "未评价")))
    return valid, contacted, np.where(valid, resolved, ""), np.where(valid, satisfied, "")


# --- writing ----------------------------------------------------------------------------------


def write_district_sample(
    out_dir: str | os.PathLike[str],
    rows: int = 100_000,
    fmt: str = "csv",
    seed: int = DEFAULT_SEED,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """tickets.csv (UTF-8 with BOM) or tickets.xlsx with `rows` district-wide tickets in out_dir."""
    if fmt not in FORMATS:
        raise UsageError(f"不支持的格式“{fmt}”", "请用 csv 或 xlsx")
    if rows < 1:
        raise UsageError(f"行数应至少为 1，实际是 {rows}", "例如 --rows 1000000")
    if fmt == "xlsx" and rows > XLSX_MAX_ROWS:
        raise UsageError(f"xlsx 最多 {XLSX_MAX_ROWS} 行，要求的是 {rows} 行", "请改用 --format csv")
    path = Path(out_dir) / f"tickets.{fmt}"
    chunks = generate_rows(rows, seed)
    (_write_csv if fmt == "csv" else _write_xlsx)(path, chunks, progress, rows)
    return path


def _write_csv(path: Path, chunks, progress, total: int) -> None:
    done = 0
    with atomic_path(path) as tmp:
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(EXPORT_HEADERS)
            for chunk in chunks:
                writer.writerows(zip(*(chunk[h].tolist() for h in EXPORT_HEADERS)))
                done += len(chunk["工单编号"])
                if progress:
                    progress(f"已生成 {done}/{total} 行")


def _write_xlsx(path: Path, chunks, progress, total: int) -> None:
    from gaopin.sample.xlsx_stream import StreamingXlsx

    received_col, closed_col = EXPORT_HEADERS.index("来电时间"), EXPORT_HEADERS.index("办结时间")
    phone_col = EXPORT_HEADERS.index("来电人电话/账号")
    done = 0
    with atomic_path(path) as tmp:
        with StreamingXlsx(
            tmp, "工单明细", EXPORT_HEADERS, total, date_columns=(received_col, closed_col), mixed_columns=(phone_col,)
        ) as sheet:
            for chunk in chunks:
                columns = [chunk[h].tolist() for h in EXPORT_HEADERS]
                # Date-times are number cells with a date style; typed times (NaN serial) stay text.
                columns[received_col] = [
                    text if serial != serial else serial
                    for text, serial in zip(columns[received_col], chunk[RECEIVED_SERIAL].tolist())
                ]
                columns[closed_col] = chunk[CLOSED_SERIAL].tolist()
                # Most mobiles are number cells, as in real exports.
                columns[phone_col] = [
                    number if number else text for text, number in zip(columns[phone_col], chunk[PHONE_NUMBER].tolist())
                ]
                sheet.write(columns)
                done += len(columns[0])
                if progress:
                    progress(f"已生成 {done}/{total} 行")
