"""Synthetic text-line generator: configuration, the per-index sampler and the ``--synth`` spec.

:class:`LineSynthesizer` turns an index into ``(image, label)``: a uint8 grey line image
(ink dark, paper light, about 32-64 px tall) and its text in logical order. The same
``(config, seed, split, index)`` always gives the same sample, so a dataset can be streamed
(:class:`~lineocr.data.stream.SynthStream`), written (:mod:`lineocr.data.synth_output`) or
regenerated from its ``synth.json``. Text comes from :mod:`~lineocr.data.corpora`, fonts
from :mod:`~lineocr.data.fonts` (a face is used only for text it fully covers: no tofu),
drawing from :mod:`~lineocr.data.render`, degradations from :mod:`~lineocr.data.degrade`.
"""

from __future__ import annotations

import unicodedata
import warnings
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from lineocr.charset import shown_chars
from lineocr.data import corpora
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
    Lexicon,
)
from lineocr.data.degrade import MIX_WEIGHTS, PRESETS, DegradeError, Step, apply_steps, parse_steps
from lineocr.data.fonts import SPLITS, FontError, FontFace, fonts_split, load_faces
from lineocr.data.render import (
    LineRenderer,
    RenderError,
    captcha_default_fonts,
    needs_complex_layout,
    render_captcha,
    require_raqm,
)

if TYPE_CHECKING:
    from lineocr.data.stream import SynthStream

LANGS = ("latin", "arabic", "mixed", "digits", "arabic-digits", "captcha")
STYLES = ("clean", "scan", "photo", "blurred", "sharpened", "captcha", "mix")
LENGTH_DISTS = ("uniform", "normal")
CORPUS_MODES = ("text", "lines")
DEFAULT_RATIO = 0.5
_SPLIT_CODE = {"train": 0, "val": 1, "all": 2}
_MAX_TEXT_ATTEMPTS = 64


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
    - ``style``: clean | scan | photo | blurred | sharpened | captcha | mix (a random one of
      the first five per line); default ``captcha`` for lang captcha, else ``scan``
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


# Fields a training spec may set after its style (``KEY=VALUE``): the numeric options.
SPEC_OPTIONS: dict[str, type] = {
    "loose": float,
    "diacritics": float,
    "tatweel": float,
    "random_ratio": float,
    "pattern_ratio": float,
    "min_chars": int,
    "max_chars": int,
    "min_height": int,
    "max_height": int,
}
_SPEC_FORM = "LANG[:RATIO][:STYLE][:KEY=VALUE...]"


def parse_synth_spec(spec: str) -> tuple[SynthConfig, float]:
    """``LANG[:RATIO][:STYLE][:KEY=VALUE...]`` -> (config, ratio).

    ``RATIO`` is the share of training samples drawn from the synthetic stream (0 < r <= 1,
    default 0.5); ``STYLE`` defaults to the language's; ``KEY=VALUE`` sets one of the
    numeric :class:`SynthConfig` options named in :data:`SPEC_OPTIONS`. Examples:
    ``arabic:0.5``, ``latin``, ``captcha:1.0``, ``mixed:0.3:scan``, ``digits:photo``,
    ``latin:0.4:mix:loose=0.2``.
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
        kind = SPEC_OPTIONS.get(key)
        if kind is None:
            raise SynthError(
                f"bad synth spec {spec!r}: unknown option {key!r}; known: {', '.join(SPEC_OPTIONS)}"
            )
        if key in out:
            raise SynthError(f"bad synth spec {spec!r}: {key} given twice")
        try:
            out[key] = kind(text)
        except ValueError:
            wanted = "an integer" if kind is int else "a number"
            message = f"bad synth spec {spec!r}: {key} needs {wanted}, got {text!r}"
            raise SynthError(message) from None
    return out


def _loosen(image: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """With probability ``share``, white paper around a rendered line (before degradation):
    0.5-2 line heights above and below, 0.25-1 left and right. Draws from its own stream."""
    loose = rng.random() < share
    above, below, left, right = rng.uniform((0.5, 0.5, 0.25, 0.25), (2.0, 2.0, 1.0, 1.0))
    if not loose:
        return image
    h = image.shape[0]
    widths = ((round(above * h), round(below * h)), (round(left * h), round(right * h)))
    return np.pad(image, widths, constant_values=255)


@dataclass(frozen=True)
class SynthSample:
    """One generated line with what made it (for manifests, previews and debugging)."""

    image: np.ndarray
    text: str
    font: str  # path of the face used
    style: str


def _is_word(word: str, script: str) -> bool:
    if script == "arabic":
        return all(c in ARABIC_LETTERS or c in HARAKAT or c == TATWEEL for c in word)
    return any(c.isalpha() for c in word) and all(c.isalpha() or c in "'-." for c in word)


class _TextMaker:
    """Texts for one config over one alphabet; word lists load lazily, once per process."""

    def __init__(self, config: SynthConfig, alphabet: str) -> None:
        self.config = config
        self.alphabet = alphabet
        self._allowed = frozenset(alphabet)
        self._lexicons: dict[str, Lexicon] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_lexicons": None}

    def lexicon(self, script: str) -> Lexicon:
        if self._lexicons is None:
            self._lexicons = {}
        lex = self._lexicons.get(script)
        if lex is None:
            main_script = "latin" if self.config.lang == "latin" else "arabic"
            path = self.config.wordlist if script == main_script and self.config.wordlist else None
            words = corpora.read_words(path or corpora.system_wordlist(script))
            if script == "latin":  # a quarter of wamerican is possessives; token() adds some
                words = tuple(w for w in words if not w.endswith("'s") and _is_word(w, "latin"))
            else:  # hunspell-ar also lists a few separators and file names
                words = tuple(w for w in words if _is_word(w, "arabic"))
            lex = Lexicon.build(words, self.alphabet)
            if not lex:
                raise SynthError(f"no word of the {script} word list fits the alphabet")
            self._lexicons[script] = lex
        return lex

    def length(self, rng: np.random.Generator) -> int:
        lo, hi = self.config.min_chars, self.config.max_chars
        assert lo is not None and hi is not None
        if self.config.length_dist == "normal":
            value = rng.normal((lo + hi) / 2, max(0.5, (hi - lo) / 4))
            return int(np.clip(round(value), lo, hi))
        return int(rng.integers(lo, hi + 1))

    def text(self, rng: np.random.Generator) -> str:
        cfg = self.config
        for _ in range(_MAX_TEXT_ATTEMPTS):
            target = self.length(rng)
            text = self._draft(rng, target)
            if cfg.lang in ("arabic", "mixed"):
                if rng.random() < (cfg.diacritics or 0.0):
                    text = corpora.add_diacritics(text, rng)
                if rng.random() < (cfg.tatweel or 0.0):
                    text = corpora.add_tatweel(text, rng, places=int(rng.integers(1, 3)))
            text = corpora.normalize_text(self._fitted(text))
            if text:
                return text
        raise SynthError(f"cannot make text over the alphabet {self.alphabet!r}; widen it")

    def _fitted(self, text: str) -> str:
        """``text`` over the alphabet: a word whose letters it lacks is lower-cased if that
        fits (``Acoustics`` in a lower-case alphabet), else left out; other characters it
        lacks (punctuation, marks, separators) are dropped from the word."""
        if set(text) <= self._allowed:
            return text

        def letters_fit(word: str) -> bool:
            return all(c in self._allowed for c in word if unicodedata.category(c)[0] == "L")

        words = []
        for word in text.split(" "):
            fitting = word if letters_fit(word) else word.lower()
            if letters_fit(fitting):
                words.append("".join(c for c in fitting if c in self._allowed))
        return " ".join(words)

    def _draft(self, rng: np.random.Generator, target: int) -> str:
        cfg = self.config
        assert cfg.random_ratio is not None and cfg.pattern_ratio is not None
        u = rng.random()
        if cfg.lang == "captcha" or u < cfg.random_ratio:
            letters = self.alphabet
            if cfg.lang in ("arabic", "mixed"):
                letters = "".join(c for c in self.alphabet if c in ARABIC_LETTERS) or letters
            space = 0.0 if cfg.lang == "captcha" else 0.12
            return corpora.random_string(rng, letters, target, space_prob=space)
        if u < cfg.random_ratio + cfg.pattern_ratio and cfg.patterns:
            return self._pattern(rng, target)
        if cfg.lang == "mixed":
            return self._mixed_line(rng, target)
        return self._word_line(rng, target, "arabic" if cfg.lang == "arabic" else "latin")

    def _pattern(self, rng: np.random.Generator, target: int) -> str:
        cfg = self.config
        assert cfg.patterns
        kind = cfg.patterns[int(rng.integers(len(cfg.patterns)))]
        eastern = cfg.lang == "arabic-digits" or (cfg.lang == "arabic" and rng.random() < 0.7)
        min_len = cfg.min_chars if cfg.lang in ("digits", "arabic-digits") else 4
        max_len = cfg.max_chars if cfg.lang in ("digits", "arabic-digits") else 14
        assert min_len is not None and max_len is not None
        text = corpora.pattern_text(kind, rng, eastern=eastern, min_len=min_len, max_len=max_len)
        if cfg.lang in ("digits", "arabic-digits"):
            return text
        if cfg.lang == "arabic" and rng.random() < 0.5:  # a field label, as on a form
            return f"{self.lexicon('arabic').word(rng)}: {text}"
        if cfg.lang == "latin" and rng.random() < 0.5:
            return f"{self.lexicon('latin').word(rng).capitalize()}: {text}"
        return text

    def _corpus_line(self, rng: np.random.Generator, target: int) -> str:
        assert self.config.corpus is not None
        lines = corpora.read_corpus(self.config.corpus)
        if self.config.corpus_mode == "lines":
            words = lines[int(rng.integers(len(lines)))]
            start = int(rng.integers(len(words))) if len(" ".join(words)) > target else 0
        else:
            line_no = int(rng.integers(len(lines)))
            words = tuple(w for line in lines[line_no : line_no + 8] for w in line)
            start = int(rng.integers(len(words)))
        out: list[str] = []
        for word in words[start:]:
            if out and len(" ".join([*out, word])) > target:
                break
            out.append(word)
        return " ".join(out)[: max(target, 1)]

    def _word_line(self, rng: np.random.Generator, target: int, script: str) -> str:
        if self.config.corpus:
            return self._corpus_line(rng, target)
        lex = self.lexicon(script)
        arabic = script == "arabic"

        def token() -> str:
            r = rng.random()
            if r < 0.06:
                number = str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
                if rng.random() < 0.2:
                    number += corpora._choice(rng, ("%", ".5", ",000") if not arabic else ("%",))
                return (
                    corpora.to_eastern_digits(number) if arabic and rng.random() < 0.7 else number
                )
            word = lex.word(rng)
            r = rng.random()
            if r < 0.09:
                word += corpora._choice(
                    rng,
                    ("،", ".", "؟", "!", "؛", ":") if arabic else (",", ".", ";", ":", "!", "?"),
                )
            elif r < 0.12:
                pair = corpora._choice(rng, ("«»", "()") if arabic else ('""', "()", "''"))
                word = pair[0] + word + pair[1]
            elif r < 0.14 and not arabic:
                word += corpora._choice(rng, ("'s", "-"))
            return word

        line = corpora.fill_line(rng, target, token, lambda n: lex.word_of_length(rng, n))
        if not arabic:
            case = rng.random()
            if case < 0.3:
                line = line[:1].upper() + line[1:]
            elif case < 0.42:
                line = line.title()
            elif case < 0.5:
                line = line.upper()
        return line

    def _mixed_line(self, rng: np.random.Generator, target: int) -> str:
        arabic = self.lexicon("arabic")
        latin = self.lexicon("latin")

        def foreign() -> str:
            r = rng.random()
            if r < 0.35:
                return latin.word(rng) if rng.random() < 0.6 else latin.word(rng).upper()
            if r < 0.6:
                return str(int(rng.integers(0, 100_000)))
            if r < 0.75:
                return corpora.to_eastern_digits(str(int(rng.integers(0, 100_000))))
            kind = corpora._choice(rng, ("code", "plate", "date", "amount", "phone"))
            return corpora.pattern_text(kind, rng)

        def token() -> str:
            if self.config.corpus:
                return self._corpus_line(rng, int(rng.integers(3, 12)))
            return arabic.word(rng) if rng.random() < 0.7 else foreign()

        line = corpora.fill_line(rng, target, token, lambda n: arabic.word_of_length(rng, n))
        words = line.split()
        has_arabic = any(needs_complex_layout(w) for w in words)
        has_foreign = any(not needs_complex_layout(w) for w in words)
        if not has_arabic:
            words.insert(0, arabic.word(rng))
        if not has_foreign or len(words) < 2:
            words.insert(int(rng.integers(len(words) + 1)), foreign())
        return " ".join(words)


class LineSynthesizer:
    """Makes the sample with a given index; torch-free and deterministic in (seed, index).

    ``split`` picks the font families: ``train``, ``val`` (held-out families, for validating
    on unseen fonts) or ``all``; it also changes the texts, so train and val lines differ.
    Fonts are checked once here; the object can be copied to worker processes.
    """

    def __init__(self, config: SynthConfig, seed: int = 0, split: str = "train") -> None:
        if split not in SPLITS:
            raise SynthError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        if seed < 0:
            raise SynthError("seed must be >= 0")
        self.config = config
        self.seed = int(seed)
        self.split = split
        defaults = LANG_DEFAULTS[config.lang]
        try:
            if config.lang in ("arabic", "mixed"):
                require_raqm()
            wanted = self._wanted_alphabet(defaults)
            self.faces = self._load_faces(defaults, wanted)
        except (FontError, CorpusError, RenderError) as exc:
            raise SynthError(str(exc)) from None
        drawable = set().union(*(f.covered for f in self.faces)) | {" "}
        self.dropped = "".join(sorted(set(wanted) - drawable))
        if self.dropped:
            message = f"no font in the {split} split draws " + ", ".join(
                f"{c!r} (U+{ord(c):04X})" for c in self.dropped
            )
            if config.alphabet is not None:
                raise SynthError(message + "; add fonts (--fonts) or change the alphabet")
            warnings.warn(message + "; lines will not contain them", stacklevel=2)
        if config.corpus and config.alphabet is None:
            own = set(corpora.corpus_chars(config.corpus)) - {" "}
            if own and not own & drawable:
                raise SynthError(
                    f"no font in the {split} split draws any character of the corpus "
                    f"{config.corpus} ({shown_chars(sorted(own), 10)}): its lines would be "
                    "empty; add fonts that draw them (--fonts)"
                )
        self.alphabet = "".join(c for c in wanted if c in drawable)
        # Characters every face draws: texts made only of these skip the per-face checks.
        self._common = frozenset.intersection(*(f.covered for f in self.faces))
        self._plain_faces = all(not f.localized_digits for f in self.faces)
        self._texts = _TextMaker(config, self.alphabet)
        self._pipelines: dict[str, tuple[Step, ...]] = {
            name: parse_steps(config.degrade or steps) for name, steps in PRESETS.items()
        }
        self._renderer: LineRenderer | None = None

    def _wanted_alphabet(self, defaults: _LangDefaults) -> str:
        cfg = self.config
        if cfg.alphabet is not None:
            return "".join(dict.fromkeys(cfg.alphabet))
        wanted = defaults.alphabet
        if not cfg.diacritics:
            wanted = "".join(c for c in wanted if c not in HARAKAT)
        if not cfg.tatweel:
            wanted = wanted.replace(TATWEEL, "")
        if cfg.corpus:
            extra = corpora.corpus_chars(cfg.corpus)
            wanted = "".join(dict.fromkeys(wanted + extra))
        return wanted

    def _load_faces(self, defaults: _LangDefaults, wanted: str) -> list[FontFace]:
        cfg = self.config
        if cfg.style == "captcha":
            # The captcha package's own font first (the Kaggle CAPTCHA look), then others.
            own = load_faces(captcha_default_fonts(), wanted, required=defaults.required)
            others = (
                load_faces(
                    cfg.fonts, wanted, script=defaults.script or None, required=defaults.required
                )
                if cfg.fonts
                else []
            )
            faces = (others or own) if cfg.fonts else own
            if not faces:
                faces = fonts_split(load_faces((), wanted, required=defaults.required), self.split)
        else:
            every = load_faces(
                cfg.fonts, wanted, script=defaults.script or None, required=defaults.required
            )
            faces = fonts_split(every, self.split)
            if every and not faces:
                families = ", ".join(sorted({f.family for f in every}))
                raise SynthError(
                    f"none of the font families ({families}) is in the {self.split} split "
                    f"(about a quarter of families are held out for val); add fonts or use "
                    f"--font-split all"
                )
        if not faces:
            where = ", ".join(cfg.fonts) if cfg.fonts else "the system fonts"
            raise SynthError(
                f"no font in {where} (split {self.split}) draws all of "
                f"{defaults.required!r}; install fonts "
                f"(scripts/install-system-deps.sh) or pass --fonts"
            )
        return faces

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_renderer": None}

    @property
    def renderer(self) -> LineRenderer:
        if self._renderer is None:
            self._renderer = LineRenderer()
        return self._renderer

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        if index < 0:
            raise SynthError(f"sample index must be >= 0, got {index}")
        return np.random.default_rng([self.seed, index, _SPLIT_CODE[self.split], stream])

    def faces_for(self, text: str) -> list[FontFace]:
        """The faces of this split that draw every character of ``text``."""
        if self._common.issuperset(text) and (
            self._plain_faces or not any("0" <= c <= "9" for c in text)
        ):
            return self.faces
        return [f for f in self.faces if f.can_render(text)]

    def text(self, index: int) -> str:
        """The label of sample ``index`` (cheap: no drawing)."""
        rng = self._rng(index, 0)
        for _ in range(_MAX_TEXT_ATTEMPTS):
            text = self._texts.text(rng)
            if self.faces_for(text):
                return text
        raise SynthError("no font covers the generated texts; check the alphabet and fonts")

    def sample(self, index: int) -> tuple[np.ndarray, str]:
        """Sample ``index``: (uint8 H x W image, label in logical order)."""
        s = self.sample_info(index)
        return s.image, s.text

    def sample_info(self, index: int) -> SynthSample:
        text = self.text(index)
        return self.render(text, index)

    def style_of(self, index: int) -> str:
        style = self.config.style
        assert style is not None
        if style != "mix":
            return style
        names = list(MIX_WEIGHTS)
        weights = np.array([MIX_WEIGHTS[n] for n in names])
        return names[int(self._rng(index, 3).choice(len(names), p=weights / weights.sum()))]

    def render(self, text: str, index: int = 0) -> SynthSample:
        """Draw ``text`` as sample ``index`` would be drawn, with a face that covers it.

        Raises :class:`SynthError` if no face of this split draws every character.
        """
        faces = self.faces_for(text)
        if not faces:
            missing = sorted({c for c in text if not any(c in f.covered for f in self.faces)})
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing) or "this combination"
            raise SynthError(f"no font of the {self.split} split draws {shown} in {text!r}")
        layout = self._rng(index, 1)
        families = sorted({f.family for f in faces})
        family = families[int(layout.integers(len(families)))]
        in_family = [f for f in faces if f.family == family]
        face = in_family[int(layout.integers(len(in_family)))]
        style = self.style_of(index)
        try:
            if style == "captcha":
                seed = int(layout.integers(2**62))
                image = render_captcha(text, [face.path], seed)
            else:
                cfg = self.config
                image = self.renderer.render(
                    text, face, layout, min_height=cfg.min_height, max_height=cfg.max_height
                )
                image = _loosen(image, self._rng(index, 4), cfg.loose)
                image = apply_steps(
                    image, self._pipelines[style], self._rng(index, 2), geometry_rng=layout
                )
        except RenderError as exc:
            raise SynthError(str(exc)) from None
        return SynthSample(np.ascontiguousarray(image, dtype=np.uint8), text, face.path, style)

    def describe(self) -> dict[str, Any]:
        """What a manifest needs to regenerate this synthesizer's samples exactly."""
        return {
            "config": self.config.to_dict(),
            "seed": self.seed,
            "split": self.split,
            "alphabet": self.alphabet,
            "fonts": [f.to_dict() for f in self.faces],
            "pipelines": {k: [str(s) for s in v] for k, v in self._pipelines.items()},
        }


def __getattr__(name: str) -> Any:
    """``SynthStream`` lives in :mod:`lineocr.data.stream` (it needs torch); import it lazily."""
    if name == "SynthStream":
        from lineocr.data.stream import SynthStream

        return SynthStream
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LANGS",
    "SPEC_OPTIONS",
    "STYLES",
    "LineSynthesizer",
    "SynthConfig",
    "SynthError",
    "SynthSample",
    "SynthStream",
    "parse_synth_spec",
]
