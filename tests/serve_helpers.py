"""Helpers shared by the server's test modules (``test_serve_api``, ``test_serve_live``,
``test_serve_page``, ``test_serve_settings``): :class:`StubRecognizer`, a deterministic
stand-in with the ``Recognizer`` contract whose text is the decoded image's size ("40x20");
:func:`counting_loader`, a model loader over stubs that records what it loads;
:func:`serving`, a client of the app through httpx's ASGI transport; :class:`LiveServer`, a
real uvicorn on 127.0.0.1; and :func:`line_png`, a line image written to a file.

A plain module, not ``conftest.py``: these are classes and functions the tests import, not
fixtures, and only the server's tests need them (or their imports)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from lineocr.decode import DecodeError
from lineocr.preprocess import PreprocessSpec
from lineocr.runtime import CancelToken, CharConfidence, Prediction
from lineocr.serve import Settings, create_app

# -- a deterministic recognizer ---------------------------------------------------------


class StubRecognizer:
    """Reads "WxH" off every image; records each batch (size, options, preprocessing ops)."""

    def __init__(self, name: str = "stub", *, delay: float = 0.0, crash: bool = False) -> None:
        self.name = name
        self.version = "1.2.3"
        self.metadata = {"name": name, "metrics": {"cer": 0.01}}
        self.spec = PreprocessSpec(height=32)
        self.charset = None
        self.delay = delay
        self.crash = crash
        self.calls: list[dict[str, Any]] = []
        self.cancelled = 0  # reads stopped by their cancel token

    def decoder(self, **options: Any) -> None:
        """Checks options like the runtime's (a bad regex raises; "slow" never finishes;
        "bug" fails as a bug in the decoder would)."""
        if options.get("pattern") == "(":
            raise DecodeError("bad pattern '(': missing )")
        if options.get("pattern") == "bug":
            raise KeyError("secret internal key")
        if options.get("pattern") == "slow":
            while True:  # pure Python: interruptible by the server's compile deadline
                options = dict(options)

    def read_batch(
        self,
        images: list[np.ndarray],
        *,
        batch_size: int = 32,
        cancel: CancelToken | None = None,
        **options: Any,
    ):
        self.calls.append(
            {"n": len(images), "options": options, "ops": self.spec.ops, "batch_size": batch_size}
        )
        end = time.perf_counter() + self.delay
        while time.perf_counter() < end:  # stoppable as the runtime's lines are
            if cancel is not None and cancel.cancelled:
                self.cancelled += 1
                cancel.check()
            time.sleep(0.002)
        if self.crash:
            raise RuntimeError("secret internal detail /home/x/model.onnx")
        if any(img.shape[1] == 13 for img in images):  # one image that breaks its batch
            raise ValueError("cannot read a line 13 pixels wide")
        if options.get("pattern") == "fails-late":  # an option refused while decoding
            raise DecodeError("this pattern cannot be used")
        out = []
        for img in images:
            text = f"{img.shape[1]}x{img.shape[0]}"
            confs = [0.95, 0.7, 0.3][: len(text)] + [0.99] * (len(text) - 3)
            chars = tuple(CharConfidence(c, p) for c, p in zip(text, confs, strict=True))
            out.append(Prediction(text, 0.5, chars))
        return out


def counting_loader(*recognizers: StubRecognizer) -> tuple[Callable[..., Any], list[str]]:
    by_name = {r.name: r for r in recognizers}
    loads: list[str] = []

    def load(name: str, threads: int | None = None) -> StubRecognizer:
        loads.append(name)
        if name not in by_name:
            raise FileNotFoundError(f"no model {name}")
        return by_name[name]

    return load, loads


@asynccontextmanager
async def serving(
    settings: Settings, loader: Callable[..., Any], *, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app; ``raise_app_exceptions=False`` to get the 500 that Starlette
    answers before it re-raises the exception to the server, as Uvicorn's clients do."""
    app = create_app(settings, loader=loader)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


# -- a live server ----------------------------------------------------------------------


def line_png(path: Path, width: int = 40, height: int = 20) -> Path:
    img = np.full((height, width), 255, np.uint8)
    img[height // 4 : -height // 4, 3:-3] = 0
    Image.fromarray(img).save(path)
    return path


class LiveServer:
    """Uvicorn serving the app in a thread; ``uvicorn_options`` go to ``uvicorn.Config``."""

    def __init__(self, settings: Settings, loader: Any, **uvicorn_options: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(settings, loader=loader),
            log_level="warning",
            lifespan="on",
            **uvicorn_options,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@contextmanager
def web_page(browser: Any, url: str, **context_options: Any) -> Iterator[Any]:
    """The web page at ``url`` in a new browser context (``context_options``: playwright's
    ``new_context``), once it has reached the server; no script error may happen in it."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url + "/")
    page.wait_for_selector("#server-status.ok")
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"
