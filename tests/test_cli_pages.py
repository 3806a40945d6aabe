"""`lineocr read --layout`: pages read as pages, line images exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr.cli import app
from lineocr.runtime import Recognizer
from tests.pages_helpers import LATIN, compose
from tests.render import render

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pages")
    page = compose([LATIN[:4], LATIN[4:8]], heading="A Quiet Town")
    paths = {
        "page": root / "page.png",
        "line": root / "line.png",
        "tall": root / "tall.png",
        "bad": root / "bad.png",
    }
    Image.fromarray(page.image).save(paths["page"])
    Image.fromarray(render(LATIN[0], size=28)).save(paths["line"])
    Image.fromarray(render(LATIN[1], size=120)).save(paths["tall"])  # one big line
    paths["bad"].write_bytes(b"not a png")
    return paths


def read(*args: object):
    return runner.invoke(app, ["read", "-m", "printed", *map(str, args)])


def test_page_text_blocks_separated_by_a_blank_line(files) -> None:
    result = read(files["page"])
    assert result.exit_code == 0, result.output
    blocks = result.stdout.rstrip("\n").split("\n\n")
    assert [len(b.splitlines()) for b in blocks] == [1, 4, 4]
    assert blocks[0] == "A Quiet Town"
    assert blocks[1].splitlines()[0] == LATIN[0]


def test_page_jsonl_shape(files) -> None:
    result = read("--format", "jsonl", "--layout", "page", files["page"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert set(record) >= {"path", "text", "confidence", "lines", "rotation"}
    assert record["path"] == str(files["page"]) and record["rotation"] == 0
    assert len(record["lines"]) == 9
    assert record["text"] == "\n".join(ln["text"] for ln in record["lines"])
    first = record["lines"][0]
    assert set(first) >= {"text", "confidence", "box", "polygon", "block"}
    assert len(first["box"]) == 4 and len(first["polygon"]) == 4
    assert [ln["block"] for ln in record["lines"]] == [0] + [1] * 4 + [2] * 4


@pytest.mark.parametrize("key", ["line", "tall"])
def test_line_image_reads_as_before_under_auto(files, key) -> None:
    expected = Recognizer.load("printed").read_batch([files[key]], batch_size=16)[0]
    for layout in ("auto", "line"):
        result = read("--format", "jsonl", "--layout", layout, files[key])
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)
        assert record == json.loads(json.dumps({"path": str(files[key]), **expected.to_dict()}))


def test_bad_input_named_and_the_rest_read(files) -> None:
    result = read(files["bad"], files["page"], files["line"])
    assert result.exit_code == 1
    assert f"error: {files['bad']}:" in result.stderr
    assert "A Quiet Town" in result.stdout and LATIN[0] in result.stdout


def test_a_wide_line_in_pieces_is_a_line_and_stacked_lines_a_page() -> None:
    """Under --layout auto a tall but wide image is a page only if its lines lie one above
    another: large print that falls apart into pieces side by side (an Arabic line into
    its words and dots did, and was read as a 13-line page) stays one line."""
    import numpy as np

    from lineocr.commands.read import LayoutMode, is_page

    recognizer = Recognizer.load("printed")

    def word(image: np.ndarray, top: int, left: int, height: int) -> None:
        for x in range(left, left + 90, 15):  # strokes, 6 px wide, as print has
            image[top : top + height, x : x + 6] = 20

    pieces = np.full((220, 2600), 245, np.uint8)
    for i, x in enumerate(range(40, 2400, 400)):  # gaps wider than the layout bridges
        word(pieces, 50 + 5 * i, x, 110)
    assert not is_page(pieces, recognizer, LayoutMode.auto)
    stacked = np.full((420, 1400), 245, np.uint8)
    for top in (40, 240):
        for x in range(40, 1300, 140):
            word(stacked, top, x, 110)
    assert is_page(stacked, recognizer, LayoutMode.auto)
