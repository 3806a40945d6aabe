"""Label maps: the class numbers of pixel-csv and IDX files -> the text each stands for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lineocr.data.sources.base import DatasetError, Sample, Skipped, _has_surrogates


def _enumerated(chars: str, start: int = 0) -> dict[int, str]:
    return {start + i: c for i, c in enumerate(chars)}


_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_EMNIST_MERGED = _DIGITS + _UPPER + "abdefghnqrt"  # the 47 classes of balanced / bymerge

NAMED_LABEL_MAPS: dict[str, dict[int, str]] = {
    "digits": _enumerated(_DIGITS),  # MNIST, EMNIST digits / mnist
    "az": _enumerated(_UPPER),  # Kaggle "A-Z Handwritten": 0-25 -> A-Z
    "letters": _enumerated(_UPPER, start=1),  # EMNIST letters: 1-26 -> A-Z
    "emnist-balanced": _enumerated(_EMNIST_MERGED),
    "emnist-bymerge": _enumerated(_EMNIST_MERGED),
    "emnist-byclass": _enumerated(_DIGITS + _UPPER + _LOWER),
}
DEFAULT_LABEL_MAP = "digits"


def parse_label_map(spec: str) -> dict[int, str]:
    """A label map from a name (``"az"``), a range spec or an EMNIST mapping file.

    Range spec: comma-separated ``KEYS:VALUES`` items (``=`` or ``->`` also separate),
    where KEYS is an integer or a range ``a-b`` and VALUES a character range of the same
    length (``0-25:A-Z``), or any text for a single key (``0:zero``). An EMNIST
    ``*-mapping.txt`` file has lines ``LABEL CODEPOINT [CODEPOINT...]``.
    """
    name = spec.strip().lower()
    if name in NAMED_LABEL_MAPS:
        return dict(NAMED_LABEL_MAPS[name])
    if Path(spec).is_file():
        return _read_mapping_file(Path(spec))
    mapping: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        mapping.update(_parse_map_item(item, spec))
    if not mapping:
        raise DatasetError(_label_map_help(spec, "is empty"))
    return mapping


def _label_map_help(spec: str, problem: str) -> str:
    names = ", ".join(NAMED_LABEL_MAPS)
    return (
        f"--label-map {spec!r} {problem}; give a name ({names}), ranges such as "
        "'0-25:A-Z' or '0-9:0-9,10-35:A-Z', or an EMNIST mapping file"
    )


def _parse_map_item(item: str, spec: str) -> dict[int, str]:
    match = re.fullmatch(r"\s*(\d+)(?:\s*-\s*(\d+))?\s*(?:->|:|=)\s*(.+?)\s*", item)
    if match is None:
        raise DatasetError(_label_map_help(spec, f"has an unreadable item {item!r}"))
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    values = match.group(3)
    if _has_surrogates(values):
        raise DatasetError(_label_map_help(spec, f"maps to a surrogate code point in {item!r}"))
    if first == last:
        return {first: values}
    chars = _char_range(values)
    if chars is None or len(chars) != last - first + 1:
        raise DatasetError(
            _label_map_help(spec, f"maps {last - first + 1} labels to {values!r}, not as many")
        )
    return _enumerated(chars, start=first)


def _char_range(values: str) -> str | None:
    """``"A-Z"`` -> ``"AB…Z"``; a string of single characters is taken as it is."""
    match = re.fullmatch(r"(.)-(.)", values)
    if match is None:
        return values
    lo, hi = ord(match.group(1)), ord(match.group(2))
    return "".join(chr(c) for c in range(lo, hi + 1)) if lo <= hi else None


def _read_mapping_file(path: Path) -> dict[int, str]:
    mapping: dict[int, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: the label mapping file is not UTF-8 text") from None
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            char = chr(int(fields[1]))
        except (IndexError, ValueError, OverflowError):
            raise DatasetError(
                f"{path}:line {number}: expected 'LABEL CODEPOINT' (an EMNIST mapping line)"
            ) from None
        if _has_surrogates(char):
            raise DatasetError(f"{path}:line {number}: code point {fields[1]} is a surrogate")
        mapping[int(fields[0])] = char
    if not mapping:
        raise DatasetError(f"{path}: empty label mapping file")
    return mapping


def _resolve_label_map(label_map: str | dict[int, str] | None) -> tuple[dict[int, str], bool]:
    """(mapping, whether the user chose it)."""
    if label_map is None:
        return dict(NAMED_LABEL_MAPS[DEFAULT_LABEL_MAP]), False
    if isinstance(label_map, str):
        return parse_label_map(label_map), True
    bad = [k for k, v in label_map.items() if not isinstance(k, int) or not isinstance(v, str)]
    if bad or not label_map or not all(label_map.values()):
        raise DatasetError("a label map must map integers to non-empty strings")
    return dict(label_map), True


def _parse_int_label(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)  # "3.0", as pandas writes integer columns with missing values
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def _check_default_map_covers(labels: Sequence[int], chosen: bool, where: Path) -> None:
    """Without --label-map only 0-9 are known; refuse to guess what larger labels mean."""
    if chosen or not labels:
        return
    outside = sorted({n for n in labels if n not in NAMED_LABEL_MAPS[DEFAULT_LABEL_MAP]})
    if outside:
        shown = ", ".join(map(str, outside[:5])) + (", …" if len(outside) > 5 else "")
        raise DatasetError(
            f"{where}: labels {shown} need a label map (without one, 0-9 are read as "
            "digits); pass --label-map az (0-25 -> A-Z), letters (EMNIST 1-26 -> A-Z), "
            "emnist-balanced, emnist-byclass, or ranges such as '0-9:0-9,10-35:A-Z'"
        )


def _apply_label(
    raw: str | int, mapping: dict[int, str], where: str, pixels: np.ndarray
) -> Sample | Skipped:
    if isinstance(raw, str):
        return Sample(raw, where, pixels=pixels)  # a text label is used as it is
    if raw not in mapping:
        return Skipped(where, f"label not in the label map: {raw}")
    return Sample(mapping[raw], where, pixels=pixels)
