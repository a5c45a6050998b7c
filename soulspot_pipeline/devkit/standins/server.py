"""The HTTP machinery shared by the stand-ins: a threaded local server that records requests.

A subclass implements ``handle`` and answers with a ``Response``; the base class records
every request (with its arrival and finish time), tracks how many were in flight at once,
can slow every answer down (``delay_s``) and can answer the next requests to a path with a
fault instead (``inject``). HTTP/1.1 keep-alive with exact ``Content-Length`` keeps the
per-request cost low enough for benchmarks of thousands of pages.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names are lower-cased."""

    started: float
    finished: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Response:
    """An answer: a dict or list body is sent as JSON, a str as text, bytes as they are, None as empty."""

    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    path_prefix: str
    remaining: int
    response: Response


def encode_body(body: object) -> tuple[bytes, str | None]:
    """The bytes and the content type for a response body."""
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    ), "application/json; charset=utf-8"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections would make server_close wait for clients to hang up.
    block_on_close = False
    standin: StandinServer

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return  # the client hung up (a test's timeout, a killed run): nothing to report
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle plus delayed ACKs
    # would cost ~40 ms per keep-alive request.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.standin._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.standin._track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        self.server.standin._dispatch(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class StandinServer:
    """Base class of the stand-ins: subclasses implement ``handle``."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.in_flight_max = 0
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._in_flight = 0
        self._faults: list[_Fault] = []
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.standin = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{type(self).__name__}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        # Idle keep-alive connections would otherwise stay open to a server that is gone.
        with self._lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- test controls ---------------------------------------------------------

    def inject(
        self,
        path_prefix: str,
        *,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: object = None,
    ) -> None:
        """Answer the next ``times`` requests whose path starts with ``path_prefix`` with this instead."""
        if times < 1:
            return
        with self._lock:
            self._faults.append(_Fault(path_prefix, times, Response(status, body, dict(headers or {}))))

    def count(self, path_prefix: str = "") -> int:
        """How many recorded requests have a path starting with ``path_prefix``."""
        with self._lock:
            return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        raise NotImplementedError

    # -- internals -------------------------------------------------------------

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _take_fault(self, path: str) -> Response | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.response
        return None

    def _dispatch(self, handler: _Handler) -> None:
        started = time.monotonic()
        with self._lock:
            self._in_flight += 1
            self.in_flight_max = max(self.in_flight_max, self._in_flight)
        method = handler.command
        parts = urlsplit(handler.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            body = handler._read_body()
            if self.delay_s > 0:
                time.sleep(self.delay_s)
            response = self._take_fault(path)
            if response is None:
                try:
                    response = self.handle(method, path, query, headers, body)
                except Exception as exc:
                    traceback.print_exc()
                    response = Response(500, {"error": {"status": 500, "message": f"stand-in failure: {exc!r}"}})
            payload, content_type = encode_body(response.body)
        finally:
            # Counted before the answer goes out: a client holding its answer finds its request
            # recorded, and a sequential client never looks like two requests in flight.
            finished = time.monotonic()
            with self._lock:
                self._in_flight -= 1
                self.requests.append(RecordedRequest(started, finished, method, path, query, headers))
        self._write(handler, response, payload, content_type, head=method == "HEAD")

    @staticmethod
    def _write(handler: _Handler, response: Response, payload: bytes, content_type: str | None, *, head: bool) -> None:
        handler.send_response(response.status)
        names = {k.lower() for k in response.headers}
        if content_type and "content-type" not in names:
            handler.send_header("Content-Type", content_type)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if payload and not head:
            handler.wfile.write(payload)
