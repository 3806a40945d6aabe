"""The idx format: MNIST / EMNIST image and label file pairs, gzipped or not."""

from __future__ import annotations

import math
import re
import zlib
from pathlib import Path

import numpy as np

from lineocr.data.sources.base import Dataset, DatasetError, Skipped, _collect
from lineocr.data.sources.label_maps import _apply_label, _check_default_map_covers

_IDX_IMAGES = re.compile(r"images[-.]idx3-ubyte(?:\.gz)?$")
_IDX_LABELS = re.compile(r"labels[-.]idx1-ubyte(?:\.gz)?$")
_IDX_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


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
