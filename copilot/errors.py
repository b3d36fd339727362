"""The copilot's error taxonomy; the API maps each class to one HTTP status."""

from __future__ import annotations


class CopilotError(Exception):
    """Base class: `str(error)` is a message safe to show a user."""

    status_code = 500


class ConfigError(CopilotError):
    status_code = 500


class StoreLocked(CopilotError):
    status_code = 503


class StoreMismatch(ConfigError):
    pass


class NotFound(CopilotError):
    status_code = 404


class Conflict(CopilotError):
    status_code = 409


class InvalidInput(CopilotError):
    status_code = 422


class RetrievalUnavailable(CopilotError):
    status_code = 503


class ProviderError(CopilotError):
    status_code = 502


class GuardrailViolation(CopilotError):
    status_code = 422
