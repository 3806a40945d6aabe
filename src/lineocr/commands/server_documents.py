"""`lineocr read --server URL --format hocr|alto|page|pdf`: the pages a server read, written
by that server (``POST /v1/documents``, ``POST /v1/documents/pdf``) as the document a read
here writes for the same pages.

Registers no command: :mod:`lineocr.commands.read` calls it. Light, as the rest of the
client path is: no OpenCV, no document writer here (the server has them). A PDF's pages and
a multi-page TIFF's frames are rasterised here (:mod:`lineocr.documents.inputs`: PDFium,
Pillow) and sent as PNG images, each named ``path#page`` as a read here names it; the bytes
each input was sent as are kept until its answer is written (a request's worth at most),
because a line's document needs its size and a searchable PDF the image itself.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineocr.serve.client import ClientError, OcrClient, Source

# The keys of a page's result slot that /v1/documents reads (the others it would ignore).
PAGE_KEYS = ("lines", "rotation", "skew", "size")
PNG_LEVEL = 3  # zlib level of a rasterised page: a 300 dpi A4 scan in well under a second
DEFAULT_DOCUMENT_PAGES = 64  # what a server that does not say its limit takes


class ServerDocumentError(RuntimeError):
    """The server cannot write the document: one line for the user (exit status 2)."""


def page_png(image: Any) -> bytes:
    """A page raster (a 2-D grey array) as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG", compress_level=PNG_LEVEL)
    return buf.getvalue()


@dataclass
class SentImages:
    """What each input is sent as (a :class:`~lineocr.serve.client.Source` per path),
    with the bytes sent kept by name until :meth:`take` (document formats and the PDF need
    them again; the text formats keep nothing)."""

    keep: bool
    kept: dict[str, bytes] = field(default_factory=dict)
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def source(self, path: str) -> str | Source:
        """What is sent for ``path``: a page of a document rasterised here; a file as it is
        (read here, and kept, where its bytes are needed again)."""
        from lineocr.documents.inputs import PageRef

        if isinstance(path, PageRef):
            return Source(str(path), lambda: self._page(path))
        if not self.keep:
            return path
        return Source(path, lambda: self._file(path))

    def _page(self, ref: Any) -> bytes:
        from lineocr.documents.inputs import load_page

        image = load_page(ref)  # ImageError (a ValueError) is said as the page's error
        data = page_png(image)
        height, width = image.shape[:2]
        self.sizes[str(ref)] = (width, height)
        return self._kept(str(ref), data)

    def _file(self, path: str) -> bytes:
        return self._kept(path, Path(path).read_bytes())

    def _kept(self, name: str, data: bytes) -> bytes:
        if self.keep:
            self.kept[name] = data
        return data

    def take(self, path: str) -> tuple[bytes | None, tuple[int, int] | None]:
        """The bytes ``path`` was sent as and its size when known (then forgotten)."""
        return self.kept.pop(str(path), None), self.sizes.pop(str(path), None)


def document_name(path: str) -> tuple[str, int | None]:
    """(image, page number) as a read here names a page in a document: a PDF's or TIFF's
    page is its file's path and its number, an image its path."""
    from lineocr.documents.inputs import PageRef

    if isinstance(path, PageRef) and path.page:
        return path.path, path.page
    return str(path), None


def page_slot(path: str, result: Any, data: bytes | None, size: tuple[int, int] | None) -> dict:
    """The page ``/v1/documents`` takes for one input the server read: a page's answer
    (its lines, rotation, skew, size), or a line read as a line as a page of one line over
    the whole image (as a read here writes it; its words without their own boxes: the
    server does not place a line's characters). Raises
    :class:`~lineocr.images.ImageError` when a line's image cannot be measured."""
    image, number = document_name(path)
    named: dict[str, Any] = {"name": image, "number": number}
    if hasattr(result, "result"):  # a ServerPage
        return {**{k: result.result[k] for k in PAGE_KEYS if k in result.result}, **named}
    if size is None:
        size = _image_size(path, data)
    w, h = size
    line = {
        "text": result.text,
        "confidence": result.confidence,
        "box": [0, 0, w, h],
        "polygon": [[0, 0], [w, 0], [w, h], [0, h]],
        "block": 0,
        "chars": [{"char": c.char, "confidence": c.confidence} for c in result.chars],
    }
    return {"lines": [line], "rotation": 0, "skew": 0.0, "size": [w, h], **named}


def _image_size(path: str, data: bytes | None) -> tuple[int, int]:
    """The (width, height) a read here sees for the image (EXIF orientation applied)."""
    from lineocr.images import load_image

    image = load_image(data if data is not None else path, name=str(path))
    return image.shape[1], image.shape[0]


def check_server_documents(client: OcrClient, fmt: str, pages: int) -> None:
    """Raise :class:`ServerDocumentError` before anything is read when the server cannot
    write the document: it has no ``/v1/documents`` (older), or hOCR or ALTO of more pages
    than it writes in one document."""
    if not client.has_documents():
        raise ServerDocumentError(
            f"{client.url} has no /v1/documents (a lineocr server older than the document "
            f"formats): --format {fmt} with --server needs a newer server; read here instead"
        )
    if fmt in ("hocr", "alto"):
        limit = client.limit("max_document_pages", DEFAULT_DOCUMENT_PAGES)
        if pages > limit:
            raise ServerDocumentError(
                f"{client.url} writes at most {limit} pages in one document, and {pages} are "
                "to be read: choose some with --pages, or read here"
            )


def _refusal(client: OcrClient, exc: ClientError, what: str) -> ServerDocumentError:
    if exc.status in (404, 405):
        return ServerDocumentError(
            f"{client.url} has no {what} (a lineocr server older than the document formats)"
        )
    return ServerDocumentError(str(exc))


def write_server_document(  # noqa: PLR0913 - the document's pieces and where it goes
    client: OcrClient,
    fmt: str,
    pages: list[dict[str, Any]],
    lang: str | None,
    output: Path | None,
    stdout: Any,
) -> None:
    """The pages written by the server as ``fmt``, to ``stdout`` or ``output`` as
    :func:`lineocr.commands.document_output.write_document` writes (PAGE-XML to a folder:
    one request and one file per page, named alike). Raises :class:`ServerDocumentError`
    and OSError."""
    from lineocr.documents.names import page_xml_names

    try:
        if fmt == "page" and output is not None and output.suffix.lower() != ".xml":
            names = page_xml_names((p["name"], p["number"]) for p in pages)
            texts = [client.document([p], fmt, lang=lang) for p in pages]
            output.mkdir(parents=True, exist_ok=True)
            for name, text in zip(names, texts, strict=True):
                (output / name).write_text(text, encoding="utf-8")
            return
        text = client.document(pages, fmt, lang=lang)
    except ClientError as exc:
        raise _refusal(client, exc, "/v1/documents") from None
    if output is None:
        stdout.write(text)
        stdout.flush()
    else:
        output.write_text(text, encoding="utf-8")


class ServerPdf:
    """``--format pdf`` with ``--server``: each page read made a one-page searchable PDF by
    the server (``POST /v1/documents/pdf``, the page and the image it was read from) as it
    is answered, and added to one PDF here (PDFium copies the pages whole: image, text
    layer, fonts), saved when all are read."""

    def __init__(self, client: OcrClient) -> None:
        import pypdfium2 as pdfium

        self.client = client
        self.document = pdfium.PdfDocument.new()
        self.pages = 0

    def add(self, page: dict[str, Any], image: bytes, name: str, dpi: float) -> str | None:
        """Add the page; the server's refusal of this page alone (4xx), or None. A server
        without the endpoint, or one that fails, raises :class:`ServerDocumentError`."""
        import pypdfium2 as pdfium

        from lineocr.documents.inputs import PDFIUM_LOCK

        try:
            data = self.client.searchable_pdf(page, image, name=name, dpi=dpi)
        except ClientError as exc:
            if exc.status in (404, 405) or exc.status is None or exc.status >= 500:
                raise _refusal(self.client, exc, "/v1/documents/pdf") from None
            message = str(exc).split(": ", 1)[-1]
            return message.removeprefix(f"{exc.status} ")
        with PDFIUM_LOCK:
            one = pdfium.PdfDocument(data)
            try:
                self.document.import_pages(one)
            finally:
                one.close()
        self.pages += 1
        return None

    def save(self, output: Path) -> None:
        from lineocr.documents.inputs import PDFIUM_LOCK

        with PDFIUM_LOCK:
            try:
                self.document.save(str(output))
            finally:
                self.document.close()
