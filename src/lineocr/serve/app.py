"""The HTTP service: ``create_app(settings) -> FastAPI``.

Endpoints (:mod:`.routes`): ``POST /v1/ocr`` (multipart files or JSON with base64 images,
:mod:`.ocr`), ``GET /v1/models``, ``/healthz``, ``/readyz``, ``/metrics``, the web page at
``/`` and OpenAPI at ``/docs``. Models are loaded once, in the lifespan; images are
micro-batched (:mod:`.batcher`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from lineocr import __version__
from lineocr.serve.batcher import Batcher, BatchLimits
from lineocr.serve.errors import install_error_handlers
from lineocr.serve.limits import BodyLimitMiddleware, PixelBudget
from lineocr.serve.metrics import Metrics, MetricsMiddleware
from lineocr.serve.models import Loader, ModelSet, Resources
from lineocr.serve.openapi import install_openapi
from lineocr.serve.pages import PageWorkers
from lineocr.serve.routes import DOCS_ASSETS, STATIC_DIR, SWAGGER_UI_DIR, router
from lineocr.serve.schemas import ErrorResponse
from lineocr.serve.settings import Settings
from lineocr.serve.state import ServerState

log = logging.getLogger("lineocr.serve")


def create_app(settings: Settings | None = None, *, loader: Loader | None = None) -> FastAPI:
    """The app. ``loader(name_or_path, threads=...)`` loads one model (default
    ``Recognizer.load``); it is called once per model, at start-up."""
    settings = settings or Settings()
    state = _server_state(settings, loader)
    app = FastAPI(
        title="lineocr",
        version=__version__,
        description="OCR of text lines and whole pages: send line images or pages, get "
        "their text with per-character confidences (and a page's lines with their boxes). "
        "The web page is at `/`.",
        lifespan=_lifespan(state),
        responses={422: {"model": ErrorResponse, "description": "Invalid request"}},
        docs_url=None,  # served by the router from the packaged Swagger UI, not a CDN
        redoc_url=None,
    )
    app.state.lineocr = state
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics)
    app.add_middleware(HeadMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI_DIR), name="docs-assets")
    app.include_router(router)
    install_openapi(app)
    return app


def _server_state(settings: Settings, loader: Loader | None) -> ServerState:
    metrics = Metrics()
    state = ServerState(
        settings=settings,
        metrics=metrics,
        batcher=Batcher(
            BatchLimits(
                max_batch=settings.max_batch,
                timeout_ms=settings.batch_timeout_ms,
                workers=settings.inference_workers,
                max_queue=settings.max_queue,
                enabled=settings.batching,
            ),
            metrics,
        ),
        resources=Resources(settings.lexicon_words(), settings.load_language_models()),
        loader=loader,
        pixels=PixelBudget(settings.max_pixels_in_flight),
        pages=PageWorkers(settings.page_workers),
    )
    metrics.watch_pixels(lambda: state.pixels.held, lambda: state.pixels.waiting)
    return state


def _lifespan(state: ServerState) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Load the models and start the batcher; at the end, drain within the shutdown timeout."""
    settings = state.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.models = await asyncio.to_thread(ModelSet.load, settings, state.loader)
        state.metrics.models_loaded.set(len(state.models.models))
        await state.batcher.start()
        state.started = True
        log.info(
            "lineocr serve ready: models %s; batching %s",
            ", ".join(state.models.models) or "(none)",
            f"on (max {settings.max_batch}, {settings.batch_timeout_ms:g} ms)"
            if settings.batching
            else "off",
        )
        try:
            yield
        finally:
            state.shutting_down = True
            await state.batcher.close(timeout=settings.shutdown_timeout_s)
            state.pages.close()
            log.info("lineocr serve stopped")

    return lifespan


class HeadMiddleware:
    """Answer HEAD as GET, without the body: HTTP asks every server that serves GET to serve
    HEAD (monitors and proxies probe ``/healthz`` so), and FastAPI's GET routes answer it
    405. The headers are GET's, ``Content-Length`` included, as HEAD's should be."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Any) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def create_app_from_env() -> FastAPI:
    """The app with :meth:`Settings.from_env` (uvicorn ``--factory``; ``--workers``, Docker)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)


def configure_logging(level: str) -> None:
    """Show lineocr's start-up and error lines next to uvicorn's; warnings logged once per
    connection by uvicorn and asyncio pass once per interval (a flood of sockets must not
    fill the disk)."""
    from lineocr.serve.connections import install_log_filters

    install_log_filters()
    logger = logging.getLogger("lineocr")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())
