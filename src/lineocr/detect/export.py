"""A detector checkpoint -> one self-describing ONNX file: the score-map graph (input
``input`` (N, 1, H, W) float32, H and W free multiples of 16 -> ``core`` (N, 1, H/s, W/s)
logits) with its card in the metadata (the spec: input size rule, normalisation, core
rule and post-processing thresholds; metrics; history; data), checked against PyTorch on
page sizes other than the traced one, or no file is written. Needs PyTorch and onnx.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from lineocr import __version__
from lineocr.detect.checkpoint import DetectorMeta, load
from lineocr.detect.spec import FORMAT, INPUT_NAME, OUTPUT_NAME
from lineocr.export import OPSET, ExportError, card_history
from lineocr.zoo import MAX_CARD_BYTES, METADATA_KEY, card_json, card_too_big

PARITY_ATOL = 1e-3  # logits; the maps are thresholded at probability 0.5
NORMALISATION = "grey / 255, minus 0.5, divided by 0.25"


def detector_card(meta: DetectorMeta, onnx_info: dict[str, Any]) -> dict[str, Any]:
    card = meta.to_dict()
    card["history"], kept = card_history(card.get("history") or [])
    if kept is not None:
        card["history_kept"] = kept
    card["input"] = {
        "long_side": meta.spec.long_side,
        "size_multiple": 16,
        "resize": "the page scaled so its long side is long_side, padded at the bottom and "
        "right (edge repeated) to a multiple of size_multiple",
        "normalisation": NORMALISATION,
    }
    card["onnx"] = onnx_info
    return card


def _trace(model: nn.Module, path: Path) -> None:
    model = copy.deepcopy(model).cpu().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 1, 256, 192),),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={
                INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                OUTPUT_NAME: {0: "batch", 2: "rows", 3: "columns"},
            },
            do_constant_folding=True,
        )


def check_parity(model: nn.Module, path: Path, seed: int = 0) -> float:
    """The largest |logit difference| of ONNX Runtime against PyTorch on two page sizes
    the graph was not traced with; an :class:`ExportError` past :data:`PARITY_ATOL`."""
    model = copy.deepcopy(model).cpu().eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    worst = 0.0
    for shape in ((1, 1, 320, 224), (2, 1, 176, 400)):
        x = rng.normal(0, 1, shape).astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
        if got.shape != expected.shape:
            raise ExportError(f"ONNX output shape {got.shape} != PyTorch {expected.shape}")
        if not (np.isfinite(got).all() and np.isfinite(expected).all()):
            raise ExportError("the detector's outputs are not finite (broken weights?)")
        worst = max(worst, float(np.abs(got - expected).max()))
    if worst > PARITY_ATOL:
        raise ExportError(f"ONNX parity check failed: max |logit difference| {worst:.2e}")
    return worst


def write_card(path: Path, card: dict[str, Any]) -> None:
    text = card_json(card)
    size = len(text.encode("utf-8"))
    if size > MAX_CARD_BYTES:
        raise ExportError(card_too_big(size))
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    spec = card.get("detector", {})
    for key, value in {
        METADATA_KEY: text,
        "lineocr_format": FORMAT,
        "lineocr_version": __version__,
        "name": str(card.get("name", "detector")),
        "kind": "detector",
        "long_side": str(spec.get("long_side", "")),
        "stride": str(spec.get("stride", "")),
    }.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "lineocr"
    proto.producer_version = __version__
    proto.doc_string = f"lineocr text-line detector {card.get('name', '')!s}".strip()
    onnx.save(proto, str(path))


def export_detector(
    source: str | Path | tuple[nn.Module, DetectorMeta],
    out_path: str | Path,
    *,
    parity: bool = True,
) -> Path:
    """Write the detector ``source`` (a checkpoint, or ``(model, meta)``) to ``out_path``."""
    model, meta = source if isinstance(source, tuple) else load(source)
    out = Path(out_path)
    if out.suffix.lower() != ".onnx":
        raise ExportError(f"{out}: the output file name must end in .onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lineocr-export-") as tmp:
        staged = Path(tmp) / "detector.onnx"
        _trace(model, staged)
        info: dict[str, Any] = {
            "format": FORMAT,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "output_kind": "core-map logits (sigmoid -> probability)",
            "opset": OPSET,
        }
        if parity:
            info["parity"] = {"max_abs_diff": check_parity(model, staged)}
        write_card(staged, detector_card(meta, info))
        staged.replace(out)
    return out
