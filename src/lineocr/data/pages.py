"""Synthetic pages for training and measuring text-line detection: lines drawn in system
fonts, laid out as articles (headings, columns, pictures with captions), forms and tables,
ID cards and letters, Latin or Arabic, in coloured inks on tinted or patterned paper, some
photographed (perspective, shadow, blur, JPEG); each line's ink quadrilateral is the truth.

Deterministic per (split, seed, index). The ``val`` split draws held-out font families
(:func:`lineocr.data.fonts.family_split`), a background pattern and a layout that the
``train`` split never draws (``rings``, ``letter``), so that a detector's figures on it are
measured on pages unlike those it learnt from. Torch-free (numpy, OpenCV, Pillow).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lineocr.data import corpora
from lineocr.data.fonts import FontCache, FontFace, fonts_split, load_faces
from lineocr.data.page_truth import TruthLine, page_xml

Quad = tuple[tuple[float, float], ...]  # 4 corners: top-left, top-right, bottom-right, bottom-left

LONG_SIDE = 1024  # pages are drawn at the size the detector reads them (lineocr.detect)
LAYOUTS = {"train": ("article", "form", "idcard"), "val": ("article", "form", "idcard", "letter")}
PATTERNS = {
    "train": ("plain", "plain", "waves", "stripes", "dots", "grain"),
    "val": ("plain", "plain", "waves", "rings", "grain"),
}
ARABIC_SHARE = 0.35  # of pages
PHOTO_SHARE = 0.35  # pages photographed (perspective, shadow, blur, JPEG)
SKEW_SHARE = 0.3  # of scans, turned up to MAX_SKEW degrees
MAX_SKEW = 6.0
_SEED_SALT = {"train": 0x70A6E, "val": 0x5A11D, "all": 0xA11}


class PageError(ValueError):
    """No fonts or words to compose pages with; the message says which."""


@dataclass(frozen=True)
class PageLine:
    """One drawn line: its text and its ink quadrilateral in the page's pixels."""

    text: str
    quad: Quad
    block: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return (int(min(xs)), int(min(ys)), int(np.ceil(max(xs))), int(np.ceil(max(ys))))


@dataclass
class ComposedPage:
    image: np.ndarray  # uint8 RGB (H, W, 3)
    lines: list[PageLine]
    layout: str
    rtl: bool
    notes: list[str] = field(default_factory=list)


# -- text ------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _words(script: str) -> tuple[str, ...]:
    words = corpora.read_words(corpora.system_wordlist(script))
    if script == "latin":
        keep = [w for w in words if w.isalpha() and w.isascii() and len(w) <= 12]
    else:
        keep = [w for w in words if all(c in corpora.ARABIC_LETTERS for c in w) and len(w) <= 10]
    if not keep:
        raise PageError(f"no {script} words to compose pages with")
    return tuple(keep)


class _Text:
    """Sentences, labels and numbers in one script."""

    def __init__(self, script: str, rng: np.random.Generator) -> None:
        self.script = script
        self.rng = rng
        self.words = _words(script)

    def word(self) -> str:
        return self.words[int(self.rng.integers(len(self.words)))]

    def number(self) -> str:
        kind = corpora.PATTERN_KINDS[int(self.rng.integers(len(corpora.PATTERN_KINDS)))]
        return corpora.pattern_text(
            kind, self.rng, eastern=self.script == "arabic" and self.rng.random() < 0.5
        )

    def words_run(self, n: int) -> list[str]:
        out = []
        for i in range(n):
            r = self.rng.random()
            w = self.number() if r < 0.05 else self.word()
            if self.script == "latin" and (i == 0 or r > 0.93):
                w = w.capitalize()
            if r < 0.08:
                w += "," if self.script == "latin" else "،"
            out.append(w)
        out[-1] += "."
        return out

    def phrase(self, lo: int, hi: int) -> str:
        words = [self.word() for _ in range(int(self.rng.integers(lo, hi + 1)))]
        if self.script == "latin":
            words[0] = words[0].capitalize()
            if self.rng.random() < 0.3:
                return " ".join(words).upper()
        return " ".join(words)


# -- fonts -----------------------------------------------------------------------------

_LATIN_CHARS = string.ascii_letters + string.digits + ".,:;-/()"
_ARABIC_CHARS = corpora.ARABIC_LETTERS + corpora.ARABIC_INDIC_DIGITS + string.digits + "،./-:"


@lru_cache(maxsize=8)
def page_faces(script: str, split: str, sources: tuple[str, ...] = ()) -> tuple[FontFace, ...]:
    """The faces of one script and split among ``sources`` (font files, folders or family
    names; none: the system's fonts)."""
    if script == "latin":
        faces = load_faces(sources, _LATIN_CHARS, script="latin", required=string.ascii_letters)
    else:
        faces = load_faces(sources, _ARABIC_CHARS, script="arabic", required=corpora.ARABIC_LETTERS)
    chosen = fonts_split(faces, split)
    if not chosen:
        raise PageError(f"no {script} fonts of the {split} split on this system")
    return tuple(chosen)


# -- backgrounds -------------------------------------------------------------------------


def _paper(h: int, w: int, rng: np.random.Generator, pattern: str, strong: bool) -> np.ndarray:
    """Tinted paper (float RGB 0..255) with a faint or (ID cards) stronger pattern."""
    tint = np.array([255, 255, 255], np.float32) - rng.uniform(0, 45 if strong else 25, 3)
    page = np.broadcast_to(tint, (h, w, 3)).astype(np.float32).copy()
    amp = rng.uniform(15, 45) if strong else rng.uniform(5, 25)
    colour = rng.uniform(0.3, 1.0, 3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if pattern == "waves":
        f1, f2 = rng.uniform(0.02, 0.12, 2)
        field_ = np.sin(xx * f1 + 4 * np.sin(yy * f2)) * np.sin(yy * f1 * 0.7)
    elif pattern == "stripes":
        a = rng.uniform(0, np.pi)
        field_ = (np.sin((xx * np.cos(a) + yy * np.sin(a)) * rng.uniform(0.1, 0.5)) > 0.6) * 1.0
    elif pattern == "dots":
        step = int(rng.integers(5, 14))
        field_ = (((xx % step) < 2) & ((yy % step) < 2)) * 1.0
    elif pattern == "rings":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        field_ = np.sin(np.hypot(xx - cx, yy - cy) * rng.uniform(0.08, 0.3))
    elif pattern == "grain":
        small = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
        field_ = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        field_ = np.zeros((h, w), np.float32)
    page -= amp * np.abs(field_)[..., None] * colour
    return page


def _ink_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r = rng.random()
    if r < 0.6:
        v = int(rng.integers(0, 60))
        return (v, v, v)
    if r < 0.8:  # blue ink
        return (int(rng.integers(0, 50)), int(rng.integers(20, 80)), int(rng.integers(100, 180)))
    base = rng.integers(0, 150, 3)
    return (int(base[0]), int(base[1]), int(base[2]))


# -- drawing -----------------------------------------------------------------------------


class _Canvas:
    """A page being drawn: paper, lines (ink boxes recorded), pictures and rules."""

    def __init__(self, paper: np.ndarray, rtl: bool, rng: np.random.Generator) -> None:
        self.image = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "RGB")
        self.draw = ImageDraw.Draw(self.image)
        self.rtl = rtl
        self.rng = rng
        self.lines: list[PageLine] = []
        self.block = 0
        self.ink = _ink_colour(rng)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def new_block(self) -> None:
        if self.lines and self.lines[-1].block == self.block:
            self.block += 1

    def text(  # noqa: PLR0913 (where, what, in which font, how aligned)
        self,
        x: float,
        y: float,
        text: str,
        font: ImageFont.FreeTypeFont,
        *,
        align: str = "start",
        colour: tuple[int, int, int] | None = None,
    ) -> tuple[int, int, int, int] | None:
        """Draw ``text`` with its top at ``y``; ``x`` is its start (left, or right for RTL),
        or its centre (``align="centre"``), or its end. Returns its ink box, or None when
        nothing was drawn (off the page, or no ink)."""
        rtl = self.rtl and any(c in corpora.ARABIC_LETTERS for c in text)
        direction, language = ("rtl", "ar") if rtl else (None, None)
        try:
            left, top, right, bottom = font.getbbox(text, direction=direction, language=language)
            width = font.getlength(text, direction=direction, language=language)
        except (OSError, ValueError):
            return None
        w, h = int(right - left) + 2, int(bottom - top) + 2
        if w <= 2 or h <= 2:
            return None
        if align == "centre":
            x0 = x - width / 2
        elif (align == "start") == self.rtl:  # right-aligned at x
            x0 = x - width
        else:
            x0 = x
        layer = Image.new("L", (w, h), 0)
        ImageDraw.Draw(layer).text(
            (1 - left, 1 - top), text, fill=255, font=font, direction=direction, language=language
        )
        alpha = np.asarray(layer)
        ox, oy = round(x0 + left) - 1, round(y + top) - 1
        ys, xs = np.nonzero(alpha > 60)
        if len(xs) == 0:
            return None
        box = (
            ox + int(xs.min()),
            oy + int(ys.min()),
            ox + int(xs.max()) + 1,
            oy + int(ys.max()) + 1,
        )
        pw, ph = self.size
        if box[0] < 0 or box[1] < 0 or box[2] > pw or box[3] > ph:
            return None
        self.image.paste(colour or self.ink, (ox, oy), layer)
        quad = ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3]))
        self.lines.append(PageLine(text, tuple((float(a), float(b)) for a, b in quad), self.block))
        return box

    def picture(self, box: tuple[int, int, int, int]) -> None:
        """A photo-like block (smooth colour, shapes, noise) or a chart (axes, bars, lines)."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        if w < 8 or h < 8:
            return
        rng = self.rng
        if rng.random() < 0.65:
            small = rng.uniform(0, 255, (3, 3, 3)).astype(np.float32)
            img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
            for _ in range(int(rng.integers(2, 8))):
                c = tuple(float(v) for v in rng.uniform(0, 255, 3))
                cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
                ax, ay = int(rng.integers(3, max(4, w // 3))), int(rng.integers(3, max(4, h // 3)))
                cv2.ellipse(img, (cx, cy), (ax, ay), float(rng.uniform(0, 180)), 0, 360, c, -1)
            img += rng.normal(0, rng.uniform(2, 25), img.shape).astype(np.float32)
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.5, 3)))
            self.image.paste(
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB"), (x0, y0)
            )
        else:
            self.draw.rectangle(box, outline=self.ink, width=1)
            n = int(rng.integers(3, 12))
            for i in range(n):
                bh = int(rng.uniform(0.1, 0.9) * h)
                bx = x0 + int((i + 0.2) * w / n)
                colour = tuple(int(v) for v in rng.integers(0, 200, 3))
                self.draw.rectangle(
                    (bx, y1 - bh, bx + max(2, int(0.6 * w / n)), y1 - 1), fill=colour
                )

    def rule(self, x0: float, y0: float, x1: float, y1: float, width: int = 1) -> None:
        self.draw.line((x0, y0, x1, y1), fill=self.ink, width=width)


# -- layouts ------------------------------------------------------------------------------


@dataclass
class _Kit:
    """What a layout draws with: the canvas, text maker, fonts and the random source."""

    canvas: _Canvas
    text: _Text
    faces: Sequence[FontFace]
    fonts: FontCache
    rng: np.random.Generator

    def font(self, size: float, face: FontFace | None = None) -> ImageFont.FreeTypeFont:
        face = face or self.faces[int(self.rng.integers(len(self.faces)))]
        return self.fonts.get(face, max(8, round(size)))

    def face(self) -> FontFace:
        return self.faces[int(self.rng.integers(len(self.faces)))]


@dataclass(frozen=True)
class _Flow:
    """Where running text goes: between x0 and x1, down to ``bottom``, in ``font`` every
    ``pitch`` pixels."""

    x0: float
    x1: float
    bottom: float
    font: ImageFont.FreeTypeFont
    pitch: float


def _paragraph(kit: _Kit, flow: _Flow, y: float) -> float:
    """Words wrapped in the flow from y down; the y after them."""
    c = kit.canvas
    words = kit.text.words_run(int(kit.rng.integers(8, 70)))
    x0, x1, font, pitch = flow.x0, flow.x1, flow.font, flow.pitch
    start = x1 if c.rtl else x0
    indent = pitch if kit.rng.random() < 0.4 else 0.0
    line: list[str] = []
    width = x1 - x0
    for word in [*words, None]:
        candidate = " ".join([*line, word]) if word is not None else None
        fits = candidate is not None and _length(font, candidate, c.rtl) <= width - indent
        if fits:
            line.append(word)  # type: ignore[arg-type]
            continue
        if line:
            if y + pitch > flow.bottom:
                return y
            c.text(start - indent if c.rtl else start + indent, y, " ".join(line), font)
            y += pitch
            indent = 0.0
        line = [word] if word is not None else []
    return y


def _length(font: ImageFont.FreeTypeFont, text: str, rtl: bool) -> float:
    """The advance width of ``text`` (shaped right to left for an RTL page)."""
    if rtl:
        return float(font.getlength(text, direction="rtl", language="ar"))
    return float(font.getlength(text))


def _fit(text: str, font: ImageFont.FreeTypeFont, room: float, rtl: bool) -> str:
    """``text`` shortened (by whole words, then letters) to fit ``room`` pixels."""
    while text and _length(font, text, rtl) > room:
        cut = text.rsplit(" ", 1)[0] if " " in text else text[:-2]
        text = cut.rstrip()
    return text


def _column(kit: _Kit, flow: _Flow, y: float, body: float) -> None:
    """A column of paragraphs, subheadings and pictures with captions."""
    c, rng, pitch = kit.canvas, kit.rng, flow.pitch
    while y < flow.bottom - 2 * pitch:
        r = rng.random()
        if r < 0.12 and flow.bottom - y > 8 * pitch:  # a picture and its caption
            ph = rng.uniform(4, 12) * pitch
            pw = (flow.x1 - flow.x0) * rng.uniform(0.6, 1.0)
            px0 = flow.x1 - pw if c.rtl else flow.x0
            c.picture((int(px0), int(y), int(px0 + pw), int(min(flow.bottom, y + ph))))
            y += ph + pitch * 0.6
            c.new_block()
            cap = kit.font(body * 0.85)
            bottom = min(flow.bottom, y + 2 * pitch)
            y = _paragraph(kit, _Flow(flow.x0, flow.x1, bottom, cap, pitch * 0.85), y)
            y += pitch
        elif r < 0.2:  # a subheading
            c.new_block()
            x = flow.x1 if c.rtl else flow.x0
            c.text(x, y, kit.text.phrase(1, 4), kit.font(body * 1.25))
            y += pitch * 1.5
        else:
            c.new_block()
            y = _paragraph(kit, flow, y)
            y += pitch * rng.uniform(0.3, 1.2)


def _article(kit: _Kit) -> None:
    c, rng = kit.canvas, kit.rng
    w, h = c.size
    body = rng.uniform(11, 20)
    face = kit.face()
    font = kit.font(body, face)
    pitch = body * rng.uniform(1.15, 1.7)
    margin = rng.uniform(0.05, 0.1) * w
    y = rng.uniform(0.04, 0.08) * h
    if rng.random() < 0.8:  # heading
        hsize = body * rng.uniform(1.4, 2.6)
        hfont = kit.font(hsize)
        x = w / 2 if rng.random() < 0.4 else (w - margin if c.rtl else margin)
        align = "centre" if x == w / 2 else "start"
        c.text(x, y, kit.text.phrase(2, 6), hfont, align=align)
        y += hsize * rng.uniform(1.6, 2.4)
        c.new_block()
        if rng.random() < 0.3:  # a byline or subheading
            c.text(x, y, kit.text.phrase(2, 7), kit.font(body * 1.1), align=align)
            y += pitch * 2
            c.new_block()
    ncols = int(rng.choice([1, 1, 2, 2, 3]))
    gutter = rng.uniform(1.5, 3.5) * body
    col_w = (w - 2 * margin - (ncols - 1) * gutter) / ncols
    bottom = h - rng.uniform(0.06, 0.1) * h
    for k in range(ncols):
        col = ncols - 1 - k if c.rtl else k
        x0 = margin + col * (col_w + gutter)
        x1 = x0 + col_w
        _column(kit, _Flow(x0, x1, bottom, font, pitch), y, body)
    if rng.random() < 0.5:  # page number or running footer
        c.new_block()
        c.text(
            w / 2,
            h - rng.uniform(0.03, 0.05) * h,
            str(int(rng.integers(1, 400))),
            font,
            align="centre",
        )
    if ncols > 1 and rng.random() < 0.3:
        c.rule(margin + col_w + gutter / 2, y, margin + col_w + gutter / 2, bottom)


def _form(kit: _Kit) -> None:
    c, rng = kit.canvas, kit.rng
    w, h = c.size
    size = rng.uniform(12, 22)
    font = kit.font(size)
    margin = rng.uniform(0.05, 0.1) * w
    y = rng.uniform(0.04, 0.08) * h
    c.text(w / 2, y, kit.text.phrase(2, 5), kit.font(size * 1.8), align="centre")
    y += size * 3.5
    c.new_block()
    label_x = w - margin if c.rtl else margin
    value_off = rng.uniform(0.25, 0.45) * w
    pitch = size * rng.uniform(1.8, 2.8)
    boxed = rng.random() < 0.5
    while y < h * 0.55:
        c.new_block()
        label = kit.text.phrase(1, 3) + (":" if rng.random() < 0.6 else "")
        c.text(label_x, y, _fit(label, font, value_off - size, c.rtl), font)
        vx = label_x - value_off if c.rtl else label_x + value_off
        vend = margin if c.rtl else w - margin
        if boxed:
            c.draw.rectangle(
                (min(vx, vend), y - size * 0.3, max(vx, vend), y + size * 1.4), outline=c.ink
            )
        else:
            c.rule(vx, y + size * 1.3, vend, y + size * 1.3)
        if rng.random() < 0.85:
            value = kit.text.number() if rng.random() < 0.5 else kit.text.phrase(1, 4)
            c.new_block()
            c.text(
                vx - size * 0.4 if c.rtl else vx + size * 0.4,
                y,
                value,
                kit.font(size, kit.face()),
                colour=_ink_colour(rng),
            )
        y += pitch
    # a table: a grid of cells with text
    rows, cols = int(rng.integers(3, 9)), int(rng.integers(2, 6))
    cell_h = size * rng.uniform(1.8, 2.6)
    top = y + size
    tw = w - 2 * margin
    if top + rows * cell_h > h * 0.95:
        rows = max(1, int((h * 0.95 - top) / cell_h))
    for r in range(rows + 1):
        c.rule(margin, top + r * cell_h, w - margin, top + r * cell_h)
    for k in range(cols + 1):
        c.rule(margin + k * tw / cols, top, margin + k * tw / cols, top + rows * cell_h)
    for r in range(rows):
        for k in range(cols):
            if rng.random() < 0.15:
                continue
            col = cols - 1 - k if c.rtl else k
            cx0 = margin + col * tw / cols + size * 0.4
            cx1 = margin + (col + 1) * tw / cols - size * 0.4
            text = kit.text.number() if rng.random() < 0.5 else kit.text.phrase(1, 2)
            fnt = kit.font(size * 0.9)
            while text and _length(fnt, text, c.rtl) > cx1 - cx0:
                text = text[: max(0, len(text) - 3)].rstrip()
            if text:
                c.new_block()
                c.text(cx1 if c.rtl else cx0, top + r * cell_h + (cell_h - size) / 2, text, fnt)


def _idcard(kit: _Kit) -> None:
    c, rng = kit.canvas, kit.rng
    w, h = c.size
    size = rng.uniform(20, 40)
    margin = rng.uniform(0.03, 0.06) * w
    y = margin
    c.text(w / 2, y, kit.text.phrase(2, 4), kit.font(size * 1.3), align="centre")
    y += size * 1.9
    c.new_block()
    if rng.random() < 0.6:
        c.text(w / 2, y, kit.text.phrase(2, 5), kit.font(size), align="centre")
        y += size * 1.9
    photo_w = w * rng.uniform(0.22, 0.3)
    photo_left = not c.rtl
    px0 = margin if photo_left else w - margin - photo_w
    c.picture((int(px0), int(y), int(px0 + photo_w), int(min(h - margin, y + photo_w * 1.25))))
    tx0 = px0 + photo_w + margin if photo_left else margin
    tx1 = w - margin if photo_left else px0 - margin
    while y < h - margin - size * 1.5:
        c.new_block()
        fnt = kit.font(size * rng.uniform(0.8, 1.2))
        r = rng.random()
        text = kit.text.number() if r < 0.35 else kit.text.phrase(1, 4)
        start = tx1 if c.rtl else tx0
        if rng.random() < 0.3:  # a label and its value on one row
            label_font = kit.font(size * 0.7)
            label = kit.text.phrase(1, 2) + ":"
            c.text(start, y, label, label_font)
            lab_w = _length(label_font, label, c.rtl) + size
            start = start - lab_w if c.rtl else start + lab_w
        room = (start - tx0) if c.rtl else (tx1 - start)
        while text and _length(fnt, text, c.rtl) > room:
            text = text[: max(0, len(text) - 3)].rstrip()
        if text:
            c.text(start, y, text, fnt)
        y += size * rng.uniform(1.6, 2.4)


def _letter(kit: _Kit) -> None:
    c, rng = kit.canvas, kit.rng
    w, h = c.size
    body = rng.uniform(12, 18)
    font = kit.font(body)
    pitch = body * rng.uniform(1.3, 1.6)
    margin = rng.uniform(0.08, 0.12) * w
    y = margin
    end = margin if c.rtl else w - margin  # the sender's block at the far side
    for _ in range(int(rng.integers(2, 5))):
        c.text(end, y, kit.text.phrase(1, 4), font, align="end")
        y += pitch
    y += pitch * 2
    c.new_block()
    c.text(w - margin if c.rtl else margin, y, kit.text.phrase(2, 3) + ",", font)
    y += pitch * 2
    while y < h * 0.8:
        c.new_block()
        y = _paragraph(kit, _Flow(margin, w - margin, h * 0.85, font, pitch), y) + pitch
    c.new_block()
    c.text(end, y + pitch, kit.text.phrase(2, 3), kit.font(body * 1.2), align="end")


_LAYOUTS: dict[str, Callable[[_Kit], None]] = {
    "article": _article,
    "form": _form,
    "idcard": _idcard,
    "letter": _letter,
}


# -- the camera ----------------------------------------------------------------------------


def turn_page(image: np.ndarray, degrees: float, fill: int = 255) -> np.ndarray:
    """A grey page turned counter-clockwise by ``degrees`` on a canvas that holds all of
    it (the test pages and the page benchmark turn pages this way)."""
    turned = Image.fromarray(image).rotate(
        degrees, expand=True, fillcolor=fill, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(turned)


def _transform_lines(lines: list[PageLine], m: np.ndarray) -> list[PageLine]:
    out = []
    for ln in lines:
        pts = cv2.perspectiveTransform(np.array([ln.quad], np.float32), m)[0]
        out.append(PageLine(ln.text, tuple((float(x), float(y)) for x, y in pts), ln.block))
    return out


def _skew(
    img: np.ndarray, lines: list[PageLine], deg: float, fill: np.ndarray
) -> tuple[np.ndarray, list[PageLine]]:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    border = tuple(float(v) for v in fill)
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=border)
    return out, _transform_lines(lines, np.vstack([m, [0, 0, 1]]))


def _photograph(
    img: np.ndarray, lines: list[PageLine], rng: np.random.Generator
) -> tuple[np.ndarray, list[PageLine]]:
    """The page on a table, seen from a little off-axis, lit unevenly, a little blurred."""
    h, w = img.shape[:2]
    pad = int(0.06 * max(h, w))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-0.05, 0.05, (4, 2)).astype(np.float32) * np.array([w, h], np.float32)
    dst = src + jitter + pad
    m = cv2.getPerspectiveTransform(src, dst)
    size = (w + 2 * pad, h + 2 * pad)
    table = rng.uniform(30, 160, 3)
    out = cv2.warpPerspective(
        img, m, size, flags=cv2.INTER_LINEAR, borderValue=tuple(float(v) for v in table)
    )
    out = out.astype(np.float32)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    cx, cy = rng.uniform(0, size[0]), rng.uniform(0, size[1])
    light = 1.0 - rng.uniform(0.2, 0.6) * np.hypot(xx - cx, yy - cy) / np.hypot(*size)
    if rng.random() < 0.5:  # a hard shadow edge across the page
        a = rng.uniform(0, np.pi)
        side = (xx - size[0] * rng.uniform(0.2, 0.8)) * np.cos(a) + (yy - size[1] / 2) * np.sin(a)
        light *= np.where(side > 0, rng.uniform(0.55, 0.85), 1.0).astype(np.float32)
        light = cv2.GaussianBlur(light, (0, 0), 4)
    out *= light[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), _transform_lines(lines, m)


def _degrade(img: np.ndarray, rng: np.random.Generator, photo: bool) -> np.ndarray:
    out = img.astype(np.float32)
    sigma = rng.uniform(0.0, 1.3 if photo else 0.7)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    out += rng.normal(0, rng.uniform(0, 8), out.shape).astype(np.float32)
    out8 = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < (0.8 if photo else 0.4):
        quality = int(rng.integers(25, 85))
        ok, enc = cv2.imencode(".jpg", out8, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out8 = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return out8


# -- the composer ---------------------------------------------------------------------------


class PageComposer:
    """Index -> a synthetic page with its line quadrilaterals, deterministic per seed."""

    def __init__(self, split: str = "train", seed: int = 0, fonts: Sequence[str] = ()) -> None:
        if split not in ("train", "val", "all"):
            raise PageError(f"page split must be train, val or all, not {split!r}")
        self.split = split
        self.seed = seed
        self.fonts = tuple(fonts)
        self._fonts = FontCache(256)

    def layouts(self) -> tuple[str, ...]:
        return LAYOUTS["val" if self.split == "val" else "train"]

    def page(
        self, index: int, *, layout: str | None = None, rtl: bool | None = None
    ) -> ComposedPage:
        rng = np.random.default_rng([_SEED_SALT[self.split], self.seed, index])
        kinds = self.layouts() if self.split != "all" else tuple(_LAYOUTS)
        kind = layout or str(kinds[int(rng.integers(len(kinds)))])
        if kind not in _LAYOUTS:
            raise PageError(f"unknown page layout {kind!r}; known: {', '.join(_LAYOUTS)}")
        arabic = bool(rng.random() < ARABIC_SHARE) if rtl is None else rtl
        script = "arabic" if arabic else "latin"
        font_split = "all" if self.split == "all" else self.split
        faces = page_faces(script, font_split, self.fonts)
        patterns = PATTERNS["val" if self.split == "val" else "train"]
        pattern = str(patterns[int(rng.integers(len(patterns)))])
        if kind == "idcard":
            w = int(rng.integers(800, LONG_SIDE + 1))
            h = int(w / rng.uniform(1.45, 1.7))
            pattern = pattern if pattern != "plain" else "waves"
        else:
            h = int(rng.integers(880, LONG_SIDE + 1))
            w = int(h / rng.uniform(1.25, 1.5))
        paper = _paper(h, w, rng, pattern, strong=kind == "idcard")
        canvas = _Canvas(paper, arabic, rng)
        kit = _Kit(canvas, _Text(script, rng), faces, self._fonts, rng)
        _LAYOUTS[kind](kit)
        img = np.asarray(canvas.image)
        lines = canvas.lines
        notes = [kind, script, pattern]
        photo = rng.random() < PHOTO_SHARE
        if photo:
            img, lines = _photograph(img, lines, rng)
            notes.append("photo")
        elif rng.random() < SKEW_SHARE:
            deg = float(rng.uniform(-MAX_SKEW, MAX_SKEW))
            img, lines = _skew(img, lines, deg, paper[0, 0])
            notes.append(f"skew {deg:+.1f}")
        img = _degrade(img, rng, photo)
        scale = LONG_SIDE / max(img.shape[:2])
        if abs(scale - 1) > 0.01:
            img = cv2.resize(
                img,
                (round(img.shape[1] * scale), round(img.shape[0] * scale)),
                interpolation=cv2.INTER_AREA,
            )
            lines = _transform_lines(lines, np.diag([scale, scale, 1.0]))
        return ComposedPage(img, lines, kind, arabic, notes)


# -- on disk -----------------------------------------------------------------------------


def page_truth_lines(page: ComposedPage) -> list[list[TruthLine]]:
    """The page's lines grouped by block, as PAGE-XML is written from them."""
    blocks: dict[int, list[TruthLine]] = {}
    for ln in page.lines:
        blocks.setdefault(ln.block, []).append(TruthLine(ln.quad, ln.text))
    return [blocks[b] for b in sorted(blocks)]


def write_page(page: ComposedPage, folder: Path, stem: str, quality: int = 92) -> Path:
    """``STEM.jpg`` (the page; JPEG, as many were photographed anyway) and ``STEM.xml``
    (PAGE-XML with the lines); returns the XML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / f"{stem}.jpg"
    ok, data = cv2.imencode(".jpg", page.image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise PageError(f"{image}: cannot encode the page")
    image.write_bytes(data.tobytes())
    h, w = page.image.shape[:2]
    xml = folder / f"{stem}.xml"
    staged = folder / f".{stem}.xml.tmp"  # renamed when whole: a reader never sees half
    staged.write_text(page_xml(image.name, (w, h), page_truth_lines(page)), encoding="utf-8")
    staged.replace(xml)
    return xml


def write_pages(
    folder: Path,
    n: int,
    *,
    split: str = "train",
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``n`` composed pages (image + PAGE-XML) into ``folder``; returns the count."""
    composer = PageComposer(split, seed)
    for i in range(n):
        write_page(composer.page(i), folder, f"page-{i:06d}")
        if progress is not None:
            progress(1)
    return n
