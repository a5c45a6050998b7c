"""A stand-in for what Apprise's ``json://`` and ``form://`` notifiers post to: a local web hook.

It records every message as Apprise sends it (``NotifyJSON.send``: a JSON object with version,
title, message, attachments and type; ``NotifyForm.send``: the same fields form-encoded) and
answers with a programmable sequence of statuses (``answers``: e.g. 500, 500, then 200 for good).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from soulspot_pipeline.devkit.standins.server import Response, StandinServer


@dataclass(frozen=True)
class Posted:
    """One message as the hook received it: the fields Apprise sent, whatever its encoding."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    fields: dict[str, object]
    status: int  # what the hook answered

    @property
    def title(self) -> str:
        return str(self.fields.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.fields.get("message", ""))

    @property
    def type(self) -> str:
        return str(self.fields.get("type", ""))


def parse_payload(content_type: str, body: bytes) -> dict[str, object]:
    """The fields of a json:// (JSON object) or form:// (url-encoded) post."""
    if "json" in content_type:
        decoded = json.loads(body.decode("utf-8") or "{}")
        if not isinstance(decoded, dict):
            raise ValueError("a json:// notification is a JSON object")
        return decoded
    if "x-www-form-urlencoded" in content_type:
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
    raise ValueError(f"not a json:// or form:// notification: {content_type or 'no content type'}")


class AppriseEndpoint(StandinServer):
    """A hook at any path. ``answers`` are the statuses of the next posts, in order; after them, 200."""

    def __init__(self, answers: Iterable[int] = ()) -> None:
        super().__init__()
        self.posted: list[Posted] = []
        self._answers = list(answers)
        self._posts_lock = threading.Lock()

    def answer(self, *statuses: int) -> None:
        """The statuses of the next posts (then 200 again)."""
        with self._posts_lock:
            self._answers = list(statuses)

    @property
    def delivered(self) -> list[Posted]:
        """The posts it accepted (answered 2xx)."""
        with self._posts_lock:
            return [p for p in self.posted if 200 <= p.status < 300]

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        try:
            fields = parse_payload(headers.get("content-type", ""), body)
        except ValueError as exc:
            status, fields, reply = 400, {}, Response(400, {"error": str(exc)})
        else:
            with self._posts_lock:
                status = self._answers.pop(0) if self._answers else 200
            reply = Response(status, {"ok": 200 <= status < 300})
        with self._posts_lock:
            self.posted.append(Posted(method, path, dict(query), dict(headers), body, fields, status))
        return reply
