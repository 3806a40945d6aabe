"""Documents in and out: PDFs and multi-page TIFFs read as pages (:mod:`.inputs`), pages
written as a searchable PDF (:mod:`.searchable_pdf`) and as hOCR, ALTO and PAGE-XML
(:mod:`.formats`, each writer a pure function of :class:`lineocr.page.Page` objects).

Imports stay light: the PDF libraries (pypdfium2, fpdf2) load when first used, and
:func:`write_pdf` (which needs :mod:`lineocr.page`, hence OpenCV) when first named, so that
``lineocr read --server`` lists and rasterises documents without OpenCV.
"""

from __future__ import annotations

from typing import Any

from lineocr.documents.inputs import (
    DocumentOptions,
    PageRange,
    PageRef,
    document_pages,
    iter_pages,
    load_page,
)

__all__ = [
    "DocumentOptions",
    "PageRange",
    "PageRef",
    "document_pages",
    "iter_pages",
    "load_page",
    "write_pdf",
]


def __getattr__(name: str) -> Any:
    """``write_pdf`` imported when first named (PEP 562)."""
    if name == "write_pdf":
        from lineocr.documents.searchable_pdf import write_pdf

        return write_pdf
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
