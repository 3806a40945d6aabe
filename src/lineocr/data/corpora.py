"""Text sources for synthetic lines: word lists, user corpora, random strings and form patterns.

Every function draws from a numpy ``Generator`` it is given, so a text depends only on that
generator's seed. Texts are returned in logical order, NFC-normalised, single-spaced.
"""

from __future__ import annotations

import os
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

LATIN_LETTERS = string.ascii_letters
DIGITS = "0123456789"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
LATIN_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
ARABIC_LETTERS = "ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي"
ARABIC_PUNCTUATION = "،؛؟"
# fatha, damma, kasra, fathatan, dammatan, kasratan, shadda, sukun
HARAKAT = "\u064e\u064f\u0650\u064b\u064c\u064d\u0651\u0652"
TATWEEL = "\u0640"
CAPTCHA_ALPHABET = "2345678bcdefgmnpwxy"
# Letters that join to the following letter: tatweel may only follow these.
_DUAL_JOINING = frozenset("ئبتثجحخسشصضطظعغفقكلمنهي")
_TO_EASTERN = str.maketrans(DIGITS + ".,", ARABIC_INDIC_DIGITS + "٫٬")

SYSTEM_WORDLISTS = {
    "latin": ("/usr/share/dict/american-english", "/usr/share/dict/words"),
    "arabic": ("/usr/share/hunspell/ar.dic",),
}
PATTERN_KINDS = ("id", "phone", "date", "amount", "time", "plate", "code")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


CORPUS_DIR_ENV = "LINEOCR_CORPUS_DIR"
FETCH_CORPORA = "scripts/fetch-corpora.sh"


class CorpusError(ValueError):
    """A word list or corpus that cannot be used; the message names the file."""


def corpus_dir() -> Path:
    """Where ``scripts/fetch-corpora.sh`` puts the named corpora (``prose-en``...):
    ``$LINEOCR_CORPUS_DIR``, else ``~/.local/share/lineocr/corpora``."""
    configured = os.environ.get(CORPUS_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "lineocr" / "corpora"


def resolve_corpus(name_or_path: str) -> str:
    """The absolute path of a corpus given by name (``prose-en``: ``prose-en.txt`` in
    :func:`corpus_dir`) or by path (anything with a ``/``, a suffix, or an existing file).

    Raises :class:`CorpusError` naming the file looked for and how to get it."""
    text = name_or_path.strip()
    if not text:
        raise CorpusError("a corpus needs a name (prose-en) or the path of a UTF-8 text file")
    given = Path(text).expanduser()
    is_path = "/" in text or os.sep in text or given.suffix != "" or given.is_file()
    path = given if is_path else corpus_dir() / f"{text}.txt"
    if not path.is_file():
        if is_path:
            raise CorpusError(f"corpus {text!r}: no file {path}")
        raise CorpusError(
            f"corpus {text!r} not found: no file {path} ({CORPUS_DIR_ENV} sets the folder); "
            f"fetch the corpora with {FETCH_CORPORA} (make system-deps does) or give the "
            f"path of a UTF-8 text file"
        )
    return str(path.resolve())


def normalize_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def to_eastern_digits(text: str) -> str:
    """Western digits and number separators -> Arabic-Indic digits, ٫ and ٬."""
    return text.translate(_TO_EASTERN)


def system_wordlist(script: str) -> str:
    for candidate in SYSTEM_WORDLISTS.get(script, ()):
        if Path(candidate).is_file():
            return candidate
    package = {"latin": "wamerican", "arabic": "hunspell-ar"}.get(script, "?")
    raise CorpusError(
        f"no {script} word list found (looked for "
        f"{', '.join(SYSTEM_WORDLISTS.get(script, ()))}); install the Debian "
        f"package {package} (scripts/install-system-deps.sh) or pass a corpus file"
    )


@lru_cache(maxsize=16)
def read_words(path: str) -> tuple[str, ...]:
    """A word list: one word per line; hunspell ``.dic`` files (count line, ``/FLAGS``) too."""
    try:
        raw = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read word list: {exc.strerror}") from None
    words = []
    for line in raw.splitlines():
        word = line.split("/", 1)[0].split("\t", 1)[0].strip()
        if word and not word.isdigit() and " " not in word:
            words.append(word if word.isascii() else unicodedata.normalize("NFC", word))
    return tuple(dict.fromkeys(words))


@lru_cache(maxsize=8)
def read_corpus(path: str) -> tuple[tuple[str, ...], ...]:
    """A user corpus: one line per text line (or running text), as tuples of words."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: corpus is not UTF-8 text") from None
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read corpus: {exc.strerror}") from None
    lines = tuple(tuple(normalize_text(line).split()) for line in raw.splitlines())
    lines = tuple(line for line in lines if line)
    if not lines:
        raise CorpusError(f"{path}: corpus has no text")
    return lines


def corpus_chars(path: str) -> str:
    return "".join(sorted({c for line in read_corpus(path) for word in line for c in word}))


@dataclass
class Lexicon:
    """Words over an alphabet, indexed by length so a line can be filled exactly."""

    words: Sequence[str]
    by_length: dict[int, list[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, words: Sequence[str], alphabet: str) -> Lexicon:
        allowed = frozenset(alphabet)
        kept = [w for w in words if w and allowed.issuperset(w)]
        by_length: dict[int, list[str]] = {}
        for w in kept:
            by_length.setdefault(len(w), []).append(w)
        return cls(kept, by_length)

    def __bool__(self) -> bool:
        return bool(self.words)

    def word(self, rng: np.random.Generator) -> str:
        return self.words[int(rng.integers(len(self.words)))]

    def word_of_length(self, rng: np.random.Generator, n: int) -> str | None:
        pool = self.by_length.get(n)
        return pool[int(rng.integers(len(pool)))] if pool else None


def _choice(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _digits(rng: np.random.Generator, n: int, *, lead_zero: bool = True) -> str:
    out = "".join(DIGITS[int(d)] for d in rng.integers(0, 10, size=n))
    if not lead_zero and out[0] == "0":
        out = str(int(rng.integers(1, 10))) + out[1:]
    return out


def fill_line(
    rng: np.random.Generator,
    target: int,
    token: Callable[[], str],
    exact: Callable[[int], str | None],
) -> str:
    """Join tokens with spaces up to ``target`` characters; close the gap with an exact-length
    word when one exists, so lines have the requested length."""
    tokens: list[str] = []
    length = 0
    for _ in range(4 * target + 8):
        gap = target - length - (1 if tokens else 0)
        if gap <= 0:
            break
        tok = token()
        if len(tok) <= gap and (gap - len(tok) != 1 or rng.random() < 0.3):
            tokens.append(tok)
            length += len(tok) + (1 if len(tokens) > 1 else 0)
            continue
        filler = exact(gap) if gap >= 2 else None
        if filler is not None:
            tokens.append(filler)
            break
        if not tokens:
            tokens.append(tok[:gap])
            break
    return " ".join(tokens)


# -- form patterns -----------------------------------------------------------------------
def pattern_text(
    kind: str,
    rng: np.random.Generator,
    *,
    eastern: bool = False,
    min_len: int = 4,
    max_len: int = 16,
) -> str:
    """A form field: ``id`` (digit string of ``min_len`` to ``max_len`` digits), ``phone``,
    ``date``, ``amount``, ``time``, ``plate`` or ``code``. With ``eastern`` the digits are
    Arabic-Indic (٠–٩) and plates use Arabic letters."""
    if kind == "id":
        text = _id_number(rng, min_len, max_len)
    elif kind in _FIELDS:
        text = _FIELDS[kind](rng, eastern)
    else:
        raise ValueError(f"unknown pattern kind {kind!r}; known: {', '.join(PATTERN_KINDS)}")
    return to_eastern_digits(text) if eastern else text


def _id_number(rng: np.random.Generator, min_len: int, max_len: int) -> str:
    n = int(rng.integers(max(1, min_len), max(min_len, max_len) + 1))
    text = _digits(rng, n)
    if n >= 8 and rng.random() < 0.3:  # grouped, as printed on cards and forms
        size = int(rng.integers(3, 5))
        text = _choice(rng, (" ", "-")).join(text[i : i + size] for i in range(0, n, size))
    return text


def _phone(rng: np.random.Generator, eastern: bool) -> str:
    form = int(rng.integers(4))
    if form == 0:
        country = int(rng.integers(1, 999))
        return f"+{country} {_digits(rng, 2)} {_digits(rng, 3)} {_digits(rng, 4)}"
    if form == 1:
        return f"({_digits(rng, 3, lead_zero=False)}) {_digits(rng, 3)}-{_digits(rng, 4)}"
    if form == 2:
        return f"0{_digits(rng, 2)}-{_digits(rng, 3)}-{_digits(rng, 4)}"
    return "0" + _digits(rng, 9)


def _date(rng: np.random.Generator, eastern: bool) -> str:
    year, month, day = (
        int(rng.integers(1950, 2040)),
        int(rng.integers(1, 13)),
        int(rng.integers(1, 29)),
    )
    form = int(rng.integers(5 if not eastern else 4))
    return [
        f"{day:02d}/{month:02d}/{year}",
        f"{year}-{month:02d}-{day:02d}",
        f"{day:02d}.{month:02d}.{year}",
        f"{day}/{month}/{year % 100:02d}",
        f"{day} {_MONTHS[month - 1]} {year}",
    ][form]


def _amount(rng: np.random.Generator, eastern: bool) -> str:
    r = rng.random
    value = float(
        rng.choice([rng.uniform(0, 100), rng.uniform(100, 10_000), rng.uniform(10_000, 10_000_000)])
    )
    cents = r() < 0.7
    text = f"{value:,.2f}" if cents else f"{int(value):,}"
    if r() < 0.3:
        text = text.replace(",", "")
    if not eastern and r() < 0.4:
        text = _choice(rng, ("$", "€", "£")) + text if r() < 0.7 else text + " USD"
    return text


def _time(rng: np.random.Generator, eastern: bool) -> str:
    text = f"{int(rng.integers(0, 24)):02d}:{int(rng.integers(0, 60)):02d}"
    if rng.random() < 0.3:
        text += f":{int(rng.integers(0, 60)):02d}"
    return text


def _plate(rng: np.random.Generator, eastern: bool) -> str:
    if eastern:
        letters = " ".join(
            _choice(rng, "أبجدرسصطعقكلمنهوى") for _ in range(int(rng.integers(1, 4)))
        )
        return f"{letters} {_digits(rng, int(rng.integers(1, 5)), lead_zero=False)}"
    letters = "".join(_choice(rng, string.ascii_uppercase) for _ in range(int(rng.integers(2, 4))))
    digits = _digits(rng, int(rng.integers(2, 5)), lead_zero=False)
    return _choice(
        rng,
        (
            f"{letters} {digits}",
            f"{letters}-{digits}",
            f"{digits} {letters}",
            f"{int(rng.integers(1, 10))}{letters}{digits}",
        ),
    )


def _code(rng: np.random.Generator, eastern: bool) -> str:
    upper = string.ascii_uppercase + DIGITS
    blocks = int(rng.integers(2, 4))
    parts = [
        "".join(_choice(rng, upper) for _ in range(int(rng.integers(3, 6)))) for _ in range(blocks)
    ]
    prefix = _choice(rng, ("", "INV-", "REF ", "No. ", "ID: ", "#"))
    return prefix + "-".join(parts)


# The fields other than ``id``, each drawn from ``(rng, eastern)``.
_FIELDS: dict[str, Callable[[np.random.Generator, bool], str]] = {
    "phone": _phone,
    "date": _date,
    "amount": _amount,
    "time": _time,
    "plate": _plate,
    "code": _code,
}


# -- decoration --------------------------------------------------------------------------
def add_diacritics(text: str, rng: np.random.Generator, density: float = 0.6) -> str:
    """Put harakat (and sometimes shadda) on about ``density`` of the Arabic letters."""
    out = []
    letters = set(ARABIC_LETTERS) - {"ء", "ا", "آ", "ى", "ة"}
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else " "
        if ch in letters and rng.random() < density:
            if nxt == " " and rng.random() < 0.15:
                out.append(_choice(rng, HARAKAT[3:6]))  # tanwin at word ends
            elif rng.random() < 0.1:
                out.append("\u0651" + _choice(rng, HARAKAT[:3]))  # shadda + short vowel
            else:
                out.append(_choice(rng, HARAKAT[:3] + HARAKAT[7]))
    return unicodedata.normalize("NFC", "".join(out))


def add_tatweel(text: str, rng: np.random.Generator, places: int = 2) -> str:
    """Insert kashida (ـ) after a joining letter that is followed by an Arabic letter."""
    spots = [
        i
        for i in range(len(text) - 1)
        if text[i] in _DUAL_JOINING and text[i + 1] in ARABIC_LETTERS
    ]
    if not spots:
        return text
    chosen = set(rng.choice(spots, size=min(places, len(spots)), replace=False).tolist())
    return "".join(
        ch + TATWEEL * int(rng.integers(1, 4)) if i in chosen else ch for i, ch in enumerate(text)
    )


def random_string(rng: np.random.Generator, alphabet: str, n: int, space_prob: float = 0.12) -> str:
    """``n`` characters drawn uniformly from ``alphabet``, with occasional single spaces."""
    chars = [c for c in alphabet if not c.isspace()]
    if not chars:
        raise CorpusError("random strings need an alphabet with at least one visible character")
    out: list[str] = []
    picks = rng.integers(len(chars), size=n)
    spaces = rng.random(n) < (space_prob if " " in alphabet else 0.0)
    for i in range(n):
        if spaces[i] and 0 < i < n - 1 and out[-1] != " ":
            out.append(" ")
        else:
            out.append(chars[int(picks[i])])
    return "".join(out)
