"""Load any supported image safely into a uint8 grayscale array: the one place images are read.

Every reader, the CLI, the runtime and the server come through :func:`load_image`, so the
limits (allowed formats, pixel count checked from the header before decoding) and the
conversions (EXIF rotation, palette, alpha, 16-bit) are the same everywhere.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

FORMAT_ORDER = ("PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM")  # as messages list them
ALLOWED_FORMATS = frozenset(FORMAT_ORDER)
# File name suffixes of those formats: what a folder is searched for (.jfif and .jpe are JPEG).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".gif"}
    | {".ppm", ".pgm", ".pbm", ".pnm"}
)
# Image files lineocr does not read: a folder search lists them too, so that each is reported
# as unsupported instead of passed over in silence.
OTHER_IMAGE_SUFFIXES = frozenset({".avif", ".heic", ".heif", ".jxl", ".jp2", ".svg"})
DEFAULT_MAX_PIXELS = 25_000_000  # 25 MP

ImageSource = str | Path | bytes | np.ndarray | Image.Image

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_UINT16_TO_UINT8 = 255.0 / 65535.0


# What is wrong with an image, for code that acts on it (the server's status codes): the
# reason is for people and may be reworded. "unreadable" is anything else: missing, corrupt,
# truncated, zero-size, not an image.
ImageErrorKind = Literal["empty", "too_large", "unsupported", "unreadable"]


class ImageError(ValueError):
    """An image that cannot be used; the message names the source and the problem, ``kind``
    says which problem (:data:`ImageErrorKind`)."""

    def __init__(self, source: str, reason: str, kind: ImageErrorKind = "unreadable") -> None:
        self.source = source
        self.reason = reason
        self.kind: ImageErrorKind = kind
        super().__init__(f"{source}: {reason}")

    def __reduce__(self) -> tuple[type[ImageError], tuple[str, str, ImageErrorKind]]:
        # Pickled whole (a --workers process's error reaches the parent): args alone lack
        # the reason and the kind.
        return (ImageError, (self.source, self.reason, self.kind))


def describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.size}>"
    return f"<{type(source).__name__}>"


def load_image(
    source: ImageSource,
    *,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    formats: Iterable[str] = ALLOWED_FORMATS,
    notes: list[str] | None = None,
) -> np.ndarray:
    """Return the image as a 2-D uint8 array (0 black .. 255 white).

    Files and bytes are opened only as one of ``formats`` (Pillow's names, a subset of
    :data:`ALLOWED_FORMATS`). A file of several frames (a multi-page TIFF, an animated GIF
    or WebP) is read as its first frame; when ``notes`` is given, that is said there.
    Raises :class:`ImageError` for unreadable, unsupported, empty or oversized images.
    """
    label = name or describe(source)
    if isinstance(source, (bytearray, memoryview)):
        source = bytes(source)
    if isinstance(source, np.ndarray):
        if source.ndim < 2:
            raise ImageError(label, f"not an image: a {source.ndim}-D array (want HxW or HxWxC)")
        _check_size(source.shape[1], source.shape[0], max_pixels, label)
        return _array_to_gray(source, label)
    if isinstance(source, Image.Image):
        _check_size(source.width, source.height, max_pixels, label)
        return _pil_to_gray(source, label)
    if not isinstance(source, (str, Path, bytes)):
        raise ImageError(
            label, "not an image: expected a file path, bytes, a NumPy array or a PIL image"
        )
    data = source if isinstance(source, bytes) else _read_bytes(Path(source), label, max_pixels)
    if not data:
        raise ImageError(label, "empty file", kind="empty")
    img = _decode(data, label, max_pixels, ALLOWED_FORMATS.intersection(formats))
    frames = getattr(img, "n_frames", 1)
    if frames > 1 and notes is not None:
        notes.append(f"{frames} frames; only the first is read")
    return _pil_to_gray(img, label)


def _read_bytes(path: Path, label: str, max_pixels: int) -> bytes:
    if not path.exists():
        raise ImageError(label, "no such file")
    if not path.is_file():
        raise ImageError(label, "not a file")
    try:
        size = path.stat().st_size
        # Checked before reading it all into memory: an image within the pixel limit, even
        # uncompressed at 8 bytes a pixel (16-bit RGBA), with 1 MB of metadata, is smaller.
        limit = 8 * max_pixels + 2**20
        if size > limit:
            raise ImageError(
                label,
                f"file too large: {size / 1e6:,.0f} MB, more than an image of the pixel limit "
                f"({max_pixels:,}) can take ({limit / 1e6:,.0f} MB)",
                kind="too_large",
            )
        return path.read_bytes()
    except OSError as exc:
        raise ImageError(label, f"cannot read file: {exc.strerror or exc}") from None


def _check_size(width: int, height: int, max_pixels: int, label: str) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(label, f"zero-size image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(
            label,
            f"image too large: {width}x{height} pixels, more than the limit of {max_pixels:,}",
            kind="too_large",
        )


def format_names(formats: Iterable[str]) -> str:
    """``PNG, JPEG, WebP``: Pillow's format names as people write them, in a stable order."""
    order = FORMAT_ORDER
    ranked = sorted(formats, key=lambda f: (order.index(f) if f in order else len(order), f))
    return ", ".join("WebP" if f == "WEBP" else f for f in ranked)


def _decode(data: bytes, label: str, max_pixels: int, formats: frozenset[str]) -> Image.Image:
    """Open from the header, check the size, and only then decode the pixels."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=sorted(formats))
        except UnidentifiedImageError:
            raise ImageError(
                label,
                "not a supported image, or its header is corrupt "
                f"(supported: {format_names(formats)})",
                kind="unsupported",
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            # Pillow's message quotes its own limit; name the one that applies.
            limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
            raise ImageError(
                label, f"image too large: more than the limit of {limit:,} pixels", kind="too_large"
            ) from None
        except Exception as exc:  # Pillow raises many types on hostile headers
            raise ImageError(label, f"cannot read image header: {exc}") from None
        _check_size(img.width, img.height, max_pixels, label)
        try:
            img.load()
        except Exception as exc:
            raise ImageError(label, f"corrupt or truncated image: {exc}") from None
    return img


def _pil_to_gray(img: Image.Image, label: str) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ImageError(label, f"zero-size image ({img.width}x{img.height})")
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
        img = ImageOps.exif_transpose(img) or img
    try:
        return _pil_mode_to_gray(img)
    except ImageError:
        raise
    except Exception as exc:  # a caller's lazily opened image may fail to decode here
        raise ImageError(label, f"cannot convert image mode {img.mode}: {exc}") from None


def _pil_mode_to_gray(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES:
        # Full-range scaling, not min-max: the 16-bit and 8-bit saves of one picture agree.
        return _scale_uint16(np.asarray(img))
    if mode == "I":  # 32-bit integers; 16-bit PGM/TIFF data arrives this way
        return _numbers_to_uint8(np.asarray(img), allow_unit_range=False, sixteen_bit=True)
    if mode == "F":
        return _numbers_to_uint8(np.asarray(img), allow_unit_range=True)
    if mode == "LAB":  # no conversion to L or RGB in Pillow; L* is the lightness
        return np.asarray(img.getchannel("L"), dtype=np.uint8)
    if mode == "La":  # premultiplied alpha; Pillow converts it to LA only
        img = img.convert("LA")
    if mode == "P" or "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in _ALPHA_MODES:
        # Composite on white: transparent backgrounds are paper, not ink.
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    return np.asarray(img.convert("L"), dtype=np.uint8)


def _scale_uint16(arr: np.ndarray) -> np.ndarray:
    return np.round(arr.astype(np.float64) * _UINT16_TO_UINT8).astype(np.uint8)


def _rescale(arr: np.ndarray) -> np.ndarray:
    """Min-max stretch to 0..255, for numbers with no known range."""
    lo, hi = float(np.min(arr)), float(np.max(arr))
    if hi <= lo:
        return np.full(arr.shape, 255 if hi > 0 else 0, dtype=np.uint8)
    return np.round((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _numbers_to_uint8(
    arr: np.ndarray, *, allow_unit_range: bool, sixteen_bit: bool = False
) -> np.ndarray:
    """Map an array of any numeric dtype to uint8 by the range its values imply.

    bool -> 0/255; values already in 0..255 as is; uint16 (or ``sixteen_bit`` integers up
    to 65535) full-range; floats in [0, 1] (if ``allow_unit_range``) x 255; anything else
    min-max.
    """
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        values = arr.astype(np.float64)
        if not np.isfinite(values).all():
            raise ValueError("array has NaN or infinite values")
        lo, hi = float(values.min()), float(values.max())
        if allow_unit_range and lo >= 0.0 and hi <= 1.0:
            return np.round(values * 255.0).astype(np.uint8)
        if lo >= 0.0 and hi <= 255.0:
            return np.round(values).astype(np.uint8)
        return _rescale(values)
    if np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 255:
            return arr.astype(np.uint8)
        if lo >= 0 and hi <= 65535 and (sixteen_bit or arr.dtype == np.uint16):
            return _scale_uint16(arr)
        return _rescale(arr.astype(np.float64))
    raise TypeError(f"unsupported array dtype {arr.dtype}")


def _array_to_gray(arr: np.ndarray, label: str) -> np.ndarray:
    if arr.size == 0 or 0 in arr.shape:
        raise ImageError(label, f"zero-size image {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (2, 3, 4))):
        raise ImageError(
            label, f"expected a 2-D grayscale or HxWx2/3/4 array, got shape {arr.shape}"
        )
    try:
        # One range for all channels, so alpha and colour are scaled alike.
        values = _numbers_to_uint8(arr, allow_unit_range=True)
    except (TypeError, ValueError) as exc:
        raise ImageError(label, str(exc)) from None
    if values.ndim == 2:
        return np.ascontiguousarray(values)
    return _channels_to_gray(values)


def _channels_to_gray(values: np.ndarray) -> np.ndarray:
    """HxWx2 (gray, alpha), HxWx3 (RGB) or HxWx4 (RGBA) uint8 -> gray on white paper."""
    channels = values.shape[2]
    colour = values[:, :, : 1 if channels == 2 else 3].astype(np.float64)
    gray = colour[:, :, 0] if channels == 2 else colour @ np.array([0.299, 0.587, 0.114])
    if channels in (2, 4):
        alpha = values[:, :, -1].astype(np.float64) / 255.0
        gray = gray * alpha + 255.0 * (1.0 - alpha)
    return np.clip(np.round(gray), 0, 255).astype(np.uint8)
