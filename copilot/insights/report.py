"""An insights report as markdown, HTML (charts inline) or CSV, for an operational review."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable

from copilot.insights import schemas as s
from copilot.insights.charts import Chart, _fmt, all_charts


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _sections(report: s.Insights) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, columns, rows) of every table the report shows besides the charts' own."""
    d = report.durations
    duration_rows = []
    for metric in ("time_to_detect", "time_to_declare", "time_to_mitigate", "time_to_resolve"):
        f: s.Duration = getattr(d, metric)
        duration_rows.append(
            [
                metric.replace("_", " "),
                "all",
                str(f.n),
                _fmt(f.median_s),
                _fmt(f.p90_s),
                _fmt(f.mean_s),
                "-",
                "-",
            ]
        )
        for level, g in f.by_severity.items():
            duration_rows.append(
                [
                    metric.replace("_", " "),
                    level,
                    str(g.n),
                    _fmt(g.median_s),
                    _fmt(g.p90_s),
                    _fmt(g.mean_s),
                    _fmt(g.target_s),
                    _pct(g.within_target),
                ]
            )
    fu = report.follow_ups
    return [
        (
            "Response durations",
            ["metric", "severity", "n", "median", "p90", "mean", "target", "within target"],
            duration_rows,
        ),
        (
            "Status-update cadence",
            ["severity", "n (gaps)", "on time", "share on time"],
            [
                [
                    "all",
                    str(report.cadence.intervals),
                    str(report.cadence.on_time),
                    _pct(report.cadence.share_on_time),
                ]
            ]
            + [
                [level, str(v["n"]), str(v["on_time"]), _pct(v["share_on_time"])]
                for level, v in report.cadence.by_severity.items()
            ],
        ),
        (
            "Recurring failure modes",
            ["mode (distinctive terms)", "n", "incidents"],
            [
                [c.label, str(c.size), ", ".join(f"{i.id} {i.title}" for i in c.incidents)]
                for c in report.clusters
            ],
        ),
        (
            "Repeat offenders (services in two or more incidents)",
            ["service", "n", "incidents"],
            [[r.service, str(r.count), ", ".join(r.incidents)] for r in report.repeat_offenders],
        ),
        (
            "Follow-ups by team",
            ["team", "n", "done", "won't do", "completion rate"],
            [["all", str(fu.n), str(fu.done), str(fu.wont_do), _pct(fu.completion_rate)]]
            + [
                [t.team, str(t.n), str(t.done), str(t.wont_do), _pct(t.completion_rate)]
                for t in fu.by_team
            ],
        ),
        (
            "Most cited runbooks",
            ["source", "citations"],
            [[r.source, str(r.citations)] for r in report.knowledge.most_cited],
        ),
        *_knowledge_sections(report.knowledge),
    ]


def _knowledge_sections(k: s.KnowledgeFigures) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    cited = k.cited_not_mitigating
    if cited is not None:
        out.append(
            (
                "Runbooks cited in incidents that ended without help from them",
                ["runbook", "n (ended incidents citing it)", "not mitigating", "incidents"],
                [["all", str(cited.n), str(cited.not_mitigating), ""]]
                + [
                    [r.source, str(r.cited_in), str(r.not_mitigating), ", ".join(r.incidents)]
                    for r in cited.runbooks
                ],
            )
        )
    gaps = k.steps_no_runbook_has
    if gaps is not None:
        out.append(
            (
                "Steps no runbook has",
                ["incident", "step", "closest runbook section (not it)", "similarity"],
                [[g.incident_id, g.text, g.closest or "-", _num(g.similarity)] for g in gaps.steps],
            )
        )
    return out


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _knowledge_line(k: s.KnowledgeFigures) -> str:
    gaps, cited = k.steps_no_runbook_has, k.cited_not_mitigating
    if gaps is None or cited is None:
        return (
            "Knowledge base: not loaded here, so runbooks cited but not mitigating and steps no "
            "runbook has are not computed."
        )
    return (
        f"Steps no runbook has: {gaps.gaps} of n = {gaps.n} steps checked ({_pct(gaps.share)}; "
        f"{gaps.entries} action and mitigation entries in the period). Runbooks cited but not "
        f"mitigating: {cited.not_mitigating} of n = {cited.n} (ended incident, cited runbook) "
        f"pairs ({_pct(cited.share)}) over {cited.incidents} incidents."
    )


def _intro(report: s.Insights) -> list[str]:
    p = report.period
    filters = []
    if p.severity:
        filters.append("severity " + ", ".join(p.severity))
    if p.service:
        filters.append("service " + ", ".join(p.service))
    fu = report.follow_ups
    return [
        f"Period: {p.since:%Y-%m-%d %H:%M} to {p.until:%Y-%m-%d %H:%M} UTC"
        + (f"; {'; '.join(filters)}" if filters else ""),
        f"Incidents: {report.incidents.count} (imported from postmortems: "
        f"{report.incidents.imported}).",
        f"Follow-ups: n = {fu.n}; open {fu.open}, in progress {fu.in_progress}, done {fu.done}, "
        f"won't do {fu.wont_do}, overdue {fu.overdue}; open ones' age median "
        f"{fu.open_age_days.get('median')} days (n = {fu.open_age_days.get('n')}).",
        f"Clustering: {report.clustering.method} over n = {report.clustering.n} incidents; "
        f"{report.clustering.singletons} incident(s) in no recurring mode.",
        _knowledge_line(report.knowledge),
        report.durations.note,
        report.cadence.note,
        report.load.note,
        *(
            x.note
            for x in (report.knowledge.steps_no_runbook_has, report.knowledge.cited_not_mitigating)
            if x is not None
        ),
    ]


def _levels(report: s.Insights, order: list[str]) -> list[str]:
    seen = set(report.incidents.by_severity)
    return [x for x in order if x in seen] + sorted(seen - set(order))


def markdown(
    report: s.Insights, levels: list[str], image: Callable[[Chart], str] | None = None
) -> str:
    """Markdown; `image(chart)` returns the path a chart's SVG was written to (or none)."""

    def table(columns: list[str], rows: list[list[str]]) -> list[str]:
        def cell(x: object) -> str:
            return str(x).replace("|", "\\|").replace("\n", " ")

        out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        out += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
        return out if rows else ["(none)"]

    lines = ["# Incident insights", ""]
    lines += [f"- {x}" for x in _intro(report)] + [""]
    for chart in all_charts(report, _levels(report, levels)):
        lines += [f"## {chart.title}", ""]
        if image is not None:
            lines += [f"![{chart.title}]({image(chart)})", ""]
        lines += [*table(chart.columns, [[str(c) for c in r] for r in chart.rows]), ""]
    for heading, columns, rows in _sections(report):
        lines += [f"## {heading}", "", *table(columns, rows), ""]
    return "\n".join(lines)


def page_body(report: s.Insights, levels: list[str]) -> str:
    """The report's HTML body: each chart inline with its table and a CSV link (served pages)."""
    e = html.escape
    parts = ["<ul>" + "".join(f"<li>{e(x)}</li>" for x in _intro(report)) + "</ul>"]
    for chart in all_charts(report, _levels(report, levels)):
        parts.append(f'<section class="chart" id="{e(chart.key)}"><h2>{e(chart.title)}</h2>')
        parts.append(f'<div class="svg">{chart.svg}</div>')
        parts.append(f"<details><summary>Table: {e(chart.title)}</summary>")
        parts.append(_html_table(chart.columns, [[str(c) for c in r] for r in chart.rows]))
        parts.append("</details></section>")
    for heading, columns, rows in _sections(report):
        parts.append(f"<section><h2>{e(heading)}</h2>{_html_table(columns, rows)}</section>")
    return "\n".join(parts)


def _html_table(columns: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f'<th scope="col">{e(c)}</th>' for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(x)}</td>" for x in r) + "</tr>" for r in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table">{table}</div>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 1rem auto; max-width: 72rem; padding: 0 1rem; }
.svg svg { max-width: 100%; height: auto; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
"""


def html_document(report: s.Insights, levels: list[str]) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Incident insights</title><style>{STYLE}</style></head><body>"
        f"<h1>Incident insights</h1>{page_body(report, levels)}</body></html>"
    )


def csv_text(report: s.Insights, levels: list[str]) -> str:
    """Long format: table, row, column, value, for every chart's table and every other table."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["table", "row", "column", "value"])
    tables = [
        (c.key, c.columns, [[str(x) for x in r] for r in c.rows])
        for c in all_charts(report, _levels(report, levels))
    ]
    tables += _sections(report)
    for name, columns, rows in tables:
        for row in rows:
            for column, value in zip(columns[1:], row[1:], strict=False):
                writer.writerow([_cell(name), _cell(row[0]), _cell(column), _cell(value)])
    return buffer.getvalue()


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is kept as text.
    return (
        f"'{value}"
        if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(value)
        else value
    )


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
