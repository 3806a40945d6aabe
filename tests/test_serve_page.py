"""The web page follows the server's limits from /v1/models: it splits uploads into requests
under the body limit, accepts the formats the server accepts, and sends the files of a request
refused for its size or time again one by one, in headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lineocr.serve import Settings
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png, web_page

pytestmark = pytest.mark.browser

LIMIT = 40_000  # max_body_bytes: two of the noise PNGs below fit in a request, three do not
PIXELS = 60_000  # max_pixels and max_request_pixels
PROXY_LIMIT = 10_000  # bodies a proxy before the server takes: less than the server's LIMIT


def noise_png(path: Path, size: int = 120, seed: int = 0) -> Path:
    """A PNG of about size² bytes: noise does not compress. Line-shaped (a third of size
    high, three times wide), so that the server's layout ``auto`` reads it as a line, not
    as a page to look for lines on."""
    shape = (size // 3, size * 3)
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    load, _ = counting_loader(StubRecognizer("stub"))
    settings = Settings(
        models=("stub",),
        max_body_bytes=LIMIT,
        max_pixels=PIXELS,
        max_request_pixels=PIXELS,
        allowed_formats=("PNG", "GIF"),
        batch_timeout_ms=2,
    )
    with LiveServer(settings, load) as server:
        yield server


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    with web_page(browser, live.url) as page:
        yield page


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
    assert sorted(page.locator(".result .text").all_inner_texts()) == ["360x40"] * 3
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


@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        ("413", "Refused: The server answered 413 Payload Too Large"),  # the status line
        ("reset", "Refused: Cannot reach the server: Failed to fetch"),
    ],
)
def test_page_resends_a_request_refused_for_its_size_one_file_at_a_time(
    page: Any, tmp_path: Path, refusal: str, message: str
) -> None:
    """A proxy refuses bodies over PROXY_LIMIT (a 413 HTML page, or a dropped connection)
    although the server takes them: the files of the refused request are sent again one by
    one, in turn, and only the file too large for the proxy is lost."""
    paths = [
        line_png(tmp_path / "a.png", 30, 15),
        noise_png(tmp_path / "big.png", 110),
        line_png(tmp_path / "c.png", 50, 25),
    ]
    sizes = {p.name: p.stat().st_size for p in paths}
    assert sizes["big.png"] > PROXY_LIMIT and sum(sizes.values()) + 3_000 < LIMIT
    sent: list[list[str]] = []  # the files of each request, as the proxy saw them

    def proxy(route: Any) -> None:
        # Playwright gives the multipart body without the files' bytes, but with their names.
        files = re.findall(r'filename="([^"]+)"', route.request.post_data_buffer.decode())
        sent.append(files)
        if sum(sizes[name] for name in files) <= PROXY_LIMIT:
            route.continue_()
        elif refusal == "413":
            html = "<html><body><h1>413 Request Entity Too Large</h1></body></html>"
            route.fulfill(status=413, content_type="text/html", body=html)
        else:
            route.abort("connectionreset")

    page.route("**/v1/ocr", proxy)
    page.set_input_files("#files", [str(p) for p in paths])
    page.wait_for_selector(".result:not(.pending) >> nth=2")  # the three cards filled
    done = page.locator(".result[data-state=done] .text").all_inner_texts()
    assert sorted(done) == ["30x15", "50x25"]
    refused = page.locator(".result[data-state=refused]")
    assert refused.count() == 1
    assert refused.locator(".name").inner_text() == "big.png"
    assert refused.locator(".error").inner_text() == message
    assert sent == [["a.png", "big.png", "c.png"], ["a.png"], ["big.png"], ["c.png"]]


def test_page_does_not_resend_a_request_refused_for_its_options(page: Any, tmp_path: Path) -> None:
    """A refusal of the options would refuse every file alike: one request, one message on
    every card."""
    paths = [line_png(tmp_path / f"{k}.png") for k in range(2)]
    page.locator("#pattern").evaluate("el => { el.value = 'x'.repeat(201); }")  # 200 at most
    requests = ocr_requests(page)
    page.set_input_files("#files", [str(p) for p in paths])
    page.wait_for_selector(".result[data-state=refused] >> nth=1")
    messages = page.locator(".result[data-state=refused] .error").all_inner_texts()
    assert messages == ["Refused: pattern longer than 200 characters"] * 2
    assert [r.response().status for r in requests] == [422]


def blank_png(folder: Path, name: str, width: int, height: int) -> str:
    Image.new("L", (width, height), 255).save(folder / name)
    return str(folder / name)


def test_page_does_not_resend_images_the_server_refused_one_by_one(
    page: Any, tmp_path: Path
) -> None:
    """Refusals in the results are the server's word on each image, in a 200 (an image it
    cannot decode) or in the error answer when none was read (413: each image too large): no
    file is sent again."""
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    requests = ocr_requests(page)
    page.set_input_files("#files", [blank_png(tmp_path, "w1.png", 300, 150), str(broken)])
    page.wait_for_selector(".result:not(.pending) >> nth=1")
    h1, h2 = (blank_png(tmp_path, f"h{k}.png", 400, 200) for k in (1, 2))
    page.set_input_files("#files", [h1, h2])
    page.wait_for_selector(".result:not(.pending) >> nth=3")
    assert page.locator(".result[data-state=done] .text").all_inner_texts() == ["300x150"]
    messages = page.locator(".result[data-state=refused] .error").all_inner_texts()
    too_large = "image too large: 400x200 pixels, more than the limit of 60,000"
    assert messages[:2] == [f"Refused: h2.png: {too_large}", f"Refused: h1.png: {too_large}"]
    assert messages[2].startswith("Refused: broken.png: ")  # the newest cards first
    assert [r.response().status for r in requests] == [200, 413]
    assert [names(r) for r in requests] == [["w1.png", "broken.png"], ["h1.png", "h2.png"]]


def test_page_sends_an_image_past_the_requests_pixels_again_alone(
    page: Any, tmp_path: Path
) -> None:
    """Two of these images fit in the server's pixels per request, three do not: the third
    is refused in its slot with "send it in another request", and the page does, alone."""
    paths = [blank_png(tmp_path, f"p{k}.png", 200, 140) for k in range(3)]  # 28,000 pixels
    requests = ocr_requests(page)
    page.set_input_files("#files", paths)
    page.wait_for_selector(".result:not(.pending) >> nth=2")
    assert page.locator(".result[data-state=refused]").count() == 0
    assert page.locator(".result[data-state=done] .text").all_inner_texts() == ["200x140"] * 3
    assert [names(r) for r in requests] == [["p0.png", "p1.png", "p2.png"], ["p2.png"]]
    assert [r.response().status for r in requests] == [200, 200]


def test_page_sends_an_image_past_the_requests_pixels_again_only_once(
    page: Any, tmp_path: Path
) -> None:
    """An image refused for the request's pixels when it is alone (by a server whose pixels
    per request are fewer than an image may have, played here by page.route) keeps the
    error: it is not sent again and again."""
    sent: list[list[str]] = []
    message = "huge.png: with its 28,000 pixels the request's images would hold more than "
    message += "20,000; send it in another request"

    def server(route: Any) -> None:
        # Playwright gives the multipart body without the files' bytes, but with their names.
        files = re.findall(r'filename="([^"]+)"', route.request.post_data_buffer.decode())
        sent.append(files)
        error = {"status": 413, "code": "request_too_many_pixels", "message": message}
        results = [
            {"name": name, "ok": False, "error": error}
            if name == "huge.png"
            else {"name": name, "ok": True, "text": name, "confidence": 0.9, "chars": []}
            for name in files
        ]
        route.fulfill(status=200, json={"results": results})

    page.route("**/v1/ocr", server)
    paths = [blank_png(tmp_path, name, 200, 140) for name in ("a.png", "huge.png", "c.png")]
    page.set_input_files("#files", paths)
    page.wait_for_selector(".result:not(.pending) >> nth=2")
    assert sorted(page.locator(".result[data-state=done] .text").all_inner_texts()) == [
        "a.png",
        "c.png",
    ]
    refused = page.locator(".result[data-state=refused]")
    assert refused.locator(".name").all_inner_texts() == ["huge.png"]
    assert refused.locator(".error").inner_text() == f"Refused: {message}"
    assert sent == [["a.png", "huge.png", "c.png"], ["huge.png"]]


def test_page_sends_the_images_past_the_requests_pixels_again_together(
    page: Any, tmp_path: Path
) -> None:
    """A server that reads two images' pixels a request (played by page.route): the refused
    images go again together while it reads some (3 requests for 5 images, not 4)."""
    sent: list[list[str]] = []

    def server(route: Any) -> None:
        files = re.findall(r'filename="([^"]+)"', route.request.post_data_buffer.decode())
        sent.append(files)
        error = {"status": 413, "code": "request_too_many_pixels", "message": "send it again"}
        results = [
            {"name": name, "ok": True, "text": name, "confidence": 0.9, "chars": []}
            if i < 2
            else {"name": name, "ok": False, "error": error}
            for i, name in enumerate(files)
        ]
        route.fulfill(status=200, json={"results": results})

    page.route("**/v1/ocr", server)
    names = [f"{k}.png" for k in "abcde"]
    page.set_input_files("#files", [blank_png(tmp_path, name, 200, 140) for name in names])
    page.wait_for_selector(".result[data-state=done] >> nth=4")
    texts = page.locator(".result[data-state=done] .text").all_inner_texts()
    assert sorted(texts) == names
    assert sent == [names, ["c.png", "d.png", "e.png"], ["e.png"]]


@pytest.mark.parametrize(
    ("confidence", "level", "colour"),
    [(0.245, "low", "c-low"), (0.75, "medium", "c-mid"), (0.97, "high", "c-high")],
)
def test_page_colours_the_line_by_its_own_confidence(
    page: Any, tmp_path: Path, confidence: float, level: str, colour: str
) -> None:
    """Every character read with 99 % while the line's confidence is low (the characters
    the model missed have nothing to colour): the card shows the line's confidence in the
    line's colour, on a badge and along the card, not only the characters' green."""
    chars = [{"char": c, "confidence": 0.99} for c in "Canyou"]
    answer = {"name": "a.png", "ok": True, "text": "Canyou", "confidence": confidence}
    page.route(
        "**/v1/ocr",
        lambda route: route.fulfill(status=200, json={"results": [{**answer, "chars": chars}]}),
    )
    page.set_input_files("#files", [str(line_png(tmp_path / "a.png"))])
    card = page.locator(".result[data-state=done]")
    card.wait_for()
    assert card.locator(".text .ch.c-high").count() == 6  # the characters keep their colour
    badge = card.locator(".conf .line-conf")
    assert badge.get_attribute("class") == f"line-conf {colour}"
    assert badge.inner_text() == f"confidence {confidence * 100:.1f}% ({level})"
    assert card.get_attribute("data-confidence") == level

    def style(locator: Any, prop: str) -> str:
        return str(locator.evaluate(f"el => getComputedStyle(el).{prop}"))

    key = page.locator(f".legend .{colour}")  # the colour the legend gives this level
    assert style(badge, "color") == style(key, "color")
    assert style(card, "borderLeftColor") == style(key, "color")
    assert style(card, "borderLeftColor") != style(card, "borderTopColor")


def test_page_marks_the_drawings_line_confidence(page: Any) -> None:
    page.route(
        "**/v1/ocr",
        lambda route: route.fulfill(
            status=200,
            json={
                "results": [
                    {
                        "ok": True,
                        "text": "7",
                        "confidence": 0.3,
                        "chars": [{"char": "7", "confidence": 0.95}],
                    }
                ]
            },
        ),
    )
    box = page.locator("#pad").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x0 + 60, y0, steps=4)
    page.mouse.move(x0 + 20, y0 + 80, steps=4)
    page.mouse.up()
    out = page.locator("#draw-result[data-state=done]")
    out.wait_for()
    assert out.get_attribute("data-confidence") == "low"
    assert out.get_attribute("title") == "confidence 30.0% (low)"
    colour = page.locator(".legend .c-low").evaluate("el => getComputedStyle(el).color")
    assert out.evaluate("el => getComputedStyle(el).borderBottomColor") == colour
