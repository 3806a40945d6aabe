"""Names in and of documents: the file names of PAGE-XML documents written one per page
(``lineocr read --format page --output DIR``) and the language tag written into them
(``--lang``). Kept apart from the writers so that ``lineocr read --server``, which has the
server write the documents, checks and names alike without importing the writers (and
OpenCV with them)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath


def page_xml_names(pages: Iterable[tuple[str, int | None]]) -> list[str]:
    """One file name per (image, page number) in order: the image's name with ``.xml``
    (``scan.xml``; ``fax_p0003.xml`` for page 3 of ``fax.tif``), numbered ``_2``, ``_3``
    ... where two pages would share a name (``a/scan.png`` and ``b/scan.png``)."""
    names: list[str] = []
    taken: set[str] = set()
    for image, number in pages:
        stem = PurePath(image).stem or "page"
        if number is not None:
            stem += f"_p{number:04d}"
        name, k = f"{stem}.xml", 1
        while name in taken:
            k += 1
            name = f"{stem}_{k}.xml"
        taken.add(name)
        names.append(name)
    return names


def check_lang(lang: str | None) -> str | None:
    """``lang`` (a BCP 47 tag such as ``en`` or ``ar``) checked to be one, or None."""
    if lang is None:
        return None
    parts = lang.split("-")
    if not (
        2 <= len(parts[0]) <= 3
        and all(p.isascii() and p.isalnum() and 1 <= len(p) <= 8 for p in parts)
        and parts[0].isalpha()
    ):
        raise ValueError(f"not a language tag (such as en, ar, fr-CA): {lang!r}")
    return lang
