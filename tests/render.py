"""A minimal line renderer for tests of training and inference (the product's synthetic
generator has its own tests): DejaVu Sans, black on white, no degradation."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


def render(text: str, size: int = 24, pad: int = 4, direction: str | None = None) -> np.ndarray:
    font = _font(size)
    kwargs = {"direction": direction} if direction else {}
    left, top, right, bottom = font.getbbox(text, **kwargs)
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 255)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=font, fill=0, **kwargs)
    return np.asarray(img)


class ArraySample:
    """A labelled in-memory image with the Sample interface (text, source, load)."""

    def __init__(self, text: str, image: np.ndarray, source: str | None = None) -> None:
        self.text = text
        self.image = image
        self.source = source or f"<{text}>"

    def load(self) -> np.ndarray:
        return self.image
