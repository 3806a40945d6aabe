"""Pages with line ground truth -> training crops and their core maps; full pages for
validation. Torch-free (numpy, OpenCV); the training loop turns the arrays into tensors.

A page is scaled so that its long side is the detector's ``long_side`` (times a random
zoom in training) and cut into square crops; the core map is drawn at the output
resolution from the lines' polygons (:func:`lineocr.detect.geometry.core_map`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lineocr.data.page_truth import PageTruth, TruthError, read_truth, truth_files
from lineocr.detect.geometry import core_map
from lineocr.detect.spec import SIZE_MULTIPLE, DetectorSpec

ZOOM = (0.75, 1.3)  # random scale around the detector's page size, in training


@dataclass(frozen=True)
class TruthPage:
    image: Path
    polygons: tuple[np.ndarray, ...]  # (k, 2) float32 each, in the image's pixels


def load_pages(
    sources: Sequence[str | Path], *, errors: list[str] | None = None
) -> list[TruthPage]:
    """Every readable ground-truth page under ``sources`` (folders or XML files); a file that
    cannot be read is said in ``errors`` (and skipped), or raised without it."""
    pages = []
    for source in sources:
        for path in truth_files(source):
            try:
                truth: PageTruth = read_truth(path)
            except TruthError as exc:
                if errors is None:
                    raise
                errors.append(str(exc))
                continue
            polys = tuple(np.asarray(ln.polygon, np.float32) for ln in truth.lines)
            pages.append(TruthPage(truth.image, polys))
    return pages


def read_gray(path: Path) -> np.ndarray:
    from lineocr.images import load_image

    return load_image(str(path))


def normalise(gray: np.ndarray) -> np.ndarray:
    """uint8 grey -> the network's float32 input values."""
    return (gray.astype(np.float32) / 255.0 - 0.5) / 0.25


def fit_page(gray: np.ndarray, long_side: int, zoom: float = 1.0) -> tuple[np.ndarray, float]:
    """The page resized so its long side is ``long_side * zoom``; the scale applied."""
    h, w = gray.shape[:2]
    scale = long_side * zoom / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(gray, size, interpolation=interp), scale


def pad_to(gray: np.ndarray, height: int, width: int) -> np.ndarray:
    """Padded at the bottom and right by repeating the edge (as the runtime pads)."""
    h, w = gray.shape[:2]
    return cv2.copyMakeBorder(gray, 0, height - h, 0, width - w, cv2.BORDER_REPLICATE)


def padded_size(n: int) -> int:
    return -(-n // SIZE_MULTIPLE) * SIZE_MULTIPLE


def _jitter(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast, brightness and gamma changes; now and then the page inverted."""
    x = gray.astype(np.float32) / 255.0
    x = np.clip(x ** rng.uniform(0.7, 1.4), 0, 1)
    lo, hi = rng.uniform(0, 0.25), rng.uniform(0.75, 1.0)
    x = lo + (hi - lo) * x
    if rng.random() < 0.05:
        x = 1 - x
    return np.clip(x * 255, 0, 255).astype(np.uint8)


def training_crop(
    page: TruthPage, spec: DetectorSpec, crop: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A random square crop of the page at a random zoom: (input (crop, crop) float32,
    target (crop/stride, crop/stride) uint8)."""
    gray, scale = fit_page(read_gray(page.image), spec.long_side, rng.uniform(*ZOOM))
    h, w = gray.shape
    y0 = int(rng.integers(0, max(1, h - crop + 1)))
    x0 = int(rng.integers(0, max(1, w - crop + 1)))
    piece = gray[y0 : y0 + crop, x0 : x0 + crop]
    piece = pad_to(piece, crop, crop)
    polys = [p * scale - np.array([x0, y0], np.float32) for p in page.polygons]
    out = crop // spec.stride
    target = core_map(polys, (out, out), 1.0 / spec.stride, spec)
    return normalise(_jitter(piece, rng)), target


def validation_page(
    page: TruthPage, spec: DetectorSpec
) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """The whole page as the runtime feeds it: (input (H, W) float32 padded to a multiple
    of 16, the scale from page to input, the true polygons in the page's pixels)."""
    gray, scale = fit_page(read_gray(page.image), spec.long_side)
    h, w = gray.shape
    return normalise(pad_to(gray, padded_size(h), padded_size(w))), scale, list(page.polygons)
