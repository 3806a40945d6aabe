"""Request limits enforced before any work: body size, image format, then safe decoding.

The body limit is a pure ASGI middleware: it answers 413 from ``Content-Length`` before
reading anything, and counts streamed bytes for chunked bodies. Image formats are
recognised from their first bytes (the client's content type is not trusted), then the
one image loader, :func:`lineocr.images.load_image`, checks the pixel count from the
header before it decodes. The pixels are bounded per request (``max_request_pixels``, from
the headers) and across requests (:class:`PixelBudget`, ``max_pixels_in_flight``): a few
small uploads of large blank images must not take the server's memory.
"""

from __future__ import annotations

import asyncio
import io
import json
import warnings
from typing import Any

import numpy as np
from PIL import Image

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


def header_pixels(data: bytes) -> int:
    """Width x height as the image's header states it (nothing is decoded), or 0 when the
    header cannot be read (decoding then says why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning
            with Image.open(io.BytesIO(data)) as img:
                return int(img.width) * int(img.height)
    except Exception:  # any header Pillow cannot parse: the loader reports it
        return 0


class PixelBudget:
    """The decoded pixels the requests being served may hold at once (a line image decodes
    to one byte per pixel, more while it is converted): a request waits for room before it
    decodes, within its timeout. A request is always let in when no other holds any, so
    one larger than the budget is not refused here (``max_request_pixels`` bounds it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._waiters: list[asyncio.Future[None]] = []

    async def acquire(self, pixels: int) -> None:
        while self.held and self.held + pixels > self.limit:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                self._waiters.remove(waiter)
        self.held += pixels

    @property
    def waiting(self) -> int:
        """Requests waiting for room."""
        return len(self._waiters)

    def release(self, pixels: int) -> None:
        self.held -= pixels
        for waiter in self._waiters:  # each checks again whether it fits now
            if not waiter.done():
                waiter.set_result(None)


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
