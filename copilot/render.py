"""Markdown from runbooks, timelines and drafts shown safely: as HTML on the page, mrkdwn in Slack.

Both come from one parse by markdown-it-py (CommonMark plus tables and strikethrough), walked as
tokens, never rewritten with regular expressions. Raw HTML in the markdown is shown as text (an
HTML comment, a template's note, is dropped); images become their alt text. The HTML is then
sanitised by nh3 (Ammonia) with a short list of tags, so even a bug here cannot put a script,
an event handler or a `javascript:` URL on the page.

Links: a relative link to a `.md` file is resolved against the document it is in; when it names a
document of the knowledge base it points to that document's page (`/runbooks/<source>`),
otherwise it is shown as text. `http`, `https` and `mailto` links stay links (opened with
`rel="noopener noreferrer"`); every other link is shown as text.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Container, Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

DOCUMENT_PATH = "/runbooks/"
EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})
# The largest text rendered in one go: a document section or a postmortem is far smaller.
MAX_CHARS = 200_000

TAGS = frozenset(
    {
        "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
        "details", "summary",
    }
)  # fmt: skip
# A fenced block's `language-<info>` class is kept by `_code_class`; `details` may only be ours.
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}}
CLASSES = {"details": {"front-matter"}}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # html=True so that raw HTML arrives as its own tokens, which the rules below show as text
    # (or drop, for comments); nothing from the source is ever passed through as markup.
    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("html_block", _html_block)
    md.add_render_rule("html_inline", _html_inline)
    return md


def _is_comment(token: Token) -> bool:
    return token.content.lstrip().startswith("<!--")


def _html_block(_self: Any, tokens: Sequence[Token], idx: int, _options: Any, _env: Any) -> str:
    token = tokens[idx]
    return "" if _is_comment(token) else f"<p>{escapeHtml(token.content.strip())}</p>\n"


def _html_inline(_self: Any, tokens: Sequence[Token], idx: int, _options: Any, _env: Any) -> str:
    token = tokens[idx]
    return "" if _is_comment(token) else escapeHtml(token.content)


def _front_matter(markdown: str) -> tuple[str | None, str]:
    """(YAML front matter, the rest) when the text opens with a `---` block."""
    lines = markdown.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return None, markdown
    for number, line in enumerate(lines[1:], start=1):
        if line.rstrip() in ("---", "..."):
            return "\n".join(lines[1:number]), "\n".join(lines[number + 1 :])
    return None, markdown


# -- links ------------------------------------------------------------------------------------


def resolve_document(href: str, source: str | None) -> str | None:
    """The knowledge-base source a relative `.md` link in `source` names, or None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path.lower().endswith(".md"):
        return None
    base = posixpath.dirname(source) if source else ""
    path = posixpath.normpath(posixpath.join(base, parts.path.lstrip("/") if base else parts.path))
    if path.startswith("../") or path in (".", "..") or path.startswith("/"):
        return None
    return path


def document_href(source: str, fragment: str = "") -> str:
    """The page of a knowledge-base document."""
    return DOCUMENT_PATH + quote(source) + (f"#{quote(fragment)}" if fragment else "")


def external(href: str) -> bool:
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in EXTERNAL_SCHEMES and (
        parts.scheme.lower() == "mailto" or bool(parts.netloc)
    )


LinkTarget = Callable[[str], str | None]


def page_links(source: str | None, known: Container[str] | None) -> LinkTarget:
    """Where a link goes on the page: a document's page, an external URL, or None (text)."""

    def target(href: str) -> str | None:
        document = resolve_document(href, source)
        if document is not None:
            if known is not None and document not in known:
                return None
            return document_href(document)
        return href.strip() if external(href) else None

    return target


def _rewrite_links(tokens: list[Token], target: LinkTarget) -> None:
    """Point each link where `target` says; a link with nowhere to go keeps only its text."""
    for token in tokens:
        if token.children:
            token.children = _inline_links(token.children, target)


def _inline_links(children: list[Token], target: LinkTarget) -> list[Token]:
    out: list[Token] = []
    dropping = False
    for child in children:
        if child.type == "link_open":
            href = target(str(child.attrGet("href") or ""))
            if href is None:
                dropping = True
                continue
            child.attrSet("href", href)
        elif child.type == "link_close" and dropping:
            dropping = False
            continue
        elif child.type == "image":
            child = Token("text", "", 0, content=child.content)
        out.append(child)
    return out


def _shift_headings(tokens: list[Token], offset: int) -> None:
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + offset)}"


# -- HTML -------------------------------------------------------------------------------------


def to_html(
    markdown: str,
    *,
    source: str | None = None,
    known: Container[str] | None = None,
    heading_offset: int = 2,
    inline: bool = False,
) -> str:
    """Sanitised HTML for `markdown`.

    `source` is the document the text comes from (its relative links resolve against it);
    `known` the knowledge base's sources (a link to anything else is shown as text). Headings
    move down `heading_offset` levels (# becomes h3), under the page's own h1 and h2.
    `inline` renders one line of text (a step) without a paragraph around it.
    """
    text = markdown[:MAX_CHARS].replace("\r\n", "\n")
    front, body = (None, text) if inline else _front_matter(text)
    md = _parser()
    env: dict[str, Any] = {}
    tokens = md.parseInline(body, env) if inline else md.parse(body, env)
    _rewrite_links(tokens, page_links(source, known))
    _shift_headings(tokens, heading_offset)
    html = md.renderer.render(tokens, md.options, env)
    if front is not None:
        html = (
            '<details class="front-matter"><summary>Front matter (what ingest reads)</summary>'
            f"<pre><code>{escapeHtml(front)}</code></pre></details>\n{html}"
        )
    return sanitize(html)


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(EXTERNAL_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in CLASSES.items()},
        attribute_filter=_code_class,
        link_rel="noopener noreferrer",
    )


def sanitize(html: str) -> str:
    """`html` with only the tags, attributes and URL schemes the page allows."""
    return _cleaner().clean(html)


def _code_class(tag: str, attribute: str, value: str) -> str | None:
    # markdown-it marks a fenced block's language as `language-<info>`; keep only that.
    if tag == "code" and attribute == "class":
        return value if value.startswith("language-") and value[9:].isalnum() else None
    return value


# -- Slack mrkdwn -----------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Text safe in mrkdwn: `&`, `<` and `>` escaped, as Slack asks, so no link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_link(url: str, label: str) -> str:
    """`<url|label>`: the URL may not hold `|`, `<` or `>`; the label is escaped text."""
    safe = url.replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")
    return f"<{safe}|{slack_escape(label).replace('|', '¦')}>"


def to_mrkdwn(markdown: str, *, links: LinkTarget | None = None) -> str:
    """Slack mrkdwn for `markdown`: `**b**` as `*b*`, links as `<url|text>`, code kept.

    `links` maps a link's href to the URL Slack should open, or None to show its text only;
    by default only http(s) and mailto links stay links. Headings are shown bold.
    """
    text = markdown[:MAX_CHARS].replace("\r\n", "\n")
    _front, body = _front_matter(text)
    tokens = _parser().parse(body)
    target = links or (lambda href: href.strip() if external(href) else None)
    return _Mrkdwn(target).render(tokens).strip()


class _Mrkdwn:
    """Walks markdown-it's block tokens and writes Slack mrkdwn, one block at a time."""

    def __init__(self, target: LinkTarget) -> None:
        self.target = target
        self.out: list[str] = []
        self.lists: list[list[int]] = []  # per open list: [next number], or [] for bullets
        self.marker: str | None = None  # the bullet or number of the item just opened
        self.fresh = False  # the next block opens a top-level list: a blank line before it
        self.quote = 0
        self.heading = False
        self.table = False
        self.row: list[str] | None = None

    def emit(self, text: str) -> None:
        depth = len(self.lists)
        lines = text.split("\n")
        if depth:
            indent = "    " * (depth - 1)
            first = indent + (self.marker if self.marker is not None else "    ")
            lines = [first + lines[0], *(indent + "    " + line for line in lines[1:])]
            self.marker = None
        if self.quote:
            lines = ["> " + line for line in lines]
        block = "\n".join(lines)
        if self.out and (depth or self.table) and not self.fresh:
            self.out[-1] += "\n" + block
        else:
            self.out.append(block)
        self.fresh = False

    def render(self, tokens: Sequence[Token]) -> str:
        for token in tokens:
            kind = token.type
            if kind in ("bullet_list_open", "ordered_list_open"):
                if self.marker is not None:  # an item that opens with a nested list
                    self.emit("")
                self.fresh = not self.lists
                ordered = kind == "ordered_list_open"
                self.lists.append([int(token.attrGet("start") or 1)] if ordered else [])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                counter = self.lists[-1]
                self.marker = f"{counter[0]}. " if counter else "• "
                if counter:
                    counter[0] += 1
            elif kind == "blockquote_open":
                self.quote += 1
            elif kind == "blockquote_close":
                self.quote -= 1
            elif kind == "heading_open":
                self.heading = True
            elif kind == "heading_close":
                self.heading = False
            elif kind == "inline" and self.row is not None:
                self.row.append(self.inline(token.children or []))
            elif kind == "inline":
                self.emit(self.inline(token.children or [], bold=self.heading))
            elif kind in ("fence", "code_block"):
                self.emit(f"```{slack_escape(token.content.rstrip())}```")
            elif kind == "hr":
                self.emit("──────────")
            elif kind in ("table_open", "table_close"):
                self.table = self.fresh = kind == "table_open"
            elif kind == "tr_open":
                self.row = []
            elif kind == "tr_close":
                self.emit(" | ".join(self.row or []))
                self.row = None
            elif kind == "html_block" and not _is_comment(token):
                self.emit(slack_escape(token.content.strip()))
        return "\n\n".join(block.rstrip() for block in self.out if block.strip())

    def inline(self, children: Sequence[Token], *, bold: bool = False) -> str:
        out: list[str] = []
        link: list[str] | None = None
        href: str | None = None
        for child in children:
            kind = child.type
            piece = ""
            if kind == "text":
                piece = slack_escape(child.content)
            elif kind == "code_inline":
                piece = f"`{slack_escape(child.content)}`"
            elif kind in ("strong_open", "strong_close"):
                piece = "" if bold else "*"
            elif kind in ("em_open", "em_close"):
                piece = "_"
            elif kind in ("s_open", "s_close"):
                piece = "~"
            elif kind in ("softbreak", "hardbreak"):
                piece = "\n"
            elif kind == "image" or (kind == "html_inline" and not _is_comment(child)):
                piece = slack_escape(child.content)
            elif kind == "link_open":
                href = self.target(str(child.attrGet("href") or ""))
                link = []
                continue
            elif kind == "link_close":
                label = "".join(link or [])
                if href is not None:
                    # The label was escaped piece by piece; slack_link escapes it again.
                    plain = label.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                    piece = slack_link(href, plain.replace("*", "").replace("_", " ").strip())
                else:
                    piece = label
                link, href = None, None
            if link is not None:
                link.append(piece)
            else:
                out.append(piece)
        text = "".join(out)
        return f"*{text.strip()}*" if bold and text.strip() else text
