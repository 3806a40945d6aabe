"""The web page follows the server's limits from /v1/models: it splits uploads into requests
under the body limit and accepts the formats the server accepts, in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lineocr.serve import Settings
from tests.test_serve_api import StubRecognizer, counting_loader
from tests.test_serve_live import LiveServer, chromium, line_png

pytestmark = pytest.mark.browser

LIMIT = 40_000  # max_body_bytes: two of the noise PNGs below fit in a request, three do not


def noise_png(path: Path, size: int = 120, seed: int = 0) -> Path:
    """A PNG of about size² bytes: noise does not compress."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    load, _ = counting_loader(StubRecognizer("stub"))
    settings = Settings(
        models=("stub",), max_body_bytes=LIMIT, allowed_formats=("PNG", "GIF"), batch_timeout_ms=2
    )
    with LiveServer(settings, load) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live.url + "/")
    page.wait_for_selector("#server-status.ok")
    yield page
    context.close()
    assert not errors, f"browser errors: {errors}"


def ocr_requests(page: Any) -> list[Any]:
    """The page's POST /v1/ocr requests, filled in as they are sent (Playwright gives no
    body for a FormData of files: their size is the Content-Length, their files the names
    in the answer)."""
    requests: list[Any] = []

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/v1/ocr"):
            requests.append(request)

    page.on("request", on_request)
    return requests


def names(request: Any) -> list[str]:
    return [result["name"] for result in request.response().json()["results"]]


def test_page_splits_uploads_to_keep_each_request_under_the_body_limit(
    page: Any, tmp_path: Path
) -> None:
    paths = [noise_png(tmp_path / f"n{i}.png", seed=i) for i in range(3)]
    sizes = [p.stat().st_size for p in paths]
    assert sum(sizes) > LIMIT > sizes[0] + sizes[1] + 2_000  # one request would be refused
    requests = ocr_requests(page)
    page.locator("#pattern").evaluate("el => { el.value = 'x'.repeat(200); }")  # a long field
    page.set_input_files("#files", [str(p) for p in paths])
    page.wait_for_selector(".result[data-state=done] >> nth=2")
    assert page.locator(".result[data-state=refused]").count() == 0
    assert sorted(page.locator(".result .text").all_inner_texts()) == ["120x120"] * 3
    assert [names(r) for r in requests] == [["n0.png", "n1.png"], ["n2.png"]]
    assert all(int(r.all_headers()["content-length"]) <= LIMIT for r in requests)


def test_page_refuses_a_file_too_large_for_a_request_without_sending_it(
    page: Any, tmp_path: Path
) -> None:
    over = tmp_path / "over.png"
    over.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * LIMIT)
    # 100 bytes under the limit: with the multipart headers around it the server would refuse it.
    near = tmp_path / "near.png"
    near.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (LIMIT - 108))
    good = line_png(tmp_path / "good.png")
    requests = ocr_requests(page)
    page.set_input_files("#files", [str(over), str(near), str(good)])
    page.wait_for_selector(".result[data-state=done]")
    messages = page.locator(".result[data-state=refused] .error").all_inner_texts()
    assert sorted(messages) == [
        "Refused: “near.png” is 39,900 bytes: with the request's form fields it would pass "
        "this server's limit of 40,000 bytes; not sent.",
        "Refused: “over.png” is 40,008 bytes, more than this server takes in a request "
        "(40,000 bytes); not sent.",
    ]
    assert [names(r) for r in requests] == [["good.png"]]


def test_page_accepts_the_formats_the_server_accepts(page: Any, tmp_path: Path) -> None:
    gif = tmp_path / "line.gif"
    Image.open(line_png(tmp_path / "line.png", 36, 18)).save(gif)
    jpeg = tmp_path / "photo.jpg"
    Image.open(line_png(tmp_path / "photo.png")).save(jpeg)
    assert page.locator("#files").get_attribute("accept") == "image/png,image/gif,.png,.gif"
    assert page.locator("#format-names").inner_text() == "PNG or GIF"
    requests = ocr_requests(page)
    page.set_input_files("#files", [str(gif), str(jpeg)])
    page.wait_for_selector(".result[data-state=done]")
    assert page.locator(".result[data-state=done] .text").inner_text() == "36x18"
    refused = page.locator(".result[data-state=refused] .error").inner_text()
    assert refused == "Refused: “photo.jpg” is not an image this server reads (PNG, GIF)."
    assert [names(r) for r in requests] == [["line.gif"]]
