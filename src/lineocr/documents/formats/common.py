"""What the hOCR, ALTO and PAGE-XML writers share: a document's page, its lines' words,
scripts and languages, confidences, and XML serialisation.

Words come with their boxes where the page reader placed them (:class:`lineocr.page.Word`:
each character aligned to the frames it was read at, traced back through the line's
preprocessing to the line image and along the line's polygon to the page;
docs/documents.md says how and how well). Each format then writes them as its words
(hOCR ``ocrx_word``, ALTO ``String`` with ``HPOS``/``VPOS``, PAGE ``Word`` with
``Coords``). A line whose words have no places (a page rebuilt from an answer without
them, a line read with test-time augmentation) keeps what a line without words gets:
its text on the line, and in ALTO ``String`` elements without a position.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lineocr.documents.names import check_lang  # noqa: F401 - the writers' import
from lineocr.page import (
    Block,
    Line,
    Page,
    Word,
    clamp_box,
    place_words,
    rtl_text,
    split_words,
)
from lineocr.prediction import CharConfidence, Prediction

Box = tuple[int, int, int, int]
Point = tuple[int, int]


@dataclass(frozen=True)
class DocumentPage:
    """One page of a document: a :class:`Page` read from ``image`` (a file's path or name
    as given), page ``number`` of that file (1-based) for a page of a PDF or multi-page
    TIFF, else None."""

    page: Page
    image: str
    number: int | None = None

    @property
    def size(self) -> tuple[int, int]:
        """The page image's width and height in pixels."""
        return self.page.size

    @property
    def name(self) -> str:
        """``path#page`` for a page of a multi-page file, else the path."""
        return self.image if self.number is None else f"{self.image}#{self.number}"


def line_page(prediction: Prediction, size: tuple[int, int]) -> Page:
    """A line image read as a line (``--layout line``) as a page: one block holding one
    line whose box is the whole image (so characters placed on the image, read with
    ``positions=True``, place its words)."""
    w, h = size
    polygon = ((0, 0), (w, 0), (w, h), (0, h))  # pixel edges
    line = Line(
        prediction.text,
        prediction.confidence,
        (0, 0, w, h),
        polygon,
        0,
        prediction.chars,
        place_words(prediction.chars, polygon, (0, max(1, w)), (w, h)),
    )
    return Page((Block((line,)),), 0, 0.0, (w, h), rtl=rtl_text([prediction.text]))


def words(line: Line) -> list[Word]:
    """The line's words in logical order: its placed words (with their boxes) where it has
    them, else its text cut at spaces (no boxes). A line without per-character confidences
    (one made by hand) gives each word the line's confidence."""
    if line.words and " ".join(w.text for w in line.words) == " ".join(line.text.split()):
        return list(line.words)
    chars = line.chars
    if "".join(c.char for c in chars) != line.text:
        chars = tuple(CharConfidence(ch, line.confidence) for ch in line.text)
    return split_words(chars)


# ISO 15924 codes and PAGE-XML's names of the scripts lineocr's models read or may read.
_SCRIPTS = {
    "ARABIC": ("Arab", "Arab - Arabic"),
    "LATIN": ("Latn", "Latn - Latin"),
    "HEBREW": ("Hebr", "Hebr - Hebrew"),
    "CYRILLIC": ("Cyrl", "Cyrl - Cyrillic"),
    "GREEK": ("Grek", "Grek - Greek"),
}

# ISO 639-1 codes -> PAGE-XML's language names (its LanguageSimpleType): the languages a
# user is likely to name; another code is written where a format takes codes (hOCR, ALTO)
# and left out of PAGE-XML.
PAGE_LANGUAGES = {
    "ar": "Arabic",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fr": "French",
    "he": "Hebrew",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "ru": "Russian",
    "tr": "Turkish",
    "ur": "Urdu",
}


def script(texts: Iterable[str]) -> tuple[str, str] | None:
    """(ISO 15924 code, PAGE-XML name) of the script most letters of ``texts`` are in, or
    None (no letters, or a script not in the table)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for ch in text:
            if ch.isalpha():
                counts[unicodedata.name(ch, "").split(" ")[0]] += 1
    if not counts:
        return None
    return _SCRIPTS.get(counts.most_common(1)[0][0])


def page_language(lang: str | None) -> str | None:
    """PAGE-XML's name of the language ``lang`` (its primary subtag), or None."""
    return None if lang is None else PAGE_LANGUAGES.get(lang.split("-")[0].lower())


def clamp_point(point: Point, size: tuple[int, int]) -> Point:
    """``point`` moved inside the image (a line's polygon may reach past the edge once
    turned back from a levelled page)."""
    w, h = size
    return (min(max(point[0], 0), max(w - 1, 0)), min(max(point[1], 0), max(h - 1, 0)))


def block_box(block: Block, size: tuple[int, int]) -> Box:
    return clamp_box(block.box, size)


def block_confidence(block: Block) -> float:
    """The block's lines' confidences averaged, weighted by their lengths (as a page's)."""
    weights = [max(1, len(ln.text)) for ln in block.lines]
    total = sum(w * ln.confidence for w, ln in zip(weights, block.lines, strict=True))
    return total / sum(weights)


def rounded(confidence: float, digits: int = 4) -> str:
    """A confidence in [0, 1] as written: at most ``digits`` decimals."""
    return f"{min(1.0, max(0.0, float(confidence))):.{digits}f}".rstrip("0").rstrip(".") or "0"


def reading_direction(texts: Sequence[str]) -> bool:
    """Whether ``texts`` read right to left (most of their letters are)."""
    return rtl_text(texts)


# Characters XML 1.0 cannot hold (most control characters, lone surrogates such as a
# file name's undecodable bytes, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with characters XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def serialise(root: ET.Element, namespace: str, doctype: str | None = None) -> str:
    """The element as a UTF-8 XML document whose default namespace is ``namespace`` (the
    tags are built unqualified: ElementTree's own ``default_namespace`` refuses unqualified
    attributes): a declaration, the fixed ``doctype`` line if given, then ``root``
    indented. ElementTree writes every tag, attribute and text escaped."""
    root.set("xmlns", namespace)
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' + (doctype + "\n" if doctype else "")
    return head + body + "\n"
