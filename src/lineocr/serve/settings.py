"""Server settings: one frozen dataclass with safe defaults, from code, the CLI or the environment.

Every limit the server enforces lives here, so ``lineocr serve``, the Docker image (through
``LINEOCR_SERVE_*`` environment variables) and the tests configure the same object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from lineocr.images import DEFAULT_MAX_PIXELS, FORMAT_ORDER

# What the server accepts by default. ALLOWED_FORMATS may name any format lineocr.images reads
# (FORMAT_ORDER: GIF and PPM too), never EPS/PS/PDF (Ghostscript), which it does not.
SERVE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "TIFF", "BMP")
# Names people write for a format -> Pillow's name, which the server's checks compare with.
FORMAT_ALIASES = {"JPG": "JPEG", "TIF": "TIFF", "PNM": "PPM", "PGM": "PPM", "PBM": "PPM"}
ENV_PREFIX = "LINEOCR_SERVE_"
SETTINGS_ENV = "LINEOCR_SERVE_SETTINGS"  # the whole settings as JSON (used by --workers)


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """A bad setting; the message names it."""


@dataclass(frozen=True)
class Settings:
    """How the server runs and what it accepts. Defaults are the safe ones."""

    host: str = "127.0.0.1"
    port: int = 8000
    # Bundled model names or .onnx paths; empty means every bundled model that loads.
    models: tuple[str, ...] = ()
    threads: int | None = None  # ONNX Runtime intra-op threads per model (None: its default)
    # Micro-batching: images from concurrent requests share one ONNX batch.
    batching: bool = True
    max_batch: int = 32  # lines per ONNX batch: an image is one, a tta image one per view
    batch_timeout_ms: float = 5.0
    inference_workers: int = 1  # batches run at the same time (each in a worker thread)
    max_queue: int = 1024  # lines waiting for a batch (as max_batch); beyond it requests get 503
    # Pages (the layout option): laid out in this many threads at once; their lines are
    # read through the batcher with every other request's lines.
    page_workers: int = 2
    # Limits.
    max_body_bytes: int = 10 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS  # per image
    # Decoded pixels: per request (from the headers: an image past it gets a 413 in its slot)
    # and held by all requests at once (a request waits for room): large blank images are
    # small to upload and large to hold (docs/serving.md, Settings and limits).
    max_request_pixels: int = 2 * DEFAULT_MAX_PIXELS
    max_pixels_in_flight: int = 4 * DEFAULT_MAX_PIXELS
    max_images_per_request: int = 16
    request_timeout_s: float = 30.0
    allowed_formats: tuple[str, ...] = SERVE_FORMATS
    allowed_ops: tuple[str, ...] | None = None  # preprocess override ops; None: all of OPS
    max_ops: int = 8
    max_pattern_length: int = 200
    pattern_budget_s: float = 2.0  # CPU seconds a regex may take to compile for the decoder
    max_beam_width: int = 64
    # Test-time augmentation (the ``tta`` option): a tta image counts as 12 lines against
    # max_batch and max_queue; False refuses it (422 ``tta_disabled``).
    allow_tta: bool = True
    # Named lexicons clients may ask for: name -> a word-list file (one word per line).
    lexicons: Mapping[str, str] = field(default_factory=dict)
    # Named character language models (`lineocr lm` files): name -> file.
    language_models: Mapping[str, str] = field(default_factory=dict)
    # Connections (lineocr.serve.connections): a request head must be complete this long
    # after the connection opened or the previous response, else the connection is closed.
    header_timeout_s: float = 10.0
    # Open connections at most; 0: three quarters of the open-files limit (raised to the hard
    # limit at start). Over it, the oldest connection waiting for a request head is closed,
    # or, all being busy, the new one gets 503.
    max_connections: int = 0
    # Shutdown: seconds uvicorn waits for in-flight requests after SIGTERM.
    shutdown_timeout_s: float = 30.0
    log_level: str = "info"

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "allowed_formats", _format_names(self.allowed_formats))
        if self.allowed_ops is not None:
            object.__setattr__(self, "allowed_ops", tuple(self.allowed_ops))
        object.__setattr__(self, "lexicons", dict(self.lexicons))
        object.__setattr__(self, "language_models", dict(self.language_models))
        for name in (
            "max_batch",
            "max_queue",
            "max_body_bytes",
            "max_pixels",
            "max_request_pixels",
            "max_pixels_in_flight",
            "max_images_per_request",
            "inference_workers",
            "page_workers",
            "max_beam_width",
        ):
            if int(getattr(self, name)) < 1:
                raise SettingsError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_pixels_in_flight < self.max_request_pixels:
            raise SettingsError(
                f"max_pixels_in_flight ({self.max_pixels_in_flight:,}) must be at least "
                f"max_request_pixels ({self.max_request_pixels:,})"
            )
        if not (self.batch_timeout_ms >= 0 and self.request_timeout_s > 0):  # NaN fails too
            raise SettingsError("batch_timeout_ms must be >= 0 and request_timeout_s > 0")
        if not self.header_timeout_s > 0:  # NaN fails too
            raise SettingsError(f"header_timeout_s must be > 0, got {self.header_timeout_s}")
        if int(self.max_connections) < 0:
            raise SettingsError(
                f"max_connections must be 0 (from the open-files limit) or more, "
                f"got {self.max_connections}"
            )
        if not 0 <= int(self.port) <= 65535:
            raise SettingsError(f"port must be within 0-65535, got {self.port}")
        if str(self.log_level).lower() not in LOG_LEVELS:
            raise SettingsError(
                f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}"
            )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SettingsError(f"unknown settings: {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(data))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``LINEOCR_SERVE_<NAME>`` variables over the defaults, e.g.
        ``LINEOCR_SERVE_MODELS=printed,digits``, ``LINEOCR_SERVE_MAX_BATCH=16``,
        ``LINEOCR_SERVE_LEXICONS=cities=/data/cities.txt``,
        ``LINEOCR_SERVE_LANGUAGE_MODELS=arabic=/data/ar.lm.json``; or, when it is set, from
        ``LINEOCR_SERVE_SETTINGS`` alone (the complete settings as JSON, which
        ``lineocr serve --workers`` hands to its worker processes)."""
        env = os.environ if environ is None else environ
        if env.get(SETTINGS_ENV):
            try:
                return cls.from_mapping(json.loads(env[SETTINGS_ENV]))
            except (json.JSONDecodeError, TypeError) as exc:
                raise SettingsError(f"{SETTINGS_ENV}: {exc}") from None
        settings = cls()
        changes: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            changes[f.name] = _parse_env(f.name, raw, getattr(settings, f.name))
        return replace(settings, **changes) if changes else settings

    def lexicon_words(self) -> dict[str, tuple[str, ...]]:
        """Read the named lexicon files (at start-up, once), as ``lineocr read --lexicon``
        does (:func:`lineocr.decode.load_lexicon`: UTF-8, whitespace-separated words)."""
        from lineocr.decode import DecodeError, load_lexicon

        out: dict[str, tuple[str, ...]] = {}
        for name, path in self.lexicons.items():
            try:
                out[name] = load_lexicon(path)
            except DecodeError as exc:
                raise SettingsError(f"lexicon {name!r}: {exc}") from None
        return out

    def load_language_models(self) -> dict[str, Any]:
        """Read the named language model files (at start-up, once)."""
        from lineocr.lm import CharNgramLM, LMError

        out: dict[str, Any] = {}
        for name, path in self.language_models.items():
            try:
                out[name] = CharNgramLM.load(path)
            except LMError as exc:
                raise SettingsError(f"language model {name!r}: {exc}") from None
        return out


def _format_names(names: Any) -> tuple[str, ...]:
    """Pillow's names for ``names``, checked at start-up: a name the server cannot read would
    otherwise start a server whose 415 answers offer that name to every client."""
    if isinstance(names, str):  # "PNG" would be read as the formats P, N and G
        names = (names,)
    out: list[str] = []
    for raw in names:
        name = str(raw).strip().upper()
        name = FORMAT_ALIASES.get(name, name)
        if name in {"EPS", "PS", "PDF"}:
            raise SettingsError(f"allowed_formats: {raw!r} is never served (it runs Ghostscript)")
        if name not in FORMAT_ORDER:
            aliases = ", ".join(f"{alias}={f}" for alias, f in FORMAT_ALIASES.items())
            raise SettingsError(
                f"allowed_formats: unknown format {raw!r}; "
                f"accepted: {', '.join(FORMAT_ORDER)} (aliases: {aliases})"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise SettingsError("allowed_formats must name at least one format")
    return tuple(out)


def _parse_env(name: str, raw: str, current: Any) -> Any:
    try:
        if name in ("lexicons", "language_models"):
            pairs = [item.partition("=") for item in raw.split(",") if item.strip()]
            return {k.strip(): v.strip() for k, _, v in pairs}
        if isinstance(current, bool):
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(current, tuple) or (current is None and name == "allowed_ops"):
            return tuple(x.strip() for x in raw.split(",") if x.strip())
        if isinstance(current, int) or (current is None and name == "threads"):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not valid") from None
    return raw
