"""The API description: ``/openapi.json`` resolves and says what the server enforces, and
``/docs`` renders it in a real browser (Playwright driving Debian's headless Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lineocr.serve import Settings
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png

OPERATIONS = [
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/models"),
    ("post", "/v1/ocr"),
]


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    load, _ = counting_loader(StubRecognizer("stub"))
    with LiveServer(Settings(models=("stub",), batch_timeout_ms=2), load) as server:
        yield server


@pytest.fixture(scope="module")
def spec(live: LiveServer) -> dict[str, Any]:
    return dict(httpx.get(live.url + "/openapi.json", timeout=10).json())


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """A local reference (``#/a/b``, JSON Pointer escapes) in ``document``; KeyError if it
    points nowhere."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def test_every_ref_in_the_spec_resolves(spec: dict[str, Any]) -> None:
    found = sorted(set(refs(spec)))
    assert "#/components/schemas/OcrJsonRequest" in found  # the JSON body is described
    unresolved = []
    for ref in found:
        try:
            resolve(spec, ref)
        except (KeyError, TypeError):
            unresolved.append(ref)
    assert not unresolved, f"references that point nowhere: {unresolved}"


def test_the_json_body_schema_has_the_images_and_options(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    body = resolve(spec, content["application/json"]["schema"]["$ref"])
    assert body["required"] == ["images"] and body["properties"]["images"]["minItems"] == 1
    image = resolve(spec, body["properties"]["images"]["items"]["$ref"])
    assert image["required"] == ["data"]
    assert {"model", "decoder", "tta", "preprocess"} <= set(body["properties"])


def test_the_spec_describes_the_layout_option_and_the_page_answer(spec: dict[str, Any]) -> None:
    """The layout option, in both bodies, with its three values; the answer's page fields
    (lines with their box, polygon, block, characters and words; rotation, skew, size) resolve
    through the response's references."""
    body = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]["schema"]["properties"]["layout"]
    assert form["enum"] == ["auto", "line", "page"] and "auto" in form["description"]
    json_body = resolve(spec, body["application/json"]["schema"]["$ref"])
    layout = json_body["properties"]["layout"]["anyOf"]
    assert {"enum": ["auto", "line", "page"], "type": "string"} in layout
    answer = spec["paths"]["/v1/ocr"]["post"]["responses"]["200"]["content"]["application/json"]
    results = resolve(spec, answer["schema"]["$ref"])["properties"]["results"]
    result = resolve(spec, results["items"]["$ref"])["properties"]
    assert {"layout", "lines", "rotation", "skew", "size"} <= set(result)
    lines = next(s for s in result["lines"]["anyOf"] if s.get("type") == "array")
    line = resolve(spec, lines["items"]["$ref"])
    assert set(line["required"]) == {"text", "confidence", "box", "polygon", "block", "chars"}
    words = next(s for s in line["properties"]["words"]["anyOf"] if s.get("type") == "array")
    word = resolve(spec, words["items"]["$ref"])
    assert set(word["required"]) == {"text", "confidence", "box", "polygon"}
    timings = resolve(spec, next(iter(refs(result["timings"]))))
    assert "layout_ms" in timings["properties"]


def test_the_spec_describes_extract_and_the_fields_answer(spec: dict[str, Any]) -> None:
    """``extract``: NAME=PATTERN form fields, or a JSON object; each result's ``fields``
    maps a name to a value with its confidence, box and line, or null; ``/v1/models``
    says the review threshold."""
    body = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]
    form = body["multipart/form-data"]["schema"]["properties"]["extract"]
    assert form["type"] == "array" and form["maxItems"] == 16
    assert form["items"]["pattern"].startswith("^[A-Za-z_]")
    json_body = resolve(spec, body["application/json"]["schema"]["$ref"])
    extract = next(s for s in json_body["properties"]["extract"]["anyOf"] if s["type"] == "object")
    assert extract["additionalProperties"] == {"type": "string"}
    answer = spec["paths"]["/v1/ocr"]["post"]["responses"]["200"]["content"]["application/json"]
    results = resolve(spec, answer["schema"]["$ref"])["properties"]["results"]
    fields = resolve(spec, results["items"]["$ref"])["properties"]["fields"]
    mapping = next(s for s in fields["anyOf"] if s.get("type") == "object")
    value = mapping["additionalProperties"]["anyOf"]
    assert {"type": "null"} in value
    field = resolve(spec, next(v["$ref"] for v in value if "$ref" in v))
    assert set(field["required"]) == {"value", "confidence", "box", "line"}
    models = spec["paths"]["/v1/models"]["get"]["responses"]["200"]["content"]
    info = resolve(spec, models["application/json"]["schema"]["$ref"])["properties"]["fields"]
    assert "review_threshold" in resolve(spec, info["$ref"])["properties"]


def multipart(form: dict[str, Any], png: bytes) -> bytes:
    """``form`` as a multipart body: each ``files`` item a PNG file part, the rest text."""
    parts = []
    for name, value in form.items():
        for item in value if isinstance(value, list) else [value]:
            if name == "files":
                head = 'name="files"; filename="line.png"\r\nContent-Type: image/png'
                parts.append(f"--b0undary\r\nContent-Disposition: form-data; {head}\r\n\r\n")
                parts.append(png)
            else:
                disposition = f'Content-Disposition: form-data; name="{name}"'
                parts.append(f"--b0undary\r\n{disposition}\r\n\r\n{item}")
            parts.append("\r\n")
    parts.append("--b0undary--\r\n")
    return b"".join(p.encode() if isinstance(p, str) else p for p in parts)


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({}, 400),  # no files field: no_images
        ({"files": []}, 400),  # a files field with no file in it: the same body on the wire
        ({"files": ["PNG"], "model": "stub"}, 200),
        ({"files": ["PNG"], "colour": "red"}, 422),  # unknown field
        ({"files": ["PNG"], "layout": "page"}, 200),
        ({"files": ["PNG"], "layout": "sideways"}, 422),  # not a layout
        ({"files": ["PNG"], "extract": ["no pattern"]}, 422),  # not NAME=PATTERN
        ({"files": ["PNG"], "extract": [f"f{i}=id" for i in range(17)]}, 422),  # over 16
    ],
)
def test_the_multipart_schema_allows_what_the_server_reads(
    spec: dict[str, Any], live: LiveServer, tmp_path: Any, form: dict[str, Any], status: int
) -> None:
    """A form is valid under the spec's multipart schema exactly when the server reads it."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    png = line_png(tmp_path / "line.png").read_bytes()
    answer = httpx.post(
        live.url + "/v1/ocr",
        content=multipart(form, png),
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
        timeout=10,
    )
    assert answer.status_code == status, answer.text
    schema = spec["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert jsonschema_rs.is_valid(schema["schema"], form) is (status == 200)


@pytest.mark.browser
def test_docs_page_renders_every_operation_without_an_error(browser: Any, live: LiveServer) -> None:
    """Swagger UI shows each operation, and the request body of /v1/ocr (both media types,
    the JSON one through its references) with no error; Try it out offers a file input."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(live.url + "/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        blocks = page.locator(".opblock").all()
        shown = [
            (b.get_attribute("class") or "", b.locator(".opblock-summary-path").inner_text())
            for b in blocks
        ]
        for method, path in OPERATIONS:
            assert any(f"opblock-{method}" in cls and text == path for cls, text in shown), (
                method,
                path,
                shown,
            )
        assert "Unable to render" not in page.content()
        ocr = page.locator(".opblock-post", has_text="/v1/ocr")
        ocr.locator(".opblock-summary").click()
        ocr.locator(".opblock-body").wait_for()
        media = ocr.get_by_label("Request content type")
        assert sorted(media.locator("option").all_inner_texts()) == [
            "application/json",
            "multipart/form-data",
        ]
        media.select_option("application/json")
        # The example is made from the schemas the body refers to: an image's "data" is in
        # Base64Image, reached through OcrJsonRequest's reference.
        example = ocr.locator(".opblock-section-request-body .microlight").first
        example.wait_for()
        assert '"images"' in example.inner_text() and '"data"' in example.inner_text()
        media.select_option("multipart/form-data")
        ocr.get_by_role("button", name="Try it out").click()
        assert ocr.locator("input[type=file]").count() >= 1  # the files field takes files
        page.wait_for_timeout(300)  # references resolve asynchronously
        assert page.locator(".errors-wrapper").count() == 0, page.locator(
            ".errors-wrapper"
        ).all_inner_texts()
    finally:
        context.close()
    assert not errors, f"browser errors: {errors}"
