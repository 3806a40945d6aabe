"""Printed-and-scanned degradations of line images, written for this benchmark (OpenCV and
numpy; nothing from lineocr's own augmentation).

Each profile maps an 8-bit grey line (dark ink on white) and a seeded generator to a new
image; the same seed gives the same image. A set's lines go through its profiles in turn.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

Profile = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _noise(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    return image.astype(np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)


def _u8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def ink_height(image: np.ndarray) -> int:
    """Rows from the top of the highest stroke to the bottom of the lowest (darker than
    halfway between the image's lightest and darkest level); the image's height if blank.
    Sizes of blur, bleed and shrinking scale with it, not with the margin around the text."""
    lo, hi = int(image.min()), int(image.max())
    rows = np.flatnonzero((image < (lo + hi) / 2).any(axis=1)) if hi - lo > 32 else []
    return int(rows[-1] - rows[0] + 1) if len(rows) else image.shape[0]


def clean(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """As rasterised: anti-aliased grey, nothing added."""
    return image.copy()


def scan_bw(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1-bit office scan: slight optical blur, sensor noise, a fixed threshold (text thins
    or thickens with it), a few specks."""
    blurred = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 0.8))
    threshold = rng.uniform(100, 170)
    binary = np.where(_noise(blurred, rng, 12.0) < threshold, 0, 255).astype(np.float32)
    specks = rng.random(image.shape) < rng.uniform(0.0, 0.002)
    binary[specks] = 255 - binary[specks]
    return _u8(binary)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A grey scan saved as a low-quality JPEG (block and ringing artefacts)."""
    noisy = _u8(_noise(image, rng, 4.0))
    quality = int(rng.integers(15, 40))
    ok, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def low_contrast(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Faded print on grey paper: ink 80-130 levels darker than the paper, plus noise."""
    paper = rng.uniform(175, 225)
    ink = paper - rng.uniform(80, 130)
    scaled = ink + (image.astype(np.float32) / 255.0) * (paper - ink)
    return _u8(_noise(scaled, rng, rng.uniform(3, 7)))


def bleed(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ink bleed: strokes thickened (grey-level erosion of the white by about 5 % of the
    text's height), then soft blur."""
    k = int(np.clip(round(0.05 * ink_height(image) * rng.uniform(0.8, 1.3)), 2, 4))
    thick = cv2.erode(image, np.ones((k, k), np.uint8))
    out = cv2.GaussianBlur(thick, (0, 0), rng.uniform(0.6, 1.2))
    return _u8(_noise(out, rng, 3.0))


def uneven_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A photo-like page: brightness falling off across the line (a gradient and a dim
    corner), a shade over the ink, noise."""
    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / max(1, w) + np.sin(angle) * ys / max(1, h) + 1) / 2
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    vignette = np.exp(-(((xs - cx) / w) ** 2 + ((ys - cy) / max(h, w / 4)) ** 2))
    light = rng.uniform(0.45, 0.7) + rng.uniform(0.2, 0.35) * ramp + 0.15 * vignette
    return _u8(_noise(image.astype(np.float32) * np.minimum(light, 1.0), rng, 4.0))


def small(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small text: the line scaled so that its text is 11-16 pixels tall (ascenders to
    descenders; about 8-point type scanned at 100-150 dpi); never enlarged."""
    h, w = image.shape
    scale = int(rng.integers(11, 17)) / ink_height(image)
    if scale >= 1:
        return image.copy()
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def skew(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A page scanned slightly crooked: the line turned by 0.3-1.5 degrees, either way, on a
    canvas that keeps all of it."""
    h, w = image.shape
    angle = rng.uniform(0.3, 1.5) * rng.choice([-1.0, 1.0])
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    nw, nh = int(np.ceil(w * cos + h * sin)), int(np.ceil(w * sin + h * cos))
    matrix[0, 2] += (nw - w) / 2
    matrix[1, 2] += (nh - h) / 2
    return cv2.warpAffine(image, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=(255,))


def blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Out of focus or shaken: a Gaussian blur with a sigma of 3.5-6 % of the text's height
    (1.4-2.4 pixels for 40-pixel text), or a horizontal motion blur over 10-20 % of it,
    then noise."""
    h = ink_height(image)
    if rng.random() < 0.6:
        out = cv2.GaussianBlur(image, (0, 0), max(0.8, rng.uniform(0.035, 0.06) * h))
    else:
        length = max(3, int(rng.uniform(0.10, 0.20) * h))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        out = cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)
    return _u8(_noise(out, rng, 3.0))


PROFILES: dict[str, Profile] = {
    "clean": clean,
    "scan-bw": scan_bw,
    "jpeg": jpeg,
    "low-contrast": low_contrast,
    "bleed": bleed,
    "uneven-light": uneven_light,
    "small": small,
    "skew": skew,
    "blur": blur,
}

PRINTED_PROFILES = (
    "clean",
    "scan-bw",
    "jpeg",
    "low-contrast",
    "bleed",
    "uneven-light",
    "small",
    "skew",
)
SHARP_PROFILES = ("clean", "scan-bw", "jpeg", "low-contrast", "small")
BLURRED_PROFILES = ("blur",)


def degrade(image: np.ndarray, profile: str, seed: int, index: int) -> np.ndarray:
    """``image`` through ``profile``; the same (seed, index) always gives the same result."""
    return PROFILES[profile](image, np.random.default_rng([seed, index]))
