"""The OpenAPI description of ``POST /v1/ocr``, made from the request models.

The route reads its body itself (multipart or JSON, :mod:`.request_body`), so FastAPI
cannot describe it: its request body and error answers are given here. The multipart
form's option fields are generated from :class:`OcrOptions`, the model that checks them,
so the description cannot drift from what the server accepts; the JSON body's schemas
(:class:`OcrJsonRequest` and the models it holds) go to ``components/schemas``, where
its references point (:func:`install_openapi`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from lineocr.fields import MAX_FIELDS
from lineocr.serve.fields import FIELD_SYNTAX
from lineocr.serve.schemas import ErrorResponse, OcrJsonRequest, OcrOptions

SCHEMAS = "#/components/schemas/"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Malformed request: empty body, no images, bad base64 or multipart",
        413: "Body, image or image count over the limits",
        415: "Content type or image format not accepted",
        422: "Invalid options (model, decoder, pattern, lexicon, lm, preprocess, layout, "
        "extract) or unreadable image",
        503: "Not ready, overloaded, timed out or shutting down",
    }.items()
}

# What a form field says beyond the JSON option's description.
_FORM_DESCRIPTIONS = {
    "preprocess": "Ops replacing the model's, one per field; 'none' for no ops",
}
# Form fields whose shape differs from the JSON option's: extract's object is a field per
# NAME=PATTERN pair there.
_FORM_SCHEMAS: dict[str, dict[str, Any]] = {
    "extract": {
        "type": "array",
        "items": {"type": "string", "pattern": FIELD_SYNTAX, "maxLength": 1100},
        "maxItems": MAX_FIELDS,
        "description": "A field to find on each image, read as a page: NAME=PATTERN, one "
        "per field (e.g. id=id, 'born=Born: {date}'); a named pattern (id, date, amount, "
        "phone, email) or a regular expression. Each result gets 'fields'",
    },
}


def ocr_request_body() -> dict[str, Any]:
    """The request body of ``POST /v1/ocr``: a multipart form or a JSON object."""
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": multipart_schema()},
            "application/json": {"schema": {"$ref": SCHEMAS + OcrJsonRequest.__name__}},
        },
    }


def json_body_schemas() -> dict[str, Any]:
    """The JSON body's schema and those it refers to, by name, for ``components/schemas``."""
    schema = OcrJsonRequest.model_json_schema(ref_template=SCHEMAS + "{model}")
    defs = schema.pop("$defs", {})
    return {**defs, OcrJsonRequest.__name__: schema}


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` add the JSON body's schemas to FastAPI's own."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = FastAPI.openapi(app)  # builds and keeps app.openapi_schema
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in json_body_schemas().items():
            if schemas.setdefault(name, schema) != schema:  # never silently replaced
                raise RuntimeError(f"two OpenAPI schemas named {name!r}")
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def multipart_schema() -> dict[str, Any]:
    """The multipart form: ``files`` (one file at least: the server answers a form without
    one 400) and one text field per :class:`OcrOptions` field; any other field is refused
    (422), and so it is not allowed here."""
    properties: dict[str, Any] = {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "minItems": 1,
            "description": "One or more images of text lines or whole pages (PNG, JPEG, "
            "WebP, TIFF, BMP)",
        }
    }
    for name, schema in OcrOptions.model_json_schema()["properties"].items():
        properties[name] = _FORM_SCHEMAS.get(name) or _form_field(
            schema, _FORM_DESCRIPTIONS.get(name)
        )
    return {
        "type": "object",
        "required": ["files"],
        "properties": properties,
        "additionalProperties": False,
    }


def _form_field(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    """An optional option's JSON schema as a form field: a field left out is the None, so
    the ``null`` alternative goes; the title and default (None) go too."""
    field = {k: v for k, v in schema.items() if k not in {"anyOf", "title", "default"}}
    alternatives = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(alternatives) == 1:
        field = {**alternatives[0], **field}
    elif alternatives:
        field["anyOf"] = alternatives
    if description is not None:
        field["description"] = description
    return field
