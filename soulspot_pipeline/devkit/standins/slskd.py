"""A local stand-in for slskd's HTTP API (v0): searches over a made-up Soulseek network and downloads of real bytes.

It speaks slskd's wire format: the search object and its responses (``extension`` empty,
lossless files without ``bitRate``), flag-set states such as ``"Completed, TimedOut"``,
the nested download listing, the newer ``{"enqueued", "failed"}`` enqueue answer or the
older empty 201, and ``X-API-Key`` authentication. Like the real service it refuses a
second search while one is in progress (429), and like the Soulseek server behind it it
can ban a client that searches too often (``ban_after``).

Everything moves when it is polled, deterministically: a search completes on its
``search_polls + 1``-th GET (or when ``searchTimeout`` ms pass on ``clock``), and every GET
of the downloads advances each active transfer one step along its peer's behaviour:

* ``succeed``: Requested -> Queued, Remotely (one poll per ``queue_length``) -> Initializing
  -> InProgress (``progress_polls`` polls) -> Completed, Succeeded
* ``queued_remotely``: Requested -> Queued, Remotely, for ever
* ``errored``: ... -> InProgress -> Completed, Errored (with an ``exception``)
* ``rejected``: Requested -> Completed, Rejected ("File not shared.")
* ``stall``: ... -> InProgress frozen at ``stall_percent``
* ``truncated``: like ``succeed``, but only ``truncate_fraction`` of the bytes reach the disk
* ``timed_out``: Requested -> Queued, Remotely -> Completed, TimedOut

Bytes arrive in ``incomplete_dir`` over the InProgress polls and the finished file is
moved to ``downloads_dir/<remote folder>/<remote file>``, like slskd. Remote names come
from strangers, so the local path keeps only the last two components of the remote path
(``.`` and ``..`` dropped), each cleaned by ``safe_component``: nothing is ever written
outside ``downloads_dir`` and ``incomplete_dir``.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

API = "/api/v0"
VERSION = "0.22.5"
BEHAVIOURS = ("succeed", "queued_remotely", "errored", "rejected", "stall", "truncated", "timed_out")
BUSY_MESSAGE = "Only one concurrent operation is permitted. Wait until the previous request completes"
DEFAULT_SEARCH_TIMEOUT_MS = 15_000
DEFAULT_RESPONSE_LIMIT = 100
DEFAULT_FILE_LIMIT = 10_000
ERRORED_EXCEPTION = "Remote connection closed"
REJECTED_EXCEPTION = "File not shared."
TIMED_OUT_EXCEPTION = "Inactivity timeout of 15000 milliseconds was reached"
CANCELLED_EXCEPTION = "The operation was canceled."
_WINDOWS_INVALID = frozenset('<>:"/\\|?*')
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)
_MAX_COMPONENT_BYTES = 200


# -- the network --------------------------------------------------------------------


@dataclass(frozen=True)
class SharedFile:
    """A file a peer shares: ``filename`` is the remote path (backslashes), ``data`` what a download transfers."""

    filename: str
    data: bytes
    bit_rate: int | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None
    length: int | None = None
    is_variable_bit_rate: bool | None = None
    behaviour: str | None = None  # overrides the peer's behaviour for this file

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Peer:
    username: str
    files: list[SharedFile]
    has_free_upload_slot: bool = True
    queue_length: int = 0
    upload_speed: int = 1_000_000
    behaviour: str = "succeed"


@dataclass
class SearchRecord:
    """One search slskd started, timed on the stand-in's clock; ``ended`` stays None while it runs."""

    search_id: str
    text: str
    started: float
    ended: float | None = None
    banned: bool = False
    state: str = "InProgress"


# -- local file names -----------------------------------------------------------------


def _truncate_utf8(name: str, limit: int) -> str:
    if len(name.encode("utf-8")) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        stem, dot, ext = name, "", ""
    room = limit - len((dot + ext).encode("utf-8"))
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + dot + ext


def safe_component(part: str) -> str:
    """One remote path component made safe as a local file or folder name on any OS.

    Control and format characters and the characters Windows forbids become ``_``;
    leading/trailing spaces and dots go (so ``..`` cannot climb); reserved device names
    (``CON``, ``NUL``, ``COM1``...) get a ``_`` prefix; the result fits in 200 bytes.
    """
    cleaned = "".join(
        "_" if c in _WINDOWS_INVALID or unicodedata.category(c).startswith("C") else c for c in part
    ).strip(" .")
    if not cleaned:
        return "_"
    if cleaned.split(".")[0].upper() in _RESERVED:
        cleaned = "_" + cleaned
    return _truncate_utf8(cleaned, _MAX_COMPONENT_BYTES)


def local_parts(remote_filename: str) -> tuple[str, ...]:
    """The safe relative path slskd's layout gives a remote file: (last folder, file name), or just the name."""
    parts = [p for p in re.split(r"[\\/]", remote_filename) if p.strip() not in ("", ".", "..")]
    return tuple(safe_component(p) for p in parts[-2:]) or ("_",)


def _inside(root: Path, parts: tuple[str, ...]) -> Path:
    path = root.joinpath(*parts)
    if not path.resolve().is_relative_to(root.resolve()):
        raise RuntimeError(f"refusing to write {path}: outside {root}")
    return path


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).casefold()


def _dotnet_time(moment: datetime, *, local: bool = False) -> str:
    """A timestamp as .NET writes a DateTime: seven fractional digits, no zone, or the local offset when ``local``."""
    if local:
        stamp = moment.astimezone().isoformat(timespec="microseconds")
        return stamp[:26] + "0" + stamp[26:]
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def _now() -> datetime:
    return datetime.now(UTC)


def _json_string(status: int, text: str) -> Response:
    """A bare string the way slskd's controllers send one: as a JSON string."""
    return Response(status, json.dumps(text).encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"})


# -- server-side state ------------------------------------------------------------------


@dataclass
class _Search:
    record: SearchRecord
    token: int
    started_at: datetime
    deadline: float
    responses: list[dict]
    limit_state: str | None
    polls: int = 0
    state: str = "InProgress"
    ended_at: datetime | None = None

    @property
    def in_progress(self) -> bool:
        return self.state == "InProgress"


@dataclass(frozen=True)
class _Step:
    state: str
    fraction: float = 0.0
    place: int | None = None
    exception: str | None = None


@dataclass
class _Transfer:
    transfer_id: str
    username: str
    filename: str
    size: int
    data: bytes
    plan: list[_Step]
    upload_speed: int
    truncate_to: int | None = None
    position: int = -1
    state: str = "Requested"
    bytes_transferred: int = 0
    written: int = 0
    place_in_queue: int | None = None
    exception: str | None = None
    requested_at: datetime = field(default_factory=_now)
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    removed: bool = False
    local_path: Path | None = None

    @property
    def completed(self) -> bool:
        return self.state.startswith("Completed")

    @property
    def directory(self) -> str:
        return self.filename.rpartition("\\")[0]


class SlskdStandin(StandinServer):
    """slskd's API at ``/api/v0``; ``add_peer`` builds the network, the public attributes record what happened."""

    def __init__(
        self,
        downloads_dir: Path,
        *,
        api_key: str = "standin-api-key",
        incomplete_dir: Path | None = None,
        search_polls: int | None = 2,
        search_final_state: str = "Completed, Succeeded",
        reject_concurrent_searches: bool = True,
        ban_after: tuple[int, float] | None = None,
        ban_duration_s: float = 1800.0,
        legacy_enqueue: bool = False,
        progress_polls: int = 3,
        stall_percent: float = 40.0,
        truncate_fraction: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``incomplete_dir`` defaults to ``incomplete`` beside ``downloads_dir`` (slskd's own layout);
        ``search_polls`` None keeps searches running until stopped or timed out; ``ban_after`` is
        (searches, seconds): more starts than that within the window get the client banned."""
        super().__init__()
        self.downloads_dir = Path(downloads_dir)
        self.incomplete_dir = (
            Path(incomplete_dir) if incomplete_dir is not None else self.downloads_dir.parent / "incomplete"
        )
        self.api_key = api_key
        self.search_polls = search_polls
        self.search_final_state = search_final_state
        self.reject_concurrent_searches = reject_concurrent_searches
        self.ban_after = ban_after
        self.ban_duration_s = ban_duration_s
        self.legacy_enqueue = legacy_enqueue
        self.progress_polls = progress_polls
        self.stall_percent = stall_percent
        self.truncate_fraction = truncate_fraction
        self.clock = clock
        self.peers: dict[str, Peer] = {}
        self.searches: list[SearchRecord] = []
        self.max_concurrent_searches = 0
        self.banned = False
        self._banned_until: float | None = None
        self._searches: dict[str, _Search] = {}
        self._transfers: dict[str, _Transfer] = {}
        self._next_token = 2_000_000
        self._state = threading.RLock()

    # -- test controls ---------------------------------------------------------------

    def add_peer(
        self,
        username: str,
        *,
        files: list[SharedFile],
        has_free_upload_slot: bool = True,
        queue_length: int = 0,
        upload_speed: int = 1_000_000,
        behaviour: str = "succeed",
    ) -> Peer:
        """Put a user sharing ``files`` on the network; ``queue_length`` is how many polls a download waits remotely."""
        for b in (behaviour, *(f.behaviour for f in files if f.behaviour)):
            if b not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {b!r}; one of {BEHAVIOURS}")
        peer = Peer(username, list(files), has_free_upload_slot, queue_length, upload_speed, behaviour)
        with self._state:
            self.peers[username] = peer
        return peer

    def local_path(self, transfer_id: str) -> Path | None:
        """Where a finished download landed, or None while it has not."""
        with self._state:
            transfer = self._transfers.get(transfer_id)
            return transfer.local_path if transfer else None

    def max_searches_in_window(self, window_s: float) -> int:
        """The most searches that started within any ``window_s`` seconds (banned attempts included)."""
        starts = sorted(r.started for r in self.searches)
        best, first = 0, 0
        for last, started in enumerate(starts):
            while started - starts[first] >= window_s:
                first += 1
            best = max(best, last - first + 1)
        return best

    # -- dispatch ---------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if not path.startswith(API + "/"):
            return Response(404)
        if headers.get("x-api-key") != self.api_key:
            return Response(401)
        parts = [unquote(p) for p in path[len(API) + 1 :].split("/") if p]
        with self._state:
            if parts and parts[0] == "searches":
                return self._searches_route(method, parts[1:], query, body)
            if parts[:2] == ["transfers", "downloads"]:
                return self._downloads_route(method, parts[2:], query, body)
            if method == "GET" and parts == ["application"]:
                return Response(200, self._application())
            if method == "GET" and parts == ["application", "version"]:
                return _json_string(200, VERSION)
            if method == "GET" and parts == ["session"]:
                return Response(200)
        return Response(404)

    def _application(self) -> dict:
        return {
            "version": {
                "full": f"{VERSION}.0",
                "current": VERSION,
                "isUpdateAvailable": False,
                "isCanary": False,
                "isDevelopment": False,
            },
            "pendingReconnect": False,
            "pendingRestart": False,
            "server": {
                "address": "vps.slsknet.org:2271",
                "state": "Connected, LoggedIn",
                "isConnected": True,
                "isLoggedIn": True,
                "isTransitioning": False,
            },
            "user": {"username": "soulspot"},
        }

    # -- searches -----------------------------------------------------------------------

    def _searches_route(self, method: str, rest: list[str], query: dict[str, str], body: bytes) -> Response:
        self._expire_searches()
        if not rest:
            if method == "POST":
                return self._start_search(body)
            if method == "GET":
                return Response(200, [self._search_view(s) for s in self._searches.values()])
            return Response(405)
        search = self._searches.get(rest[0].lower())
        if search is None:
            return Response(404)
        if rest[1:] == ["responses"] and method == "GET":
            return Response(200, self._revealed(search))
        if len(rest) != 1:
            return Response(404)
        if method == "GET":
            search.polls += 1
            if search.in_progress and self.search_polls is not None and search.polls > self.search_polls:
                self._end_search(search, search.limit_state or self.search_final_state)
            return Response(
                200, self._search_view(search, responses=query.get("includeResponses", "").lower() == "true")
            )
        if method == "PUT":
            if search.in_progress:
                self._end_search(search, "Completed, Cancelled")
            return Response(200)
        if method == "DELETE":
            if search.in_progress:
                self._end_search(search, "Completed, Cancelled")
            del self._searches[search.record.search_id]
            return Response(204)
        return Response(405)

    def _start_search(self, body: bytes) -> Response:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _json_string(400, "The request body is not JSON")
        text = request.get("searchText") if isinstance(request, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _json_string(400, "SearchText is required")
        search_id = str(request.get("id") or uuid.uuid4()).lower()
        if search_id in self._searches:
            return _json_string(409, f"A search with ID {search_id} already exists")
        if self.reject_concurrent_searches and any(s.in_progress for s in self._searches.values()):
            return _json_string(429, BUSY_MESSAGE)

        now = self.clock()
        record = SearchRecord(search_id, text, now, banned=self._ban_check(now))
        self._next_token += 1
        responses: list[dict] = []
        limit_state: str | None = None
        if not record.banned:
            responses, limit_state = self._match(
                text,
                self._next_token,
                request.get("responseLimit") or DEFAULT_RESPONSE_LIMIT,
                request.get("fileLimit") or DEFAULT_FILE_LIMIT,
            )
        timeout_ms = request.get("searchTimeout") or DEFAULT_SEARCH_TIMEOUT_MS
        search = _Search(record, self._next_token, _now(), now + timeout_ms / 1000, responses, limit_state)
        self.searches.append(record)
        self._searches[search_id] = search
        if record.banned:
            # The server answers a banned client's search with nothing: slskd ends it at once.
            self._end_search(search, "Completed, Errored")
        self.max_concurrent_searches = max(
            self.max_concurrent_searches, sum(1 for s in self._searches.values() if s.in_progress)
        )
        return Response(200, self._search_view(search))

    def _ban_check(self, now: float) -> bool:
        if self.ban_after is None:
            return False
        if self._banned_until is not None and now < self._banned_until:
            return True
        limit, window_s = self.ban_after
        recent = sum(1 for r in self.searches if now - r.started < window_s)
        if recent + 1 > limit:
            self._banned_until = now + self.ban_duration_s
            self.banned = True
            return True
        return False

    def _expire_searches(self) -> None:
        now = self.clock()
        for search in self._searches.values():
            if search.in_progress and now >= search.deadline:
                self._end_search(search, search.limit_state or "Completed, TimedOut")

    def _end_search(self, search: _Search, state: str) -> None:
        search.state = state
        search.ended_at = _now()
        search.record.state = state
        search.record.ended = self.clock()

    def _match(self, text: str, token: int, response_limit: int, file_limit: int) -> tuple[list[dict], str | None]:
        words = _fold(text).split()
        responses: list[dict] = []
        files_total = 0
        for peer in self.peers.values():
            files = [f for f in peer.files if all(w in _fold(f.filename) for w in words)]
            if not files:
                continue
            if len(responses) >= response_limit:
                return responses, "Completed, ResponseLimitReached"
            if files_total + len(files) > file_limit:
                return responses, "Completed, FileLimitReached"
            files_total += len(files)
            responses.append(
                {
                    "username": peer.username,
                    "fileCount": len(files),
                    "files": [_file_view(f) for f in files],
                    "lockedFileCount": 0,
                    "lockedFiles": [],
                    "hasFreeUploadSlot": peer.has_free_upload_slot,
                    "queueLength": peer.queue_length,
                    "uploadSpeed": peer.upload_speed,
                    "token": token,
                }
            )
        return responses, None

    def _revealed(self, search: _Search) -> list[dict]:
        """Responses trickle in while a search runs: a growing share of them per poll."""
        if not search.in_progress or self.search_polls is None:
            return search.responses
        return search.responses[: len(search.responses) * search.polls // (self.search_polls + 1)]

    def _search_view(self, search: _Search, *, responses: bool = False) -> dict:
        revealed = self._revealed(search)
        view: dict = {}
        if search.ended_at is not None:
            view["endedAt"] = _dotnet_time(search.ended_at) + "Z"
        view.update(
            fileCount=sum(r["fileCount"] for r in revealed),
            id=search.record.search_id,
            isComplete=not search.in_progress,
            lockedFileCount=0,
            responseCount=len(revealed),
            responses=revealed if responses else [],
            searchText=search.record.text,
            startedAt=_dotnet_time(search.started_at, local=True),
            state=search.state,
            token=search.token,
        )
        return view

    # -- downloads ------------------------------------------------------------------------

    def _downloads_route(self, method: str, rest: list[str], query: dict[str, str], body: bytes) -> Response:
        if method == "POST" and len(rest) == 1:
            return self._enqueue(rest[0], body)
        if method == "GET":
            self._advance()
            if not rest:
                include_removed = query.get("includeRemoved", "").lower() == "true"
                return Response(200, self._listing(include_removed=include_removed))
            if len(rest) == 1:
                users = [u for u in self._listing(include_removed=False) if u["username"] == rest[0]]
                return Response(200, users[0]) if users else Response(404)
        if len(rest) != 2 or method not in ("GET", "DELETE"):
            return Response(404)
        try:
            transfer_id = str(uuid.UUID(rest[1]))
        except ValueError:
            return Response(400)
        transfer = self._transfers.get(transfer_id)
        if transfer is None or (transfer.removed and method == "GET"):
            return Response(404)
        if method == "GET":
            return Response(200, self._transfer_view(transfer))
        if not transfer.completed:
            transfer.state = "Completed, Cancelled"
            transfer.exception = CANCELLED_EXCEPTION
            transfer.ended_at = _now()
            transfer.place_in_queue = None
        if query.get("remove", "").lower() == "true":
            transfer.removed = True
        return Response(204)

    def _enqueue(self, username: str, body: bytes) -> Response:
        try:
            requests = json.loads(body or b"null")
        except ValueError:
            return _json_string(400, "The request body is not JSON")
        if (
            not isinstance(requests, list)
            or not requests
            or not all(isinstance(r, dict) and isinstance(r.get("filename"), str) for r in requests)
        ):
            return _json_string(400, "Expected a list of {filename, size}")
        peer = self.peers.get(username)
        enqueued: list[dict] = []
        failed: list[str] = []
        for request in requests:
            filename = request["filename"]
            shared = next((f for f in peer.files if f.filename == filename), None) if peer else None
            if shared is None and not self.legacy_enqueue:
                failed.append(filename)
                continue
            transfer = self._new_transfer(username, filename, peer, shared, request.get("size"))
            self._transfers[transfer.transfer_id] = transfer
            enqueued.append(self._transfer_view(transfer))
        if self.legacy_enqueue:
            return Response(201)
        return Response(201, {"enqueued": enqueued, "failed": failed})

    def _new_transfer(
        self, username: str, filename: str, peer: Peer | None, shared: SharedFile | None, requested_size: object
    ) -> _Transfer:
        transfer_id = str(uuid.uuid4())
        if peer is None or shared is None:
            # Only the older slskd gets here: it tracks the download and lets it fail.
            size = requested_size if isinstance(requested_size, int) and requested_size > 0 else 0
            step = (
                _Step("Completed, Errored", exception=f"User {username} appears to be offline")
                if peer is None
                else _Step("Completed, Rejected", exception=REJECTED_EXCEPTION)
            )
            return _Transfer(transfer_id, username, filename, size, b"", [step], 0)
        behaviour = shared.behaviour or peer.behaviour
        transfer = _Transfer(
            transfer_id, username, filename, shared.size, shared.data, self._plan(behaviour, peer), peer.upload_speed
        )
        if behaviour == "truncated":
            transfer.truncate_to = int(shared.size * self.truncate_fraction)
        return transfer

    def _plan(self, behaviour: str, peer: Peer) -> list[_Step]:
        k = max(1, self.progress_polls)
        queued = [_Step("Queued, Remotely", place=peer.queue_length - i) for i in range(peer.queue_length)]
        progress = [_Step("InProgress", i / (k + 1)) for i in range(1, k + 1)]
        if behaviour in ("succeed", "truncated"):
            return [*queued, _Step("Initializing"), *progress, _Step("Completed, Succeeded", 1.0)]
        if behaviour == "queued_remotely":
            return [_Step("Queued, Remotely", place=peer.queue_length + 1)]
        if behaviour == "errored":
            return [
                _Step("Initializing"),
                progress[0],
                _Step("Completed, Errored", progress[0].fraction, exception=ERRORED_EXCEPTION),
            ]
        if behaviour == "rejected":
            return [_Step("Completed, Rejected", exception=REJECTED_EXCEPTION)]
        if behaviour == "stall":
            return [_Step("Initializing"), _Step("InProgress", self.stall_percent / 100)]
        return [_Step("Queued, Remotely", place=1), _Step("Completed, TimedOut", exception=TIMED_OUT_EXCEPTION)]

    def _advance(self) -> None:
        for transfer in self._transfers.values():
            if transfer.completed or transfer.position + 1 >= len(transfer.plan):
                continue
            transfer.position += 1
            self._apply(transfer, transfer.plan[transfer.position])

    def _apply(self, transfer: _Transfer, step: _Step) -> None:
        transfer.state = step.state
        transfer.place_in_queue = step.place
        if "Queued" in step.state and transfer.enqueued_at is None:
            transfer.enqueued_at = _now()
        if step.state == "InProgress" or step.fraction > 0:
            transfer.started_at = transfer.started_at or _now()
            transfer.bytes_transferred = int(transfer.size * step.fraction)
            self._write_partial(transfer, transfer.bytes_transferred)
        if step.state.startswith("Completed"):
            transfer.ended_at = _now()
            transfer.exception = step.exception
            if "Succeeded" in step.state:
                transfer.bytes_transferred = transfer.size
                self._finish(transfer)

    def _write_partial(self, transfer: _Transfer, upto: int) -> None:
        if transfer.truncate_to is not None:
            upto = min(upto, transfer.truncate_to)
        path = _inside(self.incomplete_dir, local_parts(transfer.filename))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as handle:
            handle.write(transfer.data[transfer.written : upto])
        transfer.written = max(transfer.written, upto)

    def _finish(self, transfer: _Transfer) -> None:
        self._write_partial(transfer, transfer.size)
        parts = local_parts(transfer.filename)
        source = _inside(self.incomplete_dir, parts)
        target = _inside(self.downloads_dir, parts)
        if target.exists():
            # slskd keeps an existing file and names the new one with a tick count.
            target = target.with_name(f"{target.stem}_{time.time_ns() // 100}{target.suffix}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        transfer.local_path = target

    def _transfer_view(self, transfer: _Transfer) -> dict:
        view: dict = {
            "id": transfer.transfer_id,
            "username": transfer.username,
            "direction": "Download",
            "filename": transfer.filename,
            "size": transfer.size,
            "startOffset": 0,
            "state": transfer.state,
            "stateDescription": transfer.state,
            "requestedAt": _dotnet_time(transfer.requested_at),
        }
        for key, moment in (
            ("enqueuedAt", transfer.enqueued_at),
            ("startedAt", transfer.started_at),
            ("endedAt", transfer.ended_at),
        ):
            if moment is not None:
                view[key] = _dotnet_time(moment)
        view.update(
            bytesTransferred=transfer.bytes_transferred,
            averageSpeed=float(transfer.upload_speed) if transfer.bytes_transferred else 0.0,
            bytesRemaining=transfer.size - transfer.bytes_transferred,
            percentComplete=(transfer.bytes_transferred / transfer.size * 100) if transfer.size else 0.0,
        )
        if transfer.place_in_queue is not None:
            view["placeInQueue"] = transfer.place_in_queue
        if transfer.exception is not None:
            view["exception"] = transfer.exception
        view["attempts"] = 1
        return view

    def _listing(self, *, include_removed: bool) -> list[dict]:
        users: dict[str, dict[str, list[dict]]] = {}
        for transfer in self._transfers.values():
            if transfer.removed and not include_removed:
                continue
            users.setdefault(transfer.username, {}).setdefault(transfer.directory, []).append(
                self._transfer_view(transfer)
            )
        return [
            {
                "username": username,
                "directories": [
                    {"directory": directory, "fileCount": len(files), "files": files}
                    for directory, files in directories.items()
                ],
            }
            for username, directories in users.items()
        ]


def _file_view(shared: SharedFile) -> dict:
    view: dict = {"filename": shared.filename, "size": shared.size, "code": 1, "extension": ""}
    for key, value in (
        ("bitRate", shared.bit_rate),
        ("bitDepth", shared.bit_depth),
        ("sampleRate", shared.sample_rate),
        ("length", shared.length),
        ("isVariableBitRate", shared.is_variable_bit_rate),
    ):
        if value is not None:
            view[key] = value
    view["isLocked"] = False
    return view
