"""``POST /v1/ocr`` bodies -> the uploads and the raw options, whichever form they came in.

Multipart: image files in ``files`` (or ``file``), options as text fields. JSON: base64
images in ``images``, options beside them. Both give the same raw options, checked later
against :class:`~lineocr.serve.schemas.OcrOptions`. A body wrong as a whole raises
:class:`ApiError`; an image wrong on its own (bad base64) keeps its error in its
:class:`Upload`, so the other images are still read.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from lineocr.serve.errors import ApiError, validation_message
from lineocr.serve.fields import add_form_field
from lineocr.serve.schemas import OcrJsonRequest, OcrOptions
from lineocr.serve.settings import Settings

FORM_FIELDS = frozenset(OcrOptions.model_fields)  # the same options as the JSON body
FILE_FIELDS = frozenset({"files", "file"})


@dataclass
class Upload:
    name: str
    data: bytes | None
    error: ApiError | None = None


async def read_request(request: Request, settings: Settings) -> tuple[list[Upload], dict[str, Any]]:
    """The uploads and raw options of a multipart or JSON body."""
    refuse_query_params(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await read_multipart(request, settings)
    if content_type == "application/json" or content_type.endswith("+json"):
        return await read_json(request, settings)
    raise ApiError(
        415,
        "unsupported_media_type",
        "send multipart/form-data (field 'files') or application/json "
        f"(base64 images), not {content_type or 'no content type'}",
    )


def refuse_query_params(request: Request) -> None:
    """Refuse a query string: options are read from the body only, so it would be ignored."""
    if request.query_params:
        names = ", ".join(sorted(set(request.query_params.keys())))
        raise ApiError(
            422,
            "invalid_request",
            f"query parameters are not read ({names}): send options as form fields "
            "(multipart) or JSON fields beside 'images'",
        )


async def read_multipart(
    request: Request, settings: Settings
) -> tuple[list[Upload], dict[str, Any]]:
    limit = settings.max_images_per_request
    try:
        form = await request.form(max_files=limit, max_fields=32, max_part_size=64 * 1024)
    except StarletteHTTPException as exc:
        detail = str(exc.detail)
        if "Too many files" in detail:
            raise ApiError(413, "too_many_images", f"at most {limit} images per request") from None
        raise ApiError(400, "bad_multipart", f"malformed multipart body: {detail}") from None
    uploads: list[Upload] = []
    options: dict[str, Any] = {}
    try:
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key not in FILE_FIELDS:
                    raise ApiError(
                        422,
                        "invalid_request",
                        f"unexpected file field {key!r}; send images as 'files'",
                    )
                uploads.append(
                    Upload(value.filename or f"image {len(uploads) + 1}", await value.read())
                )
            else:
                _add_form_option(options, key, value)
    finally:
        await form.close()
    if not uploads:
        raise ApiError(400, "no_images", "no images: send one or more files in the 'files' field")
    return uploads, options


def _add_form_option(options: dict[str, Any], key: str, value: str) -> None:
    """One text field of a multipart body into ``options`` (``preprocess`` and
    ``extract`` may repeat)."""
    if key in FILE_FIELDS:
        raise ApiError(
            422,
            "invalid_request",
            f"field {key!r} holds text, not a file: send each image as a file part "
            "(curl -F 'files=@line.png')",
        )
    if key not in FORM_FIELDS:
        raise ApiError(
            422,
            "invalid_request",
            f"unknown field {key!r}; known: {', '.join(sorted(FORM_FIELDS))}",
        )
    if key == "preprocess":
        ops = options.setdefault("preprocess", [])
        ops.extend(split_ops(value))
    elif key == "extract":
        add_form_field(options, value)
    elif key in options:
        raise ApiError(422, "invalid_request", f"field {key!r} given twice")
    else:
        options[key] = value or None


def split_ops(value: str) -> list[str]:
    """One ``preprocess`` form field -> ops: ``none``, a JSON list, or ``;``-separated."""
    value = value.strip()
    if value.lower() == "none":
        return []
    if value.startswith("["):
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            raise ApiError(422, "invalid_preprocess", "preprocess: invalid JSON list") from None
        if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
            raise ApiError(422, "invalid_preprocess", "preprocess: a JSON list of strings")
        return items
    return [op for op in value.split(";") if op.strip()]


async def read_json(request: Request, settings: Settings) -> tuple[list[Upload], dict[str, Any]]:
    body = await request.body()
    if not body.strip():
        raise ApiError(400, "empty_body", "empty request body")
    try:
        payload = OcrJsonRequest.model_validate_json(body)
    except ValidationError as exc:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        raise ApiError(422, "invalid_request", validation_message(exc.errors())) from None
    if len(payload.images) > settings.max_images_per_request:
        raise ApiError(
            413, "too_many_images", f"at most {settings.max_images_per_request} images per request"
        )
    uploads = []
    for i, item in enumerate(payload.images):
        name = item.name or f"image {i + 1}"
        data = item.data
        if data.startswith("data:"):
            data = data.partition(",")[2]
        # MIME and PEM base64 wrap lines (RFC 2045: 76 characters): whitespace is not data.
        data = "".join(data.split())
        try:
            uploads.append(Upload(name, base64.b64decode(data, validate=True)))
        except (binascii.Error, ValueError):
            uploads.append(
                Upload(name, None, ApiError(400, "invalid_base64", f"{name}: invalid base64 data"))
            )
    options = payload.model_dump(exclude={"images"}, exclude_none=True)
    return uploads, options
