"""The chart process the `report` command starts before it loads the rest of gaopin: the report
takes it instead of starting its own, and one no report took is stopped."""

from __future__ import annotations

import multiprocessing
import shutil

from datetime import date

from gaopin.reports import charting

TODAY = date(2024, 10, 31)  # `settings` and `db`: the sample office's, in conftest.py


def _counted(monkeypatch) -> list[str]:
    fonts: list[str] = []
    original = charting.spawn_chart_worker

    def spawn(font):
        fonts.append(font)
        return original(font)

    monkeypatch.setattr(charting, "spawn_chart_worker", spawn)
    # gaopin.reports.run took the name when it was imported.
    from gaopin.reports import run

    monkeypatch.setattr(run, "spawn_chart_worker", spawn)
    return fonts


def test_the_report_takes_the_process_started_before_it(settings, db, tmp_path, monkeypatch):
    from gaopin.reports.run import run_report

    spawned = _counted(monkeypatch)
    with charting.early_charts(settings):
        assert len(charting._EARLY) == 1
        report = run_report(settings, 8, None, None, db, TODAY, out_dir=tmp_path / "out")
        assert charting._EARLY == []
    assert spawned == [charting.chart_font(settings)]  # one process, not a second
    assert multiprocessing.active_children() == []
    assert {"html", "xlsx", "monthly"} <= set(report["files"])


def test_a_process_no_report_took_is_stopped(settings):
    with charting.early_charts(settings):
        started = charting._EARLY[0]
    assert charting._EARLY == [] and started.warming.done()
    assert multiprocessing.active_children() == []


def test_a_report_with_another_font_starts_its_own(settings, db, tmp_path, monkeypatch):
    from gaopin.reports.run import run_report

    font = shutil.copy(charting.chart_font(settings) or _packaged_font(), tmp_path / "font.otf")
    other = settings.with_values({"report.font": str(font)})
    spawned = _counted(monkeypatch)
    with charting.early_charts(settings):
        run_report(other, 8, None, None, db, TODAY, out_dir=tmp_path / "out")
    assert spawned == [charting.chart_font(settings), str(font)]
    assert multiprocessing.active_children() == []


def _packaged_font() -> str:
    from gaopin.charts import find_cjk_font

    return str(find_cjk_font())
