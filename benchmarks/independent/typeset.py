"""Lines set by other typesetters and rasterised by other rasterisers than lineocr's.

Two routes, neither of them Pillow or lineocr's renderer:

- groff (``groff -Kutf8 -Tpdf``, its PDF device with the URW clones of the PostScript base fonts:
  Times, Helvetica, Courier, Palatino, Bookman, New Century Schoolbook...) rasterised by
  Ghostscript;
- Pango (``pango-view``: Pango's layout, HarfBuzz shaping, Cairo's PDF output) rasterised by
  Poppler (``pdftoppm``): Latin and Arabic fonts found by fontconfig.

A page holds several lines, one per input line (no filling, so each line's text is known);
each line is cut out at the box the PDF itself gives for it (``pdftotext -bbox-layout``),
with a margin of random width that never reaches into the neighbouring lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

TOOLS = {
    "groff": ("groff", "groff"),
    "gs": ("gs", "ghostscript"),
    "pdftoppm": ("pdftoppm", "poppler-utils"),
    "pdftotext": ("pdftotext", "poppler-utils"),
    "pango-view": ("pango-view", "pango1.0-tools"),
    "fc-match": ("fc-match", "fontconfig"),
}

# groff's PostScript/PDF families (font/devpdf) and the URW faces that draw them.
GROFF_FAMILIES = {
    "T": "Times (Nimbus Roman)",
    "H": "Helvetica (Nimbus Sans)",
    "HN": "Helvetica Narrow (Nimbus Sans Narrow)",
    "C": "Courier (Nimbus Mono PS)",
    "P": "Palatino (P052)",
    "BM": "Bookman (URW Bookman)",
    "N": "New Century Schoolbook (C059)",
    "A": "Avant Garde (URW Gothic)",
}
GROFF_STYLES = {"regular": "R", "italic": "I", "bold": "B"}

# fontconfig families for Pango, each used only where fontconfig resolves it to itself.
PANGO_LATIN_FAMILIES = (
    "DejaVu Serif",
    "DejaVu Sans",
    "Liberation Serif",
    "Liberation Sans",
    "Liberation Mono",
    "Noto Serif",
    "Noto Sans",
    "FreeSerif",
    "FreeSans",
    "TeX Gyre Termes",
    "TeX Gyre Pagella",
    "TeX Gyre Schola",
    "TeX Gyre Heros",
    "Linux Libertine O",
    "EB Garamond",
    "Carlito",
    "Caladea",
    "Open Sans",
    "Lato",
    "Roboto",
    "Cantarell",
    "Inconsolata",
)
# Arabic faces of the kind documents are printed in (Naskh, plain sans); no display or
# regional calligraphic styles.
PANGO_ARABIC_FAMILIES = (
    "Amiri",
    "Scheherazade New",
    "Noto Naskh Arabic",
    "Noto Sans Arabic",
    "Lateef",
    "KacstOne",
    "KacstBook",
    "DejaVu Sans",
    "FreeSerif",
    "Vazirmatn",
    "Noto Sans Arabic UI",
    "Noto Naskh Arabic UI",
)


class TypesetError(RuntimeError):
    """A page whose lines could not be told apart in its PDF (or a tool that failed)."""


def missing_tools(names: Sequence[str]) -> list[str]:
    """The Debian packages to install for the named tools that are not on PATH."""
    return sorted({TOOLS[n][1] for n in names if shutil.which(TOOLS[n][0]) is None})


def _run(argv: Sequence[str | Path], stdin: bytes | None = None) -> bytes:
    """A tool's standard output; :class:`TypesetError` with its message if it fails."""
    proc = subprocess.run([str(a) for a in argv], input=stdin, capture_output=True, check=False)
    if proc.returncode != 0:
        raise TypesetError(f"{argv[0]} failed: {proc.stderr.decode(errors='replace')[-400:]}")
    return proc.stdout


def fontconfig_has(family: str) -> bool:
    """Whether fontconfig resolves ``family`` to a face of that family (not a substitute)."""
    if shutil.which("fc-match") is None:
        return False
    out = subprocess.run(
        ["fc-match", "-f", "%{family}", family], capture_output=True, text=True, check=False
    ).stdout
    return family.lower() in (f.strip().lower() for f in out.split(","))


def fontconfig_covers(family: str, chars: Iterable[str]) -> bool:
    """Whether ``family`` has a face with a glyph for each of ``chars`` (fontconfig's
    charset), so that no character of a set's lines is drawn by a fallback face."""
    if shutil.which("fc-list") is None:
        return False
    charset = " ".join(f"{ord(ch):x}" for ch in sorted(set(chars)))
    out = subprocess.run(
        ["fc-list", f":family={family}:charset={charset}", "family"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return bool(out.strip())


# -- the typesetters -------------------------------------------------------------------------


def groff_escape(line: str) -> str:
    """A text line as groff input that prints exactly that text."""
    line = line.replace("\\", "\\e")
    return "\\&" + line if line[:1] in (".", "'") else line


def groff_source(lines: Sequence[str], family: str, style: str, size_pt: float) -> str:
    """A no-fill groff page: one output line per input line, no hyphenation, no
    adjustment, leading 1.7 times the size (room for a margin around each line)."""
    head = [
        ".pl 11i",
        ".po 0.5i",
        ".ll 11i",
        ".nf",
        ".nh",
        f".fam {family}",
        f".ft {GROFF_STYLES[style]}",
        f".ps {size_pt:g}",
        f".vs {1.7 * size_pt:.2f}p",
        ".sp 0.5i",
    ]
    return "\n".join([*head, *map(groff_escape, lines)]) + "\n"


def render_groff(lines: Sequence[str], family: str, style: str, size_pt: float, pdf: Path) -> Path:
    """``lines`` set by groff's PDF device on a 12 x 11 inch page."""
    source = groff_source(lines, family, style, size_pt)
    # -Kutf8: preconv turns the UTF-8 input's accented letters into groff's glyph names.
    pdf.write_bytes(_run(["groff", "-Kutf8", "-Tpdf", "-P-p11i,12i"], stdin=source.encode("utf-8")))
    return pdf


def render_pango(
    lines: Sequence[str], font: str, size_pt: float, pdf: Path, *, rtl: bool = False
) -> Path:
    """``lines`` laid out by Pango (HarfBuzz shaping) and written as PDF by Cairo.
    ``font`` is a Pango font description without its size (``"Amiri Bold"``)."""
    text = pdf.with_suffix(".txt")
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = [
        "pango-view",
        "-q",
        f"--font={font} {size_pt:g}",
        "--margin=36",
        "--line-spacing=1.7",
        "-o",
        pdf,
        text,
    ]
    if rtl:
        argv.insert(2, "--rtl")
    _run(argv)
    return pdf


# -- rasterising and cutting -----------------------------------------------------------------


def rasterise(pdf: Path, dpi: int, tool: str) -> list[np.ndarray]:
    """Every page of ``pdf`` as an 8-bit grey image, by Ghostscript (``gs``) or Poppler
    (``pdftoppm``), both anti-aliased."""
    folder = pdf.with_suffix("")
    folder.mkdir(exist_ok=True)
    if tool == "gs":
        _run(
            [
                "gs",
                "-q",
                "-dSAFER",
                "-dBATCH",
                "-dNOPAUSE",
                "-sDEVICE=pnggray",
                f"-r{dpi}",
                "-dTextAlphaBits=4",
                "-dGraphicsAlphaBits=4",
                f"-sOutputFile={folder}/page-%03d.png",
                pdf,
            ]
        )
    elif tool == "pdftoppm":
        _run(["pdftoppm", "-r", str(dpi), "-gray", "-png", pdf, folder / "page"])
    else:
        raise ValueError(f"no rasteriser {tool!r}")
    pages = sorted(folder.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[1]))
    return [np.asarray(Image.open(p).convert("L")) for p in pages]


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points (y down)

_PAGE = re.compile(r"<page\b[^>]*>(.*?)</page>", re.S)
_LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"')


def parse_bbox_layout(xhtml: str) -> list[list[Box]]:
    """The text lines of each page of ``pdftotext -bbox-layout`` output, top to bottom;
    pieces that share a line's height (pdftotext splits a line at wide gaps, or at a change
    of direction) are merged into one box."""
    pages = []
    for page in _PAGE.findall(xhtml):
        boxes = sorted(
            (tuple(float(v) for v in m) for m in _LINE.findall(page)), key=lambda b: b[1]
        )
        merged: list[list[float]] = []
        for x0, y0, x1, y1 in boxes:
            if merged:
                m = merged[-1]
                overlap = min(m[3], y1) - max(m[1], y0)
                if overlap > 0.5 * min(m[3] - m[1], y1 - y0):
                    merged[-1] = [min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)]
                    continue
            merged.append([x0, y0, x1, y1])
        pages.append([(b[0], b[1], b[2], b[3]) for b in merged])
    return pages


def line_boxes(pdf: Path) -> list[list[Box]]:
    out = _run(["pdftotext", "-bbox-layout", pdf, "-"])
    return parse_bbox_layout(out.decode("utf-8", errors="replace"))


def crop_with_margin(page: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """``page[y0:y1, x0:x1]``, white where the box reaches past the page."""
    x0, y0, x1, y1 = box
    h, w = page.shape
    out = np.full((y1 - y0, x1 - x0), 255, np.uint8)
    sy0, sy1, sx0, sx1 = max(0, y0), min(h, y1), max(0, x0), min(w, x1)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = page[sy0:sy1, sx0:sx1]
    return out


def cut_lines(
    page: np.ndarray, boxes: Sequence[Box], dpi: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Each box's line with a margin: 10-45 % of the line's height above and below (at most
    half the gap to the neighbouring line), 20-120 % of it left and right."""
    scale = dpi / 72.0
    px = [(b[0] * scale, b[1] * scale, b[2] * scale, b[3] * scale) for b in boxes]
    out = []
    for i, (x0, y0, x1, y1) in enumerate(px):
        h = y1 - y0
        room_above = (y0 - px[i - 1][3]) / 2 if i > 0 else h
        room_below = (px[i + 1][1] - y1) / 2 if i + 1 < len(px) else h
        top = min(rng.uniform(0.10, 0.45) * h, max(0.0, room_above))
        bottom = min(rng.uniform(0.10, 0.45) * h, max(0.0, room_below))
        left, right = rng.uniform(0.2, 1.2, size=2) * h
        box = (int(x0 - left), int(y0 - top), int(np.ceil(x1 + right)), int(np.ceil(y1 + bottom)))
        out.append(crop_with_margin(page, box))
    return out


@dataclass(frozen=True)
class PageSpec:
    """One page of a set: its lines and how they are set and rasterised."""

    renderer: str  # "groff" or "pango"
    font: str  # groff family letter(s), or a fontconfig family
    style: str  # regular, italic, bold
    size_pt: float
    dpi: int
    lines: tuple[str, ...]
    rtl: bool = False

    @property
    def font_name(self) -> str:
        if self.renderer == "groff":
            return f"groff {GROFF_FAMILIES[self.font]} {self.style}"
        return f"{self.font} {self.style}"


def typeset_page(
    spec: PageSpec, workdir: Path, name: str, rng: np.random.Generator
) -> list[np.ndarray]:
    """The line images of one page, in the order of ``spec.lines``."""
    pdf = workdir / f"{name}.pdf"
    if spec.renderer == "groff":
        render_groff(spec.lines, spec.font, spec.style, spec.size_pt, pdf)
        pages = rasterise(pdf, spec.dpi, "gs")
    elif spec.renderer == "pango":
        style = {"regular": "", "italic": " Italic", "bold": " Bold"}[spec.style]
        render_pango(spec.lines, spec.font + style, spec.size_pt, pdf, rtl=spec.rtl)
        pages = rasterise(pdf, spec.dpi, "pdftoppm")
    else:
        raise ValueError(f"no renderer {spec.renderer!r}")
    boxes = line_boxes(pdf)
    if len(boxes) != len(pages) or sum(map(len, boxes)) != len(spec.lines):
        raise TypesetError(
            f"{name}: {sum(map(len, boxes))} line boxes in the PDF for {len(spec.lines)} lines"
        )
    crops = []
    for image, page_boxes in zip(pages, boxes, strict=True):
        crops += cut_lines(image, page_boxes, spec.dpi, rng)
    return crops
