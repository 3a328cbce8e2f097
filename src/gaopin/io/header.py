"""Finding the header row and mapping source columns to canonical fields."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from gaopin.errors import ConfigError, InputError
from gaopin.privacy import mask_phones_in_text
from gaopin.schema import (
    CANONICAL_COLUMNS,
    CATEGORY_LEVEL_ALIASES,
    DISPATCH_CLASS,
    FIELD_BY_NAME,
    FIELDS,
    REQUIRED_FIELDS,
    fields_named,
    header_key,
    label,
    tidy,
)

MIN_HEADER_MATCHES = 2
LEVEL_NAMES = ("category_l1", "category_l2", "category_l3")


@dataclass
class ColumnMap:
    position: int
    header: str  # as it appears in the export (tidied)
    field: str | None  # canonical field, a category level name, or None for unused
    note: str = ""  # why a matching column is unused, or that the mapping came from [columns]


@dataclass
class Mapping:
    columns: list[ColumnMap]
    fields: dict[str, int]  # canonical field (or category level) → column position

    def position(self, name: str) -> int | None:
        return self.fields.get(name)

    @property
    def has_category(self) -> bool:
        return "category" in self.fields or any(n in self.fields for n in LEVEL_NAMES)


def validate_columns_config(columns: dict[str, Any]) -> None:
    for name, value in columns.items():
        if name == "category":
            if isinstance(value, list) and not 1 <= len(value) <= len(LEVEL_NAMES):
                raise ConfigError(
                    f"配置项 columns.category 写了 {len(value)} 个分级列",
                    "分类可写成一个表头，或 1 到 3 个分级列的列表，例如 [\"一级分类\", \"二级分类\", \"三级分类\"]",
                )
            continue
        if name not in FIELD_BY_NAME:
            valid = "、".join(f.name for f in FIELDS)
            raise ConfigError(f"配置项 columns.{name} 不是标准字段名", f"可用的字段名：{valid}")
        if not isinstance(value, str):
            raise ConfigError(f"配置项 columns.{name} 应为一个表头字符串", "只有 category 可以写成层级列表")


def _candidates(columns: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(header key, target, priority) for every alias, configured headers first."""
    out: list[tuple[str, str, int]] = []
    configured = set()
    for name, value in columns.items():
        if name == "category" and isinstance(value, list):
            for level, header in zip(LEVEL_NAMES, value):
                out.append((header_key(header), level, -1))
            configured.update(("category",) + LEVEL_NAMES)
        else:
            out.append((header_key(str(value)), name, -1))
            configured.add(name)
            if name == "category":
                configured.update(LEVEL_NAMES)
    for f in FIELDS:
        if f.name in configured:
            continue
        out.extend((header_key(alias), f.name, i) for i, alias in enumerate(f.aliases))
        # The field's own name, as `gaopin clean` writes it: its output reads back in.
        out.append((header_key(f.name), f.name, len(f.aliases)))
    if "category" not in configured:
        for level, aliases in zip(LEVEL_NAMES, CATEGORY_LEVEL_ALIASES):
            out.extend((header_key(alias), level, i) for i, alias in enumerate(aliases))
    return out


def detect_header(head: list[list[str]], columns: dict[str, Any], header_row: int, source: str) -> int:
    """Index of the header row: the configured one, else the row matching most aliases."""
    if header_row:
        if header_row > len(head):
            raise InputError(f"{source} 只有 {len(head)} 行，没有第 {header_row} 行表头", "请改正 --header-row 或 gaopin.toml 的 [load] header_row（表头所在行，从 1 起；0 为自动识别）")
        return header_row - 1
    keys = {key for key, _, _ in _candidates(columns)}
    best, best_score = -1, 0
    for i, row in enumerate(head):
        score = len({header_key(c) for c in row if c and header_key(c) in keys})
        if score > best_score:
            best, best_score = i, score
    if best_score < MIN_HEADER_MATCHES:
        seen = _headers_seen(head)
        message = f"{source} 中找不到可识别的表头（前 {len(head)} 行里没有一行像 12345 导出的表头）"
        hint = "请在 gaopin.toml 的 [columns] 中写明各字段对应的表头，例如 ticket_id = \"工单编号\"（见 docs/data-format.md）"
        absent = _configured_absent(head, columns)
        if absent:
            message += "；gaopin.toml 指定的表头没有找到：" + "、".join(absent)
            hint = "请对照看到的表头修改 gaopin.toml 的 [columns]（表头要与文件里写的一致，空格和大小写不限）"
        raise InputError(message + (f"；看到的表头：{seen}" if seen else ""), hint)
    return best


@dataclass
class Header:
    index: int  # 0-based row of the header (of its first row when it has two)
    cells: list[str]  # each column's header
    rows: int = 1  # 2 when group titles sit above the sub-headers of their columns

    @property
    def last(self) -> int:
        """The header's last row: the data start below it."""
        return self.index + self.rows - 1


def find_header(head: list[list[str]], columns: dict[str, Any], header_row: int, source: str) -> Header:
    """The header: the row `detect_header` finds, with the row above or below it when the two
    are one grouped header."""
    index = detect_header(head, columns, header_row, source)
    keys = {key for key, _, _ in _candidates(columns)}
    for top in (index, index - 1):
        if top >= 0 and top + 1 < len(head):
            cells = _two_row_header(head[top], head[top + 1], keys, grows_top=top == index)
            if cells is not None:
                return Header(top, cells, 2)
    return Header(index, head[index])


def _two_row_header(top: list[str], sub: list[str], keys: set[str], grows_top: bool) -> list[str] | None:
    """The cells of a header over two rows, or None when these rows are not one.

    An export may group columns under a title (诉求人信息 over 来电人 and 来电人电话) merged across
    them, with the other headers merged down over both rows: a merged cell is read as its value
    in the first cell and blanks after. The rows are one header when every column the top row
    names as a field is blank (or the same) below, as a merge down leaves it, and the other row
    names a field the detected row lacks. A data row fills the columns under the header's fields
    (the ticket id is never blank), so a one-row header and its data are never taken for two rows.
    """
    width = max(len(top), len(sub))
    top = top + [""] * (width - len(top))
    sub = sub + [""] * (width - len(sub))

    def known(cell: str) -> bool:
        return bool(cell.strip()) and header_key(cell) in keys

    # A group title may itself read as a field (诉求人 over 姓名 and 联系电话): it starts a group
    # when the cell after it is merged into it (blank) and names a field below.
    group = [known(top[i]) and i + 1 < width and not top[i + 1].strip() and known(sub[i + 1]) for i in range(width)]
    for t, s, g in zip(top, sub, group):
        if known(t) and s.strip() and header_key(s) != header_key(t) and not g:
            return None
    if grows_top:  # the sub-headers name fields under group titles or blanks of the header row
        gained = any(known(s) and not known(t) for t, s in zip(top, sub))
    else:  # the header row found is the sub-headers; fields above it are merged down
        gained = any(known(t) and not s.strip() for t, s in zip(top, sub))
    if not gained:
        return None
    return [s if s.strip() and (not known(t) or g) else t for t, s, g in zip(top, sub, group)]


def names_ticket_id(cells: list[str], columns: dict[str, Any]) -> bool:
    """Whether a header has a ticket id column: what makes a sheet one of tickets."""
    keys = {key for key, target, _ in _candidates(columns) if target == "ticket_id"}
    return any(header_key(c) in keys for c in cells if c)


def _configured_absent(head: list[list[str]], columns: dict[str, Any]) -> list[str]:
    """The [columns] entries whose header is in none of the rows looked at."""
    present = {header_key(c) for row in head for c in row if c}
    out = []
    for name, value in columns.items():
        for header in value if isinstance(value, list) else [value]:
            if header_key(str(header)) not in present:
                out.append(f'{name} = "{header}"')
    return out


def _headers_seen(head: list[list[str]]) -> str:
    """The fullest of the first rows, for an error: in a file without a header row it is a
    ticket, whose phones are masked (the error goes to stderr, which cron mails)."""
    if not head:
        return ""
    row = max(head, key=lambda r: sum(1 for c in r if c.strip()))
    cells = [tidy(c) for c in row if c.strip()]
    text = "、".join(cells[:20])
    return mask_phones_in_text(text) + ("…" if len(cells) > 20 else "")


def map_columns(headers: list[str], columns: dict[str, Any], source: str) -> Mapping:
    candidates = _candidates(columns)
    by_key: dict[str, list[tuple[str, int]]] = {}
    for key, target, priority in candidates:
        by_key.setdefault(key, []).append((target, priority))
    # For each target, the column with the best (lowest) priority alias; ties → leftmost column.
    claims: dict[str, tuple[int, int]] = {}
    maps = [ColumnMap(i, tidy(h), None) for i, h in enumerate(headers)]
    for i, h in enumerate(headers):
        for target, priority in by_key.get(header_key(h), []):
            current = claims.get(target)
            if current is None or priority < current[0]:
                claims[target] = (priority, i)
    taken: dict[int, str] = {}
    for target, (priority, pos) in sorted(claims.items(), key=lambda kv: kv[1]):
        if pos in taken:
            continue  # one column feeds one field: the higher-priority alias keeps it
        taken[pos] = target
        maps[pos].field = target
        maps[pos].note = "[columns] 配置" if priority < 0 else ""
    fields = {target: pos for pos, target in taken.items()}
    # A path column wins over level columns.
    if "category" in fields:
        for level in LEVEL_NAMES:
            pos = fields.pop(level, None)
            if pos is not None:
                maps[pos].field = None
                maps[pos].note = "已有“问题分类”列，分级分类列未使用"
    for m in maps:
        if m.field is None and not m.note:
            matches = [t for t, _ in by_key.get(header_key(m.header), [])]
            if matches:
                owner = matches[0]
                m.note = f"与更优先的列重复（{label(owner) if owner in FIELD_BY_NAME else owner}）"
            else:
                m.note = "未使用"
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    seen = mask_phones_in_text("、".join(m.header for m in maps if m.header)[:400])  # a data row taken for the header
    configured = [name for name in missing if name in columns]
    if configured:
        # The aliases were switched off by [columns]: say which mapping found nothing.
        wrong = "；".join(f'[columns] 中 {name} = "{columns[name]}"' for name in configured)
        raise InputError(
            f"{source} 中没有 gaopin.toml 指定的表头：{wrong}；看到的表头：{seen}",
            "请对照看到的表头修改 gaopin.toml 的 [columns]（表头要与文件里写的一致，空格和大小写不限）",
        )
    if missing:
        needed = "、".join(f"{label(n)}（{n}）" for n in missing)
        raise InputError(
            f"{source} 缺少必需的列：{needed}；看到的表头：{seen}",
            f"请在 gaopin.toml 的 [columns] 中指明哪一列是{label(missing[0])}，例如 {missing[0]} = \"文件里那一列的表头\"（见 docs/data-format.md）",
        )
    return Mapping(maps, fields)


@dataclass(frozen=True)
class ColumnChoice:
    """The columns of a table that a command reads (`choose_columns`)."""

    positions: dict[str, int]  # each field read, and each source column kept by its header
    label_at: int | None  # the table's first column, read for its labels

    @property
    def columns(self) -> list[int]:
        return sorted(set(self.positions.values()) | ({self.label_at} if self.label_at is not None else set()))


def choose_columns(mapping: Mapping, fields: Iterable[str] | None, keep_extra: bool, exclude: dict[str, Any]) -> ColumnChoice:
    """The columns to read for `fields` (None: every canonical field; ids and times are always
    read), with the unmapped source columns too when `keep_extra`, and those [filters] `exclude`
    names."""
    # A command that reads only some fields reads those [filters] name as well: a field left
    # unread would be blank, and its filter would silently match nothing.
    wanted = set(CANONICAL_COLUMNS) if fields is None else set(fields) | {"ticket_id", "received_at"} | fields_named(exclude)
    extra_headers = {k for k in exclude if k not in FIELD_BY_NAME}
    return ColumnChoice(_positions(mapping, wanted, keep_extra, extra_headers), _label_column(mapping))


def _positions(mapping: Mapping, wanted: set[str], keep_extra: bool, extra_headers: set[str]) -> dict[str, int]:
    out = {}
    for name, pos in mapping.fields.items():
        target = "category" if name in LEVEL_NAMES else name
        if target in wanted or (target == "dispatch" and DISPATCH_CLASS in wanted):
            out[name] = pos
    unused = Counter(c.header for c in mapping.columns if c.field is None and c.header)
    for c in mapping.columns:
        if c.field is None and c.header and (keep_extra or c.header in extra_headers):
            clash = unused[c.header] > 1 or c.header in CANONICAL_COLUMNS or c.header in out
            out[f"{c.header}#{c.position + 1}" if clash else c.header] = c.position
    return out


def _label_column(mapping: Mapping) -> int | None:
    """The table's first column (with a header), where a footer puts its label when the 工单编号
    cell is left blank (合计 under 序号); None when it is the id column itself."""
    first = next((c.position for c in mapping.columns if c.header), None)
    return None if first == mapping.position("ticket_id") else first
