"""The one interface the copilot needs from a language model."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

from copilot import metrics
from copilot.errors import ProviderError

log = logging.getLogger(__name__)


class ChatModel(ABC):
    """Turn a system and a user message into the model's text reply."""

    name: str = "chat"

    @abstractmethod
    def complete(self, *, system: str, user: str) -> str:
        """Return the reply; raise ProviderError when the model fails or is too slow."""


class LangChainChat(ChatModel):
    """Any LangChain chat model, with a hard deadline around each call."""

    def __init__(self, model: Any, *, name: str, timeout_s: float = 30.0) -> None:
        self._model = model
        self.name = name
        self.timeout_s = timeout_s
        # A call that overruns its deadline is abandoned, not waited for.
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="llm")

    def complete(self, *, system: str, user: str) -> str:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [SystemMessage(content=system), HumanMessage(content=user)]
        started = time.perf_counter()
        future = self._pool.submit(self._model.invoke, messages)
        try:
            reply = future.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            metrics.model_called("timeout", time.perf_counter() - started)
            raise ProviderError(
                f"model {self.name} did not answer within {self.timeout_s:g}s"
            ) from None
        except Exception as exc:  # a provider can fail in any way; the caller falls back
            metrics.model_called("error", time.perf_counter() - started)
            log.warning("model %s failed: %s", self.name, type(exc).__name__)
            raise ProviderError(f"model {self.name} failed: {type(exc).__name__}") from exc
        metrics.model_called("ok", time.perf_counter() - started)
        content = getattr(reply, "content", reply)
        if isinstance(content, list):
            content = "".join(
                part.get("text", "") if isinstance(part, dict) else str(part) for part in content
            )
        return str(content)
