"""Synthetic text lines: ``LineSynthesizer`` turns an index into a line image and its text.

The sample is a uint8 grey line image (ink dark, paper light, about 32-64 px tall) and its
text in logical order. The same ``(config, seed, split, index)`` always gives the same sample,
so a dataset can be streamed (:class:`~lineocr.data.stream.SynthStream`), written
(:mod:`lineocr.data.synth_output`) or regenerated from its ``synth.json``. What to make is a
:class:`SynthConfig` (:mod:`~lineocr.data.synth_config`, re-exported here with the spec
parser); texts come from :mod:`~lineocr.data.synth_text`, fonts from
:mod:`~lineocr.data.fonts` (a face is used only for text it fully covers: no tofu), drawing
from :mod:`~lineocr.data.render`, degradations from :mod:`~lineocr.data.degrade`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lineocr.charset import shown_chars
from lineocr.data import corpora
from lineocr.data.corpora import HARAKAT, TATWEEL, CorpusError
from lineocr.data.degrade import MIX_WEIGHTS, PRESETS, Step, apply_steps, parse_steps
from lineocr.data.fonts import (
    SPLITS,
    FontError,
    FontFace,
    fonts_split,
    is_arabic_letter,
    load_faces,
)
from lineocr.data.render import (
    LineRenderer,
    RenderError,
    captcha_default_fonts,
    render_captcha,
    require_raqm,
)
from lineocr.data.synth_config import (
    CORPUS_MODES,
    DEFAULT_RATIO,
    LANG_DEFAULTS,
    LANGS,
    LENGTH_DISTS,
    SPEC_OPTIONS,
    STYLES,
    SynthConfig,
    SynthError,
    _LangDefaults,
    parse_synth_spec,
)
from lineocr.data.synth_text import _MAX_TEXT_ATTEMPTS, _TextMaker

if TYPE_CHECKING:
    from lineocr.data.stream import SynthStream


_SPLIT_CODE = {"train": 0, "val": 1, "all": 2}
_U32 = 2**32 - 1


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


_MAX_CHOICES = 4096  # sets of uncommon characters remembered (a few dozen in practice)


@dataclass(frozen=True)
class _FaceChoice:
    """The faces that draw a text, its families sorted, and each family's faces in order:
    what a line draws its font from."""

    faces: list[FontFace]
    families: list[str]
    by_family: dict[str, list[FontFace]]

    @classmethod
    def of(cls, faces: list[FontFace]) -> _FaceChoice:
        by_family: dict[str, list[FontFace]] = {}
        for f in faces:
            by_family.setdefault(f.family, []).append(f)
        return cls(faces, sorted(by_family), by_family)


@dataclass(frozen=True)
class SynthSample:
    """One generated line with what made it (for manifests, previews and debugging)."""

    image: np.ndarray
    text: str
    font: str  # path of the face used
    style: str


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
        self._choices: dict[tuple[frozenset[str], bool], _FaceChoice] = {}
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
        return {**self.__dict__, "_renderer": None, "_choices": {}}

    @property
    def renderer(self) -> LineRenderer:
        if self._renderer is None:
            self._renderer = LineRenderer()
        return self._renderer

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        if index < 0:
            raise SynthError(f"sample index must be >= 0, got {index}")
        key = (self.seed, index, _SPLIT_CODE[self.split], stream)
        if self.seed <= _U32 and index <= _U32:
            # SeedSequence turns each int below 2**32 into one uint32 word, so this array is
            # the same seed as the list, without the per-int conversion: a third faster.
            return np.random.default_rng(np.array(key, dtype=np.uint32))
        return np.random.default_rng(list(key))

    def faces_for(self, text: str) -> list[FontFace]:
        """The faces of this split that draw every character of ``text``."""
        return self._choice(text).faces

    def _choice(self, text: str) -> _FaceChoice:
        """:meth:`faces_for` with their families, worked out once per set of the text's
        characters that not every face draws (a face draws ``text`` if it draws those, and,
        for the few faces that draw 0-9 as Arabic-Indic digits, if ``text`` does not mix
        Western digits with Arabic letters): most texts have none, and sorting the families
        and checking ~100 faces for every line cost 0.1 ms of the line's ~2.5 (cProfile)."""
        rare = frozenset(text).difference(self._common)
        mixes_digits = (
            not self._plain_faces
            and any("0" <= c <= "9" for c in text)
            and any(is_arabic_letter(c) for c in text)
        )
        key = (rare, mixes_digits)
        choice = self._choices.get(key)
        if choice is None:
            faces = [
                f
                for f in self.faces
                if f.covered.issuperset(rare) and not (mixes_digits and f.localized_digits)
            ]
            choice = _FaceChoice.of(faces)
            if len(self._choices) >= _MAX_CHOICES:
                self._choices.clear()
            self._choices[key] = choice
        return choice

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
        choice = self._choice(text)
        if not choice.faces:
            missing = sorted({c for c in text if not any(c in f.covered for f in self.faces)})
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing) or "this combination"
            raise SynthError(f"no font of the {self.split} split draws {shown} in {text!r}")
        layout = self._rng(index, 1)
        family = choice.families[int(layout.integers(len(choice.families)))]
        in_family = choice.by_family[family]
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
                if cfg.loose:  # (its own stream: without it, nothing else moves)
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
    "CORPUS_MODES",
    "DEFAULT_RATIO",
    "LANGS",
    "LANG_DEFAULTS",
    "LENGTH_DISTS",
    "SPEC_OPTIONS",
    "STYLES",
    "LineSynthesizer",
    "SynthConfig",
    "SynthError",
    "SynthSample",
    "SynthStream",
    "parse_synth_spec",
]
