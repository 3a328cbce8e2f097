"""The monthly report's charts: PNG files drawn with matplotlib's object-oriented API.

This is the only gaopin module that imports matplotlib, and it does so inside functions
so that `gaopin --help` stays fast. There is no pyplot: each chart is a `Figure` on its
own `FigureCanvasAgg`, built and saved inside an `rc_context` that starts from
matplotlib's defaults and sets the Chinese font, so a user's matplotlibrc cannot change
the output and nothing is left behind in rcParams. The one global change is the font
file registered with matplotlib's font manager (once per process).

Output is deterministic: fixed size and dpi, no "Software" metadata, fixed colours, so
the same report data gives byte-identical PNGs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import re
import secrets
import stat
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gaopin.cache import CHARTS as CACHED_CHARTS, FONTS as CACHED_FONTS, Cache, digest, file_identity
from gaopin.config import whole_label
from gaopin.errors import ConfigError, InputError, os_reason
from gaopin.numbers import number

log = logging.getLogger(__name__)

CHART_NAMES = ("monthly", "rates", "streets", "communities", "categories", "heatmap", "rankings")

WIDTH_IN = 8.0
HEIGHT_IN = 4.5
DPI = 150
# zlib level 3 for the PNGs, not Pillow's 6: the same pixels, and the six charts of a district's
# report are encoded in 0.28 s of CPU against 0.40 s, and smaller (760 KB against 787 KB).
PNG_COMPRESS_LEVEL = 3
ROW_IN = 0.27  # height per bar in the horizontal bar charts, so that 19+ names stay legible

FONT_SETTING = "[report] font"
PACKAGED_FONT_MODULE = "pylopdf_fonts_zh_cn"
PACKAGED_FONT_FILE = "NotoSansSC-Regular.otf"
# Freely licensed or platform fonts with Simplified Chinese coverage, best first.
SYSTEM_FONT_FAMILIES = (
    "Noto Sans SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Sarasa Gothic SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "Noto Sans CJK JP",
    "Source Han Sans",
)
# Characters every chart uses: a configured font must have all of them.
COVERAGE_SAMPLE = "受理量综合成绩响应率解决率满意率社区街道排名周一时件分"
FONT_MAGIC = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")

MISSING_FONT_MESSAGE = "找不到可用于图表的中文字体：本机没有中文字体，也没有安装 pylopdf-fonts-zh-cn"
MISSING_FONT_HINT = (
    "请安装 pylopdf-fonts-zh-cn（pip install pylopdf-fonts-zh-cn），"
    "或在 gaopin.toml 的 [report] font 指定一个中文字体文件（.otf/.ttf），例如思源黑体 Noto Sans SC"
)

# Fixed colours (matplotlib's tab10 plus greys), so output does not depend on the style.
BLUE = "#1f77b4"
ORANGE = "#ff7f0e"
GREEN = "#2ca02c"
RED = "#d62728"
PURPLE = "#9467bd"
GREY = "#7f7f7f"
LIGHT_GREY = "#b0b0b0"
TEXT_GREY = "#555555"
# Where monthly.png's score line runs, as fractions of the plot's height: above the bars (the
# lower half) and their counts, below the title; its lowest point sat among the bars' counts.
SCORE_BAND = (0.6, 0.88)
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}  # text over a line stays legible

RATE_SERIES = (("响应率", "response_rate", BLUE), ("解决率", "resolution_rate", GREEN), ("满意率", "satisfaction_rate", ORANGE))
DEFAULT_WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


# --- matplotlib's config directory ------------------------------------------------------


def _default_mpl_dirs() -> list[Path] | None:
    """The config and cache dirs matplotlib would use without MPLCONFIGDIR (None: no home)."""
    try:
        if sys.platform.startswith(("linux", "freebsd")):
            config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
            cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            return [Path(config, "matplotlib"), Path(cache, "matplotlib")]
        if sys.platform == "win32":
            old = Path.home() / ".matplotlib"
            local = os.environ.get("LOCALAPPDATA")
            return [old if old.is_dir() or not local else Path(local, "matplotlib")]
        return [Path.home() / ".matplotlib"]
    except (RuntimeError, KeyError, OSError):  # no resolvable home directory
        return None


def _writable_dir(path: Path) -> bool:
    try:
        path = path.resolve()
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return path.is_dir() and os.access(path, os.W_OK)


def _private_cache_dir() -> Path:
    """A per-user directory under the temp dir, reused between runs so the font cache stays."""
    owner = str(os.getuid()) if hasattr(os, "getuid") else (os.environ.get("USERNAME") or "user")
    path = Path(tempfile.gettempdir()) / f"gaopin-matplotlib-{owner}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(path)
        mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
        if stat.S_ISDIR(st.st_mode) and mine and not st.st_mode & 0o022 and os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    # Someone else owns the shared name (or it is unusable): a fresh private directory. On
    # Windows, whose stat shows no owner and every folder as 0o777, the shared name cannot be
    # checked (a service's TEMP may be C:\Windows\Temp, where other users create folders): a
    # fresh one each run, left in the temp folder (a reuse was reverted after review, round 18).
    return Path(tempfile.mkdtemp(prefix="gaopin-matplotlib-"))


def prepare_matplotlib_env() -> None:
    """Point MPLCONFIGDIR at a writable directory when HOME is not writable (cron, services).

    Does nothing when MPLCONFIGDIR is set, when matplotlib's own directories are writable,
    or when matplotlib is already imported (it reads the variable only at import).
    """
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return
    dirs = _default_mpl_dirs()
    if dirs is not None and all(_writable_dir(d) for d in dirs):
        return
    os.environ["MPLCONFIGDIR"] = str(_private_cache_dir())


# --- fonts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Font:
    path: Path
    family: str = ""  # the family name to ask matplotlib for; "" = read it from the file


def _packaged_font() -> _Font | None:
    """Noto Sans SC from the pylopdf-fonts-zh-cn package, if installed as plain files."""
    try:
        from importlib.resources import files

        candidate = files(PACKAGED_FONT_MODULE) / PACKAGED_FONT_FILE
    except (ImportError, TypeError):
        return None
    if isinstance(candidate, Path) and candidate.is_file():
        return _Font(candidate)
    return None


def _weight_value(weight: Any) -> int:
    from matplotlib import font_manager

    if isinstance(weight, (int, float)):
        return int(weight)
    return int(font_manager.weight_dict.get(str(weight), 400))


def _system_font() -> _Font | None:
    """A CJK font that matplotlib's font manager found among the system fonts."""
    prepare_matplotlib_env()
    from matplotlib import font_manager

    by_name: dict[str, list[Any]] = {}
    for entry in font_manager.fontManager.ttflist:
        by_name.setdefault(entry.name.casefold(), []).append(entry)
    for family in SYSTEM_FONT_FAMILIES:
        entries = by_name.get(family.casefold())
        if entries:
            best = min(
                entries,
                key=lambda e: (e.style != "normal", abs(_weight_value(e.weight) - 400), e.fname, e.index),
            )
            return _Font(Path(best.fname), best.name)
    return None


def _configured_font(configured: str | os.PathLike[str]) -> _Font:
    path = Path(configured).expanduser()
    keep = "请在 gaopin.toml 的 [report] font 写中文字体文件（.otf/.ttf/.ttc）的完整路径，或留空使用随包安装的 Noto Sans SC"
    if not path.exists():
        raise ConfigError(f"{FONT_SETTING} 指定的字体文件 {path} 不存在", keep)
    if not path.is_file():
        raise ConfigError(f"{FONT_SETTING} 指定的 {path} 不是文件", keep)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ConfigError(f"无法读取 {FONT_SETTING} 指定的字体文件 {path}：{os_reason(exc)}", "请检查文件权限") from None
    if magic not in FONT_MAGIC:
        raise ConfigError(f"{FONT_SETTING} 指定的 {path} 不是 TrueType/OpenType 字体文件", keep)
    prepare_matplotlib_env()
    from matplotlib import ft2font

    try:
        face = ft2font.FT2Font(os.fspath(path))
    except (RuntimeError, OSError, ValueError) as exc:
        raise ConfigError(f"{FONT_SETTING} 指定的字体文件 {path} 无法打开：{exc}", keep) from None
    missing = [c for c in dict.fromkeys(COVERAGE_SAMPLE) if face.get_char_index(ord(c)) == 0]
    if missing:
        raise ConfigError(
            f"{FONT_SETTING} 指定的字体 {path}（{face.family_name}）不含中文字形，缺少：{'、'.join(missing[:6])}",
            "请换一个中文字体文件，例如思源黑体 Noto Sans SC（NotoSansSC-Regular.otf），或留空使用随包安装的字体",
        )
    return _Font(path)


def _locate_font(configured: str | os.PathLike[str] = "") -> _Font:
    if configured and str(configured).strip():
        return _configured_font(configured)
    for lookup in (_packaged_font, _system_font):
        found = lookup()
        if found is not None:
            return found
    raise ConfigError(MISSING_FONT_MESSAGE, MISSING_FONT_HINT)


def find_cjk_font(configured: str | os.PathLike[str] = "") -> Path:
    """The font file the charts use for Chinese.

    `configured` is `[report] font` (already resolved against the config file's folder):
    it must be a readable TrueType/OpenType file with Chinese glyphs. Left empty: Noto Sans
    SC from pylopdf-fonts-zh-cn, else a CJK system font known to matplotlib. Raises
    ConfigError when there is none.
    """
    return _locate_font(configured).path


_REGISTERED: dict[str, str] = {}  # real path of a font file -> family name to ask for


def _register(font: _Font) -> str:
    """Make the font known to matplotlib's font manager (once); return its family name."""
    from matplotlib import font_manager

    key = os.path.realpath(font.path)
    if key not in _REGISTERED:
        manager = font_manager.fontManager
        entries = [e for e in manager.ttflist if os.path.realpath(e.fname) == key]
        if not entries:
            try:
                manager.addfont(key)
            except (RuntimeError, OSError, ValueError) as exc:
                raise ConfigError(
                    f"图表字体 {font.path} 无法使用：{exc}",
                    f"请重新安装 pylopdf-fonts-zh-cn，或在 gaopin.toml 的 {FONT_SETTING} 指定另一个中文字体文件",
                ) from None
            entries = [e for e in manager.ttflist if os.path.realpath(e.fname) == key]
        family = font.family or next((e.name for e in entries if e.index == 0), entries[0].name)
        _first_of_its_family(manager, entries)
        _REGISTERED[key] = family
    return font.family or _REGISTERED[key]


def _first_of_its_family(manager: Any, entries: list[Any]) -> None:
    """Put the font's entries ahead of every other in matplotlib's list. Among fonts of one
    family name (Noto Sans SC installed by the user, and the packaged file) matplotlib draws
    with the first it lists: the charts would not be drawn with the file the page's font is cut
    from and the report cache names (review G)."""
    if manager.ttflist[: len(entries)] == entries:
        return
    ours = {id(e) for e in entries}
    manager.ttflist[:] = entries + [e for e in manager.ttflist if id(e) not in ours]
    clear = getattr(getattr(manager, "_findfont_cached", None), "cache_clear", None)
    if clear is not None:  # matplotlib remembers what it found before
        clear()


# Text every CJK font and DejaVu Sans draw: ASCII, Latin, general and CJK punctuation, the CJK
# ideographs of the BMP, full-width forms. Only texts with another character (a vertical tab
# pasted from Word, an emoji, 𠮷) need the fonts' character maps.
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\u00a0-\u024f\u2010-\u2027\u2030-\u205e\u3000-\u303f\u4e00-\u9fff\uff01-\uffee]*")
MISSING_GLYPH = "□"
_COVERED: dict[str, frozenset[int] | None] = {}  # real path of a font file -> the characters it draws


def _drawable(value: Any, font: _Font) -> Any:
    """`value` (the chart input: dicts, lists, texts) with each text drawable: control
    characters as spaces, characters the font lacks as □ (not every text falls back to DejaVu
    Sans). Otherwise matplotlib warns ("Glyph … missing") on the user's terminal and draws an
    empty box anyway."""
    if isinstance(value, str):
        if _PLAIN_TEXT.fullmatch(value):
            return value
        covered = _covered(font)
        return "".join(
            " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch if covered is None or ord(ch) in covered else MISSING_GLYPH
            for ch in value
        )
    if isinstance(value, dict):
        return {k: _drawable(v, font) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_drawable(v, font) for v in value)
    return value


def _covered(font: _Font) -> frozenset[int] | None:
    """The characters the font draws (None: its map is unreadable, and texts are drawn as they are)."""
    from fontTools.ttLib import TTFont

    key = os.path.realpath(font.path)
    if key not in _COVERED:
        try:
            with TTFont(key, lazy=True, fontNumber=0) as tt:
                _COVERED[key] = frozenset(tt.getBestCmap() or {})
        except Exception:  # noqa: BLE001 - see above
            log.debug("no character map in %s", key, exc_info=True)
            _COVERED[key] = None
    return _COVERED[key]


def _rc(family: str) -> dict[str, Any]:
    return {
        "font.family": ["sans-serif"],
        "font.sans-serif": [family, "DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.size": 10,
        "axes.titlesize": 10,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 9,
        "figure.titlesize": 13,
        "figure.dpi": DPI,
        "savefig.dpi": DPI,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.grid": False,
    }


# --- values ------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite number, or None for None/NaN/text (\"not available\")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(text: Any) -> str:
    """Text drawn as is: a `$` in a name must not switch matplotlib to mathtext."""
    return str(text).replace("$", r"\$")


def _int_text(value: float) -> str:
    return str(int(round(value)))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def short_category(path: str, levels: int = 2, width: int = 16) -> str:
    """`城市管理->市容环境->占道经营` as `…市容环境›占道经营` (the last `levels` levels)."""
    parts = [p.strip() for p in str(path).split("->") if p.strip()] or [str(path).strip()]
    kept = parts[-levels:] if levels > 0 else parts
    text = "›".join(kept)
    if len(parts) > len(kept):
        text = "…" + text
    if len(text) > width:
        text = "…" + text[-(width - 1) :] if len(kept) > 1 or len(parts) > 1 else _clip(text, width)
    return text


def short_categories(paths: Sequence[str], width: int = 16) -> list[str]:
    """Short labels, with more levels where two paths would otherwise look the same."""
    labels = [short_category(p, 2, width) for p in paths]
    for levels in (3, 4, 0):
        seen: dict[str, int] = {}
        for label in labels:
            seen[label] = seen.get(label, 0) + 1
        clashes = {label for label, n in seen.items() if n > 1}
        if not clashes:
            break
        labels = [short_category(p, levels, width * 2) if lab in clashes else lab for p, lab in zip(paths, labels)]
    return labels


def _street(report: dict[str, Any]) -> str:
    street = str(report.get("street") or "").strip()
    return f"{street} " if street else ""


def _period(report: dict[str, Any]) -> tuple[str, str]:
    """(label, "start 至 end") of the report period."""
    period = report.get("period") or {}
    label = str(period.get("label") or "").strip()
    start, end = period.get("start"), period.get("end")
    span = f"{start} 至 {end}" if start and end else ""
    return label, span


def _month_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    return [str(r.get("name", "")) for r in rows]


def _span(names: Sequence[str]) -> str:
    if not names:
        return ""
    return names[0] if len(names) == 1 else f"{names[0]} 至 {names[-1]}"


# --- figures -----------------------------------------------------------------------------


def _figure(height: float = HEIGHT_IN) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _titles(fig: Any, ax: Any, title: str, subtitle: str = "") -> None:
    fig.suptitle(_plain(title))
    if subtitle:
        ax.set_title(_plain(subtitle), loc="left", color=TEXT_GREY, fontsize=9)


def _month_axis(ax: Any, names: Sequence[str]) -> None:
    many = len(names) > 12
    ax.set_xticks(
        range(len(names)),
        labels=[_plain(n) for n in names],
        rotation=45 if many else 0,
        ha="right" if many else "center",
    )
    ax.set_xlim(-0.6, len(names) - 0.4)


def _hide_spines(ax: Any, *sides: str) -> None:
    for side in sides:
        ax.spines[side].set_visible(False)


def _nan_list(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]


def _legend(fig: Any, handles: list[Any], ncols: int | None = None) -> None:
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols or len(handles), frameon=False)


# --- the charts: each has a `prepare` (data or None = skip) and a `draw` -------------------


def _prepare_monthly(report: dict[str, Any]) -> dict[str, Any] | None:
    months = list(report.get("months") or [])
    tickets = [_num(m.get("tickets")) for m in months]
    scores = [_num(m.get("score")) for m in months]
    if not any(t for t in tickets) and all(s is None for s in scores):
        return None
    return {"names": _month_names(months), "tickets": tickets, "scores": scores}


def _draw_monthly(report: dict[str, Any], data: dict[str, Any]) -> Any:
    from matplotlib.ticker import MaxNLocator

    names, tickets, scores = data["names"], data["tickets"], data["scores"]
    fig = _figure()
    ax = fig.add_subplot()
    handles = []
    bar_x = [i for i, t in enumerate(tickets) if t is not None]
    bar_y = [tickets[i] for i in bar_x]
    if bar_x:
        bars = ax.bar(bar_x, bar_y, width=0.6, color=BLUE, label="受理量（件）")
        ax.bar_label(bars, labels=[_int_text(v) for v in bar_y], padding=2, fontsize=8, color=TEXT_GREY)
        handles.append(bars)
    top = max(bar_y, default=0)
    # Bars in the lower half, the score line above them: the two never overlap (SCORE_BAND).
    ax.set_ylim(0, top * 2 if top > 0 else 1)
    if bar_x:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.set_ylabel("受理量（件）")
    else:
        ax.set_yticks([])
    _month_axis(ax, names)
    _hide_spines(ax, "top")

    valid = [s for s in scores if s is not None]
    if valid:
        ax2 = ax.twinx()
        (line,) = ax2.plot(range(len(names)), _nan_list(scores), marker="o", color=ORANGE, label="综合成绩（分）")
        for i, s in enumerate(scores):
            if s is not None:
                ax2.annotate(
                    number(s), (i, s), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8, color=ORANGE
                )
        lo, hi = math.floor(min(valid)), math.ceil(max(valid))
        if hi - lo < 4:
            lo, hi = max(0, hi - 4), max(hi, 4)
        low, high = SCORE_BAND
        span = (hi - lo) / (high - low)
        ax2.set_ylim(lo - low * span, lo + (1 - low) * span)
        ticks = [t for t in MaxNLocator(nbins=4).tick_values(lo, hi) if lo <= t <= hi]
        ax2.set_yticks(ticks)
        ax2.set_ylabel("综合成绩（分）")
        _hide_spines(ax2, "top")
        handles.append(line)
    label, _ = _period(report)
    _titles(fig, ax, f"{_street(report)}月度受理量与综合成绩（{_span(names) or label}）")
    _legend(fig, handles)
    return fig


def _prepare_rates(report: dict[str, Any]) -> dict[str, Any] | None:
    months = list(report.get("months") or [])
    series = {}
    for label, key, colour in RATE_SERIES:
        values = [_num(m.get(key)) for m in months]
        if any(v is not None for v in values):
            series[label] = ([None if v is None else 100 * v for v in values], colour)
    if not series:
        return None
    return {"names": _month_names(months), "series": series}


def _draw_rates(report: dict[str, Any], data: dict[str, Any]) -> Any:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    names = data["names"]
    fig = _figure()
    ax = fig.add_subplot()
    handles = []
    everything = []
    for label, (values, colour) in data["series"].items():
        (line,) = ax.plot(range(len(names)), _nan_list(values), marker="o", color=colour, label=label)
        handles.append(line)
        everything += [v for v in values if v is not None]
    lo = max(0.0, 5 * math.floor((min(everything) - 2) / 5))
    hi = min(100.0, 5 * math.ceil((max(everything) + 2) / 5))
    if hi <= lo:
        lo = max(0.0, hi - 5)
    ax.set_ylim(lo, hi + 0.02 * (hi - lo) + 0.5)  # room for markers at 100%
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    ax.set_ylabel("比率（%）")
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    _month_axis(ax, names)
    _hide_spines(ax, "top", "right")
    label, _ = _period(report)
    _titles(fig, ax, f"{_street(report)}三率月度走势（{_span(names) or label}）")
    _legend(fig, handles)
    return fig


def _street_score(report: dict[str, Any]) -> float | None:
    """The street's own score for the report month, from `months`, if there."""
    label, _ = _period(report)
    for m in report.get("months") or []:
        if str(m.get("name", "")) == label:
            return _num(m.get("score"))
    return None


def _prepare_communities(report: dict[str, Any]) -> dict[str, Any] | None:
    return _prepare_groups(report, "by_community", "社区")


def _prepare_streets(report: dict[str, Any]) -> dict[str, Any] | None:
    """The streets of a report of several streets (none otherwise: `by_street` is empty)."""
    return _prepare_groups(report, "by_street", "街道")


def _prepare_groups(report: dict[str, Any], key: str, what: str) -> dict[str, Any] | None:
    rows = [(str(c.get("name", "")), _num(c.get("score")), _num(c.get("tickets"))) for c in report.get(key) or []]
    scored = [r for r in rows if r[1] is not None]
    if not scored:
        return None
    scored.sort(key=lambda r: -r[1])  # stable: ties keep the report's order
    unscored = [r for r in rows if r[1] is None]
    hidden = 0
    if len(scored) > MAX_COMMUNITY_BARS:
        # A district has hundreds of communities: the chart shows those that lost most.
        lost = {str(c.get("name", "")): _num(c.get("points_lost")) or 0.0 for c in report.get(key) or []}
        keep = set(sorted((r[0] for r in scored), key=lambda n: -lost.get(n, 0.0))[:MAX_COMMUNITY_BARS])
        hidden = len(scored) + len(unscored) - len(keep)
        scored, unscored = [r for r in scored if r[0] in keep], []
    return {"rows": scored + unscored, "street_score": _street_score(report), "hidden": hidden, "what": what}


MAX_COMMUNITY_BARS = 40


def _bar_height(n: int) -> float:
    return max(HEIGHT_IN, 1.5 + ROW_IN * n)


def _draw_groups(report: dict[str, Any], data: dict[str, Any]) -> Any:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    rows, street = data["rows"], data["street_score"]
    n = len(rows)
    fig = _figure(_bar_height(n))
    ax = fig.add_subplot()
    ys = list(range(n - 1, -1, -1))  # the best at the top
    scores = [r[1] for r in rows if r[1] is not None]
    lo = max(0.0, 10 * math.floor((min(scores) - 5) / 10))
    right = 100 + 0.3 * (100 - lo)  # room for the annotations
    colours = [BLUE if street is None or r[1] >= street else ORANGE for r in rows if r[1] is not None]
    ax.barh(ys[: len(scores)], scores, height=0.7, color=colours)
    pad = 0.01 * (right - lo)
    for y, (name, score, tickets) in zip(ys, rows):
        count = "" if tickets is None else f" · {_int_text(tickets)}件"
        if score is None:
            ax.text(lo + pad, y, f"无有效回访{count}", va="center", fontsize=8, color=GREY, bbox=LABEL_BOX)
        else:
            ax.text(score + pad, y, f"{number(score)}分{count}", va="center", fontsize=8, color=TEXT_GREY, bbox=LABEL_BOX)
    # 新村街道·恰海社区 (several streets) is longer than a community's own name.
    ax.set_yticks(ys, labels=[_plain(_clip(r[0], 14 if report.get("scope") == "district" else 10)) for r in rows])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(lo, right)
    ax.set_xticks([t for t in MaxNLocator(nbins=6, steps=[1, 2, 5, 10]).tick_values(lo, 100) if lo <= t <= 100])
    ax.set_xlabel("综合成绩（分）")
    ax.tick_params(axis="y", length=0)
    _hide_spines(ax, "top", "right")
    handles: list[Any] = []
    if street is not None:
        ax.axvline(street, color=GREY, linestyle="--", linewidth=1)
        whole = whole_label(report.get("scope"))
        handles = [
            Patch(color=BLUE, label=f"不低于{whole}"),
            Patch(color=ORANGE, label=f"低于{whole}"),
            Line2D([], [], color=GREY, linestyle="--", label=f"{whole} {number(street)} 分"),
        ]
    label, span = _period(report)
    what = data["what"]
    note = "“·”后的件数为受理量" + (f"；只列出失分最多的 {MAX_COMMUNITY_BARS} 个{what}（另有 {data['hidden']} 个）" if data.get("hidden") else "")
    _titles(fig, ax, f"{_street(report)}{label} 各{what}综合成绩", f"统计区间：{span}；{note}" if span else note)
    if handles:
        _legend(fig, handles)
    return fig


def _prepare_categories(report: dict[str, Any]) -> dict[str, Any] | None:
    rows = [(str(c.get("name", "")), _num(c.get("tickets"))) for c in report.get("by_category") or []]
    rows = [(name, t) for name, t in rows if t is not None]
    if not any(t > 0 for _, t in rows):
        return None
    rows.sort(key=lambda r: -r[1])
    return {"rows": rows}


def _draw_categories(report: dict[str, Any], data: dict[str, Any]) -> Any:
    rows = data["rows"]
    n = len(rows)
    fig = _figure(_bar_height(n))
    ax = fig.add_subplot()
    ys = list(range(n - 1, -1, -1))
    counts = [t for _, t in rows]
    ax.barh(ys, counts, height=0.7, color=PURPLE)
    top = max(counts)
    for y, t in zip(ys, counts):
        ax.text(t + 0.01 * top, y, f"{_int_text(t)}件", va="center", fontsize=8, color=TEXT_GREY)
    ax.set_yticks(ys, labels=[_plain(s) for s in short_categories([name for name, _ in rows])])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("受理量（件）")
    ax.tick_params(axis="y", length=0)
    _hide_spines(ax, "top", "right")
    label, span = _period(report)
    _titles(fig, ax, f"{_street(report)}{label} 诉求分类前 {n} 位", f"统计区间：{span}" if span else "")
    return fig


def _prepare_heatmap(report: dict[str, Any]) -> dict[str, Any] | None:
    heat = report.get("heatmap") or {}
    counts = heat.get("counts")
    if not counts:
        return None
    weekdays = [str(w) for w in heat.get("weekdays") or DEFAULT_WEEKDAYS[: len(counts)]]
    hours = list(heat.get("hours") or range(len(counts[0])))
    if len(counts) != len(weekdays) or any(len(row) != len(hours) for row in counts):
        raise ValueError(f"heatmap counts must be {len(weekdays)} rows of {len(hours)} values")
    values = [[_num(v) for v in row] for row in counts]
    if not any(v for row in values for v in row):
        return None
    return {"weekdays": weekdays, "hours": hours, "values": values}


def _draw_heatmap(report: dict[str, Any], data: dict[str, Any]) -> Any:
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    weekdays, hours, values = data["weekdays"], data["hours"], data["values"]
    grid = np.ma.masked_invalid(np.array(_nan_rows(values), dtype=float))
    fig = _figure()
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="YlOrRd", interpolation="nearest", vmin=0)
    ax.set_xticks(range(len(hours)), labels=[_plain(h) for h in hours], fontsize=8)
    ax.set_yticks(range(len(weekdays)), labels=[_plain(w) for w in weekdays])
    ax.set_xticks(np.arange(-0.5, len(hours), 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(weekdays), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6)
    ax.tick_params(which="both", length=0)
    ax.set_xlabel("受理时段（时）")
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, pad=0.01)
    bar.set_label("工单数（件）")
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    total = sum(v for row in values for v in row if v is not None)
    peak, pr, pc = max((v, -r, -c) for r, row in enumerate(values) for c, v in enumerate(row) if v is not None)
    label, span = _period(report)
    subtitle = f"合计 {_int_text(total)} 件；最多：{weekdays[-pr]} {hours[-pc]} 时，{_int_text(peak)} 件"
    if span:
        subtitle = f"统计区间：{span}；{subtitle}"
    _titles(fig, ax, f"{_street(report)}{label} 受理时段分布（星期 × 小时）", subtitle)
    return fig


def _nan_rows(values: list[list[float | None]]) -> list[list[float]]:
    return [_nan_list(row) for row in values]


def _prepare_rankings(report: dict[str, Any]) -> dict[str, Any] | None:
    rankings = report.get("rankings")
    if not rankings:
        return None
    rows = sorted(rankings, key=lambda r: str(r.get("month", "")))
    data = {
        "names": [str(r.get("month", "")) for r in rows],
        "volume": [_num(r.get("volume_rank")) for r in rows],
        "score": [_num(r.get("score_rank")) for r in rows],
        "city": [_num(r.get("city_score")) for r in rows],
    }
    if all(v is None for key in ("volume", "score", "city") for v in data[key]):
        return None
    return data


def _draw_rankings(report: dict[str, Any], data: dict[str, Any]) -> Any:
    from matplotlib.ticker import MaxNLocator

    names = data["names"]
    x = range(len(names))
    fig = _figure()
    ax = fig.add_subplot()
    handles = []
    ranks: list[float] = []
    for key, label, colour in (("volume", "接诉量排名", BLUE), ("score", "综合成绩排名", RED)):
        values = data[key]
        if all(v is None for v in values):
            continue
        (line,) = ax.plot(x, _nan_list(values), marker="o", color=colour, label=label)
        handles.append(line)
        for i, v in enumerate(values):
            if v is not None:
                ranks.append(v)
                ax.annotate(
                    _int_text(v) if v == int(v) else f"{v:g}",
                    (i, v),
                    textcoords="offset points",
                    xytext=(0, 6),
                    ha="center",
                    fontsize=8,
                    color=colour,
                    bbox=LABEL_BOX,
                )
    if ranks:
        lo, hi = min(ranks), max(ranks)
        pad = max(1.0, 0.15 * (hi - lo))
        ax.set_ylim(hi + pad, max(0.5, lo - pad))  # inverted: first place at the top
    else:
        ax.set_ylim(10, 1)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    ax.set_ylabel("名次（越靠上越好）")
    _month_axis(ax, names)
    _hide_spines(ax, "top")
    city = data["city"]
    if any(v is not None for v in city):
        ax2 = ax.twinx()
        (line,) = ax2.plot(
            x, _nan_list(city), marker="s", linestyle="--", color=GREY, markersize=4, label="市直派成绩（分）"
        )
        valid = [v for v in city if v is not None]
        lo, hi = math.floor(min(valid)), math.ceil(max(valid))
        if hi - lo < 4:
            lo, hi = hi - 4, hi
        ax2.set_ylim(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
        ax2.set_ylabel("市直派成绩（分）")
        _hide_spines(ax2, "top")
        # The ranks (and their labels) in front of the score line.
        ax.set_zorder(ax2.get_zorder() + 1)
        ax.patch.set_visible(False)
        handles.append(line)
    _titles(fig, ax, f"{_street(report)}区内排名（{_span(names)}）")
    _legend(fig, handles)
    return fig


@dataclass(frozen=True)
class _Chart:
    name: str
    prepare: Callable[[dict[str, Any]], dict[str, Any] | None]
    draw: Callable[[dict[str, Any], dict[str, Any]], Any]


CHARTS = (
    _Chart("monthly", _prepare_monthly, _draw_monthly),
    _Chart("rates", _prepare_rates, _draw_rates),
    _Chart("streets", _prepare_streets, _draw_groups),
    _Chart("communities", _prepare_communities, _draw_groups),
    _Chart("categories", _prepare_categories, _draw_categories),
    _Chart("heatmap", _prepare_heatmap, _draw_heatmap),
    _Chart("rankings", _prepare_rankings, _draw_rankings),
)


# --- writing -----------------------------------------------------------------------------


def _png(fig: Any) -> bytes:
    """The figure as PNG, drawn once: `savefig` draws a figure with a layout engine twice, first
    without rendering to lay it out (a sixth to a fifth of a district report's charts). One
    draw lays out and renders; the PNG is then written as `savefig` writes it, to the byte."""
    import io

    import matplotlib.image

    fig.canvas.draw()
    out = io.BytesIO()
    matplotlib.image.imsave(
        out, fig.canvas.buffer_rgba(), format="png", origin="upper", dpi=fig.dpi,
        metadata={"Software": None}, pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )  # fmt: skip
    return out.getvalue()


def _write_png(path: Path, write: Callable[[Any], Any]) -> None:
    """Write the PNG beside its final name, then rename it into place. It is 0600 whatever the
    umask, as every output (io.write.atomic_path, docs/security.md): gaopin.io is not imported
    here, as it would bring pandas into the chart process."""
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(6)}.png.tmp")
    try:
        with open(tmp, "xb", opener=lambda name, flags: os.open(name, flags, 0o600)) as fh:
            write(fh)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(
            f"无法写入 {path}：{os_reason(exc)}", "请检查输出目录的权限和磁盘空间，或关闭正在查看该图片的程序后重试"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


# The report's keys that the charts read (see the `prepare` functions). A second process is
# sent only these: the ledger and the escalation list, most of the report, are not drawn.
CHART_KEYS = ("scope", "street", "period", "months", "by_street", "by_community", "by_category", "heatmap", "rankings")


def chart_input(report: dict[str, Any]) -> dict[str, Any]:
    """The part of the report the charts are drawn from."""
    return {key: report[key] for key in CHART_KEYS if key in report}


def chart_text(report: dict[str, Any]) -> str:
    """The part of the report the charts are drawn from, as text: equal texts, equal charts."""
    return json.dumps(chart_input(report), sort_keys=True, ensure_ascii=False, default=repr)


def planned_charts(report: dict[str, Any]) -> list[str]:
    """The names of the charts `render_charts` would draw for this report, without drawing."""
    return [chart.name for chart in CHARTS if chart.prepare(report) is not None]


@functools.cache
def _made_with() -> str:
    """What the pictures and the font subset are made by: gaopin's drawing code (this module and
    the two it takes texts from) and the libraries' versions. A change to any makes new entries."""
    from importlib import metadata

    from gaopin import __version__, config, numbers

    parts = [__version__]
    for module in (sys.modules[__name__], config, numbers):
        parts.append(hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest())
    # kiwisolver lays out the constrained figures. A FreeType that a distribution's own matplotlib
    # is built against is not seen: after upgrading it, delete the cache folder.
    for dist in ("matplotlib", "pillow", "fonttools", "numpy", "kiwisolver"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} -")
    return "\n".join(parts)


def _font_identity(font: _Font) -> str:
    return f"{file_identity(font.path)}\0{font.family}"


def chart_key(report: dict[str, Any], font: str | os.PathLike[str] = "", text: str | None = None) -> str | None:
    """The cache key of the report's charts (see gaopin.cache): the part of the report they are
    drawn from, the font and `_made_with`. None when the charts cannot be keyed (a font setting
    that is wrong): they are then drawn, which reports the problem as before. `text`: the
    report's `chart_text`, when the caller has it already."""
    try:
        located = _locate_font(font)
        return digest(CACHED_CHARTS, _made_with(), _font_identity(located), chart_text(report) if text is None else text)
    except (ConfigError, OSError, ValueError, TypeError):
        log.debug("charts not keyed", exc_info=True)
        return None


# The chart process's share of the claims (see `claim`), given by `worker_init`.
_claims: Any = None


def claim(claims: Any, task: int, wait_s: float | None = None) -> bool:
    """Whether the task numbered `task` is taken here: False when it was taken already, on either side.

    `claims` is a shared `multiprocessing.Value` holding the highest number taken. The report
    gives the font's cut to the chart process, to run once the charts are drawn, and takes it
    back if it is not begun by the time the workbook is written (see reports.run.write_report):
    whichever side claims it first cuts it, the other does not. With `wait_s`, a lock not had
    within that time (the chart process was killed while it held it) counts as taken here."""
    lock = claims.get_lock()
    if not lock.acquire(timeout=wait_s):
        return True
    try:
        if claims.value >= task:
            return False
        claims.value = task
        return True
    finally:
        lock.release()


def font_subset_unclaimed(task: int, text: str, configured: str | os.PathLike[str] = "", cache: Cache | None = None) -> bytes | None:
    """`font_subset` in the chart process, or None when the report took the cut back (`claim`)."""
    if _claims is not None and not claim(_claims, task):
        return None
    return font_subset(text, configured, cache)


def worker_init(claims: Any = None) -> None:
    """Set up a second process that draws charts: it ends with its parent, leaves Ctrl-C to
    it, and runs without the cyclic garbage collector. `claims`: see `claim`.

    A pool's worker waits on a queue whose both ends it holds, so it would otherwise wait
    forever after its parent was killed (SIGKILL, or a timeout's SIGTERM, which skip all
    clean-up): a thread waits on the parent's sentinel, then SIGTERM ends the worker as it
    would any process (on Windows, os.kill terminates it). Ctrl-C reaches the whole process
    group: the parent stops the report and the pool; the worker, ignoring it, prints no
    traceback of its own. It ends without Python's finalization. The collector's passes over
    matplotlib's many small objects cost about a tenth of the work (as in the report's own
    process, which pauses it while writing); the worker draws one report's charts and ends, and
    reference counting frees nearly everything meanwhile."""
    import atexit
    import gc
    import multiprocessing
    import signal
    import threading

    global _claims
    _claims = claims
    gc.disable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    # Once the pool lets it go, and multiprocessing has flushed its output and done its own
    # clean-up, the worker ends as the command does (`gaopin.cli.end`): without Python's
    # finalization, whose collection and teardown of matplotlib's modules took 0.1 s that the
    # report waited for at its end (docs/performance.md). Nothing there is left to write out;
    # the pool reads no worker's exit status. Only in a started process: never in the caller's.
    atexit.register(os._exit, 0)

    def watch() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="gaopin-end-with-parent", daemon=True).start()


def warm_up(font: str | os.PathLike[str] = "") -> None:
    """Import matplotlib and register the font ahead of `draw_charts` (in a second process,
    while the report is still being built). Errors are left for `draw_charts` to raise:
    a warm-up must not report a problem the report would not have reached."""
    try:
        located = _locate_font(font)
        prepare_matplotlib_env()
        import matplotlib.style  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401

        _register(located)
    except Exception:  # noqa: BLE001 - see above
        log.debug("chart warm-up failed", exc_info=True)


def warm_worker(font: str | os.PathLike[str] = "") -> None:
    """`warm_up` in the chart worker (set up by `worker_init`), then freeze what it imported:
    the modules' objects live as long as the worker, and the collection that ends it need
    not look at them (its exit 0.22 s -> 0.08 s). Its own process only: freezing is global."""
    import gc

    warm_up(font)
    gc.freeze()


def draw_charts(report: dict[str, Any], font: str | os.PathLike[str] = "") -> dict[str, bytes]:
    """The report's charts drawn in memory: {name: the PNG file's bytes}, in the order of CHARTS.

    Charts whose data is empty or entirely None are not drawn. `font` is `[report] font` (see
    `find_cjk_font`). Nothing is written: a second process may draw them before the report's
    folder exists (see gaopin.reports.run), and `write_charts` writes them."""
    todo = [(chart, data) for chart in CHARTS if (data := chart.prepare(report)) is not None]
    drawn: dict[str, bytes] = {}
    if not todo:
        return drawn
    located = _locate_font(font)  # before matplotlib: a bad setting fails fast
    prepare_matplotlib_env()
    import matplotlib
    import matplotlib.style

    family = _register(located)
    shown = _drawable(chart_input(report), located)
    for chart, data in todo:
        started = time.perf_counter()
        # From matplotlib's defaults, so a user's matplotlibrc cannot change the report;
        # both contexts restore rcParams on the way out.
        with matplotlib.style.context("default"), matplotlib.rc_context(_rc(family)):
            drawn[chart.name] = _png(chart.draw(shown, _drawable(data, located)))
        log.debug("chart %s drawn in %.2f s", chart.name, time.perf_counter() - started)
    return drawn


def write_charts(drawn: dict[str, bytes], out_dir: Path | str) -> dict[str, Path]:
    """Write charts drawn by `draw_charts` (or kept in the cache) into `out_dir` as `<name>.png`;
    return {name: path}. A chart not among them that an earlier run left there is removed, so
    that the folder matches the returned dict."""
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    if drawn:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"无法创建输出目录 {out_dir}：{os_reason(exc)}", "请换一个可写的位置") from None
    for name, data in drawn.items():
        path = out_dir / f"{name}.png"
        _write_png(path, lambda fh: fh.write(data))
        written[name] = path
    for name in CHART_NAMES:
        if name not in drawn:
            stale = out_dir / f"{name}.png"
            try:
                stale.unlink(missing_ok=True)
            except OSError as exc:  # an old picture left behind is not worth failing the report
                log.warning("could not remove the stale chart %s: %s", stale, exc)
    return written


def render_charts(report: dict[str, Any], out_dir: Path | str, font: str | os.PathLike[str] = "") -> dict[str, Path]:
    """Draw the report's charts into `out_dir` as `<name>.png`; return {name: path}
    (`draw_charts`, then `write_charts`)."""
    return write_charts(draw_charts(report, font), out_dir)


def kept_charts(cache: Cache, key: str, planned: list[str], out_dir: Path) -> dict[str, Path] | None:
    """The charts kept under `key` (see `chart_key`) written into `out_dir`, as `render_charts`
    returns them; None when there is no entry or it does not hold exactly the planned charts."""
    files = _kept(cache, key, planned)
    return None if files is None else write_charts({name: files[f"{name}.png"] for name in planned}, out_dir)


def is_kept(cache: Cache, key: str, planned: list[str]) -> bool:
    """Whether `kept_charts` would find the charts (read and checked, not written)."""
    return _kept(cache, key, planned) is not None


def _kept(cache: Cache, key: str, planned: list[str]) -> dict[str, bytes] | None:
    files = cache.get(CACHED_CHARTS, key)
    return files if files is not None and set(files) == {f"{name}.png" for name in planned} else None


def keep_charts(cache: Cache, key: str, charts: dict[str, Path]) -> None:
    """Keep the charts drawn (and written: `render_charts`, `write_charts`) under `key`, for the
    next report of the same figures."""
    try:
        files = {Path(path).name: Path(path).read_bytes() for path in charts.values()}
    except OSError:
        return
    cache.put(CACHED_CHARTS, key, files)


# --- the same font for the HTML report -------------------------------------------------------


def font_subset(text: str, configured: str | os.PathLike[str] = "", cache: Cache | None = None) -> bytes:
    """The chart font cut down to the characters of `text` (an OpenType file of ~100 KB).

    Embedded in the HTML report so that it renders the same on a phone, a PC without
    Chinese fonts, or a mail client; the whole font (8 MB) would be too heavy to send.
    With a `cache`, a subset cut before for the same characters of the same font is taken
    from it (cutting one takes about 0.7 s for a district's report).
    """
    located = _locate_font(configured)
    chars = "".join(sorted(set(text)))
    key = _font_key(located, chars) if cache is not None else None
    if key is not None:
        kept = cache.get(CACHED_FONTS, key)
        if kept is not None and FONT_FILE in kept:
            return kept[FONT_FILE]
    data = _cut_font(located.path, chars)
    if key is not None:
        cache.put(CACHED_FONTS, key, {FONT_FILE: data})
    return data


def _font_key(font: _Font, chars: str) -> str | None:
    try:
        return digest("font", _made_with(), _font_identity(font), chars)
    except (OSError, ValueError):  # sources that cannot be read (a zipped install): no cache
        log.debug("font subset not keyed", exc_info=True)
        return None


FONT_FILE = "subset.otf"


def _cut_font(path: Path, chars: str) -> bytes:
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    # fontTools' default layout features: those browsers apply to horizontal text (kern, liga,
    # ccmp, locl, mark …). All of them ("*": vertical forms, proportional widths …) made the
    # subset half as large again and its making a fifth slower, for nothing the page shows.
    options.notdef_outline = True
    options.name_IDs = ["*"]
    # The source font's timestamp, not now: the same report twice is the same bytes.
    # lazy=True (as fontTools' own subsetter loads): only what the subset touches is
    # decompiled, a third faster, with the same output.
    # Closed here: a lazy font keeps its file open, and its tables' cycles would leave that
    # to whichever collection finds them (a ResourceWarning at a random later point).
    # recalcBBoxes=False: the glyphs keep their outlines and bounds; only the font-wide
    # bounding box stays the whole font's, and recomputing it draws every glyph (0.5 s -> 0.3 s).
    with TTFont(os.fspath(path), fontNumber=0, lazy=True, recalcTimestamp=False, recalcBBoxes=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars + "".join(chr(c) for c in range(32, 127)))
        subsetter.subset(font)
        out = io.BytesIO()
        font.save(out)
    return out.getvalue()

