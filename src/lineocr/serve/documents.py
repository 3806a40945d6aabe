"""``POST /v1/documents``: pages already read, written as an hOCR, ALTO or PAGE-XML document.

The request holds pages as ``POST /v1/ocr`` answers them (a result slot of a page: its
lines with their boxes, polygons, blocks and characters, its rotation, skew and size;
other keys of the slot are ignored), so a client reads a page once and downloads it in any
format without reading it again (the web page's downloads do this). The document is made
by :mod:`lineocr.documents.formats`, the writers of ``lineocr read --format``, from a
:class:`lineocr.page.Page` rebuilt from the answer: the same document the CLI writes for
the same page. Rendering is cheap and bounded by the request's size (``max_body_bytes``)
and the limits of the request model.

``POST /v1/documents/pdf`` writes the searchable PDF (:mod:`lineocr.documents.searchable_pdf`),
which holds the page image too: a multipart form of one page's result slot (``page``, its
JSON) and the image it was read from (``file``), decoded as ``POST /v1/ocr`` decodes it
(the same formats and ``max_pixels``); an image whose size is not the page's is refused.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from lineocr.serve.errors import ApiError

MEDIA_TYPES = {
    "hocr": "application/xhtml+xml; charset=utf-8",
    "alto": "application/xml; charset=utf-8",
    "page": "application/xml; charset=utf-8",
}
SUFFIXES = {"hocr": ".hocr", "alto": ".alto.xml", "page": ".page.xml", "pdf": ".pdf"}
MAX_PAGES = 64
MAX_LINES = 10_000
COORDINATE = 1_000_000  # pixels either way: far past any page the server reads


class _Lenient(BaseModel):
    """A part of ``/v1/ocr``'s answer: the keys a document needs, the others ignored."""

    model_config = ConfigDict(extra="ignore")


class DocChar(_Lenient):
    char: str = Field(..., max_length=8)
    confidence: float = Field(..., ge=0, le=1)


class DocWord(_Lenient):
    text: str = Field(..., max_length=10_000)
    confidence: float = Field(..., ge=0, le=1)
    box: list[int] = Field(..., min_length=4, max_length=4, description="x0, y0, x1, y1")
    polygon: list[list[int]] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="Its corners [x, y] as the line runs (default: its box's, turned as "
        "the line's polygon runs)",
    )


class DocLine(_Lenient):
    text: str = Field(..., max_length=10_000)
    confidence: float = Field(..., ge=0, le=1)
    box: list[int] = Field(..., min_length=4, max_length=4, description="x0, y0, x1, y1")
    polygon: list[list[int]] = Field(
        ..., min_length=3, max_length=256, description="Its corners [x, y]"
    )
    block: int = Field(..., ge=0, le=MAX_LINES)
    chars: list[DocChar] | None = Field(None, max_length=10_000)
    words: list[DocWord] | None = Field(
        None, max_length=10_000, description="Its words with their boxes, as answered"
    )


class DocPage(_Lenient):
    """A page read: a result slot of ``POST /v1/ocr`` with ``layout`` page."""

    name: str | None = Field(
        None, max_length=4096, description="The image's name (a path as the client gave it)"
    )
    number: int | None = Field(
        None,
        ge=1,
        le=COORDINATE,
        description="Its page number in a PDF or multi-page TIFF (1-based); none for an image",
    )
    lines: list[DocLine] = Field(..., max_length=MAX_LINES)
    rotation: Literal[0, 90, 180, 270] = 0
    skew: float = Field(0.0, ge=-45, le=45)
    size: list[int] = Field(..., min_length=2, max_length=2, description="width, height")


class DocumentRequest(BaseModel):
    """``POST /v1/documents``: pages read, and the document to write them as."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["hocr", "alto", "page"] = Field(
        ..., description="hocr (XHTML), alto (ALTO 4.3) or page (PAGE-XML 2019, one page)"
    )
    pages: list[DocPage] = Field(
        ...,
        min_length=1,
        max_length=MAX_PAGES,
        description="Result slots of POST /v1/ocr for pages (layout page), in order",
    )
    lang: str | None = Field(
        None, max_length=35, description="The text's language, a BCP 47 tag such as en or ar"
    )


def _coordinate(value: int, what: str) -> int:
    if not -COORDINATE <= value <= COORDINATE:
        raise ApiError(422, "invalid_request", f"{what}: {value} is out of range")
    return value


def _page(item: DocPage, number: int) -> Any:
    """The :class:`~lineocr.documents.formats.DocumentPage` of one answered page."""
    from lineocr.documents.formats import DocumentPage
    from lineocr.page import Block, Line, Page, rtl_text
    from lineocr.prediction import CharConfidence

    width, height = item.size
    if not (1 <= width <= COORDINATE and 1 <= height <= COORDINATE):
        raise ApiError(422, "invalid_request", f"page {number}: size {width}x{height}")
    blocks: dict[int, list[Line]] = {}
    for k, ln in enumerate(item.lines):
        where = f"page {number}, line {k + 1}"
        if any(len(p) != 2 for p in ln.polygon):
            raise ApiError(422, "invalid_request", f"{where}: a polygon point is [x, y]")
        box = tuple(_coordinate(v, where) for v in ln.box)
        polygon = tuple((_coordinate(p[0], where), _coordinate(p[1], where)) for p in ln.polygon)
        chars = tuple(CharConfidence(c.char, c.confidence) for c in ln.chars or ())
        placed = _words(ln.words or [], chars, polygon, where)
        line = Line(ln.text, ln.confidence, box, polygon, ln.block, chars, placed)  # type: ignore[arg-type]
        blocks.setdefault(ln.block, []).append(line)
    texts = [ln.text for ln in item.lines]
    page = Page(
        tuple(Block(tuple(lines)) for _, lines in sorted(blocks.items())),
        item.rotation,
        item.skew,
        (width, height),
        rtl_text(texts),
    )
    return DocumentPage(page, item.name or f"page {number}", item.number)


def _words(
    items: list[DocWord],
    chars: tuple[Any, ...],
    line_polygon: tuple[tuple[int, int], ...],
    where: str,
) -> tuple[Any, ...]:
    """A line's answered words as the page reader's :class:`~lineocr.page.Word`: each with
    its box and quadrilateral (its box's corners, turned as the line runs, when it has
    none) and, where the line's characters cut at spaces spell the same words, its
    characters (ALTO writes their confidences)."""
    from lineocr.page import Word, split_words

    split = split_words(chars)
    same = [w.text for w in split] == [w.text for w in items]
    words = []
    for k, item in enumerate(items):
        box = tuple(_coordinate(v, where) for v in item.box)
        if item.polygon is not None:
            if any(len(p) != 2 for p in item.polygon):
                raise ApiError(422, "invalid_request", f"{where}: a word's point is [x, y]")
            corners = tuple(
                (_coordinate(p[0], where), _coordinate(p[1], where)) for p in item.polygon
            )
        else:
            corners = _corners_along(box, line_polygon)  # type: ignore[arg-type]
        words.append(
            Word(item.text, item.confidence, split[k].chars if same else (), box, corners)  # type: ignore[arg-type]
        )
    return tuple(words)


def _corners_along(
    box: tuple[int, int, int, int], line: tuple[tuple[int, int], ...]
) -> tuple[tuple[int, int], ...]:
    """A word's box as four corners in the order a line's polygon runs (top-left first as
    the line is read): the rotation of the box's corners whose first edge points most
    nearly as the line's does (a page turned 90, 180 or 270 degrees runs its lines up,
    leftwards or down)."""
    x0, y0, x1, y1 = box
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]  # pixel edges, as page.place_words
    if len(line) < 2:
        return tuple(corners)
    dx, dy = line[1][0] - line[0][0], line[1][1] - line[0][1]

    def along(k: int) -> int:
        (ax, ay), (bx, by) = corners[k], corners[(k + 1) % 4]
        return (bx - ax) * dx + (by - ay) * dy

    best = max(range(4), key=along)
    return tuple(corners[best:] + corners[:best])


def _filename(name: str | None, fmt: str) -> str:
    """The download's name: the first page's image name without its folder and suffix."""
    stem = (name or "page").replace("\\", "/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", stem.rsplit(".", 1)[0] if "." in stem else stem)
    return (stem.strip("._") or "page")[:100] + SUFFIXES[fmt]


def render(request: DocumentRequest) -> Response:
    """The document, with its media type and a download name."""
    from lineocr.commands.document_output import DocumentError, render_document
    from lineocr.documents.formats.common import check_lang

    try:
        lang = check_lang(request.lang)
    except ValueError as exc:
        raise ApiError(422, "invalid_lang", f"lang: {exc}") from None
    pages = [_page(item, k + 1) for k, item in enumerate(request.pages)]
    try:
        text = render_document(request.format, pages, lang)
    except DocumentError:
        raise ApiError(
            422,
            "one_page_only",
            f"PAGE-XML holds one page per document: send the {len(pages)} pages one at a time",
        ) from None
    name = _filename(request.pages[0].name, request.format)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=MEDIA_TYPES[request.format], headers=headers)


def render_pdf(
    page_json: str, image: bytes, image_name: str, dpi: float, settings: Any
) -> Response:
    """The searchable PDF of one page read (``page_json``, its result slot) over the image
    it was read from, written in memory. Runs off the event loop (decoding and JPEG
    encoding take a while on a large page); every refusal is an :class:`ApiError` (4xx)."""
    from pydantic import ValidationError

    from lineocr.documents.searchable_pdf import PdfFontError, SearchablePdf
    from lineocr.serve.errors import validation_message
    from lineocr.serve.limits import decode_image

    try:
        item = DocPage.model_validate_json(page_json)
    except ValidationError as exc:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            raise ApiError(400, "invalid_json", "page: not valid JSON") from None
        raise ApiError(
            422, "invalid_request", "page: " + validation_message(exc.errors())
        ) from None
    document_page = _page(item, 1)
    pixels = decode_image(
        image,
        image_name,
        allowed_formats=settings.allowed_formats,
        max_pixels=settings.max_pixels,
    )
    height, width = pixels.shape
    if [width, height] != item.size:
        raise ApiError(
            422,
            "image_mismatch",
            f"{image_name}: the image is {width}x{height} but the page read was "
            f"{item.size[0]}x{item.size[1]}: send the image the page was read from",
        )
    try:
        pdf = SearchablePdf()
    except PdfFontError as exc:  # the server's install lacks the font: not the client's fault
        raise ApiError(503, "unavailable", str(exc)) from None
    pdf.add_page(document_page.page, pixels, dpi)
    name = _filename(item.name or image_name, "pdf")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(pdf.output(), media_type="application/pdf", headers=headers)
