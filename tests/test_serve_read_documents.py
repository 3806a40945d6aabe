"""``lineocr read --server URL --format hocr|alto|page|pdf`` (issue 34 item 2): the pages a
live server reads, written by its ``/v1/documents`` endpoints, are the documents a read
here writes for the same pages (texts and boxes exactly, confidences within the API's
rounding), valid under tests/format_validators.py; a multi-page TIFF and PDF (rasterised
here, sent page by page) give one document of all pages; an input the server cannot read
is named and the rest written; a server without ``/v1/documents`` is one line, exit 2."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr.cli import app
from lineocr.serve import Settings
from tests.documents_helpers import image_pdf, multipage_tiff, needs_pdftotext, pdftotext
from tests.format_validators import ALTO_XSD, NS, PAGE_XSD, hocr_errors, schema_errors, xml
from tests.pages_helpers import LATIN, compose
from tests.serve_helpers import LiveServer

# Confidences in each format, compared within rounding (the API rounds to 6 decimals; hOCR
# writes whole percents, so a value on a rounding edge may move by one); dates written when
# the document is made.
CONFIDENCE = re.compile(r'(x_wconf |x_confs |\bWC="|\bCC="|\bPC="|\bconf=")([0-9. ]+)')
DATES = re.compile(r"(<Created>|<LastChange>|<processingDateTime>)[^<]*")


@pytest.fixture(scope="module")
def recognizer() -> Any:
    from lineocr.runtime import Recognizer

    return Recognizer.load("printed", threads=1)


@pytest.fixture(scope="module")
def live(recognizer: Any) -> Iterator[LiveServer]:
    settings = Settings(models=("printed",), batch_timeout_ms=2)
    with LiveServer(settings, lambda name, threads=None: recognizer) as server:
        yield server


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("server-documents")
    first = compose([LATIN[:2]], heading="A Quiet Town", width=1200).image
    second = compose([LATIN[2:4]], width=1200).image
    Image.fromarray(first).save(folder / "page.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot a picture")
    return {
        "page": folder / "page.png",
        "tiff": multipage_tiff(folder / "fax.tif", [first, second]),
        "pdf": image_pdf(folder / "scan.pdf", [second, first], dpi=150),
        "broken": folder / "broken.png",
    }


def read(*args: object, server: LiveServer | None = None) -> Any:
    where = ["--server", server.url] if server is not None else []
    return CliRunner().invoke(app, ["read", *where, *map(str, args)])


def same_document(got: str, want: str) -> None:
    """``got`` is ``want`` but for its dates and for confidences within rounding."""

    def numbers(text: str) -> list[float]:
        return [float(v) for m in CONFIDENCE.finditer(text) for v in m.group(2).split()]

    def bare(text: str) -> str:
        return DATES.sub(r"\1", CONFIDENCE.sub(r"\1", text))

    assert bare(got) == bare(want)
    assert numbers(got) == pytest.approx(numbers(want), abs=1.0)  # whole percents in hOCR
    small = [(g, w) for g, w in zip(numbers(got), numbers(want), strict=True) if w <= 1]
    # the server's answer is rounded (6 decimals) before the writer rounds it to 4 decimals
    # (double rounding: 0.9979499 is 0.99795 on the wire, then 0.998, not 0.9979)
    assert [g for g, _ in small] == pytest.approx([w for _, w in small], abs=1.01e-4)


@pytest.mark.parametrize("fmt", ["hocr", "alto", "page"])
def test_a_page_read_on_a_server_is_the_document_read_here(
    fmt: str, live: LiveServer, files: dict[str, Path], tmp_path: Path
) -> None:
    there = read("-f", fmt, "--lang", "en", files["page"], server=live)
    here = read("-f", fmt, "--lang", "en", files["page"])
    assert there.exit_code == 0 and here.exit_code == 0, there.output + here.output
    same_document(there.stdout, here.stdout)
    if fmt == "hocr":
        assert hocr_errors(there.stdout, tmp_path) == []
        spans = xml(there.stdout).iterfind(".//h:span", NS)
        assert sum(el.get("class") == "ocrx_word" for el in spans) > 10  # words with boxes
    else:
        assert schema_errors(there.stdout, ALTO_XSD if fmt == "alto" else PAGE_XSD) == []
    assert "quietly" in there.stdout and "Quiet" in there.stdout


def test_documents_of_many_pages_hold_them_all_and_name_a_bad_input(
    live: LiveServer, files: dict[str, Path], tmp_path: Path
) -> None:
    """An image, a 2-page TIFF, a 2-page PDF and a broken file: one ALTO document of the
    5 pages as here (named path#page), the broken file one error line, exit status 1; as
    PAGE-XML, one file per page with the names a read here gives them."""
    inputs = [files["page"], files["tiff"], files["pdf"], files["broken"]]
    there = read("-f", "alto", "--dpi", "150", *inputs, server=live)
    here = read("-f", "alto", "--dpi", "150", *inputs)
    assert there.exit_code == 1 and here.exit_code == 1, there.output
    assert there.stderr.splitlines()[0].startswith(f"error: {files['broken']}: ")
    assert there.stderr.splitlines()[-1] == "1 of 6 inputs could not be read"
    same_document(there.stdout, here.stdout)
    pages = xml(there.stdout).findall(".//alto:Page", NS)
    assert len(pages) == 5
    assert schema_errors(there.stdout, ALTO_XSD) == []
    read("-f", "page", "-o", tmp_path / "there", *inputs[:3], server=live)
    read("-f", "page", "-o", tmp_path / "here", *inputs[:3])
    names = sorted(p.name for p in (tmp_path / "here").iterdir())
    assert names == [
        "fax_p0001.xml",
        "fax_p0002.xml",
        "page.xml",
        "scan_p0001.xml",
        "scan_p0002.xml",
    ]
    assert sorted(p.name for p in (tmp_path / "there").iterdir()) == names
    for name in names:
        same_document(
            (tmp_path / "there" / name).read_text(), (tmp_path / "here" / name).read_text()
        )


@needs_pdftotext
def test_a_searchable_pdf_read_on_a_server_has_the_text_read_here(
    live: LiveServer, files: dict[str, Path], tmp_path: Path
) -> None:
    inputs = [files["page"], files["pdf"]]
    there = read("-f", "pdf", "-o", tmp_path / "there.pdf", "--dpi", "150", *inputs, server=live)
    here = read("-f", "pdf", "-o", tmp_path / "here.pdf", "--dpi", "150", *inputs)
    assert there.exit_code == 0 and here.exit_code == 0, there.output + here.output
    text = pdftotext(tmp_path / "there.pdf")
    assert text == pdftotext(tmp_path / "here.pdf")
    assert text.count("A Quiet Town") == 2 and "Nobody remembered" in text
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "there.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"^Pages:\s+3$", info, re.M), info
    assert (
        info.split("Page size:")[1].split("\n")[0]
        == (
            subprocess.run(
                ["pdfinfo", str(tmp_path / "here.pdf")], capture_output=True, text=True, check=True
            )
            .stdout.split("Page size:")[1]
            .split("\n")[0]
        )
    )


def without_documents(app: Any) -> Any:
    """``app`` as a server older than ``/v1/documents`` answers: 404 there."""

    async def older(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/documents"):
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"detail":"Not Found"}'})
            return
        await app(scope, receive, send)

    return older


def test_a_server_without_documents_is_one_line(
    recognizer: Any, files: dict[str, Path], tmp_path: Path
) -> None:
    """An older server (no /v1/documents): one line naming it, exit status 2, before any
    input is read."""
    settings = Settings(models=("printed",), batch_timeout_ms=2)
    older = LiveServer(settings, lambda name, threads=None: recognizer)
    older.server.config.app = without_documents(older.server.config.app)
    with older:
        for args in (["-f", "alto"], ["-f", "pdf", "-o", tmp_path / "x.pdf"]):
            result = read(*args, files["page"], server=older)
            assert result.exit_code == 2, result.output
            assert "Traceback" not in result.output and len(result.output.splitlines()) == 1
            assert "has no /v1/documents" in result.output
            assert not (tmp_path / "x.pdf").exists()


def test_read_on_a_server_imports_no_opencv(live: LiveServer, files: dict[str, Path]) -> None:
    """The client path stays light: documents listed, rasterised and written (by the
    server), ``--lang`` checked, without OpenCV."""
    code = (
        "import sys; from typer.testing import CliRunner; from lineocr.cli import app; "
        f"r = CliRunner().invoke(app, ['read', '--server', {live.url!r}, '-f', 'alto', "
        f"'--lang', 'en', {str(files['pdf'])!r}]); print(r.exit_code, 'cv2' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.split() == ["0", "False"], done.stdout + done.stderr


def test_the_python_client_writes_documents(live: LiveServer, files: dict[str, Path]) -> None:
    """``OcrClient.document`` and ``searchable_pdf``: the pages ``read`` answers written by
    the server; a bad page is a ClientError with the server's status."""
    from lineocr.serve.client import ClientError, OcrClient

    client = OcrClient(live.url)
    assert client.has_documents() and client.limit("max_document_pages", 0) == 64
    pages = client.read([files["page"]], layout="page")
    alto = client.document(pages, "alto", lang="en")
    assert schema_errors(alto, ALTO_XSD) == [] and "quietly" in alto
    pdf = client.searchable_pdf(pages[0], files["page"], dpi=150)
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(ClientError) as refused:
        client.document([{"lines": []}], "alto")
    assert refused.value.status == 422
