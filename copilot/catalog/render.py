"""The blast radius as a picture: DOT source laid out by Graphviz's `dot` (Debian's `graphviz`).

Failing entities are red, their dependents amber (user-facing ones with their public name),
upstream dependencies grey and dashed, owners as notes. Every label is escaped for DOT, and
`dot` escapes it again for SVG; the SVG has no scripts or links.
"""

from __future__ import annotations

import shutil
import subprocess

from copilot.catalog import schemas as s
from copilot.errors import CopilotError

DOT_TIMEOUT_S = 20
MAX_NODES = 300


class RendererUnavailable(CopilotError):
    """Graphviz's dot is not installed (the API answers 503)."""

    status_code = 503


def _q(text: str) -> str:
    """A DOT quoted string; a newline becomes DOT's centred line break."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\r", "").replace("\n", "\\n") + '"'


def dot_source(impact: s.Impact) -> str:
    """A DOT digraph: an edge from each entity to the one it depends on."""
    lines = [
        "digraph blast_radius {",
        '  graph [rankdir=LR, fontname="sans-serif", bgcolor="white"];',
        '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11];',
        '  edge [color="#555555"];',
    ]
    failing = 'fillcolor="#f8b4b4", color="#b91c1c", penwidth=2'
    dependent = 'fillcolor="#fde68a", color="#b45309"'
    upstream = 'fillcolor="#e5e7eb", color="#6b7280", style="rounded,filled,dashed"'
    nodes: dict[str, tuple[s.Affected, str]] = {}
    for group, attrs in (
        (impact.failing, failing),
        (impact.dependents, dependent),
        (impact.upstream, upstream),
    ):
        for a in group:
            nodes.setdefault(a.ref, (a, attrs))
    shown = dict(list(nodes.items())[:MAX_NODES])
    for ref, (a, attrs) in shown.items():
        label = f"{a.title}\n[{ref.split(':', 1)[0]}]"
        if a.public_name:
            label += f"\npublic: {a.public_name}"
        lines.append(f"  {_q(ref)} [label={_q(label)}, {attrs}];")
    edges: set[tuple[str, str]] = set()
    for a in impact.dependents:  # path: failing, x1, ..., a; each depends on the one before
        edges.update((v, u) for u, v in zip(a.path, a.path[1:], strict=False))
    for a in impact.upstream:  # path: failing, y1, ..., a; each is depended on by the one before
        edges.update(zip(a.path, a.path[1:], strict=False))
    for u, v in sorted(edges):
        if u in shown and v in shown:
            lines.append(f"  {_q(u)} -> {_q(v)};")
    for owner in impact.owners:
        oid = "owner " + owner.ref
        label = owner.name + (f"\n{owner.contacts[0]}" if owner.contacts else "")
        lines.append(
            f'  {_q(oid)} [shape=note, fillcolor="#dbeafe", color="#1d4ed8", label={_q(label)}];'
        )
        for ref in owner.owns:
            if ref in shown:
                lines.append(f"  {_q(oid)} -> {_q(ref)} [style=dotted, arrowhead=none];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(impact: s.Impact) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise RendererUnavailable(
            "the blast-radius picture needs Graphviz's dot: install Debian's graphviz package"
        )
    try:
        done = subprocess.run(
            [dot, "-Tsvg"],
            input=dot_source(impact).encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RendererUnavailable("dot took too long to lay out the graph") from None
    if done.returncode != 0:
        raise RendererUnavailable("dot could not lay out the graph")
    return done.stdout
