"""The models a server holds: loaded once at start-up, looked up by name per request.

A model that fails to load is logged and reported by ``/readyz``; the others are served.
Per-request options (decoder, pattern, lexicon, preprocessing ops) are checked here and
turned into a runner for the batcher; requests with equal options share batches.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lineocr.deadline import DeadlineExceeded, run_with_deadline
from lineocr.decode import DEFAULT_BEAM_WIDTH, DecodeError
from lineocr.preprocess import target_width
from lineocr.serve.errors import ApiError
from lineocr.serve.settings import Settings
from lineocr.tta import VIEWS

if TYPE_CHECKING:
    from lineocr.runtime import CancelToken

log = logging.getLogger("lineocr.serve")

Loader = Callable[..., Any]  # (model name or path, threads=...) -> a Recognizer
MAX_VARIANTS = 32  # distinct preprocessing overrides kept per model
# What an image costs the batcher, in ordinary lines' work (docs/serving.md, Batching): one
# unit per COST_WIDTH pixels of the line as the model reads it (a printed line of ~40
# characters is about 650 at height 32; the widest, 2,048, is two) times one per COST_BEAM of
# beam width when a beam search runs (the default 10 is one, the limit 64 four; the timings
# behind these units are in docs/serving.md, Micro-batching).
COST_WIDTH = 1024
COST_BEAM = 16


@dataclass(frozen=True)
class ReadOptions:
    """A request's reading options, checked; hashable, so it keys batches."""

    model: str
    decoder: str | None = None
    beam_width: int | None = None
    pattern: str | None = None
    lexicon: str | None = None
    ops: tuple[str, ...] | None = None
    lm: str | None = None
    lm_weight: float | None = None
    length_bonus: float | None = None
    tta: bool = False

    @property
    def lines_per_image(self) -> int:
        """The lines the model reads for one image: one, or one per view with ``tta``."""
        return len(VIEWS) if self.tta else 1

    @property
    def beam_units(self) -> int:
        """The decoding work per line, in greedy lines: 1 without a beam search (a pattern,
        a lexicon and a language model all run one), else one per :data:`COST_BEAM` of beam
        width."""
        if not (self.decoder == "beam" or self.pattern or self.lexicon or self.lm):
            return 1
        return -(-(self.beam_width or DEFAULT_BEAM_WIDTH) // COST_BEAM)


@dataclass(frozen=True)
class PlacedLine:
    """A page's line crop handed to the batcher: read with its characters' places on it
    (``read_batch(..., positions=...)``), which place the page's words. A plain line image
    is handed over as its array, and is read without them: in the same batch, its text is
    the same either way, and only the page's lines pay for the alignment."""

    image: np.ndarray


@dataclass(frozen=True)
class ViewedLine:
    """A page's line crop handed to the batcher for a field's second look: its logits in
    each of the test-time-augmentation views ``names``
    (:meth:`lineocr.runtime.Recognizer.read_view_logits`), costed as that many lines."""

    image: np.ndarray
    names: tuple[str, ...]


def line_image(item: np.ndarray | PlacedLine | ViewedLine) -> np.ndarray:
    """The image of an item handed to the batcher (a line image, a :class:`PlacedLine` or a
    :class:`ViewedLine`)."""
    return item.image if isinstance(item, PlacedLine | ViewedLine) else item


@dataclass(frozen=True)
class Resources:
    """What requests may name: the server's lexicons and language models."""

    lexicons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    language_models: dict[str, Any] = field(default_factory=dict)


class LoadedModel:
    def __init__(self, name: str, recognizer: Any) -> None:
        self.name = name
        self.recognizer = recognizer
        self.version = str(getattr(recognizer, "version", "") or "unknown")
        self._variants: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def line_height(self) -> int:
        """The model's input height: what the ``auto`` layout measures an image's ink by."""
        spec = getattr(self.recognizer, "spec", None)
        return int(getattr(spec, "height", 0) or 32)

    def card(self, default: bool) -> dict[str, Any]:
        rec = self.recognizer
        spec = getattr(rec, "spec", None)
        charset = getattr(rec, "charset", None)
        return {
            "name": self.name,
            "version": self.version,
            "default": default,
            "height": int(getattr(spec, "height", 0) or 0),
            "charset_size": len(getattr(charset, "chars", "") or ""),
            "preprocess": list(getattr(spec, "ops", ()) or ()),
            "card": _jsonable(getattr(rec, "metadata", {}) or {}),
        }

    def with_ops(self, ops: tuple[str, ...] | None) -> Any:
        """The recognizer with its preprocessing ops replaced (sharing the ONNX session)."""
        if ops is None:
            return self.recognizer
        with self._lock:
            if ops in self._variants:
                self._variants.move_to_end(ops)
                return self._variants[ops]
            rec = self.recognizer
            spec = rec.spec.with_ops(ops)
            if hasattr(rec, "with_spec"):
                variant = rec.with_spec(spec)
            else:  # a shallow copy: same session and charset, another spec
                variant = copy.copy(rec)
                object.__setattr__(variant, "spec", spec)
            self._variants[ops] = variant
            if len(self._variants) > MAX_VARIANTS:
                self._variants.popitem(last=False)
            return variant

    def decode_options(self, options: ReadOptions, resources: Resources) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if options.decoder is not None:
            kwargs["decoder"] = options.decoder
        if options.beam_width is not None:
            kwargs["beam_width"] = options.beam_width
        if options.pattern is not None:
            kwargs["pattern"] = options.pattern
        if options.lexicon is not None:
            kwargs["lexicon"] = list(resources.lexicons[options.lexicon])
        if options.lm is not None:
            kwargs["lm"] = resources.language_models[options.lm]
        if options.lm_weight is not None:  # without lm: the decoder refuses it (422)
            kwargs["lm_weight"] = options.lm_weight
        if options.length_bonus is not None:
            kwargs["length_bonus"] = options.length_bonus
        return kwargs

    def check_decoder(self, kwargs: dict[str, Any], budget_s: float) -> Any:
        """Build the decoder for these options, within ``budget_s`` seconds of CPU work, and
        return it (None when the recognizer builds none): a regex can compile to an
        automaton exponential in its size (``(a|b)*a(a|b){14}`` takes minutes), so a
        pattern that takes longer is refused instead of occupying a core. Raises
        :class:`ApiError` (422) for a pattern over the budget or options the decoder refuses
        (:class:`DecodeError`); anything else it raises is a bug, and propagates."""
        make = getattr(self.recognizer, "decoder", None)
        if make is None or not kwargs:
            return None
        try:
            return run_with_deadline(lambda: make(**kwargs), budget_s)
        except DeadlineExceeded:
            raise ApiError(
                422,
                "pattern_too_complex",
                f"the pattern takes more than {budget_s:g} s to compile; simplify it",
            ) from None
        except DecodeError as exc:  # a bad regex, an option clash
            raise ApiError(422, "invalid_options", str(exc)) from None

    def image_cost(self, options: ReadOptions, image: np.ndarray) -> int:
        """What reading ``image`` with ``options`` costs the batcher (``max_batch``,
        ``max_queue``): its lines (12 with ``tta``) x its width units x the beam's units."""
        spec = getattr(self.recognizer, "spec", None)  # its ops do not change the width
        widths = 1
        if spec is not None:
            width = target_width(int(image.shape[1]), int(image.shape[0]), spec)
            widths = max(1, -(-width // COST_WIDTH))
        return options.lines_per_image * widths * options.beam_units

    def runner(
        self, options: ReadOptions, resources: Resources, decoder: Any = None
    ) -> Callable[[Sequence[np.ndarray | PlacedLine], CancelToken | None], list[Any]]:
        """Read a group of images with these options (a :class:`CancelToken` given to the
        runner stops it); with ``decoder`` (what :meth:`check_decoder` built and checked),
        with that very decoder: looked up again by its options, it could have left the
        recognizer's cache since, and be compiled anew outside the budget. A
        :class:`PlacedLine` of the group is read with its characters' places, the plain
        images of the same ONNX batch without."""
        rec = self.with_ops(options.ops)
        kwargs = (
            {"built_decoder": decoder}
            if decoder is not None
            else self.decode_options(options, resources)
        )

        if options.tta:
            kwargs = {**kwargs, "tta": True}
        lines = options.lines_per_image

        def run(
            items: Sequence[np.ndarray | PlacedLine], cancel: CancelToken | None = None
        ) -> list[Any]:
            images = [line_image(item) for item in items]
            placed = [isinstance(item, PlacedLine) for item in items]
            # only a group holding a page's lines asks for places (with tta the views vote
            # on the text, and nothing is placed)
            where = {"positions": placed} if any(placed) else {}
            # one ONNX batch for the group: every view of every image with tta
            return list(
                rec.read_batch(
                    images, batch_size=len(images) * lines, cancel=cancel, **kwargs, **where
                )
            )

        return run


class ModelSet:
    """The loaded models in order (the first is the default) and the ones that failed."""

    def __init__(self) -> None:
        self.models: dict[str, LoadedModel] = {}
        self.failed: dict[str, str] = {}
        self.loads = 0

    @property
    def default(self) -> LoadedModel | None:
        return next(iter(self.models.values()), None)

    def get(self, name: str | None) -> LoadedModel:
        if not self.models:
            raise ApiError(503, "no_models", "no model is loaded; see /readyz")
        if name is None or name == "":
            model = self.default
            assert model is not None
            return model
        if name not in self.models:
            raise ApiError(
                422, "unknown_model", f"unknown model {name!r}; loaded: {', '.join(self.models)}"
            )
        return self.models[name]

    @classmethod
    def load(cls, settings: Settings, loader: Loader | None = None) -> ModelSet:
        """Load every model named in the settings (or every bundled one) once."""
        out = cls()
        if loader is None:
            from lineocr.runtime import Recognizer

            loader = Recognizer.load
        names = list(settings.models) or _bundled_names(out.failed)
        for ident in names:
            try:
                rec = loader(ident, threads=settings.threads)
            except Exception as exc:  # a missing or broken model must not stop the others
                out.failed[str(ident)] = _reason(exc)
                log.error("model %s not loaded: %s", ident, _reason(exc))
                continue
            out.loads += 1
            name = _unique_name(_model_name(ident, rec), out.models)
            out.models[name] = LoadedModel(name, rec)
            log.info("model %s loaded (version %s) from %s", name, out.models[name].version, ident)
        if not out.models:
            log.error("no model loaded; /readyz answers 503 until one is configured")
        return out


def _bundled_names(failed: dict[str, str]) -> list[str]:
    """Every bundled model whose file exists; the others are reported as not built."""
    try:
        from lineocr import zoo

        infos = zoo.list_models(cards=False)
    except Exception as exc:
        failed["bundled models"] = _reason(exc)
        log.error("cannot list bundled models: %s", _reason(exc))
        return []
    names = []
    for info in infos:
        if info.built:
            names.append(info.name)
        else:
            failed[info.name] = f"not built: no file {info.path}"
            log.warning("bundled model %s is not built (no %s)", info.name, info.path)
    return names


def _model_name(ident: str, rec: Any) -> str:
    path = Path(str(ident))
    if path.suffix == ".onnx" or path.exists():
        return str(getattr(rec, "name", "") or path.stem)
    return str(ident)  # a bundled name stays the name clients use


def _unique_name(name: str, taken: dict[str, Any]) -> str:
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name}-{i}", i + 1
    return candidate


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


def check_ops(ops: Sequence[str], settings: Settings) -> tuple[str, ...]:
    """Preprocessing overrides: known, allowed ops; each parameter within its op's range
    (:data:`lineocr.preprocess.PARAM_RANGES`, which also bounds each op's cost)."""
    from lineocr.preprocess import OPS, PreprocessError, PreprocessSpec

    allowed = set(settings.allowed_ops if settings.allowed_ops is not None else OPS)
    ops = tuple(op.strip() for op in ops if op.strip())
    if len(ops) > settings.max_ops:
        raise ApiError(422, "invalid_preprocess", f"at most {settings.max_ops} preprocessing ops")
    for op in ops:
        name = op.partition(":")[0]
        if name.strip() not in allowed:
            raise ApiError(
                422,
                "invalid_preprocess",
                f"preprocessing op {name.strip()!r} is not allowed; "
                f"allowed: {', '.join(sorted(allowed))}",
            )
    try:
        PreprocessSpec(ops=ops)
    except PreprocessError as exc:
        raise ApiError(422, "invalid_preprocess", str(exc)) from None
    return ops


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
