"""Searchable PDF: each page image with an invisible text layer on its lines, so that
selecting, copying and searching in a viewer, and ``pdftotext``, give the OCR text.

Written with fpdf2 (a maintained pure-Python PDF writer: TrueType embedding and subsetting,
text render mode 3, horizontal scaling, rotation; no hand-written PDF syntax). Each word
is set in one font over its own box where the page reader placed it (else the line's
text across the line's box): its height from the line's box, stretched horizontally
(``Tz``) to the box's width and turned with the line, so a selection covers the ink it
stands for, word by word. Right-to-left text is written in visual order, as PDF producers
write it (the glyphs left to right as drawn; each maps back to its letter through the
font's ToUnicode map), and PDF text extractors turn it back into logical order. Shapes
do not matter for invisible text, so no shaping is done: the letters extracted are the
plain Arabic letters in logical order, which any text view joins.

The font is DejaVu Sans (Latin, Arabic, Arabic-Indic digits: every bundled model's
characters), from fonts-dejavu-core (scripts/install-system-deps.sh), or the TrueType
file named by ``font=`` or ``$LINEOCR_PDF_FONT``.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lineocr.charset import to_visual
from lineocr.page import place_words

FONT_ENV = "LINEOCR_PDF_FONT"
FONT_FILE = "DejaVuSans.ttf"
# Where distributions install DejaVu Sans (Debian/Ubuntu fonts-dejavu-core first).
FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "/Library/Fonts",
)
_FAMILY = "lineocr-text-layer"
MIN_BOX_PT = 0.5  # a line box thinner than this (in points) carries no text
JPEG_QUALITY = 85
# A page whose commonest grey level covers this share of it is clean (a rendered or
# binarised page): stored losslessly, which is smaller for it; any other (a scan's
# noise and shading) as JPEG, which is several times smaller for it.
CLEAN_SHARE = 0.8
# A line turned less than this from square to the page is set turned with it; more, and
# it is set square to the page across its middle (text extractors read square text whole).
SLANT_DEGREES = 1.0


class PdfFontError(RuntimeError):
    """No font for the text layer."""


def find_font(font: str | Path | None = None) -> Path:
    """The TrueType file of the text layer: ``font``, else ``$LINEOCR_PDF_FONT``, else
    DejaVu Sans where the system installs it."""
    given = font or os.environ.get(FONT_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise PdfFontError(f"font for the PDF text layer not found: {path}")
        return path
    for folder in FONT_DIRS:
        path = Path(folder).expanduser() / FONT_FILE
        if path.is_file():
            return path
    raise PdfFontError(
        f"no font for the PDF text layer: install DejaVu Sans (Debian: fonts-dejavu-core; "
        f"scripts/install-system-deps.sh) or name a TrueType file in ${FONT_ENV}"
    )


class SearchablePdf:
    """A searchable PDF built page by page (each page image is compressed as it is added,
    so memory grows with the compressed pages only), then saved once."""

    def __init__(self, font: str | Path | None = None, jpeg_quality: int = JPEG_QUALITY) -> None:
        from fpdf import FPDF
        from fpdf.enums import TextMode
        from fpdf.fonts import TTFFont

        self.font_path = find_font(font)
        self.jpeg_quality = jpeg_quality
        self._pdf = FPDF(unit="pt")
        self._pdf.set_auto_page_break(False)
        self._pdf.set_creator("lineocr")
        self._pdf.add_font(_FAMILY, fname=str(self.font_path))
        self._pdf.set_font(_FAMILY, size=12)
        self._pdf.text_mode = TextMode.INVISIBLE
        current = self._pdf.current_font
        if not isinstance(current, TTFFont):  # pragma: no cover - add_font made a TrueType one
            raise PdfFontError(f"not a TrueType font: {self.font_path}")
        self._font: TTFFont = current
        font_desc = current.desc
        units = 1000.0  # fpdf2 scales font metrics to 1/1000 em
        self._ascent: float = font_desc.ascent / units
        self._descent: float = abs(font_desc.descent) / units
        self.pages: int = 0

    @property
    def missing_chars(self) -> list[str]:
        """Characters the font has no glyph for: left out of the text layer."""
        return [chr(u) for u in self._font.missing_glyphs]

    def add_page(self, result: Any, image: np.ndarray, dpi: float) -> None:
        """One page: ``image`` (2-D uint8 grey, as read) at ``dpi``, and the text of
        ``result`` on it, a :class:`~lineocr.page.Page` (each line on its polygon) or a
        line's :class:`~lineocr.prediction.Prediction` (across the whole image)."""
        if image.ndim != 2 or image.dtype != np.uint8:
            raise ValueError(f"want a 2-D uint8 image, got {image.shape} {image.dtype}")
        if not dpi > 0:
            raise ValueError(f"dpi must be positive, got {dpi}")
        h, w = image.shape
        scale = 72.0 / dpi
        pdf = self._pdf
        pdf.add_page(format=(w * scale, h * scale))
        pdf.image(self._encoded(image), x=0, y=0, w=w * scale, h=h * scale)
        if hasattr(result, "blocks"):
            lines = [
                (ln.text, ln.polygon if len(ln.polygon) == 4 else None, ln.box, ln.words)
                for ln in result.lines
            ]
        else:  # a line image: the whole image is the line, its words placed where known
            words = place_words(result.chars, _box_corners((0, 0, w, h)), (0, w), (w, h))
            lines = [(result.text, None, (0, 0, w, h), words)]
        for text, polygon, box, words in lines:
            corners = polygon or _box_corners(box)
            placed = [
                (word.text, [(x * scale, y * scale) for x, y in word.polygon])
                for word in words
                if len(word.polygon) == 4
            ]
            if len(placed) < len(words) or " ".join(t for t, _ in placed) != " ".join(text.split()):
                placed = []  # words not all placed: the line's text across it
            self._line(text, [(x * scale, y * scale) for x, y in corners], placed)
        self.pages += 1

    def _encoded(self, image: np.ndarray) -> Any:
        """The page image as fpdf2 embeds it: a PIL image (Flate, lossless) for a clean
        page, JPEG bytes (embedded as they are) for a scan-like one."""
        from PIL import Image

        picture = Image.fromarray(image)
        counts = np.bincount(image.ravel(), minlength=256)
        if counts.max() >= CLEAN_SHARE * image.size:
            return picture
        data = io.BytesIO()
        picture.save(data, "JPEG", quality=self.jpeg_quality)
        data.seek(0)
        return data

    def _line(
        self,
        text: str,
        corners: Sequence[tuple[float, float]],
        words: Sequence[tuple[str, Sequence[tuple[float, float]]]] = (),
    ) -> None:
        """``text`` over the quadrilateral ``corners`` (top-left, top-right, bottom-right,
        bottom-left as the line is read; points, y down), or, given its ``words`` (each
        with its own quadrilateral along the line), each word over its own part of it."""
        text = text.strip()
        (x0, y0), (x1, y1), _, (x3, y3) = corners
        width = math.hypot(x1 - x0, y1 - y0)
        height = math.hypot(x3 - x0, y3 - y0)
        if not text or width < MIN_BOX_PT or height < MIN_BOX_PT:
            return
        size = height / (self._ascent + self._descent)  # the glyphs' box spans the line's
        self._pdf.set_font(_FAMILY, size=size)
        pieces = list(words) or [(text, corners)]
        angle = math.degrees(math.atan2(-(y1 - y0), x1 - x0))  # counter-clockwise, y up
        square = 90.0 * round(angle / 90.0)
        if abs(angle - square) < SLANT_DEGREES:
            for piece, (p0, p1, _, p3) in pieces:
                # The baseline's start: up from the bottom-left corner by the font's descent.
                up = ((p0[0] - p3[0]) / height, (p0[1] - p3[1]) / height)
                start = (p3[0] + up[0] * self._descent * size, p3[1] + up[1] * self._descent * size)
                self._set(piece, start, math.hypot(p1[0] - p0[0], p1[1] - p0[1]), angle)
            return
        # A slanted line is set square to the page across the middle of its ink, its words
        # on one baseline: text extractors split slanted text into letters (pdftotext
        # beyond about 2 degrees) and words at steps into lines of their own, but read
        # square text whole.
        along = (math.cos(math.radians(square)), -math.sin(math.radians(square)))
        down = (-along[1], along[0])
        middle = sum(x * down[0] + y * down[1] for x, y in corners) / len(corners)
        base = middle + height / 2 - self._descent * size
        for piece, piece_corners in pieces:
            spans = [x * along[0] + y * along[1] for x, y in piece_corners]
            start = (
                min(spans) * along[0] + base * down[0],
                min(spans) * along[1] + base * down[1],
            )
            self._set(piece, start, max(spans) - min(spans), square)

    def _set(self, text: str, start: tuple[float, float], width: float, angle: float) -> None:
        """``text`` (logical order) from the baseline point ``start``, stretched to
        ``width`` and turned by ``angle`` degrees (counter-clockwise) about ``start``."""
        pdf = self._pdf
        visual = to_visual(text.strip(), mirror=False)
        pdf.set_stretching(100)
        natural = pdf.get_string_width(visual)
        if natural <= 0 or width < MIN_BOX_PT:
            return
        pdf.set_stretching(100 * width / natural)
        if abs(angle) < 0.01:
            pdf.text(start[0], start[1], visual)
            return
        with pdf.rotation(angle, x=start[0], y=start[1]):
            pdf.text(start[0], start[1], visual)

    def output(self) -> bytes:
        """The PDF's bytes (the server answers them without a file)."""
        if not self.pages:
            raise ValueError("no pages to write")
        return bytes(self._pdf.output())

    def save(self, path: str | Path) -> None:
        """Write the PDF to ``path`` whole or not at all (a temporary file beside it,
        renamed), so a failure never leaves half a PDF under the name asked for."""
        data = self.output()
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("xb") as f:  # created as any file is (the umask's permissions)
                f.write(data)
            tmp.replace(target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def _box_corners(box: Sequence[int]) -> list[tuple[float, float]]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def write_pdf(
    pages: Sequence[Any],
    images: Sequence[np.ndarray],
    path: str | Path,
    *,
    dpi: float | Sequence[float] = 300.0,
    font: str | Path | None = None,
) -> None:
    """Write a searchable PDF of ``pages`` (each a :class:`~lineocr.page.Page` from
    :class:`~lineocr.page.PageReader`, or a line's ``Prediction``) over ``images`` (the
    grey arrays they were read from), in order, each at its ``dpi`` (one for all, or one
    per page), to ``path``. Raises :class:`PdfFontError` when no font is found."""
    if len(pages) != len(images):
        raise ValueError(f"{len(pages)} pages but {len(images)} images")
    dpis = [float(dpi)] * len(pages) if isinstance(dpi, (int, float)) else list(dpi)
    if len(dpis) != len(pages):
        raise ValueError(f"{len(pages)} pages but {len(dpis)} dpi values")
    document = SearchablePdf(font)
    for page, image, page_dpi in zip(pages, images, dpis, strict=True):
        document.add_page(page, image, page_dpi)
    document.save(path)
