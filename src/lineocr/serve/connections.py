"""What one server process lets connections hold: a deadline for every request head, a cap on
open connections under the file-descriptor limit, and refusals logged once per interval.

Uvicorn closes a keep-alive connection idle for ``timeout_keep_alive`` after a response, but
nothing else: a client that connects and sends part of a request head, or nothing, holds
its socket (a file descriptor) for ever, and any byte it trickles cancels the keep-alive
timer. Its ``limit_concurrency`` is checked only once a request head has arrived, so it
does not bound such sockets. Enough of them take every descriptor of the process: every
``POST /v1/ocr`` then times out and the log grows by a traceback per refused ``accept``
(docs/serving.md, Slow clients).

:class:`GuardedH11Protocol` (uvicorn's h11 protocol, the one the ``serve`` extra installs)
adds:

- a **head deadline**: a request head must be complete ``header_timeout_s`` after the
  connection opened or after the previous response; trickled bytes do not extend it. A
  connection past it is closed, with a 408 when part of a head had come;
- a **connection cap** (``max_connections``, by default three quarters of the soft
  ``RLIMIT_NOFILE``, which :func:`connection_options` first raises to the hard limit): a new
  connection over it closes the oldest connection still waiting for a request head; when
  every connection is busy with a request, the new one gets a 503 and is closed;
- one log line per interval that counts these closings, instead of one per socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import Counter
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol

from lineocr.serve.errors import error_body
from lineocr.serve.settings import Settings

log = logging.getLogger("lineocr.serve")

LOG_INTERVAL_S = 10.0  # at most one line per interval for each kind of repeated warning
FD_RESERVE = 64  # descriptors kept for the process besides a quarter of the limit
# Warnings another library logs once per connection or per refused accept: each passes
# once per interval (with the count of those held back), so a flood cannot fill the disk.
REPEATED_WARNINGS = {
    "asyncio": ("socket.accept() out of system resource",),
    "uvicorn.error": ("Invalid HTTP request received.", "Exceeded concurrency limit."),
}

_CLOSINGS = {
    "timed_out": "closed {n:,} that sent no complete request head within {timeout:g} s",
    "evicted": "closed {n:,} waiting for a request head to make room",
    "refused": "refused {n:,} (503) with all {limit:,} connections busy",
}


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one; the soft limit now in force
    (0 where the platform has no such limit)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


def connection_limit(settings: Settings, fd_limit: int) -> int:
    """``settings.max_connections``, or three quarters of ``fd_limit`` less a reserve: the
    rest is for the models, logs, uploads spooled to files and the event loop."""
    if settings.max_connections:
        return settings.max_connections
    if fd_limit <= 0:
        return 10_000
    return max(16, fd_limit * 3 // 4 - FD_RESERVE)


def connection_options(settings: Settings) -> dict[str, Any]:
    """``uvicorn.run`` options for the guarded connections; raises the open-files limit
    first (worker processes inherit it). No WebSocket protocol: the API has no WebSocket
    route, and an upgraded connection would escape the head deadline."""
    raise_fd_limit()
    install_log_filters()
    return {"http": f"{__name__}:GuardedH11Protocol", "ws": "none"}


class ConnectionGuard:
    """One server's connections: those open, those waiting for a request head (oldest
    first), the head deadline and the cap, and the counts to log."""

    def __init__(self, header_timeout_s: float, max_connections: int) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        self.open: set[GuardedH11Protocol] = set()
        self.waiting: dict[GuardedH11Protocol, None] = {}  # insertion order: oldest first
        self.closings: Counter[str] = Counter()
        self._flush: asyncio.TimerHandle | None = None
        self._logged_at = -float("inf")

    def admit(self, protocol: GuardedH11Protocol) -> bool:
        """Make room for a new connection; False when it was refused (all busy)."""
        if len(self.open) >= self.max_connections:
            if not self.waiting:
                self.count("refused")
                return False
            oldest = next(iter(self.waiting))
            oldest.close_waiting(evicted=True)
        self.open.add(protocol)
        return True

    def count(self, kind: str) -> None:
        """Count one closing; log the counts at most once per :data:`LOG_INTERVAL_S`."""
        self.closings[kind] += 1
        if self._flush is None:
            delay = max(0.0, self._logged_at + LOG_INTERVAL_S - time.monotonic())
            self._flush = asyncio.get_running_loop().call_later(delay, self.log_closings)

    def log_closings(self) -> None:
        self._flush = None
        self._logged_at = time.monotonic()
        limits = {"timeout": self.header_timeout_s, "limit": self.max_connections}
        done = [
            text.format(n=self.closings[kind], **limits)
            for kind, text in _CLOSINGS.items()
            if self.closings[kind]
        ]
        self.closings.clear()
        if done:
            log.warning("connections: %s (%d open)", "; ".join(done), len(self.open))


_guards: weakref.WeakKeyDictionary[Config, ConnectionGuard] = weakref.WeakKeyDictionary()


def guard_for(config: Config) -> ConnectionGuard:
    """The guard of the server that ``config`` runs: its settings are those of the lineocr
    app it serves (the defaults for another app), its cap from the open-files limit."""
    guard = _guards.get(config)
    if guard is None:
        settings = _app_settings(config.loaded_app)
        fd_limit = raise_fd_limit()
        guard = ConnectionGuard(settings.header_timeout_s, connection_limit(settings, fd_limit))
        _guards[config] = guard
    return guard


def _app_settings(app: Any) -> Settings:
    """The settings of the lineocr app inside uvicorn's middleware wrappers."""
    for _ in range(16):
        state = getattr(getattr(app, "state", None), "lineocr", None)
        settings = getattr(state, "settings", None)
        if isinstance(settings, Settings):
            return settings
        app = getattr(app, "app", None)
        if app is None:
            break
    return Settings()


class GuardedH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol with the head deadline and the connection cap of its
    :class:`ConnectionGuard`."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.guard = guard_for(config)
        self.head_deadline: asyncio.TimerHandle | None = None
        self.head_started = False  # a byte of the awaited request head has come

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.guard.admit(self):
            self._await_head()
        else:
            self._refuse()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a request head arrived
            self._head_arrived()
        elif self.head_deadline is not None:
            self.head_started = True

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        if self.cycle is cycle and not self.transport.is_closing():
            self._await_head()  # the next request's head (a pipelined one is already here)

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        self.guard.open.discard(self)
        super().connection_lost(exc)

    def close_waiting(self, *, evicted: bool = False) -> None:
        """Close this connection, which waits for a request head: past its deadline (408
        when part of a head came) or to make room for a new one."""
        started = self.head_started
        self._head_arrived()
        self.guard.open.discard(self)
        self.guard.count("evicted" if evicted else "timed_out")
        if self.transport.is_closing():
            return
        if started and not evicted:
            self.transport.write(_raw_response(408, "request_timeout", "request head too slow"))
        self.transport.close()

    def _await_head(self) -> None:
        self._head_arrived()
        self.head_started = False
        self.head_deadline = self.loop.call_later(self.guard.header_timeout_s, self.close_waiting)
        self.guard.waiting[self] = None

    def _head_arrived(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None
        self.guard.waiting.pop(self, None)

    def _refuse(self) -> None:
        message = f"the server has all its {self.guard.max_connections:,} connections busy"
        self.transport.write(_raw_response(503, "too_many_connections", message, retry=True))
        self.transport.close()


def _raw_response(status: int, code: str, message: str, *, retry: bool = False) -> bytes:
    """A complete HTTP/1.1 answer, written before any request was read; the connection is
    closed after it. The body is the API's JSON error."""
    reasons = {408: "Request Timeout", 503: "Service Unavailable"}
    body = json.dumps(error_body(status, code, message)).encode()
    head = [
        f"HTTP/1.1 {status} {reasons[status]}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry:
        head.append("retry-after: 1")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class OncePerInterval(logging.Filter):
    """Let a message that starts with one of ``prefixes`` through once per interval; the
    next one let through says how many were held back."""

    def __init__(self, prefixes: tuple[str, ...], interval_s: float = LOG_INTERVAL_S) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval_s = interval_s
        self.seen: dict[str, tuple[float, int]] = {}  # prefix -> (last let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        prefix = next((p for p in self.prefixes if message.startswith(p)), None)
        if prefix is None:
            return True
        now = time.monotonic()
        last, held = self.seen.get(prefix, (-float("inf"), 0))
        if now - last < self.interval_s:
            self.seen[prefix] = (last, held + 1)
            return False
        self.seen[prefix] = (now, 0)
        if held:
            record.msg = f"{message} ({held:,} more in the last {now - last:.0f} s not logged)"
            record.args = ()
        return True


def install_log_filters() -> None:
    """Put a :class:`OncePerInterval` on the loggers of :data:`REPEATED_WARNINGS` (once)."""
    for name, prefixes in REPEATED_WARNINGS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerInterval) for f in logger.filters):
            logger.addFilter(OncePerInterval(prefixes))
