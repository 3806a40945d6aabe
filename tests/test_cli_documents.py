"""`lineocr read --format hocr|alto|page` with the bundled model: pages (two blocks) and a
line image gathered into valid documents holding what was read; `--output`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image
from typer.testing import CliRunner

from lineocr.cli import app
from tests.format_validators import ALTO_XSD, NS, PAGE_XSD, hocr_errors, schema_errors, xml
from tests.pages_helpers import ARABIC, LATIN, compose
from tests.render import render

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("documents")
    paths = {
        "page": root / "page.png",
        "line": root / "line.png",
        "arabic": root / "arabic.png",
        "bad": root / "bad.png",
    }
    Image.fromarray(compose([LATIN[:3], LATIN[3:6]]).image).save(paths["page"])
    Image.fromarray(render(LATIN[6], size=28)).save(paths["line"])
    Image.fromarray(compose([ARABIC[:2], ARABIC[2:4]], rtl=True).image).save(paths["arabic"])
    paths["bad"].write_bytes(b"not a png")
    return paths


def read(*args: object):
    return runner.invoke(app, ["read", "-m", "printed", *map(str, args)])


@pytest.fixture(scope="module")
def jsonl(files) -> list[dict]:
    result = read("-f", "jsonl", files["page"], files["line"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_alto_of_a_page_and_a_line(files, jsonl, tmp_path: Path) -> None:
    result = read("-f", "alto", files["page"], files["line"])
    assert result.exit_code == 0, result.output
    assert schema_errors(result.stdout, ALTO_XSD) == []
    root = xml(result.stdout)
    pages = root.findall(".//alto:Page", NS)
    assert len(pages) == 2
    assert len(pages[0].findall(".//alto:TextBlock", NS)) == 2  # the two columns
    lines = [
        " ".join(s.get("CONTENT") for s in ln.findall("alto:String", NS))
        for ln in pages[0].findall(".//alto:TextLine", NS)
    ]
    assert lines == [ln["text"] for ln in jsonl[0]["lines"]]  # the same lines, in order
    line_page = pages[1].find(".//alto:TextLine", NS)
    width, height = Image.open(files["line"]).size
    assert (line_page.get("WIDTH"), line_page.get("HEIGHT")) == (str(width), str(height))
    assert (
        " ".join(s.get("CONTENT") for s in line_page.findall("alto:String", NS)) == jsonl[1]["text"]
    )


def _bbox(title: str) -> tuple[int, ...]:
    return tuple(int(v) for v in title.split(";")[0].split()[1:5])


def test_hocr_to_a_file_and_page_xml_to_a_folder(files, jsonl, tmp_path: Path) -> None:
    out = tmp_path / "doc.hocr"
    result = read("-f", "hocr", "-o", out, files["page"], files["line"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert hocr_errors(out.read_text(encoding="utf-8"), tmp_path) == []
    tree = etree.fromstring(out.read_bytes(), etree.HTMLParser())
    first_page = tree.xpath("//*[@class='ocr_page']")[0]
    lines = first_page.xpath(".//*[@class='ocr_line']")
    # Each line's words, with the boxes the jsonl gives them.
    words = [
        [(w.text, list(_bbox(w.get("title")))) for w in ln.xpath(".//*[@class='ocrx_word']")]
        for ln in lines
    ]
    assert words == [[(w["text"], w["box"]) for w in ln["words"]] for ln in jsonl[0]["lines"]]
    assert [" ".join(t for t, _ in line) for line in words] == [
        ln["text"] for ln in jsonl[0]["lines"]
    ]
    # The line image is a page of one line, its words placed on it too.
    line_words = tree.xpath("//*[@class='ocr_page']")[1].xpath(".//*[@class='ocrx_word']")
    assert " ".join(w.text for w in line_words) == jsonl[1]["text"]
    width, height = Image.open(files["line"]).size
    for word in line_words:
        x0, y0, x1, y1 = _bbox(word.get("title"))
        assert 0 <= x0 < x1 <= width and (y0, y1) == (0, height)

    folder = tmp_path / "page-xml"
    result = read("-f", "page", "-o", folder, files["page"], files["line"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["line.xml", "page.xml"]
    page_xml = (folder / "page.xml").read_text(encoding="utf-8")
    assert schema_errors(page_xml, PAGE_XSD) == []
    regions = xml(page_xml).findall(".//pc:TextRegion", NS)
    assert len(regions) == 2
    boxes = [ln["box"] for ln in jsonl[0]["lines"]]
    coords = [
        [tuple(map(int, p.split(","))) for p in c.get("points").split()]
        for c in xml(page_xml).findall(".//pc:TextLine/pc:Coords", NS)
    ]
    for box, points in zip(boxes, coords, strict=True):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        assert abs(min(xs) - box[0]) <= 1 and abs(min(ys) - box[1]) <= 1


def test_arabic_page_read_right_to_left(files) -> None:
    result = read("-f", "page", "--lang", "ar", files["arabic"])
    assert result.exit_code == 0, result.output
    assert schema_errors(result.stdout, PAGE_XSD) == []
    page = xml(result.stdout).find("pc:Page", NS)
    assert page.get("readingDirection") == "right-to-left"
    assert page.get("primaryScript") == "Arab - Arabic"
    assert page.get("primaryLanguage") == "Arabic"


def test_page_xml_of_several_inputs_needs_a_folder(files) -> None:
    result = read("-f", "page", files["page"], files["line"])
    assert result.exit_code == 2
    assert "one page per file" in result.stderr and "--output DIR" in result.stderr


def test_a_bad_input_is_named_and_the_document_holds_the_rest(files) -> None:
    result = read("-f", "alto", files["bad"], files["line"])
    assert result.exit_code == 1
    assert f"error: {files['bad']}" in result.stderr
    assert schema_errors(result.stdout, ALTO_XSD) == []
    assert len(xml(result.stdout).findall(".//alto:Page", NS)) == 1


def test_output_file_for_text_formats(files, tmp_path: Path) -> None:
    out = tmp_path / "lines.tsv"
    result = read("-f", "tsv", "--layout", "line", "-o", out, files["line"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8").startswith(f"{files['line']}\t")


def test_bad_lang_and_output_refused_before_reading(files, tmp_path: Path) -> None:
    result = read("-f", "hocr", "--lang", "not a tag", files["line"])
    assert result.exit_code == 2 and "--lang" in result.stderr
    result = read("-f", "alto", "-o", tmp_path, files["line"])  # a folder, not a file
    assert result.exit_code == 2 and "is a directory" in result.stderr
