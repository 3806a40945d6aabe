"""The web page's form-filling view, in headless Chromium, with the bundled printed model:
a form photo dropped with fields asked for (named-pattern presets, a regex of one's own)
comes back as a form filled with the values the server found (POST /v1/ocr with extract),
each value's box drawn on the image, a field not found left empty and marked, and values
below the server's review threshold (GET /v1/models) marked for a person to check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from lineocr.runtime import Recognizer
from lineocr.serve import Settings
from tests.pages_helpers import form_page
from tests.serve_helpers import LiveServer
from tests.test_serve_fields import LINES, NUMBER

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    recognizer = Recognizer.load("printed", threads=1)
    settings = Settings(models=("printed",), batch_timeout_ms=2)
    with LiveServer(settings, lambda name, threads=None: recognizer) as server:
        yield server


@pytest.fixture(scope="module")
def form_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[int, ...]]:
    image, number_box = form_page(LINES, NUMBER, 440)  # the page test_serve_fields reads
    path = tmp_path_factory.mktemp("forms") / "form.png"
    Image.fromarray(image).save(path)
    return path, number_box


def open_page(browser: Any, live: LiveServer, threshold: float | None = None) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    if threshold is not None:  # the server's answer, with another review threshold

        def models(route: Any) -> None:
            body = route.fetch().json()
            body["fields"]["review_threshold"] = threshold
            route.fulfill(json=body)

        page.route("**/v1/models", models)
    page.goto(live.url + "/")
    page.wait_for_selector("#server-status.ok")
    return page


def fill(page: Any, path: Path) -> dict[str, Any]:
    with page.expect_response("**/v1/ocr") as answer:
        page.set_input_files("#form-file", [str(path)])
    page.wait_for_selector(".filled-form .filled-field")
    return dict(answer.value.json()["results"][0])


def test_a_form_is_filled_with_the_values_found_and_their_boxes(
    browser: Any, live: LiveServer, form_file: tuple[Path, tuple[int, ...]]
) -> None:
    page = open_page(browser, live)
    try:
        rows = page.locator("#field-rows .field-row")
        assert rows.count() == 2  # ID number and date, from the named patterns
        assert rows.nth(0).locator(".field-kind option:checked").inner_text() == "ID number"
        # a field of one's own: a regular expression, not on this form
        page.click("#add-field")
        new = rows.nth(2)
        new.locator(".field-name").fill("passport")
        assert new.locator(".field-regex").is_visible()
        new.locator(".field-regex").fill("[A-Z]{2}[0-9]{7}")
        forms: list[str] = []  # the multipart bodies sent, files' bytes left out by Playwright

        def record(route: Any) -> None:
            forms.append(route.request.post_data_buffer.decode("latin-1"))
            route.continue_()

        page.route("**/v1/ocr", record)
        result = fill(page, form_file[0])
        sent = forms[-1]
        for pair in ("id_number=id", "date=date", "passport=[A-Z]{2}[0-9]{7}"):
            assert f'name="extract"\r\n\r\n{pair}\r\n' in sent
        fields = result["fields"]
        assert fields["id_number"]["value"] == NUMBER and fields["passport"] is None
        number = page.locator(".filled-field[data-field=id_number]")
        assert number.locator("input").input_value() == NUMBER
        threshold = json.loads(page.evaluate("JSON.stringify(forms)"))["reviewThreshold"]
        sure = fields["id_number"]["confidence"] >= threshold
        assert ("sure" if sure else "needs-review") in (number.get_attribute("class") or "")
        missing = page.locator(".filled-field[data-field=passport]")
        assert "not-found" in (missing.get_attribute("class") or "")
        assert missing.locator("input").input_value() == ""
        assert missing.locator(".field-note").inner_text() == "not found: fill it in"
        assert "2 of 3 fields found" in page.locator(".filled-summary").inner_text()
        # the value's box on the image, where the server found it, marked when focused
        box = page.locator(".field-box[data-field=id_number]")
        assert [int(float(box.get_attribute(k))) for k in ("x", "y")] == fields["id_number"]["box"][
            :2
        ]
        assert page.locator(".field-box").count() == 2
        number.locator("input").focus()
        assert "active" in (box.get_attribute("class") or "")
        # the box lies over the number drawn: its share of the image shown
        shown = page.locator(".filled .page-image").bounding_box()
        on_screen = box.bounding_box()
        with Image.open(form_file[0]) as image:
            scale = shown["width"] / image.size[0]
        x0 = form_file[1][0]
        assert abs((on_screen["x"] - shown["x"]) / scale - x0) < 30
        # a value can be corrected by hand
        number.locator("input").fill("12345")
        assert number.locator("input").input_value() == "12345"
    finally:
        page.context.close()
    assert not page.errors, page.errors


def test_values_below_the_review_threshold_are_marked_to_check(
    browser: Any, live: LiveServer, form_file: tuple[Path, tuple[int, ...]]
) -> None:
    """The threshold is the server's: with one above every confidence, each value found is
    marked for a person to check (its row, its note and its box)."""
    page = open_page(browser, live, threshold=1.01)
    try:
        result = fill(page, form_file[0])
        found = [name for name, f in result["fields"].items() if f is not None]
        assert found == ["id_number", "date"]
        for name in found:
            row = page.locator(f".filled-field[data-field={name}]")
            assert "needs-review" in (row.get_attribute("class") or "")
            assert row.locator(".field-note").inner_text().startswith("check this: confidence")
            box = page.locator(f".field-box[data-field={name}]")
            assert "needs-review" in (box.get_attribute("class") or "")
        assert "2 to check" in page.locator(".filled-summary").inner_text()
    finally:
        page.context.close()
    assert not page.errors, page.errors
