"""Slow and excess connections (``lineocr.serve.connections``) on a real uvicorn on
127.0.0.1: a request head must arrive within ``header_timeout_s``, trickled bytes do not
extend it, the cap closes the oldest connection still waiting for a head (or answers 503
when all are busy), and the closings are logged once per interval."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from lineocr.serve import Settings
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png

TIMEOUT = 0.6  # header_timeout_s of the servers below
PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"  # and then nothing


@contextmanager
def guarded(**settings: Any) -> Iterator[LiveServer]:
    """A server with the guarded protocol, as ``lineocr serve`` runs it."""
    from lineocr.serve.connections import connection_options

    load, _ = counting_loader(StubRecognizer("stub"))
    config = Settings(models=("stub",), batch_timeout_ms=2, **settings)
    with LiveServer(config, load, **connection_options(config)) as server:
        yield server


def connect(server: LiveServer, first: bytes = b"") -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    if first:
        sock.sendall(first)
    return sock


def closed_after(sock: socket.socket, limit: float = 10.0) -> tuple[float, bytes]:
    """Seconds until the server closed ``sock`` (reading what it sent), within ``limit``."""
    start = time.monotonic()
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        pytest.fail(f"not closed within {limit} s; received {received!r}")
    except ConnectionResetError:
        pass
    return time.monotonic() - start, received


def test_a_partial_request_head_is_closed_within_the_header_timeout() -> None:
    with guarded(header_timeout_s=TIMEOUT) as server:
        sock = connect(server, PARTIAL_HEAD)
        waited, answer = closed_after(sock)
        sock.close()
        assert httpx.get(server.url + "/healthz").status_code == 200
    assert waited < TIMEOUT + 1.0
    assert answer.startswith(b"HTTP/1.1 408 ") and b'"request_timeout"' in answer


def test_an_idle_connection_and_a_trickling_one_are_closed_too() -> None:
    """Nothing sent: closed without an answer. One byte every 0.2 s: the deadline is not
    moved by the bytes."""
    with guarded(header_timeout_s=TIMEOUT) as server:
        idle = connect(server)
        trickle = connect(server)
        start = time.monotonic()
        try:
            for byte in PARTIAL_HEAD:
                trickle.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass  # closed by the server while trickling
        trickled_for = time.monotonic() - start
        idle_waited, idle_answer = closed_after(idle, 2.0)
        trickle.close()
        idle.close()
    assert idle_answer == b"" and idle_waited < 1.0  # closed while the other trickled
    assert trickled_for < TIMEOUT + 1.5 < 0.2 * len(PARTIAL_HEAD)


def test_keep_alive_requests_still_work(tmp_path: Any) -> None:
    png = line_png(tmp_path / "line.png").read_bytes()
    with guarded(header_timeout_s=TIMEOUT) as server, httpx.Client(base_url=server.url) as c:
        for _ in range(3):  # one connection: a head after each response, within the timeout
            answer = c.post("/v1/ocr", files={"files": ("a.png", png, "image/png")})
            assert answer.status_code == 200 and answer.json()["results"][0]["text"] == "40x20"
            time.sleep(TIMEOUT / 3)


def test_over_the_cap_the_oldest_waiting_connection_makes_room() -> None:
    with guarded(header_timeout_s=30, max_connections=4) as server:
        waiting = [connect(server, PARTIAL_HEAD) for _ in range(4)]
        time.sleep(0.2)
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
        _, answer = closed_after(waiting[0], 5.0)  # the oldest, without an answer
        assert answer == b""
        waiting[1].settimeout(0.3)
        with pytest.raises(TimeoutError):  # the others still wait
            waiting[1].recv(1)
        for sock in waiting:
            sock.close()


def test_over_the_cap_with_every_connection_busy_a_new_one_gets_503() -> None:
    """Busy: a complete head of a request whose body has not come (the app waits for it)."""
    head = b"POST /v1/ocr HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Content-Length: 100\r\n\r\n"
    with guarded(header_timeout_s=30, max_connections=2) as server:
        busy = [connect(server, head) for _ in range(2)]
        time.sleep(0.3)
        refused = connect(server, PARTIAL_HEAD)
        _, answer = closed_after(refused, 5.0)
        for sock in busy:
            sock.close()
        time.sleep(0.3)
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in answer and b'"too_many_connections"' in answer


def test_closings_are_logged_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineocr.serve import connections

    monkeypatch.setattr(connections, "LOG_INTERVAL_S", 1.5)
    caplog.set_level(logging.WARNING, logger="lineocr.serve")
    with guarded(header_timeout_s=TIMEOUT) as server:
        socks = [connect(server, PARTIAL_HEAD) for _ in range(30)]
        time.sleep(TIMEOUT + 2.0)  # all timed out; the second line after the interval
        for sock in socks:
            sock.close()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("connections:")]
    assert 1 <= len(lines) <= 2, lines
    counts = [int(line.split("closed ")[1].split()[0]) for line in lines]
    assert sum(counts) == 30 and "within 0.6 s" in lines[0]


def test_repeated_warnings_of_other_libraries_pass_once_per_interval() -> None:
    from lineocr.serve.connections import OncePerInterval

    passed: list[str] = []
    logger = logging.getLogger("tests.flood")
    logger.propagate = False
    handler = logging.Handler()
    handler.emit = lambda record: passed.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    flood = OncePerInterval(("socket.accept() out of system resource",), interval_s=0.3)
    logger.addFilter(flood)
    try:
        for _ in range(1000):
            logger.error("socket.accept() out of system resource")
            logger.error("something else")
        time.sleep(0.35)
        logger.error("socket.accept() out of system resource")
    finally:
        logger.removeFilter(flood)
        logger.removeHandler(handler)
    accepts = [m for m in passed if m.startswith("socket.accept()")]
    assert len(accepts) == 2 and "999 more in the last 0 s not logged" in accepts[1]
    assert passed.count("something else") == 1000


def test_the_cap_follows_the_open_files_limit() -> None:
    from lineocr.serve.connections import connection_limit, raise_fd_limit

    resource = pytest.importorskip("resource")
    soft = raise_fd_limit()
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[1] or soft >= 1 << 20
    assert connection_limit(Settings(), 20_000) == 14_936
    assert connection_limit(Settings(), 1024) == 704
    assert connection_limit(Settings(max_connections=50), 20_000) == 50


def test_the_serve_command_runs_the_guarded_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    import lineocr.serve.app as serve_app
    from lineocr.cli import app

    captured: dict[str, Any] = {}
    monkeypatch.setattr(serve_app, "create_app", lambda s: None)
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: captured.update(kw))
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert captured["http"] == "lineocr.serve.connections:GuardedH11Protocol"
    assert captured["ws"] == "none"


def test_connection_settings_from_the_environment_and_their_checks() -> None:
    from lineocr.serve import SettingsError

    env = {"LINEOCR_SERVE_HEADER_TIMEOUT_S": "2.5", "LINEOCR_SERVE_MAX_CONNECTIONS": "100"}
    settings = Settings.from_env(env)
    assert settings.header_timeout_s == 2.5 and settings.max_connections == 100
    for bad in (
        {"header_timeout_s": 0},
        {"header_timeout_s": float("nan")},
        {"max_connections": -1},
    ):
        with pytest.raises(SettingsError):
            Settings(**bad)
