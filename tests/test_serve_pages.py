"""Whole pages on the server: ``POST /v1/ocr``'s ``layout`` option, the page answer (lines
with boxes, polygons and blocks, as ``lineocr read --format jsonl`` gives), a page that
cannot be read answered in its own slot, and ``lineocr read --server`` passing the layout.

The stub recognizer (``tests/serve_helpers.py``) reads each line crop as its size
("412x44"), so the answers show the page was laid out here and its lines went through the
batcher; the last tests read a page with the bundled model, on the server and here.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import lineocr.layout
import lineocr.page
import lineocr.serve.pages
from lineocr.serve import Settings
from tests.pages_helpers import LATIN, compose
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png, serving

pytestmark = pytest.mark.anyio
SIZE = re.compile(r"\d+x\d+")  # the stub's reading of an image


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def page_png() -> bytes:
    """A page of a heading and two columns of four lines: 9 lines in 3 blocks."""
    page = compose([LATIN[:4], LATIN[4:8]], heading="A Quiet Town")
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def composed() -> Any:
    return compose([LATIN[:4], LATIN[4:8]], heading="A Quiet Town")


def line_bytes(width: int = 40, height: int = 20) -> bytes:
    img = np.full((height, width), 255, np.uint8)
    img[height // 4 : -height // 4, 2:-2] = 0
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "image/png")) for name, data in items]


@pytest.fixture
def stub() -> StubRecognizer:
    return StubRecognizer()


@pytest.fixture
async def client(stub: StubRecognizer) -> AsyncIterator[httpx.AsyncClient]:
    load, _ = counting_loader(stub)
    async with serving(Settings(models=("stub",), batch_timeout_ms=2), load) as c:
        yield c


@pytest.mark.parametrize("layout", [None, "auto", "page"])
async def test_a_page_is_answered_with_its_lines_boxes_and_blocks(
    client: httpx.AsyncClient, stub: StubRecognizer, page_png: bytes, composed: Any, layout: Any
) -> None:
    data = {} if layout is None else {"layout": layout}
    response = await client.post("/v1/ocr", files=files(("page.png", page_png)), data=data)
    assert response.status_code == 200, response.text
    slot = response.json()["results"][0]
    assert slot["ok"] and slot["layout"] == "page" and slot["name"] == "page.png"
    lines = slot["lines"]
    assert [ln["block"] for ln in lines] == [0] + [1] * 4 + [2] * 4
    assert slot["text"] == "\n".join(ln["text"] for ln in lines)
    assert all(SIZE.fullmatch(ln["text"]) for ln in lines)  # each line read by the stub
    # each box is the composed line's ink box, give or take the layout's rounding
    for line, want in zip(lines, composed.boxes, strict=True):
        assert np.allclose(line["box"], want, atol=4), (line["box"], want)
        assert len(line["polygon"]) == 4
        assert "".join(c["char"] for c in line["chars"]) == line["text"]
    assert "".join(c["char"] for c in slot["chars"]) == slot["text"]
    assert slot["rotation"] == 0 and slot["skew"] == 0
    assert slot["size"] == [composed.image.shape[1], composed.image.shape[0]]
    assert set(slot["timings"]) == {
        "decode_ms",
        "queue_ms",
        "inference_ms",
        "batch_size",
        "layout_ms",
    }
    # the lines went through the batcher, several at a time: all 9 and the samples tried
    reads = [call["n"] for call in stub.calls]
    assert sum(reads) >= 9 and slot["timings"]["batch_size"] == max(reads) > 1


async def test_layout_line_reads_a_page_image_as_one_line(
    client: httpx.AsyncClient, page_png: bytes, composed: Any
) -> None:
    response = await client.post(
        "/v1/ocr", files=files(("page.png", page_png)), data={"layout": "line"}
    )
    slot = response.json()["results"][0]
    height, width = composed.image.shape
    assert slot["layout"] == "line" and slot["text"] == f"{width}x{height}"
    assert "lines" not in slot and "layout_ms" not in slot["timings"]


async def test_a_line_image_reads_as_before_under_auto(client: httpx.AsyncClient) -> None:
    """A line image's answer is the one it always was (with ``layout`` saying so), whether
    the layout is left to auto or asked for."""
    answers = []
    for data in ({}, {"layout": "auto"}, {"layout": "line"}):
        response = await client.post("/v1/ocr", files=files(("a.png", line_bytes())), data=data)
        slot = response.json()["results"][0]
        slot.pop("timings")
        answers.append(slot)
    assert answers[0] == answers[1] == answers[2]
    assert set(answers[0]) == {"index", "name", "ok", "layout", "text", "confidence", "chars"} | {
        "model"
    }
    assert answers[0]["layout"] == "line" and answers[0]["text"] == "40x20"


async def test_pages_and_lines_in_one_request_each_get_their_slot(
    client: httpx.AsyncClient, page_png: bytes
) -> None:
    response = await client.post(
        "/v1/ocr",
        json={
            "images": [
                {"name": "a", "data": _b64(line_bytes(50, 20))},
                {"name": "page", "data": _b64(page_png)},
                {"name": "b", "data": _b64(line_bytes(60, 20))},
            ]
        },
    )
    results = response.json()["results"]
    assert [r["layout"] for r in results] == ["line", "page", "line"]
    assert [results[0]["text"], results[2]["text"]] == ["50x20", "60x20"]
    assert len(results[1]["lines"]) == 9


async def test_an_unknown_layout_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/ocr", files=files(("a.png", line_bytes())), data={"layout": "sideways"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "layout" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        ("page", "page.png: cannot read this page (RuntimeError)"),
        ("auto", "page.png: cannot find the lines: RuntimeError"),  # auto's look at it
    ],
)
async def test_a_page_that_cannot_be_read_says_why_and_the_rest_are_read(
    client: httpx.AsyncClient,
    page_png: bytes,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
    message: str,
) -> None:
    find_lines = lineocr.page.find_lines

    def broken(image: np.ndarray, **options: Any) -> Any:
        if image.shape[1] > 1000:  # the page, upright
            raise RuntimeError("secret detail /srv/x")
        return find_lines(image, **options)

    monkeypatch.setattr(lineocr.page, "find_lines", broken)  # the auto rule's
    monkeypatch.setattr(lineocr.layout, "find_lines", broken)  # the page reader's
    response = await client.post(
        "/v1/ocr",
        files=files(("page.png", page_png), ("line.png", line_bytes())),
        data={"layout": layout},
    )
    assert response.status_code == 200, response.text
    page, line = response.json()["results"]
    assert not page["ok"] and page["error"]["status"] == 422
    assert page["error"]["code"] == "unprocessable_page"
    assert page["error"]["message"] == f"{message}; the server log has details"
    assert "secret" not in response.text
    assert line["ok"] and line["layout"] == layout.replace("auto", "line")
    assert SIZE.fullmatch(line["text"])


def _watch_page_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, list[BaseException]]:
    """The server's page reads watched: the event is set when one ends, the list holds what
    each raised."""
    ended = threading.Event()
    errors: list[BaseException] = []
    read = lineocr.serve.pages._read_page

    def watched(*args: Any) -> Any:
        try:
            return read(*args)
        except BaseException as exc:
            errors.append(exc)
            raise
        finally:
            ended.set()

    monkeypatch.setattr(lineocr.serve.pages, "_read_page", watched)
    return ended, errors


async def test_a_page_past_the_deadline_gets_its_own_error_and_is_stopped(
    stub: StubRecognizer, page_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page whose layout takes longer than the request may: its slot says so (503
    ``page_timeout``), the request's line is answered, and the page's reading stops (at
    the layout's next checkpoint; none of its lines is read)."""
    find_lines = lineocr.page.find_lines
    slow = [0.8]  # seconds the first look at the page takes

    def slow_find_lines(image: np.ndarray, **options: Any) -> Any:
        if slow:
            time.sleep(slow.pop())
        return find_lines(image, **options)

    ended, errors = _watch_page_reads(monkeypatch)
    monkeypatch.setattr(lineocr.page, "find_lines", slow_find_lines)
    monkeypatch.setattr(lineocr.layout, "find_lines", slow_find_lines)  # the page reader's
    load, _ = counting_loader(stub)
    settings = Settings(models=("stub",), batch_timeout_ms=2, request_timeout_s=0.5)
    async with serving(settings, load) as c:
        response = await c.post(
            "/v1/ocr", files=files(("line.png", line_bytes()), ("page.png", page_png))
        )
        assert response.status_code == 200, response.text
        line, page = response.json()["results"]
        assert line["ok"] and line["text"] == "40x20"
        assert page["error"]["status"] == 503 and page["error"]["code"] == "page_timeout"
        assert page["error"]["message"].startswith("page.png: not read before the request's")
        assert ended.wait(10)
    assert [type(e).__name__ for e in errors] == ["ReadCancelledError"]
    assert [call["n"] for call in stub.calls] == [1]  # the line alone: no crop was read


async def test_a_page_whose_request_has_ended_stops_inside_its_layout(
    stub: StubRecognizer, page_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page costly to lay out (issue 33: a crafted 18 KB page of marks took seconds in
    the layout) does not keep its page thread once its request has ended: the layout stops
    at its next checkpoint (:func:`lineocr.layout.checkpoints`), here right after the first
    step outlasted the request, and none of its later steps runs."""
    import lineocr.layout

    normalise = lineocr.layout.normalise_light
    segments = lineocr.layout._segments
    later_steps: list[str] = []

    def slow_normalise(gray: np.ndarray) -> np.ndarray:
        time.sleep(0.8)  # the request (0.5 s) ends meanwhile
        return normalise(gray)

    def counted_segments(*args: Any) -> Any:
        later_steps.append("segments")
        return segments(*args)

    ended, errors = _watch_page_reads(monkeypatch)
    monkeypatch.setattr(lineocr.layout, "normalise_light", slow_normalise)
    monkeypatch.setattr(lineocr.layout, "_segments", counted_segments)
    load, _ = counting_loader(stub)
    settings = Settings(models=("stub",), batch_timeout_ms=2, request_timeout_s=0.5)
    async with serving(settings, load) as c:
        response = await c.post(
            "/v1/ocr", data={"layout": "page"}, files=files(("p.png", page_png))
        )
        assert response.status_code == 503, response.text
        assert response.json()["results"][0]["error"]["code"] == "page_timeout"
        assert ended.wait(10)
    assert [type(e).__name__ for e in errors] == ["ReadCancelledError"]
    assert later_steps == []  # stopped in its layout, not at its first read of lines
    assert stub.calls == []


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


# -- lineocr read --server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def live_stub() -> Iterator[LiveServer]:
    load, _ = counting_loader(StubRecognizer("stub"))
    with LiveServer(Settings(models=("stub",), batch_timeout_ms=2), load) as server:
        yield server


def _page_file(tmp_path: Path, page_png: bytes) -> Path:
    path = tmp_path / "page.png"
    path.write_bytes(page_png)
    return path


def test_read_on_server_passes_the_layout_and_writes_pages_as_here(
    live_stub: LiveServer, tmp_path: Path, page_png: bytes, composed: Any
) -> None:
    from lineocr.cli import app

    page = _page_file(tmp_path, page_png)
    line = line_png(tmp_path / "line.png", 52, 26)
    runner = CliRunner()
    jsonl = runner.invoke(app, ["read", "--server", live_stub.url, "-f", "jsonl", str(page)])
    assert jsonl.exit_code == 0, jsonl.output
    record = json.loads(jsonl.stdout)
    assert set(record) == {"path", "text", "confidence", "lines", "rotation", "skew", "size"}
    assert [ln["block"] for ln in record["lines"]] == [0] + [1] * 4 + [2] * 4
    assert set(record["lines"][0]) == {"text", "confidence", "box", "polygon", "block"}
    text = runner.invoke(app, ["read", "--server", live_stub.url, str(page), str(line)])
    blocks, line_text = text.stdout.rstrip("\n").rsplit("\n", 1)
    assert [len(b.splitlines()) for b in blocks.split("\n\n")] == [1, 4, 4]
    assert line_text == "52x26"
    height, width = composed.image.shape
    as_line = runner.invoke(app, ["read", "--server", live_stub.url, "--layout", "line", str(page)])
    assert as_line.stdout.strip() == f"{width}x{height}"


# -- the bundled model: a page reads on the server as it reads here ---------------------


async def test_a_page_reads_on_the_server_as_here_whatever_its_batches(
    page_png: bytes, composed: Any
) -> None:
    """The server reads a page's lines in batches of its own (4 lines at most here, mixed
    with another request's lines), not the page reader's 16: the models take each line's
    length, so every line reads as it does here (text, confidence, box, block), and its
    words are placed as here, to the pixel (the page's lines are read with their
    characters' places in batches they share with plain line images, which are not, and
    read as they do alone)."""
    from lineocr.page import PageReader
    from lineocr.runtime import Recognizer

    recognizer = Recognizer.load("printed", threads=1)
    page_here = PageReader(recognizer).read(composed.image)
    here = page_here.to_dict()
    other = [(f"l{k}.png", line_bytes(60 + 40 * k, 24)) for k in range(3)]
    alone = [recognizer.read(Image.open(io.BytesIO(data))).text for _, data in other]
    settings = Settings(models=("printed",), max_batch=4, batch_timeout_ms=20)
    async with serving(settings, lambda name, threads=None: recognizer) as c:
        page, lines = await asyncio.gather(
            c.post("/v1/ocr", files=files(("page.png", page_png))),
            c.post("/v1/ocr", files=files(*other)),
        )
    assert lines.status_code == 200
    assert [slot["text"] for slot in lines.json()["results"]] == alone
    there = page.json()["results"][0]
    assert there["text"] == here["text"] and there["text"].startswith("A Quiet Town\n")
    assert there["timings"]["batch_size"] <= 4
    for line, want, ln in zip(there["lines"], here["lines"], page_here.lines, strict=True):
        assert {k: line[k] for k in ("text", "box", "polygon", "block")} == {
            k: want[k] for k in ("text", "box", "polygon", "block")
        }
        assert line["confidence"] == pytest.approx(want["confidence"], abs=1e-6)
        assert want["words"] and len(line["words"]) == len(want["words"]) == len(ln.words)
        for word, wanted, placed in zip(line["words"], want["words"], ln.words, strict=True):
            assert (word["text"], word["box"]) == (wanted["text"], wanted["box"])
            assert word["polygon"] == [list(p) for p in placed.polygon]
            assert word["confidence"] == pytest.approx(wanted["confidence"], abs=1e-6)
    assert (there["rotation"], there["skew"], there["size"]) == (
        here["rotation"],
        here["skew"],
        here["size"],
    )


def test_page_workers_is_a_checked_setting() -> None:
    from lineocr.serve import SettingsError

    assert Settings().page_workers == 2
    assert Settings.from_env({"LINEOCR_SERVE_PAGE_WORKERS": "3"}).page_workers == 3
    with pytest.raises(SettingsError, match="page_workers must be at least 1"):
        Settings(page_workers=0)
