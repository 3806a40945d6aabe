"""The sidecar format: ``line.png`` labelled by the ``line.gt.txt`` (or ``line.txt``) beside it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lineocr.data.sources.base import (
    Dataset,
    Sample,
    Skipped,
    _clean_label,
    _printable,
    _unlisted_folders,
    _usable_images,
)
from lineocr.files import walk_files

SIDECAR_SUFFIXES = (".gt.txt", ".txt")  # in order of preference
# kraken / OCR-D line images carry a processing step in their name: line.bin.png + line.gt.txt
_PROCESSING_SUFFIXES = (".bin", ".nrm", ".raw", ".dew")


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
