"""The HTML report: one self-contained file (plotly.js inlined once; no network to view it).

Thin on purpose: :mod:`hpsweep.results._figures` computes what to show; this only turns it into
plotly figures and markup. Every user string (study and param names, values, errors) is escaped:
``html.escape`` in markup, and the same in plotly text, which plotly reads as HTML-like markup
and whose entities it shows as the characters (except parallel-coordinates tick labels, which
plotly draws as plain text).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import TYPE_CHECKING
from typing import Any

from hpsweep._errors import HpsweepError
from hpsweep.results._figures import Curves
from hpsweep.results._figures import Figures
from hpsweep.results._figures import History
from hpsweep.results._figures import Importances
from hpsweep.results._figures import Parallel
from hpsweep.results._figures import Pareto
from hpsweep.results._figures import ReportData
from hpsweep.results._figures import Slice
from hpsweep.results._figures import TrialTable
from hpsweep.results._figures import figures as compute_figures
from hpsweep.results._text import duration
from hpsweep.results._text import number

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOTLY_HINT = "the HTML report needs plotly; install it with: pip install 'hpsweep[report]'"
_CURVE_COLORS = {
    "complete": "rgba(31, 119, 180, 0.55)",
    "pruned": "rgba(150, 150, 150, 0.45)",
    "other": "rgba(214, 39, 40, 0.45)",
}


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: ReportData) -> str:
    """The whole page for ``report``."""
    try:
        import plotly.io as pio
        from plotly.offline import get_plotlyjs
    except ImportError:
        raise HpsweepError(PLOTLY_HINT) from None

    figs = compute_figures(report)
    sections: list[str] = []
    plots: list[str] = []  # the JSON of each figure, in the order of the divs

    def plot(figure: go.Figure, css: str = "plot") -> str:
        plots.append(pio.to_json(figure, validate=False, pretty=False))
        return f'<div class="{css}" id="fig-{len(plots) - 1}"></div>'

    if figs.histories:
        sections.append(
            _section("history", "Optimization history", *map(plot, map(_history, figs.histories)))
        )
    if figs.paretos:
        sections.append(_section("pareto", "Pareto front", *map(plot, map(_pareto, figs.paretos))))
    for parallel in figs.parallels:
        note = (
            f"<p class=note>Left out (not in every complete trial): "
            f"{esc(', '.join(parallel.left_out))}</p>"
            if parallel.left_out
            else ""
        )
        sections.append(
            _section("parallel", "Parallel coordinates", plot(_parallel(parallel)), note)
        )
    if figs.importances:
        parts = []
        for item in figs.importances:
            if item.values:
                parts.append(plot(_importance(item), "plot fit"))
            if item.note:
                label = f" ({esc(item.objective)})" if len(figs.importances) > 1 else ""
                parts.append(f"<p class=note>Importances{label}: {esc(item.note)}</p>")
        sections.append(_section("importances", "Param importances", *parts))
    if figs.slices:
        slices = [plot(_slice(s), "plot small") for s in figs.slices]
        sections.append(_section("slices", "Slices", f'<div class="grid">{"".join(slices)}</div>'))
    if figs.curves is not None:
        sections.append(
            _section(
                "curves",
                "Intermediate values",
                plot(_curves(figs.curves)),
                "<p class=note>Pruned trials in grey, failed and stopped ones in red.</p>",
            )
        )
    if not figs.count:
        sections.append("<p class=note>No complete trial yet: nothing to plot.</p>")
    sections.append(_section("trials", "Trials", _table(figs.table)))
    return _page(report, figs, sections, plots, get_plotlyjs())


def _section(anchor: str, title: str, *body: str) -> str:
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{"".join(body)}</section>'


# ----------------------------------------------------------------------------- plotly figures


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": esc(title)},
        "template": "plotly_white",
        "margin": {"l": 60, "r": 30, "t": 50, "b": 50},
        **extra,
    }


def _history(item: History) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Scatter(
            x=item.numbers,
            y=item.values,
            mode="markers",
            name=esc(item.objective),
            hovertemplate="trial %{x}<br>%{y}<extra></extra>",
        )
    )
    if item.best_so_far is not None:
        figure.add_trace(
            go.Scatter(
                x=item.numbers,
                y=item.best_so_far,
                mode="lines",
                line={"shape": "hv", "color": "#d62728"},
                name="best so far",
            )
        )
    return figure.update_layout(
        _layout(
            f"{item.objective} by trial ({item.direction})",
            xaxis_title="trial",
            yaxis_title=esc(item.objective),
        )
    )


def _parallel(item: Parallel) -> go.Figure:
    import plotly.graph_objects as go

    objective = item.axes[-1]
    dimensions = []
    for axis in item.axes:
        dimension: dict[str, Any] = {"label": esc(axis.label), "values": axis.values}
        if axis.tick_values is not None and axis.tick_text is not None:
            dimension["tickvals"] = axis.tick_values
            dimension["ticktext"] = list(axis.tick_text)  # drawn as plain text, not markup
        dimensions.append(dimension)
    return go.Figure(
        go.Parcoords(
            line={
                "color": objective.values,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": esc(item.objective)}},
            },
            dimensions=dimensions,
        )
    ).update_layout(
        # Room above the axes for their labels, under the title.
        _layout(
            f"Params of complete trials, colored by {item.objective}",
            margin={"l": 70, "r": 40, "t": 110, "b": 40},
        )
    )


def _importance(item: Importances) -> go.Figure:
    import plotly.graph_objects as go

    ordered = sorted(item.values.items(), key=lambda kv: kv[1])
    return go.Figure(
        go.Bar(
            x=[v for _, v in ordered],
            y=[esc(k) for k, _ in ordered],
            orientation="h",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    ).update_layout(
        _layout(
            f"Importance for {item.objective}",
            xaxis_title="importance",
            height=max(250, 60 + 30 * len(ordered)),
        )
    )


def _slice(item: Slice) -> go.Figure:
    import plotly.graph_objects as go

    categorical = item.categories is not None
    xaxis: dict[str, Any] = {"title": {"text": esc(item.param.name)}}
    if categorical:
        xaxis.update(type="category", categoryorder="array")
        xaxis["categoryarray"] = [esc(c) for c in item.categories or ()]
    elif item.param.log:
        xaxis["type"] = "log"
    return go.Figure(
        go.Scatter(
            x=[esc(x) for x in item.x] if categorical else item.x,
            y=item.y,
            mode="markers",
            text=[f"trial {n}" for n in item.numbers],
            marker={
                "color": item.numbers,
                "colorscale": "Blues",
                "showscale": False,
                "line": {"width": 0.5, "color": "#555"},
            },
            hovertemplate="%{text}<br>%{x}<br>%{y}<extra></extra>",
        )
    ).update_layout(
        _layout(item.param.name, xaxis=xaxis, yaxis_title=esc(item.objective), height=320)
    )


def _curves(item: Curves) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    # One trace per group, lines split by gaps: thousands of trials stay one trace each.
    for group in ("other", "pruned", "complete"):
        lines = item.groups.get(group)
        if not lines:
            continue
        xs: list[int | None] = []
        ys: list[float | None] = []
        labels: list[str] = []
        for trial, steps, values in lines:
            xs.extend([*steps, None])
            ys.extend([*values, None])
            labels.extend([f"trial {trial}"] * len(steps) + [""])
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                name=f"{group} ({len(lines)})",
                text=labels,
                line={"color": _CURVE_COLORS[group], "width": 1.5},
                connectgaps=False,
                hovertemplate="%{text}<br>step %{x}<br>%{y}<extra></extra>",
            )
        )
    return figure.update_layout(
        _layout("Learning curves", xaxis_title="step", yaxis_title="intermediate value")
    )


def _pareto(item: Pareto) -> go.Figure:
    import plotly.graph_objects as go

    figure = go.Figure()
    for on_front, name, color in ((False, "dominated", "#aaaaaa"), (True, "front", "#d62728")):
        picked = [i for i, flag in enumerate(item.on_front) if flag == on_front]
        figure.add_trace(
            go.Scatter(
                x=[item.x[i] for i in picked],
                y=[item.y[i] for i in picked],
                mode="markers",
                name=name,
                marker={"color": color, "size": 9 if on_front else 7},
                text=[f"trial {item.numbers[i]}" for i in picked],
                hovertemplate="%{text}<br>%{x}, %{y}<extra></extra>",
            )
        )
    return figure.update_layout(
        _layout(
            f"{item.x_objective} vs {item.y_objective}",
            xaxis_title=esc(item.x_objective),
            yaxis_title=esc(item.y_objective),
        )
    )


# ----------------------------------------------------------------------------- markup


def _table(table: TrialTable) -> str:
    head = "".join(f'<th scope="col" title="sort">{esc(h)}</th>' for h in table.header)
    rows = []
    for cells, keys, state in zip(table.rows, table.sort_keys, table.states):
        tds = []
        for cell, key in zip(cells, keys):
            if isinstance(key, float):
                attr = f' data-n="{key!r}"'
            elif key is not None:
                attr = f' data-s="{esc(key)}"'
            else:
                attr = ""
            tds.append(f"<td{attr}>{esc(cell)}</td>")
        rows.append(f'<tr class="{esc(state)}">{"".join(tds)}</tr>')
    return (
        f"<p class=note>{len(table.rows)} trials; click a column to sort.</p>"
        f'<div class="table-wrap"><table id="trial-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _facts(report: ReportData) -> str:
    info = report.info
    facts: list[tuple[str, str]] = [
        ("storage", info.storage),
        ("directions", ", ".join(info.directions)),
        (
            "trials",
            f"{info.total} ("
            + ", ".join(f"{k} {v}" for k, v in sorted(info.counts.items()))
            + ")",
        ),
        ("ended", ", ".join(f"{k} {v}" for k, v in sorted(info.why.items())) or "-"),
    ]
    if info.runs:
        facts.append(("runs", info.runs))
    if info.sampler:
        facts.append(("sampler", info.sampler))
    if info.pruner:
        facts.append(("pruner", info.pruner))
    if info.budgets:
        facts.append(("budgets", ", ".join(f"{k}={v}" for k, v in info.budgets.items())))
    if info.space:
        facts.append(("space", "\n".join(info.space)))
    label = "best" if len(info.directions) == 1 else "pareto front"
    for record in info.best:
        values = ", ".join(number(v) for v in record.values or ())
        params = ", ".join(f"{k}={v!r}" for k, v in record.params.items())
        facts.append((label, f"trial {record.number}: {values}\n{params}"))
    if info.start is not None:
        facts.append(("start", info.start.isoformat(sep=" ", timespec="seconds")))
    if info.finish is not None:
        facts.append(("finish", info.finish.isoformat(sep=" ", timespec="seconds")))
    if info.duration_s is not None:
        facts.append(("duration", duration(info.duration_s)))
    return "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)


def _page(
    report: ReportData, figs: Figures, sections: list[str], plots: list[str], plotly_js: str
) -> str:
    name = esc(report.info.name)
    made = dt.datetime.now().isoformat(sep=" ", timespec="seconds")
    links = "".join(
        f'<a href="#{anchor}">{title}</a>'
        for anchor, title, present in (
            ("history", "history", bool(figs.histories)),
            ("pareto", "pareto", bool(figs.paretos)),
            ("parallel", "parallel", bool(figs.parallels)),
            ("importances", "importances", bool(figs.importances)),
            ("slices", "slices", bool(figs.slices)),
            ("curves", "curves", figs.curves is not None),
            ("trials", "trials", True),
        )
        if present
    )
    # The figures travel as JSON in a non-executed script element; plotly's JSON escapes
    # '<', '>' and '/', so no user string can close the element.
    data = "[" + ",".join(plots) + "]"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="hpsweep">
<title>hpsweep report: {name}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>Study <span id="study-name">{name}</span></h1><nav>{links}</nav></header>
<main>
<section id="summary"><dl>{_facts(report)}</dl></section>
{"".join(sections)}
</main>
<footer>Made by hpsweep on {esc(made)}.</footer>
<script type="application/json" id="hpsweep-figures">{data}</script>
<script>{plotly_js}</script>
<script>{_JS}</script>
</body>
</html>
"""


_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  color: #222; background: #fafafa; }
header { background: #263238; color: #fff; padding: 12px 24px; position: sticky; top: 0;
  z-index: 10; display: flex; align-items: baseline; gap: 24px; flex-wrap: wrap; }
header h1 { font-size: 20px; margin: 0; }
nav a { color: #b2dfdb; margin-right: 14px; text-decoration: none; }
main { padding: 8px 24px 24px; max-width: 1400px; margin: auto; }
section { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; margin: 16px 0;
  padding: 8px 16px 16px; }
h2 { font-size: 16px; margin: 8px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 4px 0; }
dt { font-weight: 600; color: #455a64; }
dd { margin: 0; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 13px; }
.note { color: #616161; font-style: italic; margin: 6px 0; }
.plot { width: 100%; min-height: 420px; }
.plot.small { min-height: 320px; }
.plot.fit { min-height: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px; }
.table-wrap { max-height: 640px; overflow: auto; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left;
  white-space: nowrap; }
th { position: sticky; top: 0; background: #eceff1; cursor: pointer; user-select: none; }
th.asc::after { content: " \\25B2"; } th.desc::after { content: " \\25BC"; }
tr.pruned td { color: #9e9e9e; } tr.fail td { color: #c62828; }
tr.running td, tr.waiting td { color: #1565c0; }
footer { color: #9e9e9e; font-size: 12px; padding: 0 24px 16px; }
"""

_JS = """
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("hpsweep-figures").textContent);
  var drawn = figures.map(function (figure, index) {
    return Plotly.newPlot("fig-" + index, figure.data, figure.layout,
                          {responsive: true, displaylogo: false});
  });
  Promise.all(drawn).then(function () {
    document.body.setAttribute("data-plots", String(drawn.length));
  });

  // Sort the trial table by a column: numbers as numbers, empty cells last.
  var table = document.getElementById("trial-table");
  var headers = table.tHead.rows[0].cells;
  function key(row, column) {
    var cell = row.cells[column];
    if (cell.hasAttribute("data-n")) { return [0, parseFloat(cell.getAttribute("data-n"))]; }
    if (cell.hasAttribute("data-s")) { return [1, cell.getAttribute("data-s")]; }
    return [2, ""];
  }
  Array.prototype.forEach.call(headers, function (header, column) {
    header.addEventListener("click", function () {
      var ascending = !header.classList.contains("asc");
      Array.prototype.forEach.call(headers, function (h) { h.classList.remove("asc", "desc"); });
      header.classList.add(ascending ? "asc" : "desc");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, column), y = key(b, column);
        if (x[0] !== y[0]) { return x[0] - y[0]; }
        if (x[0] === 2) { return 0; }
        var order = x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
"""
