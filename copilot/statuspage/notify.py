"""Telling subscribers what the public page says, and the tick that moves maintenance on.

Subscribers hear three events, each with only what the page shows (the Statuspage JSON of the
incident or the window, and the page's overall status), never the incident behind it:

- `status_page.incident_updated`: a public update was published (`incident`, as in
  incidents.json, its newest update first);
- `status_page.maintenance_created` and `status_page.maintenance_updated` (`scheduled_maintenance`,
  as in scheduled-maintenances.json, and `transition`: `from`, `to` and `automatic`, true when the
  window started or ended by itself).

A listener takes (event name, fields); the webhook dispatcher is the one the app wires
(copilot.integrations.webhooks: the same outbox, signing and retries as the incident events).
Listeners are called after the change committed; a failing one is only logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from copilot.incidents import service as incidents
from copilot.incidents.db import IncidentStore
from copilot.statuspage import render, service
from copilot.statuspage.config import PageConfig
from copilot.statuspage.maintenance import Change, tick

log = logging.getLogger("copilot.statuspage")

PageListener = Callable[[str, dict[str, Any]], None]
INCIDENT_UPDATED = "status_page.incident_updated"
MAINTENANCE_CREATED = "status_page.maintenance_created"
MAINTENANCE_UPDATED = "status_page.maintenance_updated"
EVENTS = (INCIDENT_UPDATED, MAINTENANCE_CREATED, MAINTENANCE_UPDATED)
TICK_S = 30.0


def _page(state: service.PageState) -> dict[str, Any]:
    """The page as Statuspage's webhooks name it, with its overall status."""
    page = render.page(state).model_dump(mode="json", include={"id", "name", "url", "updated_at"})
    return {**page, "status_indicator": state.indicator, "status_description": state.description}


def incident_fields(state: service.PageState, number: int) -> dict[str, Any] | None:
    """What subscribers hear of incident `number` as the page shows it; None if it does not."""
    for inc in state.incidents:
        if inc.number == number:
            return {
                "page": _page(state),
                "incident": render.incident(state, inc).model_dump(mode="json"),
            }
    return None


def maintenance_fields(state: service.PageState, change: Change) -> dict[str, Any] | None:
    for window in state.maintenances:
        if window.row.id == change.maintenance_id:
            return {
                "page": _page(state),
                "scheduled_maintenance": render.maintenance(state, window).model_dump(mode="json"),
                "transition": {
                    "from": change.from_status,
                    "to": change.to_status,
                    "automatic": change.automatic,
                }
                if change.from_status != change.to_status
                else None,
            }
    return None


class Notifier:
    """Builds the public view of a change and hands it to the listeners."""

    def __init__(
        self,
        store: IncidentStore,
        config: Callable[[], PageConfig],
        listeners: Sequence[PageListener] = (),
    ) -> None:
        self.store = store
        self.config = config
        self.listeners = list(listeners)

    def _state(self) -> service.PageState:
        return service.build_state(store=self.store, config=self.config())

    def _send(self, name: str, fields: dict[str, Any]) -> None:
        for listener in self.listeners:
            try:
                listener(name, fields)
            except Exception:
                log.exception("a status page listener failed on %s", name)

    def on_incident_change(self, incident: Any, events: Sequence[Any]) -> None:
        """The incident store's listener: a published public update is news for subscribers.

        Only the incident's number is read from `incident`; all else comes from the page.
        """
        public = [
            e
            for e in events
            if getattr(e, "kind", None) == "status_update"
            and (getattr(e, "data", None) or {}).get("audience") == "public"
        ]
        if not public or not self.listeners:
            return
        try:
            fields = incident_fields(self._state(), incidents.parse_id(incident.id))
        except Exception:
            log.exception("the status page could not be built for its subscribers")
            return
        if fields is not None:
            self._send(INCIDENT_UPDATED, fields)

    def on_maintenance(self, changes: Sequence[Change]) -> None:
        """The maintenance functions' listener (`on_change`): one event per change."""
        if not changes or not self.listeners:
            return
        try:
            state = self._state()
        except Exception:
            log.exception("the status page could not be built for its subscribers")
            return
        for change in changes:
            fields = maintenance_fields(state, change)
            if fields is not None:
                name = MAINTENANCE_CREATED if change.event == "created" else MAINTENANCE_UPDATED
                self._send(name, fields)

    def tick(self) -> list[Change]:
        """Record the maintenance moves due now and tell subscribers of them."""
        return tick(store=self.store, on_change=self.on_maintenance)


@contextmanager
def running(notifier: Notifier, *, every_s: float | None = None) -> Iterator[None]:
    """Hear published updates and tick maintenance every `every_s` (TICK_S) while the app
    serves."""
    stop = threading.Event()
    every_s = TICK_S if every_s is None else every_s

    def once() -> None:
        try:
            notifier.tick()
        except Exception:  # a database blip must not end the ticking, nor the start
            log.exception("status page maintenance tick failed")

    def loop() -> None:
        while not stop.wait(every_s):
            once()

    once()  # what fell due while nothing ran, before the first request

    notifier.store.listeners.append(notifier.on_incident_change)
    thread = threading.Thread(target=loop, name="copilot-status-page-tick", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        notifier.store.listeners.remove(notifier.on_incident_change)
