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
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class OutputFormat(str, Enum):
    text = "text"
    tsv = "tsv"
    jsonl = "jsonl"
    hocr = "hocr"
    alto = "alto"
    page = "page"
    pdf = "pdf"  # a searchable PDF of every page read, written to --output


class LayoutMode(str, Enum):
    auto = "auto"
    line = "line"
    page = "page"


DOCUMENT_FORMATS = ("hocr", "alto", "page")  # the inputs gathered into one XML document
REASON_CHARS = 300  # a reading error's message is cut to this length

# ("ok", an image, a result or an output line) or ("error", why); "page" while a page's
# result stands elsewhere.
Outcome = tuple[str, Any]


@dataclass(frozen=True)
class ReadSettings:
    """How each input is read and written: the output format, the lines per model run
    (a local read only), the options given to ``read_batch`` (decoding, ``tta``), whether
    an image is a line or a page (``layout``), the fields to find on each page
    (``--extract``), the resolution an image's page has in a searchable PDF (``dpi``;
    a PDF page's is the one it was rasterised at) and what finds a page's lines
    (``detector``)."""

    output_format: OutputFormat
    batch_size: int
    options: dict[str, Any]
    layout: LayoutMode = LayoutMode.line
    fields: tuple[tuple[str, str], ...] = ()  # --extract NAME=PATTERN: each input a page
    dpi: float = 300.0
    detector: Any = None  # what finds a page's lines (None: the classical layout analysis)

    @property
    def document(self) -> bool:
        """Whether the inputs are gathered into a document (hOCR, ALTO, PAGE-XML)."""
        return self.output_format.value in DOCUMENT_FORMATS


def load_input(path: str, notes: list[str]) -> Outcome:
    """("ok", the image as an array) or ("error", why it cannot be read); a document's
    page (a :class:`~lineocr.documents.inputs.PageRef`) is rendered or decoded alone. What
    the loader says about the file without refusing it is added to ``notes``."""
    from lineocr.documents.inputs import PageRef, load_page
    from lineocr.images import ImageError, load_image

    try:
        if isinstance(path, PageRef):
            return ("ok", load_page(path))
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
    ``line``; with ``auto`` as :func:`lineocr.page.reads_as_page` decides (a line image
    reads as before)."""
    if layout is not LayoutMode.auto:
        return layout is LayoutMode.page
    from lineocr.page import reads_as_page

    return reads_as_page(image, recognizer.spec.height)


def read_page(recognizer: Any, image: Any, how: ReadSettings) -> Any:
    """The page, or the exception that stopped its reading (it costs only its own result)."""
    from lineocr.page import PageReader

    try:
        reader = PageReader(recognizer, batch_size=how.batch_size, detector=how.detector)
        return reader.read(image, **how.options)
    except Exception as exc:  # said as this input's error
        return exc


def recognise(
    recognizer: Any,
    outcomes: list[Outcome],
    how: ReadSettings,
    pages: Sequence[bool] | None = None,
) -> list[Outcome]:
    """The loaded images among ``outcomes`` read, each a line or a page (:func:`is_page`;
    under ``auto`` an outcome marked in ``pages``, a document's page, is always a page):
    ("ok", a ``Prediction`` or a ``Page``) or ("error", why); errors left as they are."""
    from lineocr.runtime import run_isolated

    done = list(outcomes)
    for i, (kind, image) in enumerate(outcomes):
        try:
            whole = how.layout is LayoutMode.auto and pages is not None and pages[i]
            page = kind == "ok" and (whole or is_page(image, recognizer, how.layout))
        except Exception as exc:  # said as this input's error
            reason = f"cannot find the lines: {type(exc).__name__}: {exc}"
            done[i] = ("error", reason[:REASON_CHARS])
            continue
        if page:
            result = read_page(recognizer, image, how)
            if isinstance(result, Exception):
                reason = f"cannot read the page: {type(result).__name__}: {result}"
                done[i] = ("error", reason[:REASON_CHARS])
            else:
                done[i] = ("ok", result)
    lines = [o if d is o else ("page", None) for o, d in zip(outcomes, done, strict=True)]
    loaded = [i for i, (kind, _) in enumerate(lines) if kind == "ok"]
    # A line image in a document or a PDF is a page of one line: its characters placed on
    # it place its words (a text or JSON line asks for nothing it does not write).
    placed = how.document or how.output_format is OutputFormat.pdf
    extra = {"positions": True} if placed else {}
    # An image the preprocessing or the model cannot take costs only its own result.
    predictions = run_isolated(
        lambda images: recognizer.read_batch(
            images, batch_size=how.batch_size, **how.options, **extra
        ),
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
