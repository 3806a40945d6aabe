"""Load any supported image safely into a uint8 grayscale array: the one place images are read.

Every reader, the CLI, the runtime and the server come through :func:`load_image`, so the
limits (allowed formats, pixel count checked from the header before decoding) and the
conversions (EXIF rotation, palette, alpha, 16-bit) are the same everywhere.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF", "PPM"})
DEFAULT_MAX_PIXELS = 25_000_000  # 25 MP

ImageSource = Union[str, Path, bytes, np.ndarray, Image.Image]


class ImageError(ValueError):
    """An image that cannot be used; the message names the source and the problem."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


def describe(source: ImageSource) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    if isinstance(source, np.ndarray):
        return f"<array {source.shape} {source.dtype}>"
    return f"<PIL image {source.size}>"


def load_image(
    source: ImageSource, *, name: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Return the image as a 2-D uint8 array (0 black .. 255 white).

    Raises :class:`ImageError` for unreadable, unsupported, empty or oversized images.
    """
    label = name or describe(source)
    if isinstance(source, np.ndarray):
        return _array_to_gray(source, label)
    if isinstance(source, Image.Image):
        return _pil_to_gray(source, label)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(label, "no such file")
        data = path.read_bytes()
    else:
        data = source
    if not data:
        raise ImageError(label, "empty file")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_FORMATS))
        except UnidentifiedImageError:
            raise ImageError(
                label, "not a supported image (PNG, JPEG, BMP, TIFF, WebP, GIF, PPM)"
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(label, f"image too large: {exc}") from None
        except Exception as exc:  # Pillow raises many types on hostile headers
            raise ImageError(label, f"cannot read image header: {exc}") from None
        width, height = img.size
        if width <= 0 or height <= 0:
            raise ImageError(label, f"zero-size image ({width}x{height})")
        if width * height > max_pixels:
            raise ImageError(
                label, f"image has {width}x{height} pixels, more than the limit of {max_pixels:,}"
            )
        try:
            img.load()
        except Exception as exc:
            raise ImageError(label, f"corrupt or truncated image: {exc}") from None
    return _pil_to_gray(img, label)


def _pil_to_gray(img: Image.Image, label: str) -> np.ndarray:
    if img.width == 0 or img.height == 0:
        raise ImageError(label, f"zero-size image ({img.width}x{img.height})")
    try:
        img = ImageOps.exif_transpose(img) or img
    except Exception:  # a broken EXIF block must not lose the image
        pass
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        return _rescale(arr)
    if mode == "1":
        return np.asarray(img.convert("L"), dtype=np.uint8)
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        # Composite on white: transparent backgrounds are paper, not ink.
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    try:
        return np.asarray(img.convert("L"), dtype=np.uint8)
    except Exception as exc:
        raise ImageError(label, f"unsupported image mode {mode}: {exc}") from None


def _rescale(arr: np.ndarray) -> np.ndarray:
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if hi <= lo:
        return np.full(arr.shape, 255 if hi > 0 else 0, dtype=np.uint8)
    return np.round((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def _array_to_gray(arr: np.ndarray, label: str) -> np.ndarray:
    if arr.size == 0 or 0 in arr.shape:
        raise ImageError(label, f"zero-size image {arr.shape}")
    if arr.ndim == 3 and arr.shape[2] in (1, 3, 4):
        if arr.shape[2] == 1:
            arr = arr[:, :, 0]
        else:
            rgb = arr[:, :, :3].astype(np.float64)
            if np.issubdtype(arr.dtype, np.floating) and rgb.max() <= 1.0:
                rgb = rgb * 255.0
            gray = rgb @ np.array([0.299, 0.587, 0.114])
            if arr.shape[2] == 4:
                alpha = arr[:, :, 3].astype(np.float64)
                alpha = alpha / (1.0 if alpha.max() <= 1.0 else 255.0)
                gray = gray * alpha + 255.0 * (1.0 - alpha)
            return np.clip(np.round(gray), 0, 255).astype(np.uint8)
    if arr.ndim != 2:
        raise ImageError(label, f"expected a 2-D grayscale or HxWx3/4 array, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError(label, "array has NaN or infinite values")
        if arr.min() >= 0.0 and arr.max() <= 1.0:
            return np.round(arr * 255.0).astype(np.uint8)
        return _rescale(arr)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() >= 0 and arr.max() <= 255:
            return arr.astype(np.uint8)
        return _rescale(arr.astype(np.float64))
    raise ImageError(label, f"unsupported array dtype {arr.dtype}")
