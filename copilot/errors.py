"""The copilot's error taxonomy; the API maps each class to one HTTP status."""

from __future__ import annotations


class CopilotError(Exception):
    """Base class: `str(error)` is a message safe to show a user."""

    status_code = 500

    @property
    def public_message(self) -> str:
        """What an HTTP response may say; `str(error)` still goes to the log and the CLI."""
        return str(self)


class ConfigError(CopilotError):
    status_code = 500


class StoreLocked(CopilotError):
    status_code = 503


class StoreMismatch(ConfigError):
    pass


class NotFound(CopilotError):
    """`str(error)` may name what was asked for (the CLI and the log show it); `public` may not.

    An HTTP response never echoes the id a client submitted, so it carries `public` ("incident
    not found"), or a bare "not found" when the raiser gave none.
    """

    status_code = 404

    def __init__(self, message: str, *, public: str = "not found") -> None:
        super().__init__(message)
        self.public = public

    @property
    def public_message(self) -> str:
        return self.public


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
