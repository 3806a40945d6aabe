"""The filename format: an image's file name, less its suffix, is its label."""

from __future__ import annotations

import re
from pathlib import Path

from lineocr.data.sources.base import (
    Dataset,
    DatasetError,
    Sample,
    Skipped,
    _clean_label,
    _unlisted_folders,
    _usable_images,
)
from lineocr.files import walk_files

_TRAILING_COPY_NUMBER = re.compile(r"(?:_\d+|\s*\(\d+\))$")  # "abc_2", "abc (1)"


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
