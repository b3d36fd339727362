"""Charts of an insights report: SVG rendered server-side by matplotlib, each with a table view.

Text stays text in the SVG (`svg.fonttype: none`), each chart carries a <title> and a <desc>
naming what it shows, and every chart comes with the table of the numbers it draws (the
accessible equivalent, and what the CSV export holds).
"""

from __future__ import annotations

import io
import re
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to files only

from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from copilot.insights import schemas as s

EPOCH = date(1970, 1, 1)
# pyplot's figure registry is global; one render at a time keeps it consistent across threads.
_LOCK = threading.Lock()
_STYLE: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "copilot-insights",  # stable ids: the same report renders the same SVG
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
# Colour-blind-safe (Okabe-Ito), most severe first.
PALETTE = ("#D55E00", "#E69F00", "#0072B2", "#009E73", "#CC79A7", "#56B4E9", "#F0E442")


@dataclass
class Chart:
    key: str
    title: str
    svg: str
    columns: list[str]
    rows: list[list[str | int | float | None]]


def _svg(fig: Figure, title: str, desc: str) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # the XML prolog and DOCTYPE do not belong inline
    safe_title = _escape(title)
    return re.sub(
        r"(<svg[^>]*>)",
        rf"\1<title>{safe_title}</title><desc>{_escape(desc)}</desc>",
        text.replace("<svg ", '<svg role="img" ', 1),
        count=1,
    )


def _counts(axis: Any) -> None:
    """Whole numbers on an axis that counts (incidents, follow-ups): never 0.2 of an incident."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _nothing(ax: Axes, what: str) -> None:
    """An empty chart says what is missing instead of drawing empty axes."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def incidents_by_week(report: s.Insights, levels: list[str]) -> Chart:
    weeks = report.incidents.by_week
    rows: list[list[str | int | float | None]] = [
        [w.week.isoformat(), w.count, *[w.by_severity.get(level, 0) for level in levels]]
        for w in weeks
    ]
    with _LOCK, plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 2.8))
        bottom = [0] * len(weeks)
        for n, level in enumerate(levels):
            values = [w.by_severity.get(level, 0) for w in weeks]
            if any(values):
                ax.bar(
                    # matplotlib's date numbers: days since its epoch, 1970-01-01.
                    [float((w.week - EPOCH).days) for w in weeks],
                    values,
                    width=6,
                    bottom=bottom,
                    label=level,
                    color=PALETTE[n % len(PALETTE)],
                )
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("incidents")
        _counts(ax.yaxis)
        ax.set_title(f"Incidents by week and severity (n = {report.incidents.count})")
        if any(bottom):
            # Beside the plot, not over the first weeks' bars.
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.xaxis_date()
        fig.autofmt_xdate()
        svg = _svg(fig, "Incidents by week", "Stacked bars: incidents declared each week.")
    return Chart("incidents_by_week", "Incidents by week", svg, ["week", "count", *levels], rows)


def by_service(report: s.Insights, top: int = 15) -> Chart:
    data = report.incidents.by_service[:top]
    with _LOCK, plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6, 0.3 * max(3, len(data)) + 0.8))
        ax.barh(
            [c.name for c in reversed(data)], [c.count for c in reversed(data)], color=PALETTE[2]
        )
        ax.set_xlabel("incidents")
        _counts(ax.xaxis)
        ax.set_title(f"Incidents by service (n = {report.incidents.count})")
        svg = _svg(fig, "Incidents by service", "Horizontal bars: incidents touching each service.")
    return Chart(
        "incidents_by_service",
        "Incidents by service",
        svg,
        ["service", "incidents"],
        [[c.name, c.count] for c in data],
    )


def duration_histograms(report: s.Insights) -> Chart:
    metrics = ("time_to_detect", "time_to_declare", "time_to_mitigate", "time_to_resolve")
    rows: list[list[str | int | float | None]] = []
    with _LOCK, plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, 4, figsize=(11, 2.8), sharey=False)
        for ax, metric in zip(axes, metrics, strict=True):
            figure = getattr(report.durations, metric)
            labels = [b.label for b in figure.histogram]
            ax.bar(labels, [b.count for b in figure.histogram], color=PALETTE[2])
            ax.set_title(
                f"{metric.replace('_', ' ')}\nn={figure.n}, median {_fmt(figure.median_s)}, "
                f"p90 {_fmt(figure.p90_s)}",
                fontsize=8,
            )
            ax.tick_params(axis="x", labelrotation=60, labelsize=7)
            _counts(ax.yaxis)
            rows.append(
                [
                    metric,
                    figure.n,
                    _hours(figure.median_s),
                    _hours(figure.p90_s),
                    _hours(figure.mean_s),
                    *[b.count for b in figure.histogram],
                ]
            )
        axes[0].set_ylabel("incidents")
        svg = _svg(
            fig,
            "Response durations",
            "Histograms of time to detect, declare, mitigate and resolve, with n, median and p90.",
        )
    labels = [b.label for b in report.durations.time_to_detect.histogram]
    return Chart(
        "durations",
        "Response durations",
        svg,
        ["metric", "n", "median_h", "p90_h", "mean_h", *labels],
        rows,
    )


def load_by_hours(report: s.Insights) -> Chart:
    buckets = report.load.buckets
    rows: list[list[str | int | float | None]] = [
        [r.role, r.people, *[r.hours.get(b, 0.0) for b in buckets]] for r in report.load.roles
    ]
    with _LOCK, plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6, 2.8))
        ax.set_title("Load by time of day, per role")
        roles = [r.role.replace("_", " ") for r in report.load.roles]
        if not roles:
            # Imported incidents carry no role assignments.
            _nothing(ax, "No role was held in the period.")
        left = [0.0] * len(roles)
        for n, b in enumerate(buckets if roles else ()):
            values = [r.hours.get(b, 0.0) for r in report.load.roles]
            ax.barh(roles, values, left=left, label=b, color=PALETTE[n + 2])
            left = [x + v for x, v in zip(left, values, strict=True)]
        if roles:
            ax.set_xlabel("hours a role was held")
            ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        svg = _svg(fig, "Load by time of day", "Stacked bars: hours each role was held.")
    return Chart("load", "Load by time of day", svg, ["role", "people", *buckets], rows)


def follow_up_status(report: s.Insights) -> Chart:
    f = report.follow_ups
    data = [("open", f.open), ("in progress", f.in_progress), ("done", f.done)]
    data += [("won't do", f.wont_do), ("overdue", f.overdue)]
    with _LOCK, plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(5, 2.4))
        ax.bar([d[0] for d in data], [d[1] for d in data], color=PALETTE[3])
        _counts(ax.yaxis)
        ax.set_title(f"Follow-ups (n = {f.n})")
        svg = _svg(fig, "Follow-ups", "Bars: follow-ups by status, and how many are overdue.")
    return Chart("follow_ups", "Follow-ups", svg, ["status", "count"], [list(d) for d in data])


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def all_charts(report: s.Insights, levels: list[str]) -> list[Chart]:
    return [
        incidents_by_week(report, levels),
        by_service(report),
        duration_histograms(report),
        follow_up_status(report),
        load_by_hours(report),
    ]
