"""Webhook payloads to one shape: normalised alerts, a notification digest, Grafana's signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from copilot.alerts.schemas import AlertmanagerAlert, AlertmanagerPayload, GrafanaPayload
from copilot.errors import CopilotError, InvalidInput

# Alertmanager and Grafana send this for an alert that has not ended.
ZERO_TIME_YEAR = 1
# Labels and annotations of one alert together (characters): enough for any real alert, and a
# bound on the untrusted text each alert brings to every view that screens it.
MAX_ALERT_TEXT = 16 * 1024
# A signed Grafana request older (or newer) than this is refused as a replay.
SIGNATURE_MAX_AGE_S = 300
SIGNATURE_HEADER = "x-grafana-alerting-signature"
TIMESTAMP_HEADER = "x-grafana-alerting-timestamp"


class Unauthenticated(CopilotError):
    status_code = 401


@dataclass(frozen=True)
class Normal:
    """One alert as the copilot keeps it, whichever system sent it."""

    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "") or "(unnamed alert)"


@dataclass(frozen=True)
class Notification:
    source: str
    group_key: str
    alerts: list[Normal]
    digest: str


def fingerprint_of(labels: dict[str, str]) -> str:
    """A fingerprint from the sorted labels, for senders that give none."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _utc(value: datetime, field: str) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value.year < 2000:
        raise InvalidInput(f"{field}: must not be before 2000-01-01")
    return value


def _normal(alert: AlertmanagerAlert, index: int, *, drop_internal: bool) -> Normal:
    labels = {k: v for k, v in alert.labels.items() if not (drop_internal and k.startswith("__"))}
    if not labels:
        raise InvalidInput(f"alerts.{index}.labels: an alert needs at least one label")
    size = sum(len(k) + len(v) for k, v in (*labels.items(), *alert.annotations.items()))
    if size > MAX_ALERT_TEXT:
        raise InvalidInput(
            f"alerts.{index}: labels and annotations together are {size} characters; "
            f"the limit is {MAX_ALERT_TEXT}"
        )
    ends = alert.endsAt
    if ends is not None and ends.year <= ZERO_TIME_YEAR:
        ends = None
    starts = _utc(alert.startsAt, f"alerts.{index}.startsAt")
    ends_at = _utc(ends, f"alerts.{index}.endsAt") if ends is not None else None
    if alert.status == "firing":
        ends_at = None  # a firing alert's endsAt is only Alertmanager's resolve timeout
    elif ends_at is not None and ends_at < starts:
        raise InvalidInput(f"alerts.{index}.endsAt: must not be before startsAt")
    return Normal(
        fingerprint=alert.fingerprint or fingerprint_of(labels),
        status=alert.status,
        labels=labels,
        annotations=dict(alert.annotations),
        starts_at=starts,
        ends_at=ends_at,
        generator_url=alert.generatorURL or None,
    )


def _digest(source: str, group_key: str, alerts: list[Normal]) -> str:
    """What makes two notifications the same: each alert's identity, state and times."""
    body = [
        [a.fingerprint, a.status, a.starts_at.isoformat(), a.ends_at and a.ends_at.isoformat()]
        for a in sorted(alerts, key=lambda a: a.fingerprint)
    ]
    canonical = json.dumps([source, group_key, body], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def normalise(payload: AlertmanagerPayload, *, source: str) -> Notification:
    """Checked, normalised alerts of a payload; InvalidInput naming the field otherwise."""
    grafana = isinstance(payload, GrafanaPayload)
    alerts = [_normal(a, i, drop_internal=grafana) for i, a in enumerate(payload.alerts)]
    seen: set[str] = set()
    unique: list[Normal] = []
    for alert in alerts:  # one group never carries an alert twice; keep the first if it does
        if alert.fingerprint not in seen:
            seen.add(alert.fingerprint)
            unique.append(alert)
    return Notification(
        source=source,
        group_key=payload.groupKey[:1000],
        alerts=unique,
        digest=_digest(source, payload.groupKey, unique),
    )


def check_grafana_signature(
    *, secret: str | None, body: bytes, headers: dict[str, str], now: float | None = None
) -> None:
    """With a secret configured, the request must carry Grafana's HMAC-SHA256 of its body (of
    `timestamp:body` when Grafana sends a timestamp header); Unauthenticated otherwise."""
    if not secret:
        return
    signature = headers.get(SIGNATURE_HEADER, "").strip().lower()
    if not signature:
        raise Unauthenticated(f"the request carries no {SIGNATURE_HEADER} header")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    signed = body
    if timestamp:
        try:
            age = abs((now if now is not None else time.time()) - float(timestamp))
        except ValueError:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} is not a Unix time") from None
        if age > SIGNATURE_MAX_AGE_S:
            raise Unauthenticated(f"{TIMESTAMP_HEADER} is more than 5 minutes off")
        signed = timestamp.encode() + b":" + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthenticated("the Grafana signature does not match the body")
