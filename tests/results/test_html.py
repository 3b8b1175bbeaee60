"""The HTML page, without a browser: self-contained, escaped, one div per plot."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from hpsweep._errors import HpsweepError
from hpsweep.engine import load_study
from hpsweep.engine import open_store
from hpsweep.results._figures import ReportData
from hpsweep.results._figures import figures
from hpsweep.results._figures import report_data
from hpsweep.results._html import render_html

from .studies import NASTY
from .studies import NASTY_IMG
from .studies import NASTY_STUDY
from .studies import need


@pytest.fixture(autouse=True)
def _plotly() -> None:
    need("plotly", "report")


def load(path: Path) -> ReportData:
    store = open_store(str(path), readonly=True)
    try:
        return report_data(load_study(store, None), store.display_url)
    finally:
        store.close()


def test_the_page_is_self_contained(nasty_store: Path) -> None:
    report = load(nasty_store)
    page = render_html(report)
    assert page.count("* plotly.js v") == 1  # the library, inlined once
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", page)
    divs = re.findall(r'<div class="plot[^"]*" id="fig-(\d+)"></div>', page)
    assert [int(d) for d in divs] == list(range(figures(report).count))
    assert 'id="trial-table"' in page and page.count("<tr class=") == 16


def test_user_strings_are_escaped_everywhere(nasty_store: Path) -> None:
    page = render_html(load(nasty_store))
    for raw in (NASTY_STUDY, NASTY, NASTY_IMG, "<b>boom</b>", "<i>loss</i>"):
        assert raw not in page
    assert "<title>hpsweep report: &lt;script&gt;alert(&quot;study&quot;)" in page
    assert ">RuntimeError: &lt;b&gt;boom&lt;/b&gt;</td>" in page


def test_report_data_reads_the_study(nasty_store: Path) -> None:
    report = load(nasty_store)
    assert report.info.name == NASTY_STUDY and report.objectives == ("<i>loss</i>",)
    assert list(report.params) == ["lr", "layers", "act", "momentum"]
    assert report.params["act"].choices == ("relu", NASTY, NASTY_IMG)
    (importance,) = report.importances
    assert set(importance.values) == {"lr", "layers", "act", "momentum"}


def test_several_objectives_get_a_pareto_section(multi_store: Path) -> None:
    report = load(multi_store)
    page = render_html(report)
    assert '<section id="pareto">' in page and '<section id="curves">' not in page
    assert len(figures(report).histories) == 2


def test_without_plotly_the_error_names_the_extra(
    nasty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = load(nasty_store)
    for name in ("plotly", "plotly.io", "plotly.offline"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(HpsweepError, match=r"pip install 'hpsweep\[report\]'"):
        render_html(report)
