"""Slack Block Kit: the blocks and messages the slash commands and the alert sender post.

Text is mrkdwn, escaped as Slack asks (`&`, `<`, `>`), and clipped to Slack's limits without
splitting an escape, a link or a code block.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from copilot import render

# Slack's limits: a section's text, a header's text, and blocks per message.
SECTION_LIMIT = 3000
HEADER_LIMIT = 150
MAX_BLOCKS = 50


def escape(text: str) -> str:
    """Text safe inside mrkdwn: no accidental links, mentions or @channel."""
    return render.slack_escape(text)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a cut never splits an escape, a link or a code block."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 4]
    # An entity (`&amp;`) or a link (`<url|label>`) cut in two would show as garbage.
    amp, semi = cut.rfind("&"), cut.rfind(";")
    if amp > semi:
        cut = cut[:amp]
    opened, closed = cut.rfind("<"), cut.rfind(">")
    if opened > closed:
        cut = cut[:opened]
    cut = cut.rstrip() + "…"
    return cut + "```" if cut.count("```") % 2 else cut


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, HEADER_LIMIT)}}


def section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, SECTION_LIMIT)}}


def fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": clip(f"*{escape(k)}*\n{escape(v)}", 2000)}
            for k, v in pairs[:10]
        ],
    }


def context(*parts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(p, SECTION_LIMIT)} for p in parts[:10]],
    }


def link(url: str | None, label: str) -> str:
    if not url:
        return escape(label)
    return render.slack_link(url, label)


def message(
    text: str, blocks: list[dict[str, Any]], *, public: bool = False, formatted: bool = False
) -> dict[str, Any]:
    """A slash-command reply: `public` shows it to the channel, otherwise only to the caller.

    `text` is the notification's fallback, escaped here unless it is `formatted` mrkdwn
    already: Slack reads it as mrkdwn too, so `<!channel>` there would ping the channel.
    """
    return {
        "response_type": "in_channel" if public else "ephemeral",
        "text": clip(text if formatted else escape(text), SECTION_LIMIT),
        "blocks": blocks[:MAX_BLOCKS],
    }


def error(text: str) -> dict[str, Any]:
    return message(text, [section(f":x: {escape(text)}")])


# Where the war-room page shows an incident and a cited runbook section (links in messages).
def incident_path(incident_id: str) -> str:
    return f"/incidents/{quote(incident_id)}"


def source_path(source: str, lines: tuple[int, int] | list[int] | None = None) -> str:
    path = f"/runbooks/{quote(source)}"
    return f"{path}?lines={lines[0]}-{lines[1]}" if lines else path
