"""scripts/normalize_corpora.py: the fetched texts become one paragraph per line in the
characters the printed models read; headings, headers and foreign paragraphs are left out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "normalize_corpora.py"
_spec = importlib.util.spec_from_file_location("normalize_corpora", _SCRIPT)
assert _spec is not None and _spec.loader is not None
normalize_corpora = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(normalize_corpora)

BOOK = """The Project Gutenberg Etext of A Small Book
*** START OF THE PROJECT GUTENBERG EBOOK ***

                         CHAPTER I

                    Down the Garden Path

  Alice was beginning to get very tired of sitting by her sister
on the bank, `and what is the use of a book,' thought Alice.

  There was nothing so VERY remarkable in that--nor did she think
it so \u201cvery\u201d much out of the way to hear the caf\u00e9 bell.

*** END OF THE PROJECT GUTENBERG EBOOK ***
Licence text that is not part of the book at all, and long enough.
"""

PAGE = """<page xmlns="http://projectmallard.org/1.0/" id="x">
  <info><desc>Metadata that is not a paragraph of the page at all.</desc></info>
  <title>Connect to a network</title>
  <p>If you have a <gui>wireless</gui> computer, you can connect to a network
  that is within range.</p>
  <steps><item><p>Open the <media type="image" src="a.svg"/>menu from the
  right side of the top bar.</p></item></steps>
  <code>sudo some command that is code and must be left out</code>
</page>
"""


def test_gutenberg_paragraphs_are_joined_and_headings_left_out() -> None:
    got = list(normalize_corpora.normalized(normalize_corpora.gutenberg_paragraphs(BOOK), "en"))
    assert got == [
        "Alice was beginning to get very tired of sitting by her sister on the bank, "
        "'and what is the use of a book,' thought Alice.",
        "There was nothing so VERY remarkable in that--nor did she think it so "
        '"very" much out of the way to hear the cafe bell.',
    ]


def test_mallard_paragraphs_keep_inline_text_and_skip_metadata(tmp_path: Path) -> None:
    (tmp_path / "net.page").write_text(PAGE, encoding="utf-8")
    got = list(normalize_corpora.normalized(normalize_corpora.mallard_paragraphs(tmp_path), "en"))
    assert got == [
        "If you have a wireless computer, you can connect to a network that is within range.",
        "Open the menu from the right side of the top bar.",
    ]


def test_latin_normalisation_maps_typography_and_refuses_other_scripts() -> None:
    assert (
        normalize_corpora.normalize_latin("It\u2019s \u2014 na\u00efve\u2026") == "It's -- naive..."
    )
    assert normalize_corpora.normalize_latin("\u041f\u0440\u0438\u0432\u0435\u0442 world") is None


def test_european_normalisation_keeps_latin1_accents_and_refuses_other_letters() -> None:
    # decomposed accents (as some sources store them) come out composed
    text = "L\u2019e\u0301te\u0301 \u00ab d\u00e9j\u00e0 \u00bb \u2014 Stra\u00dfe, 5 \u20ac"
    assert (
        normalize_corpora.normalize_european(text)
        == "L'\u00e9t\u00e9 \u00ab d\u00e9j\u00e0 \u00bb -- Stra\u00dfe, 5 \u20ac"
    )
    assert (
        normalize_corpora.normalize_european("\u0141\u00f3d\u017a is in Poland") is None
    )  # L-stroke
    assert normalize_corpora.normalize_european("\u041f\u0440\u0438\u0432\u0435\u0442") is None
    # the English corpus still drops the accents
    assert normalize_corpora.normalize_latin("d\u00e9j\u00e0 vu") == "deja vu"


def test_main_keeps_a_paragraph_once_across_sources(tmp_path: Path) -> None:
    for lang, extra in (("fr", "Ouvrez le menu en haut \u00e0 droite de la barre."), ("de", "")):
        folder = tmp_path / lang
        folder.mkdir()
        body = "<p>Open the menu from the right side of the top bar.</p>"
        if extra:
            body += f"<p>{extra}</p>"
        (folder / "a.page").write_text(
            f'<page xmlns="http://projectmallard.org/1.0/">{body}</page>', encoding="utf-8"
        )
    out = tmp_path / "prose-eu.txt"
    specs = [f"mallard:{tmp_path / 'fr'}", f"mallard:{tmp_path / 'de'}"]
    assert normalize_corpora.main(["--lang", "eu", "--out", str(out), *specs]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == [
        "Open the menu from the right side of the top bar.",
        "Ouvrez le menu en haut \u00e0 droite de la barre.",
    ]


def test_arabic_normalisation_drops_marks_and_refuses_latin() -> None:
    verse = "\\qt@newcmd\\qurantext@ii{الحَمدُ لِلَّهِ رَبِّ العالَمينَ ذٰلِكَ\\qt@no{\ufd3f\u0662\ufd3e}}\n"
    (text,) = normalize_corpora.quran_def_verses(verse)
    assert normalize_corpora.normalize_arabic(text) == "الحمد لله رب العالمين ذلك"
    assert normalize_corpora.normalize_arabic("نص مع كلمة Linux فيه") is None


def test_main_writes_one_paragraph_per_line(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text(BOOK, encoding="utf-8")
    out = tmp_path / "prose-en.txt"
    assert normalize_corpora.main(["--lang", "en", "--out", str(out), f"gutenberg:{book}"]) == 0
    assert out.read_text(encoding="utf-8").count("\n") == 2


@pytest.mark.parametrize("spec", ["novel:x.txt", "gutenberg:/no/such/file.txt"])
def test_main_refuses_bad_sources(
    tmp_path: Path, spec: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "prose.txt"
    assert normalize_corpora.main(["--lang", "en", "--out", str(out), spec]) == 1
    assert "error:" in capsys.readouterr().err
    assert not out.exists()


FLUENT = """# A comment that is not a message at all, and long enough to count.
note = يمنع { -brand } المتعقبات في <a data-l10n-name="x">النوافذ</a> الخاصة مبدئيًا.
    .tooltiptext = افتح لوحة رسائل التثبيت لهذا الموقع الآن
short-label = حفظ
"""


def _mo_file(path: Path, messages: dict[str, str]) -> None:
    """A gettext catalogue (GNU .mo, little-endian) holding ``messages``."""
    keys = sorted(messages)
    ids = [k.encode() for k in keys]
    strs = [messages[k].encode() for k in keys]
    start = 7 * 4 + 16 * len(keys)
    offsets, data = [], b""
    for blob in ids + strs:
        offsets.append((len(blob), start + len(data)))
        data += blob + b"\0"
    header = [0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, 0]
    table = b"".join(n.to_bytes(4, "little") + o.to_bytes(4, "little") for n, o in offsets)
    path.write_bytes(b"".join(v.to_bytes(4, "little") for v in header) + table + data)


def test_fluent_messages_lose_placeables_and_markup(tmp_path: Path) -> None:
    (tmp_path / "browser").mkdir()
    (tmp_path / "browser" / "privacy.ftl").write_text(FLUENT, encoding="utf-8")
    texts = list(normalize_corpora.normalized(normalize_corpora.ftl_messages(tmp_path), "ar"))
    assert texts == [
        "يمنع المتعقبات في النوافذ الخاصة مبدئيا.",
        "افتح لوحة رسائل التثبيت لهذا الموقع الآن",
    ]


def test_gettext_messages_lose_placeholders_and_access_keys(tmp_path: Path) -> None:
    _mo_file(
        tmp_path / "sw.mo",
        {
            "": "Content-Type: text/plain; charset=UTF-8\n",
            "Save the document": "~احفظ المستند الحالي قبل إغلاق %PRODUCTNAME الآن",
            "Extension": "أنت على وشك تثبيت الإصدار $NEW للامتداد\nانقر حسنا للاستبدال.",
        },
    )
    texts = sorted(normalize_corpora.normalized(normalize_corpora.mo_messages(tmp_path), "ar"))
    assert texts == [
        "أنت على وشك تثبيت الإصدار للامتداد انقر حسنا للاستبدال.",
        "احفظ المستند الحالي قبل إغلاق الآن",
    ]


def test_interface_sources_need_their_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "prose-ar.txt"
    assert normalize_corpora.main(["--lang", "ar", "--out", str(out), f"ftl:{tmp_path}"]) == 1
    assert "no Fluent *.ftl files" in capsys.readouterr().err
