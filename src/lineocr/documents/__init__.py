"""Documents in and out: PDFs and multi-page TIFFs read as pages (:mod:`.inputs`), pages
written as a searchable PDF (:mod:`.searchable_pdf`) and as hOCR, ALTO and PAGE-XML
(:mod:`.formats`, each writer a pure function of :class:`lineocr.page.Page` objects).

Imports stay light: the PDF libraries (pypdfium2, fpdf2) load when first used.
"""

from __future__ import annotations

from lineocr.documents.inputs import (
    DocumentOptions,
    PageRange,
    PageRef,
    document_pages,
    iter_pages,
    load_page,
)
from lineocr.documents.searchable_pdf import write_pdf  # fpdf2 loads when it writes

__all__ = [
    "DocumentOptions",
    "PageRange",
    "PageRef",
    "document_pages",
    "iter_pages",
    "load_page",
    "write_pdf",
]
