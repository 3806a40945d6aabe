"""Writers of the OCR document standards, each a pure function of pages read
(:class:`DocumentPage`: a :class:`lineocr.page.Page` and the image it was read from):

* :func:`to_hocr` — hOCR (Tesseract's HTML), all pages in one document;
* :func:`to_alto` — ALTO 4.3, all pages in one document;
* :func:`to_page_xml` — PAGE-XML 2019, one page per document (:func:`to_page_xml_files`
  for several).

Torch-free; the standard library's ElementTree builds and escapes the XML.
docs/documents.md has an example of each and what each consumer expects.
"""

from __future__ import annotations

from lineocr.documents.formats.alto import to_alto
from lineocr.documents.formats.common import DocumentPage, line_page
from lineocr.documents.formats.hocr import to_hocr
from lineocr.documents.formats.pagexml import to_page_xml, to_page_xml_files

__all__ = [
    "DocumentPage",
    "line_page",
    "to_alto",
    "to_hocr",
    "to_page_xml",
    "to_page_xml_files",
]
