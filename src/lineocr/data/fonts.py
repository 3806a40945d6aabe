"""Fonts for synthetic lines: discovery, glyph coverage (no tofu), script filters, held-out split.

A :class:`FontFace` knows exactly which characters it draws: a character counts as covered
only if the font's cmap maps it, the glyph has ink, and the glyph is not drawn like the
font's missing-glyph box. A line is only ever rendered with a face that covers every one
of its characters, so a synthetic image never shows a tofu box for a character its label
names. Families are split deterministically (by a hash of the family name) into ``train``
and ``val`` so a model can be validated on fonts it never saw.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageFont, features

from lineocr.data import font_cache
from lineocr.data.corpora import ARABIC_INDIC_DIGITS, DIGITS

FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
VAL_FRACTION = 0.25
_SPLIT_SALT = "lineocr-font-split-v1"
# Style words dropped from a family name so that e.g. "Liberation Sans Narrow" and
# "Liberation Sans" fall on the same side of the train/val split.
_STYLE_WORDS = frozenset(
    {
        "condensed",
        "narrow",
        "display",
        "light",
        "extralight",
        "semibold",
        "medium",
        "black",
        "thin",
        "ui",
    }
)
# Families never picked by discovery (explicitly named fonts or font files still are):
# symbol, maths and music fonts, Quranic and decorative display faces, outline styles,
# Nastaliq (Urdu calligraphy) and monospace faces whose Arabic is drawn unjoined.
EXCLUDED_FAMILIES = frozenset(
    {
        "amiri quran",
        "amiri quran colored",
        "dejavu math tex gyre",
        "noto sans math",
        "noto sans symbols",
        "noto sans symbols2",
        "noto music",
        "noto traditional nushu",
        "noto nastaliq urdu",
        "kacstart",
        "kacstdecorative",
        "kacstdigital",
        "kacstposter",
        "kacstqurn",
        "mry_kacstqurn",
        "kacsttitle",
        "kacsttitlel",
        "kacstscreen",
        # URW / Libertine symbol, dingbat and key-cap faces map ASCII to pictures.
        "standard symbols ps",
        "d050000l",
        "linux biolinum keyboard o",
        # Arabeyes faces drawn in outline/shadow, unjoined, or with wrong letter forms.
        "shado",
        "thabit",
        "almanzomah",
        "hor",
        # Letter-spaced: the gap between letters is nearly a word space, so where a label's
        # spaces fall is ambiguous in the image (its Arabic is stretched the same way).
        "freefarsi monospace",
        "ukij teng",
        # UKIJ (Uyghur) faces that draw ornaments (Tughra), Old Turkic-style letters (Orqun),
        # patterned or spiky letters (Esliye Neqish, Tiken, Chechek), or boxes for 0-9 (Mac
        # Ekran).
        "ukij tughra",
        "ukij orqun basma",
        "ukij orqun yazma",
        "ukij esliye neqish",
        "ukij tiken",
        "ukij chechek",
        "ukij_mac ekran",
    }
)
EXCLUDED_FOR_SCRIPT = {"arabic": frozenset({"freemono"})}
# Families made for Arabic-script languages (Uyghur's UKIJ set, Kurdish Unikurd) whose Latin
# letters and Western digits are borrowed or decorative: used only for lines that need an
# Arabic-script character (Arabic letters or Arabic-Indic digits), never for Latin or 0-9
# alone. And all UKIJ faces are one unit of the train/val split: the set holds a dozen
# weights and variants of a few designs under separate names (Tuz, Tuz Basma, Tuz Kitab...),
# so a held-out UKIJ family would have its twin in training.
ARABIC_SCRIPT_ONLY_PREFIXES = ("ukij", "unikurd")
_SPLIT_UNIT_PREFIXES = ("ukij",)
# Digits a family draws so that one reads as another digit (of its own or of most fonts):
# such a face never draws a line with them (its letters and other digits are still used).
# Badeen Display draws 2 and 3 as two and three bars in a black block, one blur apart, in
# both digit sets; Playpen Sans Arabic draws Arabic-Indic 3 as the two-toothed shape most
# fonts give 2 (trained on, the two taught the arabic-digits model to read 2 as 3); Nada
# (Arabeyes) draws Arabic-Indic 4 with the same outline as its 2, so no reader can tell
# them apart (docs/synth.md).
UNCLEAR_DIGITS: dict[str, str] = {
    "badeen": ARABIC_INDIC_DIGITS + DIGITS,
    "playpen sans arabic": ARABIC_INDIC_DIGITS,
    "nada": ARABIC_INDIC_DIGITS,
}
_MISSING_PROBE = "\U0010fffd"  # a private-use code point no font maps: draws .notdef
_PROBE_SIZE = 24

SPLITS = ("train", "val", "all")


class FontError(ValueError):
    """No usable font, or a font that cannot be read; the message says which."""


@dataclass(frozen=True)
class FontFace:
    """One face of a font file and the characters it can draw."""

    path: str
    index: int  # face number inside a .ttc collection, else 0
    family: str  # normalised family name: the unit of the train/val split
    name: str  # human-readable full name
    covered: frozenset[str]  # characters drawn with a real glyph (checked, see module doc)
    localized_digits: bool = False  # draws 0-9 as Arabic-Indic digits next to Arabic letters

    def covers(self, text: str) -> bool:
        """True if every character of ``text`` (spaces included) has a real glyph here."""
        return self.covered.issuperset(text)

    def can_render(self, text: str) -> bool:
        """:meth:`covers`, and the digits it draws are the digits the label names."""
        if not self.covers(text):
            return False
        if self.localized_digits and any(c.isascii() and c.isdigit() for c in text):
            return not any(is_arabic_letter(c) for c in text)
        return True

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "index": self.index, "family": self.family, "name": self.name}


def _in_arabic_block(ch: str) -> bool:
    return "\u0600" <= ch <= "\u06ff"


def is_arabic_letter(ch: str) -> bool:
    return _in_arabic_block(ch) and unicodedata.category(ch).startswith("L")


# Families that are the same design under another name (URW's PostScript clones and the TeX
# Gyre fonts made from them) share one split unit, so a held-out family never has its twin
# in training.
_SAME_DESIGN = {
    "nimbus sans": "tex gyre heros",
    "tex gyre heros cn": "tex gyre heros",
    "nimbus roman": "tex gyre termes",
    "nimbus mono ps": "tex gyre cursor",
    "z003": "tex gyre chorus",
    "p052": "tex gyre pagella",
    "c059": "tex gyre schola",
    "urw bookman": "tex gyre bonum",
    "urw gothic": "tex gyre adventor",
    # PakType's faces share their Latin letters and digits (and Naskh Basic ships one
    # design under per-language names): one split unit.
    "paktype naskh basic": "paktype",
    "paktype naskh basic farsi": "paktype",
    "paktype naskh basic sa": "paktype",
    "paktype naskh basic sindhi": "paktype",
    "paktype naskh basic urdu": "paktype",
    "paktype ajrak": "paktype",
    "paktype naqsh": "paktype",
    "paktype tehreer": "paktype",
    # SIL's redesign keeps the letter shapes of the Scheherazade that Debian ships.
    "scheherazade new": "scheherazade",
}


def normalize_family(name: str) -> str:
    family = _normalize_words(name)
    return _SAME_DESIGN.get(family, family)


def _normalize_words(name: str) -> str:
    words = [w for w in name.lower().replace("-", " ").split() if w not in _STYLE_WORDS]
    return " ".join(words) or name.lower()


# -- discovery ---------------------------------------------------------------------------
def system_font_files() -> list[Path]:
    """Font files known to fontconfig (``fc-list``), else those under the usual font folders."""
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run(
                [fc_list, "--format", "%{file}\n"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            ).stdout
            files = {Path(line.strip()) for line in out.splitlines() if line.strip()}
            found = sorted(p for p in files if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
            if found:
                return found
        except (OSError, subprocess.SubprocessError):
            pass
    found_set: set[Path] = set()
    for folder in FONT_DIRS:
        found_set.update(font_files_in(Path(folder).expanduser()))
    return sorted(found_set)


def font_files_in(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        Path(root) / name
        for root, _, names in os.walk(folder)
        for name in names
        if name.lower().endswith(FONT_SUFFIXES)
    )


@dataclass(frozen=True)
class _FontRecord:
    path: str
    index: int
    family: str
    name: str
    # A frozenset, or font_cache.CodepointRuns from the cache; not compared or hashed (a
    # face is its file and index): records key the glyph-check cache.
    cmap: AbstractSet[int] = field(compare=False)


@lru_cache(maxsize=4096)
def _read_records(path: str) -> tuple[_FontRecord, ...]:
    """Every face of one font file with its cmap (read with fontTools, cached per process
    and on disk: :mod:`lineocr.data.font_cache`)."""
    cached = font_cache.get_records(path)
    if cached is not None:
        return tuple(
            _FontRecord(path, int(i), str(family), str(name), font_cache.runs_cmap(runs))
            for i, family, name, runs in cached
        )
    records = _read_font_file(path)
    font_cache.put_records(
        path, [[r.index, r.family, r.name, font_cache.cmap_runs(r.cmap)] for r in records]
    )
    return records


def _read_font_file(path: str) -> tuple[_FontRecord, ...]:
    try:
        from fontTools.ttLib import TTCollection, TTFont
    except ImportError:  # pragma: no cover - fontTools is a dependency
        raise FontError("the glyph-coverage check needs fontTools: pip install fonttools") from None
    try:
        if path.lower().endswith(".ttc"):
            with TTCollection(path, lazy=True) as collection:
                fonts = list(collection.fonts)
                return tuple(_record(path, i, font) for i, font in enumerate(fonts))
        with TTFont(path, lazy=True) as font:
            return (_record(path, 0, font),)
    except Exception as exc:  # fontTools raises many types for broken files
        raise FontError(f"{path}: cannot read font: {exc}") from None


def font_family(path: str | Path, index: int = 0) -> str:
    """The normalised family of a font file's face: the unit of the train/val split."""
    return _read_records(str(path))[index].family


def _record(path: str, index: int, font: object) -> _FontRecord:
    cmap = font.getBestCmap() or {}  # type: ignore[attr-defined]
    names = font["name"]  # type: ignore[index]
    family = str(names.getBestFamilyName() or Path(path).stem)
    full = str(names.getBestFullName() or family)
    return _FontRecord(path, index, normalize_family(family), full, frozenset(cmap))


def _records(paths: Iterable[Path | str], *, skip_unreadable: bool) -> list[_FontRecord]:
    out: list[_FontRecord] = []
    for p in paths:
        try:
            out.extend(_read_records(str(p)))
        except FontError:
            if not skip_unreadable:
                raise
    return out


def resolve_font_sources(sources: Sequence[str] = ()) -> list[tuple[_FontRecord, bool]]:
    """Font sources -> (record, explicit) pairs.

    A source is a font file, a folder (searched recursively) or a family name matched
    exactly (case-insensitive, style words ignored) against the system fonts. With no
    sources, the system fonts are used. ``explicit`` is True for files and family names:
    those are used even if :data:`EXCLUDED_FAMILIES` lists them.
    """
    if not sources:
        return [(r, False) for r in _records(system_font_files(), skip_unreadable=True)]
    out: list[tuple[_FontRecord, bool]] = []
    system: list[_FontRecord] | None = None
    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            found = _records(font_files_in(path), skip_unreadable=True)
            if not found:
                raise FontError(f"no readable font files (.ttf, .otf, .ttc) in {source}")
            out.extend((r, False) for r in found)
        elif path.is_file():
            out.extend((r, True) for r in _records([path], skip_unreadable=False))
        else:
            if system is None:
                system = _records(system_font_files(), skip_unreadable=True)
            key = normalize_family(source)
            named = [r for r in system if r.family == key or r.name.lower() == source.lower()]
            if not named:
                families = sorted({r.family for r in system})
                raise FontError(
                    f"font {source!r} is not a file, a folder or an installed "
                    f"family; installed families: {', '.join(families)}"
                )
            out.extend((r, True) for r in named)
    unique: dict[tuple[str, int], tuple[_FontRecord, bool]] = {}
    for record, explicit in out:
        key2 = (record.path, record.index)
        unique[key2] = (record, explicit or unique.get(key2, (record, False))[1])
    return list(unique.values())


# -- glyph checks ------------------------------------------------------------------------
def _layout() -> ImageFont.Layout:
    return ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


def _bitmap(font: ImageFont.FreeTypeFont, text: str, direction: str | None = None) -> np.ndarray:
    core, _ = font.getmask2(text, mode="L", direction=direction)
    return np.asarray(Image.Image()._new(core))


def _drawn(record: _FontRecord, chars: Iterable[str]) -> tuple[frozenset[str], bool]:
    """Which of ``chars`` the face really draws (see the module docstring), and whether it
    draws 0-9 as Arabic-Indic digits next to Arabic letters (probed when it draws both sets
    and ب). What the glyphs show, before any policy: cached on disk."""
    font = ImageFont.truetype(record.path, _PROBE_SIZE, index=record.index, layout_engine=_layout())
    notdef = _bitmap(font, _MISSING_PROBE)
    covered: set[str] = set()
    for ch in sorted(set(chars)):
        if ord(ch) not in record.cmap:
            continue
        if ch.isspace():
            covered.add(ch)
            continue
        glyph = _bitmap(font, ch)
        if glyph.size == 0 or int(glyph.max()) < 64:
            continue  # an empty glyph: the character would be silently missing
        if glyph.shape == notdef.shape and np.array_equal(glyph, notdef):
            continue  # drawn as the missing-glyph box
        covered.add(ch)
    localized = False
    if _draws_both_digit_sets(covered):
        # Some Arabic fonts substitute Arabic-Indic shapes for 0-9 in Arabic context.
        western = _bitmap(font, "ب " + DIGITS, "rtl")
        eastern = _bitmap(font, "ب " + ARABIC_INDIC_DIGITS, "rtl")
        localized = western.shape == eastern.shape and np.array_equal(western, eastern)
    return frozenset(covered), localized


def _draws_both_digit_sets(covered: set[str] | frozenset[str]) -> bool:
    return "ب" in covered and all(d in covered for d in DIGITS + ARABIC_INDIC_DIGITS)


def _drawn_cached(record: _FontRecord, chars: str) -> tuple[frozenset[str], bool]:
    """:func:`_drawn`, cached on disk (:mod:`lineocr.data.font_cache`)."""
    cached = font_cache.get_check(record.path, record.index, chars)
    if cached is not None:
        return frozenset(cached[0]), cached[1]
    covered, localized = _drawn(record, chars)
    font_cache.put_check(record.path, record.index, chars, "".join(sorted(covered)), localized)
    return covered, localized


def _check_record(record: _FontRecord, chars: str) -> FontFace:
    """The face with the characters it draws, less the digits its family draws unclearly
    (:data:`UNCLEAR_DIGITS`)."""
    drawn, localized = _drawn_cached(record, chars)
    covered = drawn - set(UNCLEAR_DIGITS.get(record.family, ""))
    localized = localized and _draws_both_digit_sets(covered)
    return FontFace(record.path, record.index, record.family, record.name, covered, localized)


@lru_cache(maxsize=8192)
def _check_cached(record: _FontRecord, chars: str) -> FontFace:
    return _check_record(record, chars)


def load_faces(
    sources: Sequence[str], chars: str, *, script: str | None = None, required: str = ""
) -> list[FontFace]:
    """The usable faces among ``sources`` (see :func:`resolve_font_sources`).

    Each face's coverage is checked for the characters of ``chars``. A face is kept only if
    it covers every character of ``required`` (the core letters of the script); faces from
    discovery in :data:`EXCLUDED_FAMILIES` or :data:`EXCLUDED_FOR_SCRIPT` are dropped, and
    those of :data:`ARABIC_SCRIPT_ONLY_PREFIXES` unless ``required`` has an Arabic-script
    character.
    """
    excluded_here = EXCLUDED_FOR_SCRIPT.get(script or "", frozenset())
    arabic_script = any(map(_in_arabic_block, required))
    alphabet = "".join(sorted(set(chars) | set(required)))
    needed = frozenset(map(ord, required))
    faces = []
    for record, explicit in resolve_font_sources(sources):
        if not explicit and (
            record.family in EXCLUDED_FAMILIES
            or record.family in excluded_here
            or (not arabic_script and record.family.startswith(ARABIC_SCRIPT_ONLY_PREFIXES))
        ):
            continue
        if not needed <= record.cmap:
            continue
        face = _check_cached(record, alphabet)
        if face.covers(required):
            faces.append(face)
    font_cache.save()
    return sorted(faces, key=lambda f: (f.family, f.path, f.index))


# -- held-out split ----------------------------------------------------------------------
def split_unit(family: str) -> str:
    """The name that decides a family's side of the train/val split: the normalised family,
    or its set's prefix for sets of variants (:data:`_SPLIT_UNIT_PREFIXES`)."""
    family = normalize_family(family)
    return next((p for p in _SPLIT_UNIT_PREFIXES if family.startswith(p)), family)


def family_split(family: str) -> Literal["train", "val"]:
    """``val`` for about :data:`VAL_FRACTION` of split units (:func:`split_unit`), chosen by
    a hash of the name."""
    digest = hashlib.sha256(f"{_SPLIT_SALT}:{split_unit(family)}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if fraction < VAL_FRACTION else "train"


def fonts_split(faces: Sequence[FontFace], split: str) -> list[FontFace]:
    """The faces of one split: ``train``, ``val`` (held-out families) or ``all``."""
    if split not in SPLITS:
        raise FontError(f"font split must be one of {', '.join(SPLITS)}, not {split!r}")
    if split == "all":
        return list(faces)
    return [f for f in faces if family_split(f.family) == split]


# -- per-process font objects -----------------------------------------------------------
class FontCache:
    """FreeType font objects by (face, size), the least recently used dropped first.

    Each object keeps FreeType and HarfBuzz caches of the glyphs it drew, and opening a
    font is cheap, so the cache is kept small: a large one grows by gigabytes over a long
    run with many faces and sizes (docs/synth.md, Speed).
    """

    def __init__(self, maxsize: int = 1024) -> None:
        self._fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}
        self._maxsize = maxsize

    def get(self, face: FontFace, size: int) -> ImageFont.FreeTypeFont:
        key = (face.path, face.index, size)
        font = self._fonts.pop(key, None)
        if font is None:
            if len(self._fonts) >= self._maxsize:
                self._fonts.pop(next(iter(self._fonts)))
            font = ImageFont.truetype(face.path, size, index=face.index, layout_engine=_layout())
        self._fonts[key] = font  # (re)inserted last: the most recently used
        return font
