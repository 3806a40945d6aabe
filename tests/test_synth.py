"""Synthetic lines: determinism, presets, no tofu, Arabic order, dataset formats, CLI, streaming."""

from __future__ import annotations

import copy
import json
import re
import string
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lineocr.charset import TATWEEL, base_direction, to_visual
from lineocr.cli import app
from lineocr.data import corpora, degrade
from lineocr.data.fonts import (
    FontCache,
    FontError,
    family_split,
    fonts_split,
    load_faces,
    normalize_family,
)
from lineocr.data.synth import (
    LANGS,
    STYLES,
    LineSynthesizer,
    SynthConfig,
    SynthError,
    parse_synth_spec,
)
from lineocr.data.synth_output import (
    WriteOptions,
    contact_sheet,
    replay_settings,
    write_dataset,
)

FONTS = Path("/usr/share/fonts/truetype")
DEJAVU = FONTS / "dejavu/DejaVuSans.ttf"
LIBERATION = FONTS / "liberation/LiberationSans-Regular.ttf"
NASKH = FONTS / "noto/NotoNaskhArabic-Regular.ttf"
NADA = FONTS / "fonts-arabeyes/ae_Nada.ttf"

needs = pytest.mark.skipif(
    not (DEJAVU.is_file() and LIBERATION.is_file() and NASKH.is_file()),
    reason="system fonts missing: run scripts/install-system-deps.sh",
)
pytestmark = needs


@pytest.fixture(scope="module")
def synths() -> dict[str, LineSynthesizer]:
    """One synthesizer per language (font checks are the slow part; done once)."""
    return {lang: LineSynthesizer(SynthConfig(lang=lang), seed=7) for lang in LANGS}


def ink_columns(img: np.ndarray) -> np.ndarray:
    return np.flatnonzero((255 - img.astype(int)).max(axis=0) > 96)


# -- configuration and spec ---------------------------------------------------------------
def test_config_round_trips_and_rejects_unknown_keys():
    cfg = SynthConfig(lang="arabic", style="photo", min_chars=3, degrade=())
    assert SynthConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.max_chars == 40 and cfg.diacritics == 0.1  # language defaults are recorded
    with pytest.raises(SynthError, match="unknown synth config keys"):
        SynthConfig.from_dict({**cfg.to_dict(), "colour": "red"})
    with pytest.raises(SynthError, match="unknown lang"):
        SynthConfig(lang="klingon")
    with pytest.raises(SynthError, match="unknown style"):
        SynthConfig(style="watercolour")
    with pytest.raises(SynthError, match="cannot draw Arabic"):
        SynthConfig(lang="arabic", style="captcha")
    with pytest.raises(SynthError, match="min_chars"):
        SynthConfig(min_chars=9, max_chars=3)
    with pytest.raises(SynthError, match="unknown degradation"):
        SynthConfig(degrade=("smudge:p=1",))


@pytest.mark.parametrize(
    ("spec", "lang", "ratio", "style"),
    [
        ("arabic:0.5", "arabic", 0.5, "scan"),
        ("latin", "latin", 0.5, "scan"),
        ("captcha:1.0", "captcha", 1.0, "captcha"),
        ("mixed:0.3:scan", "mixed", 0.3, "scan"),
        ("digits:photo", "digits", 0.5, "photo"),
        (" arabic-digits : 0.25 : blurred ", "arabic-digits", 0.25, "blurred"),
    ],
)
def test_parse_synth_spec(spec, lang, ratio, style):
    config, got = parse_synth_spec(spec)
    assert (config.lang, got, config.style) == (lang, ratio, style)
    assert config.loose == 0.0


def test_parse_synth_spec_options_set_numeric_config_fields():
    config, ratio = parse_synth_spec("latin:0.4:mix:loose=0.25:max_chars = 20")
    assert (config.lang, ratio, config.style) == ("latin", 0.4, "mix")
    assert (config.loose, config.max_chars) == (0.25, 20)
    config, ratio = parse_synth_spec("arabic:diacritics=0")  # no ratio or style given
    assert (ratio, config.style, config.diacritics) == (0.5, "scan", 0.0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("latin:0.5:mix:fonts=x", "unknown option 'fonts'"),
        ("latin:loose=abc", "loose needs a number"),
        ("latin:max_chars=2.5", "max_chars needs an integer"),
        ("latin:loose=0.1:loose=0.2", "loose given twice"),
        ("latin:loose=0.1:mix", "expected LANG"),  # options come last
        ("latin:loose=2", "loose must be in [0, 1]"),
        ("captcha:loose=0.5", "loose must be 0"),
    ],
)
def test_parse_synth_spec_option_errors_name_the_problem(spec, message):
    with pytest.raises(SynthError, match=re.escape(message)):
        parse_synth_spec(spec)


@pytest.mark.parametrize("spec", ["", "klingon:0.5", "latin:1.5", "latin:0", "latin:0.5:scan:x"])
def test_parse_synth_spec_errors(spec):
    with pytest.raises(SynthError):
        parse_synth_spec(spec)


# -- determinism --------------------------------------------------------------------------
def test_same_seed_and_index_give_the_same_sample_in_any_order(synths):
    synth = synths["latin"]
    forward = [synth.sample(i) for i in range(6)]
    backward = [synth.sample(i) for i in reversed(range(6))][::-1]
    copied = copy.deepcopy(synth)  # what a worker process receives
    for (a_img, a_txt), (b_img, b_txt), i in zip(forward, backward, range(6), strict=True):
        assert a_txt == b_txt
        np.testing.assert_array_equal(a_img, b_img)
        c_img, c_txt = copied.sample(i)
        assert c_txt == a_txt
        np.testing.assert_array_equal(c_img, a_img)
    other = LineSynthesizer(synth.config, seed=8)
    assert [other.sample(i)[1] for i in range(6)] != [t for _, t in forward]
    assert len({t for _, t in forward}) == 6


def test_train_and_val_splits_draw_different_texts(synths):
    val = LineSynthesizer(synths["latin"].config, seed=7, split="val")
    assert [val.text(i) for i in range(5)] != [synths["latin"].text(i) for i in range(5)]


# -- presets ------------------------------------------------------------------------------
@pytest.mark.parametrize("style", STYLES)
def test_every_style_makes_sane_images_with_the_requested_labels(synths, style):
    lang = "captcha" if style == "captcha" else "latin"
    synth = LineSynthesizer(SynthConfig(lang=lang, style=style), seed=3)
    for i in range(4):
        sample = synth.sample_info(i)
        img = sample.image
        assert img.dtype == np.uint8 and img.ndim == 2 and img.flags.c_contiguous
        h, w = img.shape
        assert 20 <= h <= 128, (style, img.shape)
        assert w >= h // 2
        assert img.std() > 8  # not blank
        assert sample.text == synth.text(i)
        assert sample.text == corpora.normalize_text(sample.text) and sample.text
        assert set(sample.text) <= set(synth.alphabet)
        # The same text, requested explicitly, is drawn identically.
        again = synth.render(sample.text, i)
        assert again.text == sample.text
        np.testing.assert_array_equal(again.image, img)
    if style == "captcha":
        assert img.shape == (50, 200)
        assert len(sample.text) == 5 and set(sample.text) <= set("2345678bcdefgmnpwxy")


def test_clean_lines_are_dark_ink_on_light_paper_with_small_margins(synths):
    synth = LineSynthesizer(SynthConfig(lang="latin", style="clean"), seed=1)
    for i in range(10):
        img, text = synth.sample(i)
        assert np.median(img) > 200 and img.min() < 60
        cols = ink_columns(img)
        assert (
            cols[0] <= img.shape[0] // 3 + 2
            and img.shape[1] - 1 - cols[-1] <= img.shape[0] // 3 + 2
        )
        assert 28 <= img.shape[0] <= 80, (img.shape, text)


def test_blurred_and_sharpened_are_pairs_of_the_same_line():
    blurred = LineSynthesizer(SynthConfig(style="blurred"), seed=5)
    sharpened = LineSynthesizer(SynthConfig(style="sharpened"), seed=5)
    for i in range(4):
        b, s = blurred.sample_info(i), sharpened.sample_info(i)
        assert b.text == s.text and b.font == s.font and b.image.shape == s.image.shape
        # The sharpened one has the steeper edges.
        grad_b = np.abs(np.diff(b.image.astype(int), axis=1)).mean()
        grad_s = np.abs(np.diff(s.image.astype(int), axis=1)).mean()
        assert grad_s > grad_b


def test_loose_lines_are_the_same_line_with_paper_drawn_round_it():
    tight = LineSynthesizer(SynthConfig(lang="latin", style="scan"), seed=3)
    loose = LineSynthesizer(SynthConfig(lang="latin", style="scan", loose=1.0), seed=3)
    half = LineSynthesizer(SynthConfig(lang="latin", style="scan", loose=0.5), seed=3)
    grown = 0
    for i in range(12):
        t, lo = tight.sample_info(i), loose.sample_info(i)
        assert lo.text == t.text and lo.font == t.font
        h, w = t.image.shape
        # 0.5-2 line heights above and below, 0.25-1 at each side (rounding aside).
        assert 2 * h - 2 <= lo.image.shape[0] <= 5 * h + 2
        assert w + h // 2 - 2 <= lo.image.shape[1] <= w + 2 * h + 2
        # The degradations cover the added paper: its grain is not a flat fill.
        assert lo.image[: h // 2].std() > 0.5
        grown += half.sample_info(i).image.shape[0] > h
    assert 2 <= grown <= 10  # about half the lines
    with pytest.raises(SynthError, match="loose must be in"):
        SynthConfig(loose=1.5)
    with pytest.raises(SynthError, match="fixed size"):
        SynthConfig(lang="captcha", loose=0.5)


def test_mix_uses_several_styles():
    synth = LineSynthesizer(SynthConfig(style="mix"), seed=2)
    assert len({synth.style_of(i) for i in range(40)}) >= 4


# -- text sources -------------------------------------------------------------------------
def test_word_lines_have_the_requested_length():
    synth = LineSynthesizer(
        SynthConfig(min_chars=30, max_chars=30, random_ratio=0, pattern_ratio=0), seed=0
    )
    lengths = [len(synth.text(i)) for i in range(60)]
    assert max(lengths) <= 30 and min(lengths) >= 26
    assert sum(n == 30 for n in lengths) >= 40


def test_random_strings_and_digit_patterns_stay_in_their_alphabets(synths):
    for i in range(30):
        assert set(synths["digits"].text(i)) <= set(" 0123456789-/.,:+()")
        eastern = synths["arabic-digits"].text(i)
        assert set(eastern) <= set(" ٠١٢٣٤٥٦٧٨٩-/٫٬:+()") and any(
            c in eastern for c in "٠١٢٣٤٥٦٧٨٩"
        )
        assert base_direction(eastern) == "ltr"  # numbers are drawn left to right
    ids = LineSynthesizer(SynthConfig(lang="digits", patterns=("id",), min_chars=6, max_chars=9))
    for i in range(30):
        digits = ids.text(i).replace(" ", "").replace("-", "")
        assert digits.isdigit() and 6 <= len(digits) <= 9


def test_a_narrower_alphabet_keeps_whole_words():
    lower = "abcdefghijklmnopqrstuvwxyz "
    synth = LineSynthesizer(SynthConfig(lang="latin", alphabet=lower, random_ratio=0.0), seed=3)
    words = {w for i in range(40) for w in synth.text(i).split()}
    assert set("".join(words)) <= set(lower)
    known = set(corpora.read_words(corpora.system_wordlist("latin")))
    # capitalised words lower-cased, not cut ("Acoustics" -> "acoustics", never "coustics");
    # a word keeps its letters (only an apostrophe or other punctuation may be dropped)
    unknown = {w for w in words if w not in known and w.lower() not in {k.lower() for k in known}}
    assert len(unknown) <= len(words) // 10, sorted(unknown)


def test_pattern_kinds():
    rng = np.random.default_rng(0)
    for kind in corpora.PATTERN_KINDS:
        for _ in range(20):
            text = corpora.pattern_text(kind, rng)
            assert (text and any(c.isdigit() for c in text)) or kind == "code"
            assert set(corpora.pattern_text(kind, rng, eastern=True)).isdisjoint(string.digits)
    with pytest.raises(ValueError, match="unknown pattern kind"):
        corpora.pattern_text("iban", rng)


def test_arabic_diacritics_and_tatweel_are_optional():
    plain = LineSynthesizer(
        SynthConfig(lang="arabic", diacritics=0, tatweel=0, random_ratio=0, pattern_ratio=0)
    )
    rich = LineSynthesizer(
        SynthConfig(lang="arabic", diacritics=1, tatweel=1, random_ratio=0, pattern_ratio=0)
    )
    plain_texts = "".join(plain.text(i) for i in range(20))
    rich_texts = [rich.text(i) for i in range(20)]
    assert not set(plain_texts) & set(corpora.HARAKAT + TATWEEL)
    assert sum(any(c in corpora.HARAKAT for c in t) for t in rich_texts) >= 18
    assert sum(TATWEEL in t for t in rich_texts) >= 10
    img, _ = rich.sample(0)
    assert img.std() > 8


def test_mixed_lines_mix_arabic_with_latin_or_numbers(synths):
    for i in range(20):
        text = synths["mixed"].text(i)
        assert base_direction(text) == "rtl"
        assert any(c.isascii() and c.isalnum() for c in text) or any(
            c in corpora.ARABIC_INDIC_DIGITS for c in text
        )


def test_corpus_lines_and_running_text(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("alpha beta gamma\ndelta epsilon\n\nzeta eta theta iota\n", encoding="utf-8")
    words = set(corpus.read_text().split())
    for mode in ("lines", "text"):
        synth = LineSynthesizer(
            SynthConfig(
                corpus=str(corpus),
                corpus_mode=mode,
                random_ratio=0,
                pattern_ratio=0,
                min_chars=5,
                max_chars=20,
            )
        )
        for i in range(15):
            text = synth.text(i)
            assert set(text.lower().split()) <= words, text
    with pytest.raises(SynthError, match="no text"):
        empty = tmp_path / "empty.txt"
        empty.write_text("\n\n")
        LineSynthesizer(SynthConfig(corpus=str(empty)))


PROSE = (
    "It was the first of May, and the town's clocks struck nine -- late, as usual.\n"
    "She said: \"Don't wait for me; I'll be there by 10:30.\"\n"
    "Nobody answered. The door, which had been painted green in 1921, stayed shut.\n"
)


def test_a_spec_draws_running_text_from_a_corpus_file(tmp_path):
    corpus = tmp_path / "prose.txt"
    corpus.write_text(PROSE, encoding="utf-8")
    spec = f"latin:0.5:mix:corpus={corpus}:min_chars=20:max_chars=60:random_ratio=0:pattern_ratio=0"
    config, ratio = parse_synth_spec(spec)
    assert (config.corpus, config.corpus_mode, ratio) == (str(corpus.resolve()), "text", 0.5)
    running = " ".join(PROSE.split())
    synth = LineSynthesizer(config, seed=3)
    texts = [synth.text(i) for i in range(30)]
    for text in texts:
        assert text in running, text  # a window of the running text, across lines
        assert len(text) <= 60
    assert sum(len(t) >= 20 for t in texts) >= 25  # windows reach the drawn length
    assert any("--" in t or "'" in t or '"' in t for t in texts)  # punctuation kept


def test_a_spec_names_a_fetched_corpus(tmp_path, monkeypatch):
    (tmp_path / "prose-en.txt").write_text(PROSE, encoding="utf-8")
    monkeypatch.setenv("LINEOCR_CORPUS_DIR", str(tmp_path))
    config, _ = parse_synth_spec("latin:0.4:mix:corpus=prose-en:corpus_mode=lines")
    assert config.corpus == str((tmp_path / "prose-en.txt").resolve())
    assert config.corpus_mode == "lines"


def test_a_missing_corpus_names_the_file_and_the_fetch_script(tmp_path, monkeypatch):
    monkeypatch.setenv("LINEOCR_CORPUS_DIR", str(tmp_path))
    with pytest.raises(SynthError) as caught:
        parse_synth_spec("latin:0.4:mix:corpus=prose-en")
    message = str(caught.value)
    assert "latin:0.4:mix:corpus=prose-en" in message
    assert str(tmp_path / "prose-en.txt") in message
    assert "scripts/fetch-corpora.sh" in message
    with pytest.raises(SynthError, match=re.escape("no file")):
        parse_synth_spec(f"latin:corpus={tmp_path}/nothing.txt")
    (tmp_path / "prose-en.txt").write_text(PROSE, encoding="utf-8")
    with pytest.raises(SynthError, match="corpus_mode must be one of"):
        parse_synth_spec("latin:corpus=prose-en:corpus_mode=pages")


# -- fonts: coverage, no tofu, split ------------------------------------------------------
def test_a_face_that_lacks_a_character_is_never_used_for_it():
    alphabet = " " + string.ascii_letters + "ب"
    fonts = (str(LIBERATION), str(DEJAVU))
    synth = LineSynthesizer(SynthConfig(alphabet=alphabet, fonts=fonts), split="all")
    liberation = [f for f in synth.faces if f.path == str(LIBERATION)]
    assert liberation and "ب" not in liberation[0].covered and liberation[0].covers("abc")
    used_plain = {synth.render("abc xyz", i).font for i in range(12)}
    used_arabic = {synth.render("abc ب xyz", i).font for i in range(12)}
    assert used_plain == {str(LIBERATION), str(DEJAVU)}  # both fonts are in play...
    assert used_arabic == {str(DEJAVU)}  # ...but only DejaVu has the letter
    # With only Liberation the character is refused, never drawn as a box.
    with pytest.raises(SynthError, match="U\\+0628"):
        LineSynthesizer(SynthConfig(alphabet=alphabet, fonts=(str(LIBERATION),)), split="all")
    only = LineSynthesizer(
        SynthConfig(alphabet=string.ascii_letters, fonts=(str(LIBERATION),)), split="all"
    )
    with pytest.raises(SynthError, match="no font"):
        only.render("abc ب", 0)


def test_every_character_of_every_line_is_in_its_fonts_cmap(synths):
    """An independent check of the coverage logic with fontTools."""
    from fontTools.ttLib import TTFont

    cmaps: dict[str, set[int]] = {}
    for lang in ("latin", "arabic", "mixed", "arabic-digits"):
        synth = synths[lang]
        for i in range(25):
            text = synth.text(i)
            face = synth.render(text, i).font
            if face not in cmaps:
                with TTFont(face, lazy=True) as font:
                    cmaps[face] = set(font.getBestCmap())
            missing = [c for c in text if ord(c) not in cmaps[face]]
            assert not missing, (lang, text, face, missing)


def test_fonts_that_draw_western_digits_as_arabic_indic_are_refused_for_them(tmp_path):
    # As KACST One does next to Arabic letters: a copy of DejaVu Sans whose 0-9 are drawn
    # with its Arabic-Indic digit glyphs, so a label's "123" would be drawn as "١٢٣".
    from fontTools.ttLib import TTFont

    font = TTFont(str(DEJAVU))
    for table in font["cmap"].tables:
        if table.isUnicode():
            for i in range(10):
                table.cmap[0x30 + i] = table.cmap[0x660 + i]
    path = tmp_path / "DejaVuSans-IndicDigits.ttf"
    font.save(str(path))
    (face,) = load_faces([str(path)], "ب 0123456789٠١٢٣٤٥٦٧٨٩")
    assert face.localized_digits
    assert face.can_render("ب ١٢٣") and not face.can_render("ب 123")
    (plain,) = load_faces([str(DEJAVU)], "ب 0123456789٠١٢٣٤٥٦٧٨٩")
    assert not plain.localized_digits and plain.can_render("ب 123")


def test_families_with_unclear_digits_never_draw_them(monkeypatch):
    from lineocr.data import fonts as fonts_mod

    chars = "abc 0123456789٠١٢٣٤٥٦٧٨٩"
    (plain,) = load_faces([str(DEJAVU)], chars)
    assert plain.covers("٢٣") and plain.family == "dejavu sans"
    monkeypatch.setattr(fonts_mod, "UNCLEAR_DIGITS", {"dejavu sans": "٠١٢٣٤٥٦٧٨٩"})
    fonts_mod._check_cached.cache_clear()
    try:
        (face,) = load_faces([str(DEJAVU)], chars)
        assert face.covers("abc") and not face.covers("٢") and not face.can_render("a ٣")
        assert face.can_render("abc 123")  # the other digit set is still drawn
        # so no Arabic-Indic digit line is ever drawn with it
        with pytest.raises(SynthError, match="no font"):
            LineSynthesizer(SynthConfig(lang="arabic-digits", fonts=(str(DEJAVU),)))
    finally:
        fonts_mod._check_cached.cache_clear()


def test_arabic_script_only_families_draw_only_arabic_script_lines(monkeypatch):
    from lineocr.data import fonts as fonts_mod

    # DejaVu Sans under a UKIJ family name, as discovery would find it.
    (record,) = fonts_mod._read_records(str(DEJAVU))
    ukij = fonts_mod._FontRecord(record.path, 0, "ukij tuz", "UKIJ Tuz", record.cmap)
    found = [(ukij, False)]
    monkeypatch.setattr(fonts_mod, "resolve_font_sources", lambda sources=(): found)
    latin = " " + string.ascii_letters + string.digits
    assert load_faces((), latin, required=string.ascii_letters) == []
    assert load_faces((), " 0123456789", required="0123456789") == []
    (digits,) = load_faces((), " ٠١٢٣٤٥٦٧٨٩", required="٠١٢٣٤٥٦٧٨٩")
    assert digits.family == "ukij tuz"
    (arabic,) = load_faces((), "بت abc", required="بت")  # mixed lines may use its Latin
    assert arabic.covers("abc")
    found = [(ukij, True)]  # a font the user names is always used
    assert len(load_faces((), latin, required=string.ascii_letters)) == 1
    # and decorative UKIJ faces never come from discovery
    tughra = fonts_mod._FontRecord(record.path, 0, "ukij tughra", "UKIJ Tughra", record.cmap)
    found = [(tughra, False)]
    assert load_faces((), " ٠١٢٣٤٥٦٧٨٩", required="٠١٢٣٤٥٦٧٨٩") == []


def test_ukij_variants_are_one_split_unit():
    # UKIJ names a dozen weights and variants of a few designs separately.
    names = ("UKIJ Tuz", "UKIJ Tuz Basma", "UKIJ Tuz Kitab", "UKIJ Kesme Tuz", "UKIJ Nasq")
    assert {family_split(name) for name in names} == {family_split("ukij")}
    assert len({family_split(name) for name in ("ukij tuz", "uyghur ukij")}) == 2


@pytest.mark.skipif(not NADA.is_file(), reason="fonts-arabeyes not installed")
def test_nada_whose_four_is_drawn_as_its_two_draws_no_arabic_indic_digit_line():
    (face,) = load_faces([str(NADA)], "ب 0123456789٠١٢٣٤٥٦٧٨٩")
    assert face.covers("ب 123") and not face.covers("٢") and not face.covers("٤")


def test_missing_glyphs_and_fonts_give_clear_errors():
    with pytest.raises(FontError, match="not a file, a folder or an installed family"):
        load_faces(["No Such Font Family"], "abc")
    with pytest.raises(SynthError, match="no font"):
        LineSynthesizer(SynthConfig(lang="arabic", fonts=(str(LIBERATION),)))


def test_font_split_is_deterministic_disjoint_and_held_out(synths):
    faces = load_faces(
        (), " " + string.ascii_letters + string.digits, required=string.ascii_letters
    )
    train, val = fonts_split(faces, "train"), fonts_split(faces, "val")
    assert {f.family for f in train}.isdisjoint({f.family for f in val})
    assert len(train) + len(val) == len(faces) == len(fonts_split(faces, "all"))
    assert val and train
    assert family_split("Liberation Sans Narrow") == family_split("Liberation Sans")
    assert normalize_family("DejaVu Sans Condensed") == "dejavu sans"
    # Faces sharing glyphs are one split unit: no held-out twin in training.
    for name in ("Naskh Basic", "Naskh Basic Urdu", "Naskh Basic SA", "Tehreer", "Ajrak"):
        assert normalize_family(f"PakType {name}") == "paktype"
    assert family_split("Scheherazade New") == family_split("Scheherazade")
    held_out = LineSynthesizer(SynthConfig(), split="val")
    assert {f.family for f in held_out.faces} == {f.family for f in val}
    for lang in ("arabic",):
        assert LineSynthesizer(SynthConfig(lang=lang), split="val").faces
    with pytest.raises(SynthError, match="split must be"):
        LineSynthesizer(SynthConfig(), split="test")
    assert family_split("Liberation Sans") == "train"
    with pytest.raises(SynthError, match=r"is in the val split.*--font-split all"):
        LineSynthesizer(SynthConfig(fonts=(str(LIBERATION),)), split="val")


def test_missing_raqm_is_a_clear_error(monkeypatch):
    from lineocr.data import render

    monkeypatch.setattr(render.features, "check", lambda name: False)
    with pytest.raises(SynthError, match="raqm"):
        LineSynthesizer(SynthConfig(lang="arabic"))


# -- Arabic order -------------------------------------------------------------------------
def _gaps(img: np.ndarray) -> list[tuple[int, int]]:
    """Runs of ink-free columns inside the ink, widest first."""
    ink = np.zeros(img.shape[1], bool)
    ink[ink_columns(img)] = True
    cols = np.flatnonzero(ink)
    runs, start = [], None
    for x in range(cols[0], cols[-1] + 1):
        if not ink[x] and start is None:
            start = x
        elif ink[x] and start is not None:
            runs.append((start, x))
            start = None
    return sorted(runs, key=lambda r: r[0] - r[1])


def test_arabic_lines_run_right_to_left_with_logical_labels():
    with pytest.warns(UserWarning, match="lines will not contain them"):  # Naskh lacks "("
        synth = LineSynthesizer(
            SynthConfig(lang="arabic", style="clean", fonts=(str(NASKH),)), split="all"
        )
    first, second = "مستشفيات", "في"  # a long first word, a short second one
    text = f"{first} {second}"
    sample = synth.render(text, 0)
    assert sample.text == text  # the label stays in logical order
    gap = _gaps(sample.image)[0]
    cols = ink_columns(sample.image)
    left, right = gap[0] - cols[0], cols[-1] - gap[1]
    assert right > 2 * left  # the first (long) word is drawn on the right
    # Latin keeps left to right: the same shape the other way round.
    latin = LineSynthesizer(SynthConfig(style="clean", fonts=(str(DEJAVU),)), split="all")
    img = latin.render("international at", 0).image
    gap = _gaps(img)[0]
    cols = ink_columns(img)
    assert gap[0] - cols[0] > 2 * (cols[-1] - gap[1])


def test_digits_in_mixed_lines_are_drawn_in_to_visual_order():
    """Find where each digit is drawn (swap it for another digit of the same width and see
    which columns change) and compare with the order of charset.to_visual."""
    synth = LineSynthesizer(
        SynthConfig(lang="mixed", style="clean", fonts=(str(DEJAVU),)), split="all"
    )
    text = "رقم 3456 و 17 abc"
    visual = to_visual(text)
    base = synth.render(text, 0).image
    centres, expected = [], []
    for pos, ch in enumerate(text):
        if not ch.isdigit():
            continue
        probe = text[:pos] + ("9" if ch != "9" else "8") + text[pos + 1 :]
        img = synth.render(probe, 0).image
        assert img.shape == base.shape  # DejaVu digits all have the same advance
        changed = np.flatnonzero(np.abs(img.astype(int) - base).max(axis=0) > 40)
        assert changed.size
        centres.append(changed.mean())
        expected.append(visual.index(ch))
    assert np.argsort(centres).tolist() == np.argsort(expected).tolist()
    assert visual.index("1") < visual.index("3")  # the later number is drawn further left


# -- degradations -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_line() -> np.ndarray:
    synth = LineSynthesizer(SynthConfig(style="clean", fonts=(str(DEJAVU),)), split="all")
    return synth.render("Degrade me 123", 0).image


@pytest.mark.parametrize("op", sorted(degrade.OPS))
def test_each_degradation_alone(op, clean_line):
    fn = degrade.OPS[op]
    out = fn(clean_line, np.random.default_rng(0))
    again = fn(clean_line, np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.ndim == 2
    np.testing.assert_array_equal(out, again)  # seedable
    if out.shape == clean_line.shape:
        assert not np.array_equal(out, clean_line), op
    else:
        assert op in degrade.GEOMETRIC_OPS
    assert out.shape[0] >= clean_line.shape[0] - 1 and out.shape[1] >= clean_line.shape[1] - 1


def test_degradation_parameters_have_the_expected_effect(clean_line):
    rng = np.random.default_rng(0)
    blur = [degrade.gaussian_blur(clean_line, rng, sigma=s) for s in (0.5, 2.0)]
    assert np.abs(np.diff(blur[1].astype(int))).mean() < np.abs(np.diff(blur[0].astype(int))).mean()
    noisy = degrade.noise(np.full((40, 200), 128, np.uint8), rng, sigma=10)
    assert 8 < noisy.std() < 12
    assert degrade.contrast(clean_line, rng, ink=50, paper=200).min() >= 50
    assert np.array_equal(degrade.invert(degrade.invert(clean_line, rng), rng), clean_line)
    tall = degrade.rotate(clean_line, rng, degrees=30)  # clipped for a long line
    assert tall.shape[0] <= 1.7 * clean_line.shape[0] + 2


def test_binarize_makes_a_one_bit_scan_whose_level_thins_or_thickens(clean_line):
    rng = np.random.default_rng(0)
    thin = degrade.binarize(clean_line, rng, level=0.2)
    thick = degrade.binarize(clean_line, rng, level=0.8)
    coarse = degrade.binarize(clean_line, rng, level=0.5, scale=0.4, jitter=20)
    for out in (thin, thick, coarse):
        assert set(np.unique(out).tolist()) <= {0, 255}
        assert out.shape == clean_line.shape
    assert (thin == 0).sum() < (thick == 0).sum()
    # Sampled at 40 %: blocks of equal pixels, shown back at full size.
    assert np.mean(coarse[:, 1:] == coarse[:, :-1]) > np.mean(thick[:, 1:] == thick[:, :-1])


def test_rotate_drift_lets_a_long_line_turn_as_a_crooked_page_does():
    synth = LineSynthesizer(SynthConfig(style="clean", fonts=(str(DEJAVU),)), split="all")
    line = synth.render("A long printed line of some seventy characters, as books set them.").image
    rng = np.random.default_rng(0)
    default = degrade.rotate(line, rng, degrees=1.5)
    assert np.array_equal(default, degrade.rotate(line, rng, degrees=1.5, drift=0.6))
    crooked = degrade.rotate(line, rng, degrees=1.5, drift=1.3)
    h, w = line.shape
    assert default.shape[0] <= h + 0.6 * h + 2
    expected = h * np.cos(np.radians(1.5)) + w * np.sin(np.radians(1.5))  # not clipped
    assert abs(crooked.shape[0] - expected) <= 2
    assert crooked.shape[0] > default.shape[0]


def test_ink_bleed_radius_thickens_strokes_further(clean_line):
    rng = np.random.default_rng(0)
    ink = [(degrade.ink_bleed(clean_line, rng, amount=1, radius=r) < 128).sum() for r in (1, 3)]
    assert ink[0] < ink[1]
    assert np.array_equal(
        degrade.ink_bleed(clean_line, rng), degrade.ink_bleed(clean_line, rng, radius=1)
    )


def test_the_print_style_draws_skewed_and_one_bit_lines_and_stays_out_of_mix():
    assert "print" in STYLES and "print" not in degrade.MIX_WEIGHTS
    synth = LineSynthesizer(SynthConfig(lang="latin", style="print", min_chars=30), seed=5)
    images = [synth.sample(i)[0] for i in range(24)]
    one_bit = sum(len(np.unique(img)) <= 2 for img in images)
    assert 3 <= one_bit <= 21  # on 45 % of lines, before noise and JPEG on some of them
    config, _ = parse_synth_spec("latin:0.2:print")
    assert config.style == "print"


def test_step_specs():
    step = degrade.parse_step("gaussian_blur:p=0.5,sigma=0.4~1.2")
    assert (step.op, step.p, step.params) == ("gaussian_blur", 0.5, (("sigma", 0.4, 1.2),))
    assert degrade.parse_step(str(step)) == step
    for bad in (
        "smudge",
        "noise:sigma",
        "noise:sigma=a",
        "noise:sigma=3~1",
        "noise:p=2",
        "noise:radius=2",
    ):
        with pytest.raises(degrade.DegradeError):
            degrade.parse_step(bad)
    for name, steps in degrade.PRESETS.items():
        assert degrade.parse_steps(steps), name


def test_custom_degradation_steps_replace_the_style():
    synth = LineSynthesizer(SynthConfig(style="scan", degrade=("invert",)), seed=0)
    img, _ = synth.sample(0)
    assert np.median(img) < 60  # light text on dark: only the custom step ran


# -- datasets and the CLI -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "lang"), [("sidecar", "arabic"), ("tsv", "latin"), ("filename", "captcha")]
)
def test_written_datasets_load_with_the_readers(tmp_path, fmt, lang):
    from lineocr.data.sources import read_dataset

    synth = LineSynthesizer(SynthConfig(lang=lang, max_chars=12), seed=4)
    out = tmp_path / "ds"
    result = write_dataset(out, 10, synth, fmt)
    assert result.written == 10
    dataset = read_dataset(out)  # the format is detected
    assert dataset.format == fmt and len(dataset) == 10 and not dataset.skipped
    labels = sorted(s.text for s in dataset.samples)
    if fmt == "filename":
        assert len(set(labels)) == 10
    else:
        assert labels == sorted(synth.text(i) for i in range(10))
        first = min(dataset.samples, key=lambda s: str(s.path))
        np.testing.assert_array_equal(first.load(), synth.sample(0)[0])
    manifest = json.loads((out / "synth.json").read_text(encoding="utf-8"))
    assert manifest["n"] == 10 and manifest["format"] == fmt and manifest["fonts"]
    settings = replay_settings(out)
    assert settings.config == synth.config and settings.seed == 4 and settings.fmt == fmt


def test_filename_layout_gives_up_when_labels_cannot_be_unique(tmp_path):
    one_digit = SynthConfig(
        lang="digits", style="clean", patterns=("id",), min_chars=1, max_chars=1
    )
    with pytest.raises(SynthError, match="only 10 distinct labels"):
        write_dataset(tmp_path / "ds", 11, LineSynthesizer(one_digit), "filename")


def test_dataset_writing_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(SynthError, match="not empty"):
        write_dataset(tmp_path, 2, LineSynthesizer(SynthConfig(lang="digits")), "sidecar")


def test_two_worker_processes_write_the_same_dataset(tmp_path):
    synth = LineSynthesizer(SynthConfig(lang="digits", style="scan"), seed=9)
    write_dataset(tmp_path / "one", 70, synth, "sidecar", WriteOptions(workers=1))
    write_dataset(tmp_path / "two", 70, synth, "sidecar", WriteOptions(workers=2))
    for name in ("000000.png", "000069.png", "000033.gt.txt"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_contact_sheet(tmp_path, synths):
    samples = [synths["mixed"].sample_info(i) for i in range(4)]
    path = contact_sheet(samples, tmp_path / "sheet.png")
    from PIL import Image

    with Image.open(path) as sheet:
        assert sheet.width == 1200 and sheet.height > 4 * 48


def test_cli_writes_a_dataset_a_preview_and_replays_it(tmp_path):
    runner = CliRunner()
    out, preview = tmp_path / "ds", tmp_path / "preview.png"
    args = [
        "synth",
        "--out",
        str(out),
        "--n",
        "6",
        "--lang",
        "digits",
        "--style",
        "photo",
        "--seed",
        "3",
        "--preview",
        str(preview),
        "--format",
        "tsv",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "labels.tsv").read_text(encoding="utf-8").count("\n") == 6
    assert preview.stat().st_size > 1000
    again = runner.invoke(app, ["synth", "--out", str(tmp_path / "re"), "--replay", str(out)])
    assert again.exit_code == 0, again.output
    for name in ("labels.tsv", "images/000005.png"):
        assert (out / name).read_bytes() == (tmp_path / "re" / name).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lang", "klingon"], "unknown lang"),
        (["--style", "captcha", "--lang", "arabic"], "cannot draw Arabic"),
        (["--fonts", "No Such Family"], "not a file, a folder or an installed family"),
        (["--format", "xml"], "format must be one of"),
        (["--font-split", "test"], "split must be one of"),
    ],
)
def test_cli_errors_are_one_clear_line(tmp_path, args, message):
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "o"), "--n", "3", *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_corpus_no_font_can_draw_is_an_error_not_other_text(tmp_path):
    corpus = tmp_path / "cjk.txt"
    corpus.write_text("\u65e5\u672c\u8a9e\n\u4e2d\u6587\n", encoding="utf-8")
    out = tmp_path / "o"
    args = ["synth", "--out", str(out), "--n", "3", "--lang", "latin", "--corpus", str(corpus)]
    fonts = ["--fonts", str(DEJAVU), "--font-split", "all"]  # drawn with fonts without CJK
    result = CliRunner().invoke(app, [*args, *fonts])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "no font in the all split draws any character of the corpus" in said
    assert not out.exists()


def test_ctrl_c_says_what_is_left_behind(tmp_path, monkeypatch):
    from lineocr.data import synth_output

    def interrupted(out, n, synth, fmt, options):
        out.mkdir()
        options.progress(7)
        raise KeyboardInterrupt

    monkeypatch.setattr(synth_output, "write_dataset", interrupted)
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["synth", "--out", str(out), "--n", "50", "--lang", "digits"])
    assert result.exit_code == 130
    said = " ".join(result.output.split())
    assert f"interrupted: {out} holds 7 of 50 lines and no synth.json" in said
    assert f"rm -r {out}" in said


# -- streaming ----------------------------------------------------------------------------
def test_stream_is_deterministic_per_seed_and_worker():
    torch = pytest.importorskip("torch")
    from lineocr.data.stream import SynthStream
    from lineocr.data.synth import SynthStream as LazySynthStream

    assert LazySynthStream is SynthStream
    stream = SynthStream(SynthConfig(lang="digits", style="clean"), seed=2, length=8)
    direct = list(stream)
    assert len(direct) == len(stream) == 8
    assert [t for _, t in direct] == [stream.synthesizer.text(i) for i in range(8)]
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    from_workers = list(loader)
    assert sorted(t for _, t in from_workers) == sorted(t for _, t in direct)
    # Worker w of n takes indices w, w + n, ...: the first item of worker 1 is sample 1.
    assert list(stream.indices(1, 2)) == [1, 3, 5, 7]
    stream.set_epoch(1)
    assert [t for _, t in stream] != [t for _, t in direct]
    endless = SynthStream(SynthConfig(lang="digits"), seed=2)
    it = iter(endless)
    assert [next(it)[1] for _ in range(3)] == [endless.synthesizer.text(i) for i in range(3)]
    with pytest.raises(TypeError):
        len(endless)


def test_font_cache_keeps_the_most_recently_used():
    face = load_faces([str(DEJAVU)], "abc")[0]
    cache = FontCache(maxsize=2)
    first = cache.get(face, 20)
    assert cache.get(face, 20) is first  # loaded once
    cache.get(face, 21)
    cache.get(face, 20)  # used again: now the most recent
    cache.get(face, 22)  # evicts size 21, the least recently used
    assert cache.get(face, 20) is first
    assert len(cache._fonts) == 2 and (face.path, face.index, 21) not in cache._fonts


def test_font_discovery_is_cached_on_disk_and_read_again_when_a_font_changes(
    tmp_path, monkeypatch
) -> None:
    """lineocr.data.font_cache: a second process start finds a font file's faces and glyph
    check on disk; a changed file (size, time) is read again."""
    import shutil

    from lineocr.data import font_cache, fonts

    monkeypatch.setenv("LINEOCR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(font_cache._state, "data", None)
    font = tmp_path / "DejaVuSans.ttf"
    shutil.copy("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", font)
    fresh = fonts._read_font_file(str(font))
    face = fonts._check_record(fresh[0], "abc")
    font_cache._state["data"] = None  # what that check learnt is not cached yet
    fonts._read_records.cache_clear()
    fonts._check_cached.cache_clear()
    assert fonts.load_faces([str(font)], "abc") == [face]
    assert (tmp_path / "cache" / font_cache.CACHE_FILE).is_file()

    # A new process: nothing in memory, the file read from the cache, fontTools not called.
    monkeypatch.setitem(font_cache._state, "data", None)
    fonts._read_records.cache_clear()
    fonts._check_cached.cache_clear()
    monkeypatch.setattr(fonts, "_read_font_file", lambda path: pytest.fail("read again"))
    monkeypatch.setattr(fonts, "_drawn", lambda *a: pytest.fail("drawn again"))
    assert fonts.load_faces([str(font)], "abc") == [face]
    assert fonts._read_records(str(font)) == fresh
    assert set(fonts._read_records(str(font))[0].cmap) == fresh[0].cmap

    # The file changes: its entry no longer applies.
    with font.open("ab") as f:
        f.write(b"\0")
    assert font_cache.get_records(str(font)) is None
