"""Dataset readers: every supported layout on disk -> labelled samples, with format detection.

Formats (``FORMATS``): ``sidecar`` (``img.png`` + ``img.gt.txt``/``img.txt``), ``filename``
(the file stem is the label), ``tsv`` and ``csv`` manifests, ``pixel-csv`` (``label,p0..pN``
rows of a square image) and ``idx`` (MNIST/EMNIST). :func:`read_dataset` never stops on one
bad row or file: each becomes a :class:`Skipped` with a reason, and only a dataset with
nothing readable left raises :class:`DatasetError`. Images named by a sample are decoded
lazily by :meth:`Sample.load` (through :func:`lineocr.images.load_image`), so corrupt
images surface there; :func:`summarize` loads a sample of them to report early.

Labels are returned as in the file (logical order, not normalised) with surrounding
whitespace removed; normalisation belongs to the charset.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import os
import random
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from lineocr.images import (
    IMAGE_SUFFIXES,
    OTHER_IMAGE_SUFFIXES,
    ImageError,
    load_image,
    os_reason,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

FORMATS = ("sidecar", "filename", "tsv", "csv", "pixel-csv", "idx")

SIDECAR_SUFFIXES = (".gt.txt", ".txt")  # in order of preference
# kraken / OCR-D line images carry a processing step in their name: line.bin.png + line.gt.txt
_PROCESSING_SUFFIXES = (".bin", ".nrm", ".raw", ".dew")
_TRAILING_COPY_NUMBER = re.compile(r"(?:_\d+|\s*\(\d+\))$")  # "abc_2", "abc (1)"
_IDX_IMAGES = re.compile(r"images[-.]idx3-ubyte(?:\.gz)?$")
_IDX_LABELS = re.compile(r"labels[-.]idx1-ubyte(?:\.gz)?$")
_IDX_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"

# Header names recognised in manifests (compared lower-cased, spaces and dashes as "_").
PATH_COLUMNS = frozenset(
    {"path", "file", "filename", "file_name", "filepath", "file_path", "image", "image_path"}
    | {"img", "image_file", "fname", "name", "image_name", "img_path"}
)
TEXT_COLUMNS = frozenset(
    {"text", "label", "labels", "transcription", "transcript", "gt", "ground_truth"}
    | {"string", "word", "words", "line", "target", "answer", "solution", "value"}
)

MAX_SKIPPED_IN_SUMMARY = 20


class DatasetError(ValueError):
    """A dataset that cannot be read at all; the message names the path and the problem."""


@dataclass(frozen=True)
class Sample:
    """One labelled line: an image file (decoded lazily) or in-memory pixels."""

    text: str  # the label as in the file, logical order, not normalised
    source: str  # for messages: the image path, or "train.csv:line 12", "…idx3-ubyte:item 5"
    path: Path | None = None
    pixels: np.ndarray | None = field(default=None, compare=False, repr=False)

    def load(self) -> np.ndarray:
        """The image as uint8 HxW, ink 0 on paper 255; raises :class:`ImageError`."""
        if self.pixels is not None:
            # A copy: the pixels may be a read-only view into one array for the whole file.
            return np.array(load_image(self.pixels, name=self.source), copy=True)
        if self.path is not None:
            return load_image(self.path, name=self.source)
        raise ImageError(self.source, "sample has neither an image file nor pixels")


@dataclass(frozen=True)
class Skipped:
    """Something that could not be read as a sample, and why.

    Reasons read ``"kind: detail"`` (``"empty label: a.gt.txt"``), so that a summary can
    count them by kind.
    """

    source: str
    reason: str


@dataclass
class Dataset:
    samples: list[Sample]
    skipped: list[Skipped]
    format: str
    root: Path  # the folder that image paths are relative to

    def __len__(self) -> int:
        return len(self.samples)


# --- entry points --------------------------------------------------------------------------


def read_dataset(
    src: str | Path,
    fmt: str | None = None,
    *,
    strip_suffix: bool = False,
    label_regex: str | None = None,
    label_map: str | dict[int, str] | None = None,
    transpose: bool = False,
) -> Dataset:
    """Read a dataset folder or file in ``fmt`` (detected when None).

    ``strip_suffix`` / ``label_regex`` apply to the filename format; ``label_map`` (a name
    from :data:`NAMED_LABEL_MAPS`, a spec such as ``"0-25:A-Z"``, an EMNIST mapping file, or
    a dict) and ``transpose`` to pixel-csv and idx. Raises :class:`DatasetError` when the
    source is missing, an option does not fit the format, or no sample is readable.
    """
    path = Path(src)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    detected = fmt is None
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_options_fit(
        fmt,
        detected,
        strip_suffix=strip_suffix,
        label_regex=label_regex,
        label_map=label_map,
        transpose=transpose,
    )
    if fmt == "sidecar":
        dataset = _read_sidecar(_require_dir(path, fmt))
    elif fmt == "filename":
        dataset = _read_filename(_require_dir(path, fmt), strip_suffix, label_regex)
    elif fmt == "tsv":
        dataset = _read_tsv(_manifest_file(path, fmt, (".tsv", ".txt")))
    elif fmt == "csv":
        dataset = _read_csv(_manifest_file(path, fmt, (".csv",)))
    elif fmt == "pixel-csv":
        manifest = _manifest_file(path, fmt, (".csv",))
        dataset = _read_pixel_csv(manifest, _resolve_label_map(label_map), transpose)
    else:
        dataset = _read_idx(path, _resolve_label_map(label_map), transpose)
    if not dataset.samples:
        raise DatasetError(_nothing_readable_message(path, dataset))
    return dataset


def read_datasets(
    srcs: Sequence[str | Path],
    fmt: str | None = None,
    *,
    strip_suffix: bool = False,
    label_regex: str | None = None,
    label_map: str | dict[int, str] | None = None,
    transpose: bool = False,
    unusable: list[tuple[str, str]] | None = None,
) -> list[Dataset]:
    """Several sources read with one set of options, as ``train --data A --data B`` gives
    them. With ``fmt`` detected, each source gets the options its format uses: a Kaggle
    A-Z pixel CSV beside a folder of line images takes ``--label-map az``, the folder
    nothing. An option that no source's format uses is an error, as for one source.

    A source that cannot be read, or has no usable line, raises :class:`DatasetError`;
    with ``unusable`` (a list) it is appended there as ``(source, message)`` and the other
    sources are still read (``lineocr eval``), unless none is left: then the first error
    is raised."""
    options: dict[str, Any] = {
        "strip_suffix": strip_suffix,
        "label_regex": label_regex,
        "label_map": label_map,
        "transpose": transpose,
    }
    errors: list[tuple[str, DatasetError]] = []  # sources left out, with ``unusable``
    if fmt is not None or len(srcs) < 2:
        jobs = [(src, fmt, options) for src in srcs]
    else:
        detected = []
        for src in srcs:  # a source whose format cannot be found is left out like one unread
            try:
                detected.append((src, detect_format(src)))
            except DatasetError as exc:
                if unusable is None:
                    raise
                errors.append((str(src), exc))
        formats = [f for _, f in detected]
        for name, value in options.items():
            if _given(value) and not any(f in _OPTION_FORMATS[name] for f in formats):
                found = ", ".join(sorted(set(formats)))
                _check_options_fit(found, True, **{name: value})  # raises, naming the flag
        jobs = [  # each with its format as detected above (not detected again)
            (src, f, {k: v for k, v in options.items() if f in _OPTION_FORMATS[k]})
            for src, f in detected
        ]
    datasets: list[Dataset] = []
    for src, src_fmt, src_options in jobs:
        try:
            datasets.append(read_dataset(src, src_fmt, **src_options))
        except DatasetError as exc:
            if unusable is None:
                raise
            errors.append((str(src), exc))
    if errors and not datasets:
        raise errors[0][1]
    if unusable is not None:
        unusable.extend((src, str(exc).removeprefix(f"{src}: ")) for src, exc in errors)
    return datasets


# The formats each reading option applies to.
_OPTION_FORMATS = {
    "strip_suffix": ("filename",),
    "label_regex": ("filename",),
    "label_map": ("pixel-csv", "idx"),
    "transpose": ("pixel-csv", "idx"),
}


def _given(value: Any) -> bool:
    """An option is given unless None or False (an empty --label-regex is given)."""
    return value is not None and value is not False


def _check_options_fit(fmt: str, detected: bool, **options: Any) -> None:
    """An option that the format ignores is an error, not a silent no-op."""
    for name, value in options.items():
        if _given(value) and fmt not in _OPTION_FORMATS[name]:
            flag = "--" + name.replace("_", "-")
            allowed = " and ".join(_OPTION_FORMATS[name])
            how = f" (detected: {fmt}; pass --format to choose)" if detected else ""
            raise DatasetError(f"{flag} applies to the {allowed} format(s), not to {fmt}{how}")


def _nothing_readable_message(path: Path, dataset: Dataset) -> str:
    if not dataset.skipped:
        return f"{path}: no samples found ({dataset.format} format)"
    kinds = Counter(s.reason.split(":")[0] for s in dataset.skipped)
    top = "; ".join(f"{kind} ({n})" for kind, n in kinds.most_common(3))
    examples = "\n  ".join(f"{s.source}: {s.reason}" for s in dataset.skipped[:3])
    return (
        f"{path}: no readable samples ({dataset.format} format); "
        f"{len(dataset.skipped)} skipped: {top}\n  {examples}"
    )


# --- files ---------------------------------------------------------------------------------


def _require_dir(path: Path, fmt: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{path}: the {fmt} format reads a folder, and this is not one")
    return path


def _manifest_file(path: Path, fmt: str, suffixes: tuple[str, ...]) -> Path:
    """The manifest itself, or the only manifest at the top of a folder (suffixes in order
    of preference: a folder with one .tsv and a README.txt means the .tsv)."""
    if path.is_file():
        return path
    if not path.is_dir():  # /dev/null, a pipe, a socket
        raise DatasetError(f"{path}: not a file or folder (a device or pipe)")
    try:
        listing = list(path.iterdir())
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read folder: {os_reason(exc)}") from None
    files = sorted(p for p in listing if p.is_file() and not p.name.startswith("."))
    for suffix in suffixes:
        found = [p for p in files if p.suffix.lower() == suffix]
        if len(found) == 1:
            return found[0]
        if found:
            names = ", ".join(p.name for p in found)
            raise DatasetError(f"{path}: several manifests ({names}); pass one of the files")
    raise DatasetError(f"{path}: no {'/'.join(suffixes)} manifest for the {fmt} format")


def walk_files(root: Path, *, unreadable: list[tuple[Path, str]]) -> list[Path]:
    """Every file under ``root``, sorted, skipping hidden files and folders (``.git``, macOS'
    ``._x.png`` companions). Linked folders are followed, each real folder once: a link back
    up the tree (a loop) or a second link to a folder already searched adds nothing.

    A folder that cannot be listed (permission denied, removed meanwhile), ``root`` included,
    is appended to ``unreadable`` as (folder, reason: ``"permission denied"``) and the walk
    goes on: each caller says it as it says its other bad inputs."""
    files: list[Path] = []
    seen = {os.path.realpath(root)}
    pending = [root]
    while pending:
        folder = pending.pop()
        entries: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:  # one by one: what was listed before an error is kept
                    entries.append(entry)
        except OSError as exc:
            unreadable.append((folder, os_reason(exc)))
        folders = []
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith("."):
                continue
            path = folder / entry.name
            if not _is_folder(entry):
                files.append(path)
            elif (real := os.path.realpath(path)) not in seen:
                seen.add(real)
                folders.append(path)
        pending.extend(reversed(folders))  # depth first in name order: the same links win
    return sorted(files)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    """A folder, or a link to one; a link that leads nowhere (broken, a loop) is a file, as
    ``os.walk`` has it, and reading it says why."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _unlisted_folders(root: Path, unreadable: list[tuple[Path, str]]) -> list[Skipped]:
    """The sub-folders :func:`walk_files` could not list, as skipped; ``root`` itself not
    listed is the whole dataset unreadable (:class:`DatasetError`)."""
    for folder, reason in unreadable:
        if folder == root:
            raise DatasetError(f"{_printable(root)}: cannot read folder: {reason}")
    return [Skipped(_printable(f), f"cannot read folder: {reason}") for f, reason in unreadable]


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _has_surrogates(text: str) -> bool:
    """Python's stand-ins for bytes that are not UTF-8 (``surrogateescape``), or surrogate
    code points: text that cannot be written as UTF-8 (a label, a checkpoint's charset)."""
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def _printable(path: Path | str) -> str:
    """A path for messages: bytes that are not UTF-8 shown as U+FFFD."""
    return os.fsencode(path).decode("utf-8", errors="replace")


def _usable_images(files: Sequence[Path], skipped: list[Skipped]) -> list[Path]:
    """The image files among ``files``. Skipped, said: an image in a format lineocr does not
    read (``.avif``, ``.heic``), and one whose name is not UTF-8 (it cannot give a label or be
    named in a report or a checkpoint)."""
    images = []
    for path in files:
        if path.suffix.lower() in OTHER_IMAGE_SUFFIXES:
            reason = f"unsupported image format: {path.suffix} (convert it to PNG or JPEG)"
            skipped.append(Skipped(_printable(path), reason))
        elif not _is_image(path):
            continue
        elif _has_surrogates(str(path)):
            skipped.append(Skipped(_printable(path), "file name is not valid UTF-8: rename it"))
        else:
            images.append(path)
    return images


def _clean_label(text: str) -> str:
    return text.strip()


# --- sidecar -------------------------------------------------------------------------------


def _sidecar_candidates(image: Path) -> list[Path]:
    """Label files that may belong to ``image``, best first."""
    stems = [image.name[: -len(image.suffix)]]
    for step in _PROCESSING_SUFFIXES:
        if stems[0].endswith(step):
            stems.append(stems[0][: -len(step)])
    return [image.with_name(stem + suffix) for stem in stems for suffix in SIDECAR_SUFFIXES]


def _label_files(files: Sequence[Path]) -> dict[Path, list[Path]]:
    """The label files among ``files``, keyed by the name :func:`_sidecar_candidates` asks
    for: the suffix compared lower-cased, so ``0009.GT.TXT`` (Windows tools, upper-case
    exports) belongs to ``0009.png``. A file named exactly as asked comes before case variants."""
    index: dict[Path, list[Path]] = {}
    for path in files:
        lower = path.name.lower()
        suffix = next((s for s in SIDECAR_SUFFIXES if lower.endswith(s)), None)
        if suffix is not None:
            key = path.with_name(path.name[: -len(suffix)] + suffix)
            group = index.setdefault(key, [])
            group.insert(0 if path == key else len(group), path)
    return index


def _find_sidecar(image: Path, label_files: dict[Path, list[Path]]) -> Path | None:
    return next((label_files[c][0] for c in _sidecar_candidates(image) if c in label_files), None)


def _claimed(images: Sequence[Path], label_files: dict[Path, list[Path]]) -> set[Path]:
    """Every label file that belongs to one of ``images``, used or an alternative."""
    return {
        path
        for image in images
        for candidate in _sidecar_candidates(image)
        for path in label_files.get(candidate, ())
    }


def _read_label_file(path: Path) -> tuple[str, str | None]:
    """(label, None) or ("", the reason it cannot be used)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return "", f"cannot read label file: {path.name} ({exc.strerror or exc})"
    try:
        text = _clean_label(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return "", f"label file is not valid UTF-8: {path.name}"
    if not text:
        return "", f"empty label: {path.name}"
    if "\n" in text or "\r" in text:
        return "", f"label file has several lines: {path.name} (a line image needs one)"
    return text, None


def _read_sidecar(root: Path) -> Dataset:
    unreadable: list[tuple[Path, str]] = []
    files = walk_files(root, unreadable=unreadable)
    label_files = _label_files(files)
    samples: list[Sample] = []
    skipped = _unlisted_folders(root, unreadable)
    images = _usable_images(files, skipped)
    for image in images:
        label_file = _find_sidecar(image, label_files)
        if label_file is None:
            looked_for = " or ".join(c.name for c in _sidecar_candidates(image)[:2])
            skipped.append(Skipped(str(image), f"no label file: looked for {looked_for}"))
            continue
        text, problem = _read_label_file(label_file)
        if problem:
            skipped.append(Skipped(str(image), problem))
        else:
            samples.append(Sample(text, str(image), path=image))
    claimed = _claimed(images, label_files)
    for orphan in sorted(f for f in files if f.name.lower().endswith(".txt") and f not in claimed):
        skipped.append(
            Skipped(_printable(orphan), "no image for this label file: none of the same name")
        )
    return Dataset(samples, skipped, "sidecar", root)


# --- filename ------------------------------------------------------------------------------


def _compile_label_regex(label_regex: str | None) -> re.Pattern[str] | None:
    if label_regex is None:
        return None
    try:
        return re.compile(label_regex)
    except re.error as exc:
        raise DatasetError(f"--label-regex {label_regex!r} is not a valid regex: {exc}") from None


def _label_from_stem(
    stem: str, strip_suffix: bool, pattern: re.Pattern[str] | None
) -> tuple[str, str | None]:
    """(label, None) or ("", the reason the name gives no label)."""
    if strip_suffix:
        stem = _TRAILING_COPY_NUMBER.sub("", stem)
    if pattern is not None:
        match = pattern.search(stem)
        if match is None:
            return "", f"no match for --label-regex: {stem!r} does not match {pattern.pattern}"
        if "label" in pattern.groupindex:
            stem = match.group("label") or ""
        else:
            stem = (match.group(1) if pattern.groups else match.group(0)) or ""
    label = _clean_label(stem)
    return (label, None) if label else ("", "empty label: nothing left of the file name")


def _read_filename(root: Path, strip_suffix: bool, label_regex: str | None) -> Dataset:
    pattern = _compile_label_regex(label_regex)
    unreadable: list[tuple[Path, str]] = []
    files = walk_files(root, unreadable=unreadable)
    samples: list[Sample] = []
    skipped = _unlisted_folders(root, unreadable)
    for image in _usable_images(files, skipped):
        label, problem = _label_from_stem(image.stem, strip_suffix, pattern)
        if problem:
            skipped.append(Skipped(str(image), problem))
        else:
            samples.append(Sample(label, str(image), path=image))
    return Dataset(samples, skipped, "filename", root)


# --- tsv / csv manifests -------------------------------------------------------------------


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


def _collect(items: Iterator[Sample | Skipped], fmt: str, root: Path) -> Dataset:
    samples: list[Sample] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, Sample):
            samples.append(item)
        else:
            skipped.append(item)
    return Dataset(samples, skipped, fmt, root)


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


# --- label maps (pixel-csv, idx) ------------------------------------------------------------


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


# --- pixel-csv -----------------------------------------------------------------------------

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


# --- idx (MNIST / EMNIST) ------------------------------------------------------------------


def _idx_partner(path: Path) -> Path | None:
    """The labels file for an images file, or the reverse; gzipped or not."""
    if _IDX_IMAGES.search(path.name):
        base = re.sub(r"images([-.])idx3", r"labels\1idx1", path.name).removesuffix(".gz")
    elif _IDX_LABELS.search(path.name):
        base = re.sub(r"labels([-.])idx1", r"images\1idx3", path.name).removesuffix(".gz")
    else:
        return None
    return next(
        (c for c in (path.with_name(base), path.with_name(base + ".gz")) if c.is_file()), None
    )


def _idx_pair(path: Path) -> tuple[Path, Path]:
    """(images file, labels file) from a folder holding one pair, or either file."""
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.is_file() and _IDX_IMAGES.search(p.name))
        if not images:
            raise DatasetError(f"{path}: no *-images-idx3-ubyte[.gz] file")
        if len(images) > 1:
            names = ", ".join(p.name for p in images)
            raise DatasetError(f"{path}: several IDX image files ({names}); pass one of them")
        path = images[0]
    partner = _idx_partner(path)
    if partner is None:
        if not (_IDX_IMAGES.search(path.name) or _IDX_LABELS.search(path.name)):
            raise DatasetError(
                f"{path}: IDX files must be named like *-images-idx3-ubyte and "
                "*-labels-idx1-ubyte (gzipped or not) so that the pair can be found"
            )
        raise DatasetError(f"{path}: the matching IDX file is missing next to it")
    return (path, partner) if _IDX_IMAGES.search(path.name) else (partner, path)


MAX_IDX_BYTES = 4 << 30  # what an IDX file may declare: EMNIST's largest is 0.64 GB
_INFLATE_CHUNK = 16 << 20


def _read_maybe_gzip(path: Path, ndim: int) -> tuple[bytes, bool]:
    """(data, complete) of an IDX file, gzipped or not; a truncated gzip stream gives what
    it holds and complete=False. A gzip stream is inflated only as far as the header says
    the file reaches (a small file cannot inflate to gigabytes), across concatenated
    members (``cat a.gz b.gz``, bgzip)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not data.startswith(_GZIP_MAGIC):
        _idx_size(data, path, ndim)
        return data, True
    out = bytearray()
    needed: int | None = None
    rest = data
    head = 4 + 4 * ndim
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        while needed is None or len(out) < needed:
            room = head - len(out) if needed is None else min(_INFLATE_CHUNK, needed - len(out))
            out += inflater.decompress(rest, room)
            rest = inflater.unconsumed_tail
            if needed is None and len(out) >= head:
                needed = _idx_size(bytes(out), path, ndim)
            if inflater.eof:
                if not inflater.unused_data.startswith(_GZIP_MAGIC):
                    break
                rest = inflater.unused_data
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            elif not rest:
                break  # the stream ends early: truncated
    except zlib.error as exc:
        raise DatasetError(f"{path}: corrupt gzip data: {exc}") from None
    complete = inflater.eof or (needed is not None and len(out) >= needed)
    return bytes(out), complete


def _idx_size(head: bytes, path: Path, ndim: int) -> int:
    """The bytes an IDX file's header says it holds; more than :data:`MAX_IDX_BYTES` or
    items of no pixels are refused."""
    dims, offset = _idx_header(head, path, ndim)
    if ndim > 1 and math.prod(dims[1:]) == 0:
        raise DatasetError(f"{path}: IDX images of {' x '.join(map(str, dims[1:]))}: empty")
    size = offset + math.prod(dims)
    if size > MAX_IDX_BYTES:
        raise DatasetError(
            f"{path}: the header declares {size:,} bytes of data, more than the limit of "
            f"{MAX_IDX_BYTES:,}"
        )
    return size


def _idx_header(data: bytes, path: Path, ndim: int) -> tuple[tuple[int, ...], int]:
    """(dims, offset of the data) of a ubyte IDX file with ``ndim`` dimensions."""
    kind = "images" if ndim == 3 else "labels"
    if len(data) < 4 or data[:2] != b"\0\0":
        raise DatasetError(f"{path}: not an IDX file (bad magic number)")
    if data[2] != _IDX_UBYTE:
        raise DatasetError(f"{path}: IDX data type 0x{data[2]:02x}; only unsigned bytes are read")
    if data[3] != ndim:
        raise DatasetError(f"{path}: an IDX {kind} file has {ndim} dimensions, this has {data[3]}")
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DatasetError(f"{path}: IDX header is truncated")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return dims, offset


def _idx_items(path: Path, ndim: int) -> tuple[np.ndarray, list[Skipped]]:
    """The items of an IDX file; items cut off by truncation become one Skipped."""
    data, complete = _read_maybe_gzip(path, ndim)
    dims, offset = _idx_header(data, path, ndim)
    item_size = math.prod(dims[1:])
    declared = dims[0]
    available = min(declared, (len(data) - offset) // item_size)  # _idx_size: item_size > 0
    array = np.frombuffer(data, np.uint8, available * item_size, offset).reshape(-1, *dims[1:])
    skipped = []
    if available < declared:
        why = "file is truncated" + ("" if complete else " (incomplete gzip stream)")
        skipped.append(Skipped(f"{path}:items {available}-{declared - 1}", why))
    return array, skipped


def _read_idx(path: Path, label_map: tuple[dict[int, str], bool], transpose: bool) -> Dataset:
    images_file, labels_file = _idx_pair(path)
    images, skipped = _idx_items(images_file, 3)
    labels, label_skipped = _idx_items(labels_file, 1)
    skipped += label_skipped
    n = min(len(images), len(labels))
    if len(images) != len(labels):
        longer, missing = (images_file, "label") if len(images) > n else (labels_file, "image")
        end = max(len(images), len(labels)) - 1
        skipped.append(Skipped(f"{longer}:items {n}-{end}", f"no matching {missing}"))
    # Ink is high in IDX files; lineocr's images are ink 0 on 255 paper.
    pixels = 255 - images[:n]
    if transpose:  # EMNIST stores images transposed
        pixels = pixels.transpose(0, 2, 1)
    pixels.flags.writeable = False
    mapping, chosen = label_map
    codes = [int(c) for c in labels[:n]]
    _check_default_map_covers(codes, chosen, labels_file)
    dataset = _collect(
        (
            _apply_label(code, mapping, f"{images_file}:item {i}", pixels[i])
            for i, code in enumerate(codes)
        ),
        "idx",
        images_file.parent,
    )
    dataset.skipped[:0] = skipped
    return dataset


# --- detection -----------------------------------------------------------------------------


def detect_format(path: str | Path) -> str:
    """The format of a dataset folder or file; raises :class:`DatasetError` when it cannot be
    told or is ambiguous (the message lists the candidates and says to pass --format)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    if path.is_file():
        return _detect_file_format(path)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a file or folder (a device or pipe)")
    unreadable: list[tuple[Path, str]] = []
    candidates = _folder_candidates(path, unreadable)
    if len(candidates) == 1:
        return next(iter(candidates))
    if not candidates:
        unlisted = _unlisted_folders(path, unreadable)  # raises if ``path`` itself is one
        raise DatasetError(
            f"{path}: found no images, manifests (.tsv, .csv) or IDX files"
            + "".join(f"; {s.source}: {s.reason}" for s in unlisted[:3])
            + (f"; and {len(unlisted) - 3} more folders" if len(unlisted) > 3 else "")
        )
    evidence = "\n".join(f"  {fmt}: {why}" for fmt, why in candidates.items())
    raise DatasetError(
        f"{path}: cannot tell the dataset format; it could be\n{evidence}\n"
        f"Pass --format {'|'.join(candidates)} (or give the manifest file itself)."
    )


def _first_lines(path: Path, count: int = 2) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return [line for line in text.splitlines() if line.strip()][:count]


def _has_idx_magic(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(_GZIP_MAGIC):
        try:
            with gzip.open(path, "rb") as stream:
                head = stream.read(4)
        except (OSError, EOFError, zlib.error):
            return False
    return len(head) == 4 and head[:3] == b"\0\0\x08" and head[3] in (1, 3)


def _sniff_text_format(path: Path) -> str | None:
    lines = _first_lines(path)
    if not lines:
        return None
    if "\t" in lines[0]:
        return "tsv"
    if any(_looks_like_pixel_row(_plain_pixel_line(line).split(",")) for line in lines):
        return "pixel-csv"
    if "," in lines[0]:
        return "csv"
    return None


def _detect_file_format(path: Path) -> str:
    if _is_image(path):
        raise DatasetError(
            f"{path} is a single image; a dataset is a folder of images, "
            "a manifest (.tsv, .csv) or MNIST/EMNIST IDX files"
        )
    if _IDX_IMAGES.search(path.name) or _IDX_LABELS.search(path.name) or _has_idx_magic(path):
        return "idx"
    sniffed = _sniff_text_format(path)
    if path.suffix.lower() == ".tsv":
        return "tsv"
    if path.suffix.lower() == ".csv" and sniffed != "tsv":
        return "pixel-csv" if sniffed == "pixel-csv" else "csv"
    if sniffed is None:
        raise DatasetError(
            f"{path}: cannot tell the manifest format from its content; "
            "pass --format tsv|csv|pixel-csv"
        )
    return sniffed


def _folder_candidates(folder: Path, unreadable: list[tuple[Path, str]]) -> dict[str, str]:
    """Each format the folder could be in, with the evidence for it; the folders that cannot
    be listed are added to ``unreadable`` (the reader says them, as skipped)."""
    files = walk_files(folder, unreadable=unreadable)
    label_files = _label_files(files)
    images = [f for f in files if _is_image(f)]
    with_label = sum(_find_sidecar(image, label_files) is not None for image in images)
    claimed = _claimed(images, label_files)
    candidates: dict[str, str] = {}
    if with_label:
        candidates["sidecar"] = f"{with_label} of {len(images)} images have a .gt.txt/.txt file"
    if len(images) > with_label:
        candidates["filename"] = (
            f"{len(images) - with_label} of {len(images)} images have no label file "
            "(the file name would be the label)"
        )
    top_level = [f for f in files if f.parent == folder and f not in claimed]
    idx = [f.name for f in top_level if _IDX_IMAGES.search(f.name)]
    if idx:
        candidates["idx"] = ", ".join(idx)
    manifests: dict[str, list[Path]] = {}
    for manifest in top_level:
        fmt = _manifest_candidate(manifest)
        if fmt:
            manifests.setdefault(fmt, []).append(manifest)
    candidates.update((fmt, ", ".join(p.name for p in paths)) for fmt, paths in manifests.items())
    return _prefer_manifest_naming_images(candidates, manifests)


def _prefer_manifest_naming_images(
    candidates: dict[str, str], manifests: dict[str, list[Path]]
) -> dict[str, str]:
    """Images beside the one manifest that names them are that manifest's images, not a
    filename dataset (``lineocr synth --format tsv`` writes images/ + labels.tsv)."""
    if set(candidates) - {"filename"} != set(manifests) or len(manifests) != 1:
        return candidates
    ((fmt, paths),) = manifests.items()
    if "filename" not in candidates or fmt not in ("tsv", "csv") or len(paths) != 1:
        return candidates
    items = _tsv_items(paths[0]) if fmt == "tsv" else _csv_items(paths[0])
    if not any(isinstance(item, Sample) for item in itertools.islice(items, 5)):
        return candidates
    return {fmt: f"{paths[0].name}, which names the images here"}


def _manifest_candidate(path: Path) -> str | None:
    """The format of a top-level manifest; a .txt counts only as TSV (PaddleOCR-style
    ``rec_gt.txt``), since other text files are notes or stray labels."""
    suffix = path.suffix.lower()
    if suffix not in (".tsv", ".csv", ".txt") or _IDX_LABELS.search(path.name):
        return None
    try:
        fmt = _detect_file_format(path)
    except (DatasetError, OSError):
        return None
    return fmt if suffix != ".txt" or fmt == "tsv" else None


# --- summary -------------------------------------------------------------------------------

Histogram = list[tuple[int, int, int]]  # (lowest value, highest value, count) per bin


def histogram(values: Sequence[int], max_bins: int = 10) -> Histogram:
    """Integer bins of equal width covering min..max, at most ``max_bins`` of them."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = max(1, math.ceil((hi - lo + 1) / max_bins))
    counts = Counter((v - lo) // width for v in values)
    n_bins = (hi - lo) // width + 1
    return [(lo + b * width, lo + (b + 1) * width - 1, counts.get(b, 0)) for b in range(n_bins)]


@dataclass
class DatasetSummary:
    """What a dataset holds, reported before training: counts, characters, sizes, problems."""

    format: str
    root: str
    n_samples: int  # samples read (some may still fail to decode; see n_unreadable)
    n_skipped: int  # skipped while reading, plus unreadable images found here
    skipped: list[Skipped]  # the first MAX_SKIPPED_IN_SUMMARY, with reasons
    char_counts: dict[str, int]  # most frequent first
    length_histogram: Histogram  # label lengths in characters
    width_histogram: Histogram  # widths of the images checked, in pixels
    height_histogram: Histogram
    n_images_checked: int
    n_unreadable: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""

        def bins(h: Histogram) -> list[dict[str, int]]:
            return [{"min": lo, "max": hi, "count": n} for lo, hi, n in h]

        return {
            "format": self.format,
            "root": self.root,
            "n_samples": self.n_samples,
            "n_skipped": self.n_skipped,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "char_counts": dict(self.char_counts),
            "length_histogram": bins(self.length_histogram),
            "width_histogram": bins(self.width_histogram),
            "height_histogram": bins(self.height_histogram),
            "n_images_checked": self.n_images_checked,
            "n_unreadable": self.n_unreadable,
        }


def summarize(dataset: Dataset, *, max_images: int = 500, seed: int = 0) -> DatasetSummary:
    """Count characters and label lengths over all samples, and decode up to ``max_images``
    randomly chosen images for their sizes; images that fail to decode are reported."""
    chars: Counter[str] = Counter()
    for sample in dataset.samples:
        chars.update(sample.text)
    chosen = random.Random(seed).sample(
        range(len(dataset.samples)), min(max_images, len(dataset.samples))
    )
    widths: list[int] = []
    heights: list[int] = []
    unreadable: list[Skipped] = []
    for index in sorted(chosen):
        sample = dataset.samples[index]
        try:
            image = sample.load()
        except ImageError as exc:
            unreadable.append(Skipped(sample.source, exc.reason))
            continue
        heights.append(image.shape[0])
        widths.append(image.shape[1])
    all_skipped = dataset.skipped + unreadable
    return DatasetSummary(
        format=dataset.format,
        root=str(dataset.root),
        n_samples=len(dataset.samples),
        n_skipped=len(all_skipped),
        skipped=all_skipped[:MAX_SKIPPED_IN_SUMMARY],
        char_counts=dict(chars.most_common()),
        length_histogram=histogram([len(s.text) for s in dataset.samples], max_bins=12),
        width_histogram=histogram(widths),
        height_histogram=histogram(heights),
        n_images_checked=len(chosen),
        n_unreadable=len(unreadable),
    )


def print_summary(summary: DatasetSummary, console: Console) -> None:
    """Print the summary as compact Rich tables (``console`` is a ``rich.console.Console``)."""
    from rich.markup import escape
    from rich.table import Table

    overview = Table(title="Dataset", show_header=False, box=None, pad_edge=False)
    overview.add_row("format", summary.format)
    overview.add_row("root", escape(summary.root))
    overview.add_row("samples", f"{summary.n_samples:,}")
    overview.add_row("skipped", f"{summary.n_skipped:,}")
    checked = f"{summary.n_images_checked:,} checked, {summary.n_unreadable:,} unreadable"
    overview.add_row("images", checked)
    overview.add_row("characters", f"{len(summary.char_counts):,} distinct")
    console.print(overview)
    console.print(escape(_char_line(summary.char_counts)))
    for title, bins in (
        ("label length (characters)", summary.length_histogram),
        ("image width (pixels)", summary.width_histogram),
        ("image height (pixels)", summary.height_histogram),
    ):
        if bins:
            console.print(_histogram_table(title, bins))
    if summary.skipped:
        table = Table(title=f"Skipped ({summary.n_skipped:,}, first {len(summary.skipped)})")
        table.add_column("source", overflow="fold")
        table.add_column("reason", overflow="fold")
        for item in summary.skipped:
            table.add_row(escape(item.source), escape(item.reason))
        console.print(table)


def _char_line(char_counts: dict[str, int], limit: int = 60) -> str:
    shown = [f"{c!r} {n}" for c, n in list(char_counts.items())[:limit]]
    more = len(char_counts) - limit
    return "  ".join(shown) + (f"  … {more} more" if more > 0 else "")


def _histogram_table(title: str, bins: Histogram, bar_width: int = 30) -> Table:
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    peak = max(n for _, _, n in bins) or 1
    for lo, hi, n in bins:
        span = str(lo) if lo == hi else f"{lo}-{hi}"
        table.add_row(span, f"{n:,}", "█" * math.ceil(bar_width * n / peak))
    return table
