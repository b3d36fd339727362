"""The CLI's way to a running `copilot serve`: where it listens, and JSON over HTTP to it.

`copilot serve` records itself in `DATA_DIR/server.json` as soon as it starts (`{"pid",
"state": "starting"}`: it is loading the model and opening the store, which it then owns), and its
address once it listens (`{"url", "pid", "state": "ready"}`); it removes the file on a clean
shutdown. A command that finds a server still starting waits for it (up to `COPILOT_SERVER_WAIT`
seconds, 120 by default) instead of failing on the store it is about to own. A record is used
only while its process lives and its URL answers; `COPILOT_URL` names a server explicitly
instead. `COPILOT_API_KEY` is sent as `Authorization: Bearer <key>`. The standard library's
urllib is enough here: the CLI sends a few small JSON requests, and httpx is only a development
dependency.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

from pydantic import BaseModel, ValidationError

from copilot import __version__
from copilot.errors import CopilotError

SERVER_FILE = "server.json"
PROBE_TIMEOUT_S = 2.0
# How long a command waits for a server that is still starting (COPILOT_SERVER_WAIT overrides).
STARTING_WAIT_S = 120.0
POLL_S = 0.2
# Ask and drafts run retrieval and maybe a chat model on the server: give them time.
REQUEST_TIMEOUT_S = 300.0

M = TypeVar("M", bound=BaseModel)


class RemoteError(CopilotError):
    """The server refused a request: its status and its `detail`, as one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status


class ServerUnavailable(CopilotError):
    status_code = 503


def server_file(data_dir: Path) -> Path:
    return data_dir / SERVER_FILE


def write_server_file(data_dir: Path, url: str | None = None) -> Path:
    """Record this process as the server of `data_dir` (atomically: readers never see half).

    Without `url`, the server is starting: commands wait for it rather than open the store.
    """
    path = server_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{SERVER_FILE}.{os.getpid()}")
    record: dict[str, Any] = {"pid": os.getpid(), "state": "starting"}
    if url is not None:
        record = {"url": url, "pid": os.getpid(), "state": "ready"}
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)
    return path


def claim_server_file(data_dir: Path) -> bool:
    """Record this process as starting, unless another live process is recorded already.

    A second `copilot serve` on the same data directory must not hide the first: it will fail
    on the store the first owns, and its record would point commands at nothing meanwhile.
    """
    info = _read(server_file(data_dir))
    if info is not None and info.get("pid") != os.getpid() and _alive(info.get("pid")):
        return False
    write_server_file(data_dir)
    return True


def remove_server_file(data_dir: Path) -> None:
    """Remove the record if it is this process's (a newer server may have replaced it)."""
    path = server_file(data_dir)
    info = _read(path)
    if info is not None and info.get("pid") == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


def url_for(host: str, port: int) -> str:
    """The URL a local client reaches a server bound to host:port with."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _wait_limit(env: dict[str, str]) -> float:
    raw = (env.get("COPILOT_SERVER_WAIT") or "").strip()
    if not raw:
        return STARTING_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        raise ServerUnavailable(
            f"COPILOT_SERVER_WAIT must be a number of seconds, not {raw[:50]!r}"
        ) from None
    if not 0 <= value <= 3600:
        raise ServerUnavailable("COPILOT_SERVER_WAIT must be between 0 and 3600 seconds")
    return value


def _starting(info: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """Whether a record is of a server still starting whose process lives."""
    return info is not None and info.get("state") == "starting" and _alive(info.get("pid"))


def _notice(message: str) -> None:
    print(message, file=sys.stderr)  # noqa: T201


def find_server(
    data_dir: Path,
    env: dict[str, str] | None = None,
    *,
    notice: Callable[[str], None] = _notice,
) -> Client | None:
    """A client for COPILOT_URL, else for the live server recorded in `data_dir`, else None.

    A server recorded as starting (its process alive) is waited for, with one line on stderr,
    until it listens; if it is still starting after the wait, that is an error (the store is
    about to be its), and if its process ends, the command runs on its own.
    """
    env = dict(os.environ) if env is None else env
    key = env.get("COPILOT_API_KEY") or None
    explicit = (env.get("COPILOT_URL") or "").strip()
    if explicit:
        return Client(explicit, api_key=key)
    path = server_file(data_dir)
    info = _read(path)
    if _starting(info):
        pid, limit = info.get("pid"), _wait_limit(env)
        notice(f"waiting for the copilot server starting on this data directory (pid {pid})...")
        deadline = time.monotonic() + limit
        while _starting(info):
            if time.monotonic() >= deadline:
                raise ServerUnavailable(
                    f"the copilot server (pid {pid}) on this data directory is still starting "
                    f"after {limit:g}s; run this again once it listens (or set "
                    "COPILOT_SERVER_WAIT to wait longer)"
                )
            time.sleep(POLL_S)
            info = _read(path)
    if info is None or not _alive(info.get("pid")):
        return None
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        return None
    client = Client(url, api_key=key)
    return client if client.answers() else None


class Client:
    """JSON requests to one copilot server; errors become `CopilotError`s with one-line text."""

    def __init__(self, url: str, *, api_key: str | None = None) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ServerUnavailable(f"COPILOT_URL must be http(s)://host:port, not {url[:200]!r}")
        self.url = url.rstrip("/")
        self._key = api_key

    def answers(self) -> bool:
        """Whether a copilot server answers at the URL (its unauthenticated health probe)."""
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=PROBE_TIMEOUT_S) as r:
                body = json.load(r)
        except (OSError, ValueError):
            return False
        return isinstance(body, dict) and body.get("status") == "ok"

    def get(self, model: type[M], path: str, **query: Any) -> M:
        return self.call(model, "GET", path, query=query)

    def post(self, model: type[M], path: str, body: Any = None) -> M:
        return self.call(model, "POST", path, body=body)

    def patch(self, model: type[M], path: str, body: Any) -> M:
        return self.call(model, "PATCH", path, body=body)

    def call(
        self,
        model: type[M],
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> M:
        """One request, its answer parsed as JSON into the API's response model."""
        raw = self.send(method, path, body=body, query=query)
        try:
            # From JSON, as any client reads a response (models may trust Python input less).
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise ServerUnavailable(
                f"the server at {self.url} answered {method} {path.split('?')[0]} with an "
                f"unexpected body ({exc.error_count()} problem(s)); is it the same version?"
            ) from None

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> bytes:
        """Send one request; the raw answer, or RemoteError/ServerUnavailable."""
        url = self.url + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        headers = {"Accept": "application/json", "User-Agent": f"copilot-cli/{__version__}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as response:
                raw: bytes = response.read()
        except urllib.error.HTTPError as exc:
            raise RemoteError(exc.code, self._message(exc)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnavailable(
                f"cannot reach the copilot server at {self.url}: {reason}"
            ) from None
        return raw

    def _message(self, exc: urllib.error.HTTPError) -> str:
        try:
            detail = json.loads(exc.read()).get("detail")
        except (OSError, ValueError, AttributeError):
            detail = None
        text = describe(detail) or f"HTTP {exc.code} {exc.reason}"
        if exc.code == 401:
            text = f"{text} (the server at {self.url}: set COPILOT_API_KEY to a valid key)"
        return text


def describe(detail: Any) -> str:
    """An API error `detail` (a message, or a list of field problems) as one line."""
    if isinstance(detail, str):
        return " ".join(detail.split())
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                field = item.get("field") or ".".join(str(p) for p in item.get("loc", ()))
                message = item.get("message") or item.get("msg") or "invalid value"
                parts.append(f"{field}: {message}" if field else str(message))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    if detail is None:
        return ""
    return json.dumps(detail)[:500]
