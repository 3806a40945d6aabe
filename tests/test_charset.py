import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineocr.charset import (
    BLANK,
    Charset,
    CharsetError,
    CharsetOptions,
    UnknownCharactersError,
    base_direction,
    logical_permutation,
    to_logical,
    to_visual,
)


def test_blank_is_zero_and_indices_start_at_one():
    cs = Charset.from_texts(["ba", "c"])
    assert cs.chars == ("a", "b", "c")
    assert BLANK == 0
    assert cs.encode("cab") == [3, 1, 2]
    assert cs.decode([3, 1, 2]) == "cab"
    assert cs.num_classes == 4


def test_unknown_characters_are_listed():
    cs = Charset.from_texts(["abc"])
    with pytest.raises(UnknownCharactersError) as info:
        cs.encode("abxyx")
    assert info.value.unknown == ["x", "y"]
    assert "'x'" in str(info.value) and "U+0079" in str(info.value)


def test_nfc_normalisation_merges_combining_marks():
    cs = Charset.from_texts(["é"])  # precomposed
    assert cs.encode("e\u0301") == cs.encode("é")


def test_digit_mapping_tatweel_diacritics_and_case():
    opts = CharsetOptions(map_digits=True, strip_tatweel=True, strip_diacritics=True, case="upper")
    cs = Charset.from_texts(["٠١٢٣٤٥٦٧٨٩", "۴۵۶", "كـتـب", "كَتَبَ", "ab"], opts)
    assert cs.normalize("رقم ٢٠٢٤ و ۱۲") == "رقم 2024 و 12"
    assert cs.normalize("كـتـب") == "كتب"
    assert cs.normalize("كَتَبَ") == "كتب"
    assert cs.normalize("ab") == "AB"
    assert "0" in cs and "٠" not in cs and "ـ" not in cs


def test_spaces_collapse_but_space_survives_in_alphabet():
    cs = Charset.from_string(" ab")
    assert cs.chars == (" ", "a", "b")
    assert cs.normalize("  a   b ") == "a b"


def test_union_keeps_old_indices():
    base = Charset.from_texts(["abc"])
    grown = base.union("cxd")
    assert grown.chars[:3] == base.chars
    assert grown.chars[3:] == ("x", "d")


def test_serialisation_round_trip_and_unknown_keys():
    cs = Charset.from_texts(["abc ١"], CharsetOptions(map_digits=True))
    assert Charset.from_dict(cs.to_dict()) == cs
    with pytest.raises(CharsetError):
        Charset.from_dict({"chars": "ab", "option": {}})
    with pytest.raises(CharsetError):
        Charset.from_dict({"chars": "ab", "options": {"map_digit": True}})


def test_duplicate_characters_rejected():
    with pytest.raises(CharsetError):
        Charset(("a", "a"))


@pytest.mark.parametrize(
    ("logical", "visual"),
    [
        ("hello world", "hello world"),
        ("مرحبا", "ابحرم"),
        ("مرحبا.", ".ابحرم"),
        ("رقم 123", "123 مقر"),
        ("الرقم القومي: 29801011234567", "29801011234567 :يموقلا مقرلا"),
        ("٢٠٢٤/٠١/٠٥ تاريخ", "خيرات ٢٠٢٤/٠١/٠٥"),
        ("(رقم) ١٢٣", "١٢٣ (مقر)"),  # brackets mirrored as drawn
        ('قال "نعم" - 5%', '%5 - "معن" لاق'),
        ("رقم abc 123", "abc 123 مقر"),
    ],
)
def test_bidi_visual_and_back(logical, visual):
    assert to_visual(logical) == visual
    assert to_logical(visual) == logical


def test_encode_is_visual_decode_is_logical():
    text = "رقم (42) حساب abc"
    cs = Charset.from_texts([text])
    indices = cs.encode(text)
    assert cs.decode_visual(indices) == to_visual(text)
    assert cs.decode(indices) == text


def test_logical_permutation_lets_values_follow_characters():
    assert logical_permutation("abc") == [0, 1, 2]
    visual = "123 (مقر)"  # "(رقم) 123" as drawn
    order = logical_permutation(visual)
    assert sorted(order) == list(range(len(visual)))
    moved = "".join(visual[k] for k in order)
    assert moved.replace(")", "*").replace("(", ")").replace("*", "(") == to_logical(visual)


def test_base_direction():
    assert base_direction("abc 123") == "ltr"
    assert base_direction("abc رقم") == "rtl"
    assert base_direction("١٢٣") == "ltr"  # digits alone are not right-to-left letters


ARABIC = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
LATIN = "abcxyz"
PUNCT = st.sampled_from([" ", " ", " ", ": ", ". ", ", ", " - ", "/"])


@st.composite
def lines(draw):
    """Arabic, Latin and numbers with punctuation; one digit system per line, as on real
    documents (a Western digit glued to an Eastern one is not a real line)."""
    digits = draw(st.sampled_from(["0123456789", "٠١٢٣٤٥٦٧٨٩"]))
    word = st.one_of(
        st.text(ARABIC, min_size=1, max_size=6),
        st.text(LATIN, min_size=1, max_size=6),
        st.text(digits, min_size=1, max_size=6),
    )
    parts = draw(st.lists(st.tuples(word, PUNCT), min_size=1, max_size=6))
    return "".join(w + p for w, p in parts).strip()


@settings(max_examples=400, deadline=None)
@given(lines())
def test_visual_round_trip_is_drawn_identically(text):
    """The bidi algorithm is not injective, so the promise is: the logical text we return
    is drawn exactly like the visual line the model saw."""
    visual = to_visual(text)
    assert to_visual(to_logical(visual)) == visual


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(ARABIC, min_size=1, max_size=6), min_size=1, max_size=4),
    st.text("0123456789", min_size=1, max_size=14),
)
def test_arabic_words_with_a_number_round_trip_exactly(words, number):
    for text in (" ".join([*words, number]), " ".join([number, *words]), f"{words[0]}: {number}"):
        assert to_logical(to_visual(text)) == text
