"""Response models of the document view (`GET /v1/documents/{source}`)."""

from __future__ import annotations

from pydantic import BaseModel

from copilot.knowledge.schemas import KindName


class DocumentSection(BaseModel):
    section: str
    lines: tuple[int, int]
    text: str


class Document(BaseModel):
    source: str
    title: str
    kind: KindName
    sections: list[DocumentSection]
