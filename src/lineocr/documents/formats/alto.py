"""ALTO 4.3 (the Library of Congress's layout-and-text XML): one ``Page`` per page, its
blocks as ``TextBlock`` in reading order (also listed in a ``ReadingOrder``), each line a
``TextLine`` with its box, and its words as ``String`` elements separated by ``SP``.

A ``String`` has its word's box (``HPOS``/``VPOS``/``WIDTH``/``HEIGHT``) where the word
was placed (:mod:`lineocr.documents.formats.common`); else none (optional in ALTO), and its
line's box is what a reader has. ``WC`` is
a word's confidence (0-1), ``CC`` its characters' (0 sure to 9 unsure, space-separated),
``PC`` a page's. ALTO 4.3 rather than 4.2 for ``BASEDIRECTION`` (rtl) and
``ReadingOrder``; the namespace is ALTO 4's, which readers of any 4.x take.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime, timezone

from lineocr import __version__
from lineocr.documents.formats.common import (
    Box,
    DocumentPage,
    Word,
    block_box,
    check_lang,
    clamp_box,
    reading_direction,
    rounded,
    serialise,
    words,
    xml_safe,
)

ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-3.xsd"


def _geometry(box: Box) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


def _char_confidences(confidences: Sequence[float]) -> str:
    """ALTO's ``CC``: per character, 0 (sure) to 9 (unsure)."""
    return " ".join(str(round(9 * (1 - min(1.0, max(0.0, c))))) for c in confidences)


def to_alto(
    pages: Sequence[DocumentPage], *, lang: str | None = None, created: datetime | None = None
) -> str:
    """One ALTO document holding ``pages`` in order. When they all come from one file, its
    name is the ``fileName`` and a page's ``PHYSICAL_IMG_NR`` its number in that file (a
    PDF's or TIFF's page; 1 for an image); else ``PHYSICAL_IMG_NR`` is its place among
    ``pages`` (1, 2, ...), in the order given. ``lang``: the text's
    language (a BCP 47 tag such as ``en``), each block's ``LANG``. ``created``: when it was
    read (default: now), the processing step's time."""
    lang = check_lang(lang)
    when = (created or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    root = ET.Element("alto", {"SCHEMAVERSION": "4.3"})
    root.set(f"{{{XSI}}}schemaLocation", f"{ALTO} {SCHEMA}")
    description = ET.SubElement(root, "Description")
    ET.SubElement(description, "MeasurementUnit").text = "pixel"
    images = {doc_page.image for doc_page in pages}
    one_file = len(images) == 1
    if one_file:
        info = ET.SubElement(description, "sourceImageInformation")
        ET.SubElement(info, "fileName").text = xml_safe(images.pop())
    processing = ET.SubElement(description, "Processing", {"ID": "lineocr"})
    ET.SubElement(processing, "processingDateTime").text = when
    software = ET.SubElement(processing, "processingSoftware")
    ET.SubElement(software, "softwareName").text = "lineocr"
    ET.SubElement(software, "softwareVersion").text = __version__
    order = ET.SubElement(root, "ReadingOrder")
    layout = ET.SubElement(root, "Layout")
    for p, doc_page in enumerate(pages, 1):
        number = (doc_page.number or 1) if one_file else p
        block_ids = _page(layout, doc_page, p, number, lang)
        if block_ids:  # a group holds at least one reference
            group = ET.SubElement(order, "OrderedGroup", {"ID": f"order_p{p}"})
            for k, block_id in enumerate(block_ids, 1):
                ET.SubElement(group, "ElementRef", {"ID": f"order_p{p}_{k}", "REF": block_id})
    if not len(order):  # ReadingOrder holds at least one group
        root.remove(order)
    return serialise(root, ALTO)


def _page(
    layout: ET.Element, doc_page: DocumentPage, p: int, number: int, lang: str | None
) -> list[str]:
    """The page (the ``p``-th, ``PHYSICAL_IMG_NR`` ``number``) written into ``layout``;
    its blocks' IDs in reading order."""
    page, size = doc_page.page, doc_page.size
    attrs = {
        "ID": f"p{p}",
        "PHYSICAL_IMG_NR": str(number),
        "WIDTH": str(size[0]),
        "HEIGHT": str(size[1]),
        "PC": rounded(page.confidence),
    }
    element = ET.SubElement(layout, "Page", attrs)
    space = ET.SubElement(element, "PrintSpace", _geometry((0, 0, *size)))
    ids = []
    for b, block in enumerate(page.blocks, 1):
        block_id = f"p{p}_b{b}"
        ids.append(block_id)
        text_block = ET.SubElement(
            space, "TextBlock", {"ID": block_id, **_geometry(block_box(block, size))}
        )
        if lang is not None:
            text_block.set("LANG", lang)
        if reading_direction([ln.text for ln in block.lines]):
            text_block.set("BASEDIRECTION", "rtl")
        for n, line in enumerate(block.lines, 1):
            text_line = ET.SubElement(
                text_block,
                "TextLine",
                {"ID": f"p{p}_b{b}_l{n}", **_geometry(clamp_box(line.box, size))},
            )
            if reading_direction([line.text]):
                text_line.set("BASEDIRECTION", "rtl")
            # A line read as nothing keeps one empty String (a TextLine holds at least one).
            for w, word in enumerate(words(line) or [Word("", line.confidence)], 1):
                if w > 1:
                    ET.SubElement(text_line, "SP")
                attrs = {"ID": f"p{p}_b{b}_l{n}_w{w}"}
                if word.box is not None:
                    attrs.update(_geometry(clamp_box(word.box, size)))
                attrs.update(CONTENT=xml_safe(word.text), WC=rounded(word.confidence))
                string = ET.SubElement(text_line, "String", attrs)
                if word.chars:
                    string.set("CC", _char_confidences([c.confidence for c in word.chars]))
    return ids
