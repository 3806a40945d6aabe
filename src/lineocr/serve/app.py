"""The HTTP service: ``create_app(settings) -> FastAPI``.

Endpoints: ``POST /v1/ocr`` (multipart files or JSON with base64 images), ``GET /v1/models``,
``/healthz``, ``/readyz``, ``/metrics``, the web page at ``/`` and OpenAPI at ``/docs``.
Models are loaded once, in the lifespan; images are micro-batched (:mod:`.batcher`).

Status codes of ``POST /v1/ocr``: a request that is wrong as a whole (content type, body,
options, model) gets one error (400, 413, 415, 422). Otherwise every image gets a slot in
``results``: its text, or its own ``error``. The response is 200 when at least one image
was read; when none was, it is the images' common error status (422 if they differ), with
the per-image ``results`` still in the body.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from swagger_ui_bundle import swagger_ui_path

from lineocr import __version__
from lineocr.decode import DecodeError
from lineocr.serve.batcher import Batcher, Outcome, wait_within
from lineocr.serve.errors import ApiError, error_body, install_error_handlers, validation_message
from lineocr.serve.limits import BodyLimitMiddleware, PixelBudget, decode_image, header_pixels
from lineocr.serve.metrics import CONTENT_TYPE_LATEST, Metrics, MetricsMiddleware
from lineocr.serve.models import (
    LoadedModel,
    Loader,
    ModelSet,
    ReadOptions,
    Resources,
    check_ops,
)
from lineocr.serve.schemas import (
    ErrorResponse,
    Health,
    ModelsResponse,
    OcrJsonRequest,
    OcrOptions,
    OcrResponse,
    Readiness,
)
from lineocr.serve.settings import Settings

log = logging.getLogger("lineocr.serve")
STATIC_DIR = Path(__file__).parent / "static"
FORM_FIELDS = frozenset(OcrOptions.model_fields)  # the same options as the JSON body
FILE_FIELDS = frozenset({"files", "file"})
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class ServerState:
    settings: Settings
    metrics: Metrics
    batcher: Batcher
    resources: Resources
    loader: Loader | None
    pixels: PixelBudget  # the decoded pixels the requests in flight hold
    models: ModelSet = field(default_factory=ModelSet)
    started: bool = False
    # One untrusted pattern compiles at a time (each within settings.pattern_budget_s).
    compile_slot: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    shutting_down: bool = False


@dataclass
class Upload:
    name: str
    data: bytes | None
    error: ApiError | None = None


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed request: empty body, no images, bad base64 or multipart",
        413: "Body, image or image count over the limits",
        415: "Content type or image format not accepted",
        422: "Invalid options (model, decoder, pattern, lexicon, lm, preprocess) or unreadable "
        "image",
        503: "Not ready, overloaded, timed out or shutting down",
    }.items()
}

_OCR_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": "One or more line images (PNG, JPEG, WebP, TIFF, BMP)",
                    },
                    "model": {"type": "string"},
                    "decoder": {"type": "string", "enum": ["greedy", "beam"]},
                    "beam_width": {"type": "integer", "minimum": 1},
                    "pattern": {"type": "string"},
                    "lexicon": {"type": "string"},
                    "lm": {"type": "string"},
                    "lm_weight": {"type": "number", "minimum": 0, "maximum": 5},
                    "length_bonus": {"type": "number", "minimum": -5, "maximum": 5},
                    "preprocess": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Ops replacing the model's, one per field; "
                        "'none' for no ops",
                    },
                },
            }
        },
        "application/json": {"schema": OcrJsonRequest.model_json_schema()},
    },
}


def create_app(settings: Settings | None = None, *, loader: Loader | None = None) -> FastAPI:
    """The app. ``loader(name_or_path, threads=...)`` loads one model (default
    ``Recognizer.load``); it is called once per model, at start-up."""
    settings = settings or Settings()
    metrics = Metrics()
    state = ServerState(
        settings=settings,
        metrics=metrics,
        batcher=Batcher(
            max_batch=settings.max_batch,
            timeout_ms=settings.batch_timeout_ms,
            workers=settings.inference_workers,
            max_queue=settings.max_queue,
            enabled=settings.batching,
            metrics=metrics,
        ),
        resources=Resources(settings.lexicon_words(), settings.load_language_models()),
        loader=loader,
        pixels=PixelBudget(settings.max_pixels_in_flight),
    )
    metrics.watch_pixels(lambda: state.pixels.held, lambda: state.pixels.waiting)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.models = await asyncio.to_thread(ModelSet.load, settings, state.loader)
        metrics.models_loaded.set(len(state.models.models))
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
            log.info("lineocr serve stopped")

    app = FastAPI(
        title="lineocr",
        version=__version__,
        description="Text-line OCR: send line images, get their text with per-character "
        "confidences. The web page is at `/`.",
        lifespan=lifespan,
        responses={422: {"model": ErrorResponse, "description": "Invalid request"}},
        docs_url=None,  # served below from the packaged Swagger UI, not a CDN
        redoc_url=None,
    )
    app.state.lineocr = state
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(HeadMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """OpenAPI explorer, with Swagger UI's files served by this app: works offline."""
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="lineocr API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/favicon.ico",
        )

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    @app.get("/healthz", response_model=Health, tags=["health"])
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["health"],
        responses={503: {"model": Readiness, "description": "Not ready"}},
    )
    async def readyz() -> JSONResponse:
        """Ready: at least one model is loaded and the server is not shutting down."""
        ready = state.started and not state.shutting_down and bool(state.models.models)
        body = {"ready": ready, "models": list(state.models.models), "failed": state.models.failed}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get(
        "/metrics",
        tags=["health"],
        response_class=Response,
        responses={
            200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}
        },
    )
    async def prometheus() -> Response:
        """Prometheus metrics."""
        metrics.queue_depth.set(state.batcher.queue_depth)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/models", response_model=ModelsResponse, tags=["ocr"])
    async def list_models() -> dict[str, Any]:
        """The loaded models with their cards, the named lexicons and language models, and
        the limits."""
        from lineocr.preprocess import OPS

        default = state.models.default
        return {
            "models": [m.card(m is default) for m in state.models.models.values()],
            "lexicons": sorted(state.resources.lexicons),
            "language_models": sorted(state.resources.language_models),
            "preprocess_ops": sorted(
                settings.allowed_ops if settings.allowed_ops is not None else OPS
            ),
            "limits": {
                "max_body_bytes": settings.max_body_bytes,
                "max_pixels": settings.max_pixels,
                "max_images_per_request": settings.max_images_per_request,
                "request_timeout_s": settings.request_timeout_s,
                "formats": list(settings.allowed_formats),
                "tta": settings.allow_tta,
            },
        }

    @app.post(
        "/v1/ocr",
        response_model=OcrResponse,
        tags=["ocr"],
        responses=_ERRORS,
        openapi_extra={"requestBody": _OCR_BODY},
    )
    async def ocr(request: Request) -> JSONResponse:
        """Read one or many line images: multipart ``files`` (plus option fields) or JSON
        ``{"images": [{"data": base64, "name": ...}], ...options}``."""
        if state.shutting_down:
            raise ApiError(503, "shutting_down", "the server is shutting down")
        started = time.perf_counter()
        pending = _Pending()
        try:
            return await wait_within(
                _ocr(request, state, started, pending), settings.request_timeout_s
            )
        except TimeoutError:
            if pending.images:  # every image is counted under an outcome
                metrics.record_images(pending.model, "timeout", pending.images)
            raise ApiError(
                503, "timeout", f"the request took longer than {settings.request_timeout_s:g} s"
            ) from None

    return app


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
    """Show lineocr's start-up and error lines next to uvicorn's."""
    logger = logging.getLogger("lineocr")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


@dataclass
class _Pending:
    """The images a request has in hand and their model: what a timeout counts."""

    model: str = ""
    images: int = 0


async def _ocr(
    request: Request, state: ServerState, started: float, pending: _Pending
) -> JSONResponse:
    """Read a request's images with its options: one result slot per image, in order."""
    uploads, raw_options = await _read_request(request, state.settings)
    model, options = _resolve_options(raw_options, state)
    pending.model, pending.images = model.name, len(uploads)
    decoder = await _checked_decoder(model, options, state)
    pixels = _request_pixels(uploads, state.settings)
    await state.pixels.acquire(pixels)  # room for them among the requests in flight
    try:
        decoded, decode_ms = await _decode_timed(uploads, state.settings)
        outcomes = await _submit(decoded, model, options, decoder, state)
    finally:
        state.pixels.release(pixels)
    slots, errors = _slots(uploads, decoded, outcomes, model, decode_ms, state.metrics)
    pending.images = 0  # counted, each under its outcome
    return _response(slots, errors, _model_ref(model), started)


async def _read_request(
    request: Request, settings: Settings
) -> tuple[list[Upload], dict[str, Any]]:
    """The uploads and raw options of a multipart or JSON body."""
    _refuse_query_params(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_multipart(request, settings)
    if content_type == "application/json" or content_type.endswith("+json"):
        return await _read_json(request, settings)
    raise ApiError(
        415,
        "unsupported_media_type",
        "send multipart/form-data (field 'files') or application/json "
        f"(base64 images), not {content_type or 'no content type'}",
    )


def _refuse_query_params(request: Request) -> None:
    """Refuse a query string: options are read from the body only, so it would be ignored."""
    if request.query_params:
        names = ", ".join(sorted(set(request.query_params.keys())))
        raise ApiError(
            422,
            "invalid_request",
            f"query parameters are not read ({names}): send options as form fields "
            "(multipart) or JSON fields beside 'images'",
        )


def _resolve_options(raw: dict[str, Any], state: ServerState) -> tuple[LoadedModel, ReadOptions]:
    """The checked options and the model they name (the default when they name none)."""
    options = _check_options(raw, state)
    model = state.models.get(options.model)
    return model, ReadOptions(**{**options.__dict__, "model": model.name})


async def _checked_decoder(model: LoadedModel, options: ReadOptions, state: ServerState) -> Any:
    """The decoder the options build (None without options), checked within the budget."""
    # Options the decoder refuses fail the whole request, before any image is decoded.
    # The decoder checked here is the one the batch uses: looked up again, it could have left
    # the recognizer's cache and be compiled anew, outside the budget.
    budget_s = state.settings.pattern_budget_s
    kwargs = model.decode_options(options, state.resources)
    if "pattern" in kwargs:  # untrusted regexes compile one at a time, within a budget
        async with state.compile_slot:
            return await asyncio.to_thread(model.check_decoder, kwargs, budget_s)
    if kwargs:
        return await asyncio.to_thread(model.check_decoder, kwargs, budget_s)
    return None


async def _decode_timed(
    uploads: list[Upload], settings: Settings
) -> tuple[list[tuple[Any, ApiError | None]], float]:
    """Each upload's image or error, decoded off the event loop, and the mean ms per image."""
    decode_started = time.perf_counter()
    decoded = await asyncio.to_thread(_decode_all, uploads, settings)
    decode_ms = (time.perf_counter() - decode_started) * 1000.0 / max(1, len(uploads))
    return decoded, decode_ms


async def _submit(
    decoded: list[tuple[Any, ApiError | None]],
    model: LoadedModel,
    options: ReadOptions,
    decoder: Any,
    state: ServerState,
) -> dict[int, Outcome]:
    """Read the decoded images in the batcher, with the checked decoder; outcomes by index."""
    good = [i for i, (img, _) in enumerate(decoded) if img is not None]
    if not good:
        return {}
    run = model.runner(options, state.resources, decoder)
    images = [decoded[i][0] for i in good]
    costs = [model.image_cost(options, img) for img in images]
    results = await state.batcher.submit(options, run, images, model.name, cost=costs)
    return dict(zip(good, results, strict=True))


def _model_ref(model: LoadedModel) -> dict[str, Any]:
    """The model's name and version, as the response names it."""
    return {"name": model.name, "version": model.version}


def _slots(
    uploads: list[Upload],
    decoded: list[tuple[Any, ApiError | None]],
    outcomes: dict[int, Outcome],
    model: LoadedModel,
    decode_ms: float,
    metrics: Metrics,
) -> tuple[list[dict[str, Any]], list[ApiError]]:
    """One result slot per upload, each image counted in the metrics; and the errors."""
    model_ref = _model_ref(model)
    slots: list[dict[str, Any]] = []
    errors: list[ApiError] = []
    for i, upload in enumerate(uploads):
        slot: dict[str, Any] = {"index": i, "name": upload.name}
        result = _image_result(decoded[i][1], outcomes.get(i), upload.name)
        if isinstance(result, ApiError):
            errors.append(result)
            metrics.record_images(model.name, result.code)
            slot.update(ok=False, error=result.to_dict())
        else:
            metrics.record_images(model.name, "ok")
            slot.update(ok=True, **_reading(result, model_ref, decode_ms))
        slots.append(slot)
    return slots, errors


def _image_result(
    decode_error: ApiError | None, outcome: Outcome | None, name: str
) -> Outcome | ApiError:
    """One image's outcome when it was read, else its error (decoding, reading, or none)."""
    if decode_error is not None:
        return decode_error
    if outcome is None:
        return ApiError(500, "internal_error", "no result")
    if outcome.error is not None:
        return _read_error(outcome.error, name)
    return outcome


def _reading(outcome: Outcome, model_ref: dict[str, Any], decode_ms: float) -> dict[str, Any]:
    """A read image's slot fields: text, confidences, model and timings."""
    pred = outcome.value
    return {
        "text": pred.text,
        "confidence": round(float(pred.confidence), 6),
        "chars": [
            {"char": c.char, "confidence": round(float(c.confidence), 6)} for c in pred.chars
        ],
        "model": model_ref,
        "timings": {
            "decode_ms": round(decode_ms, 3),
            "queue_ms": round(outcome.queue_ms, 3),
            "inference_ms": round(outcome.inference_ms, 3),
            "batch_size": outcome.batch_size,
        },
    }


def _response(
    slots: list[dict[str, Any]], errors: list[ApiError], model_ref: dict[str, Any], started: float
) -> JSONResponse:
    """200 with the slots when an image was read; else the images' common error status."""
    total_ms = round((time.perf_counter() - started) * 1000.0, 3)
    if len(errors) == len(slots):
        return _none_read(slots, errors)
    return JSONResponse({"model": model_ref, "results": slots, "timings": {"total_ms": total_ms}})


def _none_read(slots: list[dict[str, Any]], errors: list[ApiError]) -> JSONResponse:
    """The error answer when no image was read: their common status (422 if they differ)."""
    statuses = {e.status for e in errors}
    status = statuses.pop() if len(statuses) == 1 else 422
    first = errors[0]
    message = (
        first.message
        if len(slots) == 1
        else (f"none of the {len(slots)} images could be read; first: {first.message}")
    )
    code = first.code if status == first.status else "unreadable_images"
    return JSONResponse(error_body(status, code, message, results=slots), status_code=status)


async def _read_multipart(
    request: Request, settings: Settings
) -> tuple[list[Upload], dict[str, Any]]:
    limit = settings.max_images_per_request
    try:
        form = await request.form(max_files=limit, max_fields=32, max_part_size=64 * 1024)
    except StarletteHTTPException as exc:
        detail = str(exc.detail)
        if "Too many files" in detail:
            raise ApiError(413, "too_many_images", f"at most {limit} images per request") from None
        raise ApiError(400, "bad_multipart", f"malformed multipart body: {detail}") from None
    uploads: list[Upload] = []
    options: dict[str, Any] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise ApiError(
                        422,
                        "invalid_request",
                        f"unexpected file field {key!r}; send images as 'files'",
                    )
                uploads.append(
                    Upload(value.filename or f"image {len(uploads) + 1}", await value.read())
                )
                continue
            if key in FILE_FIELDS:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"field {key!r} holds text, not a file: send each image as a file part "
                    "(curl -F 'files=@line.png')",
                )
            if key not in FORM_FIELDS:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"unknown field {key!r}; known: {', '.join(sorted(FORM_FIELDS))}",
                )
            if key == "preprocess":
                ops = options.setdefault("preprocess", [])
                ops.extend(_split_ops(value))
            elif key in options:
                raise ApiError(422, "invalid_request", f"field {key!r} given twice")
            else:
                options[key] = value or None
    finally:
        await form.close()
    if not uploads:
        raise ApiError(400, "no_images", "no images: send one or more files in the 'files' field")
    return uploads, options


def _split_ops(value: str) -> list[str]:
    value = value.strip()
    if value.lower() == "none":
        return []
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            raise ApiError(422, "invalid_preprocess", "preprocess: invalid JSON list") from None
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise ApiError(422, "invalid_preprocess", "preprocess: a JSON list of strings")
        return items
    return [op for op in value.split(";") if op.strip()]


async def _read_json(request: Request, settings: Settings) -> tuple[list[Upload], dict[str, Any]]:
    body = await request.body()
    if not body.strip():
        raise ApiError(400, "empty_body", "empty request body")
    try:
        payload = OcrJsonRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        raise ApiError(422, "invalid_request", validation_message(exc.errors())) from None
    if len(payload.images) > settings.max_images_per_request:
        raise ApiError(
            413, "too_many_images", f"at most {settings.max_images_per_request} images per request"
        )
    uploads = []
    for i, item in enumerate(payload.images):
        name = item.name or f"image {i + 1}"
        data = item.data
        if data.startswith("data:"):
            data = data.partition(",")[2]
        # MIME and PEM base64 wrap lines (RFC 2045: 76 characters): whitespace is not data.
        data = "".join(data.split())
        try:
            uploads.append(Upload(name, base64.b64decode(data, validate=True)))
        except (binascii.Error, ValueError):
            uploads.append(
                Upload(name, None, ApiError(400, "invalid_base64", f"{name}: invalid base64 data"))
            )
    options = payload.model_dump(exclude={"images"}, exclude_none=True)
    return uploads, options


def _check_options(raw: dict[str, Any], state: ServerState) -> ReadOptions:
    settings = state.settings
    try:
        opts = OcrOptions.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", validation_message(exc.errors())) from None
    lexicons, lms = state.resources.lexicons, state.resources.language_models
    if opts.lexicon is not None and opts.lexicon not in lexicons:
        known = ", ".join(sorted(lexicons)) or "none configured"
        raise ApiError(422, "unknown_lexicon", f"unknown lexicon {opts.lexicon!r}; known: {known}")
    if opts.lm is not None and opts.lm not in lms:
        known = ", ".join(sorted(lms)) or "none configured"
        raise ApiError(422, "unknown_lm", f"unknown language model {opts.lm!r}; known: {known}")
    if opts.pattern is not None and len(opts.pattern) > settings.max_pattern_length:
        raise ApiError(
            422, "invalid_pattern", f"pattern longer than {settings.max_pattern_length} characters"
        )
    if opts.beam_width is not None and opts.beam_width > settings.max_beam_width:
        raise ApiError(422, "invalid_request", f"beam_width at most {settings.max_beam_width}")
    if opts.tta and not settings.allow_tta:
        raise ApiError(
            422, "tta_disabled", "test-time augmentation (tta) is turned off on this server"
        )
    ops = check_ops(opts.preprocess, settings) if opts.preprocess is not None else None
    return ReadOptions(
        opts.model or "",
        opts.decoder,
        opts.beam_width,
        opts.pattern,
        opts.lexicon,
        ops,
        opts.lm,
        opts.lm_weight,
        opts.length_bonus,
        bool(opts.tta),
    )


def _request_pixels(uploads: list[Upload], settings: Settings) -> int:
    """The pixels the request's images will decode to, from their headers, within
    ``max_request_pixels``: an image that would take the request past it gets a 413 in its
    slot instead (and is not decoded); the others are read."""
    total = 0
    for upload in uploads:
        if upload.error is not None or not upload.data:
            continue
        pixels = header_pixels(upload.data)
        if pixels > settings.max_pixels:
            continue  # the loader refuses it (413 image_too_large) before decoding
        if total + pixels > settings.max_request_pixels:
            upload.error = ApiError(
                413,
                "request_too_many_pixels",
                f"{upload.name}: with its {pixels:,} pixels the request's images would "
                f"hold more than {settings.max_request_pixels:,}; send it in another request",
            )
            continue
        total += pixels
    return total


def _decode_all(uploads: list[Upload], settings: Settings) -> list[tuple[Any, ApiError | None]]:
    out: list[tuple[Any, ApiError | None]] = []
    for upload in uploads:
        if upload.error is not None or upload.data is None:
            out.append((None, upload.error or ApiError(400, "empty_image", "no data")))
            continue
        try:
            img = decode_image(
                upload.data,
                upload.name,
                allowed_formats=settings.allowed_formats,
                max_pixels=settings.max_pixels,
            )
            out.append((img, None))
        except ApiError as exc:
            out.append((None, exc))
        except Exception as exc:  # the loader promises ImageError; be safe anyway
            log.exception("unexpected error decoding %s", upload.name)
            out.append(
                (
                    None,
                    ApiError(
                        422,
                        "unreadable_image",
                        f"{upload.name}: cannot read image ({type(exc).__name__})",
                    ),
                )
            )
    return out


def _read_error(exc: BaseException, name: str) -> ApiError:
    """An exception from reading one image -> its slot's error."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DecodeError):  # the decoder refused the request's options
        return ApiError(422, "invalid_options", f"{name}: {exc}")
    # Whatever else fails on one image (an OpenCV assertion on an odd shape, a bug raising
    # ValueError or KeyError) is that image's error, not the server's: the other images are
    # read, and no 500 is answered. Not "invalid_options": the client's options are not at
    # fault, so the details are in the log, with the traceback, not in the answer.
    log.error("reading %s failed: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
    return ApiError(
        422,
        "unprocessable_image",
        f"{name}: cannot recognise this image ({type(exc).__name__}); the server log has details",
    )
