"""Notifications through Apprise: one message to every URL of SOULSPOT_NOTIFY_URLS, retried with backoff.

The URLs are secrets (tokens ride in their paths, hosts and queries), so they come as
``dg.EnvVar`` and are never shown: a notifier is named by its scheme and place only
("json notifier 1"), errors are Apprise's warnings with every part of the URL blanked out,
and the log of Apprise and of the HTTP layers under it (which print URLs at DEBUG) is kept out of
every log while it sends.
"""

import logging
import re
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import apprise
import dagster as dg
from apprise.utils.parse import parse_urls
from pydantic import Field

from soulspot_pipeline.domain.notify import DEFAULT_KINDS
from soulspot_pipeline.domain.resilience import RetryPolicy, retry_delay
from soulspot_pipeline.resources.clock import Clock

_APPRISE_LOGGER = logging.getLogger("apprise")
# The HTTP layers under Apprise log each request's URL, query (a token) included, at DEBUG.
_HTTP_LOGGERS = (logging.getLogger("urllib3"), logging.getLogger("requests"))
_LOG_LOCK = threading.Lock()  # loggers are process-wide: one send at a time changes them


@dataclass
class Delivery:
    """What one message's sending did: the notifiers (1 = the first URL) that have it, the ones
    that failed with a message safe to show, and the attempts made."""

    delivered: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def error(self) -> str:
        return "; ".join(message for _, message in sorted(self.failed.items()))


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _apprise_log() -> Iterator[_Captured]:
    """Apprise's warnings captured for the error message; nothing of its log, nor of the HTTP layers'
    under it, reaches any handler (their DEBUG lines hold the URL), whatever level the process logs at."""
    captured = _Captured()
    loggers = (_APPRISE_LOGGER, *_HTTP_LOGGERS)
    with _LOG_LOCK:
        saved = [(lg, lg.propagate, lg.level, list(lg.handlers)) for lg in loggers]
        for lg in loggers:
            lg.propagate, lg.handlers = False, [captured] if lg is _APPRISE_LOGGER else []
            lg.setLevel(logging.WARNING if lg is _APPRISE_LOGGER else logging.CRITICAL + 1)
        try:
            yield captured
        finally:
            for lg, propagate, level, handlers in saved:
                lg.propagate, lg.handlers = propagate, handlers
                lg.setLevel(level)


def scheme(url: str) -> str:
    """``json`` of ``json://…``: all of a URL that is safe to show."""
    found = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return found[1].lower() if found else "unknown"


def redact(text: str, url: str) -> str:
    """``text`` with every part of ``url`` but its scheme blanked: user, password, host (a token for
    many services), port, path and query may each be the secret."""
    parts = {p for p in re.split(r"[:/@?&=#,;+]+", url.split("://", 1)[-1]) if len(p) >= 3}
    for part in sorted(parts, key=len, reverse=True):
        text = text.replace(part, "***")
    return text.replace(url, "***")


class Notifier(dg.ConfigurableResource):
    """Sends digests to the Apprise URLs of SOULSPOT_NOTIFY_URLS (unset: notifications are off)."""

    urls: str | None = Field(
        default=None, description="Apprise URLs, comma or space separated (SOULSPOT_NOTIFY_URLS, secret)."
    )
    events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_KINDS), description="The kinds sent (SOULSPOT_NOTIFY_EVENTS)."
    )
    max_attempts: int = Field(default=3, description="Tries per message and notifier before the sensor's next tick.")
    retry_base_delay_s: float = Field(default=2.0, description="Wait before the second try; doubles after each.")
    # Dagster's types want a ResourceDependency for the default, but the field holds the Clock itself.
    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]

    @property
    def configured(self) -> bool:
        return bool(self.urls and self.urls.strip())

    def _urls(self) -> list[str]:
        return [u for u in parse_urls(self.urls or "") if u.strip()]

    def names(self) -> list[str]:
        """Each notifier as it may be shown: its scheme and place, never its URL."""
        return [f"{scheme(url)} notifier {n}" for n, url in enumerate(self._urls(), start=1)]

    def send(self, title: str, body: str, notify_type: str = "info", skip: Collection[int] = ()) -> Delivery:
        """Send to every notifier not in ``skip`` (ones that already have it), each retried with backoff."""
        policy = RetryPolicy(max_attempts=max(1, self.max_attempts), base_delay_s=self.retry_base_delay_s)
        delivery = Delivery(delivered=set(skip))
        for number, (url, name) in enumerate(zip(self._urls(), self.names(), strict=True), start=1):
            if number in delivery.delivered:
                continue
            # No persistent store (Apprise would write caches under the home folder) and no threads.
            bundle = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, storage_mode="memory"))
            with _apprise_log() as captured:
                known = bundle.add(url)
            if not known:
                delivery.failed[number] = f"{name}: not a URL Apprise knows (check SOULSPOT_NOTIFY_URLS)"
                continue
            attempt = 0
            while True:
                attempt += 1
                delivery.attempts += 1
                with _apprise_log() as captured:
                    try:
                        sent = bool(bundle.notify(title=title, body=body, notify_type=notify_type))
                    except Exception as exc:  # a plugin's bug must not stop the other notifiers
                        captured.messages.append(f"{type(exc).__name__}: {exc}")
                        sent = False
                if sent:
                    delivery.delivered.add(number)
                    delivery.failed.pop(number, None)
                    break
                said = redact(captured.messages[-1], url) if captured.messages else "not delivered"
                delivery.failed[number] = f"{name}: {said} (after {attempt} attempt(s))"
                # Apprise reports no status: every failure counts as the server's (backoff, then give up).
                delay = retry_delay(policy, attempt, 500, None)
                if delay is None:
                    break
                self.clock.sleep(delay)
        return delivery
