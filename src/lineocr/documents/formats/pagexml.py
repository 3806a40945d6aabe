"""PAGE-XML 2019-07-15 (PRImA's page content format, OCR-D's and Transkribus's): one
``PcGts`` per page, blocks as ``TextRegion`` listed in an ``OrderedGroup`` of the
``ReadingOrder``, lines as ``TextLine`` with their polygon and ``TextEquiv`` (text and
``conf``).

A PAGE file holds one page: several pages are several files (:func:`to_page_xml_files`).
A line's words are ``Word`` elements (between the line's ``Coords`` and its ``TextEquiv``,
as the schema orders them) with their quadrilateral and ``TextEquiv``, where the words were
placed (:mod:`lineocr.documents.formats.common`); PAGE requires each word's ``Coords``, so
a line whose words have no places has no ``Word`` elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone

from lineocr import __version__
from lineocr.documents.formats.common import (
    DocumentPage,
    Point,
    block_box,
    block_confidence,
    check_lang,
    clamp_point,
    page_language,
    reading_direction,
    rounded,
    script,
    serialise,
    words,
    xml_safe,
)
from lineocr.documents.names import page_xml_names

PAGE = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = f"{PAGE}/pagecontent.xsd"


def _points(points: Sequence[Point], size: tuple[int, int]) -> str:
    return " ".join("{},{}".format(*clamp_point(p, size)) for p in points)


def _text_equiv(parent: ET.Element, text: str, confidence: float | None) -> None:
    equiv = ET.SubElement(parent, "TextEquiv")
    if confidence is not None:
        equiv.set("conf", rounded(confidence))
    ET.SubElement(equiv, "Unicode").text = xml_safe(text)


def orientation(rotation: int, skew: float) -> float:
    """PAGE's ``orientation``: the degrees clockwise the image must be turned to set its
    text upright and level (-179.999 to 180). ``rotation``: degrees counter-clockwise it
    was turned to be read; ``skew``: degrees its lines leaned (counter-clockwise) once
    upright, which the reading turned away clockwise."""
    degrees = (skew - rotation) % 360.0
    return round(degrees - 360.0 if degrees > 180.0 else degrees, 3)


def to_page_xml(
    doc_page: DocumentPage, *, lang: str | None = None, created: datetime | None = None
) -> str:
    """The page as a PAGE-XML document. ``lang``: the text's language (a BCP 47 tag such as
    ``en``; PAGE names it, ``primaryLanguage``, when :data:`~.common.PAGE_LANGUAGES` knows
    it). ``created``: the ``Created``/``LastChange`` time (default: now)."""
    lang = check_lang(lang)
    when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = when.replace(tzinfo=None).isoformat(timespec="seconds")
    page, size = doc_page.page, doc_page.size
    root = ET.Element("PcGts")
    root.set(f"{{{XSI}}}schemaLocation", f"{PAGE} {SCHEMA}")
    metadata = ET.SubElement(root, "Metadata")
    ET.SubElement(metadata, "Creator").text = f"lineocr {__version__}"
    ET.SubElement(metadata, "Created").text = stamp
    ET.SubElement(metadata, "LastChange").text = stamp
    if doc_page.number is not None:
        ET.SubElement(metadata, "Comments").text = xml_safe(
            f"page {doc_page.number} of {doc_page.image}"
        )
    element = ET.SubElement(
        root,
        "Page",
        {
            "imageFilename": xml_safe(doc_page.image),
            "imageWidth": str(size[0]),
            "imageHeight": str(size[1]),
        },
    )
    turn = orientation(page.rotation, page.skew)
    if turn:
        element.set("orientation", f"{turn:g}")
    _language(element, [ln.text for ln in page.lines], lang)
    if page.blocks:
        order = ET.SubElement(element, "ReadingOrder")
        group = ET.SubElement(order, "OrderedGroup", {"id": "reading_order"})
        for b in range(1, len(page.blocks) + 1):
            ET.SubElement(group, "RegionRefIndexed", {"index": str(b - 1), "regionRef": f"r{b}"})
    for b, block in enumerate(page.blocks, 1):
        region = ET.SubElement(element, "TextRegion", {"id": f"r{b}", "type": "paragraph"})
        _language(region, [ln.text for ln in block.lines], lang)
        x0, y0, x1, y1 = block_box(block, size)
        corners = ((x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1))
        ET.SubElement(region, "Coords", {"points": _points(corners, size)})
        for n, line in enumerate(block.lines, 1):
            text_line = ET.SubElement(region, "TextLine", {"id": f"r{b}_l{n}"})
            _language(text_line, [line.text], lang)
            ET.SubElement(text_line, "Coords", {"points": _points(line.polygon, size)})
            found = words(line)
            if found and all(len(w.polygon) == 4 for w in found):
                for k, word in enumerate(found, 1):
                    word_el = ET.SubElement(text_line, "Word", {"id": f"r{b}_l{n}_w{k}"})
                    ET.SubElement(word_el, "Coords", {"points": _points(word.polygon, size)})
                    _text_equiv(word_el, word.text, word.confidence)
            _text_equiv(text_line, line.text, line.confidence)
        _text_equiv(region, "\n".join(ln.text for ln in block.lines), block_confidence(block))
    return serialise(root, PAGE)


def _language(element: ET.Element, texts: list[str], lang: str | None) -> None:
    """``readingDirection``, ``primaryLanguage`` and ``primaryScript`` of ``texts``, in the
    order PAGE lists them (the attributes' order does not matter to XML)."""
    element.set(
        "readingDirection", "right-to-left" if reading_direction(texts) else "left-to-right"
    )
    language = page_language(lang)
    if language is not None:
        element.set("primaryLanguage", language)
    found = script(texts)
    if found is not None:
        element.set("primaryScript", found[1])


def to_page_xml_files(
    pages: Sequence[DocumentPage], *, lang: str | None = None, created: datetime | None = None
) -> dict[str, str]:
    """One PAGE-XML document per page, by file name: the image's name with ``.xml``
    (``scan.xml``; ``fax_p0003.xml`` for page 3 of ``fax.tif``), numbered ``_2``, ``_3``
    ... where two pages would share a name (``a/scan.png`` and ``b/scan.png``)."""
    names = page_xml_names((doc_page.image, doc_page.number) for doc_page in pages)
    return {
        name: to_page_xml(doc_page, lang=lang, created=created)
        for name, doc_page in zip(names, pages, strict=True)
    }
