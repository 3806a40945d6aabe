"""Documents made in the tests: image-only PDFs (a scan's shape: one picture per page,
written with fpdf2), multi-page TIFFs (Pillow), hostile PDFs (PDFium, fpdf2), and the text
``pdftotext`` extracts."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext (poppler-utils, scripts/install-system-deps.sh)"
)
# Bidi embedding marks pdftotext wraps right-to-left text in (LRE, RLE, PDF, LRO, RLO).
_EMBEDDINGS = dict.fromkeys(range(0x202A, 0x202F))


def image_pdf(path: Path, pages: Sequence[np.ndarray], dpi: float = 200) -> Path:
    """A PDF of one grey picture per page, each page the picture's size at ``dpi``."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    for image in pages:
        h, w = image.shape
        size = (w * 72 / dpi, h * 72 / dpi)
        pdf.add_page(format=size)
        pdf.image(Image.fromarray(image), x=0, y=0, w=size[0], h=size[1])
    pdf.output(str(path))
    return path


def multipage_tiff(path: Path, frames: Sequence[np.ndarray]) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], compression="tiff_deflate")
    return path


def blank_pdf(path: Path, pages: int, size: tuple[float, float] = (100, 100)) -> Path:
    """``pages`` empty pages of ``size`` points (PDFium makes thousands in milliseconds)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    for _ in range(pages):
        pdf.new_page(*size)
    pdf.save(str(path))
    pdf.close()
    return path


def encrypted_pdf(path: Path) -> Path:
    """A PDF that opens only with its user password."""
    from fpdf import FPDF

    pdf = FPDF(unit="pt")
    pdf.add_page(format=(200, 100))
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.output(str(path))
    return path


def pdftotext(path: Path, *args: str) -> str:
    """The text poppler's pdftotext extracts (UTF-8), without its bidi embedding marks."""
    assert PDFTOTEXT is not None
    out = subprocess.run(
        [PDFTOTEXT, *args, str(path), "-"], capture_output=True, check=True, timeout=60
    ).stdout.decode("utf-8")
    return out.translate(_EMBEDDINGS)
