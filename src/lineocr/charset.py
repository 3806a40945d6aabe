"""The character set of a model: normalisation, bidi order, and label <-> index mapping.

Index 0 is the CTC blank; character ``i`` of :attr:`Charset.chars` has index ``i + 1``.
Labels are stored and returned in logical order (as typed). The model sees a line in
visual order (left to right, as drawn), so :meth:`Charset.encode` converts logical text to
visual order with the Unicode bidi algorithm (python-bidi) and :meth:`Charset.decode`
converts back. Everything here is stored with the model, so a model file alone is enough.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from bidi import get_display
from bidi.mirror import MIRRORED

BLANK = 0

EASTERN_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
_DIGIT_MAP = {ord(c): str(i) for i, c in enumerate(EASTERN_ARABIC_DIGITS)} | {
    ord(c): str(i) for i, c in enumerate(PERSIAN_DIGITS)
}
TATWEEL = "\u0640"
# Arabic harakat, tanwin, shadda, sukun, superscript alef and Quranic marks.
_ARABIC_DIACRITICS = frozenset(
    chr(c) for c in [*range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06DD), *range(0x06DF, 0x06E9)]
)
_RTL_CLASSES = frozenset({"R", "AL"})
_TRAILING_SIGNS = frozenset("%‰‱٪°′″")  # bidi class ET, written after a number


class CharsetError(ValueError):
    """Raised when text cannot be encoded; names the offending characters."""


class UnknownCharactersError(CharsetError):
    def __init__(
        self, unknown: Iterable[str], text: str | None = None, detail: str | None = None
    ) -> None:
        self.unknown = sorted(set(unknown))
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in self.unknown)
        where = f" in {text!r}" if text is not None else ""
        super().__init__(detail or f"characters not in the charset{where}: {shown}")


def is_rtl_char(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in _RTL_CLASSES


def base_direction(text: str) -> Literal["ltr", "rtl"]:
    """The paragraph direction lineocr uses for a line: right-to-left iff it has any RTL letter.

    The synthetic renderer lays lines out with this same rule, so images and labels agree.
    """
    if text.isascii():  # no ASCII character is R or AL (a quick answer for most lines)
        return "ltr"
    return "rtl" if any(is_rtl_char(c) for c in text) else "ltr"


def _has_arabic_numbers(text: str) -> bool:
    return any(unicodedata.bidirectional(c) == "AN" for c in text)


def _visual_levels(visual: str, rtl: bool) -> list[int]:
    """Bidi levels of a visual-order line, rebuilt from its characters.

    Right-to-left paragraph (level 1): Arabic letters 1, Latin letters and digits 2. Digits
    count as Latin after a Latin letter in the same run (rule W7), as Arabic numbers after
    an Arabic letter (W2) and as European numbers otherwise, which a ``-`` joins (W4) and a
    ``$`` or ``%`` next to them joins (W5). A neutral is at level 2 only between a
    Latin-like character and a Latin letter or digit (N1).

    Left-to-right paragraph (level 0): Latin letters and European digits 0, Arabic-Indic
    digits 2 (I1), and a neutral between two Arabic-Indic numbers 1 (N1: numbers act as
    right-to-left there), which is why ``١٩٥٧-٠٩-٠٣`` is drawn ``٠٣-٠٩-١٩٥٧``.

    In both, one separator between two numbers joins them (W4: ``٤٧٫٠٠``, ``067-195``).
    """
    classes = [unicodedata.bidirectional(c) for c in visual]
    if rtl:
        kinds = [
            "R" if c in _RTL_CLASSES else "L" if c == "L" else "AN" if c in ("EN", "AN") else "N"
            for c in classes
        ]
        latin_seen = False
        for i, cls in enumerate(classes):
            if kinds[i] == "R":
                latin_seen = False
            elif kinds[i] == "L":
                latin_seen = True
            elif cls == "EN" and latin_seen:
                kinds[i] = "L"
        for i, cls in enumerate(classes):
            # W2: digits stay European unless an Arabic letter precedes them (to the right).
            if cls == "EN" and kinds[i] == "AN":
                before = next((c for c in classes[i + 1 :] if c in ("R", "AL", "L")), "R")
                kinds[i] = "AN" if before == "AL" else "EN"
        for i, cls in enumerate(classes):
            # W5: currency and percent signs next to European digits join them.
            if cls == "ET":
                j, k = i, i
                while j > 0 and classes[j - 1] == "ET":
                    j -= 1
                while k < len(classes) - 1 and classes[k + 1] == "ET":
                    k += 1
                near = {kinds[j - 1] if j > 0 else "", kinds[k + 1] if k + 1 < len(kinds) else ""}
                if "EN" in near:
                    kinds[i] = "EN"
                elif j > 0 and classes[j - 1] == "EN" and visual[i] in _TRAILING_SIGNS:
                    # W5, then W7: ``abc 5%`` is drawn as typed in an Arabic line. (A sign
                    # after digits that count as Latin is drawn as one before the Latin run
                    # would be: ``#AB-12`` and ``AB-12#`` look alike. Signs that follow
                    # numbers are read after them, the others before the run.)
                    kinds[i] = "L"
    else:
        kinds = [
            "AN" if c == "AN" else "R" if c in _RTL_CLASSES else "L" if c in ("L", "EN") else "N"
            for c in classes
        ]
    for i in range(1, len(kinds) - 1):
        kind, numbers = kinds[i - 1], {classes[i - 1], classes[i + 1]}
        if kind != kinds[i + 1] or kind not in ("AN", "EN", "L") or not numbers <= {"EN", "AN"}:
            continue
        if classes[i] == "CS" or (classes[i] == "ES" and kind != "AN" and numbers == {"EN"}):
            kinds[i] = kind
    _resolve_bracket_pairs(visual, kinds, rtl)
    if rtl:
        levels = [1 if kind == "R" else 2 for kind in kinds]
    else:
        levels = [2 if kind == "AN" else 1 if kind == "R" else 0 for kind in kinds]
    edge = "R" if rtl else "L"
    for i, kind in enumerate(kinds):
        if kind != "N":
            continue
        left = next((kinds[j] for j in range(i - 1, -1, -1) if kinds[j] != "N"), edge)
        right_cls = next((classes[j] for j in range(i + 1, len(kinds)) if kinds[j] != "N"), None)
        right = next((kinds[j] for j in range(i + 1, len(kinds)) if kinds[j] != "N"), edge)
        if rtl:
            levels[i] = 2 if left == "L" and (right == "L" or right_cls == "EN") else 1
        else:
            levels[i] = 1 if left in ("AN", "R") and right in ("AN", "R") else 0
    return levels


_BRACKETS = {"(": ")", "[": "]", "{": "}"}


def _resolve_bracket_pairs(visual: str, kinds: list[str], rtl: bool) -> None:
    """Rule N0 seen from the drawn side: a bracket pair takes one direction for both its
    brackets. Pairs are matched in visual order (a pair drawn right to left is mirrored, so
    it still reads ``(`` ... ``)`` left to right). Numbers count as right-to-left here.

    - Content in the line's direction (Latin in a left-to-right line; Arabic letters or
      numbers in a right-to-left one): the pair takes the line's direction.
    - Content only in the other direction: the pair takes the direction of the strong text
      before it, else the line's: ``(٣٣٤) ...`` at the start of a left-to-right line stays
      in place around its reversed content; ``report (MB)`` inside an Arabic line is drawn
      left to right with its Latin.

    Marks the brackets' ``kinds`` as ``L`` or ``R``.
    """
    line = "R" if rtl else "L"
    stack: list[int] = []
    for j, ch in enumerate(visual):
        if ch in _BRACKETS:
            stack.append(j)
            continue
        if not stack or ch != _BRACKETS[visual[stack[-1]]]:
            continue
        i = stack.pop()
        inner = {"L" if k == "L" else "R" for k in kinds[i + 1 : j] if k != "N"}
        if not inner:
            continue
        if line in inner:
            kinds[i] = kinds[j] = line
            continue
        before = next((k for k in reversed(kinds[:i]) if k != "N"), line)
        direction = "L" if before == "L" else "R"
        kinds[i] = kinds[j] = direction


def _mirror_rtl(chars: str, levels: Sequence[int]) -> str:
    return "".join(
        MIRRORED.get(c, c) if lvl % 2 else c for c, lvl in zip(chars, levels, strict=True)
    )


def _needs_bidi(text: str) -> bool:
    if text.isascii():  # no ASCII character is of bidi class R, AL or AN: the usual Latin line
        return False
    return base_direction(text) == "rtl" or _has_arabic_numbers(text)


_LEVELS_BLOCK = re.compile(r"levels: \[(.*?)\]", re.S)
_LEVEL = re.compile(r"Level\(\s*(\d+),?\s*\)")


def bidi_levels(text: str, rtl: bool) -> list[int]:
    """Resolved embedding level of each character of a one-line paragraph.

    From python-bidi's Rust core (the ``unicode-bidi`` crate, which passes the Unicode
    conformance tests, bracket pairs (rule N0) included, as FriBiDi does behind Pillow's
    raqm). That core exposes levels only through its debug report, one per UTF-8 byte;
    this reads the first byte of each character and applies rule L1 (trailing whitespace
    at the paragraph level). A report in another shape raises instead of guessing.
    """
    report = str(get_display(text, base_dir="R" if rtl else "L", debug=True))
    block = _LEVELS_BLOCK.search(report)
    per_byte = [int(v) for v in _LEVEL.findall(block.group(1))] if block else []
    offsets: list[int] = []
    position = 0
    for ch in text:
        offsets.append(position)
        position += len(ch.encode("utf-8"))
    if position != len(per_byte):
        raise RuntimeError(
            "python-bidi's debug report changed shape; pin python-bidi to a tested version"
        )
    levels = [per_byte[k] for k in offsets]
    i = len(text)
    while i > 0 and unicodedata.bidirectional(text[i - 1]) in ("WS", "S", "B"):
        i -= 1
        levels[i] = 1 if rtl else 0
    return levels


def to_visual(text: str, *, mirror: bool = True) -> str:
    """Logical order -> the left-to-right order of the glyphs as drawn.

    The Unicode bidi algorithm (:func:`bidi_levels`), reordering by rule L2 and mirroring
    brackets at right-to-left levels (L4), as FriBiDi lays out Pillow's raqm text. So
    ``"(رقم)"`` is seen as ``"(مقر)"``; in a left-to-right line the groups of an
    Arabic-Indic number such as ``١٩٥٧-٠٩-٠٣`` are drawn right to left (``٠٣-٠٩-١٩٥٧``),
    while a bracket pair keeps the line's direction: ``(٣٣٤) ٩٤١-٧٧١٣`` is drawn
    ``(٣٣٤) ٧٧١٣-٩٤١``.

    ``mirror=False`` keeps each character as it is (a PDF text layer: readers that turn
    visual order back into logical order do not mirror brackets back).
    """
    if not _needs_bidi(text):
        return text
    levels = bidi_levels(text, base_direction(text) == "rtl")
    order = _l2_order(levels)
    if not mirror:
        return "".join(text[k] for k in order)
    return _mirror_rtl("".join(text[k] for k in order), [levels[k] for k in order])


def logical_permutation(visual: str) -> list[int]:
    """For each character of ``to_logical(visual)``, its index in ``visual`` (so values
    attached to drawn characters, such as confidences, can follow them)."""
    if not _needs_bidi(visual):
        return list(range(len(visual)))
    return _l2_order(_visual_levels(visual, base_direction(visual) == "rtl"))


def _l2_order(levels: Sequence[int]) -> list[int]:
    """Rule L2, which undoes itself: from the highest level down, reverse every run at or
    above that level."""
    order = list(range(len(levels)))
    for level in range(max(levels, default=0), 0, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = order[i:j][::-1]
                i = j
            else:
                i += 1
    return order


def to_logical(visual: str) -> str:
    """Visual (left-to-right glyph) order -> logical order.

    The bidi algorithm is not injective: ``"رقم 123 abc"`` and ``"رقم abc 123"`` are drawn
    identically (mostly a number beside a Latin word in an Arabic line; docs/synth.md,
    Arabic, says how often). So this returns one logical string that is drawn exactly as
    ``visual``: ``to_visual(to_logical(v)) == v`` for lines of words, numbers and
    punctuation. Levels are rebuilt from the visual string and the reordering of rule L2 is
    applied again, which undoes it; brackets at right-to-left levels are mirrored back.
    Known limit: in adversarial mixes of brackets, European numbers and Latin words inside
    Arabic lines (e.g. ``(فخس) - 4-4-(a). 0 - 6``) the levels rebuilt from the drawn side
    differ and so does the drawing of the result.
    """
    if not _needs_bidi(visual):
        return visual
    levels = _visual_levels(visual, base_direction(visual) == "rtl")
    order = _l2_order(levels)
    return _mirror_rtl("".join(visual[k] for k in order), [levels[k] for k in order])


@dataclass(frozen=True)
class CharsetOptions:
    """Text normalisation applied to every label and prediction; stored with the model.

    ``map_digits`` returns Eastern Arabic-Indic ٠–٩ and Persian ۰–۹ as 0–9. It applies to
    what the model outputs (and to references when scoring), not to what it learns: the
    model keeps a class for each digit it sees, because Arabic-Indic numbers are laid out
    differently (their groups right to left) and the layout must be undone before mapping.
    """

    nfc: bool = True
    map_digits: bool = False
    strip_tatweel: bool = False
    strip_diacritics: bool = False
    case: Literal["keep", "lower", "upper"] = "keep"
    collapse_spaces: bool = True

    def __post_init__(self) -> None:
        flags = [f.name for f in fields(self) if f.type in (bool, "bool")]
        for name in flags:
            if not isinstance(getattr(self, name), bool):  # "no" would read as true
                raise CharsetError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.case not in ("keep", "lower", "upper"):
            raise CharsetError(f"case must be keep, lower or upper, not {self.case!r}")


@dataclass(frozen=True)
class Charset:
    """An ordered set of characters with CTC blank at index 0."""

    chars: tuple[str, ...]
    options: CharsetOptions = field(default_factory=CharsetOptions)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise CharsetError("charset has duplicate characters")
        bad = [c for c in self.chars if len(c) != 1]
        if bad:
            raise CharsetError(f"charset entries must be single characters: {bad!r}")
        object.__setattr__(self, "_index", {c: i + 1 for i, c in enumerate(self.chars)})

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_texts(cls, texts: Iterable[str], options: CharsetOptions | None = None) -> Charset:
        opts = options or CharsetOptions()
        proto = cls((), opts)
        seen: set[str] = set()
        for text in texts:
            seen.update(proto.normalize_label(text))
        return cls(tuple(sorted(seen)), opts)

    @classmethod
    def from_string(cls, alphabet: str, options: CharsetOptions | None = None) -> Charset:
        opts = options or CharsetOptions()
        proto = cls((), opts)
        # Per character, so that collapsing spaces cannot drop the space itself.
        chars = (proto.normalize_label(c) if c.strip() else c for c in alphabet)
        return cls(tuple(dict.fromkeys(c for c in chars if c)), opts)

    def union(self, other: Iterable[str]) -> Charset:
        """This charset plus new characters appended at the end (old indices unchanged)."""
        extra = [c for c in dict.fromkeys(other) if c not in self._index_map]
        return replace(self, chars=self.chars + tuple(extra))

    # -- properties -------------------------------------------------------------------
    @property
    def _index_map(self) -> dict[str, int]:
        index: dict[str, int] = self.__dict__["_index"]
        return index

    @property
    def num_classes(self) -> int:
        """Output size of the model: characters plus the blank."""
        return len(self.chars) + 1

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._index_map

    # -- text -------------------------------------------------------------------------
    def normalize(self, text: str) -> str:
        """The text as the model returns it: the label normalisation plus digit mapping.
        Use it on references when scoring predictions."""
        return self.map_digits(self.normalize_label(text))

    def normalize_label(self, text: str) -> str:
        """The normalisations that keep the line's layout: what the model learns from."""
        opts = self.options
        if opts.nfc:
            text = unicodedata.normalize("NFC", text)
        if opts.strip_tatweel:
            text = text.replace(TATWEEL, "")
        if opts.strip_diacritics:
            text = "".join(c for c in text if c not in _ARABIC_DIACRITICS)
        if opts.case == "lower":
            text = text.lower()
        elif opts.case == "upper":
            text = text.upper()
        if opts.collapse_spaces:
            text = " ".join(text.split())
        return text

    def unknown_chars(self, text: str) -> set[str]:
        return {c for c in self.normalize_label(text) if c not in self._index_map}

    def encode(self, text: str) -> list[int]:
        """Logical-order label -> indices in visual order. Raises on unknown characters."""
        visual = to_visual(self.normalize_label(text))
        unknown = [c for c in visual if c not in self._index_map]
        if unknown:
            raise UnknownCharactersError(unknown, text)
        return [self._index_map[c] for c in visual]

    def decode(self, indices: Sequence[int]) -> str:
        """Collapsed CTC indices (no blanks, visual order) -> text in logical order, with
        digits mapped if the options say so (after reordering: the mapping changes how
        digits are laid out)."""
        return self.map_digits(to_logical(self.decode_visual(indices)))

    def map_digits(self, text: str) -> str:
        """``text`` with Arabic-Indic and Persian digits as 0-9 if the options say so: the
        form in which the model returns its labels' characters."""
        return text.translate(_DIGIT_MAP) if self.options.map_digits else text

    def as_drawn(self, text: str) -> str:
        """The label (:meth:`normalize_label`) of ``text`` written as this model returns it
        (Western digits on a ``map_digits`` model), in the characters its classes spell: on
        a charset with none of 0-9 and all of the Eastern Arabic-Indic ٠–٩ (else all of the
        Persian ۰–۹), each Western digit as that digit, so that a language model built from
        "1957-09-03" counts what the model emits for ``١٩٥٧-٠٩-٠٣``. The digits are unchanged
        otherwise (no ``map_digits``, Western digits in the charset, or no complete set to
        write them with: never a mix)."""
        return self.normalize_label(text.translate(self._drawn_digits()))

    def _drawn_digits(self) -> dict[int, int]:
        """What :meth:`as_drawn` writes for each Western digit (nothing: kept)."""
        if not self.options.map_digits or any(d in self._index_map for d in "0123456789"):
            return {}
        for drawn in (EASTERN_ARABIC_DIGITS, PERSIAN_DIGITS):
            if all(d in self._index_map for d in drawn):
                return str.maketrans("0123456789", drawn)
        return {}

    def decode_visual(self, indices: Sequence[int]) -> str:
        return "".join(self.chars[i - 1] for i in indices if i != BLANK)

    def kept_positions(self, text: str) -> list[int]:
        """Positions of a decoded ``text`` that belong in the output. With
        ``collapse_spaces`` no label has a space at either end or two in a row, so such
        decoded spaces are artefacts (a wide blank margin read as a space) and are left out;
        otherwise every position is kept."""
        if not self.options.collapse_spaces:
            return list(range(len(text)))
        kept: list[int] = []
        for i, ch in enumerate(text):
            if not ch.isspace() or (kept and not text[kept[-1]].isspace()):
                kept.append(i)
        if kept and text[kept[-1]].isspace():
            kept.pop()
        return kept

    def tidy(self, text: str) -> str:
        """``text`` without the positions :meth:`kept_positions` leaves out."""
        return "".join(text[i] for i in self.kept_positions(text))

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"chars": "".join(self.chars), "options": asdict(self.options)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Charset:
        """The charset of a model card (:meth:`to_dict`'s output); a wrong type or an empty
        alphabet is a :class:`CharsetError`."""
        if not isinstance(data, dict):
            raise CharsetError(f"charset: expected a mapping, got {type(data).__name__}")
        unknown = set(data) - {"chars", "options"}
        if unknown:
            raise CharsetError(f"unknown charset keys: {sorted(unknown)}")
        if "chars" not in data:
            raise CharsetError("charset: no chars")
        chars, options = data["chars"], data.get("options", {})
        if not isinstance(chars, (str, list)) or not all(isinstance(c, str) for c in chars):
            kind = type(chars).__name__ if not isinstance(chars, list) else "a list of non-strings"
            raise CharsetError(f"charset chars: expected a string of characters, got {kind}")
        if not chars:
            raise CharsetError("charset chars: empty (a model must read some character)")
        if not isinstance(options, dict):
            raise CharsetError(f"charset options: expected a mapping, got {type(options).__name__}")
        bad = set(options) - set(CharsetOptions.__dataclass_fields__)
        if bad:
            raise CharsetError(f"unknown charset options: {sorted(bad)}")
        return cls(tuple(chars), CharsetOptions(**options))


def shown_chars(chars: Iterable[str], limit: int = 20) -> str:
    """Characters for a message: the first ``limit``, space-separated, and how many in all."""
    chars = list(chars)
    shown = " ".join(chars[:limit])
    return shown + (f" ... ({len(chars)} in all)" if len(chars) > limit else "")
