"""What every dataset reader shares: the sample types, the error, path and label helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lineocr.images import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES, ImageError, load_image

FORMATS = ("sidecar", "filename", "tsv", "csv", "pixel-csv", "idx")


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
    """The samples read from one source, what was skipped and why, and the format read."""

    samples: list[Sample]
    skipped: list[Skipped]
    format: str
    root: Path  # the folder that image paths are relative to

    def __len__(self) -> int:
        return len(self.samples)


def _unlisted_folders(root: Path, unreadable: list[tuple[Path, str]]) -> list[Skipped]:
    """The sub-folders :func:`~lineocr.files.walk_files` could not list, as skipped;
    ``root`` itself not listed is the whole dataset unreadable (:class:`DatasetError`)."""
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


def _collect(items: Iterator[Sample | Skipped], fmt: str, root: Path) -> Dataset:
    samples: list[Sample] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, Sample):
            samples.append(item)
        else:
            skipped.append(item)
    return Dataset(samples, skipped, fmt, root)
