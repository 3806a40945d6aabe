"""On-the-fly training augmentation of grayscale line images (uint8, ink 0 on paper 255).

:class:`Augmenter` draws random parameters according to an
:class:`~lineocr.config.AugmentConfig` and applies the image operations of
:mod:`lineocr.data.degrade` (the same ones the synthetic renderer uses), plus elastic
distortion for handwriting and grid warping for glyph designs unlike the training fonts.
Augmentation runs before :func:`lineocr.preprocess.prepare`, so the model still sees
exactly the inference preprocessing. It is off at evaluation.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from lineocr.config import AugmentConfig
from lineocr.data import degrade


def affine(
    img: np.ndarray,
    rng: np.random.Generator,
    *,
    rotate: float = 2.0,
    shear: float = 0.15,
    scale: float = 0.1,
    stretch: float = 0.0,
) -> np.ndarray:
    """Small rotation, horizontal shear and scaling, and with ``stretch`` a change of the
    width alone by a factor within ``[1/(1+stretch), 1+stretch]`` (log-uniform, so narrower
    and wider are as likely); the canvas grows so no ink is cut."""
    angle = np.deg2rad(rng.uniform(-rotate, rotate))
    sh = rng.uniform(-shear, shear)
    s = 1.0 + rng.uniform(-scale, scale)
    m = np.array([[np.cos(angle), -np.sin(angle) + sh], [np.sin(angle), np.cos(angle)]]) * s
    if stretch:  # drawn only when set: configs without it see the same random stream
        limit = np.log1p(stretch)
        m[0] *= np.exp(rng.uniform(-limit, limit))
    return degrade.warp_affine(img, m)


def elastic(
    img: np.ndarray, rng: np.random.Generator, *, alpha: float = 0.04, sigma: float = 0.12
) -> np.ndarray:
    """Smooth random displacement field (Simard et al.), scaled to the line height."""
    h, w = img.shape
    a, s = alpha * h * 8, max(1.0, sigma * h)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), s) * a
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), s) * a
    return _displace(img, dx, dy, borderMode=cv2.BORDER_CONSTANT, borderValue=int(np.median(img)))


def warp(
    img: np.ndarray, rng: np.random.Generator, *, amount: float = 0.06, cell: float = 0.5
) -> np.ndarray:
    """Grid distortion: a smooth displacement field of up to ``amount`` line heights that
    changes every ``cell`` line heights, so each glyph bends, stretches and leans a little
    differently, like a design not among the training fonts. Unlike :func:`elastic` (fine
    wobble of handwriting strokes), the amplitude does not fall with the smoothness."""
    h, w = img.shape
    step = max(2, round(cell * h))
    reach = amount * h
    dx = (degrade.smooth_noise(rng, h, w, step) * 2 - 1) * reach
    dy = (degrade.smooth_noise(rng, h, w, step) * 2 - 1) * reach
    return _displace(img, dx, dy, borderMode=cv2.BORDER_REPLICATE)


def _displace(img: np.ndarray, dx: np.ndarray, dy: np.ndarray, **border: Any) -> np.ndarray:
    """Each pixel of ``img`` taken from (x + dx, y + dy), bilinearly; ``border`` says what
    lies outside (cv2.remap's borderMode / borderValue)."""
    h, w = img.shape
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx, ys + dy, interpolation=cv2.INTER_LINEAR, **border)


def morph(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Erode (bolder ink) or dilate (thinner ink), as ink bleed or fading does."""
    k = max(2, round(img.shape[0] / 32) + int(rng.integers(0, 2)))
    kernel = np.ones((k, k), np.uint8)
    op = cv2.erode if rng.random() < 0.5 else cv2.dilate
    return op(img, kernel)


def blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian (out of focus) or motion blur, scaled to the line height."""
    scale = img.shape[0] / 32
    if rng.random() < 0.7:
        return degrade.gaussian_blur(img, rng, sigma=rng.uniform(0.4, 1.3) * scale)
    return degrade.motion_blur(
        img, rng, length=rng.uniform(2, 5) * scale, angle=rng.uniform(0, 180)
    )


def noise(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return degrade.noise(img, rng, sigma=rng.uniform(3, 18))


def contrast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighter ink and greyer paper: a low-contrast scan or photo."""
    return degrade.contrast(img, rng, ink=rng.uniform(0, 110), paper=rng.uniform(170, 255))


# ``augment.perspective`` is scaled by this before it reaches degrade.perspective, and the
# warp runs on half of the augmented lines: so the default 0.02 moves each corner by up to
# 0.08 line heights. Kept as trained (every bundled model's config says 0.02): changing it
# would change what a config that sets ``perspective`` trains on.
PERSPECTIVE_SCALE = 4.0
PERSPECTIVE_SHARE = 0.5


class Augmenter:
    """Applies a random subset of the transforms according to an AugmentConfig.

    A line is augmented with probability ``probability``; then the affine step (rotation,
    shear, scale) always runs when any of them is set, ``perspective`` runs on half of the
    lines (:data:`PERSPECTIVE_SHARE`) and moves each of the four corners independently by
    up to ``perspective`` x :data:`PERSPECTIVE_SCALE` line heights in x and in y (uniformly),
    and each other transform runs with its own probability.
    """

    def __init__(self, config: AugmentConfig) -> None:
        self.config = config

    def __call__(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        if not c.enabled or rng.random() >= c.probability:
            return img
        if c.rotate or c.shear or c.scale or c.stretch:
            img = affine(img, rng, rotate=c.rotate, shear=c.shear, scale=c.scale, stretch=c.stretch)
        if c.perspective and rng.random() < PERSPECTIVE_SHARE:
            img = degrade.perspective(img, rng, strength=c.perspective * PERSPECTIVE_SCALE)
        if rng.random() < c.elastic:
            img = elastic(img, rng)
        if rng.random() < c.warp:
            img = warp(img, rng, amount=c.warp_amount)
        if rng.random() < c.morph:
            img = morph(img, rng)
        if rng.random() < c.contrast:
            img = contrast(img, rng)
        if rng.random() < c.blur:
            img = blur(img, rng)
        if rng.random() < c.noise:
            img = noise(img, rng)
        return img
