"""Server settings: word lists read the way `lineocr read --lexicon` reads them; image
formats checked against what the server can read."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lineocr.decode import load_lexicon
from lineocr.serve.settings import Settings, SettingsError
from tests.serve_helpers import StubRecognizer, counting_loader, serving


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_named_lexicons_are_read_like_the_cli_reads_them(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("alpha beta\n\ngamma\talpha\n", encoding="utf-8")
    served = Settings(lexicons={"w": str(words)}).lexicon_words()
    assert served == {"w": load_lexicon(words)} == {"w": ("alpha", "beta", "gamma")}


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\xff\xfe\x00bad", "is not UTF-8 text"), (b"  \n\t\n", "has no words")],
)
def test_a_bad_named_lexicon_is_a_settings_error_naming_it(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "words.txt"
    path.write_bytes(content)
    with pytest.raises(SettingsError, match=rf"lexicon 'w': .*{problem}"):
        Settings(lexicons={"w": str(path)}).lexicon_words()


def test_format_names_are_pillows_with_their_aliases() -> None:
    settings = Settings(allowed_formats=("png", "PNM", "pgm", "jpg", "GIF"))
    assert settings.allowed_formats == ("PNG", "PPM", "JPEG", "GIF")
    env = {"LINEOCR_SERVE_ALLOWED_FORMATS": "PNG, PBM"}
    assert Settings.from_env(env).allowed_formats == ("PNG", "PPM")


@pytest.mark.parametrize(
    ("formats", "message"),
    [
        ("PNG,XCF", r"unknown format 'XCF'; accepted: PNG, JPEG, BMP, TIFF, WEBP, GIF, PPM "),
        ("PNG,EPS", r"'EPS' is never served"),
        ("PDF", r"'PDF' is never served"),
        (" , ", r"at least one format"),
    ],
)
def test_a_format_the_server_cannot_read_stops_it_at_start_up(formats: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"LINEOCR_SERVE_ALLOWED_FORMATS": formats})


@pytest.mark.anyio
async def test_pnm_allowed_by_its_alias_reads_a_pgm_upload() -> None:
    pgm = io.BytesIO()
    Image.fromarray(np.full((20, 40), 200, np.uint8)).save(pgm, format="PPM")  # P5: a PGM
    assert pgm.getvalue().startswith(b"P5")
    settings = Settings.from_env(
        {"LINEOCR_SERVE_MODELS": "stub", "LINEOCR_SERVE_ALLOWED_FORMATS": "PNG,PNM"}
    )
    async with serving(settings, counting_loader(StubRecognizer())[0]) as client:
        answer = await client.post("/v1/ocr", files={"files": ("line.pgm", pgm.getvalue())})
        limits = (await client.get("/v1/models")).json()["limits"]
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["text"] == "40x20"
    assert limits["formats"] == ["PNG", "PPM"]


def test_the_pixels_in_flight_hold_at_least_one_request() -> None:
    with pytest.raises(SettingsError, match=r"max_pixels_in_flight .* at least max_request_pixels"):
        Settings(max_request_pixels=60_000_000, max_pixels_in_flight=50_000_000)
    with pytest.raises(SettingsError, match="max_request_pixels must be at least 1"):
        Settings(max_request_pixels=0)
    env = {"LINEOCR_SERVE_MAX_REQUEST_PIXELS": "1000", "LINEOCR_SERVE_MAX_PIXELS_IN_FLIGHT": "4000"}
    settings = Settings.from_env(env)
    assert (settings.max_request_pixels, settings.max_pixels_in_flight) == (1000, 4000)
