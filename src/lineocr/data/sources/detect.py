"""Format detection: which format a dataset folder or file is in, or why it cannot be told."""

from __future__ import annotations

import gzip
import itertools
import zlib
from pathlib import Path

from lineocr.data.sources.base import DatasetError, Sample, _is_image, _unlisted_folders
from lineocr.data.sources.idx import _GZIP_MAGIC, _IDX_IMAGES, _IDX_LABELS
from lineocr.data.sources.manifests import _csv_items, _tsv_items
from lineocr.data.sources.pixel_csv import _looks_like_pixel_row, _plain_pixel_line
from lineocr.data.sources.sidecar import _claimed, _find_sidecar, _label_files
from lineocr.files import walk_files


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
