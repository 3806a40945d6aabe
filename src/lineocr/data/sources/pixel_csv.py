"""The pixel-csv format: ``label,p0..pN`` rows, each a square image (Kaggle A-Z, MNIST CSV)."""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lineocr.data.sources.base import Dataset, DatasetError, Skipped, _clean_label, _collect
from lineocr.data.sources.label_maps import (
    _apply_label,
    _check_default_map_covers,
    _parse_int_label,
)

# Rows read ahead to find the header and the usual row length before streaming the rest.
_PIXEL_LOOKAHEAD = 200
PixelRow = tuple[str | int, np.ndarray]  # (label, image)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_pixel_row(fields: Sequence[str]) -> bool:
    n = len(fields) - 1
    return n >= 16 and math.isqrt(n) ** 2 == n and all(map(_is_number, fields[1:]))


def _is_pixel_header(line: str) -> bool:
    """A header such as ``label,1x1,1x2,…`` or ``label,pixel0,…``: a name first and mostly
    not numbers after it (a data row with bad values, such as ``5,x,x,…``, is not a header)."""
    label, *fields = line.split(",")
    return not _is_number(label) and sum(map(_is_number, fields)) < len(fields) / 2


def _pixel_count(lines: Sequence[str], manifest: Path) -> int:
    """The number of pixel values most rows have; it must make a square image."""
    counts = Counter(line.count(",") for line in lines)
    if not counts:
        return 0
    n = counts.most_common(1)[0][0]
    if n < 4 or math.isqrt(n) ** 2 != n:
        raise DatasetError(
            f"{manifest}: rows have {n} pixel values, which is not a square image "
            "(pixel-csv rows are label,p0..p783 for 28x28)"
        )
    return n


def _stream_lines(handle: BinaryIO) -> Iterator[tuple[int, str | None]]:
    """(line number, text or None if not UTF-8) of each non-blank line, one at a time:
    pixel files are large."""
    for number, raw in enumerate(handle, start=1):
        data = raw.rstrip(b"\r\n")
        if number == 1:
            data = data.removeprefix(b"\xef\xbb\xbf")
        if not data.strip():
            continue
        try:
            yield number, data.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _parse_pixel_values(text: str, n_pixels: int, top: int) -> np.ndarray | str:
    """The values of one row scaled to 0-255 (ink high, as in the file), or why they are
    unusable; ``top`` is the file's largest value, 255 or 1 (values normalised to 0-1)."""
    with warnings.catch_warnings():
        # numpy warns, and with "error" raises, when a value is not a number
        warnings.simplefilter("error", DeprecationWarning)
        try:
            values = np.fromstring(text, dtype=np.float64, sep=",")
        except (ValueError, DeprecationWarning):
            return "non-numeric pixel value"
    if values.size != n_pixels:  # "1,,2" stops early
        return "non-numeric pixel value"
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > top:
        if top == 255:
            return "pixel values must be 0-255"
        return "pixel values must be 0-1, as in the file's first rows"
    return values * (255 / top)


def _parse_pixel_label(label: str) -> tuple[str | int, str | None]:
    """(class number or text label, None), or (label, why it is unusable)."""
    if not label:
        return label, "empty label"
    number = _parse_int_label(label)
    if number is not None:
        return number, f"negative label: {number} (not a class number)" if number < 0 else None
    if _is_number(label):  # "3.5", "nan": a numeric column that is not class numbers
        return label, f"label is not a whole number: {label}"
    return label, None


def _parse_pixel_row(line: str, n_pixels: int, transpose: bool, top: int) -> PixelRow | str:
    """(label, image with ink 0 on 255 paper) or the reason the row is unusable."""
    found = line.count(",")
    if found != n_pixels:
        return f"wrong number of pixel values: expected {n_pixels}, found {found}"
    raw_label, _, text = line.partition(",")
    label, problem = _parse_pixel_label(_clean_label(raw_label))
    if problem:
        return problem
    values = _parse_pixel_values(text, n_pixels, top)
    if isinstance(values, str):
        return values
    side = math.isqrt(n_pixels)
    image = (255 - np.round(values)).astype(np.uint8).reshape(side, side)
    if transpose:
        image = np.ascontiguousarray(image.T)
    return label, image


def _plain_pixel_line(line: str) -> str:
    """A pixel row as ``label,p0,p1,…``: quotes around fields (pandas' ``QUOTE_ALL``, R's
    ``write.csv``) and a trailing comma (some exporters) removed; labels hold no commas."""
    return line.replace('"', "").removesuffix(",")


def _pixel_scale(lines: Sequence[str]) -> int:
    """255, or 1 when most rows read ahead have every value within 0-1 and some ink
    (normalised pixels, as ``X / 255.0`` writes them): such rows would otherwise be read as
    blank images. A stray row does not decide it; it is skipped as out of range."""
    tops = []
    for line in lines:
        values = _parse_pixel_values(line.partition(",")[2], line.count(","), 255)
        if not isinstance(values, str) and values.size:
            tops.append(values.max())
    return 1 if tops and 0 < float(np.median(tops)) <= 1 else 255


def _pixel_csv_rows(
    manifest: Path, handle: BinaryIO, transpose: bool
) -> Iterator[tuple[str, PixelRow | str]]:
    """(where, row or the reason it is unusable) for each data row, streamed."""
    lines = (
        (number, None if text is None else _plain_pixel_line(text))
        for number, text in _stream_lines(handle)
    )
    head = list(itertools.islice(lines, _PIXEL_LOOKAHEAD))
    first = head[0][1] if head else None
    has_header = first is not None and _is_pixel_header(first)
    rows = head[1:] if has_header else head
    texts = [text for _, text in rows if text is not None]
    n_pixels = _pixel_count(texts, manifest)
    top = _pixel_scale(texts)
    for number, line in itertools.chain(rows, lines):
        where = f"{manifest}:line {number}"
        if line is None:
            yield where, "line is not valid UTF-8"
        else:
            yield where, _parse_pixel_row(line, n_pixels, transpose, top)


def _read_pixel_csv(
    manifest: Path, label_map: tuple[dict[int, str], bool], transpose: bool
) -> Dataset:
    parsed: list[tuple[str, str | int, np.ndarray]] = []
    skipped: list[Skipped] = []
    try:
        with manifest.open("rb") as handle:
            for where, row in _pixel_csv_rows(manifest, handle, transpose):
                if isinstance(row, str):
                    skipped.append(Skipped(where, row))
                else:
                    parsed.append((where, *row))
    except OSError as exc:
        raise DatasetError(f"{manifest}: cannot read: {exc.strerror or exc}") from None
    mapping, chosen = label_map
    _check_default_map_covers([r for _, r, _ in parsed if isinstance(r, int)], chosen, manifest)
    dataset = _collect(
        (_apply_label(raw, mapping, where, px) for where, raw, px in parsed),
        "pixel-csv",
        manifest.parent,
    )
    dataset.skipped[:0] = skipped
    return dataset
