"""Alert candidates posted to a Slack incoming webhook (`COPILOT_SLACK_ALERTS_WEBHOOK_URL`).

When a notification makes an alert group a candidate, the alert routes hand its view to the
listeners in `app.state.alert_candidate_listeners`; this one writes a Block Kit message for it to
the webhook outbox and returns. Sending is the outbound webhooks' machinery
(`copilot.integrations.webhooks.WebhookDispatcher`): a background worker per URL, retries with
backoff on connection errors, 429 and 5xx, the outbox surviving restarts. So intake never waits
for Slack, and a Slack outage delays messages instead of losing them.

The message is built from the group's view, whose alert text (names, labels, annotations, the
grouping reason, runbook titles) went through `copilot.guardrails.screened.screen()`, and is
escaped for mrkdwn by the slash commands' Block Kit helpers, so an alert cannot mention
`@channel`, a user, or open a link it does not show. Links point at the war room when
`COPILOT_PUBLIC_URL` is set.

Slack does not sign or check incoming-webhook requests; the dispatcher's `X-Copilot-*` headers
(signed with a key made per process) are ignored by it. The URL carries Slack's token: it is a
secret setting, and the outbox names it by its SHA-256 and host only.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from sqlalchemy.exc import SQLAlchemyError

from copilot.alerts.schemas import GroupView
from copilot.errors import ConfigError, CopilotError
from copilot.integrations import blockkit
from copilot.integrations.outbox import Delivery
from copilot.integrations.webhooks import DELIVERIES, WebhookDispatcher
from copilot.settings import Settings

log = logging.getLogger("copilot.slack")

EVENT = "alert_group.candidate"
MAX_ALERTS_SHOWN = 5
MAX_RUNBOOKS_SHOWN = 5


def _summary(view: GroupView, index: int) -> str:
    alert = view.alerts[index]
    text = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    line = f"• *{blockkit.escape(alert.name)}* ({alert.status})"
    return f"{line}: {blockkit.escape(text)}" if text else line


def candidate_message(view: GroupView, public_url: str | None = None) -> dict[str, Any]:
    """The Block Kit message announcing a candidate (every text from the screened view)."""
    base = public_url.rstrip("/") if public_url else None
    blocks: list[dict[str, Any]] = [
        blockkit.header(f"Alert candidate: {view.title}"),
        blockkit.fields(
            [
                ("Suggested severity", f"{view.suggested_severity} ({view.severity_from})"),
                ("Services", ", ".join(view.services) or "none named"),
                ("Alerts", f"{view.firing} firing, {view.resolved} resolved"),
                ("Group", f"{view.id} ({view.status})"),
            ]
        ),
        blockkit.section(f"*Why grouped:* {blockkit.escape(view.reason)}"),
    ]
    if view.reopen is not None:
        blocks.append(
            blockkit.section(
                f":repeat: *Proposes reopening {blockkit.escape(view.reopen.incident_id)}:* "
                f"{blockkit.escape(view.reopen.reason)}"
            )
        )
    shown = min(len(view.alerts), MAX_ALERTS_SHOWN)
    if shown:
        lines = [_summary(view, i) for i in range(shown)]
        if len(view.alerts) > shown:
            lines.append(f"…and {len(view.alerts) - shown} more")
        blocks.append(blockkit.section("\n".join(lines)))
    if view.runbooks:
        runbooks = []
        for ref in view.runbooks[:MAX_RUNBOOKS_SHOWN]:
            label = f"{ref.title} › {ref.section}"
            url = f"{base}{blockkit.source_path(ref.source, ref.lines)}" if base else None
            runbooks.append(
                f"• {blockkit.escape(ref.alertname)}: {blockkit.link(url, label)} (found by "
                f"{ref.found_by.replace('_', ' ')})"
            )
        blocks.append(blockkit.section("*Runbooks:*\n" + "\n".join(runbooks)))
    firing = f"{base}/firing" if base else None
    blocks.append(
        blockkit.context(
            f"{blockkit.link(firing, 'Declare, attach or dismiss in the war room')}"
            if firing
            else "Declare, attach or dismiss it in the war room (Firing)"
        )
    )
    return {
        "text": blockkit.escape(
            f"Alert candidate: {view.title} (suggested {view.suggested_severity})"
        ),
        "blocks": blocks[: blockkit.MAX_BLOCKS],
    }


class SlackAlertPoster(WebhookDispatcher):
    """Posts candidates to one Slack incoming webhook through the webhook outbox."""

    def __init__(
        self,
        url: str,
        *,
        outbox: Any,
        timeout_s: float = 5.0,
        max_attempts: int = 6,
        backoff_s: float = 1.0,
        public_url: str | None = None,
    ) -> None:
        super().__init__(
            [url],
            secrets.token_hex(16),  # Slack checks no signature; see the module docstring
            outbox=outbox,
            timeout_s=timeout_s,
            max_attempts=max_attempts,
            backoff_s=backoff_s,
            public_url=public_url,
        )

    def on_candidates(self, groups: Sequence[GroupView]) -> None:
        """The alert routes' listener: one message per new candidate into the outbox; never
        waits for Slack."""
        if not groups:
            return
        deliveries = [
            Delivery(
                str(uuid.uuid4()),
                EVENT,
                json.dumps(candidate_message(group, self.public_url), ensure_ascii=False).encode(),
            )
            for group in groups
        ]
        urls = [target.url for target in self._targets]
        try:
            dropped = self.outbox.add(deliveries, urls, limit=self.max_pending)
        except (SQLAlchemyError, CopilotError) as exc:
            log.error("Slack alert messages not queued (%s); %d dropped", exc, len(deliveries))
            dropped = [(url, d) for url in urls for d in deliveries]
        if dropped:
            self.stats.add(dropped=len(dropped))
            DELIVERIES.labels("dropped").inc(len(dropped))
        for target in self._targets:
            target.wake.set()


def from_settings(settings: Settings) -> SlackAlertPoster | None:
    """The poster the settings ask for, or None without COPILOT_SLACK_ALERTS_WEBHOOK_URL."""
    secret = settings.slack_alerts_webhook_url
    url = secret.get_secret_value().strip() if secret is not None else ""
    if not url:
        return None
    try:
        parsed = urlparse(url)
        valid = parsed.scheme in ("http", "https") and bool(parsed.hostname)
    except ValueError:
        valid = False
    if not valid:
        # The URL holds Slack's token: the message does not repeat it.
        raise ConfigError("COPILOT_SLACK_ALERTS_WEBHOOK_URL is not an http(s) URL")
    return SlackAlertPoster(
        url,
        outbox=settings,
        timeout_s=settings.webhook_timeout_s,
        max_attempts=settings.webhook_max_attempts,
        backoff_s=settings.webhook_backoff_s,
        public_url=settings.public_url,
    )


@contextmanager
def running(poster: SlackAlertPoster | None) -> Iterator[None]:
    """Run the poster's worker while the app serves; what is unsent waits in the outbox."""
    if poster is None:
        yield
        return
    poster.start()
    try:
        yield
    finally:
        poster.stop()
