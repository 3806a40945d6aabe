"""hOCR 1.2 (the HTML of Tesseract and OCRopus): pages of ``ocr_carea`` blocks holding one
``ocr_par`` each, of ``ocr_line`` lines with their box and confidences, and their words as
``ocrx_word`` spans, each with its box and confidence (``x_wconf``, 0-100, its least sure
character's), separated by spaces.

Consumers that draw a text layer (OCRmyPDF, hocr-tools' hocr-pdf) need a box for every
word, so a line whose words have no places (:mod:`lineocr.documents.formats.common`)
carries its text directly, without ``ocrx_word`` spans. A line's ``x_wconf`` is its
confidence (0-100) and ``x_confs`` its characters' (one per character of its text, spaces
included).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from lineocr import __version__
from lineocr.documents.formats.common import (
    Box,
    DocumentPage,
    block_box,
    check_lang,
    clamp_box,
    reading_direction,
    script,
    serialise,
    words,
    xml_safe,
)
from lineocr.page import Line

XHTML = "http://www.w3.org/1999/xhtml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DOCTYPE = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
)
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_lang ocrp_dir ocrp_wconf"


def _bbox(box: Box) -> str:
    return "bbox {} {} {} {}".format(*box)


def _quoted(name: str) -> str:
    """A string property's value: double-quoted, backslash and quote escaped, and no
    semicolon (which would end the property for every hOCR reader)."""
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace(";", "%3B")
    return f'"{escaped}"'


def _percent(confidence: float) -> str:
    return str(round(100 * min(1.0, max(0.0, float(confidence)))))


def _line_title(line: Line, size: tuple[int, int]) -> str:
    parts = [_bbox(clamp_box(line.box, size)), f"x_wconf {_percent(line.confidence)}"]
    if line.chars and len(line.chars) == len(line.text):
        parts.append("x_confs " + " ".join(_percent(c.confidence) for c in line.chars))
    return "; ".join(parts)


def to_hocr(pages: Sequence[DocumentPage], *, lang: str | None = None) -> str:
    """One hOCR document holding ``pages`` in order. ``lang``: the text's language (a BCP
    47 tag such as ``en``), written as the document's ``lang``; a page, block or line that
    reads right to left gets ``dir="rtl"``."""
    lang = check_lang(lang)
    html = ET.Element("html")
    if lang is not None:
        html.set(XML_LANG, lang)
        html.set("lang", lang)
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = "lineocr"
    metas = {
        "ocr-system": f"lineocr {__version__}",
        "ocr-capabilities": CAPABILITIES,
        "ocr-number-of-pages": str(len(pages)),
    }
    if lang is not None:
        metas["ocr-langs"] = lang
    scripts = {s[0] for d in pages for ln in d.page.lines if (s := script([ln.text]))}
    if scripts:
        metas["ocr-scripts"] = " ".join(sorted(scripts))
    ET.SubElement(
        head, "meta", {"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"}
    )
    for name, content in metas.items():
        ET.SubElement(head, "meta", {"name": name, "content": content})
    body = ET.SubElement(html, "body")
    for p, doc_page in enumerate(pages, 1):
        _page(body, doc_page, p)
    return serialise(html, XHTML, DOCTYPE)


def _page(body: ET.Element, doc_page: DocumentPage, p: int) -> None:
    page, size = doc_page.page, doc_page.size
    title = [
        f"image {_quoted(xml_safe(doc_page.image))}",
        _bbox((0, 0, *size)),
        f"ppageno {p - 1}",  # the page's place in this document, from 0 (as Tesseract)
    ]
    div = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{p}"})
    div.set("title", "; ".join(title))
    if page.rtl:
        div.set("dir", "rtl")
    for b, block in enumerate(page.blocks, 1):
        box = _bbox(block_box(block, size))
        area = ET.SubElement(
            div, "div", {"class": "ocr_carea", "id": f"block_{p}_{b}", "title": box}
        )
        par = ET.SubElement(area, "p", {"class": "ocr_par", "id": f"par_{p}_{b}", "title": box})
        if reading_direction([ln.text for ln in block.lines]):
            par.set("dir", "rtl")
        for n, line in enumerate(block.lines, 1):
            span = ET.SubElement(
                par,
                "span",
                {"class": "ocr_line", "id": f"line_{p}_{b}_{n}", "title": _line_title(line, size)},
            )
            if reading_direction([line.text]):
                span.set("dir", "rtl")
            _words(span, line, size, f"{p}_{b}_{n}")


def _words(span: ET.Element, line: Line, size: tuple[int, int], where: str) -> None:
    """The line's words as ``ocrx_word`` spans, spaces between them, when all of them have
    a box; else its text."""
    found = words(line)
    boxes = [w.box for w in found if w.box is not None]
    if not found or len(boxes) < len(found):
        span.text = xml_safe(line.text)
        return
    element = None
    for k, (word, box) in enumerate(zip(found, boxes, strict=True), 1):
        if element is not None:
            element.tail = " "  # (ElementTree's indent makes it a new line: still a space)
        title = f"{_bbox(clamp_box(box, size))}; x_wconf {_percent(word.confidence)}"
        element = ET.SubElement(
            span, "span", {"class": "ocrx_word", "id": f"word_{where}_{k}", "title": title}
        )
        element.text = xml_safe(word.text)
