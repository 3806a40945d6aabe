"""Documents in and out: PDFs and multi-page TIFFs read as pages (:mod:`.inputs`), pages
written as a searchable PDF (:mod:`.searchable_pdf`) and as hOCR, ALTO and PAGE-XML
(:mod:`.formats`, each writer a pure function of :class:`lineocr.page.Page` objects).

Imports stay light: the PDF libraries (pypdfium2, fpdf2) load when first used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineocr.documents.inputs import (
    DocumentOptions,
    PageRange,
    PageRef,
    document_pages,
    iter_pages,
    load_page,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

__all__ = [
    "DocumentOptions",
    "PageRange",
    "PageRef",
    "document_pages",
    "iter_pages",
    "load_page",
    "write_pdf",
]


def write_pdf(
    pages: Sequence[Any],
    images: Sequence[np.ndarray],
    path: str | Path,
    *,
    dpi: float | Sequence[float] = 300.0,
    font: str | Path | None = None,
) -> None:
    """A searchable PDF of ``pages`` over ``images``: see
    :func:`lineocr.documents.searchable_pdf.write_pdf`."""
    from lineocr.documents.searchable_pdf import write_pdf as write

    write(pages, images, path, dpi=dpi, font=font)
