"""Whole pages on the server: which images of a request are pages, and reading them.

The request's ``layout`` decides (``auto``: :func:`lineocr.page.reads_as_page`, the rule
``lineocr read`` uses). A page is laid out (its lines found, set upright and put in reading
order by :class:`lineocr.page.PageReader`) in one of ``page_workers`` threads, and its
lines are read through the server's batcher, in the same batches as every other request's
lines, under the same ``max_batch`` and ``max_queue``: the models take each line's own
length, so a line reads the same in any batch. A page whose layout fails, or that is not
read before its request's deadline, gets its own error; the request's other images are
answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lineocr.decode import DecodeError
from lineocr.fields import fields_to_dict, find_fields
from lineocr.layout import checkpoints
from lineocr.page import LINE_HEIGHTS, Page, PageReader, Word, reads_as_page
from lineocr.prediction import CharConfidence, Prediction
from lineocr.runtime import ReadCancelledError
from lineocr.serve.batcher import Outcome
from lineocr.serve.errors import ApiError
from lineocr.serve.fields import FieldRecognizer, PageFields
from lineocr.serve.models import PlacedLine

LAYOUTS = ("auto", "line", "page")
# A request's pages are given up this share of its timeout before the deadline (at most
# MAX_MARGIN_S), so that the answer with its other images still goes out in time.
MARGIN = 0.1
MAX_MARGIN_S = 1.0
TIMEOUT = (
    "not read before the request's deadline (a page takes longer than a line): "
    "send it alone, or smaller"
)

# What a page's lines are read with: crops (arrays, or PlacedLine to place their
# characters) -> their outcomes (the batcher, on the loop).
LineReader = Callable[[list[Any]], Coroutine[Any, Any, list[Outcome]]]


class PageError(Exception):
    """A page could not be read: its layout or a line's reading failed (the cause)."""


class PageTimeoutError(Exception):
    """A page was not read before its request's deadline."""


@dataclass(frozen=True)
class PageReading:
    """A page read, with where its time went: ``layout_ms`` finding, turning and ordering
    its lines; ``queue_ms`` its lines' waits for their first batch and ``inference_ms``
    the rest of their reading, each summed over the page's reads; ``batch_size`` the
    largest batch its lines ran in."""

    page: Page
    layout_ms: float
    queue_ms: float
    inference_ms: float
    batch_size: int
    fields: dict[str, Any] | None = None  # with ``extract``: fields_to_dict's answer


def page_margin(timeout_s: float) -> float:
    """Seconds before a request's deadline at which its pages are given up."""
    return min(MAX_MARGIN_S, MARGIN * timeout_s)


def needs_a_look(image: np.ndarray, line_height: int) -> bool:
    """Whether ``auto`` must look at an image to choose: one no taller than
    :data:`~lineocr.page.LINE_HEIGHTS` model heights holds no taller ink, so it is a line
    (:func:`~lineocr.page.reads_as_page` would say so) without any work."""
    return int(image.shape[0]) > LINE_HEIGHTS * line_height


class BatchedLines:
    """The recogniser a :class:`PageReader` reads a page's lines with, from its worker
    thread: each ``read_batch`` hands the crops to the batcher on the event loop and waits
    for them. :meth:`cancel` (from the loop: the request has ended) stops the reads waiting
    and the page's next ones (:class:`ReadCancelledError`)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        read_lines: LineReader,
        read_logits: LineReader | None = None,
    ) -> None:
        self._loop = loop
        self._read_lines = read_lines
        self._read_logits = read_logits
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[list[Outcome]]] = set()
        self._cancelled = False
        self.waited_s = 0.0
        self.queue_ms = 0.0
        self.inference_ms = 0.0
        self.batch_size = 0

    def read_batch(
        self,
        images: Sequence[np.ndarray],
        *,
        batch_size: int = 0,
        positions: bool = False,
        **_options: Any,
    ) -> list[Prediction]:
        """The lines read (the request's options are the batcher's runner's; the page
        reader's ``batch_size`` and options are not used here); with ``positions`` (the
        page reader asks, for its words) as :class:`~lineocr.serve.models.PlacedLine`,
        their characters placed."""
        items: list[Any] = [PlacedLine(image) for image in images] if positions else list(images)
        return self._through_batcher(self._read_lines, items)

    def read_logits(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The lines' logits (for their fields: :mod:`lineocr.serve.fields`)."""
        if self._read_logits is None:
            raise RuntimeError("this page's request asks for no fields")
        return self._through_batcher(self._read_logits, images)

    def _through_batcher(self, reader: LineReader, images: Sequence[np.ndarray]) -> list[Any]:
        """``reader``'s outcomes for the images, waited for (from the worker thread)."""
        with self._lock:
            if self._cancelled:
                raise ReadCancelledError("the page's request has ended")
            future: concurrent.futures.Future[list[Outcome]] = asyncio.run_coroutine_threadsafe(
                reader(list(images)), self._loop
            )
            self._pending.add(future)
        started = time.perf_counter()
        try:
            outcomes = future.result()
        except concurrent.futures.CancelledError:
            raise ReadCancelledError("the page's request has ended") from None
        finally:
            with self._lock:
                self._pending.discard(future)
            waited = time.perf_counter() - started
            self.waited_s += waited
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
        if outcomes:
            queued = min(o.queue_ms for o in outcomes)
            self.queue_ms += queued
            self.inference_ms += max(0.0, waited * 1000.0 - queued)
            self.batch_size = max(self.batch_size, *(o.batch_size for o in outcomes))
        return [o.value for o in outcomes]

    def check(self) -> None:
        """Raise :class:`ReadCancelledError` once the page's request has ended: the
        layout's checkpoints (:func:`lineocr.layout.checkpoints`) call it, so that a page
        costly to lay out stops when nobody waits for it any more."""
        if self._cancelled:
            raise ReadCancelledError("the page's request has ended")

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            pending = list(self._pending)
        for future in pending:  # cancels the batcher's submit: its lines are not read
            future.cancel()


def _read_page(
    image: np.ndarray,
    lines: BatchedLines,
    line_height: int | None,
    fields: PageFields | None = None,
) -> PageReading | None:
    """The page read (in a page worker thread), and its ``fields`` found; with
    ``line_height`` (layout ``auto``) only when :func:`~lineocr.page.reads_as_page` finds it
    a page: else None, a line."""
    with checkpoints(lines.check):  # the layout stops when the request has ended
        return _laid_out_and_read(image, lines, line_height, fields)


def _laid_out_and_read(
    image: np.ndarray,
    lines: BatchedLines,
    line_height: int | None,
    fields: PageFields | None,
) -> PageReading | None:
    started = time.perf_counter()
    if line_height is not None:
        try:
            if not reads_as_page(image, line_height):
                return None
        except ReadCancelledError:
            raise
        except Exception as exc:
            raise PageError(f"cannot find the lines: {type(exc).__name__}") from exc
    found = None
    try:
        page, crops = PageReader(lines).read_with_crops(image)
        if fields is not None:
            lines.check()
            values = find_fields(
                page, crops, fields.specs, FieldRecognizer(fields, lines.read_logits)
            )
            found = fields_to_dict(values)
    # The batcher's refusals (overloaded, shutting down), the decoder's refusal of the
    # options and a cancelled read say so themselves.
    except (ApiError, DecodeError, ReadCancelledError):
        raise
    except Exception as exc:  # the layout, a line's reading or its fields' failed
        raise PageError(f"cannot read this page ({type(exc).__name__})") from exc
    layout_ms = (time.perf_counter() - started - lines.waited_s) * 1000.0
    return PageReading(page, layout_ms, lines.queue_ms, lines.inference_ms, lines.batch_size, found)


class PageWorkers:
    """The threads pages are laid out in: ``workers`` pages at once; the others wait for
    a thread (a page whose request has ended is dropped before it starts)."""

    def __init__(self, workers: int) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="lineocr-page"
        )

    async def read(
        self,
        images: Sequence[np.ndarray],
        read_lines: LineReader,
        deadline: float,
        line_height: int | None = None,
        fields: tuple[PageFields, LineReader] | None = None,
    ) -> list[Outcome]:
        """Each page's outcome (its :class:`PageReading`, or its error), in order. With
        ``line_height`` (layout ``auto``) an image is first looked at, and read as a line
        (``read_lines``) when it is one. With ``fields`` (the fields and what reads the
        lines' logits) each page's fields are found too. Images not read by ``deadline``
        (:func:`time.perf_counter` seconds) get :class:`PageTimeoutError` and are stopped,
        and so are all of them when this coroutine is cancelled."""
        loop = asyncio.get_running_loop()
        wanted, read_logits = fields if fields is not None else (None, None)
        readers = [BatchedLines(loop, read_lines, read_logits) for _ in images]
        tasks = [
            asyncio.ensure_future(self._one(image, reader, read_lines, line_height, wanted))
            for image, reader in zip(images, readers, strict=True)
        ]
        try:
            done, late = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.perf_counter()))
        except asyncio.CancelledError:
            await _stop(readers, tasks)
            raise
        await _stop([r for r, t in zip(readers, tasks, strict=True) if t in late], late)
        return [
            _outcome(task) if task in done else Outcome(error=PageTimeoutError(TIMEOUT))
            for task in tasks
        ]

    async def _one(
        self,
        image: np.ndarray,
        reader: BatchedLines,
        read_lines: LineReader,
        line_height: int | None,
        fields: PageFields | None,
    ) -> Outcome:
        thread = self._executor.submit(_read_page, image, reader, line_height, fields)
        reading = await asyncio.wrap_future(thread)
        if reading is None:  # auto found a line: read as lines are
            return (await read_lines([image]))[0]
        return Outcome(reading, None, reading.queue_ms, reading.inference_ms, reading.batch_size)

    def close(self) -> None:
        """Drop the pages waiting for a thread; a page being laid out stops at its next
        read (its request gets its answer from the batcher's shutdown)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _outcome(task: asyncio.Future[Outcome]) -> Outcome:
    """A finished page task's outcome; one whose thread was dropped (the server shutting
    down drops the pages waiting for a thread) is refused as the batcher refuses lines."""
    if task.cancelled():
        return Outcome(error=ApiError(503, "shutting_down", "the server is shutting down"))
    error = task.exception()
    return Outcome(error=error) if error is not None else task.result()


async def _stop(readers: Sequence[BatchedLines], tasks: Collection[asyncio.Future[Any]]) -> None:
    """Stop pages being read: their reads waiting in the batcher are cancelled, and so
    are their next ones and their threads not started yet."""
    for reader in readers:
        reader.cancel()
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)  # at once: each waited on a thread or the batcher


# -- the answer -------------------------------------------------------------------------


def _chars(chars: Sequence[CharConfidence]) -> list[dict[str, Any]]:
    return [{"char": c.char, "confidence": round(float(c.confidence), 6)} for c in chars]


def _words(words: Sequence[Word]) -> dict[str, Any]:
    """A line's ``words`` as ``lineocr read --format jsonl`` gives them (text, confidence,
    box), each with its quadrilateral too (``polygon``, as the line's): what
    ``POST /v1/documents`` places a word of a turned or skewed page by. None when the
    line's words were not placed (with ``tta``), as there."""
    if not words:
        return {}
    return {
        "words": [
            {
                "text": w.text,
                "confidence": round(float(w.confidence), 6),
                "box": None if w.box is None else list(w.box),
                "polygon": [list(p) for p in w.polygon],
            }
            for w in words
        ]
    }


def page_fields(reading: PageReading, decode_ms: float) -> dict[str, Any]:
    """A read page's slot fields (the model and ``ok`` are the caller's): what
    ``lineocr read --format jsonl`` gives for a page, each line with its characters, and
    the timings."""
    page = reading.page
    record = page.to_dict()
    lines = [
        {
            **line,
            "confidence": round(float(ln.confidence), 6),
            "chars": _chars(ln.chars),
            **_words(ln.words),
        }
        for line, ln in zip(record["lines"], page.lines, strict=True)
    ]
    chars: list[dict[str, Any]] = []
    for k, ln in enumerate(page.lines):
        if k:  # the line break between lines is layout, not read
            chars.append({"char": "\n", "confidence": 1.0})
        chars.extend(_chars(ln.chars))
    return {
        "layout": "page",
        "text": page.text,
        "confidence": round(float(page.confidence), 6),
        "chars": chars,
        "lines": lines,
        "rotation": record["rotation"],
        "skew": record["skew"],
        "size": record["size"],
        **({} if reading.fields is None else {"fields": _rounded(reading.fields)}),
        "timings": {
            "decode_ms": round(decode_ms, 3),
            "queue_ms": round(reading.queue_ms, 3),
            "inference_ms": round(reading.inference_ms, 3),
            "batch_size": reading.batch_size,
            "layout_ms": round(reading.layout_ms, 3),
        },
    }


def _rounded(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields' answer with confidences to 6 places, as the lines' are."""
    return {
        name: None if f is None else {**f, "confidence": round(float(f["confidence"]), 6)}
        for name, f in fields.items()
    }
