"""Fields on the server (issue 34 item 3): ``POST /v1/ocr`` with ``extract`` finds each
field on a composed form page as ``lineocr read --extract`` does (value, confidence, box,
line; an absent field null), in a multipart form (``extract=NAME=PATTERN`` fields) or a
JSON object; bad fields are refused (422, naming the field) before any image is read; and
``GET /v1/models`` says the named patterns and the review threshold."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr.fields import FIELD_PATTERNS, REVIEW_THRESHOLD, extract
from lineocr.runtime import Recognizer
from lineocr.serve import Settings
from tests.pages_helpers import form_page
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, serving

pytestmark = pytest.mark.anyio
NUMBER = "29501011234567"
LINES = [
    "APPLICATION FORM",
    "Name: John Smith",
    f"National ID: {NUMBER}",
    "Date of birth: 01/02/1995",
]
FIELDS = {"id": "id", "born": "Date of birth: {date}", "passport": r"[A-Z]{2}\d{7}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def form() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    return form_page(LINES, NUMBER, 440)


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load("printed", threads=1)


@pytest.fixture
async def printed(recognizer: Recognizer) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(models=("printed",), batch_timeout_ms=2)
    async with serving(settings, lambda name, threads=None: recognizer) as c:
        yield c


@pytest.fixture
async def stub_client() -> AsyncIterator[tuple[httpx.AsyncClient, StubRecognizer]]:
    stub = StubRecognizer()
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), batch_timeout_ms=2), load) as c:
        yield c, stub


def form_fields(fields: dict[str, str]) -> dict[str, list[str]]:
    return {"extract": [f"{name}={pattern}" for name, pattern in fields.items()]}


async def test_fields_are_found_on_a_page_with_their_boxes(
    printed: httpx.AsyncClient, form: Any, recognizer: Recognizer
) -> None:
    image, (x0, y0, x1, y1) = form
    response = await printed.post(
        "/v1/ocr",
        data=form_fields(FIELDS),
        files=[("files", ("form.png", png(image), "image/png"))],
    )
    assert response.status_code == 200, response.text
    slot = response.json()["results"][0]
    assert slot["ok"] and slot["layout"] == "page"  # the page answer is all there
    fields = slot["fields"]
    assert list(fields) == ["id", "born", "passport"]
    found = fields["id"]
    assert found["value"] == NUMBER and 0.3 < found["confidence"] <= 1.0
    assert NUMBER in slot["lines"][found["line"]]["text"]
    # the number's box, not its line's: the label lies left of it
    assert abs(found["box"][0] - x0) < 25 and abs(found["box"][2] - x1) < 25
    assert found["box"][1] < y1 and found["box"][3] > y0
    assert fields["born"]["value"] == "01/02/1995"
    assert fields["passport"] is None  # not on the page: null, never a guess
    # what the Python API (and so lineocr read --extract) finds on the same page
    here = extract(image, FIELDS, recognizer)
    assert here["id"] is not None and here["born"] is not None
    assert (found["value"], found["box"], found["line"]) == (
        here["id"].value,
        list(here["id"].box),
        here["id"].line,
    )
    assert found["confidence"] == pytest.approx(here["id"].confidence, abs=1e-5)


async def test_a_json_body_takes_extract_as_an_object(
    printed: httpx.AsyncClient, form: Any
) -> None:
    body = {
        "images": [{"data": base64.b64encode(png(form[0])).decode(), "name": "form.png"}],
        "extract": {"id": "id", "email": "email"},
        "layout": "auto",
    }
    response = await printed.post("/v1/ocr", json=body)
    assert response.status_code == 200, response.text
    fields = response.json()["results"][0]["fields"]
    assert fields["id"]["value"] == NUMBER and fields["email"] is None


@pytest.mark.parametrize(
    ("form", "code", "names"),
    [
        ({"extract": "x=("}, "invalid_field", "field x: bad pattern"),
        ({"extract": "id"}, "invalid_field", "expected NAME=PATTERN"),
        ({"extract": "1st=id"}, "invalid_field", "field name '1st'"),
        ({"extract": ["id=id", "id=date"]}, "invalid_field", "'id' twice"),
        ({"extract": "id=id", "pattern": "[0-9]+"}, "invalid_field", "leave out pattern"),
        ({"extract": "id=id", "layout": "line"}, "invalid_field", "leave out layout"),
        ({"extract": "slow=slow"}, "pattern_too_complex", "an extract pattern takes more"),
    ],
)
async def test_bad_fields_are_refused_before_any_image_is_read(
    stub_client: tuple[httpx.AsyncClient, StubRecognizer],
    form: dict[str, Any],
    code: str,
    names: str,
) -> None:
    client, stub = stub_client
    response = await client.post(
        "/v1/ocr",
        data=form,
        files=[("files", ("a.png", png(np.full((40, 90), 255, np.uint8)), "image/png"))],
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and names in error["message"], error
    assert stub.calls == []


async def test_a_pattern_the_model_cannot_write_is_refused_naming_the_field(
    printed: httpx.AsyncClient, form: Any
) -> None:
    response = await printed.post(
        "/v1/ocr",
        json={
            "images": [{"data": base64.b64encode(png(form[0])).decode()}],
            "extract": {"greek": "[αβγ]+"},
        },
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_field" and error["message"].startswith("field greek:")


async def test_models_say_the_named_patterns_and_the_review_threshold(
    stub_client: tuple[httpx.AsyncClient, StubRecognizer],
) -> None:
    client, _ = stub_client
    fields = (await client.get("/v1/models")).json()["fields"]
    assert fields["review_threshold"] == REVIEW_THRESHOLD
    assert fields["patterns"] == FIELD_PATTERNS and fields["max_fields"] == 16


# -- lineocr read --server --extract -----------------------------------------------------


@pytest.fixture(scope="module")
def live_printed(recognizer: Recognizer) -> Iterator[LiveServer]:
    settings = Settings(models=("printed",), batch_timeout_ms=2)
    with LiveServer(settings, lambda name, threads=None: recognizer) as server:
        yield server


def test_read_extract_on_a_server_writes_what_it_writes_here(
    live_printed: LiveServer, form: Any, tmp_path: Path
) -> None:
    """``lineocr read --server URL --extract NAME=PATTERN`` sends the fields and writes the
    same output as a read here: jsonl (the page and its ``fields``), text and tsv; a field
    the model cannot write is one line, exit status 2, no traceback."""
    from lineocr.cli import app

    path = tmp_path / "form.png"
    path.write_bytes(png(form[0]))
    runner = CliRunner()
    asked = [arg for name, pattern in FIELDS.items() for arg in ("--extract", f"{name}={pattern}")]
    where = ["--server", live_printed.url]

    def read(*args: str) -> Any:
        return runner.invoke(app, ["read", *where, *asked, *args, str(path)])

    def here(*args: str) -> Any:
        return runner.invoke(app, ["read", *asked, *args, str(path)])

    jsonl, want = read("-f", "jsonl"), here("-f", "jsonl")
    assert jsonl.exit_code == 0 and want.exit_code == 0, jsonl.output + want.output
    got, expected = json.loads(jsonl.stdout), json.loads(want.stdout)
    assert list(got) == list(expected) and list(expected)[:2] == ["path", "fields"]
    assert got["fields"]["id"]["value"] == NUMBER and got["fields"]["passport"] is None
    for name, value in expected["fields"].items():
        if value is None:
            assert got["fields"][name] is None
            continue
        assert {k: v for k, v in got["fields"][name].items() if k != "confidence"} == {
            k: v for k, v in value.items() if k != "confidence"
        }
        assert got["fields"][name]["confidence"] == pytest.approx(value["confidence"], abs=1e-6)
    assert got["text"] == expected["text"]
    assert [ln["words"] and [w["box"] for w in ln["words"]] for ln in got["lines"]] == [
        ln["words"] and [w["box"] for w in ln["words"]] for ln in expected["lines"]
    ]
    for fmt in ("text", "tsv"):
        output, wanted = read("-f", fmt), here("-f", fmt)
        assert output.exit_code == 0 and output.stdout == wanted.stdout, output.output
    assert f"id: {NUMBER} (confidence " in read().stdout
    refused = runner.invoke(app, ["read", *where, "--extract", "greek=[αβγ]+", str(path)])
    assert refused.exit_code == 2 and "field greek:" in refused.output, refused.output
    assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
