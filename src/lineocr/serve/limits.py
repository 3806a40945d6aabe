"""Request limits enforced before any work: body size, image format, then safe decoding.

The body limit is a pure ASGI middleware: it answers 413 from ``Content-Length`` before
reading anything, and counts streamed bytes for chunked bodies. Image formats are
recognised from their first bytes (the client's content type is not trusted), then the
one image loader, :func:`lineocr.images.load_image`, checks the pixel count from the
header before it decodes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from lineocr.images import ImageError, format_names, load_image
from lineocr.serve.errors import ApiError, error_body, image_error

# First bytes -> format name (Pillow's names). EPS/PS/PDF are recognised to refuse them.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"%PDF", "PDF"),
    (b"%!PS", "EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
)


def sniff_format(data: bytes) -> str | None:
    """The image format from the file's first bytes, or None when not recognised."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    if len(data) >= 2 and data[:1] == b"P" and data[1:2] in b"123456":
        return "PPM"
    return None


def decode_image(
    data: bytes, name: str, *, allowed_formats: tuple[str, ...], max_pixels: int
) -> np.ndarray:
    """Bytes of an uploaded file -> uint8 grayscale array, or :class:`ApiError` (4xx)."""
    if not data:
        raise ApiError(400, "empty_image", f"{name}: empty file")
    fmt = sniff_format(data)
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_format",
            f"{name}: not a supported image; send {format_names(allowed_formats)}",
        )
    if fmt not in allowed_formats:
        raise ApiError(
            415,
            "unsupported_format",
            f"{name}: {fmt} images are not accepted; send {format_names(allowed_formats)}",
        )
    try:
        return load_image(data, name=name, max_pixels=max_pixels, formats=allowed_formats)
    except ImageError as exc:
        error = image_error(exc)
        if error.status == 415:  # its first bytes say it is an image we take: it is broken
            error = ApiError(422, "unreadable_image", error.message)
        raise error from None


class BodyTooLargeError(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413, "body_too_large", f"request body is larger than the limit of {limit:,} bytes"
        )


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.max_bytes
            except ValueError:
                await _send_error(send, 400, "bad_request", "invalid Content-Length header")
                return
            if too_large:
                await _send_error(
                    send,
                    413,
                    "body_too_large",
                    f"request body is larger than the limit of {self.max_bytes:,} bytes",
                )
                return
        received = 0

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


async def _send_error(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(status, code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
