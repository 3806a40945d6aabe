"""`lineocr read --format hocr|alto|page`: the pages read gathered into one document (hOCR,
ALTO) or one PAGE-XML file per page, written to stdout or ``--output``.

Registers no command: :mod:`lineocr.commands.read` calls it. The writers themselves are
:mod:`lineocr.documents.formats` (imported here only when a document is written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from lineocr.reading import DOCUMENT_FORMATS

__all__ = ["DOCUMENT_FORMATS", "check_document_options", "document_page", "write_document"]


def check_document_options(fmt: str, output: Path | None, inputs: int) -> str | None:
    """Why these options cannot write the document (a usage error), or None."""
    if fmt == "page" and inputs > 1 and (output is None or output.suffix.lower() == ".xml"):
        return (
            f"PAGE-XML holds one page per file: give --output DIR for {inputs} inputs "
            "(a folder, created if needed; one PAGE file per page)"
        )
    return None


def document_page(path: str, result: Any, image: Any, number: int | None = None) -> Any:
    """The :class:`~lineocr.documents.formats.DocumentPage` of one input (page ``number``
    of a PDF or multi-page TIFF ``path``): a page read as a page, or a line read as a line
    (then one line whose box is the whole ``image``)."""
    from lineocr.documents.formats import DocumentPage, line_page

    if hasattr(result, "blocks"):  # a lineocr.page.Page
        return DocumentPage(result, path, number)
    h, w = image.shape[:2]
    return DocumentPage(line_page(result, (w, h)), path, number)


class DocumentError(ValueError):
    """Pages that cannot be written as asked (several PAGE-XML pages for one stream)."""


def render_document(fmt: str, pages: list[Any], lang: str | None) -> str:
    """The document of ``pages`` as text (PAGE-XML: of exactly one page)."""
    from lineocr.documents.formats import to_alto, to_hocr, to_page_xml

    if fmt == "hocr":
        return to_hocr(pages, lang=lang)
    if fmt == "alto":
        return to_alto(pages, lang=lang)
    if len(pages) != 1:
        raise DocumentError(
            f"PAGE-XML holds one page per file: give --output DIR for {len(pages)} pages"
        )
    return to_page_xml(pages[0], lang=lang)


def write_document(
    fmt: str, pages: list[Any], lang: str | None, output: Path | None, stdout: TextIO
) -> list[Path]:
    """Write the document of ``pages``: to ``stdout`` without ``output``, else to the file
    ``output``; PAGE-XML with an ``output`` not ending in ``.xml``: one file per page in
    the folder ``output`` (created if needed). Returns the files written. Raises OSError
    and :class:`DocumentError`."""
    if fmt == "page" and output is not None and output.suffix.lower() != ".xml":
        from lineocr.documents.formats import to_page_xml_files

        output.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in to_page_xml_files(pages, lang=lang).items():
            (output / name).write_text(text, encoding="utf-8")
            written.append(output / name)
        return written
    text = render_document(fmt, pages, lang)
    if output is None:
        stdout.write(text)
        stdout.flush()
        return []
    output.write_text(text, encoding="utf-8")
    return [output]
