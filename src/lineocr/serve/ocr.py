"""``POST /v1/ocr``: read a request's images with its options, one result slot per image.

Each image is read as a line or, with ``layout`` page or auto, as a page (:mod:`.pages`),
whose lines go through the same batcher.

A request that is wrong as a whole (content type, body, options, model) gets one error
(400, 413, 415, 422). Otherwise every image gets a slot in ``results``: its text, or its
own ``error``. The answer is 200 when at least one image was read; when none was, it is
the images' common error status (422 if they differ), with the per-image ``results`` still
in the body. The whole request runs within ``request_timeout_s`` (503 ``timeout``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from lineocr.decode import DecodeError
from lineocr.serve.batcher import Outcome, wait_within
from lineocr.serve.errors import ApiError, error_body, validation_message
from lineocr.serve.fields import PageFields, checked_specs, compile_fields
from lineocr.serve.limits import decode_image, header_pixels
from lineocr.serve.metrics import Metrics
from lineocr.serve.models import LoadedModel, ReadOptions, ViewedLine, check_ops, line_image
from lineocr.serve.pages import (
    LineReader,
    PageError,
    PageReading,
    PageTimeoutError,
    needs_a_look,
    page_fields,
    page_margin,
)
from lineocr.serve.request_body import Upload, read_request
from lineocr.serve.schemas import OcrOptions
from lineocr.serve.settings import Settings
from lineocr.serve.state import ServerState

if TYPE_CHECKING:
    from lineocr.fields import FieldSpec
    from lineocr.runtime import CancelToken

log = logging.getLogger("lineocr.serve")


@dataclass
class _Pending:
    """The images a request has in hand and their model: what a timeout counts."""

    model: str = ""
    images: int = 0


async def answer_ocr(request: Request, state: ServerState) -> JSONResponse:
    """The answer to one ``POST /v1/ocr``, within the request timeout."""
    if state.shutting_down:
        raise ApiError(503, "shutting_down", "the server is shutting down")
    settings = state.settings
    started = time.perf_counter()
    pending = _Pending()
    try:
        return await wait_within(
            _read(request, state, started, pending), settings.request_timeout_s
        )
    except TimeoutError:
        if pending.images:  # every image is counted under an outcome
            state.metrics.record_images(pending.model, "timeout", pending.images)
        raise ApiError(
            503, "timeout", f"the request took longer than {settings.request_timeout_s:g} s"
        ) from None


async def _read(
    request: Request, state: ServerState, started: float, pending: _Pending
) -> JSONResponse:
    """Read a request's images with its options: one result slot per image, in order."""
    uploads, raw_options = await read_request(request, state.settings)
    model, options, layout, specs = _resolve_options(raw_options, state)
    pending.model, pending.images = model.name, len(uploads)
    decoder = await _checked_decoder(model, options, state)
    fields = None
    if specs:  # each field's pattern compiled for the model, before any image is decoded
        rec = model.with_ops(options.ops)
        budget = state.settings.pattern_budget_s
        fields = await compile_fields(specs, rec, state.compile_slot, budget)
    pixels = _request_pixels(uploads, state.settings)
    await state.pixels.acquire(pixels)  # room for them among the requests in flight
    try:
        decoded, decode_ms = await _decode_timed(uploads, state.settings)
        page_deadline = started + state.settings.request_timeout_s
        page_deadline -= page_margin(state.settings.request_timeout_s)
        reading = _Reading(model, options, decoder, layout, page_deadline, fields)
        outcomes = await _read_images(decoded, reading, state)
    finally:
        state.pixels.release(pixels)
    results = [
        _image_result(decode_error, outcomes.get(i), upload.name)
        for i, (upload, (_, decode_error)) in enumerate(zip(uploads, decoded, strict=True))
    ]
    slots, errors = _slots(uploads, results, model, decode_ms, state.metrics)
    pending.images = 0  # counted, each under its outcome
    return _response(slots, errors, _model_ref(model), started)


# -- options ----------------------------------------------------------------------------


def _resolve_options(
    raw: dict[str, Any], state: ServerState
) -> tuple[LoadedModel, ReadOptions, str, list[FieldSpec]]:
    """The checked options, the model they name (the default when they name none), the
    layout (auto, line or page: not a reading option, so lines of any layout share
    batches) and the fields asked for (``extract``; none: an empty list)."""
    options, layout, specs = _check_options(raw, state)
    model = state.models.get(options.model)
    return model, ReadOptions(**{**options.__dict__, "model": model.name}), layout, specs


def _check_options(
    raw: dict[str, Any], state: ServerState
) -> tuple[ReadOptions, str, list[FieldSpec]]:
    settings = state.settings
    try:
        opts = OcrOptions.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", validation_message(exc.errors())) from None
    specs = _check_fields(opts, settings)
    lexicons, lms = state.resources.lexicons, state.resources.language_models
    if opts.lexicon is not None and opts.lexicon not in lexicons:
        known = ", ".join(sorted(lexicons)) or "none configured"
        raise ApiError(422, "unknown_lexicon", f"unknown lexicon {opts.lexicon!r}; known: {known}")
    if opts.lm is not None and opts.lm not in lms:
        known = ", ".join(sorted(lms)) or "none configured"
        raise ApiError(422, "unknown_lm", f"unknown language model {opts.lm!r}; known: {known}")
    if opts.pattern is not None and len(opts.pattern) > settings.max_pattern_length:
        raise ApiError(
            422, "invalid_pattern", f"pattern longer than {settings.max_pattern_length} characters"
        )
    if opts.beam_width is not None and opts.beam_width > settings.max_beam_width:
        raise ApiError(422, "invalid_request", f"beam_width at most {settings.max_beam_width}")
    if opts.tta and not settings.allow_tta:
        raise ApiError(
            422, "tta_disabled", "test-time augmentation (tta) is turned off on this server"
        )
    ops = check_ops(opts.preprocess, settings) if opts.preprocess is not None else None
    options = ReadOptions(
        opts.model or "",
        opts.decoder,
        opts.beam_width,
        opts.pattern,
        opts.lexicon,
        ops,
        opts.lm,
        opts.lm_weight,
        opts.length_bonus,
        bool(opts.tta),
    )
    layout = opts.layout or "auto"
    return options, "page" if specs else layout, specs


def _check_fields(opts: OcrOptions, settings: Settings) -> list[FieldSpec]:
    """``extract``'s fields, checked (none without it). Fields are found on pages: each
    image is read as one, and the pattern option, which would constrain whole lines, is
    refused beside them as the CLI refuses it."""
    if opts.extract is None:
        return []
    if opts.pattern is not None:
        raise ApiError(
            422,
            "invalid_field",
            "extract decodes each field with its own pattern: leave out pattern",
        )
    if opts.layout == "line":
        raise ApiError(
            422, "invalid_field", "extract reads each image as a page: leave out layout=line"
        )
    return checked_specs(opts.extract, settings.max_pattern_length)


async def _checked_decoder(model: LoadedModel, options: ReadOptions, state: ServerState) -> Any:
    """The decoder the options build (None without options), checked within the budget."""
    # Options the decoder refuses fail the whole request, before any image is decoded.
    # The decoder checked here is the one the batch uses: looked up again, it could have left
    # the recognizer's cache and be compiled anew, outside the budget.
    budget_s = state.settings.pattern_budget_s
    kwargs = model.decode_options(options, state.resources)
    if "pattern" in kwargs:  # untrusted regexes compile one at a time, within a budget
        async with state.compile_slot:
            return await asyncio.to_thread(model.check_decoder, kwargs, budget_s)
    if kwargs:
        return await asyncio.to_thread(model.check_decoder, kwargs, budget_s)
    return None


# -- images -----------------------------------------------------------------------------


def _request_pixels(uploads: list[Upload], settings: Settings) -> int:
    """The pixels the request's images will decode to, from their headers, within
    ``max_request_pixels``: an image that would take the request past it gets a 413 in its
    slot instead (and is not decoded); the others are read."""
    total = 0
    for upload in uploads:
        if upload.error is not None or not upload.data:
            continue
        pixels = header_pixels(upload.data)
        if pixels > settings.max_pixels:
            continue  # the loader refuses it (413 image_too_large) before decoding
        if total + pixels > settings.max_request_pixels:
            upload.error = ApiError(
                413,
                "request_too_many_pixels",
                f"{upload.name}: with its {pixels:,} pixels the request's images would "
                f"hold more than {settings.max_request_pixels:,}; send it in another request",
            )
            continue
        total += pixels
    return total


async def _decode_timed(
    uploads: list[Upload], settings: Settings
) -> tuple[list[tuple[Any, ApiError | None]], float]:
    """Each upload's image or error, decoded off the event loop, and the mean ms per image."""
    decode_started = time.perf_counter()
    decoded = await asyncio.to_thread(_decode_all, uploads, settings)
    decode_ms = (time.perf_counter() - decode_started) * 1000.0 / max(1, len(uploads))
    return decoded, decode_ms


def _decode_all(uploads: list[Upload], settings: Settings) -> list[tuple[Any, ApiError | None]]:
    out: list[tuple[Any, ApiError | None]] = []
    for upload in uploads:
        if upload.error is not None or upload.data is None:
            out.append((None, upload.error or ApiError(400, "empty_image", "no data")))
            continue
        try:
            img = decode_image(
                upload.data,
                upload.name,
                allowed_formats=settings.allowed_formats,
                max_pixels=settings.max_pixels,
            )
            out.append((img, None))
        except ApiError as exc:
            out.append((None, exc))
        except Exception as exc:  # the loader promises ImageError; be safe anyway
            log.exception("unexpected error decoding %s", upload.name)
            out.append(
                (
                    None,
                    ApiError(
                        422,
                        "unreadable_image",
                        f"{upload.name}: cannot read image ({type(exc).__name__})",
                    ),
                )
            )
    return out


@dataclass(frozen=True)
class _Reading:
    """How a request's images are read: the model, the options and their checked decoder,
    the layout, and when its pages are given up (:func:`time.perf_counter` seconds)."""

    model: LoadedModel
    options: ReadOptions
    decoder: Any
    layout: str
    page_deadline: float
    fields: PageFields | None = None


async def _read_images(
    decoded: list[tuple[Any, ApiError | None]], reading: _Reading, state: ServerState
) -> dict[int, Outcome]:
    """Read the decoded images, each as a line (in the batcher, with the checked decoder)
    or as a page (:mod:`.pages`: its lines in the same batcher); with layout ``auto``, an
    image too tall to be a line is looked at in a page worker first. Outcomes by index."""
    good = [i for i, (img, _) in enumerate(decoded) if img is not None]
    if not good:
        return {}
    model, options = reading.model, reading.options
    run = model.runner(options, state.resources, reading.decoder)

    async def read_lines(lines: list[Any]) -> list[Outcome]:
        # a page's lines come as PlacedLine, read for their words' places at no extra cost
        costs = [model.image_cost(options, line_image(line)) for line in lines]
        return await state.batcher.submit(options, run, lines, model.name, cost=costs)

    height = model.line_height
    if reading.layout == "line":
        lines, pages = good, []
    elif reading.layout == "page":
        lines, pages = [], good
    else:
        pages = [i for i in good if needs_a_look(decoded[i][0], height)]
        lines = [i for i in good if i not in pages]
    jobs: list[tuple[list[int], Awaitable[list[Outcome]]]] = []
    if lines:
        jobs.append((lines, read_lines([decoded[i][0] for i in lines])))
    if pages:
        look = height if reading.layout == "auto" else None
        images = [decoded[i][0] for i in pages]
        fields = None
        if reading.fields is not None:
            fields = (reading.fields, _logits_reader(reading, state))
        pages_read = state.pages.read(images, read_lines, reading.page_deadline, look, fields)
        jobs.append((pages, pages_read))
    results = await _all(job for _, job in jobs)
    outcomes: dict[int, Outcome] = {}
    for (indices, _), result in zip(jobs, results, strict=True):
        outcomes.update(zip(indices, result, strict=True))
    return outcomes


def _logits_reader(reading: _Reading, state: ServerState) -> LineReader:
    """What reads a page's lines again for their fields: their logits, or for a
    :class:`ViewedLine` its views' logits (a field's second look), through the batcher
    (batched with other requests' of the model, costed as plain lines, a viewed line as one
    line a view)."""
    model, ops = reading.model, reading.options.ops
    rec = model.with_ops(ops)
    plain = ReadOptions(model.name, ops=ops)

    def run(images: Sequence[np.ndarray], cancel: CancelToken | None = None) -> list[Any]:
        return list(rec.read_logits(list(images), batch_size=len(images), cancel=cancel))

    def run_views(items: Sequence[ViewedLine], cancel: CancelToken | None = None) -> list[Any]:
        names = items[0].names  # one key, one set of views
        images = [item.image for item in items]
        size = len(images) * len(names)
        return list(rec.read_view_logits(images, names=names, batch_size=size, cancel=cancel))

    async def read_logits(lines: list[Any]) -> list[Outcome]:
        viewed = [isinstance(line, ViewedLine) for line in lines]
        if any(viewed) and not all(viewed):
            raise ValueError("a page's fields hand the batcher plain or viewed lines, not both")
        costs = [
            model.image_cost(plain, line_image(line)) * (len(line.names) if v else 1)
            for line, v in zip(lines, viewed, strict=True)
        ]
        if lines and viewed[0]:
            key: tuple[Any, ...] = ("view-logits", model.name, ops, lines[0].names)
            return await state.batcher.submit(key, run_views, lines, model.name, cost=costs)
        key = ("logits", model.name, ops)
        return await state.batcher.submit(key, run, lines, model.name, cost=costs)

    return read_logits


async def _all(awaitables: Iterable[Awaitable[list[Outcome]]]) -> list[list[Outcome]]:
    """The awaitables' results, run at once; when one fails (the batcher refusing the
    request's lines) or the request ends, the others are cancelled too (a page being read
    in a thread stops its reads), not left running for nobody."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise


# -- the answer -------------------------------------------------------------------------


def _model_ref(model: LoadedModel) -> dict[str, Any]:
    """The model's name and version, as the response names it."""
    return {"name": model.name, "version": model.version}


def _slots(
    uploads: list[Upload],
    results: list[Outcome | ApiError],
    model: LoadedModel,
    decode_ms: float,
    metrics: Metrics,
) -> tuple[list[dict[str, Any]], list[ApiError]]:
    """One result slot per upload (``results``: each one's :func:`_image_result`), each
    image counted in the metrics; and the errors."""
    model_ref = _model_ref(model)
    slots: list[dict[str, Any]] = []
    errors: list[ApiError] = []
    for i, (upload, result) in enumerate(zip(uploads, results, strict=True)):
        slot: dict[str, Any] = {"index": i, "name": upload.name}
        if isinstance(result, ApiError):
            errors.append(result)
            metrics.record_images(model.name, result.code)
            slot.update(ok=False, error=result.to_dict())
        else:
            metrics.record_images(model.name, "ok")
            slot.update(ok=True, **_reading(result, model_ref, decode_ms))
        slots.append(slot)
    return slots, errors


def _image_result(
    decode_error: ApiError | None, outcome: Outcome | None, name: str
) -> Outcome | ApiError:
    """One image's outcome when it was read, else its error (decoding, reading, or none)."""
    if decode_error is not None:
        return decode_error
    if outcome is None:
        return ApiError(500, "internal_error", "no result")
    if outcome.error is not None:
        return _read_error(outcome.error, name)
    return outcome


def _read_error(exc: BaseException, name: str) -> ApiError:
    """An exception from reading one image -> its slot's error."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, DecodeError):  # the decoder refused the request's options
        return ApiError(422, "invalid_options", f"{name}: {exc}")
    if isinstance(exc, PageTimeoutError):
        return ApiError(503, "page_timeout", f"{name}: {exc}")
    if isinstance(exc, PageError):  # its layout or a line failed: said, details in the log
        cause = exc.__cause__ or exc
        log.error("reading page %s failed: %s", name, exc, exc_info=cause)
        return ApiError(422, "unprocessable_page", f"{name}: {exc}; the server log has details")
    # Whatever else fails on one image (an OpenCV assertion on an odd shape, a bug raising
    # ValueError or KeyError) is that image's error, not the server's: the other images are
    # read, and no 500 is answered. Not "invalid_options": the client's options are not at
    # fault, so the details are in the log, with the traceback, not in the answer.
    log.error("reading %s failed: %s: %s", name, type(exc).__name__, exc, exc_info=exc)
    return ApiError(
        422,
        "unprocessable_image",
        f"{name}: cannot recognise this image ({type(exc).__name__}); the server log has details",
    )


def _reading(outcome: Outcome, model_ref: dict[str, Any], decode_ms: float) -> dict[str, Any]:
    """A read image's slot fields: text, confidences, model and timings (and a page's
    lines, :func:`~lineocr.serve.pages.page_fields`)."""
    pred = outcome.value
    if isinstance(pred, PageReading):
        fields = page_fields(pred, decode_ms)
        timings = fields.pop("timings")
        return {**fields, "model": model_ref, "timings": timings}
    return {
        "layout": "line",
        "text": pred.text,
        "confidence": round(float(pred.confidence), 6),
        "chars": [
            {"char": c.char, "confidence": round(float(c.confidence), 6)} for c in pred.chars
        ],
        "model": model_ref,
        "timings": {
            "decode_ms": round(decode_ms, 3),
            "queue_ms": round(outcome.queue_ms, 3),
            "inference_ms": round(outcome.inference_ms, 3),
            "batch_size": outcome.batch_size,
        },
    }


def _response(
    slots: list[dict[str, Any]], errors: list[ApiError], model_ref: dict[str, Any], started: float
) -> JSONResponse:
    """200 with the slots when an image was read; else the images' common error status."""
    total_ms = round((time.perf_counter() - started) * 1000.0, 3)
    if len(errors) == len(slots):
        return _none_read(slots, errors)
    return JSONResponse({"model": model_ref, "results": slots, "timings": {"total_ms": total_ms}})


def _none_read(slots: list[dict[str, Any]], errors: list[ApiError]) -> JSONResponse:
    """The error answer when no image was read: their common status (422 if they differ)."""
    statuses = {e.status for e in errors}
    status = statuses.pop() if len(statuses) == 1 else 422
    first = errors[0]
    message = (
        first.message
        if len(slots) == 1
        else (f"none of the {len(slots)} images could be read; first: {first.message}")
    )
    code = first.code if status == first.status else "unreadable_images"
    return JSONResponse(error_body(status, code, message, results=slots), status_code=status)
