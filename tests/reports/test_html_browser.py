"""The HTML report in a real headless Chromium (skipped only where the OS has no Chromium).

The report is served over HTTP from a local server; a wrapper page on the same origin loads it
in a phone-sized iframe and records what the browser actually rendered: every chart decoded,
the Chinese headings present, and no sideways scrolling of the page on a phone.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from gaopin.config import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine")

PROBE = """<!DOCTYPE html><html><body><iframe id="f" src="report.html" style="width:390px;height:800px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, w = this.contentWindow;
  d.fonts.load('16px "GaopinCJK"', '社区').then(function (faces) { report(d, w, faces.length); }, function () { report(d, w, -1); });
});
function report(d, w, faces) {
  var imgs = Array.prototype.slice.call(d.images);
  var out = {
    font: faces,
    fontReady: d.fonts.check('16px "GaopinCJK"', '社区'),
    images: imgs.length,
    decoded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    title: d.querySelector('h1').textContent,
    headings: Array.prototype.map.call(d.querySelectorAll('h2'), function (h) { return h.textContent; }),
    overflow: d.documentElement.scrollWidth - w.innerWidth
  };
  var pre = document.createElement('pre'); pre.id = 'result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}
</script></body></html>"""


def chromium(*args: str) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
    result = subprocess.run([BROWSER, *flags, *args], capture_output=True, text=True, timeout=120)
    return result.stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from gaopin.io.load import load
    from gaopin.reports.monthly import build_report, read_rankings
    from gaopin.reports.run import write_report

    settings = load_settings(SAMPLE / "gaopin.toml", environ={})
    report = build_report(load([SAMPLE / "tickets.xlsx"], settings), settings, 2024, 8, rankings=read_rankings(SAMPLE / "rankings.csv"))
    out = tmp_path_factory.mktemp("html") / "2024-08"
    write_report(report, out, settings)
    (out / "probe.html").write_text(PROBE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_report_renders_in_chromium_on_a_phone(served, tmp_path):
    out, base = served
    dom = chromium("--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", f"{base}/probe.html")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["images"] >= 6 and result["decoded"] == result["images"]
    # The embedded subset of the chart font is accepted and holds the page's Chinese characters.
    assert result["font"] == 1 and result["fontReady"], result
    assert result["title"] == "新村街道 接诉即办月度报告"
    assert "社区" in result["headings"] and "单否 / 双否工单（21 件）" in result["headings"]
    assert result["overflow"] <= 0, "the page scrolls sideways on a phone"


def test_a_screenshot_for_the_developer(served, tmp_path):
    out, base = served
    shot = Path(os.environ.get("REPORT_SCREENSHOT", tmp_path / "report.png"))
    chromium("--virtual-time-budget=10000", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=390,2400", f"--screenshot={shot}", f"{base}/report.html")
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
