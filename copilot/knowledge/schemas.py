"""Request and response models of the knowledge-base API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copilot.guardrails.screened import ScreenedStr, screened, screened_label
from copilot.knowledge.models import Hit
from copilot.knowledge.retrieval import MAX_QUERY_CHARS, display_score, match_strength
from copilot.knowledge.twins import NearTwins, Twin

KindName = Literal["runbook", "postmortem"]


class SearchRequest(BaseModel):
    # A misspelt field (`topk`) is an error, not a silently ignored one.
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(5, ge=1, le=50)
    kind: KindName | None = None
    services: list[str] = Field(default_factory=list, max_length=20)
    tags: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query must contain more than whitespace")
        return value


class SearchResult(BaseModel):
    source: str
    title: ScreenedStr
    section: ScreenedStr = Field(description="heading path of the section shown, e.g. 'Mitigation'")
    kind: KindName
    score: float = Field(
        ge=0.0,
        le=1.0,
        description="0..1: the retriever's rank score squashed into 0..1, scaled down when even "
        "the best match is semantically far from the query; comparable within one response",
    )
    lines: tuple[int, int]
    text: ScreenedStr

    @classmethod
    def from_hit(cls, hit: Hit, *, scale: float = 1.0) -> SearchResult:
        c = hit.chunk
        return cls(
            source=c.source,
            title=screened_label(c.title),
            section=screened_label(c.section),
            kind=c.kind,
            score=round(display_score(hit.score) * scale, 6),
            lines=(c.line_start, c.line_end),
            text=screened(c.text),
        )


class TwinOut(BaseModel):
    source: str
    title: ScreenedStr
    line: ScreenedStr = Field(
        description="what tells it apart: the sentence of its meaning that the twin does not say"
    )
    lines: tuple[int, int] = Field(description="the lines of the section that sentence is in")
    own_words: list[ScreenedStr] = Field(
        description="the question's words that only this one of the two mentions"
    )


class NearTwinsOut(BaseModel):
    """The first two documents say nearly the same thing and match about equally: read the
    line that tells them apart before acting on either."""

    lead: TwinOut = Field(description="the one shown first: the question's words favour it")
    other: TwinOut
    similarity: float = Field(ge=-1.0, le=1.0, description="cosine of the documents' vectors")
    reordered: bool = Field(
        description="the question's words moved `lead` ahead of the retriever's first document"
    )
    note: ScreenedStr = Field(description="the same, as one sentence a person reads")

    @classmethod
    def build(cls, found: NearTwins | None) -> NearTwinsOut | None:
        if found is None:
            return None

        def twin(t: Twin) -> TwinOut:
            return TwinOut(
                source=t.source,
                title=screened_label(t.title),
                line=screened(t.line),
                lines=t.lines,
                own_words=[screened(w) for w in t.own_words],
            )

        return cls(
            lead=twin(found.lead),
            other=twin(found.other),
            similarity=found.similarity,
            reordered=found.reordered,
            note=screened(twin_note(found)),
        )


def corrected_note(corrected: dict[str, str]) -> str | None:
    """One sentence naming each typing slip and the word searched for it, or None."""
    if not corrected:
        return None
    read = ", ".join(
        f"\u201c{typed}\u201d as \u201c{meant}\u201d" for typed, meant in corrected.items()
    )
    return f"Also searched {read} (not in the knowledge base as typed)."


def twin_note(found: NearTwins) -> str:
    """One sentence: which two, why the first leads, and what tells them apart."""
    lead, other = found.lead, found.other
    why = (
        f"the question says {', '.join(repr(w) for w in lead.own_words[:3])}, which only "
        f"{lead.title} mentions"
        if lead.own_words
        else "it matches a little better"
    )
    parts = [
        f"Near twins: {lead.title} and {other.title} match about equally; {lead.title} "
        f"leads because {why}."
    ]
    if lead.line:
        parts.append(f"{lead.title}: {lead.line}")
    if other.line:
        parts.append(f"{other.title}: {other.line}")
    return " ".join(parts)


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]
    near_twins: NearTwinsOut | None = Field(
        None,
        description="set when the first two documents are near twins close in score: which "
        "leads and why, and the line of each that tells them apart",
    )
    no_match: bool = Field(
        False,
        description="nothing passed the similarity floor: the results are only the closest ones",
    )
    degraded: str | None = Field(
        None,
        description="null when retrieval was whole; otherwise what was missing, e.g. keyword "
        "search only because the vector store does not answer",
    )
    corrected: dict[str, str] = Field(
        default_factory=dict,
        description="typing slips searched as the knowledge base's word, typed -> searched "
        '(e.g. {"pagment": "payment"}); empty when every word was searched as typed',
    )

    @classmethod
    def build(
        cls,
        query: str,
        hits: list[Hit],
        *,
        floor: float,
        degraded: str | None = None,
        twins: NearTwins | None = None,
        corrected: dict[str, str] | None = None,
    ) -> SearchResponse:
        if degraded is not None:
            # Without vectors there is no similarity to hold against the floor: the keyword
            # results are shown with their own scores, and no_match only when there are none.
            return cls(
                query=query,
                results=[SearchResult.from_hit(h, scale=1.0) for h in hits],
                no_match=not hits,
                degraded=degraded,
                corrected=corrected or {},
            )
        verdict = match_strength(hits, floor=floor)
        return cls(
            query=query,
            results=[SearchResult.from_hit(h, scale=verdict.scale) for h in hits],
            no_match=verdict.no_match,
            near_twins=None if verdict.no_match else NearTwinsOut.build(twins),
            corrected=corrected or {},
        )


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[str] = Field(
        min_length=1,
        max_length=20,
        description="files or folders on the server, inside one of COPILOT_INGEST_ROOTS "
        "(absolute, or relative to the server's working directory)",
    )
    rebuild: bool = Field(False, description="drop the index and rebuild it from these paths")

    @field_validator("paths")
    @classmethod
    def _bounded(cls, value: list[str]) -> list[str]:
        for path in value:
            if not path.strip() or len(path) > 4096 or "\x00" in path:
                raise ValueError("each path must be 1 to 4096 characters, without NUL")
        return value


class IngestFailure(BaseModel):
    file: str
    reason: str


class IngestResponse(BaseModel):
    added: int
    updated: int
    unchanged: int
    removed: int
    failed: int
    chunks: int
    embedded: int
    seconds: float
    failures: list[IngestFailure]
