"""The web page's page view, in headless Chromium: a page read whole is shown as the image
with its lines drawn over it (one box per line, scaled with the image), the text beside it
block by block in reading order, a line's text and character confidences on hover or tap,
and the page's text and JSON as downloads. The stub recognizer reads each line crop as its
size ("412x44"), so every line's text is its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lineocr.serve import Settings
from tests.documents_helpers import PDFTOTEXT, pdftotext
from tests.format_validators import ALTO_XSD, NS, PAGE_XSD, hocr_errors, schema_errors, xml
from tests.pages_helpers import LATIN, compose
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png, web_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    load, _ = counting_loader(StubRecognizer("stub"))
    with LiveServer(Settings(models=("stub",), batch_timeout_ms=2), load) as server:
        yield server


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    options = {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True}
    with web_page(browser, live.url, **options) as page:
        yield page


@pytest.fixture(scope="module")
def two_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page of two columns of three lines: two blocks."""
    path = tmp_path_factory.mktemp("pages") / "two-columns.png"
    Image.fromarray(compose([LATIN[:3], LATIN[3:6]]).image).save(path)
    return path


def read_page(page: Any, path: Path) -> tuple[Any, dict[str, Any]]:
    """Upload ``path``; its card once read, and the server's result for it."""
    with page.expect_response("**/v1/ocr") as answer:
        page.set_input_files("#files", [str(path)])
    result = answer.value.json()["results"][0]
    card = page.locator(".result.page-result[data-state=done]")
    card.wait_for()
    return card, result


def test_a_page_is_shown_with_one_box_per_line_and_its_text_block_by_block(
    page: Any, two_blocks: Path
) -> None:
    card, result = read_page(page, two_blocks)
    assert result["layout"] == "page" and len(result["lines"]) == 6
    texts = [line["text"] for line in result["lines"]]
    assert card.locator(".page-overlay .line-box").count() == 6
    blocks = card.locator(".page-text .block")
    assert blocks.count() == 2
    assert [blocks.nth(b).locator(".page-line").all_inner_texts() for b in (0, 1)] == [
        texts[:3],
        texts[3:],
    ]
    assert card.locator(".conf").inner_text().startswith("confidence ")
    assert "6 lines" in card.locator(".conf").inner_text()
    # The overlay lies on the image shown, and each box on its line, at the image's scale.
    image = card.locator(".page-image").bounding_box()
    overlay = card.locator(".page-overlay").bounding_box()
    assert all(abs(image[k] - overlay[k]) < 1 for k in ("x", "y", "width", "height"))
    scale = image["width"] / result["size"][0]
    assert scale < 1  # the 1,700-pixel page is shown smaller
    for k, line in enumerate(result["lines"]):
        # where the box's outline lies on the screen (its stroke left out)
        shown = card.locator(f".line-box[data-line='{k}']").evaluate(
            """el => {
                const r = el.getBBox(), m = el.getScreenCTM();
                return [r.x * m.a + m.e, r.y * m.d + m.f, r.width * m.a, r.height * m.d];
            }"""
        )
        x0, y0, x1, y1 = line["box"]
        want = [image["x"] + x0 * scale, image["y"] + y0 * scale, (x1 - x0) * scale]
        want.append((y1 - y0) * scale)
        assert all(abs(a - b) < 1 for a, b in zip(shown, want, strict=True)), (shown, want)


def test_hovering_or_tapping_a_line_shows_its_text_and_character_confidences(
    page: Any, two_blocks: Path
) -> None:
    card, result = read_page(page, two_blocks)
    info = card.locator(".line-info")
    fourth = result["lines"][3]
    card.locator(".line-box[data-line='3']").hover()
    assert info.locator(".line-text").inner_text() == fourth["text"]
    chars = info.locator(".line-text .ch")
    assert chars.count() == len(fourth["chars"])
    first = fourth["chars"][0]
    assert chars.first.get_attribute("title") == (
        f"“{first['char']}”: {first['confidence'] * 100:.0f}% confident"
    )
    assert "line 4 of 6 · block 2" in info.locator(".line-meta").inner_text()
    # its box and its text are marked, no other
    assert card.locator(".line-box.active").get_attribute("data-line") == "3"
    assert card.locator(".page-line.active").inner_text() == fourth["text"]
    # hovering the text beside the image shows that line too
    card.locator(".page-line[data-line='0']").hover()
    assert info.locator(".line-text").inner_text() == result["lines"][0]["text"]
    # a tap keeps its line shown once the pointer has gone
    card.locator(".line-box[data-line='5']").click()
    page.mouse.move(1, 1)
    assert info.locator(".line-text").inner_text() == result["lines"][5]["text"]
    assert card.locator(".line-box.active").get_attribute("data-line") == "5"


def test_the_page_downloads_as_text_and_json(page: Any, two_blocks: Path) -> None:
    card, result = read_page(page, two_blocks)
    texts = [line["text"] for line in result["lines"]]
    with page.expect_download() as txt:
        card.locator(".downloads [data-format=txt]").click()
    assert txt.value.suggested_filename == "two-columns.txt"
    body = Path(txt.value.path()).read_text(encoding="utf-8")
    assert body == "\n".join(texts[:3]) + "\n\n" + "\n".join(texts[3:]) + "\n"
    with page.expect_download() as js:
        card.locator(".downloads [data-format=json]").click()
    assert js.value.suggested_filename == "two-columns.json"
    assert json.loads(Path(js.value.path()).read_text(encoding="utf-8")) == result


def test_the_page_downloads_as_hocr_alto_and_page_xml(
    page: Any, two_blocks: Path, tmp_path: Path
) -> None:
    """Each document download is the page as read, written by the server (POST
    /v1/documents, not read again), and valid under its standard's validator."""
    card, result = read_page(page, two_blocks)
    texts = [line["text"] for line in result["lines"]]
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/v1/" in r.url else None)
    names = {
        "hocr": "two-columns.hocr",
        "alto": "two-columns.alto.xml",
        "page": "two-columns.page.xml",
    }
    documents = {}
    for fmt, filename in names.items():
        button = card.locator(f".downloads [data-format={fmt}]")
        assert button.is_enabled()
        with page.expect_download() as got:
            button.click()
        assert got.value.suggested_filename == filename
        documents[fmt] = Path(got.value.path()).read_text(encoding="utf-8")
    assert [url.rsplit("/", 1)[-1] for url in sent] == ["documents"] * 3  # no /v1/ocr again
    assert schema_errors(documents["alto"], ALTO_XSD) == []
    assert schema_errors(documents["page"], PAGE_XSD) == []
    assert hocr_errors(documents["hocr"], tmp_path) == []
    unicode = xml(documents["page"]).iterfind(".//pc:TextLine/pc:TextEquiv/pc:Unicode", NS)
    assert [u.text for u in unicode] == texts
    assert xml(documents["page"]).find(".//pc:Page", NS).get("imageFilename") == "two-columns.png"
    lines = xml(documents["alto"]).iterfind(".//alto:TextLine", NS)
    assert [
        " ".join(s.get("CONTENT") for s in ln.iterfind("alto:String", NS)) for ln in lines
    ] == texts
    # The PDF holds the page image too: the file read goes with the page as read.
    with page.expect_download() as got:
        card.locator(".downloads [data-format=pdf]").click()
    assert got.value.suggested_filename == "two-columns.pdf"
    pdf = Path(got.value.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert sent[-1].endswith("/v1/documents/pdf")
    if PDFTOTEXT is not None:
        assert pdftotext(pdf, "-raw").split() == " ".join(texts).split()


def test_lines_and_pages_together_and_the_layout_option(
    page: Any, two_blocks: Path, tmp_path: Path
) -> None:
    """A line beside a page keeps its line card; Layout "each image is one line" reads the
    page as one line; the drawing is always sent as a line."""
    line = line_png(tmp_path / "line.png", 60, 24)
    page.set_input_files("#files", [str(line), str(two_blocks)])
    page.wait_for_selector(".result:not(.pending) >> nth=1")
    assert page.locator(".result.page-result").count() == 1
    assert page.locator(".result:not(.page-result) .text").inner_text() == "60x24"
    forms: list[str] = []  # the multipart bodies sent, files' bytes left out by Playwright

    def record(route: Any) -> None:
        forms.append(route.request.post_data_buffer.decode("latin-1"))
        route.continue_()

    page.route("**/v1/ocr", record)
    page.locator("details.options summary").click()
    page.select_option("#layout", "line")
    page.set_input_files("#files", [str(two_blocks)])
    page.wait_for_selector(".result:not(.pending) >> nth=2")
    with Image.open(two_blocks) as image:
        as_one_line = "{}x{}".format(*image.size)
    assert page.locator(".result").first.locator(".text").inner_text() == as_one_line
    assert 'name="layout"\r\n\r\nline\r\n' in forms[-1]
    page.select_option("#layout", "page")  # the drawing is read as a line all the same
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 120, steps=4)
    page.mouse.up()
    page.wait_for_selector("#draw-result[data-state=done]")
    assert 'name="layout"\r\n\r\nline\r\n' in forms[-1] and "drawing.png" in forms[-1]
    assert "\r\n\r\npage\r\n" not in forms[-1]
