"""Fields from forms (issue 34 item 3): values found on a composed form page with their
boxes, absent fields null, named patterns, bad patterns refused clearly; the CLI's
``--extract``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from lineocr.cli import app
from lineocr.fields import (
    FIELD_PATTERNS,
    FieldError,
    _alphabet,
    _line_candidates,
    extract,
    field_decoders,
    field_specs,
    parse_field,
)
from lineocr.page import PageReader
from lineocr.runtime import Recognizer
from tests.pages_helpers import form_page

NUMBER = "29501011234567"
LINES = [
    "APPLICATION FORM",
    "Name: John Smith",
    f"National ID: {NUMBER}",
    "Date of birth: 01/02/1995",
    "Email: john.smith@example.com",
]


@pytest.fixture(scope="module")
def form() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A form page and the box the ID number was drawn in."""
    return form_page(LINES, NUMBER, 520)


@pytest.fixture(scope="module")
def rec() -> Recognizer:
    return Recognizer.load("printed")


@pytest.fixture(scope="module")
def found(form, rec):
    fields = {
        "id": "id",
        "born": "Date of birth: {date}",
        "email": "email",
        "name": r"Name: (?P<value>[A-Za-z ]+)",
        "passport": r"[A-Z]{2}\d{7}",
    }
    return extract(form[0], fields, rec)


def test_id_found_with_its_box(found, form):
    field = found["id"]
    assert field is not None
    assert field.value == NUMBER
    assert field.line == 2
    assert 0.3 < field.confidence <= 1.0
    x0, y0, x1, y1 = form[1]
    # the number's box, not the whole line's (the label "National ID: " lies left of it)
    assert abs(field.box[0] - x0) < 25
    assert abs(field.box[2] - x1) < 25
    assert field.box[1] < y1
    assert field.box[3] > y0


def test_absent_field_is_null(found):
    assert found["passport"] is None


def test_named_patterns_and_value_groups(found):
    assert found["born"] is not None
    assert found["born"].value == "01/02/1995"  # the {date} after the label only
    assert found["email"] is not None
    assert found["email"].value == "john.smith@example.com"
    assert found["name"] is not None
    assert found["name"].value == "John Smith"
    assert found["born"].to_dict().keys() == {"value", "confidence", "box", "line"}


def test_no_id_on_a_page_without_one(form, rec):
    page = form[0].copy()
    page[200:260, :] = 255  # the ID line whitened
    assert extract(page, {"id": "id"}, rec)["id"] is None


def test_arabic_indic_id_returned_with_western_digits(rec):
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 34)
    page = Image.new("L", (900, 300), 255)
    draw = ImageDraw.Draw(page)
    draw.text((60, 60), "Card", font=font, fill=0)
    arabic = NUMBER.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    draw.text((60, 160), arabic, font=font, fill=0)
    field = extract(np.asarray(page), {"id": "id"}, rec)["id"]
    assert field is not None
    assert field.value == NUMBER


def test_read_with_crops_matches_read(form, rec):
    reader = PageReader(rec)
    page, crops = reader.read_with_crops(form[0])
    assert len(crops) == len(page.lines)
    assert [ln.text for ln in reader.read(form[0]).lines] == [ln.text for ln in page.lines]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "(ab"}, "field id: bad pattern '(ab'"),
        ({"id": ""}, "non-empty"),
        ({"1x": "id"}, "field name '1x'"),
        ({"id": "x*"}, "matches empty text"),
        ({}, "no fields"),
    ],
)
def test_bad_fields_refused(fields, message):
    with pytest.raises(FieldError, match=message.replace("(", r"\(")):
        field_specs(fields)


def test_pattern_without_automaton_refused_before_reading(rec):
    with pytest.raises(FieldError, match=r"field x: .*cannot constrain decoding"):
        extract(np.full((10, 10), 255, np.uint8), {"x": r"a\bc"}, rec)


def test_parse_field():
    assert parse_field("id=id") == ("id", "id")
    assert parse_field("n=a=b") == ("n", "a=b")
    with pytest.raises(FieldError, match="NAME=PATTERN"):
        parse_field("id")
    assert set(FIELD_PATTERNS) == {"id", "date", "amount", "phone", "email"}


# -- the CLI ------------------------------------------------------------------------------
runner = CliRunner()


@pytest.fixture(scope="module")
def form_file(form, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fields") / "form.png"
    Image.fromarray(form[0]).save(path)
    return path


def test_cli_extract_jsonl(form_file):
    result = runner.invoke(
        app, ["read", str(form_file), "--extract", "id=id", "--extract", "x=XYZ\\d+", "-f", "jsonl"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fields"]["id"]["value"] == NUMBER
    assert record["fields"]["x"] is None
    assert NUMBER in record["lines"][record["fields"]["id"]["line"]]["text"]


def test_cli_extract_text_and_bad_pattern(form_file):
    result = runner.invoke(app, ["read", str(form_file), "--extract", "id=id"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"id: {NUMBER} (confidence ")
    bad = runner.invoke(app, ["read", str(form_file), "--extract", "id=(ab"])
    assert bad.exit_code == 2
    assert "field id: bad pattern '(ab'" in bad.output
    assert "Traceback" not in bad.output


def test_fields_import_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lineocr.fields\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _card(text: str) -> np.ndarray:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 34)
    page = Image.new("L", (900, 300), 255)
    draw = ImageDraw.Draw(page)
    draw.text((60, 60), "Card", font=font, fill=0)
    draw.text((60, 160), text, font=font, fill=0)
    return np.asarray(page)


@pytest.mark.parametrize("printed", ["2950101  1234567", "2950 1011 2345 67"])
def test_id_printed_in_groups_is_found(rec, printed):
    """A number printed in groups (or tracked wide) reads with spaces inside: its runs of
    digits are joined, and its probability summed over the spaces read there."""
    field = extract(_card(f"ID No. {printed}"), {"id": "id"}, rec)["id"]
    assert field is not None
    assert field.value == NUMBER


def _frames_reading(rec, labels: list[dict[str, float]]) -> np.ndarray:
    """Log-probabilities of a line: per character, one frame with these probabilities
    (the rest blank), then a blank frame."""
    n = len(rec.charset.chars) + 1
    rows = []
    blank = np.full(n, 1e-6)
    blank[0] = 1.0
    for probs in labels:
        row = np.full(n, 1e-6)
        for ch, p in probs.items():
            row[rec.charset.chars.index(ch) + 1] = p
        row[0] = max(1e-6, 1 - sum(probs.values()))
        rows += [row, blank]
    return np.log(np.asarray(rows) / np.sum(rows, axis=1, keepdims=True))


def test_value_with_its_last_digit_read_as_a_letter_is_found(rec):
    """A run of 13 digits touching a letter (the 14th digit read as "م", its second
    reading a 7): the run is read with its neighbour, and the value's probability is the
    7's."""
    spec = field_specs({"id": "id"})[0]
    decoder = field_decoders(rec, [spec])[0]
    line = [{ch: 0.98} for ch in NUMBER[:-1]] + [{"م": 0.6, "7": 0.38}]
    log_probs = _frames_reading(rec, line)
    found = _line_candidates(spec, decoder, rec, log_probs, _alphabet(rec, decoder))
    assert [value for value, _, _ in found] == [NUMBER]
    assert 0.25 < found[0][1] < 0.45


# -- the second look: a field's likeliest line read again in views ------------------------
def _line_crop(text: str) -> np.ndarray:
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 30)
    line = Image.new("L", (40 + round(font.getlength(text)), 56), 255)
    ImageDraw.Draw(line).text((20, 8), text, font=font, fill=0)
    return np.asarray(line)


def test_field_views_are_made_after_the_models_ops_as_tta_makes_them(rec):
    """The views a field's line is read again in are made from the line after the model's
    ops (what ``tta.views`` takes), then scaled to the model's input, as ``read_batch(...,
    tta=True)`` makes them: not from the raw crop, nor put through the ops a second time
    (the bundled model's ``trim`` and ``deskew`` would cut and turn a view again)."""
    from lineocr.decode import log_softmax
    from lineocr.fields import FIELD_VIEWS, _Views
    from lineocr.preprocess import ops_output
    from lineocr.tta import VIEWS, views

    crop = _line_crop(f"ID No. {NUMBER}")
    got = _Views(rec, [crop], 1)([0])[0]
    made = views(ops_output(crop, rec.spec), rec.spec.height, rec.spec.max_width)
    every = dict(zip(VIEWS, made, strict=True))
    no_ops = rec.with_spec(rec.spec.with_ops(()))  # a view is only scaled to the model's height
    expected = no_ops.read_logits([every[name] for name in FIELD_VIEWS], batch_size=1)
    assert len(got) == len(FIELD_VIEWS) == 9
    t = np.float32(rec.temperature)
    for name, log_probs, logits in zip(FIELD_VIEWS, got, expected, strict=True):
        assert log_probs.shape == logits.shape, name
        want = log_softmax(logits.astype(np.float32) / t)
        np.testing.assert_allclose(log_probs, want, atol=1e-4, err_msg=name)


def _spec_and_decoder(rec):
    spec = field_specs({"id": "id"})[0]
    return spec, field_decoders(rec, [spec])[0]


def test_a_digit_one_view_misreads_is_outvoted(rec):
    """The line as read has a 2 misread as a 3 (0.9 sure), as do two of its nine views; the
    seven others read the number right: the mean over the ten readings keeps the number."""
    from lineocr.fields import _best_in_views

    spec, decoder = _spec_and_decoder(rec)
    wrong = NUMBER[:1] + "3" + NUMBER[2:]
    misread = _frames_reading(
        rec,
        [{ch: 0.98} for ch in wrong[:1]]
        + [{"3": 0.9, "2": 0.05}]
        + [{ch: 0.98} for ch in wrong[2:]],
    )
    right = _frames_reading(rec, [{ch: 0.98} for ch in NUMBER])
    in_views = [misread, misread] + [right] * 7
    asked: list[list[int]] = []

    def views(lines):
        asked.append(list(lines))
        return {i: in_views for i in lines}

    best = _best_in_views(spec, decoder, rec, [misread], views)
    assert asked == [[0]]
    assert best is not None and best.value == NUMBER and best.line == 0
    assert 0.5 < best.confidence < 0.56  # 7 of 10 readings, each 0.98 ** 14 = 0.75 sure
    assert best.frames == (0, len(misread))  # where the views read it, on the line's frames


def test_a_value_on_another_line_competes_with_the_viewed_line(rec):
    """The line likeliest to hold the field (0.95) is read again and none of its views reads
    a value: its value's mean falls to 0.1, and the 0.9 value of the line not read again is
    the page's value (the views' average does not throw the other lines away)."""
    from lineocr.fields import _best_in_views

    spec, decoder = _spec_and_decoder(rec)
    other = "1" * 14
    likeliest = _frames_reading(rec, [{ch: 0.9964} for ch in other])  # 0.95 in all
    second = _frames_reading(rec, [{ch: 0.9925} for ch in NUMBER])  # 0.90 in all
    nothing = _frames_reading(rec, [{"a": 0.99}] * 14)

    def views(lines):
        return {i: [nothing] * 9 for i in lines}

    best = _best_in_views(spec, decoder, rec, [second, likeliest], views)
    assert best is not None
    assert (best.value, best.line) == (NUMBER, 0)
    assert 0.85 < best.confidence < 0.95


def test_spaces_read_inside_a_value_are_summed_over_up_to_max_gaps(rec):
    """A number printed in groups, each space read half as a space, half as a blank: its
    probability is summed over a space or none at each (2 ** MAX_GAPS variants at most), so
    a 14-digit number in 4 groups keeps the digits' 0.98 ** 14; past MAX_GAPS spaces each
    one more halves it (the path must take the blank there)."""
    from lineocr.fields import MAX_GAPS, _read_span

    spec, decoder = _spec_and_decoder(rec)
    digits = 0.98**14

    def grouped(groups: list[str]) -> tuple[np.ndarray, tuple[int, ...]]:
        chars: list[dict[str, float]] = []
        gaps = []
        for k, group in enumerate(groups):
            if k:
                chars.append({" ": 0.5})
                gaps.append(sum(map(len, groups[:k])))
            chars += [{ch: 0.98} for ch in group]
        return _frames_reading(rec, chars), tuple(gaps)

    four, gaps = grouped(["2950", "1011", "2345", "67"])
    value, p = _read_span(spec, decoder, rec, four, (0, len(four)), gaps)
    assert value == NUMBER
    assert p == pytest.approx(digits, rel=0.02)
    _, alone = _read_span(spec, decoder, rec, four, (0, len(four)), ())
    assert alone == pytest.approx(digits * 0.5**3, rel=0.05)  # no gap summed: blanks there

    assert MAX_GAPS == 4
    seven, gaps = grouped(["29", "50", "10", "11", "23", "45", "67"])  # 6 spaces
    value, p = _read_span(spec, decoder, rec, seven, (0, len(seven)), gaps)
    assert value == NUMBER
    assert p == pytest.approx(digits * 0.5 ** (6 - MAX_GAPS), rel=0.05)


def test_field_views_skip_the_line_as_cut_and_the_turned_ones():
    from lineocr.fields import FIELD_VIEWS, SKIPPED_VIEWS
    from lineocr.tta import VIEWS

    assert SKIPPED_VIEWS == ("identity", "rotate")
    assert [n for n in VIEWS if n not in FIELD_VIEWS] == ["identity", "rotate:-3", "rotate:3"]
