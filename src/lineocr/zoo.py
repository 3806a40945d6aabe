"""Bundled models: an explicit registry of names -> ONNX files under ``lineocr/models_data/``.

Each file is a self-describing lineocr ONNX export; its model card (charset, preprocessing,
data, metrics, calibration) is read from the file's metadata. A name whose file has not been
built yet is listed as not built rather than failing. Imports no torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parent / "models_data"
DEFAULT_MODEL = "printed"
METADATA_KEY = "lineocr"  # the ONNX metadata_props key of the model card (JSON)
# Levels of nesting a card may have (lineocr's own have 5): a deeper one is refused, as the
# server's /v1/models and other readers walk it recursively.
MAX_CARD_DEPTH = 32
# Bytes (UTF-8) a card may have: lineocr's own have about 16 KB. The server sends every loaded
# model's card on each /v1/models call, and the card is parsed on every load.
MAX_CARD_BYTES = 1 << 20

# name -> what it reads; the file is MODELS_DIR / f"{name}.onnx", the card docs/models/NAME.md.
BUNDLED: dict[str, str] = {
    "printed": "printed text lines: Latin (ASCII and the accented letters of western "
    "European languages), Arabic letters, Western and Arabic-Indic digits, common punctuation",
    "arabic-digits": "Arabic-Indic digit strings such as ID numbers, blurred or sharp; "
    "returns Western digits",
    "captcha": "5-character CAPTCHAs of 200x50 pixels",
    "handwritten-digits": "handwritten digit strings (trained on real handwriting: "
    "scikit-learn digits)",
    "printed-fast": "what printed reads, with a smaller, faster network (one LSTM layer), "
    "a little less accurate (more so on Arabic)",
}


# Bundled text-line detectors (docs/pages.md): name -> what it finds; the file is
# MODELS_DIR / f"{name}.onnx", the card docs/models/NAME.md. Apart from BUNDLED: a detector
# is given to `read --detector`, never as a recogniser.
DETECTORS: dict[str, str] = {
    "lines": "text lines of forms, tables and ID cards (learned; the classical analysis "
    "stays the default and reads typeset pages better: docs/pages.md)",
}


def detector_path(name: str) -> Path:
    """The file of a bundled detector; :class:`ModelNotFoundError` if the name is unknown
    or its file is not built."""
    if name not in DETECTORS:
        known = ", ".join(["classical", *DETECTORS])
        raise LookupError(f"no bundled detector named {name!r}; bundled detectors: {known}")
    path = MODELS_DIR / f"{name}.onnx"
    if not path.is_file():
        raise LookupError(f"bundled detector {name!r} is not built yet (expected {path})")
    return path


class ModelNotFoundError(LookupError):
    """An unknown bundled name, a bundled model not built yet, or a missing file."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; bundled models: {', '.join(BUNDLED)}")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str
    path: Path
    built: bool
    size_bytes: int | None = None
    card: dict[str, Any] | None = None
    error: str | None = None  # the file exists but its card cannot be read

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "path": str(self.path),
            "built": self.built,
            "size_bytes": self.size_bytes,
            "card": self.card,
            "error": self.error,
        }


def is_bundled(name: str) -> bool:
    return name in BUNDLED


def bundled_file(name: str) -> Path:
    """Where the bundled model ``name`` lives (whether or not it is built)."""
    if name not in BUNDLED:
        raise ModelNotFoundError(f"no bundled model named {name!r}")
    return MODELS_DIR / f"{name}.onnx"


def model_path(name: str) -> Path:
    """The file of a bundled model; raises :class:`ModelNotFoundError` if the name is unknown
    or its file is not built yet."""
    path = bundled_file(name)
    if not path.is_file():
        raise ModelNotFoundError(
            f"bundled model {name!r} is not built yet (expected {path}; see docs/models/{name}.md)"
        )
    return path


def read_card(path: str | Path) -> dict[str, Any]:
    """The model card stored in an ONNX file's metadata (read with ONNX Runtime)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return card_from_metadata(session.get_modelmeta().custom_metadata_map, str(path))


def json_safe(value: Any) -> Any:
    """``value`` with the numbers JSON has none for (NaN, infinity: the metric of a run that
    diverged) as null, so that strict JSON readers take it (no bare ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def card_json(card: dict[str, Any]) -> str:
    """The card as strict JSON (:func:`json_safe`), as written into a model file."""
    return json.dumps(json_safe(card), ensure_ascii=False, sort_keys=True, allow_nan=False)


def card_too_big(size: int) -> str:
    return f"model card of {size:,} bytes; at most {MAX_CARD_BYTES:,} (1 MiB) are read"


def card_from_metadata(props: dict[str, str], source: str) -> dict[str, Any]:
    """The model card in an ONNX file's metadata_props (``source`` names the file in errors);
    ValueError when it is missing, not a JSON object, larger than :data:`MAX_CARD_BYTES` or
    nested past :data:`MAX_CARD_DEPTH`."""
    if METADATA_KEY not in props:
        raise ValueError(f"{source}: not a lineocr model (no {METADATA_KEY!r} metadata)")
    too_deep = f"{source}: unreadable model card (nested more than {MAX_CARD_DEPTH} levels deep)"
    size = len(props[METADATA_KEY].encode("utf-8", "surrogatepass"))
    if size > MAX_CARD_BYTES:
        raise ValueError(f"{source}: {card_too_big(size)}")
    try:
        card = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: unreadable model card: {exc}") from None
    except RecursionError:  # nested past Python's own limit
        raise ValueError(too_deep) from None
    if not isinstance(card, dict):
        raise ValueError(f"{source}: unreadable model card (not a JSON object)")
    if _depth(card) > MAX_CARD_DEPTH:
        raise ValueError(too_deep)
    return card


def _depth(value: Any) -> int:
    """How many levels of objects and arrays ``value`` nests, counted to one past
    :data:`MAX_CARD_DEPTH` at most (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_CARD_DEPTH:
            stack.extend((child, depth + 1) for child in item)
    return deepest


def list_models(*, cards: bool = True) -> list[ModelInfo]:
    """Every bundled name, built or not; with ``cards`` the built files' cards are read."""
    infos = []
    for name, description in BUNDLED.items():
        path = bundled_file(name)
        if not path.is_file():
            infos.append(ModelInfo(name, description, path, built=False))
            continue
        card, error = None, None
        if cards:
            try:
                card = read_card(path)
            except Exception as exc:  # a broken file is reported, not fatal to the listing
                error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        infos.append(
            ModelInfo(name, description, path, True, path.stat().st_size, card=card, error=error)
        )
    return infos


def weights_path(name: str) -> Path:
    """The training weights of a bundled model (``NAME.safetensors`` + ``NAME.json``, fp16),
    shipped beside the ONNX file so that ``lineocr train --init-from NAME`` can fine-tune it."""
    path = bundled_file(name).with_suffix(".safetensors")
    if not path.is_file() or not path.with_suffix(".json").is_file():
        raise ModelNotFoundError(
            f"bundled model {name!r} has no training weights to fine-tune from (expected {path})"
        )
    return path
