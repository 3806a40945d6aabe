"""The independent benchmark (benchmarks/independent/): its typesetters draw the lines they
are given, its scan profiles are deterministic, each engine's output is parsed and every
engine is scored alike. Offline: texts here are made up; the real ones are fetched only by
``benchmarks/bench_independent.py``. The typesetters come from scripts/install-system-deps.sh."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from independent import engines, report, texts  # noqa: E402
from independent.degrade import PROFILES, degrade, ink_height  # noqa: E402
from independent.sets import SETS, Scans, Typesetting, page_specs, write_set  # noqa: E402
from independent.typeset import (  # noqa: E402
    GROFF_FAMILIES,
    PANGO_ARABIC_FAMILIES,
    PageSpec,
    TypesetError,
    fontconfig_covers,
    fontconfig_has,
    groff_escape,
    missing_tools,
    parse_bbox_layout,
    typeset_page,
)

LATIN = (
    "It seemed as if all the students united in tracking me.",
    '"No swimming," I said -- twice, in 1906.',
    ".A dot and a back\\slash",
    "Short one.",
)
ARABIC = ("هذا مثال واحد فقط، لكن هناك أمارات أخرى.", "٢٩٠٠١٠١٠١٢٣٤٥٦")
# Every accented letter of the European sets in lines whose lengths differ by 14+.
EUROPEAN = (
    "Ça coûte 12,50 € ; « déjà » -- où ?",
    "Grüße aus Köln: Äpfel, Öl, Übung, Straße, Schäfer und Größe.",
    "¿Qué año? ¡Sí, señor! Niño, acción, Ålborg, Øresund, æble, œuvre.",
    "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ Œ § 20 °C, 3 £",
)


def ink_rows(image: np.ndarray) -> np.ndarray:
    return np.flatnonzero((image < 128).any(axis=1))


def check_crops(crops: list[np.ndarray], lines: tuple[str, ...]) -> None:
    assert len(crops) == len(lines)
    for crop in crops:
        rows = ink_rows(crop)
        assert crop.dtype == np.uint8 and len(rows) > 0
        # A margin all round: no ink on the crop's edges (none of a neighbouring line).
        assert rows[0] > 0 and rows[-1] < crop.shape[0] - 1
        cols = np.flatnonzero((crop < 128).any(axis=0))
        assert cols[0] > 0 and cols[-1] < crop.shape[1] - 1
    # Longer text, wider line (same font and size; the lengths differ by 14+ characters).
    widths = [c.shape[1] for c in crops]
    assert sorted(range(len(lines)), key=lambda i: widths[i]) == sorted(
        range(len(lines)), key=lambda i: len(lines[i])
    )


# -- typesetters -------------------------------------------------------------------------------


def test_system_deps_install_the_typesetters():
    assert missing_tools(["groff", "gs", "pdftoppm", "pdftotext", "pango-view", "fc-match"]) == []
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text()
    for package in ("groff", "ghostscript", "poppler-utils", "pango1.0-tools"):
        assert package in script


@pytest.mark.parametrize("family", ["T", "H", "C"])
def test_groff_draws_each_line_once_with_a_margin(tmp_path, family):
    spec = PageSpec("groff", family, "regular", 11, 150, LATIN)
    crops = typeset_page(spec, tmp_path, "page", np.random.default_rng(0))
    check_crops(crops, LATIN)
    assert family in GROFF_FAMILIES


def test_groff_escape_keeps_the_text_literal():
    assert groff_escape(".TH not a request") == "\\&.TH not a request"
    assert groff_escape("'quoted") == "\\&'quoted"
    assert groff_escape("a\\b") == "a\\eb"
    assert groff_escape("plain") == "plain"


def test_pango_draws_latin_and_right_to_left_arabic(tmp_path):
    assert fontconfig_has("DejaVu Sans")
    assert not fontconfig_has("No Such Family Anywhere")
    rng = np.random.default_rng(0)
    latin = typeset_page(
        PageSpec("pango", "DejaVu Serif", "italic", 10, 200, LATIN), tmp_path, "l", rng
    )
    check_crops(latin, LATIN)
    arabic = typeset_page(
        PageSpec("pango", "DejaVu Sans", "regular", 14, 150, ARABIC, rtl=True), tmp_path, "a", rng
    )
    assert len(arabic) == 2 and all(len(ink_rows(c)) for c in arabic)


def test_european_charset_is_drawn_by_every_face_the_sets_use():
    assert set("".join(EUROPEAN)) <= texts.EUROPEAN_CHARS
    assert set("".join(EUROPEAN)) >= texts.EUROPEAN_LETTERS  # every letter in a test line
    assert fontconfig_covers("DejaVu Serif", texts.EUROPEAN_CHARS)
    assert not fontconfig_covers("DejaVu Serif", "é漢")  # a CJK ideograph it has no glyph for


@pytest.mark.parametrize("renderer, font", [("groff", "T"), ("groff", "C"), ("pango", "Lato")])
def test_accented_lines_are_drawn_with_their_accents(tmp_path, renderer, font):
    # The PDF's own text says which glyphs were set: groff without preconv (-Kutf8) would
    # set UTF-8 bytes as Latin-1 letters ("Ã©"), and drop what its fonts lack.
    spec = PageSpec(renderer, font, "regular", 10, 150, EUROPEAN)
    crops = typeset_page(spec, tmp_path, "page", np.random.default_rng(0))
    check_crops(crops, EUROPEAN)
    drawn = subprocess.run(
        ["pdftotext", str(tmp_path / "page.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert [" ".join(line.split()) for line in drawn.splitlines() if line.strip()] == [
        " ".join(line.split()) for line in EUROPEAN
    ]


def test_a_page_whose_lines_the_pdf_does_not_match_is_refused(tmp_path):
    # An empty line gives no text box: the page's lines could not be told apart.
    spec = PageSpec("groff", "T", "regular", 11, 150, ("one line", "", "another line"))
    with pytest.raises(TypesetError, match="2 line boxes in the PDF for 3 lines"):
        typeset_page(spec, tmp_path, "page", np.random.default_rng(0))


def test_bbox_layout_pieces_of_one_line_are_merged():
    xhtml = """<doc><page width="600" height="800">
      <line xMin="300" yMin="50" xMax="400" yMax="62"><word>b</word></line>
      <line xMin="72" yMin="50.5" xMax="250" yMax="62.5"><word>a</word></line>
      <line xMin="72" yMin="80" xMax="200" yMax="92"><word>c</word></line>
    </page><page width="600" height="800">
      <line xMin="72" yMin="20" xMax="90" yMax="30"><word>d</word></line>
    </page></doc>"""
    pages = parse_bbox_layout(xhtml)
    assert pages == [
        [(72.0, 50.0, 400.0, 62.5), (72.0, 80.0, 200.0, 92.0)],
        [(72.0, 20.0, 90.0, 30.0)],
    ]


# -- degradations ------------------------------------------------------------------------------


def sample_line() -> np.ndarray:
    image = np.full((60, 300), 255, np.uint8)
    image[20:42, 20:280:9] = 0  # vertical strokes, 22 pixels tall
    image[20:23, 20:280] = 0
    return image


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_profiles_are_deterministic(profile):
    image = sample_line()
    first = degrade(image, profile, seed=7, index=3)
    again = degrade(image, profile, seed=7, index=3)
    assert first.dtype == np.uint8 and first.ndim == 2
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(image, sample_line())  # the input is left alone
    if profile != "clean":
        assert not np.array_equal(first, image)


def test_profiles_scale_with_the_text_not_the_margin():
    image = sample_line()
    assert ink_height(image) == 22
    assert ink_height(np.full((10, 10), 255, np.uint8)) == 10  # blank: the image's height
    small = degrade(image, "small", seed=1, index=0)
    assert 11 <= ink_height(small) <= 17
    tiny = np.pad(sample_line()[18:44:3, ::3], 2, constant_values=255)
    assert degrade(tiny, "small", seed=1, index=0).shape == tiny.shape  # never enlarged
    assert degrade(image, "skew", seed=1, index=0).shape[0] > image.shape[0]


# -- texts -------------------------------------------------------------------------------------


GUTENBERG = """The Project Gutenberg header.
*** START OF THIS PROJECT GUTENBERG EBOOK SOMETHING ***

First paragraph, it
goes on here.

Second "paragraph" -- with 30 feet.
*** END OF THIS PROJECT GUTENBERG EBOOK SOMETHING ***
Licence text."""


def test_text_sources_are_named_for_the_training_side():
    keys = [s.key for s in texts.BENCH_TEXT_SOURCES]
    assert len(keys) == len(set(keys)) and {"botchan", "debian-handbook-ar"} <= set(keys)
    doc = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert "BENCH_TEXT_SOURCES" in doc
    for source in texts.BENCH_TEXT_SOURCES:
        assert source.licence and source.fetched_from


def test_paragraphs_and_their_cleaning():
    assert texts.gutenberg_paragraphs(GUTENBERG) == [
        "First paragraph, it goes on here.",
        'Second "paragraph" -- with 30 feet.',
    ]
    assert texts.latin_text("It’s “so” — yes…") == 'It\'s "so" -- yes...'
    assert texts.latin_text("Raphaël") is None
    assert texts.arabic_text("مُثبّتٌ  في ـالنظام") == "مثبت في النظام"
    assert texts.latin_line_ok("A sentence, with 2 numbers (and 3).")
    assert not texts.latin_line_ok("see /etc/apt/sources.list for it")
    assert texts.arabic_line_ok("هذا مثال، واحد فقط.")
    assert not texts.arabic_line_ok("ثبّت الحزمة apt-get")


def test_european_text_keeps_accents_and_writes_punctuation_plainly():
    got = texts.european_text("L’été : « déjà » — „so“ … 5 €")
    assert got == 'L\'été : « déjà » -- "so" ... 5 €'
    assert texts.european_text("Café ¿sí? Œuvre, 3 °C, § 2") == "Café ¿sí? Œuvre, 3 °C, § 2"
    for other in ("a → b", "L'Haÿ-les-Roses", "Ελλάδα", "x × y"):
        assert texts.european_text(other) is None, other


REFERENCE_HTML = """<html><body><div class="section">
<p>Le système <span class="command">apt-get</span>(8) est l&#8217;outil de
  base&nbsp;; il gère les dépendances.</p>
<p>This paragraph was never translated.</p>
<table><tr><td><p>nom</p></td></tr></table>
</div></body></html>"""


def test_reference_paragraphs_and_untranslated_ones(tmp_path):
    (tmp_path / "ch01.fr.html").write_text(REFERENCE_HTML, encoding="utf-8")
    (tmp_path / "ch01.en.html").write_text(
        "<p>The system.</p><p>This paragraph was never translated.</p>", encoding="utf-8"
    )
    french = texts.reference_paragraphs(tmp_path, "fr")
    assert french == [
        "Le système apt-get(8) est l’outil de base ; il gère les dépendances.",
        "This paragraph was never translated.",
        "nom",
    ]
    kept = texts.translated(french, texts.reference_paragraphs(tmp_path, "en"))
    assert [texts.european_text(p) for p in kept] == [
        "Le système apt-get(8) est l'outil de base ; il gère les dépendances.",
        "nom",
    ]


def test_mixed_lines_take_each_language_in_turn():
    french = "Le système gère les dépendances et installe les paquets nécessaires à la tâche. " * 3
    german = "Das System löst Abhängigkeiten auf und installiert die nötigen Pakete für Sie. " * 3
    groups = [
        ("fr", [french + str(i) for i in range(4)]),
        ("de", [german + str(i) for i in range(4)]),
    ]
    a = texts.mixed_lines(groups, 7, np.random.default_rng(3), texts.latin_line_ok, (30, 40))
    assert a == texts.mixed_lines(
        groups, 7, np.random.default_rng(3), texts.latin_line_ok, (30, 40)
    )
    assert [tag for _, tag in a] == ["fr", "de", "fr", "de", "fr", "de", "fr"]
    paragraphs = dict(groups)
    for line, tag in a:
        assert 18 <= len(line) <= 40 and any(line in p for p in paragraphs[tag]), line
    assert any("é" in line for line, tag in a if tag == "fr")
    assert any("ö" in line or "ä" in line for line, tag in a if tag == "de")


def test_prose_lines_are_deterministic_full_lines_of_the_paragraphs():
    words = [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
    ]
    paragraphs = [" ".join((words[i:] + words[:i]) * 3) for i in range(8)]
    a = texts.prose_lines(paragraphs, 10, np.random.default_rng(5), texts.latin_line_ok, (20, 30))
    b = texts.prose_lines(paragraphs, 10, np.random.default_rng(5), texts.latin_line_ok, (20, 30))
    assert a == b and len(a) == 10 and len(set(a)) == 10
    assert all(12 <= len(line) <= 30 and any(line in p for p in paragraphs) for line in a)
    assert texts.wrap(["aa", "bb", "cc", "dd"], 5) == ["aa bb", "cc dd"]
    assert texts.interleave([1, 2, 3], ["a"]) == [1, "a", 2, 3]


def test_national_ids():
    ids = texts.national_ids(20, np.random.default_rng(1))
    assert ids == texts.national_ids(20, np.random.default_rng(1))
    assert all(len(n) == 14 and set(n) <= set(texts.ARABIC_INDIC) for n in ids)
    assert all(n[0] in "٢٣" for n in ids)


def test_sets_are_built_from_pages_and_profiles(tmp_path):
    lines = [f"line {i}" for i in range(23)]
    how = Typesetting("groff", ["T", "H"], (10, 12), (150, 300))
    specs = page_specs(lines, how, np.random.default_rng(0))
    assert [len(s.lines) for s in specs] == [10, 10, 3]
    assert [line for spec in specs for line in spec.lines] == lines
    images = [(sample_line(), specs[0]) for _ in range(3)]
    labels = [(line, "src") for line in lines[:3]]
    line_set = write_set(SETS[0], tmp_path, images, labels, Scans(("clean", "jpeg"), 1))
    assert [r["profile"] for r in line_set.records] == ["clean", "jpeg", "clean"]
    assert line_set.references == lines[:3] and all(p.is_file() for p in line_set.paths)
    saved = [json.loads(x) for x in (tmp_path / "lines.jsonl").read_text().splitlines()]
    assert saved == line_set.records
    assert line_set.languages == ["", "", ""]
    # A set that knows each line's language keeps it.
    labelled = [("Été", "src", "fr"), ("Größe", "src", "de")]
    known = write_set(SETS[0], tmp_path / "eu", images[:2], labelled, Scans(("clean",), 1))
    assert known.languages == ["fr", "de"] and known.references == ["Été", "Größe"]


# -- engines' output ---------------------------------------------------------------------------


def test_lineocr_jsonl_is_parsed_in_input_order():
    paths = [Path("/x/a.png"), Path("/x/b.png"), Path("/x/c.png")]
    out = "\n".join(
        [
            json.dumps({"path": "/x/c.png", "text": "C", "confidence": 0.9}),
            json.dumps({"path": "/x/a.png", "text": "A"}),
            json.dumps({"path": "/x/b.png", "error": "cannot read"}),
        ]
    )
    assert engines.parse_lineocr_jsonl(out, paths) == (["A", "", "C"], 1)


def test_tesseract_pages_are_split_on_the_separator():
    sep = engines.PAGE_SEPARATOR
    out = f"first  line\n\n{sep}second\nline\n{sep}"
    assert engines.parse_tesseract_pages(out, 2) == ["first line", "second line"]
    assert engines.parse_tesseract_pages(f"a{sep}b", 2) == ["a", "b"]
    assert engines.parse_tesseract_pages(f"a{sep}b{sep}c", 2) is None


def test_peer_output_is_parsed_by_index():
    out = '{"i": 1, "text": "B"}\n{"i": 0, "error": "boom"}\n{"i": 7, "text": "x"}\n'
    assert engines.parse_peer_jsonl(out, 3) == (["", "B", ""], 2)


@pytest.fixture(scope="module")
def drawn_lines(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drawn")
    lines = LATIN[:2]
    crops = typeset_page(
        PageSpec("groff", "T", "regular", 12, 300, lines), folder, "p", np.random.default_rng(2)
    )
    paths = []
    for i, crop in enumerate(crops):
        from PIL import Image

        paths.append(folder / f"{i}.png")
        Image.fromarray(crop).save(paths[-1])
    return folder, paths, list(lines)


def test_lineocr_and_tesseract_read_drawn_lines(drawn_lines):
    folder, paths, lines = drawn_lines
    for engine in (engines.Lineocr("printed"), engines.Tesseract("eng")):
        if engine.skip_reason():
            pytest.fail(f"{engine.key}: {engine.skip_reason()}")
        run = engine.read(paths, folder, cores=1)
        assert run.failed == 0 and len(run.texts) == 2
        assert report.score(lines, run.texts).cer < 0.2, (engine.key, run.texts)


@pytest.mark.skipif(
    not engines.PEERS_PYTHON.is_file(), reason="no peers environment (make bench-peers)"
)
def test_rapidocr_reads_drawn_lines(drawn_lines):
    folder, paths, lines = drawn_lines
    run = engines.Peer("rapidocr", "en").read(paths, folder, cores=1)
    assert run.failed == 0 and report.score(lines, run.texts).cer < 0.2, run.texts


def test_tesseract_reads_each_line_in_its_own_language(tmp_path):
    lines = EUROPEAN[1:3]  # German, then Spanish
    crops = typeset_page(
        PageSpec("pango", "DejaVu Serif", "regular", 12, 300, lines),
        tmp_path,
        "p",
        np.random.default_rng(2),
    )
    from PIL import Image

    paths = []
    for i, crop in enumerate(crops):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(crop).save(paths[-1])
    by_line = engines.Tesseract(engines.BY_LINE)
    assert by_line.skip_reason() is None, by_line.skip_reason()
    run = by_line.read(paths, tmp_path, 1, ["de", "es"])
    assert run.failed == 0 and report.score(list(lines), run.texts).cer < 0.05, run.texts
    assert sorted(p.name for p in tmp_path.glob("tesseract-*.txt")) == [
        "tesseract-deu-0.txt",
        "tesseract-spa-0.txt",
    ]
    with pytest.raises(ValueError, match="each line's language"):
        by_line.read(paths, tmp_path, 1)
    with pytest.raises(ValueError, match="'xx'"):
        by_line.read(paths, tmp_path, 1, ["de", "xx"])
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text()
    for code in by_line.needed():
        assert f"tesseract-ocr-{code}" in script


def test_a_missing_peer_environment_is_a_reason_to_skip(tmp_path):
    assert "make bench-peers" in engines.Peer("rapidocr", "en", tmp_path / "python").skip_reason()
    assert engines.Tesseract("eng", "no-such-tesseract").skip_reason()


# -- scoring and report ------------------------------------------------------------------------


def test_one_normalisation_for_every_engine():
    assert report.normalize("  It’s “fine” — ﬁne\u200f  ") == 'It\'s "fine" -- fine'
    assert report.normalize("رقم ٢٩٠٠١ ۴") == "رقم 29001 4"
    assert report.normalize("مُثبّت") == "مثبت"
    assert report.normalize("a،b") == "a،b"  # the Arabic comma stays itself
    # Accents, ligature and guillemets are letters and signs of their own; a decomposed
    # accent is the same letter as the composed one.
    assert report.normalize("Été « déjà » Größe año œuvre Ø") == "Été « déjà » Größe año œuvre Ø"
    assert report.normalize("Café") == "Café" and report.normalize("é") != "e"
    s = report.score(["It's one.", "two"], ["It’s one.", "tvo"])
    assert (s.exact_match, s.char_errors, s.chars) == (0.5, 1, 12)


def test_markdown_and_splice(tmp_path):
    result = {
        "label": "lineocr `printed`", "cer": 0.01, "wer": 0.05, "exact_match": 0.9,
        "lines_per_s": 100.0, "failed": 0,
        "by_profile": {"clean": {"cer": 0.0}, "jpeg": {"cer": 0.02}},
    }  # fmt: skip
    rep = {
        "date": "2026-12-07", "command": "python benchmarks/bench_independent.py", "cores": 2,
        "machine": {"cpu": "CPU", "logical_cpus": 2, "python": "3.11", "onnxruntime": "1.0"},
        "engines": [{"label": "lineocr `printed`", "version": "0.1.0"}],
        "engines_skipped": [{"label": "easyocr:en", "reason": "not installed"}],
        "sets": [{"title": "Latin", "lines": 10, "profiles": {"clean": 5, "jpeg": 5},
                  "results": [result]}],
    }  # fmt: skip
    md = report.markdown(rep)
    assert "| Latin | 10 | lineocr `printed` | 1.00 % | 5.00 % | 90.00 % | 100.0 |" in md
    assert "easyocr:en: not installed" in md and "| clean (5) | jpeg (5) |" in md
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\nkept\n", encoding="utf-8")
    report.splice(doc, "first")
    report.splice(doc, "second")
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nkept\n") and "second" in text and "first" not in text
    assert text.count(report.START) == 1


def test_the_benchmark_names_missing_tools(monkeypatch, capsys):
    import bench_independent

    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert bench_independent.main(["--set", "latin-groff", "--out", "/nonexistent"]) == 2
    assert "groff" in capsys.readouterr().err


def test_a_candidate_model_reads_what_the_printed_model_reads(tmp_path):
    import bench_independent

    candidate = tmp_path / "printed-new.onnx"
    candidate.write_bytes(b"")
    got = bench_independent.with_models(bench_independent.ENGINES_BY_KIND, [f"new={candidate}"])
    for kind, listed in got.items():
        keys = [e.key for e in listed]
        assert ("lineocr:new" in keys) == ("lineocr:printed" in keys), kind
    latin = [e.key for e in got["latin"]]
    assert latin.index("lineocr:new") == latin.index("lineocr:printed-fast") + 1
    (new,) = (e for e in got["latin"] if e.key == "lineocr:new")
    assert isinstance(new, engines.Lineocr) and new.model == str(candidate.resolve())
    for bad in ("new", "=x.onnx", f"new={tmp_path / 'missing.onnx'}"):
        with pytest.raises(ValueError, match="--model"):
            bench_independent.with_models(bench_independent.ENGINES_BY_KIND, [bad])


# The opening of Pride and Prejudice (Jane Austen, 1813; public domain), which no training
# corpus holds: prose with its quotes, capitals and punctuation, typeset by groff.
AUSTEN = """It is a truth universally acknowledged, that a single man in possession
of a good fortune, must be in want of a wife. However little known the
feelings or views of such a man may be on his first entering a
neighbourhood, this truth is so well fixed in the minds of the
surrounding families, that he is considered as the rightful property
of some one or other of their daughters. "My dear Mr. Bennet," said
his lady to him one day, "have you heard that Netherfield Park is let
at last?" Mr. Bennet replied that he had not. "But it is," returned
she; "for Mrs. Long has just been here, and she told me all about it."
Mr. Bennet made no answer. "Do you not want to know who has taken it?"
cried his wife impatiently. "You want to tell me, and I have no
objection to hearing it." This was invitation enough. "Why, my dear,
you must know, Mrs. Long says that Netherfield is taken by a young man
of large fortune from the north of England; that he came down on
Monday in a chaise and four to see the place, and was so much
delighted with it, that he agreed with Mr. Morris immediately; that he
is to take possession before Michaelmas, and some of his servants are
to be in the house by the end of next week." "What is his name?"
"Bingley." "Is he married or single?" "Oh! Single, my dear, to be
sure! A single man of large fortune; four or five thousand a year.
What a fine thing for our girls!" "How so? How can it affect them?"
"My dear Mr. Bennet," replied his wife, "how can you be so tiresome!
You must know that I am thinking of his marrying one of them." "Is
that his design in settling here?" "Design! Nonsense, how can you""".splitlines()
# Measured 2026-12-08 with the bundled printed (int8) on this machine (AVX-512 VNNI): CER
# 0.34 %, 81 % exact on these 48 lines. The bounds leave a wide margin for CPUs without
# VNNI (tests/test_cpu_classes.py checks that the bundled files compute alike on both).
AUSTEN_MAX_CER = 0.015
AUSTEN_MIN_EXACT = 0.6


def test_the_bundled_printed_model_reads_independently_typeset_prose(tmp_path):
    """A statistical check of the bundled model on lines it did not draw: 24 lines of
    prose, typeset by groff in Times and Helvetica at 300 dpi."""
    specs = [
        PageSpec("groff", face, "regular", size, 300, tuple(AUSTEN))
        for face, size in (("T", 12), ("H", 11))
    ]
    lines, texts = _typeset_and_read(specs, tmp_path)
    scores = report.score(lines, texts)
    assert scores.cer <= AUSTEN_MAX_CER and scores.exact_match >= AUSTEN_MIN_EXACT, (
        scores,
        [(r, h) for r, h in zip(lines, texts, strict=True) if r != h],
    )


def _typeset_and_read(specs: list[PageSpec], folder: Path) -> tuple[list[str], list[str]]:
    """Each spec's page typeset and cut into its lines (all of them found), the lines read
    by the bundled printed model (none failing): the reference and read texts, in order."""
    from PIL import Image

    paths, lines = [], []
    for k, spec in enumerate(specs):
        crops = typeset_page(spec, folder, f"p{k}", np.random.default_rng(k))
        assert len(crops) == len(spec.lines)
        for i, crop in enumerate(crops):
            paths.append(folder / f"{k}-{i}.png")
            Image.fromarray(crop).save(paths[-1])
            lines.append(spec.lines[i])
    run = engines.Lineocr("printed").read(paths, folder, cores=1)
    assert run.failed == 0
    return lines, run.texts


# Measured 2026-12-08 with the bundled printed (int8, AVX-512 VNNI): CER 5.4 %, 62.5 % exact
# on these 24 lines (6 sentences x 4 faces); few lines, so the bounds are wide.
ARABIC_MAX_CER = 0.12
ARABIC_MIN_EXACT = 0.35


def test_the_bundled_printed_model_reads_independently_typeset_arabic(tmp_path):
    """The same check on Arabic: six sentences (tests/pages_helpers.ARABIC, written for the
    tests) shaped by Pango/HarfBuzz in the first four Arabic faces installed of the
    independent sets' list, 14 pt at 300 dpi."""
    from tests.pages_helpers import ARABIC

    faces = [f for f in PANGO_ARABIC_FAMILIES if fontconfig_has(f)][:4]
    assert len(faces) == 4, faces
    specs = [PageSpec("pango", f, "regular", 14, 300, tuple(ARABIC), rtl=True) for f in faces]
    lines, texts = _typeset_and_read(specs, tmp_path)
    scores = report.score(lines, texts)
    assert scores.cer <= ARABIC_MAX_CER and scores.exact_match >= ARABIC_MIN_EXACT, scores
