"""copilot.render: markdown as sanitised HTML for the page, and as Slack mrkdwn."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from copilot.knowledge.models import Chunk
from copilot.render import resolve_document, slack_escape, to_html, to_mrkdwn
from copilot.web.routes import merge_sections
from tests.conftest import SAMPLE_KB, a_chunk

KNOWN = frozenset({"runbooks/deploy-rollback.md", "runbooks/vault-sealed.md"})


class _Elements(HTMLParser):
    """Every element and attribute of a fragment, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend((tag, name, value or "") for name, value in attrs)


def elements(html: str) -> _Elements:
    parsed = _Elements()
    parsed.feed(html)
    return parsed


def test_status_update_bold_lists_and_code() -> None:
    html = to_html(
        "**Affected:** checkout\n\n- one\n- two `kubectl get pods`\n\n```bash\nls -l\n```"
    )
    assert "<strong>Affected:</strong> checkout" in html
    assert "**" not in html
    assert "<li>two <code>kubectl get pods</code></li>" in html
    assert '<pre><code class="language-bash">ls -l\n</code></pre>' in html


def test_headings_sit_below_the_page_headings() -> None:
    tags = elements(to_html("# One\n\n## Two\n\n###### Six")).tags
    assert tags == ["h3", "h4", "h6"]


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        'text <a href="javascript:alert(1)">click</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java\tscript:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "[click](vbscript:msgbox(1))",
        "![x](javascript:alert(1))",
        "<svg onload=alert(1)>",
        '<iframe src="https://evil.example"></iframe>',
        '<a href="https://ok.example" onclick="alert(1)">x</a>',
        "<style>body{display:none}</style>",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "`</code><script>alert(1)</script>`",
        '[x](https://ok.example "title" onmouseover=alert(1))',
        "<!-- a --><script>alert(1)</script>",
    ],
)
def test_no_script_handler_or_dangerous_url_survives(attack: str) -> None:
    html = to_html(attack, source="runbooks/x.md", known=KNOWN)
    parsed = elements(html)
    assert not {"script", "img", "svg", "iframe", "style"} & set(parsed.tags), html
    for _tag, name, value in parsed.attrs:
        assert not name.startswith("on"), html
        if name == "href":
            assert value.startswith(("https://", "http://", "mailto:", "/runbooks/")), html


def test_raw_html_is_shown_as_text_and_comments_dropped() -> None:
    html = to_html("<script>window.x = 2</script>\n\nsee <b>this</b><!-- note for authors -->")
    assert "&lt;script&gt;window.x = 2&lt;/script&gt;" in html
    assert "see &lt;b&gt;this&lt;/b&gt;" in html
    assert "note for authors" not in html


def test_links_to_knowledge_base_documents_open_their_page() -> None:
    text = (
        "- [Deploy rollback](deploy-rollback.md)\n"
        "- [Vault](../runbooks/vault-sealed.md#mitigation)\n"
        "- [Gone](no-such-runbook.md)\n"
        "- [Escape](../../etc/passwd.md)\n"
        "- [Status](https://status.example.com/x?a=1&b=2)\n"
    )
    parsed = elements(to_html(text, source="runbooks/api-gateway-5xx-spike.md", known=KNOWN))
    hrefs = [value for tag, name, value in parsed.attrs if tag == "a" and name == "href"]
    assert hrefs == [
        "/runbooks/runbooks/deploy-rollback.md",
        "/runbooks/runbooks/vault-sealed.md",
        "https://status.example.com/x?a=1&b=2",
    ]
    rels = [value for tag, name, value in parsed.attrs if tag == "a" and name == "rel"]
    assert rels and all("noopener" in r for r in rels)
    html = to_html(text, source="runbooks/api-gateway-5xx-spike.md", known=KNOWN)
    assert "Gone" in html and "Escape" in html  # shown, as text


def test_resolve_document() -> None:
    assert resolve_document("deploy-rollback.md", "runbooks/a.md") == "runbooks/deploy-rollback.md"
    assert resolve_document("../runbooks/b.md", "postmortems/p.md") == "runbooks/b.md"
    assert resolve_document("../x.md", "a.md") is None
    assert resolve_document("https://e.com/x.md", "a.md") is None
    assert resolve_document("picture.png", "a.md") is None


def test_front_matter_is_folded_away() -> None:
    html = to_html("---\ntitle: x\n---\n# Body")
    assert '<details class="front-matter">' in html and "title: x" in html
    assert "<h3>Body</h3>" in html


def test_tables_render_without_inline_styles() -> None:
    html = to_html("| a | b |\n|:--|--:|\n| `c` | **d** |")
    assert "<td><code>c</code></td>" in html and "<td><strong>d</strong></td>" in html
    assert "style=" not in html


# -- overlapping chunks -----------------------------------------------------------------------


def _Chunk(section: str, start: int, end: int, text: str) -> Chunk:
    return a_chunk(
        text, section=section, cid=f"{section}{start}", ordinal=start, title="X", lines=(start, end)
    )


def test_overlapping_windows_of_a_section_become_one_section() -> None:
    lines = [f"{n}. step number {n} with some words" for n in range(1, 13)]
    fence = ["```bash", "kubectl get pods", "```"]
    body = lines[:6] + fence + lines[6:]
    first = _Chunk("Diagnosis", 10, 19, "\n".join(body[:9]))
    second = _Chunk("Diagnosis", 17, 25, "\n".join(body[6:]))
    other = _Chunk("Mitigation", 26, 30, "Roll back.")
    merged = merge_sections([first, second, other])
    assert [(s, a, b) for s, a, b, _ in merged] == [("Diagnosis", 10, 25), ("Mitigation", 26, 30)]
    assert merged[0][3] == "\n".join(body)
    html = to_html(merged[0][3])
    assert html.count("<pre>") == 1 and "kubectl get pods" in html


def test_windows_that_do_not_overlap_stay_apart() -> None:
    a = _Chunk("Notes", 1, 3, "one")
    b = _Chunk("Notes", 8, 9, "two")  # a second section with the same heading
    assert len(merge_sections([a, b])) == 2


# -- Slack mrkdwn -----------------------------------------------------------------------------


def test_mrkdwn_bold_links_code_and_headings() -> None:
    text = (
        "## Next steps\n\n"
        "**Affected:** checkout & payments\n\n"
        "- see [the runbook](https://wiki.example.com/a?b=1|2) now\n"
        "- run `kubectl get pods -l app=<name>`\n\n"
        "```\nif a < b && c > d\n```"
    )
    out = to_mrkdwn(text)
    assert out.split("\n\n")[0] == "*Next steps*"
    assert "*Affected:* checkout &amp; payments" in out
    assert "• see <https://wiki.example.com/a?b=1%7C2|the runbook> now" in out
    assert "• run `kubectl get pods -l app=&lt;name&gt;`" in out
    assert "```if a &lt; b &amp;&amp; c &gt; d```" in out
    assert "**" not in out


def test_mrkdwn_cannot_mention_or_link_by_surprise() -> None:
    out = to_mrkdwn("ping <!channel> and <@U123> or <https://evil.example|safe> [x](javascript:1)")
    assert "<!" not in out and "<@" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out
    # An autolink stays a link, but labelled with its real address, never a chosen word.
    assert "|safe>" not in out and "|https://evil.example¦safe>" in out
    assert "javascript" not in out.replace("[x](javascript:1)", "")


def test_mrkdwn_nested_and_ordered_lists() -> None:
    out = to_mrkdwn("1. first\n   - sub *em*\n2. second\n\nafter")
    assert out == "1. first\n    • sub _em_\n2. second\n\nafter"


def test_mrkdwn_relative_links_use_the_given_target() -> None:
    out = to_mrkdwn(
        "[Rollback](deploy-rollback.md) and [Other](x.md)",
        links=lambda href: (
            "https://copilot.example/runbooks/runbooks/deploy-rollback.md"
            if href == "deploy-rollback.md"
            else None
        ),
    )
    assert out == (
        "<https://copilot.example/runbooks/runbooks/deploy-rollback.md|Rollback> and Other"
    )


def test_slack_escape() -> None:
    assert slack_escape("a & <b> c") == "a &amp; &lt;b&gt; c"


def test_every_sample_runbook_renders() -> None:
    for path in sorted(SAMPLE_KB.rglob("*.md")):
        text = path.read_text()
        assert "<script" not in to_html(text)
        assert to_mrkdwn(text)
