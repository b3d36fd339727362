"""Build the configured chat model: `extractive` (none), `openai:<model>`, `ollama:<model>`, or
any `provider:model` that LangChain's `init_chat_model` knows."""

from __future__ import annotations

from typing import Any

from copilot.errors import ConfigError
from copilot.llm.base import ChatModel, LangChainChat
from copilot.settings import Settings

EXTRACTIVE = "extractive"


def build_chat_model(settings: Settings) -> ChatModel | None:
    spec = settings.llm.strip()
    if spec == EXTRACTIVE or not spec:
        return None
    provider, _, model = spec.partition(":")
    if not model:
        raise ConfigError(
            f"COPILOT_LLM={spec!r} should be 'extractive' or 'provider:model', "
            "e.g. 'openai:qwen2.5-7b-instruct' with COPILOT_LLM_BASE_URL for vLLM or llama.cpp"
        )
    common: dict[str, Any] = {"temperature": settings.llm_temperature}
    api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    try:
        if provider == "openai":
            from langchain_openai import ChatOpenAI

            chat: Any = ChatOpenAI(
                model=model,
                base_url=settings.llm_base_url,
                # OpenAI-compatible local servers accept any key; the client insists on one.
                api_key=api_key or "not-needed",
                timeout=settings.llm_timeout_s,
                max_retries=settings.llm_max_retries,
                max_completion_tokens=settings.llm_max_tokens,
                **common,
            )
        elif provider == "ollama":
            from langchain_ollama import ChatOllama

            chat = ChatOllama(
                model=model,
                base_url=settings.llm_base_url,
                num_predict=settings.llm_max_tokens,
                **common,
            )
        else:
            from langchain.chat_models import init_chat_model

            extra: dict[str, Any] = {"max_tokens": settings.llm_max_tokens, **common}
            if settings.llm_base_url:
                extra["base_url"] = settings.llm_base_url
            if api_key:
                extra["api_key"] = api_key
            chat = init_chat_model(model, model_provider=provider, **extra)
    except ImportError as exc:
        raise ConfigError(
            f"COPILOT_LLM={spec!r} needs a LangChain integration that is not installed "
            f"({exc.name}); install it, e.g. pip install 'responder-copilot[llm]'"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"COPILOT_LLM={spec!r} is not usable: {exc}") from None
    return LangChainChat(chat, name=spec, timeout_s=settings.llm_timeout_s)
