"""What to synthesise: languages, styles and their defaults, ``SynthConfig``, the --synth spec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

from lineocr.data.corpora import (
    ARABIC_INDIC_DIGITS,
    ARABIC_LETTERS,
    ARABIC_PUNCTUATION,
    CAPTCHA_ALPHABET,
    DIGITS,
    HARAKAT,
    LATIN_LETTERS,
    LATIN_PUNCTUATION,
    PATTERN_KINDS,
    TATWEEL,
    CorpusError,
    resolve_corpus,
)
from lineocr.data.degrade import DegradeError, parse_steps

LANGS = ("latin", "arabic", "mixed", "digits", "arabic-digits", "captcha")
STYLES = ("clean", "scan", "photo", "blurred", "sharpened", "print", "captcha", "mix")
LENGTH_DISTS = ("uniform", "normal")
CORPUS_MODES = ("text", "lines")
DEFAULT_RATIO = 0.5


class SynthError(ValueError):
    """A synthesis setting or input that cannot work; the message says what to change."""


@dataclass(frozen=True)
class _LangDefaults:
    script: str  # font filter: "latin", "arabic" or "" (any face covering ``required``)
    required: str  # characters every face must draw
    alphabet: str
    min_chars: int
    max_chars: int
    random_ratio: float
    pattern_ratio: float
    patterns: tuple[str, ...]
    diacritics: float
    tatweel: float


_LATIN_ALPHABET = " " + LATIN_LETTERS + DIGITS + LATIN_PUNCTUATION
_ARABIC_ALPHABET = (
    " "
    + ARABIC_LETTERS
    + ARABIC_PUNCTUATION
    + ARABIC_INDIC_DIGITS
    + DIGITS
    + ".:!()«»-/٫٬"
    + HARAKAT
    + TATWEEL
)
_NUMERIC = ("id", "phone", "date", "amount", "time")
LANG_DEFAULTS: dict[str, _LangDefaults] = {
    "latin": _LangDefaults(
        "latin", LATIN_LETTERS + DIGITS, _LATIN_ALPHABET, 5, 40, 0.1, 0.15, PATTERN_KINDS, 0.0, 0.0
    ),
    "arabic": _LangDefaults(
        "arabic",
        ARABIC_LETTERS,
        _ARABIC_ALPHABET,
        5,
        40,
        0.05,
        0.1,
        (*_NUMERIC, "plate"),
        0.1,
        0.05,
    ),
    "mixed": _LangDefaults(
        "arabic",
        ARABIC_LETTERS + LATIN_LETTERS,
        "".join(dict.fromkeys(_ARABIC_ALPHABET + _LATIN_ALPHABET)),
        8,
        40,
        0.0,
        0.0,
        PATTERN_KINDS,
        0.05,
        0.0,
    ),
    "digits": _LangDefaults(
        "", DIGITS, " " + DIGITS + "-/.,:+()", 4, 16, 0.0, 1.0, _NUMERIC, 0.0, 0.0
    ),
    "arabic-digits": _LangDefaults(
        "",
        ARABIC_INDIC_DIGITS,
        " " + ARABIC_INDIC_DIGITS + "-/٫٬:+()",
        4,
        16,
        0.0,
        1.0,
        _NUMERIC,
        0.0,
        0.0,
    ),
    "captcha": _LangDefaults("", CAPTCHA_ALPHABET, CAPTCHA_ALPHABET, 5, 5, 1.0, 0.0, (), 0.0, 0.0),
}


@dataclass(frozen=True)
class SynthConfig:
    """What to synthesise. ``None`` fields take the language's default when the config is
    made, so :meth:`to_dict` always records concrete values.

    - ``lang``: latin | arabic | mixed (Arabic with Latin words and numbers) | digits
      (form fields in 0-9) | arabic-digits (form fields in ٠-٩) | captcha
    - ``style``: clean | scan | photo | blurred | sharpened | print | captcha | mix (a
      random one of the first five per line); default ``captcha`` for lang captcha, else
      ``scan``
    - ``fonts``: font files, folders or installed family names; empty = the system fonts
    - ``corpus``/``corpus_mode``: a UTF-8 text file used instead of the word list, sampled as
      windows of running ``text`` or as whole ``lines``; ``wordlist``: another word list
    - ``alphabet``: the only characters lines may contain (default: the language's, plus
      the corpus's characters)
    - ``min_chars``/``max_chars``/``length_dist`` (uniform | normal): line length in characters
    - ``random_ratio``/``pattern_ratio``: share of lines that are random strings / form
      fields (IDs, phones, dates, amounts, times, plates, codes; ``patterns`` picks kinds)
    - ``diacritics``/``tatweel``: share of Arabic lines with harakat / kashida
    - ``min_height``/``max_height``: target image height in pixels
    - ``degrade``: degradation steps replacing the style's (see :mod:`lineocr.data.degrade`)
    - ``loose``: share of lines cut loosely, as from a page or a form field: paper 0.5-2
      line heights deep above and below and 0.25-1 left and right, added before the
      degradations so that they cover it (lines are otherwise cropped close to the text)
    """

    lang: str = "latin"
    style: str | None = None
    fonts: tuple[str, ...] = ()
    corpus: str | None = None
    corpus_mode: str = "text"
    wordlist: str | None = None
    alphabet: str | None = None
    min_chars: int | None = None
    max_chars: int | None = None
    length_dist: str = "uniform"
    random_ratio: float | None = None
    pattern_ratio: float | None = None
    patterns: tuple[str, ...] | None = None
    diacritics: float | None = None
    tatweel: float | None = None
    min_height: int = 32
    max_height: int = 64
    degrade: tuple[str, ...] = ()
    loose: float = 0.0

    def __post_init__(self) -> None:
        if self.lang not in LANGS:
            raise SynthError(f"unknown lang {self.lang!r}; choose one of {', '.join(LANGS)}")
        d = LANG_DEFAULTS[self.lang]
        resolved: dict[str, Any] = {
            "style": self.style or ("captcha" if self.lang == "captcha" else "scan"),
            "min_chars": d.min_chars if self.min_chars is None else self.min_chars,
            "max_chars": d.max_chars if self.max_chars is None else self.max_chars,
            "random_ratio": d.random_ratio if self.random_ratio is None else self.random_ratio,
            "pattern_ratio": d.pattern_ratio if self.pattern_ratio is None else self.pattern_ratio,
            "patterns": d.patterns if self.patterns is None else tuple(self.patterns),
            "diacritics": d.diacritics if self.diacritics is None else self.diacritics,
            "tatweel": d.tatweel if self.tatweel is None else self.tatweel,
            "fonts": tuple(self.fonts),
            "degrade": tuple(self.degrade),
        }
        if self.max_chars is not None and self.min_chars is None:
            resolved["min_chars"] = min(resolved["min_chars"], self.max_chars)
        if self.min_chars is not None and self.max_chars is None:
            resolved["max_chars"] = max(resolved["max_chars"], self.min_chars)
        for name, value in resolved.items():
            object.__setattr__(self, name, value)
        self._validate()

    def _validate(self) -> None:
        if self.style not in STYLES:
            raise SynthError(f"unknown style {self.style!r}; choose one of {', '.join(STYLES)}")
        if self.style == "captcha" and self.lang in ("arabic", "mixed"):
            raise SynthError(
                "the captcha style draws characters one at a time, left to right, "
                "so it cannot draw Arabic; use lang latin, digits or captcha"
            )
        assert self.min_chars is not None and self.max_chars is not None
        if not 1 <= self.min_chars <= self.max_chars <= 500:
            raise SynthError(
                f"need 1 <= min_chars <= max_chars <= 500, got {self.min_chars}..{self.max_chars}"
            )
        if self.length_dist not in LENGTH_DISTS:
            raise SynthError(f"length_dist must be one of {', '.join(LENGTH_DISTS)}")
        if self.corpus_mode not in CORPUS_MODES:
            raise SynthError(f"corpus_mode must be one of {', '.join(CORPUS_MODES)}")
        for name in ("random_ratio", "pattern_ratio", "diacritics", "tatweel", "loose"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise SynthError(f"{name} must be in [0, 1], got {value}")
        assert self.random_ratio is not None and self.pattern_ratio is not None
        if self.random_ratio + self.pattern_ratio > 1.0 + 1e-9:
            raise SynthError("random_ratio + pattern_ratio must not exceed 1")
        bad = set(self.patterns or ()) - set(PATTERN_KINDS)
        if bad:
            raise SynthError(
                f"unknown pattern kinds {sorted(bad)}; known: {', '.join(PATTERN_KINDS)}"
            )
        if self.loose and self.style == "captcha":
            raise SynthError("CAPTCHAs are drawn at a fixed size; loose must be 0 for them")
        if not 8 <= self.min_height <= self.max_height <= 512:
            raise SynthError("need 8 <= min_height <= max_height <= 512")
        if self.alphabet is not None and not self.alphabet.strip():
            raise SynthError("alphabet must contain at least one visible character")
        if self.degrade:
            if self.style in ("captcha", "mix"):
                raise SynthError(
                    f"degrade steps replace one style's pipeline; they cannot be "
                    f"combined with style {self.style}"
                )
            try:
                parse_steps(self.degrade)
            except DegradeError as exc:
                raise SynthError(str(exc)) from None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SynthConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SynthError(
                f"unknown synth config keys: {sorted(unknown)}; known: {sorted(known)}"
            )
        kwargs: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in data.items()
        }
        return cls(**kwargs)


def _corpus_option(text: str) -> str:
    try:
        return resolve_corpus(text)
    except CorpusError as exc:
        raise SynthError(str(exc)) from None


# Fields a training spec may set after its style (``KEY=VALUE``), each with the function
# that reads its value: numbers, and the corpus (a name or a path, see ``resolve_corpus``)
# with its mode. A value cannot contain ``:``.
SPEC_OPTIONS: dict[str, Callable[[str], Any]] = {
    "loose": float,
    "diacritics": float,
    "tatweel": float,
    "random_ratio": float,
    "pattern_ratio": float,
    "min_chars": int,
    "max_chars": int,
    "min_height": int,
    "max_height": int,
    "corpus": _corpus_option,
    "corpus_mode": str,
}
_SPEC_FORM = "LANG[:RATIO][:STYLE][:KEY=VALUE...]"


def parse_synth_spec(spec: str) -> tuple[SynthConfig, float]:
    """``LANG[:RATIO][:STYLE][:KEY=VALUE...]`` -> (config, ratio).

    ``RATIO`` is the share of training samples drawn from the synthetic stream (0 < r <= 1,
    default 0.5); ``STYLE`` defaults to the language's; ``KEY=VALUE`` sets one of the
    :class:`SynthConfig` options named in :data:`SPEC_OPTIONS`: the numeric ones, and
    ``corpus`` (a corpus name such as ``prose-en``, fetched by ``scripts/fetch-corpora.sh``,
    or the path of a UTF-8 text file) with ``corpus_mode`` (``text`` or ``lines``).
    Examples: ``arabic:0.5``, ``latin``, ``captcha:1.0``, ``mixed:0.3:scan``,
    ``digits:photo``, ``latin:0.4:mix:loose=0.2``, ``latin:0.5:mix:corpus=prose-en``.
    """
    parts = [p.strip() for p in spec.strip().split(":")]
    first = next((i for i, p in enumerate(parts) if "=" in p), len(parts))
    parts, options = parts[:first], parts[first:]
    if not parts or not parts[0] or len(parts) > 3 or any("=" not in p for p in options):
        raise SynthError(
            f"bad synth spec {spec!r}: expected {_SPEC_FORM}, "
            f"e.g. arabic:0.5 or mixed:0.3:scan:loose=0.2"
        )
    lang, ratio, style = parts[0], DEFAULT_RATIO, None
    rest = parts[1:]
    if rest:
        try:
            ratio = float(rest[0])
            rest = rest[1:]
        except ValueError:
            pass
    if rest:
        style = rest[0]
        if len(rest) > 1:
            raise SynthError(f"bad synth spec {spec!r}: expected {_SPEC_FORM}")
    if not 0.0 < ratio <= 1.0:
        raise SynthError(f"bad synth spec {spec!r}: the ratio must be in (0, 1], got {ratio:g}")
    values = _spec_options(spec, options)  # its errors name the spec
    try:
        return SynthConfig(lang=lang, style=style, **values), ratio
    except SynthError as exc:
        raise SynthError(f"bad synth spec {spec!r}: {exc}") from None


def _spec_options(spec: str, options: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for option in options:
        key, _, text = (s.strip() for s in option.partition("="))
        read = SPEC_OPTIONS.get(key)
        if read is None:
            raise SynthError(
                f"bad synth spec {spec!r}: unknown option {key!r}; known: {', '.join(SPEC_OPTIONS)}"
            )
        if key in out:
            raise SynthError(f"bad synth spec {spec!r}: {key} given twice")
        try:
            out[key] = read(text)
        except SynthError as exc:  # the corpus: its message says what is missing
            raise SynthError(f"bad synth spec {spec!r}: {exc}") from None
        except ValueError:
            wanted = "an integer" if read is int else "a number"
            message = f"bad synth spec {spec!r}: {key} needs {wanted}, got {text!r}"
            raise SynthError(message) from None
    return out
