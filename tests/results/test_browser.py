"""The HTML report in a real browser: headless Chromium draws every plot without JS errors,
the trial table renders and sorts, and HTML in names and values stays text.

Chromium is driven with ``--dump-dom`` (no DevTools client needed): a copy of the report gets a
first script that records errors (and any ``alert``) and a last one that writes what it finds
into the DOM once the page has loaded; the dumped DOM is then read back.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .studies import NASTY
from .studies import NASTY_IMG
from .studies import NASTY_STUDY
from .studies import need

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Parallel coordinates draw with WebGL; without a GPU that is SwiftShader, which Chromium
    # now only uses when asked.
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
]

PROBE_FIRST = """<script>
window.__problems = [];
window.addEventListener("error", function (e) { window.__problems.push("error: " + e.message); });
window.addEventListener("unhandledrejection", function (e) {
  window.__problems.push("rejection: " + e.reason);
});
window.alert = function (m) { window.__problems.push("alert: " + m); };
</script>"""

PROBE_LAST = """<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var table = document.getElementById("trial-table");
    var names = Array.prototype.map.call(table.tHead.rows[0].cells, function (c) {
      return c.textContent;
    });
    var firstNumbers = function () {
      return Array.prototype.slice.call(table.tBodies[0].rows, 0, 3).map(function (r) {
        return r.cells[0].textContent;
      });
    };
    var valueHeader = table.tHead.rows[0].cells[names.indexOf("<i>loss</i>")];
    valueHeader.click();
    var ascending = firstNumbers();
    valueHeader.click();
    var descending = firstNumbers();
    var texts = Array.prototype.map.call(table.tBodies[0].querySelectorAll("td"), function (c) {
      return c.textContent;
    });
    var result = {
      problems: window.__problems,
      plotsDrawn: document.body.getAttribute("data-plots"),
      plotDivs: document.querySelectorAll("div.plot").length,
      mainSvgs: document.querySelectorAll(".main-svg").length,
      parcoords: document.querySelectorAll(".parcoords").length,
      rows: table.tBodies[0].rows.length,
      header: names,
      ascending: ascending,
      descending: descending,
      studyName: document.getElementById("study-name").textContent,
      title: document.title,
      cellTexts: texts,
      scripts: document.scripts.length,
      images: document.images.length,
      sliceTicks: Array.prototype.map.call(document.querySelectorAll(".xtick text"),
        function (t) { return t.textContent; }),
      parallelTicks: Array.prototype.map.call(document.querySelectorAll(".parcoords .tick text"),
        function (t) { return t.textContent; })
    };
    var out = document.createElement("pre");
    out.id = "probe-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  }, 500);
});
</script>"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing; the CI image must have it (apt-get install -y chromium)")
    pytest.skip("Chromium is not installed (apt-get install -y chromium); CI runs this test")


def browse(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_report(store: Path, output: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hpsweep", "report", "--storage", str(store), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_report_renders_in_chromium(nasty_store: Path, tmp_path: Path) -> None:
    need("plotly", "report")
    report = tmp_path / "report.html"
    make_report(nasty_store, report)
    page = report.read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(
        page.replace("<head>", "<head>" + PROBE_FIRST, 1).replace(
            "</body>", PROBE_LAST + "</body>", 1
        )
    )
    dumped = browse(probed, tmp_path, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', dumped.stdout, re.S)
    assert match, dumped.stdout[-2000:]
    result = json.loads(html.unescape(match.group(1)))

    assert result["problems"] == []
    plots = result["plotDivs"]
    assert plots >= 6  # history, parallel, importances, 4 slices, curves
    assert result["plotsDrawn"] == str(plots)
    assert result["mainSvgs"] >= plots
    assert result["parcoords"] >= 1
    assert result["rows"] == 16
    assert result["header"][:4] == ["number", "state", "why", "<i>loss</i>"]
    # Sorting by value: the best first, then the worst first (pruned/failed without a value
    # stay last either way).
    assert result["ascending"][0] == "13" and result["descending"][0] != "13"
    # HTML in the study name, param values and errors is shown as text, never run.
    assert result["studyName"] == NASTY_STUDY
    assert result["title"] == f"hpsweep report: {NASTY_STUDY}"
    assert NASTY in result["cellTexts"] and NASTY_IMG in result["cellTexts"]
    assert "RuntimeError: <b>boom</b>" in result["cellTexts"]
    assert result["images"] == 0  # the <img onerror> value did not become an element
    assert result["scripts"] == 5  # data, plotly.js, the page's own, and the two probes
    # Categorical axes show the values as they are.
    assert NASTY in result["sliceTicks"] and NASTY_IMG in result["sliceTicks"]
    assert NASTY in result["parallelTicks"] and NASTY_IMG in result["parallelTicks"]


def test_report_screenshot(nasty_store: Path, tmp_path: Path) -> None:
    """A picture of the page for people to look at (test-artifacts/report.png)."""
    need("plotly", "report")
    report = tmp_path / "report.html"
    make_report(nasty_store, report)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = browse(report, tmp_path, f"--screenshot={shot}", "--window-size=1400,4200")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
