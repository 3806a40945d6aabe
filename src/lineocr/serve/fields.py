"""Fields on the server (``POST /v1/ocr`` with ``extract``): the request's fields checked
before any image is read, and the recogniser :func:`lineocr.fields.find_fields` reads a
page's lines with from its page worker thread.

The fields are those of ``lineocr read --extract``: the same ``NAME=PATTERN`` syntax and
named patterns, found by :func:`lineocr.fields.find_fields` on the lines the server read.
Each field's pattern is compiled for the model within ``pattern_budget_s`` (a regex can
compile to an automaton exponential in its size), one request at a time, and the page is
read with exactly those decoders. The second reading of a page's lines that fields need
(their logits, to decode the spans where a value can stand) goes through the batcher with
every other request's lines, so its work is bounded and shared as theirs is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lineocr.deadline import DeadlineExceeded, run_with_deadline
from lineocr.fields import (
    FIELD_PATTERNS,
    MAX_FIELDS,
    REVIEW_THRESHOLD,
    FieldError,
    FieldSpec,
    field_decoders,
    field_specs,
    parse_field,
)
from lineocr.serve.errors import ApiError
from lineocr.serve.models import ViewedLine
from lineocr.tta import VIEWS

FIELD_SYNTAX = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}=.+"  # NAME=PATTERN, as a form field


def fields_info() -> dict[str, Any]:
    """What ``GET /v1/models`` says of fields: the named patterns, how many fields a
    request may ask for, and the confidence below which a value should be checked by a
    person (:data:`lineocr.fields.REVIEW_THRESHOLD`, measured in docs/documents.md)."""
    return {
        "patterns": dict(FIELD_PATTERNS),
        "max_fields": MAX_FIELDS,
        "review_threshold": REVIEW_THRESHOLD,
    }


def add_form_field(options: dict[str, Any], value: str) -> None:
    """One ``extract=NAME=PATTERN`` form field into ``options["extract"]`` (a name twice
    is refused, as the CLI refuses it)."""
    try:
        name, pattern = parse_field(value)
    except FieldError:
        raise ApiError(
            422, "invalid_field", f"extract {value[:100]!r}: expected NAME=PATTERN (e.g. id=id)"
        ) from None
    fields = options.setdefault("extract", {})
    if name in fields:
        raise ApiError(422, "invalid_field", f"extract names the field {name!r} twice")
    fields[name] = pattern


def checked_specs(fields: Mapping[str, str], max_pattern_length: int) -> list[FieldSpec]:
    """The fields asked for, checked as the CLI checks them (names, patterns that compile as
    regexes, at most :data:`~lineocr.fields.MAX_FIELDS`): 422 ``invalid_field`` naming the
    field otherwise."""
    for name, pattern in fields.items():
        if isinstance(pattern, str) and len(pattern) > max_pattern_length:
            raise ApiError(
                422,
                "invalid_field",
                f"field {name}: pattern longer than {max_pattern_length} characters",
            )
    try:
        return field_specs(fields)
    except FieldError as exc:
        raise ApiError(422, "invalid_field", str(exc)) from None


@dataclass(frozen=True)
class PageFields:
    """The fields a request's pages are searched for: each one's spec, the decoder its
    pattern compiled to for the model (by regex), and the recogniser whose charset,
    calibration and decoding they use."""

    specs: Sequence[FieldSpec]
    decoders: Mapping[str, Any]
    recognizer: Any


async def compile_fields(
    specs: Sequence[FieldSpec], recognizer: Any, compile_slot: asyncio.Semaphore, budget_s: float
) -> PageFields:
    """Each field's decoder, compiled one request at a time within ``budget_s`` seconds:
    422 ``pattern_too_complex`` past it, 422 ``invalid_field`` for a pattern the model
    cannot follow (a character it cannot write, no finite automaton), each naming the
    field."""

    def compile_all() -> list[Any]:
        return list(run_with_deadline(lambda: field_decoders(recognizer, specs), budget_s))

    async with compile_slot:
        try:
            decoders = await asyncio.to_thread(compile_all)
        except DeadlineExceeded:
            raise ApiError(
                422,
                "pattern_too_complex",
                f"an extract pattern takes more than {budget_s:g} s to compile; simplify it",
            ) from None
        except FieldError as exc:
            raise ApiError(422, "invalid_field", str(exc)) from None
    return PageFields(
        tuple(specs), {s.regex: d for s, d in zip(specs, decoders, strict=True)}, recognizer
    )


class FieldRecognizer:
    """What :func:`lineocr.fields.find_fields` reads a page's lines with on the server:
    the model's charset, calibration and predictions, the request's checked decoders, and
    ``read_logits`` and ``read_view_logits`` through the batcher (``read``: the page's
    bridge to the event loop, :meth:`lineocr.serve.pages.BatchedLines.read_logits`): a
    :class:`lineocr.fields.FieldReader`."""

    def __init__(self, fields: PageFields, read: Any) -> None:
        self._fields = fields
        self._read = read
        rec = fields.recognizer
        self.charset = rec.charset
        self.temperature = rec.temperature
        self.prediction = rec.prediction

    def decoder(self, *, pattern: str) -> Any:
        """The decoder checked for this pattern before the request's images were read
        (compiled again here, it could take past the budget)."""
        return self._fields.decoders[pattern]

    def read_logits(self, images: Sequence[np.ndarray], *, batch_size: int = 0) -> Any:
        return self._read(list(images))

    def read_view_logits(
        self,
        images: Sequence[np.ndarray],
        *,
        names: Sequence[str] | None = None,
        batch_size: int = 0,
    ) -> Any:
        """Each line's logits in the views ``names`` (default all of
        :data:`lineocr.tta.VIEWS`), read through the batcher as the model's
        :meth:`~lineocr.runtime.Recognizer.read_view_logits` reads them."""
        chosen = tuple(VIEWS if names is None else names)
        return self._read([ViewedLine(image, chosen) for image in images])
