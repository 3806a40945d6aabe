"""The texts of synthetic lines: words, form fields and random strings over one alphabet."""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np

from lineocr.data import corpora
from lineocr.data.corpora import ARABIC_LETTERS, HARAKAT, TATWEEL, Lexicon
from lineocr.data.render import needs_complex_layout
from lineocr.data.synth_config import SynthConfig, SynthError

_MAX_TEXT_ATTEMPTS = 64


_ARABIC_WORD_CHARS = frozenset(ARABIC_LETTERS + HARAKAT + TATWEEL)
_WORD_MARKS = str.maketrans("", "", "'-.")


def _is_word(word: str, script: str) -> bool:
    """Arabic: letters, harakat and tatweel only. Latin: letters (at least one), apostrophes,
    hyphens and full stops. Run on every word of the word list as each process starts (str
    methods rather than a loop over characters: a third of the time)."""
    if script == "arabic":
        return _ARABIC_WORD_CHARS.issuperset(word)
    return word.translate(_WORD_MARKS).isalpha()


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
        words: list[str]
        if self.config.corpus_mode == "lines":
            words = list(lines[int(rng.integers(len(lines)))])
            start = int(rng.integers(len(words))) if len(" ".join(words)) > target else 0
        else:  # running text: from a random word on, across the following lines
            line_no = int(rng.integers(len(lines)))
            start = int(rng.integers(len(lines[line_no])))
            words, length = list(lines[line_no]), len(" ".join(lines[line_no][start:]))
            for line in lines[line_no + 1 : line_no + 64]:
                if length >= target:
                    break
                words.extend(line)
                length += 1 + len(" ".join(line))
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
