"""Read one source or several: each by its format's reader, with its options checked."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from lineocr.data.sources.base import FORMATS, Dataset, DatasetError
from lineocr.data.sources.detect import detect_format
from lineocr.data.sources.filename import _read_filename
from lineocr.data.sources.idx import _read_idx
from lineocr.data.sources.label_maps import _resolve_label_map
from lineocr.data.sources.manifests import _read_csv, _read_tsv
from lineocr.data.sources.pixel_csv import _read_pixel_csv
from lineocr.data.sources.sidecar import _read_sidecar
from lineocr.files import os_reason
from lineocr.keywords import check_keywords

if TYPE_CHECKING:
    from typing import Unpack


class FormatOptions(TypedDict, total=False):
    """What some formats take, by keyword; each is an error for a format that ignores it.

    ``strip_suffix`` / ``label_regex`` apply to the filename format; ``label_map`` (a name
    from :data:`NAMED_LABEL_MAPS`, a spec such as ``"0-25:A-Z"``, an EMNIST mapping file, or
    a dict) and ``transpose`` to pixel-csv and idx.
    """

    strip_suffix: bool
    label_regex: str | None
    label_map: str | dict[int, str] | None
    transpose: bool


# Every option at its default, in the order options are checked against a format.
_NO_OPTIONS: FormatOptions = {
    "strip_suffix": False,
    "label_regex": None,
    "label_map": None,
    "transpose": False,
}


def _with_defaults(function: str, given: FormatOptions) -> FormatOptions:
    """``given`` (checked: no other keyword) with the options left out at their defaults."""
    check_keywords(function, given, _NO_OPTIONS)
    return {**_NO_OPTIONS, **given}


def read_dataset(
    src: str | Path, fmt: str | None = None, **options: Unpack[FormatOptions]
) -> Dataset:
    """Read a dataset folder or file in ``fmt`` (detected when None), with the keyword
    ``options`` its format takes (:class:`FormatOptions`). Raises :class:`DatasetError` when
    the source is missing, an option does not fit the format, or no sample is readable.
    """
    opts = _with_defaults("read_dataset", options)
    path = Path(src)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    detected = fmt is None
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_options_fit(fmt, detected, **opts)
    label_map, transpose = opts["label_map"], opts["transpose"]
    if fmt == "sidecar":
        dataset = _read_sidecar(_require_dir(path, fmt))
    elif fmt == "filename":
        dataset = _read_filename(_require_dir(path, fmt), opts["strip_suffix"], opts["label_regex"])
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
    unusable: list[tuple[str, str]] | None = None,
    **format_options: Unpack[FormatOptions],
) -> list[Dataset]:
    """Several sources read with one set of ``format_options`` (as :func:`read_dataset`
    takes them), as ``train --data A --data B`` gives them. With ``fmt`` detected, each
    source gets the options its format uses: a Kaggle A-Z pixel CSV beside a folder of line
    images takes ``--label-map az``, the folder nothing. An option that no source's format
    uses is an error, as for one source.

    A source that cannot be read, or has no usable line, raises :class:`DatasetError`;
    with ``unusable`` (a list) it is appended there as ``(source, message)`` and the other
    sources are still read (``lineocr eval``), unless none is left: then the first error
    is raised."""
    options: dict[str, Any] = dict(_with_defaults("read_datasets", format_options))
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
