#!/usr/bin/env python3
"""Turn fetched texts into training corpora: one UTF-8 file, one paragraph per line.

Used by scripts/fetch-corpora.sh (not by lineocr at run time). Each source is
``KIND:PATH``:

- ``gutenberg:FILE``: a plain-text book (paragraphs separated by blank lines); a Project
  Gutenberg header or footer is cut off, headings and short centred lines left out;
- ``mallard:DIR``: every ``*.page`` file (GNOME help, Mallard XML) in DIR, its ``<p>``
  paragraphs;
- ``quran-def:FILE``: the verses of the LaTeX ``quran`` package's ``qurantext-*.def``
  file, one verse a line;
- ``ftl:DIR``: the messages of every Mozilla Fluent file (``*.ftl``) under DIR, the text of
  a translated program's interface (Firefox, Thunderbird), one message a paragraph;
- ``mo:DIR``: the translated messages of every gettext catalogue (``*.mo``) under DIR
  (LibreOffice's interface and its one-line help), one message a paragraph.

Interface messages lose their placeholders (``{ $name }``, ``$NAME``, ``%PRODUCTNAME``,
``%1$S``), markup and access keys (``~``, ``&``) before normalisation.

``--lang en`` keeps printable ASCII: typographic quotes become ``'`` and ``"``, the
backquote of old e-texts ``'``, em dashes ``--``, accents are dropped (``café`` -> ``cafe``),
and a paragraph with any other character is left out. ``--lang eu`` (the languages of
western Europe: French, German, Spanish, Italian, Dutch, Portuguese, Catalan, the
Scandinavian languages) does the same but keeps the accented letters of Latin-1 (``é``,
``ß``, ``ñ``, ``ø``...), ``œ``, the guillemets ``« »``, ``¿ ¡`` and ``€ £ ° §``.
``--lang ar`` keeps Arabic letters, Arabic and Western digits and punctuation:
vowel marks, tatweel and Quranic annotation signs are removed, alef wasla becomes alef,
Persian kaf and yeh the Arabic ones, and a paragraph with other letters is left out.

    normalize_corpora.py --lang en --out prose-en.txt gutenberg:alice29.txt mallard:help/C
"""

from __future__ import annotations

import argparse
import gettext
import re
import sys
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

PROG = "normalize_corpora.py"
MIN_WORDS = 5  # shorter paragraphs are headings, captions, menu paths
LATIN_ALLOWED = frozenset(chr(c) for c in range(0x20, 0x7F))
_LATIN_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2014": "--",
        "\u2015": "--",
        "\u2013": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u00d7": "x",
    }
)
# Latin-1's letters (U+00C0-U+00FF without the signs x and ÷), the French ligature, and the
# signs of western European running text.
LATIN1_LETTERS = frozenset(
    chr(c) for c in range(0xC0, 0x100) if unicodedata.category(chr(c)).startswith("L")
) | frozenset("\u0152\u0153")
EU_ALLOWED = (
    LATIN_ALLOWED | LATIN1_LETTERS | frozenset("\u00ab\u00bb\u00bf\u00a1\u20ac\u00a3\u00b0\u00a7")
)
ARABIC_LETTERS = frozenset("ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي")
ARABIC_OTHER = frozenset("٠١٢٣٤٥٦٧٨٩0123456789،؛؟«»().:!-/ ")
_ARABIC_MAP = str.maketrans({"ٱ": "ا", "ک": "ك", "ی": "ي", "ى": "ى", "ۀ": "ه", "ە": "ه"})
# Vowel marks (U+064B-U+065F), superscript alef, Quranic annotation signs, tatweel.
_ARABIC_DROP = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed\u0640\u200c-\u200f]")
_GUTENBERG_START = re.compile(r"^\s*\*{3} ?START OF|^\s*\*END\*?THE SMALL PRINT", re.I | re.M)
_GUTENBERG_END = re.compile(
    r"^\s*\*{3} ?END OF|^\s*\*?End of (the )?Project Gutenberg|^\s*End of Project Gutenberg",
    re.I | re.M,
)


class CorpusSourceError(ValueError):
    """A source that cannot be read; the message names it."""


# -- sources -----------------------------------------------------------------------------


def gutenberg_paragraphs(text: str) -> Iterator[str]:
    """Paragraphs of a plain-text book: blank-line separated blocks joined into one line,
    the Gutenberg header and footer cut off, centred lines (titles, headings) left out."""
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[text.index("\n", start.start()) + 1 :]
    end = _GUTENBERG_END.search(text)
    if end:
        text = text[: end.start()]
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        # Titles, headings and tables of contents are indented well past a paragraph's
        # first-line indent: a block whose lines mostly are is not prose.
        indented = sum(len(line) - len(line.lstrip()) >= 6 for line in lines)
        if indented * 2 > len(lines):
            continue
        yield " ".join(line.strip() for line in lines)


def mallard_paragraphs(folder: Path) -> Iterator[str]:
    """The ``<p>`` paragraphs of every Mallard page in ``folder`` (sorted by name), with
    the text of their inline elements; images and untranslated media are skipped."""
    pages = sorted(folder.glob("*.page"))
    if not pages:
        raise CorpusSourceError(f"{folder}: no Mallard *.page files")
    for page in pages:
        try:
            root = ET.parse(page).getroot()
        except ET.ParseError as exc:
            raise CorpusSourceError(f"{page}: not XML: {exc}") from None
        yield from _paragraphs_in(root)


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _paragraphs_in(element: ET.Element) -> Iterator[str]:
    """The ``<p>`` texts under ``element``, outside page metadata and code listings."""
    for child in element:
        name = _local(child.tag)
        if name in ("info", "code", "screen", "synopsis"):
            continue
        if name == "p":
            yield "".join(_text_of(child))
        else:
            yield from _paragraphs_in(child)


def _text_of(element: ET.Element) -> Iterator[str]:
    if _local(element.tag) != "media":  # an icon in the line: no text
        yield element.text or ""
        for child in element:
            yield from _text_of(child)
            yield child.tail or ""


_PLACEHOLDER = re.compile(
    r"\{[^{}]*\}|<[^<>]*>|&[a-z]+;|%[0-9]*\$?[A-Za-z]+%?|\$[A-Za-z_][A-Za-z0-9_]*\$?|[~&]"
)


def _message(text: str) -> str:
    """An interface message without its placeholders, markup and access keys."""
    for _ in range(3):  # Fluent placeables nest: { PLATFORM() -> [a] { $x } }
        text = _PLACEHOLDER.sub(" ", text)
    return " ".join(text.replace("\\n", " ").split())


def ftl_messages(folder: Path) -> Iterator[str]:
    """The message values and attributes of every Fluent file under ``folder`` (sorted)."""
    files = sorted(folder.rglob("*.ftl"))
    if not files:
        raise CorpusSourceError(f"{folder}: no Fluent *.ftl files")
    entry = re.compile(r"^\s*(?:-?[A-Za-z][\w-]*|\.[A-Za-z][\w-]*)\s*=\s*(.*)$")
    for file in files:
        for line in file.read_text(encoding="utf-8", errors="replace").splitlines():
            match = entry.match(line)
            if match and match.group(1).strip():
                yield _message(match.group(1))


def mo_messages(folder: Path) -> Iterator[str]:
    """The translations in every gettext ``*.mo`` catalogue under ``folder`` (sorted)."""
    files = sorted(folder.rglob("*.mo"))
    if not files:
        raise CorpusSourceError(f"{folder}: no gettext *.mo files")
    for file in files:
        try:
            with file.open("rb") as handle:
                catalog = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        except OSError as exc:
            raise CorpusSourceError(f"{file}: not a gettext catalogue: {exc}") from None
        for key in sorted(catalog, key=str):
            if key and isinstance(catalog[key], str):  # the "" entry is the header
                yield _message(catalog[key])


def quran_def_verses(text: str) -> Iterator[str]:
    """The verses of a ``qurantext-*.def`` file of the LaTeX ``quran`` package: the
    argument of each ``\\qt@newcmd`` without its verse number and macros."""
    for match in re.finditer(r"\\qt@newcmd\\qurantext@[a-z]+\{(.*)\}\s*$", text, re.M):
        verse = re.sub(r"\\qt@no\{[^}]*\}", " ", match.group(1))
        verse = re.sub(r"\\[A-Za-z@]+", " ", verse)
        yield verse.replace("{", " ").replace("}", " ")


# -- normalisation -----------------------------------------------------------------------


def normalize_latin(paragraph: str) -> str | None:
    """``paragraph`` in printable ASCII, or None when it has other characters."""
    text = unicodedata.normalize("NFKC", paragraph).translate(_LATIN_MAP)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = " ".join(text.split())
    if not text or not set(text) <= LATIN_ALLOWED:
        return None
    return text


def normalize_european(paragraph: str) -> str | None:
    """``paragraph`` in printable ASCII and the letters and signs of :data:`EU_ALLOWED`
    (accents kept, composed), or None when it has other characters."""
    text = unicodedata.normalize("NFKC", paragraph).translate(_LATIN_MAP)
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if not text or not set(text) <= EU_ALLOWED:
        return None
    return text


def normalize_arabic(paragraph: str) -> str | None:
    """``paragraph`` in Arabic letters, digits and punctuation, without vowel marks, or
    None when it has other letters (Latin words, Persian or Urdu letters)."""
    text = unicodedata.normalize("NFC", paragraph)
    text = _ARABIC_DROP.sub("", text).translate(_ARABIC_MAP)
    text = re.sub(r"[\u06dd\u06de\u06e9\ufd3e\ufd3f]", " ", text)  # ayah, rub el hizb, sajdah
    text = " ".join(text.split())
    if not text or not set(text) <= ARABIC_LETTERS | ARABIC_OTHER:
        return None
    if not any(c in ARABIC_LETTERS for c in text):
        return None
    return text


def normalized(paragraphs: Iterable[str], lang: str) -> Iterator[str]:
    """The usable paragraphs, normalised for ``lang`` (``en``, ``eu`` or ``ar``), each once."""
    clean = {"en": normalize_latin, "eu": normalize_european, "ar": normalize_arabic}[lang]
    seen: set[str] = set()
    for paragraph in paragraphs:
        text = clean(paragraph)
        if text is None or len(text.split()) < MIN_WORDS or text in seen:
            continue
        if lang != "ar" and sum(c.islower() for c in text) < sum(c.isupper() for c in text):
            continue  # all-capital headings and notices
        seen.add(text)
        yield text


def read_source(spec: str) -> Iterator[str]:
    kind, sep, path_text = spec.partition(":")
    path = Path(path_text)
    folders = {"mallard": mallard_paragraphs, "ftl": ftl_messages, "mo": mo_messages}
    if not sep or kind not in ("gutenberg", "quran-def", *folders):
        raise CorpusSourceError(
            f"{spec}: expected gutenberg:FILE, quran-def:FILE, mallard:DIR, ftl:DIR or mo:DIR"
        )
    if kind in folders:
        if not path.is_dir():
            raise CorpusSourceError(f"{path}: no such folder")
        return folders[kind](path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusSourceError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    return gutenberg_paragraphs(text) if kind == "gutenberg" else quran_def_verses(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("en", "eu", "ar"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="the corpus file to write")
    parser.add_argument("sources", nargs="+", metavar="KIND:PATH")
    args = parser.parse_args(argv)
    lines: list[str] = []
    try:
        for spec in args.sources:
            kept = list(normalized(read_source(spec), args.lang))
            if not kept:
                raise CorpusSourceError(f"{spec}: no usable paragraph")
            print(f"{PROG}: {spec}: {len(kept)} paragraphs", file=sys.stderr)
            lines.extend(kept)
    except CorpusSourceError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    # Once each across sources too: an untranslated paragraph recurs in every translation.
    lines = list(dict.fromkeys(lines))
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_text("\n".join(lines) + "\n", encoding="utf-8")
    partial.replace(args.out)  # all or nothing
    return 0


if __name__ == "__main__":
    sys.exit(main())
