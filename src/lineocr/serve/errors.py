"""Errors the API returns: one JSON shape, a 4xx code for every bad input, never a traceback.

``{"error": {"status": 415, "code": "unsupported_format", "message": "..."}}``. Anything
unexpected is logged with its traceback on the server and answered with a bare 500 that
names no internals.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from lineocr.images import ImageError, ImageErrorKind

log = logging.getLogger("lineocr.serve")


class ApiError(Exception):
    """An error answered as JSON with ``status``; ``code`` is a stable machine name."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message}


def error_body(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message}, **extra}


_IMAGE_ERRORS: dict[ImageErrorKind, tuple[int, str]] = {
    "too_large": (413, "image_too_large"),
    "unsupported": (415, "unsupported_format"),
    "empty": (400, "empty_image"),
    "unreadable": (422, "unreadable_image"),
}


def image_error(exc: ImageError) -> ApiError:
    """Map :class:`lineocr.images.ImageError` by its ``kind``: too large 413, not an image
    415, empty 400, anything else (zero-size, truncated, corrupt) 422."""
    status, code = _IMAGE_ERRORS.get(exc.kind, (422, "unreadable_image"))
    return ApiError(status, code, str(exc))


_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else None
        return JSONResponse(
            error_body(exc.status, exc.code, exc.message, **exc.extra),
            status_code=exc.status,
            headers=headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(
            error_body(exc.status_code, code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body(422, "invalid_request", validation_message(exc.errors())),
            status_code=422,
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client left mid-upload: nobody reads this answer, and it is not a server fault.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(400, "client_disconnected", "client disconnected"), status_code=400
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(500, "internal_error", "internal error; the server log has the details"),
            status_code=500,
        )


def validation_message(errors: Any) -> str:
    """pydantic errors -> one readable line (field path and message; no input echo)."""
    parts = []
    for err in list(errors)[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body",))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"
