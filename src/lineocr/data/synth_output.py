"""Write a synthetic dataset to disk (sidecar, TSV or filename layout), its synth.json manifest,
and contact sheets for a person to look at before training.

Layouts (as :mod:`lineocr.data.sources` reads them):

- ``sidecar``: ``000000.png`` + ``000000.gt.txt``
- ``tsv``: ``images/000000.png`` and a manifest ``labels.tsv`` of ``path<TAB>text``
- ``filename``: ``<label>.png`` (labels must be unique and usable as file names, so
  repeated labels, and labels with ``/`` or over 200 bytes, are skipped)

``synth.json`` records the configuration, seed, split, count, format, resolved fonts and
pipelines, and versions: :func:`replay_settings` reads it back to regenerate the dataset.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, features

from lineocr import __version__
from lineocr.data.png import encode_png
from lineocr.data.render import draw_label
from lineocr.data.synth import LineSynthesizer, SynthConfig, SynthError, SynthSample

FORMATS = ("sidecar", "tsv", "filename")
MANIFEST = "synth.json"
TSV_MANIFEST = "labels.tsv"
_CHUNK = 16  # lines a worker makes per task: the last task's wait is about 16 lines
_MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class WriteOptions:
    """How :func:`write_dataset` runs: in ``workers`` processes (the output is the
    same), calling ``progress(k)`` as each ``k`` more lines are written."""

    workers: int = 1
    progress: Callable[[int], None] | None = None


@dataclass(frozen=True)
class WriteResult:
    out: Path
    written: int
    skipped: int  # filename layout: repeated or unusable labels


def _png(image: np.ndarray) -> bytes:
    """The line as a PNG: :func:`lineocr.data.png.encode_png` (OpenCV, Up filter, level 1),
    0.24 ms a line against 0.43 ms with libpng's adaptive filters (docs/synth.md, Speed)."""
    return encode_png(image)


def _write_file(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)`` without pathlib's and io's layers (two files a line)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)  # (Windows)
    fd = os.open(path, flags, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _name_ok(label: str) -> bool:
    return (
        label not in (".", "..")
        and "/" not in label
        and "\\" not in label
        and "\0" not in label
        and not label.startswith(".")
        and len(label.encode()) <= _MAX_NAME_BYTES
    )


# -- worker processes ------------------------------------------------------------------
@dataclass(frozen=True)
class _Files:
    """Where a producer writes each line itself (sidecar and tsv layouts): ``images`` holds
    ``{index:0{width}d}.png``, and with ``labels`` the line's ``.gt.txt`` beside it. Writing
    in the workers keeps the file system's work off the parent, which did it all in turn
    (6,000 files of a 3,000-line dataset: 4 of the parent's 25 s, cProfile)."""

    images: Path
    width: int
    labels: bool


_WORKER: dict[str, Any] = {}  # the synthesizer and files of this worker process


def _init_worker(synth: LineSynthesizer, files: _Files | None) -> None:
    _WORKER["synth"] = synth
    _WORKER["files"] = files


def _make_chunk(indices: Sequence[int]) -> list[tuple[int, str, bytes]]:
    return _make_chunk_with(_WORKER["synth"], indices, _WORKER["files"])


def _chunks(start: int, stop: int) -> Iterator[list[int]]:
    for i in range(start, stop, _CHUNK):
        yield list(range(i, min(stop, i + _CHUNK)))


def _make_chunk_with(
    synth: LineSynthesizer, indices: Sequence[int], files: _Files | None = None
) -> list[tuple[int, str, bytes]]:
    """(index, text, PNG bytes) of each line; with ``files``, each written there and its
    bytes left out (b"")."""
    out = []
    for i in indices:
        image, text = synth.sample(i)
        png = _png(image)
        if files is not None:
            stem = f"{i:0{files.width}d}"
            _write_file(files.images / f"{stem}.png", png)
            if files.labels:
                _write_file(files.images / f"{stem}.gt.txt", (text + "\n").encode("utf-8"))
            png = b""
        out.append((i, text, png))
    return out


# What a worker needs imported: in the fork server, once, rather than in every worker.
_PRELOAD = ["lineocr.cli", "lineocr.data.synth_output"]


def worker_context() -> Any:
    """How worker processes start: from a fork server on Linux, else spawned (on macOS a
    process that has loaded OpenCV's system frameworks is not safe to fork). Never forked
    from this process, which may run threads (the progress bar's). The server is a fresh
    process that imports lineocr, OpenCV and NumPy once (:data:`_PRELOAD`) and forks each
    worker from itself, so a worker starts with them loaded: spawned workers each imported
    them, about 0.3 CPU-s a worker before their first line (docs/synth.md, Speed)."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # (no effect once the server runs)
    return ctx


def start_worker_server() -> None:
    """Start the fork server now (on Linux), so that its imports run while
    this process still checks fonts; the pool's workers then fork from it at once."""
    ctx = worker_context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class _Producer:
    """Samples ``[start, stop)`` in index order, here or in ``workers`` processes
    (:func:`worker_context`); with ``files``, each line's files are written where it is
    made."""

    def __init__(self, synth: LineSynthesizer, workers: int, files: _Files | None = None) -> None:
        self.synth = synth
        self.files = files
        self.pool: Any = None
        if workers > 1:
            ctx = worker_context()
            self.pool = ctx.Pool(workers, initializer=_init_worker, initargs=(synth, files))

    def run(self, start: int, stop: int) -> Iterator[tuple[int, str, bytes]]:
        if self.pool is None:
            for chunk in _chunks(start, stop):
                yield from _make_chunk_with(self.synth, chunk, self.files)
        else:
            for result in self.pool.imap(_make_chunk, _chunks(start, stop)):
                yield from result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()


def check_output_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        raise SynthError(
            f"{out} is not empty; write a synthetic dataset into a new or empty directory"
        )


def write_dataset(
    out: Path,
    n: int,
    synth: LineSynthesizer,
    fmt: str = "sidecar",
    options: WriteOptions = WriteOptions(),
) -> WriteResult:
    """Write ``n`` samples of ``synth`` to ``out`` in layout ``fmt``, then ``synth.json``."""
    if fmt not in FORMATS:
        raise SynthError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if n < 1:
        raise SynthError("n must be at least 1")
    check_output_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    images = out / "images" if fmt == "tsv" else out
    images.mkdir(exist_ok=True)
    width = max(6, len(str(n - 1)))
    rows: list[str] = []
    seen: set[str] = set()
    written = skipped = 0
    # The filename layout decides here which lines it keeps (unique labels): it writes here.
    files = None if fmt == "filename" else _Files(images, width, labels=fmt == "sidecar")
    producer = _Producer(synth, options.workers, files)
    try:
        start = 0
        while written < n:
            # The filename layout skips repeated labels, so it reads on until it has n.
            stop = start + (n - written if fmt != "filename" else max(64, 2 * (n - written)))
            for index, text, png in producer.run(start, stop):
                if fmt == "filename":
                    if text in seen or not _name_ok(text):
                        skipped += 1
                        continue
                    seen.add(text)
                    (out / f"{text}.png").write_bytes(png)
                elif fmt == "tsv":  # the image is written (_Files)
                    rows.append(f"images/{index:0{width}d}.png\t{text}\n")
                written += 1
                if options.progress is not None:
                    options.progress(1)
                if written >= n:
                    break
            start = stop
            if written < n and start > 20 * n + 1000:
                raise SynthError(
                    f"only {written} distinct labels in {start} samples; the "
                    f"filename layout needs unique labels (use sidecar or tsv)"
                )
    finally:
        producer.close()
    if fmt == "tsv":
        (out / TSV_MANIFEST).write_text("".join(rows), encoding="utf-8")
    write_manifest(out, synth, n=written, fmt=fmt, skipped=skipped)
    return WriteResult(out, written, skipped)


def write_manifest(
    out: Path, synth: LineSynthesizer, *, n: int, fmt: str, skipped: int = 0
) -> Path:
    captcha_version: str | None
    try:
        from captcha import __version__ as captcha_version
    except ImportError:  # pragma: no cover - optional
        captcha_version = None
    import PIL

    data: dict[str, Any] = {
        "generator": "lineocr synth",
        "lineocr_version": __version__,
        **synth.describe(),
        "n": n,
        "format": fmt,
        "skipped": skipped,
        "versions": {
            "pillow": PIL.__version__,
            "raqm": features.version("raqm"),
            "captcha": captcha_version,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
    }
    path = out / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class ReplaySettings:
    config: SynthConfig
    seed: int
    split: str
    n: int
    fmt: str
    fonts: list[str]  # the font files the original run used


def replay_settings(path: Path) -> ReplaySettings:
    """The settings a ``synth.json`` recorded (a dataset folder or the file itself)."""
    if path.is_dir():
        path = path / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return ReplaySettings(
            SynthConfig.from_dict(data["config"]),
            int(data["seed"]),
            str(data["split"]),
            int(data["n"]),
            str(data["format"]),
            [f["path"] for f in data.get("fonts", [])],
        )
    except OSError as exc:
        raise SynthError(f"{path}: cannot read manifest: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SynthError(f"{path}: not a lineocr synth.json manifest ({exc})") from None


# -- contact sheet ------------------------------------------------------------------------
def contact_sheet(
    samples: Sequence[SynthSample], path: Path, *, width: int = 1200, line_height: int = 48
) -> Path:
    """One row per sample: the image (scaled to ``line_height``), then its label drawn in
    the sample's font, so a person can check that image and label agree."""
    rows: list[Image.Image] = []
    for i, s in enumerate(samples):
        img = Image.fromarray(s.image)
        scale = line_height / img.height
        w = min(width - 16, max(1, round(img.width * scale)))
        img = img.resize((w, line_height), Image.Resampling.LANCZOS)
        try:
            label = draw_label(s.text, s.font, 20)
        except (OSError, ValueError):
            label = Image.new("L", (1, 1), 255)
        if label.width > width - 16:
            label = label.resize((width - 16, label.height), Image.Resampling.LANCZOS)
        row = Image.new("RGB", (width, line_height + label.height + 22), "white")
        row.paste(img.convert("RGB"), (8, 4))
        ImageDraw.Draw(row).text(
            (8, line_height + 6), f"{i}  {s.style}  {Path(s.font).name}", fill=(140, 140, 140)
        )
        tint = Image.new("RGB", label.size, (20, 60, 170))
        row.paste(tint, (8, line_height + 18), Image.eval(label, lambda v: 255 - v))
        rows.append(row)
    if not rows:
        raise SynthError("no samples for a contact sheet")
    sheet = Image.new("RGB", (width, sum(r.height + 2 for r in rows)), (200, 200, 200))
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height + 2
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
