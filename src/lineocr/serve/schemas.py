"""The API's request and response shapes (pydantic), which also make the OpenAPI spec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OcrOptions(_Strict):
    """How to read: the same fields as multipart form fields or JSON keys."""

    model: str | None = Field(None, max_length=200, description="Model name (default: the first)")
    decoder: Literal["greedy", "beam"] | None = Field(None, description="CTC decoder")
    beam_width: int | None = Field(None, ge=1, le=1024, description="Beam width (beam decoder)")
    pattern: str | None = Field(
        None,
        max_length=1000,
        description="A regular expression or a named pattern the text must match",
    )
    lexicon: str | None = Field(None, max_length=200, description="A server-side lexicon name")
    lm: str | None = Field(
        None, max_length=200, description="A server-side character language model name"
    )
    lm_weight: float | None = Field(None, ge=0, le=5, description="Language model weight")
    length_bonus: float | None = Field(
        None, ge=-5, le=5, description="Score per character with a language model"
    )
    tta: bool | None = Field(
        None,
        description="Test-time augmentation: read each image as 12 views and keep the text "
        "they agree on (fewer errors on unusual fonts, 12 times the work)",
    )
    preprocess: list[str] | None = Field(
        None,
        max_length=32,
        description='Preprocessing ops replacing the model\'s, e.g. ["auto_invert", "otsu"]',
    )
    layout: Literal["auto", "line", "page"] | None = Field(
        None,
        description="line: each image is one text line; page: find its lines (columns, "
        "turned and skewed pages) and read them in reading order; auto (the default): a "
        "line-shaped image as a line, anything else as a page",
    )
    extract: dict[str, str] | None = Field(
        None,
        max_length=16,
        description="Fields to find on each image, read as a page: name -> a named pattern "
        "(id, date, amount, phone, email) or a regular expression, where a group named "
        '\'value\' or one {id}, {date}, ... marks the value (e.g. {"born": "Born: {date}"}); '
        "as multipart, one field 'extract' per NAME=PATTERN. Each result gets 'fields'",
    )


class Base64Image(_Strict):
    data: str = Field(..., description="The image file, base64 (a data: URL is accepted)")
    name: str | None = Field(None, max_length=500, description="A name echoed in the result")


class OcrJsonRequest(OcrOptions):
    """``POST /v1/ocr`` with ``Content-Type: application/json``."""

    images: list[Base64Image] = Field(..., min_length=1)


class CharOut(BaseModel):
    char: str
    confidence: float


class ModelRef(BaseModel):
    name: str
    version: str


class ImageTimings(BaseModel):
    decode_ms: float = Field(..., description="Reading and checking the image file")
    queue_ms: float = Field(..., description="Waiting for a batch")
    inference_ms: float = Field(..., description="Preprocess, network and decoding of its batch")
    batch_size: int = Field(..., description="Images in the ONNX batch this one ran in")
    layout_ms: float | None = Field(
        None,
        description="A page: finding its lines, turning and ordering them (queue_ms and "
        "inference_ms are then its lines' batches, summed; batch_size the largest)",
    )


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str


class PageWord(BaseModel):
    """One word of a line (a run of non-space characters), in logical order."""

    text: str
    confidence: float = Field(..., description="Its least sure character's confidence")
    box: list[int] = Field(
        ..., description="x0, y0, x1, y1 in the image's pixels (x1 and y1 exclusive)"
    )
    polygon: list[list[int]] = Field(
        ...,
        description="Its corners [x, y] in the image's pixels, top-left first as the line "
        "runs (a word of a turned or skewed line)",
    )


class PageLine(BaseModel):
    """One text line of a page, in reading order."""

    text: str
    confidence: float
    box: list[int] = Field(
        ..., description="x0, y0, x1, y1 in the image's pixels (x1 and y1 exclusive)"
    )
    polygon: list[list[int]] = Field(..., description="Its corners [x, y] in the image's pixels")
    block: int = Field(..., description="Its block (a column, a paragraph) in reading order")
    chars: list[CharOut]
    words: list[PageWord] | None = Field(
        None,
        description="Its words placed on the image, as lineocr read --format jsonl gives "
        "them (absent when they were not placed: read with tta)",
    )


class FieldValue(BaseModel):
    """A field's value found on a page."""

    value: str
    confidence: float = Field(
        ...,
        description="Calibrated probability of this value; below the review threshold "
        "(GET /v1/models: fields.review_threshold) a person should check it",
    )
    box: list[int] = Field(..., description="Where the value stands: x0, y0, x1, y1 (pixels)")
    line: int = Field(..., description="Its line: an index into lines")


class FieldsInfo(BaseModel):
    patterns: dict[str, str] = Field(..., description="The named patterns and their regexes")
    max_fields: int
    review_threshold: float = Field(
        ..., description="A value less confident than this should be checked by a person"
    )


class ImageResult(BaseModel):
    index: int
    name: str | None = None
    ok: bool
    layout: Literal["line", "page"] | None = Field(
        None, description="How the image was read (what auto chose)"
    )
    text: str | None = Field(
        None, description="The text; a page's lines in reading order, one per line"
    )
    confidence: float | None = None
    chars: list[CharOut] | None = Field(
        None,
        description="Each character of text with its confidence (a page's line breaks, "
        "which are not read, with 1.0)",
    )
    lines: list[PageLine] | None = Field(None, description="A page: its lines in reading order")
    rotation: int | None = Field(
        None, description="A page: degrees counter-clockwise it was turned to read it upright"
    )
    skew: float | None = Field(None, description="A page: degrees its lines leaned once upright")
    size: list[int] | None = Field(None, description="A page: the image's width and height")
    fields: dict[str, FieldValue | None] | None = Field(
        None,
        description="With extract: each field's value, or null when it is not on the page "
        "(never a guess)",
    )
    model: ModelRef | None = None
    timings: ImageTimings | None = None
    error: ErrorDetail | None = None


class OcrResponse(BaseModel):
    model: ModelRef
    results: list[ImageResult]
    timings: dict[str, float] = Field(..., description="total_ms for the whole request")


class ErrorResponse(BaseModel):
    error: ErrorDetail
    results: list[ImageResult] | None = Field(
        None, description="Per-image results when every image of a request failed"
    )


class ModelCard(BaseModel):
    name: str
    version: str
    default: bool
    height: int
    charset_size: int
    preprocess: list[str]
    card: dict[str, Any]


class ModelsResponse(BaseModel):
    models: list[ModelCard]
    lexicons: list[str]
    language_models: list[str]
    preprocess_ops: list[str]
    fields: FieldsInfo
    limits: dict[str, Any]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    models: list[str]
    failed: dict[str, str]
