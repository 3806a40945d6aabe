"""On-the-fly training augmentation of grayscale line images (uint8, ink 0 on paper 255).

Each transform takes an image and a numpy ``Generator`` and is usable alone; :class:`Augmenter`
applies a random subset according to an :class:`~lineocr.config.AugmentConfig`. Augmentation
runs before :func:`lineocr.preprocess.prepare`, so the model still sees exactly the inference
preprocessing. It is off at evaluation.
"""

from __future__ import annotations

import cv2
import numpy as np

from lineocr.config import AugmentConfig


def _paper(img: np.ndarray) -> int:
    return int(np.median(img))


def affine(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    rotate: float = 2.0,
    shear: float = 0.15,
    scale: float = 0.1,
) -> np.ndarray:
    """Small rotation, horizontal shear and scaling; the canvas grows so no ink is cut."""
    h, w = img.shape
    angle = np.deg2rad(rng.uniform(-rotate, rotate))
    sh = rng.uniform(-shear, shear)
    s = 1.0 + rng.uniform(-scale, scale)
    m = np.array([[np.cos(angle), -np.sin(angle) + sh], [np.sin(angle), np.cos(angle)]]) * s
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=np.float64) @ m.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    out_w, out_h = int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1]))
    matrix = np.hstack([m, -lo[:, None]]).astype(np.float32)
    return cv2.warpAffine(
        img,
        matrix,
        (max(1, out_w), max(1, out_h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper(img),
    )


def perspective(img: np.ndarray, rng: np.random.Generator, *, amount: float = 0.02) -> np.ndarray:
    h, w = img.shape
    d = amount * h * 4
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    dst = src + rng.uniform(-d, d, size=(4, 2)).astype(np.float32)
    dst -= dst.min(axis=0)
    out_w, out_h = int(np.ceil(dst[:, 0].max())), int(np.ceil(dst[:, 1].max()))
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(
        img,
        matrix,
        (max(1, out_w), max(1, out_h)),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper(img),
    )


def elastic(
    img: np.ndarray, rng: np.random.Generator, *, alpha: float = 0.04, sigma: float = 0.12
) -> np.ndarray:
    """Smooth random displacement field (Simard et al.), scaled to the line height."""
    h, w = img.shape
    a, s = alpha * h * 8, max(1.0, sigma * h)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), s) * a
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), s) * a
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        img,
        xs + dx,
        ys + dy,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=_paper(img),
    )


def morph(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Erode (bolder ink) or dilate (thinner ink), as ink bleed or fading does."""
    k = max(2, round(img.shape[0] / 32) + int(rng.integers(0, 2)))
    kernel = np.ones((k, k), np.uint8)
    op = cv2.erode if rng.random() < 0.5 else cv2.dilate
    return op(img, kernel)


def blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    scale = img.shape[0] / 32
    if rng.random() < 0.7:
        return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.3) * scale)
    size = max(3, int(rng.integers(3, 6) * scale) | 1)
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (size, size))
    return cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))


def noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(3, 18)
    noisy = img.astype(np.float32) + rng.normal(0, sigma, img.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def contrast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighter ink and greyer paper: a low-contrast scan or photo."""
    ink, paper = rng.uniform(0, 110), rng.uniform(170, 255)
    out = ink + img.astype(np.float32) * ((paper - ink) / 255.0)
    return np.clip(out, 0, 255).astype(np.uint8)


class Augmenter:
    """Applies a random subset of the transforms according to an AugmentConfig."""

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        if not c.enabled or rng.random() >= c.probability:
            return img
        if c.rotate or c.shear or c.scale:
            img = affine(img, rng, rotate=c.rotate, shear=c.shear, scale=c.scale)
        if c.perspective and rng.random() < 0.5:
            img = perspective(img, rng, amount=c.perspective)
        if rng.random() < c.elastic:
            img = elastic(img, rng)
        if rng.random() < c.morph:
            img = morph(img, rng)
        if rng.random() < c.contrast:
            img = contrast(img, rng)
        if rng.random() < c.blur:
            img = blur(img, rng)
        if rng.random() < c.noise:
            img = noise(img, rng)
        return img
