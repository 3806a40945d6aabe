"""Draw one text line with one font (Pillow + raqm for shaping and bidi), or as a CAPTCHA.

Lines are laid out with :func:`lineocr.charset.base_direction`, the rule the charset uses
for :func:`~lineocr.charset.to_visual`, so the glyphs in the image are in exactly the visual
order the model is trained on, while labels stay in logical order.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont, features

from lineocr.charset import base_direction
from lineocr.data.fonts import FontCache, FontFace

CAPTCHA_SIZE = (200, 50)  # the Kaggle CAPTCHA images: 200x50, five characters
_REFERENCE = {"latin": "Hg", "arabic": "لج"}


class RenderError(ValueError):
    """A line that cannot be drawn (no shaping engine, nothing to draw, missing package)."""


_COMPLEX = re.compile("[\u0590-\u08ff\ufb1d-\ufefc]")


def needs_complex_layout(text: str) -> bool:
    """True for text that must be shaped (Arabic joining) or reordered (right-to-left)."""
    return _COMPLEX.search(text) is not None


def require_raqm() -> None:
    if not features.check("raqm"):
        raise RenderError(
            "Arabic and other right-to-left text needs Pillow's raqm layout (libraqm with "
            "FriBiDi and HarfBuzz), which this Pillow lacks: install the system packages with "
            "scripts/install-system-deps.sh (libraqm0, libfribidi0) or a Pillow wheel that "
            "bundles raqm"
        )


def _ink(font: ImageFont.FreeTypeFont, text: str, direction: str) -> tuple[np.ndarray, int, int]:
    """Anti-aliased coverage (1..255 at the edges) of ``text``, cropped to its ink, and the
    ink's top-left offset from the baseline origin (anchor ``ls``); an empty array when
    nothing is drawn. Pillow finds and crops the ink before the copy into NumPy, so only
    the ink is copied."""
    core, (ox, oy) = font.getmask2(text, mode="L", direction=direction, anchor="ls")
    box = core.getbbox() if core.size[0] and core.size[1] else None
    if box is None:
        return np.zeros((0, 0), np.uint8), int(ox), int(oy)
    left, top = box[0], box[1]
    return np.asarray(Image.Image()._new(core.crop(box))), int(ox) + left, int(oy) + top


class LineRenderer:
    """Renders lines with a per-process cache of fonts and per-face vertical metrics."""

    def __init__(self) -> None:
        self._fonts = FontCache()
        self._bands: dict[tuple[str, int, str, int], tuple[int, int]] = {}

    def _reference(self, face: FontFace, text: str) -> str:
        wanted = _REFERENCE["arabic"] if needs_complex_layout(text) else ""
        if any(c.isascii() and c.isalpha() for c in text) or not wanted:
            wanted += _REFERENCE["latin"]
        ref = "".join(c for c in wanted if c in face.covered)
        return ref or "".join(sorted(set(text) - {" "}))[:4]

    def band(self, face: FontFace, size: int, ref: str) -> tuple[int, int]:
        """Top and bottom (relative to the baseline) of a reference with an ascender and a
        descender: the line box a segmenter would crop, whatever letters the text has."""
        key = (face.path, face.index, ref, size)
        band = self._bands.get(key)
        if band is None:
            font = self._fonts.get(face, size)
            direction = base_direction(ref)
            _, top, _, bottom = font.getbbox(ref, anchor="ls", direction=direction)
            band = (int(top), int(bottom))
            self._bands[key] = band
        return band

    def render(
        self,
        text: str,
        face: FontFace,
        rng: np.random.Generator,
        *,
        min_height: int = 32,
        max_height: int = 64,
    ) -> np.ndarray:
        """Black text on white, cropped to the ink horizontally and to the line box vertically,
        with small random margins; about ``min_height``..``max_height`` pixels tall."""
        if needs_complex_layout(text):
            require_raqm()
        target = int(rng.integers(min_height, max_height + 1))
        fill = float(rng.uniform(0.72, 0.9))  # share of the height taken by the line box
        ref = self._reference(face, text)
        top100, bottom100 = self.band(face, 100, ref)
        # Even sizes only: half as many font objects to load and cache, same variety.
        size = max(8, 2 * round(target * fill * 50 / max(1, bottom100 - top100)))
        font = self._fonts.get(face, size)
        ink, _, ink_top = _ink(font, text, base_direction(text))
        if ink.size == 0:
            raise RenderError(f"nothing to draw for {text!r} with {face.name}")
        ink_h, ink_w = ink.shape
        band_top, band_bottom = self.band(face, size, ref)
        top = min(ink_top, band_top)
        bottom = max(ink_top + ink_h, band_bottom)
        spare = max(2, target - (bottom - top))
        m_top = int(rng.integers(1, spare))
        m_bottom = max(1, spare - m_top)
        m_left, m_right = (int(v) for v in rng.integers(1, max(3, target // 3), size=2))
        canvas = np.zeros((bottom - top + m_top + m_bottom, ink_w + m_left + m_right), np.uint8)
        y = m_top + (ink_top - top)
        canvas[y : y + ink_h, m_left : m_left + ink_w] = ink
        return 255 - canvas


# -- CAPTCHA -------------------------------------------------------------------------------
class _SeededSecrets(random.Random):
    """Stands in for the ``secrets`` (or ``random``) module inside ``captcha.image`` so that
    a CAPTCHA is a function of a seed."""

    def randbelow(self, n: int) -> int:
        return self.randrange(n)

    def randbits(self, k: int) -> int:
        return self.getrandbits(k)


_CAPTCHA_LOCK = threading.Lock()


def _captcha_module() -> Any:
    try:
        from captcha import image as captcha_image
    except ImportError:
        raise RenderError(
            "the captcha style needs the captcha package: "
            "pip install 'lineocr[train]' (or pip install captcha)"
        ) from None
    return captcha_image


def captcha_default_fonts() -> list[str]:
    return list(_captcha_module().DEFAULT_FONTS)


@lru_cache(maxsize=64)
def _captcha_generator(fonts: tuple[str, ...], width: int, height: int) -> Any:
    return _captcha_module().ImageCaptcha(width=width, height=height, fonts=list(fonts))


def render_captcha(
    text: str, fonts: Sequence[str], seed: int, size: tuple[int, int] = CAPTCHA_SIZE
) -> np.ndarray:
    """A CAPTCHA from the ``captcha`` package (``ImageCaptcha``: warped, rotated characters,
    noise dots and an arc), grey, deterministic in ``seed``. Longer texts get wider images."""
    module = _captcha_module()
    width, height = size
    if len(text) > 6:
        width = round(width * len(text) / 5)
    generator = _captcha_generator(tuple(fonts), width, height)
    shim = _SeededSecrets(seed)
    with _CAPTCHA_LOCK:
        saved = {
            name: getattr(module, name) for name in ("secrets", "random") if hasattr(module, name)
        }
        for name in saved:
            setattr(module, name, shim)
        try:
            image = generator.generate_image(text)
        finally:
            for name, value in saved.items():
                setattr(module, name, value)
    return np.asarray(image.convert("L"), dtype=np.uint8)


def draw_label(text: str, font_path: str, size: int, index: int = 0) -> Image.Image:
    """A small image of a label as a reader would write it (for contact sheets)."""
    layout = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    font = ImageFont.truetype(font_path, size, index=index, layout_engine=layout)
    direction = base_direction(text) if layout == ImageFont.Layout.RAQM else None
    left, top, right, bottom = (int(v) for v in font.getbbox(text, direction=direction))
    img = Image.new("L", (max(1, right - left + 4), max(1, bottom - top + 4)), 255)
    ImageDraw.Draw(img).text((2 - left, 2 - top), text, fill=0, font=font, direction=direction)
    return img
