"""The endpoints: the web page, the API docs, health, metrics, models and ``/v1/ocr``.

One :class:`APIRouter`, included by :func:`lineocr.serve.app.create_app`; each route gets
the process's :class:`~lineocr.serve.state.ServerState` from the :data:`State` dependency.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from lineocr.serve.documents import MAX_PAGES as MAX_DOCUMENT_PAGES
from lineocr.serve.documents import DocumentRequest, render, render_pdf
from lineocr.serve.fields import fields_info
from lineocr.serve.metrics import CONTENT_TYPE_LATEST
from lineocr.serve.ocr import answer_ocr
from lineocr.serve.openapi import ERROR_RESPONSES, ocr_request_body
from lineocr.serve.schemas import Health, ModelsResponse, OcrResponse, Readiness
from lineocr.serve.state import State

STATIC_DIR = Path(__file__).parent / "static"
DOCS_ASSETS = "/docs-assets"  # where create_app mounts Swagger UI's files
# Swagger UI 5 (it renders OpenAPI 3.1, which FastAPI writes; swagger-ui-bundle's 4.15 does
# not), packaged with Redoc by fastapi-offline: served from here, /docs works offline.
SWAGGER_UI_DIR = Path(str(files("fastapi_offline") / "static"))
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter()


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """OpenAPI explorer, with Swagger UI's files served by this app: works offline."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="lineocr API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
    )


@router.get("/", include_in_schema=False)
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/healthz", response_model=Health, tags=["health"])
async def healthz() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["health"],
    responses={503: {"model": Readiness, "description": "Not ready"}},
)
async def readyz(state: State) -> JSONResponse:
    """Ready: at least one model is loaded and the server is not shutting down."""
    ready = state.started and not state.shutting_down and bool(state.models.models)
    body = {"ready": ready, "models": list(state.models.models), "failed": state.models.failed}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    tags=["health"],
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}
    },
)
async def prometheus(state: State) -> Response:
    """Prometheus metrics."""
    state.metrics.queue_depth.set(state.batcher.queue_depth)
    return Response(state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/models", response_model=ModelsResponse, tags=["ocr"])
async def list_models(state: State) -> dict[str, Any]:
    """The loaded models with their cards, the named lexicons and language models, and
    the limits."""
    from lineocr.preprocess import OPS

    settings = state.settings
    default = state.models.default
    return {
        "models": [m.card(m is default) for m in state.models.models.values()],
        "lexicons": sorted(state.resources.lexicons),
        "language_models": sorted(state.resources.language_models),
        "preprocess_ops": sorted(settings.allowed_ops if settings.allowed_ops is not None else OPS),
        "fields": fields_info(),
        "limits": {
            "max_body_bytes": settings.max_body_bytes,
            "max_pixels": settings.max_pixels,
            "max_images_per_request": settings.max_images_per_request,
            "max_document_pages": MAX_DOCUMENT_PAGES,
            "request_timeout_s": settings.request_timeout_s,
            "formats": list(settings.allowed_formats),
            "tta": settings.allow_tta,
        },
    }


@router.post(
    "/v1/ocr",
    response_model=OcrResponse,
    tags=["ocr"],
    responses=ERROR_RESPONSES,
    openapi_extra={"requestBody": ocr_request_body()},
)
async def ocr(request: Request, state: State) -> JSONResponse:
    """Read one or many images of text lines or whole pages: multipart ``files`` (plus
    option fields) or JSON ``{"images": [{"data": base64, "name": ...}], ...options}``. A
    page (``layout`` page, or auto on an image that is not one line) is answered with its
    lines in reading order, each with its box, polygon, block and characters."""
    return await answer_ocr(request, state)


@router.post(
    "/v1/documents",
    tags=["ocr"],
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/xhtml+xml": {"schema": {"type": "string"}},
                "application/xml": {"schema": {"type": "string"}},
            },
            "description": "The document: hOCR (XHTML), ALTO 4.3 or PAGE-XML 2019",
        },
        **{s: ERROR_RESPONSES[s] for s in (400, 413, 422)},
    },
)
async def documents(body: DocumentRequest) -> Response:
    """Pages read by ``POST /v1/ocr`` (its result slots for pages, as they were answered)
    written as an hOCR, ALTO or PAGE-XML document: read once, download in any format."""
    return render(body)


@router.post(
    "/v1/documents/pdf",
    tags=["ocr"],
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The searchable PDF: the page image with its text, invisible, over "
            "each line",
        },
        **{s: ERROR_RESPONSES[s] for s in (400, 413, 415, 422, 503)},
    },
)
async def documents_pdf(
    state: State,
    page: Annotated[
        str,
        Form(description="The page's result slot from POST /v1/ocr (layout page), as JSON"),
    ],
    file: Annotated[
        UploadFile, File(description="The image the page was read from (the same file)")
    ],
    dpi: Annotated[
        float, Form(gt=0, le=2400, description="The image's resolution: its size on the page")
    ] = 300.0,
) -> Response:
    """A page read by ``POST /v1/ocr`` written as a searchable PDF over the image it was
    read from: selecting, copying and searching in a PDF viewer give the text read."""
    data = await file.read()
    name = file.filename or "image"
    return await asyncio.to_thread(render_pdf, page, data, name, dpi, state.settings)
