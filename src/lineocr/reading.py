"""Reading inputs the way ``lineocr read`` does, without the command line: an input's file
loaded (or its error), each image read as a line or a page, each result as the record that
``lineocr read --format jsonl`` writes.

Shared by ``lineocr read`` and ``lineocr batch`` (whose Ray actors import no typer), so the
two give the same record for the same image. Torch-free, as the recogniser is.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class OutputFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"


class LayoutMode(str, Enum):
    auto = "auto"
    line = "line"
    page = "page"


LINE_HEIGHTS = 3  # auto: ink this many model heights tall or less is one line
REASON_CHARS = 300  # a reading error's message is cut to this length

# ("ok", an image, a result or an output line) or ("error", why); "page" while a page's
# result stands elsewhere.
Outcome = tuple[str, Any]


@dataclass(frozen=True)
class ReadSettings:
    """How each input is read and written: the output format, the lines per model run
    (a local read only), the options given to ``read_batch`` (decoding, ``tta``) and
    whether an image is a line or a page (``layout``)."""

    output_format: OutputFormat
    batch_size: int
    options: dict[str, Any]
    layout: LayoutMode = LayoutMode.line


def load_input(path: str, notes: list[str]) -> Outcome:
    """("ok", the image as an array) or ("error", why it cannot be read); what the loader
    says about the file without refusing it (a multi-page TIFF read as its first page) is
    added to ``notes``."""
    from lineocr.images import ImageError, load_image

    try:
        if Path(path).is_dir():
            os.scandir(path).close()  # a folder that cannot be listed says why
            return ("error", "no images in this directory")
        return ("ok", load_image(path, notes=notes))
    except ImageError as exc:
        return ("error", exc.reason)
    except OSError as exc:  # "file name too long", as the other reasons are worded
        from lineocr.files import os_reason

        return ("error", os_reason(exc))


def is_page(image: Any, recognizer: Any, layout: LayoutMode) -> bool:
    """Whether ``image`` is read as a page: always with ``--layout page``, never with
    ``line``; with ``auto`` when its ink is more than :data:`LINE_HEIGHTS` model heights
    tall and either not line-shaped or holding lines one above another (a line image
    reads as before)."""
    if layout is not LayoutMode.auto:
        return layout is LayoutMode.page
    from lineocr.layout import find_lines
    from lineocr.preprocess import ink_box

    box = ink_box(image)
    if box is None or box[1] - box[0] <= LINE_HEIGHTS * recognizer.spec.height:
        return False
    top, bottom, left, right = box
    if right - left < 2 * (bottom - top):  # not line-shaped: a page, upright or turned
        return True
    # A wide image is a page only if the lines found lie one above another: a single line
    # of large print can fall apart into pieces side by side (an Arabic line into its
    # words and dots), which overlap in height.
    return rows_of_lines([line.box for line in find_lines(image).lines]) > 1


def rows_of_lines(boxes: list[tuple[int, int, int, int]]) -> int:
    """How many bands of height the boxes (x0, y0, x1, y1) fall into, boxes whose heights
    overlap sharing a band."""
    rows = 0
    reach = -1
    for _, y0, _, y1 in sorted(boxes, key=lambda b: b[1]):
        if y0 >= reach:
            rows += 1
        reach = max(reach, y1)
    return rows


def read_page(recognizer: Any, image: Any, batch_size: int, options: dict[str, Any]) -> Any:
    """The page, or the exception that stopped its reading (it costs only its own result)."""
    from lineocr.page import PageReader

    try:
        return PageReader(recognizer, batch_size=batch_size).read(image, **options)
    except Exception as exc:  # said as this input's error
        return exc


def recognise(recognizer: Any, outcomes: list[Outcome], how: ReadSettings) -> list[Outcome]:
    """The loaded images among ``outcomes`` read, each a line or a page (:func:`is_page`):
    ("ok", a ``Prediction`` or a ``Page``) or ("error", why); errors left as they are."""
    from lineocr.runtime import run_isolated

    done = list(outcomes)
    for i, (kind, image) in enumerate(outcomes):
        try:
            page = kind == "ok" and is_page(image, recognizer, how.layout)
        except Exception as exc:  # said as this input's error
            reason = f"cannot find the lines: {type(exc).__name__}: {exc}"
            done[i] = ("error", reason[:REASON_CHARS])
            continue
        if page:
            result = read_page(recognizer, image, how.batch_size, how.options)
            if isinstance(result, Exception):
                reason = f"cannot read the page: {type(result).__name__}: {result}"
                done[i] = ("error", reason[:REASON_CHARS])
            else:
                done[i] = ("ok", result)
    lines = [o if d is o else ("page", None) for o, d in zip(outcomes, done, strict=True)]
    loaded = [i for i, (kind, _) in enumerate(lines) if kind == "ok"]
    # An image the preprocessing or the model cannot take costs only its own result.
    predictions = run_isolated(
        lambda images: recognizer.read_batch(images, batch_size=how.batch_size, **how.options),
        [lines[i][1] for i in loaded],
    )
    for i, prediction in zip(loaded, predictions, strict=True):
        if isinstance(prediction, Exception):
            reason = f"cannot recognise: {type(prediction).__name__}: {prediction}"
            done[i] = ("error", reason[:REASON_CHARS])
        else:
            done[i] = ("ok", prediction)
    return done


def result_record(path: str, result: Any) -> dict[str, Any]:
    """An input's JSON record: its path and what reading it gave (a line's text,
    confidence and characters; a page's text, lines with boxes, rotation, ...)."""
    return {"path": path, **result.to_dict()}


def error_record(path: str, reason: str) -> dict[str, Any]:
    return {"path": path, "error": reason}


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of UTF-8 JSON. A file name that is not UTF-8 (bytes decoded
    with ``surrogateescape``) keeps its stand-ins as ``\\udcXX`` escapes: ``json.loads``
    gives the same string back, ``os.fsencode`` the name's bytes."""
    line = json.dumps(record, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
