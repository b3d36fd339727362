"""Response models of the war-room page's reads: documents, passages, the rendered timeline."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from copilot.guardrails.screened import ScreenedStr
from copilot.incidents.schemas import Event
from copilot.insights.schemas import Insights
from copilot.knowledge.schemas import KindName

HTML_NOTE = "the markdown rendered as sanitised HTML (markdown-it-py, then nh3)"


class DocumentSection(BaseModel):
    section: ScreenedStr
    lines: tuple[int, int] = Field(description="the whole section, however it was chunked")
    text: ScreenedStr = Field(description="the section as screened: attacks cut, secrets redacted")
    html: ScreenedStr = Field(description=HTML_NOTE + ", of the screened text")
    removed: int = Field(0, description="parts of the section the guardrails cut")
    reasons: list[str] = Field(default_factory=list, description="why they were cut")


class Document(BaseModel):
    source: str
    title: ScreenedStr
    kind: KindName
    sections: list[DocumentSection]


class Passage(BaseModel):
    source: str
    lines: tuple[int, int]
    html: ScreenedStr = Field(description=HTML_NOTE + ", of the screened text")


class PassageList(BaseModel):
    passages: list[Passage]


class RenderedEvent(Event):
    html: str = Field(description=f"the event's text: {HTML_NOTE}")


class Timeline(BaseModel):
    incident_id: str
    events: list[RenderedEvent]


class RenderRequest(BaseModel):
    model_config = {"extra": "forbid"}

    markdown: str = Field("", max_length=200_000, description="a document: blocks, headings")
    inline: list[Annotated[str, Field(max_length=8000)]] = Field(
        [], max_length=60, description="lines (an answer, its steps), each rendered on its own"
    )
    source: str | None = Field(
        None, max_length=500, description="the document the text is from: its links resolve there"
    )
    inline_sources: list[Annotated[str | None, Field(max_length=500)]] = Field(
        [],
        max_length=60,
        description="the document each of `inline` is from (a step's citation), in the same "
        "order; empty: `source` for all",
    )

    @model_validator(mode="after")
    def _one_source_per_line(self) -> RenderRequest:
        if self.inline_sources and len(self.inline_sources) != len(self.inline):
            raise ValueError("inline_sources must name one source per line of inline")
        return self


class Rendered(BaseModel):
    html: str = Field(description=f"`markdown`: {HTML_NOTE}")
    inline: list[str] = Field(description="each of `inline` as HTML, without a paragraph")


class ChartView(BaseModel):
    """One insights chart: its SVG (matplotlib's, shown by the page as an image) and its table."""

    key: str
    title: str
    svg: str = Field(description="image/svg+xml; the page shows it as an <img>, never inline")
    columns: list[str]
    rows: list[list[str | int | float | None]]


class InsightsPage(BaseModel):
    """The insights report and its charts, computed once for the war room's Insights page."""

    insights: Insights
    charts: list[ChartView]
