"""The tsv and csv formats: a manifest of (image path, text) rows, paths relative to it."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from lineocr.data.sources.base import (
    Dataset,
    DatasetError,
    Sample,
    Skipped,
    _clean_label,
    _collect,
)

# Header names recognised in manifests (compared lower-cased, spaces and dashes as "_").
PATH_COLUMNS = frozenset(
    {"path", "file", "filename", "file_name", "filepath", "file_path", "image", "image_path"}
    | {"img", "image_file", "fname", "name", "image_name", "img_path"}
)
TEXT_COLUMNS = frozenset(
    {"text", "label", "labels", "transcription", "transcript", "gt", "ground_truth"}
    | {"string", "word", "words", "line", "target", "answer", "solution", "value"}
)


def _normalise_column_name(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _header_columns(fields: Sequence[str]) -> tuple[int, int] | None:
    """(path column, text column) if ``fields`` is a header row, else None."""
    names = [_normalise_column_name(f) for f in fields]
    path_col = next((i for i, n in enumerate(names) if n in PATH_COLUMNS), None)
    text_col = next((i for i, n in enumerate(names) if n in TEXT_COLUMNS and i != path_col), None)
    if path_col is None or text_col is None:
        return None
    return path_col, text_col


def _manifest_lines(manifest: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text or None if not UTF-8) for each line of a line-based manifest.

    Splits bytes on line ends only, so labels keep any Unicode separators they contain.
    """
    try:
        data = manifest.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{manifest}: cannot read: {exc.strerror or exc}") from None
    _refuse_utf16(data, manifest)
    data = data.removeprefix(b"\xef\xbb\xbf")
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _resolve_image(root: Path, raw_path: str) -> Path | None:
    """The image a manifest names (relative to the manifest's folder), if it exists."""
    candidates = [raw_path]
    if "\\" in raw_path:  # a manifest written on Windows
        candidates.append(raw_path.replace("\\", "/"))
    for candidate in candidates:
        image = root / candidate
        try:
            if image.is_file():
                return image
        except (OSError, ValueError):  # a name too long for the system, a NUL byte
            continue
    return None


# The first row that named each image in a manifest: (label, "line N").
_Listed = dict[Path, tuple[str, str]]


def _manifest_sample(
    root: Path, raw_path: str, text: str, where: str, listed: _Listed
) -> Sample | Skipped:
    raw_path = raw_path.strip()
    if not raw_path:
        return Skipped(where, "empty image path")
    label = _clean_label(text)
    if not label:
        return Skipped(where, f"empty label: {raw_path}")
    image = _resolve_image(root, raw_path)
    if image is None:
        return Skipped(where, f"image not found: {root / raw_path}")
    # A second row for the same image would weigh it twice in training, or put it on both
    # sides of a train/validation split; with another label, one of the two rows is wrong.
    row = where.rpartition(":")[2]
    first_label, first_row = listed.setdefault(image, (label, row))
    if first_row != row:
        if first_label == label:
            return Skipped(where, f"listed again: {raw_path} (first on {first_row})")
        return Skipped(
            where,
            f"conflicting label: {raw_path} is {label!r} here but {first_label!r} on "
            f"{first_row} (that one is used)",
        )
    return Sample(label, str(image), path=image)


def _read_tsv(manifest: Path) -> Dataset:
    return _collect(_tsv_items(manifest), "tsv", manifest.parent)


def _tsv_items(manifest: Path) -> Iterator[Sample | Skipped]:
    root = manifest.parent
    listed: _Listed = {}
    first = True
    for number, line in _manifest_lines(manifest):
        where = f"{manifest}:line {number}"
        if line is None:
            yield Skipped(where, "line is not valid UTF-8")
            continue
        if not line.strip():
            continue
        raw_path, tab, text = line.partition("\t")  # the FIRST tab; the text keeps the rest
        if first and _header_columns(line.split("\t")) and _resolve_image(root, raw_path) is None:
            first = False
            continue
        first = False
        if not tab:
            yield Skipped(where, "no tab between the image path and the text")
            continue
        yield _manifest_sample(root, raw_path, text, where, listed)


def _read_csv(manifest: Path) -> Dataset:
    return _collect(_csv_items(manifest), "csv", manifest.parent)


def _csv_rows(manifest: Path) -> Iterator[tuple[str, list[str] | None, str]]:
    """(where, fields or None, error) for each non-empty CSV row; a broken row does not
    stop the rest. Each line is parsed alone: a label is one line, so a quoted field may
    not run on (CSV would let an unclosed quote swallow every line after it)."""
    for number, line in _manifest_lines(manifest):
        where = f"{manifest}:line {number}"
        if line is None:
            yield where, None, "row is not valid UTF-8"
            continue
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line], strict=True))
        except csv.Error as exc:
            problem = "an unclosed quote" if "unexpected end" in str(exc) else str(exc)
            yield where, None, f"unreadable CSV row: {problem}"
            continue
        if any(field.strip() for field in row):
            yield where, row, ""


def _refuse_utf16(data: bytes, path: Path) -> None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DatasetError(f"{path}: the file is UTF-16; save it as UTF-8")


def _csv_items(manifest: Path) -> Iterator[Sample | Skipped]:
    root = manifest.parent
    columns: tuple[int, int] = (0, 1)
    n_fields = 2
    listed: _Listed = {}
    first = True
    for where, row, error in _csv_rows(manifest):
        if row is None:
            yield Skipped(where, error)
            continue
        if first:
            first = False
            header = _header_columns(row)
            if header is not None and _resolve_image(root, row[header[0]]) is None:
                columns, n_fields = header, len(row)
                continue
        if len(row) != n_fields:
            yield Skipped(
                where,
                f"wrong number of fields: expected {n_fields}, found {len(row)} "
                "(a text with commas must be in double quotes)",
            )
        else:
            yield _manifest_sample(root, row[columns[0]], row[columns[1]], where, listed)
