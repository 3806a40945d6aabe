"""A real uvicorn on 127.0.0.1: the Python client, the web page in headless Chromium
(Playwright driving Debian's /usr/bin/chromium), and ``lineocr serve`` as a process that
stops cleanly on SIGTERM."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lineocr.serve import Settings
from lineocr.serve.client import ClientError, OcrClient
from tests.serve_helpers import LiveServer, StubRecognizer, counting_loader, line_png


@pytest.fixture(scope="module")
def stubs() -> tuple[StubRecognizer, StubRecognizer]:
    return StubRecognizer("stub"), StubRecognizer("other")


@pytest.fixture(scope="module")
def live(
    stubs: tuple[StubRecognizer, StubRecognizer], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    from lineocr.lm import CharNgramLM

    lm = CharNgramLM.fit(["paris london"], order=2).save(tmp_path_factory.mktemp("lm") / "lm.json")
    load, _ = counting_loader(*stubs)
    settings = Settings(
        models=("stub", "other"),
        max_images_per_request=3,
        batch_timeout_ms=2,
        language_models={"cities": str(lm)},
    )
    with LiveServer(settings, load) as server:
        yield server


# -- the Python client ------------------------------------------------------------------


def test_client_knows_every_request_option() -> None:
    from lineocr.serve.client import OPTION_FIELDS
    from lineocr.serve.schemas import OcrOptions

    assert sorted(OPTION_FIELDS) == sorted(OcrOptions.model_fields)


def test_client_sends_each_field_to_extract_as_its_own_form_field() -> None:
    from lineocr.serve.client import _multipart

    body, _ = _multipart([], {"extract": {"id": "id", "born": "Born: {date}"}})
    assert body.count(b'name="extract"') == 2
    assert b"\r\nid=id\r\n" in body and b"\r\nborn=Born: {date}\r\n" in body


def test_client_reads_files(live: LiveServer, tmp_path: Path) -> None:
    paths = [line_png(tmp_path / f"{w}.png", w, 20) for w in (30, 40, 50, 60)]
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    client = OcrClient(live.url)
    assert client.ready()
    assert [m["name"] for m in client.models()["models"]] == ["stub", "other"]
    results = client.read([*paths, notes, tmp_path / "missing.png"], model="other")
    assert [r.get("text") for r in results[:4]] == ["30x20", "40x20", "50x20", "60x20"]
    assert all(r["model"]["name"] == "other" for r in results[:4])
    assert results[4]["error"]["status"] == 415 and results[4]["name"] == str(notes)
    assert results[5]["error"]["code"] == "unreadable_file"
    only_bad = client.read([notes])  # every image refused: still one result per path
    assert not only_bad[0]["ok"] and only_bad[0]["error"]["code"] == "unsupported_format"
    with pytest.raises(ClientError) as info:
        client.read(paths[:1], model="nope")
    assert info.value.status == 422 and info.value.code == "unknown_model"
    with pytest.raises(ValueError):
        client.read(paths[:1], colour="red")
    assert not OcrClient("http://127.0.0.1:9", timeout=2).ready()  # nothing listens there


def test_client_keeps_requests_under_the_body_limit_and_loses_only_a_file_too_large(
    stubs: tuple[StubRecognizer, StubRecognizer], tmp_path: Path
) -> None:
    """Files are packed into requests the server takes; a file over the body limit alone is
    refused by name (413 or a reset connection), and the files beside it are read."""
    rng = np.random.default_rng(0)
    paths = []
    for k, width in enumerate((30, 40, 50, 60, 70)):
        path = tmp_path / f"{k}.png"
        noise = rng.integers(0, 256, (20 if k != 2 else 900, width if k != 2 else 900))
        Image.fromarray(noise.astype(np.uint8)).save(path)  # noise: PNG cannot shrink it
        paths.append(path)
    sizes = [p.stat().st_size for p in paths]
    assert sizes[2] > 200_000 and sum(sizes) - sizes[2] < 10_000
    load, _ = counting_loader(*stubs)
    settings = Settings(models=("stub",), max_body_bytes=100_000, batch_timeout_ms=2)
    with LiveServer(settings, load) as server:
        results = OcrClient(server.url).read(paths)
    assert [r.get("text") for r in results] == ["30x20", "40x20", None, "60x20", "70x20"]
    assert not results[2]["ok"] and results[2]["name"] == str(paths[2])
    assert results[2]["error"]["message"].startswith(f"{paths[2]}: ")


def test_read_command_with_server(live: LiveServer, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from lineocr.cli import app

    good = line_png(tmp_path / "line.png", 52, 26)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    runner = CliRunner()
    result = runner.invoke(
        app, ["read", "--server", live.url, "--format", "jsonl", str(good), str(notes)]
    )
    assert result.exit_code == 1, result.output  # one input could not be read
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines[0]["path"] == str(good) and lines[0]["text"] == "52x26"
    assert [c["char"] for c in lines[0]["chars"]] == list("52x26")
    assert lines[1]["path"] == str(notes) and lines[1]["error"].startswith("not a supported")
    other = runner.invoke(app, ["read", "--server", live.url, "--model", "other", str(good)])
    assert other.exit_code == 0 and other.stdout.strip() == "52x26"
    missing = runner.invoke(app, ["read", "--server", live.url, "--model", "nope", str(good)])
    assert missing.exit_code == 2 and "no model 'nope'" in missing.output
    down = runner.invoke(app, ["read", "--server", "http://127.0.0.1:9", str(good)])
    assert down.exit_code == 2 and "cannot reach" in down.output
    # --lm names a language model of the server's; this one has none configured.
    no_lm = runner.invoke(app, ["read", "--server", live.url, "--lm", "arabic", str(good)])
    assert no_lm.exit_code == 2 and "unknown language model 'arabic'" in no_lm.output


# -- the web page in a real browser -----------------------------------------------------


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_console(message: Any) -> None:
        # Chromium logs every 4xx answer; refusals are part of the tests, scripts errors not.
        if message.type == "error" and "responded with a status of 4" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    outside: list[str] = []

    def on_request(request: Any) -> None:
        if not request.url.startswith((live.url, "blob:", "data:")):
            outside.append(request.url)

    page.on("request", on_request)
    page.goto(live.url + "/")
    page.wait_for_selector("#server-status.ok")
    yield page
    context.close()
    assert not outside, f"the page fetched from elsewhere: {outside}"
    assert not errors, f"browser errors: {errors}"


@pytest.mark.browser
def test_page_uploads_images(page: Any, tmp_path: Path) -> None:
    good = line_png(tmp_path / "line.png", 44, 22)
    second = line_png(tmp_path / "second.png", 64, 16)
    refused = tmp_path / "scan.pdf"
    refused.write_bytes(b"%PDF-1.4\n")
    assert page.locator("#model option").all_inner_texts() == ["stub (1.2.3)", "other (1.2.3)"]
    page.set_input_files("#files", [str(good), str(second), str(refused)])
    page.wait_for_selector(".result[data-state=done] >> nth=1")
    done = page.locator(".result[data-state=done]")
    texts = sorted(done.locator(".text").all_inner_texts())
    assert texts == ["44x22", "64x16"]
    card = page.locator(".result[data-state=done]", has_text="44x22")
    spans = card.locator(".text .ch")
    assert spans.count() == 5
    assert spans.nth(0).get_attribute("class") == "ch c-high"  # 0.95
    assert spans.nth(1).get_attribute("class") == "ch c-mid"  # 0.7
    assert spans.nth(2).get_attribute("class") == "ch c-low"  # 0.3
    assert "95%" in (spans.nth(0).get_attribute("title") or "")
    assert "confidence 50.0%" in card.locator(".conf").inner_text()
    bad = page.locator(".result[data-state=refused]")
    assert bad.count() == 1
    assert "Refused" in bad.inner_text() and "scan.pdf" in bad.inner_text()
    shots = os.environ.get("LINEOCR_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "page-upload.png"), full_page=True)


@pytest.mark.browser
def test_page_server_refusal_is_shown(page: Any, tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"  # the browser takes it; the server refuses it
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    page.set_input_files("#files", [str(fake)])
    page.wait_for_selector(".result[data-state=refused]")
    message = page.locator(".result[data-state=refused] .error").inner_text()
    assert message.startswith("Refused: fake.png")


@pytest.mark.browser
def test_page_model_choice(
    page: Any, tmp_path: Path, stubs: tuple[StubRecognizer, StubRecognizer]
) -> None:
    page.select_option("#model", "other")
    page.click("details.options summary")  # the options panel opens
    assert page.locator("#lm option").all_text_contents() == ["none", "cities"]
    page.select_option("#lm", "cities")
    before = len(stubs[1].calls)
    page.set_input_files("#files", [str(line_png(tmp_path / "a.png", 30, 15))])
    page.wait_for_selector(".result[data-state=done]")
    assert "other" in page.locator(".result .conf").inner_text()
    assert len(stubs[1].calls) > before
    assert "lm" in stubs[1].calls[-1]["options"]  # the language model went with the request


@pytest.mark.browser
def test_page_canvas_reads_drawing(page: Any, stubs: tuple[StubRecognizer, StubRecognizer]) -> None:
    box = page.locator("#pad").bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 25):  # a zigzag stroke, like a handwritten "w"
        page.mouse.move(x0 + i * 8, y0 + (40 if i % 6 < 3 else 0), steps=2)
    page.mouse.up()
    page.wait_for_selector("#draw-result[data-state=done]")
    text = page.locator("#draw-result").inner_text()
    width, height = (int(v) for v in text.split("x"))
    # The page sends the ink's bounding box (plus a margin), not the whole canvas.
    assert 0 < width < 720 and 0 < height < 200
    assert page.locator("#draw-result .ch").count() == len(text)
    shots = os.environ.get("LINEOCR_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / "page-canvas.png"), full_page=True)
    page.click("#clear")
    assert "Your text appears here" in page.locator("#draw-result").inner_text()


# -- `lineocr serve` as a process ---------------------------------------------------------


def test_cli_serves_and_stops_on_sigterm(tiny_onnx_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("lineocr.runtime", reason="lineocr.runtime not available yet")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "lineocr",
        "serve",
        "--port",
        str(port),
        "--models",
        str(tiny_onnx_model),
        "--models",
        str(tmp_path / "absent.onnx"),
        "--threads",
        "1",
        "--log-level",
        "info",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        client = OcrClient(f"http://127.0.0.1:{port}", timeout=10)
        deadline = time.monotonic() + 60
        while not client.ready():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "server not ready in 60 s"
            time.sleep(0.2)
        buf = io.BytesIO()
        Image.new("L", (80, 32), 255).save(buf, "PNG")
        (result,) = client.read_bytes([("blank.png", buf.getvalue())])
        assert result["ok"] and result["model"]["name"] == "tiny"
        models = client.models()
        assert [m["name"] for m in models["models"]] == ["tiny"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    # uvicorn finishes the shutdown, then re-raises SIGTERM so the exit status tells why.
    assert proc.returncode in (0, -signal.SIGTERM), out
    assert "Application shutdown complete" in out
    assert "absent.onnx" in out  # the model that did not load is named in the log
    assert "lineocr serve stopped" in out
    assert "Traceback" not in out
