"""Charts of the monthly report: Chinese glyphs, valid and reproducible PNGs, skipped
charts, font lookup, and no matplotlib global state left behind."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path

import pytest

from gaopin import charts
from gaopin.errors import ConfigError, InputError

SRC = Path(charts.__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

COMMUNITIES = [
    "恰海社区", "桥一社区", "桥二社区", "新村东里社区", "新村西里社区", "万柳园社区", "育芳园社区",
    "东安街头条社区", "花园北路社区", "望园东里社区", "建欣苑社区", "南苑乡新宫村", "看丹南路社区",
    "富丰园社区", "科技园区社区", "樊家村西里社区", "芳古园一区社区", "丰益花园社区", "石榴庄东街社区",
]
CATEGORIES = [
    "城市管理->市容环境->占道经营",
    "住房->物业管理->物业服务->公共设施维修",
    "城乡建设->供热->居民供热->室温不达标",
    "交通管理->停车管理->小区停车->私装地锁",
    "城市管理->噪声污染->施工噪声->夜间施工扰民",
    "劳动和社会保障->劳动关系->拖欠工资",
    "市场管理->消费维权->预付卡退费",
    "城乡建设->供水->居民供水->停水",
    "环境保护->大气污染->餐饮油烟",
    "住房->物业管理->物业服务->电梯故障维修",
]


def _metrics(name: str, rng: random.Random, tickets: int) -> dict:
    valid = max(1, int(tickets * rng.uniform(0.5, 0.8)))
    response = rng.uniform(0.97, 1.0)
    resolution = rng.uniform(0.80, 0.98)
    satisfaction = rng.uniform(0.82, 0.99)
    score = 100 * (0.1 * response + 0.5 * resolution + 0.4 * satisfaction)
    return {
        "name": name,
        "tickets": tickets,
        "valid_callbacks": valid,
        "response_rate": response,
        "resolution_rate": resolution,
        "satisfaction_rate": satisfaction,
        "score": round(score, 2),
        "single_no": rng.randint(0, 5),
        "double_no": rng.randint(0, 3),
        "points_lost": round(100 - score, 2),
    }


def report_fixture(seed: int = 12345) -> dict:
    rng = random.Random(seed)
    months = [_metrics(f"2024-{m:02d}", rng, rng.randint(520, 820)) for m in range(1, 11)]
    communities = [_metrics(name, rng, rng.randint(8, 95)) for name in COMMUNITIES]
    categories = [_metrics(name, rng, n) for name, n in zip(CATEGORIES, (96, 81, 77, 60, 52, 40, 33, 31, 25, 19))]
    counts = [
        [int(rng.randint(0, 3) + (12 if 8 <= h <= 11 else 6 if 13 <= h <= 18 else 0) * (0.6 if d >= 5 else 1))
         for h in range(24)]
        for d in range(7)
    ]
    return {
        "period": {"label": "2024-10", "start": "2024-10-01", "end": "2024-10-31"},
        "street": "新村街道",
        "months": months,
        "by_community": communities,
        "by_category": categories,
        "heatmap": {"weekdays": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"], "hours": list(range(24)), "counts": counts},
        "rankings": [
            {"month": f"2024-{m:02d}", "volume_rank": rng.randint(15, 60), "score_rank": rng.randint(5, 90),
             "city_score": round(rng.uniform(86, 95), 1)}
            for m in range(1, 11)
        ],
    }


# A street's report has every chart but the streets' (a report of several streets has that too).
STREET_CHARTS = [name for name in charts.CHART_NAMES if name != "streets"]


def district_fixture(seed: int = 12345) -> dict:
    """The report of several streets: 20 streets, their communities named with them."""
    rng = random.Random(seed)
    report = report_fixture(seed)
    streets = [f"{name}街道" for name in ("马家堡南", "南苑东", "大红门西", "方庄北", "成寿寺", "长辛路", "丰益", "新村", "云岗南", "看丹东",
                                          "卢沟西", "花乡北", "宛平东", "和义北", "五里店", "东高地南", "青塔西", "玉泉营", "北宫东", "王佐南")]  # fmt: skip
    report["scope"], report["street"] = "district", "20 个街道"
    report["by_street"] = [_metrics(name, rng, rng.randint(600, 800)) for name in streets]
    report["by_community"] = [_metrics(f"{s}·{c}", rng, rng.randint(8, 95)) for s in streets for c in COMMUNITIES[:3]]
    return report


# --- helpers -----------------------------------------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def font_problems():
    """Collect what matplotlib says while drawing: warnings and its log records.

    Yields a dict: "glyph" lists every message about missing glyphs or fonts, "other"
    every other warning (deprecations aside).
    """
    out: dict[str, list[str]] = {"glyph": [], "other": []}
    logger = logging.getLogger("matplotlib")
    handler = _Records()
    old_level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    messages = [(w.category, str(w.message)) for w in caught]
    messages += [(None, r.getMessage()) for r in handler.records]
    for category, text in messages:
        if "Glyph" in text or "missing from font" in text or "findfont" in text:
            out["glyph"].append(text)
        elif category is None or not issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
            out["other"].append(text)


def dejavu() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk."""
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The full report rendered once: (paths, font problems)."""
    out = tmp_path_factory.mktemp("charts")
    with font_problems() as problems:
        paths = charts.render_charts(report_fixture(), out / "2024-10")
    return paths, problems


# --- rendering ---------------------------------------------------------------------------


def test_every_chart_is_drawn_without_missing_glyphs(rendered):
    paths, problems = rendered
    assert list(paths) == STREET_CHARTS
    assert problems["glyph"] == []
    assert problems["other"] == []


def test_pngs_are_valid_and_phone_sized(rendered):
    import matplotlib.image

    paths, _ = rendered
    for name, path in paths.items():
        assert path.name == f"{name}.png"
        data = path.read_bytes()
        width, height = png_size(data)
        assert width == int(charts.WIDTH_IN * charts.DPI) == 1200
        assert height >= int(charts.HEIGHT_IN * charts.DPI) == 675
        pixels = matplotlib.image.imread(path)
        assert pixels.shape[:2] == (height, width)
        assert pixels.std() > 0.05  # something was drawn
    # 19 communities get a taller chart so that each name stays legible.
    assert png_size(paths["communities"].read_bytes())[1] > 675
    assert not [p for p in paths["monthly"].parent.iterdir() if p.name.startswith(".")]  # no temp files left


def idat_zlib_level(data: bytes) -> int:
    """The compression level class (FLEVEL: 0 fastest … 3 best) in the zlib header of the first IDAT chunk."""
    at = 8
    while data[at + 4 : at + 8] != b"IDAT":
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    return data[at + 9] >> 6


def test_pngs_are_compressed_for_speed_with_the_pixels_of_the_default_level(rendered, monkeypatch):
    import io

    from PIL import Image

    paths, _ = rendered
    monkeypatch.setattr(charts, "PNG_COMPRESS_LEVEL", 6)  # Pillow's default
    default = charts.draw_charts(report_fixture())
    assert list(default) == list(paths)
    for name, path in paths.items():
        data = path.read_bytes()
        # zlib levels 2–5 (gaopin's 3) are class 1; level 6 is class 2, a third slower to encode.
        assert idat_zlib_level(data) == 1 and idat_zlib_level(default[name]) == 2, name
        assert data != default[name]
        assert Image.open(io.BytesIO(data)).tobytes() == Image.open(io.BytesIO(default[name])).tobytes(), name


def test_same_data_gives_byte_identical_pngs(rendered, tmp_path):
    paths, _ = rendered
    again = charts.render_charts(report_fixture(), tmp_path)
    assert list(again) == list(paths)
    for name in paths:
        assert again[name].read_bytes() == paths[name].read_bytes(), name


def test_each_chart_is_drawn_once_into_the_bytes_savefig_writes(monkeypatch):
    """`_png` draws a figure once (`savefig` lays a constrained figure out in a draw of its
    own, then draws it again), and gives the bytes `savefig` gives for the same chart."""
    import io

    from matplotlib.figure import Figure

    draws: list[int] = []
    real_draw, real_png = Figure.draw, charts._png
    monkeypatch.setattr(Figure, "draw", lambda self, renderer: (draws.append(id(self)), real_draw(self, renderer))[1])

    def counted(fig):
        draws.clear()
        data = real_png(fig)
        assert draws == [id(fig)]
        return data

    def saved(fig):
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=charts.DPI, metadata={"Software": None}, pil_kwargs={"compress_level": charts.PNG_COMPRESS_LEVEL})
        return out.getvalue()

    for report, names in ((report_fixture(), STREET_CHARTS), (district_fixture(), list(charts.CHART_NAMES))):
        monkeypatch.setattr(charts, "_png", counted)
        drawn = charts.draw_charts(report)
        monkeypatch.setattr(charts, "_png", saved)
        reference = charts.draw_charts(report)
        assert list(drawn) == list(reference) == names
        for name in drawn:
            assert drawn[name] == reference[name], name


def test_the_glyph_check_fails_without_a_cjk_font(monkeypatch, tmp_path):
    """What the first test guards against: with only DejaVu Sans, Chinese is boxes."""
    monkeypatch.setattr(charts, "_locate_font", lambda configured="": charts._Font(dejavu(), "DejaVu Sans"))
    report = {"period": {"label": "2024-10"}, "street": "测试街道", "by_category": [{"name": "验证缺字警告", "tickets": 3}]}
    with font_problems() as problems:
        written = charts.render_charts(report, tmp_path)
    assert list(written) == ["categories"]
    assert problems["glyph"], "a Chinese title drawn with DejaVu Sans should warn about missing glyphs"
    assert any("DejaVu Sans" in text for text in problems["glyph"])


def test_charts_with_no_data_are_skipped_and_need_no_font(monkeypatch, tmp_path):
    def no_font(configured=""):
        raise AssertionError("no chart to draw: the font must not be looked up")

    monkeypatch.setattr(charts, "_locate_font", no_font)
    none_metrics = dict.fromkeys(("tickets", "response_rate", "resolution_rate", "satisfaction_rate", "score"))
    report = {
        "period": {"label": "2024-10", "start": "2024-10-01", "end": "2024-10-31"},
        "street": "新村街道",
        "months": [{"name": f"2024-{m:02d}", **none_metrics} for m in range(1, 11)],
        "by_community": [{"name": "恰海社区", **none_metrics}],
        "by_category": [],
        "heatmap": {"weekdays": ["周一"], "hours": [0, 1], "counts": [[0, 0]]},
        "rankings": None,
    }
    assert charts.render_charts(report, tmp_path / "out") == {}
    assert charts.render_charts({}, tmp_path / "out") == {}
    report["rankings"] = [{"month": "2024-01", "volume_rank": None, "score_rank": None, "city_score": None}]
    assert charts.render_charts(report, tmp_path / "out") == {}


def test_some_missing_values_are_gaps_not_errors(tmp_path):
    report = report_fixture()
    for key in ("score", "response_rate", "satisfaction_rate"):
        report["months"][3][key] = None
    report["months"][5]["resolution_rate"] = float("nan")
    report["months"][6]["tickets"] = None
    for key in ("response_rate", "resolution_rate", "satisfaction_rate"):  # one series wholly missing
        report["months"][0][key] = None
    report["by_community"][2]["score"] = None  # no valid callback: shown as such, not dropped
    report["by_category"][0]["name"] = "费用$A$->收费$B$问题"  # `$` must not start mathtext
    report["rankings"][2]["city_score"] = None
    report["rankings"][4]["score_rank"] = None
    del report["heatmap"]
    with font_problems() as problems:
        written = charts.render_charts(report, tmp_path)
    assert list(written) == ["monthly", "rates", "communities", "categories", "rankings"]
    assert problems["glyph"] == [] and problems["other"] == []


def test_the_rankings_chart_is_titled_as_the_district_publishes_them():
    """It read 全市排名 where the headline says 区内排名 and the rankings are the district's (review D8)."""
    report = report_fixture()
    fig = charts._draw_rankings(report, charts._prepare_rankings(report))
    assert fig._suptitle.get_text() == "新村街道 区内排名（2024-01 至 2024-10）"


def test_rankings_chart_only_with_rankings_and_stale_files_removed(tmp_path):
    report = {"period": {"label": "2024-10"}, "street": "新村街道", "rankings": report_fixture()["rankings"][:3]}
    assert list(charts.render_charts(report, tmp_path)) == ["rankings"]
    assert (tmp_path / "rankings.png").is_file()
    report["rankings"] = None
    assert charts.render_charts(report, tmp_path) == {}
    assert not (tmp_path / "rankings.png").exists()  # the folder matches what was returned
    report["rankings"] = []
    assert charts.render_charts(report, tmp_path) == {}


def test_bad_heatmap_shape_is_a_bug_not_a_chart(tmp_path):
    report = {"heatmap": {"weekdays": ["周一", "周二"], "hours": [0, 1, 2], "counts": [[1, 2, 3], [4, 5]]}}
    with pytest.raises(ValueError, match="heatmap"):
        charts.render_charts(report, tmp_path)


def test_unusable_output_folder_is_an_input_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = {"by_category": [{"name": "a->b", "tickets": 1}]}
    with pytest.raises(InputError, match="无法创建输出目录"):
        charts.render_charts(report, blocker / "charts")


def test_category_labels_are_shortened_and_kept_apart():
    assert charts.short_category("城市管理->市容环境->占道经营") == "…市容环境›占道经营"
    assert charts.short_category("咨询->政策") == "咨询›政策"
    assert charts.short_category("其他") == "其他"
    assert charts.short_category(" 住房 -> 物业管理 ->物业服务->公共设施维修") == "…物业服务›公共设施维修"
    long = charts.short_category("城市管理->一个非常非常长的二级分类名称->另一个非常非常长的三级分类名称")
    assert len(long) <= 16 and long.startswith("…") and long.endswith("三级分类名称")
    labels = charts.short_categories(["甲->乙->丙->丁", "戊->己->丙->丁", "甲->乙"])
    assert labels[2] == "甲›乙"
    assert labels[0] != labels[1] and labels[0].endswith("丙›丁") and labels[1].endswith("丙›丁")


# --- fonts -------------------------------------------------------------------------------


def test_default_font_is_the_packaged_noto_sans_sc():
    import pylopdf_fonts_zh_cn

    path = charts.find_cjk_font()
    assert path.name == "NotoSansSC-Regular.otf"
    assert path.resolve() == pylopdf_fonts_zh_cn.sans_path().resolve()
    assert charts.find_cjk_font("") == path and charts.find_cjk_font("  ") == path


def test_configured_font_is_used_when_it_has_chinese():
    packaged = charts.find_cjk_font()
    assert charts.find_cjk_font(str(packaged)) == packaged


@pytest.mark.parametrize("kind", ["missing", "folder", "not_a_font", "no_chinese"])
def test_bad_configured_font_names_the_setting(tmp_path, kind):
    target = {
        "missing": tmp_path / "没有这个字体.otf",
        "folder": tmp_path,
        "not_a_font": tmp_path / "font.ttf",
        "no_chinese": dejavu(),
    }[kind]
    if kind == "not_a_font":
        target.write_text("这不是字体", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        charts.find_cjk_font(str(target))
    assert "[report] font" in str(info.value)
    if kind == "no_chinese":
        assert "不含中文字形" in info.value.message


def test_no_font_anywhere_is_a_config_error_in_chinese(monkeypatch, tmp_path):
    monkeypatch.setattr(charts, "_packaged_font", lambda: None)
    monkeypatch.setattr(charts, "_system_font", lambda: None)
    with pytest.raises(ConfigError) as info:
        charts.find_cjk_font()
    assert "找不到可用于图表的中文字体" in info.value.message
    assert "pylopdf-fonts-zh-cn" in info.value.hint and "[report] font" in info.value.hint
    with pytest.raises(ConfigError):  # and nothing is half-written
        charts.render_charts(report_fixture(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_system_cjk_font_is_found_through_the_font_manager(monkeypatch):
    from matplotlib import font_manager

    packaged = str(charts.find_cjk_font())
    entries = [
        font_manager.FontEntry(fname="/fonts/DejaVuSans.ttf", name="DejaVu Sans"),
        font_manager.FontEntry(fname="/fonts/wqy-zenhei.ttc", name="WenQuanYi Zen Hei"),
        font_manager.FontEntry(fname="/fonts/NotoSansCJK-Bold.ttc", name="Noto Sans CJK SC", weight=700, index=2),
        font_manager.FontEntry(fname=packaged, name="Noto Sans CJK SC", weight=400, index=2),
    ]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", entries)
    monkeypatch.setattr(charts, "_packaged_font", lambda: None)
    assert charts.find_cjk_font() == Path(packaged)  # preferred family, regular weight
    assert charts._locate_font().family == "Noto Sans CJK SC"
    monkeypatch.setattr(font_manager.fontManager, "ttflist", entries[:2])
    assert charts.find_cjk_font() == Path("/fonts/wqy-zenhei.ttc")


# --- global state ------------------------------------------------------------------------


def test_rcparams_are_unchanged_and_do_not_change_the_charts(tmp_path):
    import matplotlib

    report = {k: v for k, v in report_fixture().items() if k in ("period", "street", "months")}
    plain = charts.render_charts(report, tmp_path / "plain")
    before = dict(matplotlib.rcParams.copy())
    user_style = {"font.size": 23, "lines.linewidth": 7, "axes.prop_cycle": matplotlib.cycler(color=["k"])}
    with matplotlib.rc_context(user_style):
        inside = dict(matplotlib.rcParams.copy())
        styled = charts.render_charts(report, tmp_path / "styled")
        assert dict(matplotlib.rcParams.copy()) == inside
    assert dict(matplotlib.rcParams.copy()) == before
    for name in plain:  # a user's rc settings do not reach the report
        assert styled[name].read_bytes() == plain[name].read_bytes()


def _run(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MPL", "XDG_"))}
    base["PYTHONPATH"] = str(SRC)
    return subprocess.run(
        [sys.executable, "-c", code], env={**base, **(env or {})}, capture_output=True, text=True, timeout=60
    )


def test_no_pyplot_and_no_import_before_use(tmp_path):
    data = tmp_path / "report.json"
    data.write_text(json.dumps(report_fixture(), ensure_ascii=False), encoding="utf-8")
    code = f"""
import json, sys
from pathlib import Path
import gaopin.charts
state = {{"after_import": "matplotlib" in sys.modules}}
report = json.loads(Path({str(data)!r}).read_text(encoding="utf-8"))
written = gaopin.charts.render_charts(report, Path({str(tmp_path / "out")!r}))
state["written"] = sorted(written)
state["pyplot"] = "matplotlib.pyplot" in sys.modules
import matplotlib
state["backend"] = matplotlib.rcParams._get_backend_or_none()
print(json.dumps(state))
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state == {"after_import": False, "written": sorted(STREET_CHARTS), "pyplot": False, "backend": None}


def test_cli_help_does_not_import_matplotlib():
    # Looked at as the process ends (the entry ends it itself once the exit handlers have run).
    code = """
import atexit, runpy, sys
atexit.register(lambda: print("MPL" if "matplotlib" in sys.modules else "NO-MPL"))
sys.argv = ["gaopin", "--help"]
runpy.run_module("gaopin", run_name="__main__")
"""
    done = _run(code)
    assert done.stdout.strip().endswith("NO-MPL"), done.stdout + done.stderr


def test_unwritable_home_gets_a_private_matplotlib_dir(tmp_path):
    home = tmp_path / "home"
    home.write_text("a file, so nothing can be created under it")
    temp = tmp_path / "tmp"
    temp.mkdir()
    code = """
import json, os, stat
import gaopin.charts as c
c.prepare_matplotlib_env()
first = os.environ.get("MPLCONFIGDIR")
del os.environ["MPLCONFIGDIR"]
c.prepare_matplotlib_env()
assert os.environ["MPLCONFIGDIR"] == first  # the same folder next run: the font cache is kept
import matplotlib
print(json.dumps({"dir": first, "config": matplotlib.get_configdir(), "mode": stat.S_IMODE(os.stat(first).st_mode)}))
"""
    done = _run(code, {"HOME": str(home), "TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert Path(state["dir"]).parent == temp and Path(state["config"]) == Path(state["dir"])
    assert state["mode"] == 0o700
    assert "temporary cache directory" not in done.stderr


def test_writable_home_or_explicit_mplconfigdir_is_left_alone(tmp_path):
    code = 'import os, gaopin.charts as c; c.prepare_matplotlib_env(); print(os.environ.get("MPLCONFIGDIR", "-"))'
    home = tmp_path / "home"
    home.mkdir()
    assert _run(code, {"HOME": str(home)}).stdout.strip() == "-"
    assert (home / ".config" / "matplotlib").is_dir()
    assert _run(code, {"HOME": str(tmp_path / "f"), "MPLCONFIGDIR": "/somewhere"}).stdout.strip() == "/somewhere"


def test_a_district_shows_the_communities_that_lost_most():
    from gaopin.charts import MAX_COMMUNITY_BARS, _prepare_communities

    communities = [{"name": f"社区{i:03d}", "score": 90 + (i % 10) / 2, "tickets": 10 + i, "points_lost": float(i)} for i in range(100)]
    data = _prepare_communities({"by_community": communities, "months": []})
    names = {r[0] for r in data["rows"]}
    assert len(names) == MAX_COMMUNITY_BARS and data["hidden"] == 100 - MAX_COMMUNITY_BARS
    assert names == {f"社区{i:03d}" for i in range(60, 100)}  # the 40 that lost most
    small = _prepare_communities({"by_community": communities[:19], "months": []})
    assert len(small["rows"]) == 19 and small["hidden"] == 0


def test_the_font_subset_keeps_the_source_timestamp():
    # Re-stamping the subset with the time of the run made two runs of one report differ.
    import io

    from fontTools.ttLib import TTFont

    subset = TTFont(io.BytesIO(charts.font_subset("高频诉求台账")))
    source = TTFont(os.fspath(charts.find_cjk_font("")), fontNumber=0, lazy=True)
    assert subset["head"].modified == source["head"].modified
    assert "頻" not in "".join(chr(c) for c in subset.getBestCmap()) and "频" in "".join(chr(c) for c in subset.getBestCmap())


# --- what a second process is sent ---------------------------------------------------------------


class _Reads(dict):
    """A report that notes every key read from it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)


def test_the_charts_read_only_the_chart_keys(tmp_path):
    report = _Reads({**report_fixture(), "ledger": {"entries": []}, "escalations": []})
    charts.render_charts(report, tmp_path)
    assert report.read and report.read <= set(charts.CHART_KEYS)


def test_charts_from_the_chart_input_are_the_same(rendered, tmp_path):
    paths, _ = rendered
    report = {**report_fixture(), "ledger": {"entries": [{"id": "GP-1"}]}, "escalations": [{"ticket_id": "T1"}]}
    assert set(charts.chart_input(report)) == set(charts.CHART_KEYS) & set(report)
    again = charts.render_charts(charts.chart_input(report), tmp_path)
    assert {n: p.read_bytes() for n, p in again.items()} == {n: p.read_bytes() for n, p in paths.items()}


def test_planned_charts_are_those_drawn(tmp_path):
    full = report_fixture()
    assert charts.planned_charts(full) == STREET_CHARTS
    assert charts.planned_charts(district_fixture()) == list(charts.CHART_NAMES)
    partial = {**full, "rankings": None, "heatmap": {}}
    assert charts.planned_charts(partial) == list(charts.render_charts(partial, tmp_path)) == ["monthly", "rates", "communities", "categories"]
    assert charts.planned_charts({}) == []


def test_warm_up_leaves_errors_to_the_drawing(tmp_path):
    charts.warm_up(tmp_path / "none.otf")  # no error here
    with pytest.raises(ConfigError):
        charts.render_charts(report_fixture(), tmp_path, tmp_path / "none.otf")


def test_font_subset_closes_the_font_file():
    import gc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        charts.font_subset("受理量")
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_scores_are_labelled_with_two_decimals_rounded_as_the_workbook_shows_them():
    # 98.125 is exact in binary: Python's f"{:.2f}" rounds it to even (98.12), the workbook's
    # 0.00 shows 98.13. The charts used one decimal (98.1) where the tables use two.
    from matplotlib.text import Text

    months = [{"name": "2024-07", "tickets": 40, "score": 97.75}, {"name": "2024-08", "tickets": 80, "score": 96.125}]
    communities = [{"name": "恰海社区", "score": 98.125, "tickets": 37}, {"name": "桥一社区", "score": 95.955, "tickets": 5}]
    report = {"street": "新村街道", "period": {"label": "2024-08"}, "months": months, "by_community": communities}
    texts = set()
    for chart in (c for c in charts.CHARTS if c.name in ("monthly", "communities")):
        fig = chart.draw(report, chart.prepare(report))
        texts |= {t.get_text() for t in fig.findobj(Text)}
    assert {"97.75", "96.13", "98.13分 · 37件", "95.96分 · 5件", "全街道 96.13 分"} <= texts


@pytest.mark.parametrize(
    "scores",
    [[35.22, 30.46, 38.10, 36.0], [99.5, 60.0, 80.0, 70.0], [95.0, 95.0, 95.0, 95.0]],
)
def test_the_score_line_and_its_labels_stay_above_the_bars_and_their_counts(scores):
    """The lowest score's point and label sat on the bars' counts (review D10: 30.46 over "45")."""
    months = [{"name": f"2024-0{m}", "tickets": 0, "score": None} for m in range(1, 5)]
    months += [{"name": f"2024-0{m}", "tickets": t, "score": s} for m, t, s in zip(range(5, 9), (46, 45, 44, 45), scores)]
    report = {"street": "新村街道", "period": {"label": "2024-08"}, "months": months}
    fig = charts._draw_monthly(report, charts._prepare_monthly(report))
    with warnings.catch_warnings():  # only the texts' places are looked at, not their glyphs
        warnings.simplefilter("ignore")
        fig.canvas.draw()
    bars_ax, line_ax = fig.axes[0], fig.axes[1]
    counts_top = max(t.get_window_extent().y1 for t in bars_ax.texts)
    line = line_ax.lines[0]
    radius = line.get_markersize() / 2 * fig.dpi / 72
    lowest_point = min(y for _, y in line.get_transform().transform(line.get_xydata())[4:]) - radius
    labels_bottom = min(t.get_window_extent().y0 for t in line_ax.texts)
    assert counts_top < lowest_point and counts_top < labels_bottom
    # and below the plot's top, where the title is
    assert max(t.get_window_extent().y1 for t in line_ax.texts) <= line_ax.get_window_extent().y1


def test_the_groups_subtitle_names_the_counts_as_the_bars_write_them():
    """It said 括注为受理量 ("in brackets") over labels written "98.13分 · 37件" (review D10)."""
    report = report_fixture()
    fig = charts._draw_groups(report, charts._prepare_communities(report))
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels and all("分 · " in label and label.endswith("件") for label in labels)
    assert fig.axes[0].get_title(loc="left").startswith("统计区间：2024-10-01 至 2024-10-31；“·”后的件数为受理量")


def test_a_report_of_several_streets_draws_its_streets_and_names_the_whole_all_streets(tmp_path):
    report = district_fixture()
    with font_problems() as problems:
        written = charts.render_charts(report, tmp_path)
    assert list(written) == list(charts.CHART_NAMES)
    assert problems["glyph"] == [] and problems["other"] == []
    data = charts._prepare_streets(report)
    assert data["what"] == "街道" and len(data["rows"]) == 20 and not data["hidden"]
    texts = [t.get_text() for t in charts._draw_groups(report, data).findobj(lambda a: hasattr(a, "get_text"))]
    assert any("各街道综合成绩" in t for t in texts) and any(t.startswith("全部街道 ") for t in texts)
    communities = charts._draw_groups(report, charts._prepare_communities(report))
    labels = [t.get_text() for t in communities.axes[0].get_yticklabels()]
    assert len(labels) == charts.MAX_COMMUNITY_BARS and all("·" in label and not label.endswith("…") for label in labels)
    assert charts._prepare_streets(report_fixture()) is None  # one street: no streets chart


def test_texts_the_fonts_cannot_draw_give_no_warning_on_the_terminal(tmp_path):
    """A community with a vertical tab pasted from Word, an emoji or 𠮷 (a CJK Ext-B character)
    printed matplotlib's "Glyph … missing" warnings with source paths on stderr (review of
    round 13); such characters are drawn as □, control characters as spaces."""
    report = report_fixture()
    report["by_community"][0]["name"] = "恰海\x0b社区😀𠮷"
    with font_problems() as problems:
        paths = charts.render_charts(report, tmp_path / "out")
    assert "communities" in paths
    assert problems["glyph"] == [] and problems["other"] == []
    assert charts._drawable({"a": ["恰海\x0b社区😀𠮷", 3]}, charts._locate_font("")) == {"a": ["恰海 社区□□", 3]}
    assert charts._drawable("新村街道·东和社区（2024-08）", charts._locate_font("")) == "新村街道·东和社区（2024-08）"


# --- the cache (gaopin.cache) -------------------------------------------------------------


def test_a_cached_font_subset_is_the_subset_cut_again(tmp_path, monkeypatch):
    from gaopin.cache import Cache

    cache = Cache(tmp_path / "cache")
    cut = charts.font_subset("高频诉求台账", cache=cache)
    assert cut == charts.font_subset("高频诉求台账")

    def no_cutting(*args):
        raise AssertionError("cut again")

    monkeypatch.setattr(charts, "_cut_font", no_cutting)
    assert charts.font_subset("账台求诉频高高", cache=cache) == cut  # the same characters
    with pytest.raises(AssertionError, match="cut again"):
        charts.font_subset("高频诉求台账。", cache=cache)  # one more character


def test_the_charts_key_follows_what_they_are_drawn_from(tmp_path):
    report = report_fixture()
    key = charts.chart_key(report)
    assert key is not None and key == charts.chart_key(report_fixture())
    assert charts.chart_key({**report, "ledger": {"entries": [1]}, "escalations": [2]}) == key  # not drawn
    changed = report_fixture()
    changed["by_community"][3]["score"] = 12.5
    assert charts.chart_key(changed) != key
    assert charts.chart_key({**report, "street": "东风街道"}) != key
    font = tmp_path / "font.otf"
    font.write_bytes(charts.find_cjk_font().read_bytes())
    assert charts.chart_key(report, font) == key  # the same bytes elsewhere draw the same pictures
    with open(font, "ab") as fh:
        fh.write(b"\0" * 4)  # other bytes: another font to the key (see test_cache)
    assert charts.chart_key(report, font) not in (None, key)
    assert charts.chart_key(report, tmp_path / "missing.otf") is None  # drawing says what is wrong


def test_kept_charts_are_written_only_when_they_are_the_planned_ones(tmp_path):
    from gaopin.cache import Cache, digest

    files = {"monthly.png": b"m", "rates.png": b"r"}
    cache, key, none = Cache(tmp_path / "cache"), digest("kept"), digest("none")
    cache.put("charts", key, files)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    assert charts.kept_charts(cache, none, ["monthly"], tmp_path) is None
    assert charts.kept_charts(cache, key, ["monthly"], tmp_path) is None
    assert charts.kept_charts(cache, key, ["monthly", "rates", "heatmap"], tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    written = charts.kept_charts(cache, key, ["rates", "monthly"], tmp_path)
    assert list(written) == ["rates", "monthly"]
    assert {p.name: p.read_bytes() for p in written.values()} == files
    assert {oct(os.stat(p).st_mode & 0o777) for p in written.values()} == {"0o600"}


def test_without_readable_sources_nothing_is_cached_and_nothing_fails(tmp_path, monkeypatch):
    from gaopin.cache import Cache

    def unreadable():
        raise OSError(2, "No such file or directory")

    monkeypatch.setattr(charts, "_made_with", unreadable)
    cache = Cache(tmp_path / "cache")
    assert charts.chart_key(report_fixture()) is None
    assert charts.font_subset("高频", cache=cache) == charts.font_subset("高频")
    assert not (tmp_path / "cache").exists()


def test_the_charts_are_drawn_with_the_located_file_when_another_has_its_family_name(tmp_path):
    """A user's own Noto Sans SC, listed first by matplotlib, was drawn instead of the packaged
    file that the page's font is cut from and the report cache names (review G)."""
    installed = tmp_path / "NotoSansSC-Regular.otf"
    installed.write_bytes(charts.find_cjk_font().read_bytes())
    code = f"""
import os
from gaopin import charts
charts.prepare_matplotlib_env()
from matplotlib import font_manager
manager = font_manager.fontManager
manager.addfont({str(installed)!r})
mine = [e for e in manager.ttflist if e.fname == {str(installed)!r}]
manager.ttflist[:] = mine + [e for e in manager.ttflist if e not in mine]  # as a system font is listed
located = charts._locate_font()
family = charts._register(located)
found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
print(os.path.realpath(found) == os.path.realpath(located.path), family)
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == "True", done.stdout


def test_charts_drawn_in_memory_are_the_files_render_charts_writes(rendered):
    paths, _ = rendered
    drawn = charts.draw_charts(report_fixture())
    assert list(drawn) == list(paths)
    assert drawn == {name: Path(path).read_bytes() for name, path in paths.items()}


def test_written_charts_replace_the_folders_and_remove_the_ones_not_drawn(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    (tmp_path / "heatmap.png").write_bytes(b"an earlier report's")
    (tmp_path / "notes.txt").write_text("the user's")
    written = charts.write_charts({"rates": b"\x89PNG rates"}, tmp_path)
    assert written == {"rates": tmp_path / "rates.png"}
    assert (tmp_path / "rates.png").read_bytes() == b"\x89PNG rates"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "rates.png"]
    assert oct((tmp_path / "rates.png").stat().st_mode & 0o777) == "0o600"


def test_a_chart_key_from_the_text_given_is_the_key_of_the_report():
    report = report_fixture()
    assert charts.chart_key(report, "", charts.chart_text(report)) == charts.chart_key(report)
    assert charts.chart_key(report, "", "other figures") != charts.chart_key(report)


def test_a_claim_is_won_once_and_a_lock_never_had_counts_as_won():
    import multiprocessing
    import threading

    claims = multiprocessing.get_context("spawn").Value("q", 0)
    assert charts.claim(claims, 1) and not charts.claim(claims, 1)  # the other side loses
    assert charts.claim(claims, 2) and not charts.claim(claims, 2)
    held, done = threading.Event(), threading.Event()

    def holder():  # as a process killed inside claim would leave the lock
        with claims.get_lock():
            held.set()
            done.wait(60)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(60)
        assert charts.claim(claims, 2, wait_s=0.1)  # taken here, not waited for forever
    finally:
        done.set()
        thread.join()
