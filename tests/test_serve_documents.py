"""``POST /v1/documents`` (issue 34 item 4's downloads): a page answered by ``POST /v1/ocr``
written as hOCR, ALTO and PAGE-XML, each valid under the validators the writers' own tests
use (tests/format_validators.py: the official XSDs, hocr-spec), holding the page's lines;
bad requests refused with a clear 422."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from lineocr.serve import Settings
from tests.documents_helpers import needs_pdftotext, pdftotext
from tests.format_validators import (
    ALTO_XSD,
    NS,
    PAGE_XSD,
    hocr_errors,
    schema_errors,
    xml,
)
from tests.pages_helpers import LATIN, compose
from tests.serve_helpers import StubRecognizer, counting_loader, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    load, _ = counting_loader(StubRecognizer())
    async with serving(Settings(models=("stub",), batch_timeout_ms=2), load) as c:
        yield c


@pytest.fixture(scope="module")
def page_png() -> bytes:
    page = compose([LATIN[:3], LATIN[3:6]], heading="A Quiet Town")
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, "PNG")
    return buf.getvalue()


async def read_page(client: httpx.AsyncClient, png: bytes) -> dict[str, Any]:
    response = await client.post(
        "/v1/ocr", data={"layout": "page"}, files={"files": ("scans/page 1.png", png, "image/png")}
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["results"][0])


async def post_pdf(
    client: httpx.AsyncClient, page: str, image: bytes, name: str = "page.png", **fields: str
) -> httpx.Response:
    """POST /v1/documents/pdf: a page's answer (JSON text) and the image it was read from."""
    return await client.post(
        "/v1/documents/pdf",
        data={"page": page, **fields},
        files={"file": (name, image, "image/png")},
    )


async def test_a_page_read_is_written_in_each_format_and_valid(
    client: httpx.AsyncClient, page_png: bytes, tmp_path: Path
) -> None:
    slot = await read_page(client, page_png)
    texts = [line["text"] for line in slot["lines"]]
    assert len(texts) == 7
    documents = {}
    for fmt in ("hocr", "alto", "page"):
        response = await client.post(
            "/v1/documents", json={"format": fmt, "pages": [slot], "lang": "en"}
        )
        assert response.status_code == 200, response.text
        documents[fmt] = response.text
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="page_1.')
    assert schema_errors(documents["alto"], ALTO_XSD) == []
    assert schema_errors(documents["page"], PAGE_XSD) == []
    assert hocr_errors(documents["hocr"], tmp_path) == []
    alto = xml(documents["alto"])
    alto_lines = [
        " ".join(s.get("CONTENT") for s in tl.iterfind("alto:String", NS))
        for tl in alto.iterfind(".//alto:TextLine", NS)
    ]
    assert alto_lines == texts
    page = xml(documents["page"])
    unicode = [u.text for u in page.iterfind(".//pc:TextLine/pc:TextEquiv/pc:Unicode", NS)]
    assert unicode == texts
    regions = page.findall(".//pc:TextRegion", NS)
    assert len(regions) == 3  # the heading and two columns: the answer's blocks
    hocr = xml(documents["hocr"])
    boxes = [
        el.get("title").split(";")[0]
        for el in hocr.iterfind(".//h:span", NS)
        if el.get("class") == "ocr_line"
    ]
    assert boxes == ["bbox {} {} {} {}".format(*line["box"]) for line in slot["lines"]]


@pytest.fixture(scope="module")
def printed() -> Any:
    from lineocr.runtime import Recognizer

    return Recognizer.load("printed", threads=1)


async def test_a_page_read_with_the_model_is_written_with_its_words_as_here(
    printed: Any, page_png: bytes, tmp_path: Path
) -> None:
    """The bundled model's page on the server: its answer's words written as the CLI
    writes them (hOCR ocrx_word spans, ALTO String boxes, PAGE Word Coords), each document
    the very one ``lineocr read --format`` writes from the page read here, and valid."""
    from lineocr.commands.document_output import render_document
    from lineocr.documents.formats import DocumentPage
    from lineocr.page import PageReader

    name = "scans/page 1.png"
    image = np.asarray(Image.open(io.BytesIO(page_png)).convert("L"))
    here = DocumentPage(PageReader(printed).read(image), name)
    assert all(line.words for line in here.page.lines)
    async with serving(Settings(models=("printed",)), lambda n, threads=None: printed) as c:
        slot = await read_page(c, page_png)
        documents = {}
        for fmt in ("hocr", "alto", "page"):
            body = {"format": fmt, "pages": [slot], "lang": "en"}
            response = await c.post("/v1/documents", json=body)
            assert response.status_code == 200, response.text
            documents[fmt] = response.text
    assert hocr_errors(documents["hocr"], tmp_path) == []
    assert schema_errors(documents["alto"], ALTO_XSD) == []
    assert schema_errors(documents["page"], PAGE_XSD) == []
    hocr = xml(documents["hocr"])
    spans = [el for el in hocr.iterfind(".//h:span", NS) if el.get("class") == "ocrx_word"]
    words = [w for line in slot["lines"] for w in line["words"]]
    assert [(el.text, el.get("title").split(";")[0]) for el in spans] == [
        (w["text"], "bbox {} {} {} {}".format(*w["box"])) for w in words
    ]
    for fmt, document in documents.items():
        assert document == render_document(fmt, [here], "en"), fmt


@needs_pdftotext
async def test_a_searchable_pdf_places_the_answers_words_as_here(
    printed: Any, page_png: bytes, tmp_path: Path
) -> None:
    """POST /v1/documents/pdf with the bundled model's answer: each word of the text layer
    where the PDF ``lineocr read --format pdf`` writes for the page read here puts it."""
    from lineocr.documents.searchable_pdf import SearchablePdf
    from lineocr.page import PageReader

    image = np.asarray(Image.open(io.BytesIO(page_png)).convert("L"))
    local = SearchablePdf()
    local.add_page(PageReader(printed).read(image), image, 150)
    (tmp_path / "here.pdf").write_bytes(local.output())
    async with serving(Settings(models=("printed",)), lambda n, threads=None: printed) as c:
        slot = await read_page(c, page_png)
        response = await post_pdf(c, json.dumps(slot), page_png, dpi="150")
    assert response.status_code == 200, response.text
    (tmp_path / "there.pdf").write_bytes(response.content)
    word = re.compile(r"<word [^>]*>[^<]*</word>")
    there = word.findall(pdftotext(tmp_path / "there.pdf", "-bbox"))
    assert len(there) == sum(len(line["words"]) for line in slot["lines"]) > 10
    assert there == word.findall(pdftotext(tmp_path / "here.pdf", "-bbox"))


async def test_words_without_quadrilaterals_are_placed_by_their_boxes(
    client: httpx.AsyncClient,
) -> None:
    """Words as ``lineocr read --format jsonl`` gives them (no ``polygon``) are written at
    their boxes, turned as their line runs (a page turned a quarter runs its lines up)."""
    line = {
        "text": "ab cd",
        "confidence": 0.9,
        "box": [10, 20, 40, 120],
        "polygon": [[10, 119], [10, 20], [39, 20], [39, 119]],  # read bottom to top
        "block": 0,
        "chars": [{"char": c, "confidence": 0.9} for c in "ab cd"],
        "words": [
            {"text": "ab", "confidence": 0.9, "box": [10, 70, 40, 120]},
            {"text": "cd", "confidence": 0.8, "box": [10, 20, 40, 60]},
        ],
    }
    page = {"lines": [line], "size": [200, 200], "rotation": 90}
    response = await client.post("/v1/documents", json={"format": "page", "pages": [page]})
    assert response.status_code == 200, response.text
    assert schema_errors(response.text, PAGE_XSD) == []
    coords = [
        w.find("pc:Coords", NS).get("points") for w in xml(response.text).iterfind(".//pc:Word", NS)
    ]
    assert coords == ["10,120 10,70 40,70 40,120", "10,60 10,20 40,20 40,60"]  # pixel edges
    bad = {**line, "words": [{"text": "ab", "confidence": 0.9, "box": [1, 2, 3]}]}
    refused = await client.post(
        "/v1/documents", json={"format": "hocr", "pages": [{**page, "lines": [bad]}]}
    )
    assert refused.status_code == 422 and "box" in refused.json()["error"]["message"]


async def test_alto_holds_several_pages_and_page_xml_one(
    client: httpx.AsyncClient, page_png: bytes
) -> None:
    slot = await read_page(client, page_png)
    two = await client.post("/v1/documents", json={"format": "alto", "pages": [slot, slot]})
    assert two.status_code == 200 and len(xml(two.text).findall(".//alto:Page", NS)) == 2
    refused = await client.post("/v1/documents", json={"format": "page", "pages": [slot, slot]})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "one_page_only"


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        ({"format": "pdf"}, "invalid_request", "format"),
        ({"lang": "not a tag!"}, "invalid_lang", "lang:"),
        ({"pages": []}, "invalid_request", "pages"),
        ({"pages": [{"lines": [], "size": [0, 10]}]}, "invalid_request", "size 0x10"),
        (
            {"pages": [{"lines": [], "size": [10, 10], "rotation": 45}]},
            "invalid_request",
            "rotation",
        ),
    ],
)
async def test_bad_document_requests_are_refused(
    client: httpx.AsyncClient, change: dict[str, Any], code: str, says: str
) -> None:
    body = {"format": "alto", "pages": [{"lines": [], "size": [10, 10]}], **change}
    response = await client.post("/v1/documents", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and says in error["message"], error


async def test_an_empty_page_is_a_valid_document(client: httpx.AsyncClient) -> None:
    body = {"format": "alto", "pages": [{"name": "blank.png", "lines": [], "size": [300, 200]}]}
    response = await client.post("/v1/documents", json=body)
    assert response.status_code == 200
    assert schema_errors(response.text, ALTO_XSD) == []


@needs_pdftotext
async def test_a_page_read_is_written_as_a_searchable_pdf(
    client: httpx.AsyncClient, page_png: bytes, tmp_path: Path
) -> None:
    """POST /v1/documents/pdf: the page's answer and its image -> a PDF whose text layer
    pdftotext reads back as the page's lines, on a page the image's size at the dpi."""
    slot = await read_page(client, page_png)
    response = await post_pdf(client, json.dumps(slot), page_png, "scans/page 1.png", dpi="150")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="page_1.pdf"'
    path = tmp_path / "page.pdf"
    path.write_bytes(response.content)
    words = pdftotext(path, "-raw").split()  # in the order written: reading order
    assert words == " ".join(line["text"] for line in slot["lines"]).split()
    width, height = slot["size"]
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)
    assert size is not None
    assert (float(size[1]), float(size[2])) == (width * 72 / 150, height * 72 / 150)


async def test_bad_pdf_requests_are_refused(client: httpx.AsyncClient, page_png: bytes) -> None:
    slot = await read_page(client, page_png)
    other = io.BytesIO()
    Image.new("L", (50, 40), 255).save(other, "PNG")

    async def post(page: str, image: bytes, **fields: str) -> tuple[int, str, str]:
        response = await post_pdf(client, page, image, "p.png", **fields)
        error = response.json()["error"]
        return response.status_code, error["code"], error["message"]

    assert (await post(json.dumps(slot), other.getvalue()))[:2] == (422, "image_mismatch")
    assert (await post(json.dumps(slot), b"not an image"))[:2] == (415, "unsupported_format")
    assert (await post("{", page_png))[:2] == (400, "invalid_json")
    status, code, message = await post(json.dumps({"lines": []}), page_png)
    assert (status, code) == (422, "invalid_request") and "size" in message
    assert (await post(json.dumps(slot), page_png, dpi="0"))[0] == 422
    no_file = await client.post("/v1/documents/pdf", data={"page": json.dumps(slot)})
    assert no_file.status_code == 422 and "file" in no_file.json()["error"]["message"]


async def test_a_pdf_image_over_the_pixel_limit_is_refused(page_png: bytes) -> None:
    load, _ = counting_loader(StubRecognizer())
    settings = Settings(models=("stub",), batch_timeout_ms=2, max_pixels=10_000)
    async with serving(settings, load) as small:
        page = {"lines": [], "size": [1, 1]}
        response = await post_pdf(small, json.dumps(page), page_png, "big.png")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "image_too_large"
