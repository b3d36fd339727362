from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from copilot.api.app import create_app
from copilot.incidents.db import IncidentStore
from copilot.knowledge.store import KnowledgeBase
from copilot.llm.base import ChatModel, LangChainChat


class ScriptedChat(GenericFakeChatModel):
    """LangChain's scripted fake: each call takes the next reply and raises when none is left.

    It also keeps the prompts it was sent, so tests can check what reached the model.
    """

    seen: list[list[BaseMessage]] = []  # noqa: RUF012 - pydantic field default

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(messages)
        return super()._generate(messages, *args, **kwargs)


class SlowChat(GenericFakeChatModel):
    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        time.sleep(2)
        return super()._generate(messages, *args, **kwargs)


def scripted(*replies: str, timeout_s: float = 10.0) -> tuple[LangChainChat, ScriptedChat]:
    model = ScriptedChat(messages=iter([AIMessage(content=r) for r in replies]), seen=[])
    return LangChainChat(model, name="fake:scripted", timeout_s=timeout_s), model


@pytest.fixture
def ask_client(
    sample_kb: KnowledgeBase, settings: Any
) -> Iterator[Callable[[ChatModel | None], TestClient]]:
    """A client over the sample knowledge base and a fresh incident store, with a chosen model."""
    opened: list[Any] = []

    def _make(chat: ChatModel | None = None) -> TestClient:
        store = IncidentStore(settings.sqlalchemy_url)
        app = create_app(sample_kb.settings, kb=sample_kb, incident_store=store, chat=chat)
        client = TestClient(app)
        client.__enter__()
        opened.append((client, store))
        return client

    yield _make
    for client, store in opened:
        client.__exit__(None, None, None)
        store.close()
