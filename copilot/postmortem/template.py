"""The postmortem template: a markdown file whose `{{ name }}` placeholders the draft fills."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from copilot.errors import ConfigError

DEFAULT_TEMPLATE = Path(__file__).with_name("template.md")
MAX_TEMPLATE_BYTES = 256 * 1024
# What the copilot pre-fills, each under the name a template uses for it.
SECTIONS = (
    "summary",
    "impact",
    "timeline",
    "detection",
    "response",
    "root_cause",
    "retrospective",
    "action_items",
    "runbook_updates",
    "similar_incidents",
    "metrics",
    "review",
)
NAMES = ("title", "incident_id", "draft_note", *SECTIONS)
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_LEADING_COMMENT = re.compile(r"\A\s*<!--.*?-->\s*", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Template:
    text: str
    source: str

    @property
    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.text)))

    def headings(self) -> dict[str, str]:
        """The heading each placeholder sits under (placeholders before any heading: none)."""
        out: dict[str, str] = {}
        current: str | None = None
        for line in self.text.split("\n"):
            heading = _HEADING.match(line)
            if heading:
                current = heading.group(1).strip()
                continue
            for name in _PLACEHOLDER.findall(line):
                if current is not None and name in SECTIONS:
                    out.setdefault(name, current)
        return out

    def render(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            return values.get(match.group(1), "")

        rendered = _PLACEHOLDER.sub(fill, self.text)
        # Empty placeholders leave runs of blank lines behind.
        return re.sub(r"\n{3,}", "\n\n", rendered).strip() + "\n"


def parse_template(text: str, *, source: str) -> Template:
    """Check a template's text: known placeholders only, no front matter of its own."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    body = _LEADING_COMMENT.sub("", text, count=1)
    if body.lstrip().startswith("---"):
        raise ConfigError(
            f"postmortem template {source}: remove its front matter; the copilot writes the front "
            "matter (kind, services, tags, severity, dates) itself"
        )
    unknown = sorted({n for n in _PLACEHOLDER.findall(body) if n not in NAMES})
    if unknown:
        raise ConfigError(
            f"postmortem template {source}: unknown placeholder(s) {', '.join(unknown)}; "
            f"known: {', '.join(NAMES)}"
        )
    if not any(n in SECTIONS for n in _PLACEHOLDER.findall(body)):
        raise ConfigError(
            f"postmortem template {source}: it uses none of the pre-filled sections "
            f"({', '.join(SECTIONS)})"
        )
    return Template(text=body, source=source)


def load_template(path: Path | None = None) -> Template:
    """The team's template at `path`, or the packaged default."""
    target = path or DEFAULT_TEMPLATE
    try:
        size = target.stat().st_size
        if size > MAX_TEMPLATE_BYTES:
            raise ConfigError(
                f"postmortem template {target} is {size} bytes; the limit is {MAX_TEMPLATE_BYTES}"
            )
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"postmortem template {target} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"postmortem template {target} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read postmortem template {target}: {exc.strerror}") from None
    return parse_template(text, source=str(target) if path else "default")
