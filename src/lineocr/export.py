"""Export a trained model to one self-describing ONNX file, checked against PyTorch.

The file holds the logits graph only (input ``input`` (N, 1, H, W) float32 -> output
``logits`` (N, T, C), batch and width dynamic) and, in ``metadata_props``, the whole model
card as JSON under :data:`METADATA_KEY` (charset and its options, preprocessing spec, config,
metrics, data summary, calibration) plus a few flat keys for tools that only show strings.
A parity check runs at export time: ONNX Runtime and PyTorch must agree on a sample batch of
varied widths (logits within :data:`PARITY_ATOL`, identical greedy text) at a batch size and
widths other than the traced ones, or the export fails and no file is left behind.
Needs PyTorch and ``onnx`` (the ``train`` extra); running the file needs neither.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from lineocr import __version__
from lineocr.decode import DecodeError, check_temperature, greedy_batch, log_softmax
from lineocr.keywords import check_keywords
from lineocr.models.crnn import right_context
from lineocr.models.spec import TIME_STRIDE
from lineocr.preprocess import LineFeed, PreprocessSpec, collate, to_model_input
from lineocr.train.checkpoint import ModelMeta, load_checkpoint
from lineocr.zoo import (
    MAX_CARD_BYTES,
    METADATA_KEY,
    card_from_metadata,
    card_json,
    card_too_big,
)

if TYPE_CHECKING:
    from typing import Unpack

ONNX_FORMAT = "lineocr-onnx/1"
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
# Each line's frames (int32, one per line): the BiLSTM reads none beyond them, so a line
# reads the same whatever the width of the lines batched with it (docs/runtime.md).
LENGTHS_NAME = "lengths"
# Frames of paper the LSTM reads after each line: trained on padded batches, the models
# read better with a few (docs/runtime.md, One answer per image).
PAPER_FRAMES = 4
OPSET = 17
PARITY_ATOL = 1e-4
CARD_HISTORY_EPOCHS = 500  # history rows a card keeps whole (see card_history)
NAME_MAX = 255  # bytes in one file name on Linux, macOS and Windows file systems
DIRECTION_NOTE = (
    "logits are in visual order (left to right as drawn); the charset converts the decoded "
    "labels to logical order with the Unicode bidi algorithm (python-bidi)"
)

Quantize = Literal["int8"] | None
ModelSource = str | Path | tuple[nn.Module, ModelMeta]


class ExportError(RuntimeError):
    """The export failed (parity mismatch, unsupported option, unreadable checkpoint)."""


class ExportOptions(TypedDict, total=False):
    """How :func:`export_onnx` exports, by keyword: ``quantize`` (None or ``"int8"``),
    ``calibration`` (line images, for static int8), ``parity`` (check ONNX Runtime against
    PyTorch; default True) and ``opset`` (default :data:`OPSET`)."""

    quantize: Quantize
    calibration: Sequence[np.ndarray] | None
    parity: bool
    opset: int


def export_onnx(
    source: ModelSource, out_path: str | Path, **options: Unpack[ExportOptions]
) -> Path:
    """Write ``source`` (a checkpoint path / run directory, or ``(model, meta)``) to
    ``out_path`` as ONNX with its model card; returns the path.

    ``quantize="int8"`` applies ONNX Runtime dynamic quantisation (int8 weights, activations
    quantised on the fly); the fp32 graph is parity-checked first, the int8 one is checked to
    run and its agreement with PyTorch is recorded in the card (not enforced: it is lossy).
    With ``calibration`` (line images like the ones the model will read, a few dozen),
    the convolutions are quantised too, statically (see :func:`_quantize_int8_static`).
    """
    check_keywords("export_onnx", options, ExportOptions.__optional_keys__)
    quantize, calibration = options.get("quantize"), options.get("calibration")
    parity, opset = options.get("parity", True), options.get("opset", OPSET)
    if quantize not in (None, "int8"):
        raise ExportError(f"quantize must be None or 'int8', not {quantize!r}")
    model, meta = _resolve(source)
    named = "" if isinstance(source, tuple) else f"{source}: "  # errors name the checkpoint
    try:
        check_temperature(meta.calibration.get("temperature", 1.0))
    except DecodeError as exc:
        raise ExportError(f"{named}{exc} (the runtime would refuse the file)") from None
    out = Path(out_path)
    _check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lineocr-export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _trace(model, meta.preprocess.height, fp32, opset)
        onnx_info: dict[str, Any] = {
            "format": ONNX_FORMAT,
            "input": INPUT_NAME,
            "output": OUTPUT_NAME,
            "opset": opset,
            "time_stride": TIME_STRIDE,
            "direction": DIRECTION_NOTE,
            "quantization": quantize or "none",
        }
        feed = _line_feed(model, meta.preprocess.height) if _feed_lengths(fp32) else None
        if feed is not None:
            onnx_info["lengths"] = LENGTHS_NAME
            onnx_info["right_context"] = feed.right_context
            onnx_info["paper_frames"] = feed.paper_frames
        if parity:
            try:
                report = check_parity(model, meta, fp32)
                report.raise_if_failed()
            except ExportError as exc:
                raise ExportError(f"{named}{exc}") from None
            onnx_info["parity"] = report.to_dict()
        final = fp32
        if quantize == "int8":
            final = Path(tmp) / "int8.onnx"
            if calibration is not None and len(calibration) > 0:
                lstm = "fp32" if feed is not None else "dynamic"
                _quantize_int8_static(fp32, final, calibration, meta.preprocess, feed)
                onnx_info["int8"] = f"static, {len(calibration)} calibration lines; LSTM {lstm}"
            else:
                _quantize_int8(fp32, final)
                onnx_info["int8"] = "dynamic (convolutions fp32; reads depend on the batch)"
            int8_report = check_parity(model, meta, final)  # lossy: recorded, not enforced
            onnx_info["int8_agreement"] = int8_report.to_dict()
        try:
            write_metadata(final, model_card(meta, onnx_info))
        except ExportError as exc:
            raise ExportError(f"{named}{exc}") from None
        final.replace(out)  # same filesystem: atomic, never a half-written model
    return out


def export_onnx_bytes(
    source: ModelSource, *, quantize: Quantize = None, parity: bool = True
) -> bytes:
    """Like :func:`export_onnx`, but returns the file's bytes (for loading a run directory
    straight into ONNX Runtime)."""
    with tempfile.TemporaryDirectory(prefix="lineocr-export-") as tmp:
        path = export_onnx(source, Path(tmp) / "model.onnx", quantize=quantize, parity=parity)
        return path.read_bytes()


def quantize_onnx(in_path: str | Path, out_path: str | Path) -> Path:
    """Int8 dynamic quantisation of an exported lineocr ONNX file, keeping its model card
    (marked ``onnx.quantization = "int8"``). Used by the benchmark on bundled fp32 files."""
    src, out = Path(in_path), Path(out_path)
    card = read_metadata(src)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".lineocr-export-") as tmp:
        staged = Path(tmp) / "int8.onnx"
        _quantize_int8(src, staged)
        card.setdefault("onnx", {})["quantization"] = "int8"
        card["onnx"].pop("parity", None)  # measured on the fp32 graph, not this one
        write_metadata(staged, card)
        staged.replace(out)
    return out


# -- model card ------------------------------------------------------------------------


def model_card(meta: ModelMeta, onnx_info: dict[str, Any]) -> dict[str, Any]:
    """The dict stored under :data:`METADATA_KEY`: ``ModelMeta.to_dict()`` plus an ``onnx``
    section (graph names, opset, time stride, direction handling, quantisation, parity)."""
    card = meta.to_dict()
    card["history"], kept = card_history(card.get("history") or [])
    if kept is not None:
        card["history_kept"] = kept
    card["onnx"] = onnx_info
    return card


def card_history(history: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """The per-epoch history as the card keeps it: whole up to :data:`CARD_HISTORY_EPOCHS`
    epochs (about 250 bytes each); of a longer run, one epoch in k, the last and the best
    (lowest ``val_cer``), so that the card stays far below ``MAX_CARD_BYTES``. The second
    value says what was kept (None: everything). The checkpoint's JSON keeps it all."""
    if len(history) <= CARD_HISTORY_EPOCHS:
        return history, None
    every = -(-len(history) // (CARD_HISTORY_EPOCHS - 2))
    cers: dict[int, float] = {}
    for i, row in enumerate(history):
        cer = row.get("val_cer") if isinstance(row, dict) else None
        if isinstance(cer, (int, float)) and not isinstance(cer, bool) and math.isfinite(cer):
            cers[i] = float(cer)
    best = {min(cers, key=cers.__getitem__)} if cers else set()
    kept = sorted(set(range(0, len(history), every)) | {len(history) - 1} | best)
    return [history[i] for i in kept], (
        f"{len(kept)} of {len(history)} epochs: one in {every}, the last and the best"
    )


def flat_metadata(card: dict[str, Any]) -> dict[str, str]:
    """String keys beside the JSON card, for tools such as Netron that show metadata_props."""
    onnx_info = card.get("onnx", {})
    return {
        "lineocr_format": str(onnx_info.get("format", ONNX_FORMAT)),
        "lineocr_version": str(card.get("lineocr_version", __version__)),
        "name": str(card.get("name", "model")),
        "charset": str(card.get("charset", {}).get("chars", "")),
        "height": str(card.get("preprocess", {}).get("height", "")),
        "time_stride": str(onnx_info.get("time_stride", TIME_STRIDE)),
        "direction": "visual",
        "quantization": str(onnx_info.get("quantization", "none")),
    }


def write_metadata(path: Path, card: dict[str, Any]) -> None:
    """Replace the file's metadata_props with the card (JSON) and the flat keys; an
    :class:`ExportError` for a card larger than the runtime reads (``MAX_CARD_BYTES``)."""
    text = card_json(card)
    size = len(text.encode("utf-8"))
    if size > MAX_CARD_BYTES:
        sections = sorted(
            ((len(card_json({k: v}).encode("utf-8")), k) for k, v in card.items()), reverse=True
        )
        largest = ", ".join(f"{key} {n:,}" for n, key in sections[:3])
        raise ExportError(f"{card_too_big(size)} (largest sections, bytes: {largest})")
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    entries = {METADATA_KEY: text}
    entries.update(flat_metadata(card))
    for key, value in entries.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    proto.producer_name = "lineocr"
    proto.producer_version = __version__
    proto.doc_string = f"lineocr text-line recogniser {card.get('name', '')!s}".strip()
    onnx.save(proto, str(path))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The model card of an exported file (with the ``onnx`` package; the runtime reads it
    through ONNX Runtime instead)."""
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # OSError, protobuf's DecodeError, ...
        raise ExportError(f"{path}: not a readable ONNX file: {exc}") from None
    try:
        return card_from_metadata({p.key: p.value for p in proto.metadata_props}, str(path))
    except ValueError as exc:
        raise ExportError(str(exc)) from None


# -- parity ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ParityReport:
    """How closely an ONNX graph reproduces the PyTorch model on sample batches."""

    max_abs_diff: float
    texts_torch: list[str]
    texts_onnx: list[str]
    shapes: list[list[int]]

    @property
    def text_agreement(self) -> float:
        same = sum(a == b for a, b in zip(self.texts_torch, self.texts_onnx, strict=True))
        return same / max(1, len(self.texts_torch))

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= PARITY_ATOL and self.texts_torch == self.texts_onnx

    def raise_if_failed(self) -> None:
        if self.ok:
            return
        diffs = [
            f"{a!r} != {b!r}"
            for a, b in zip(self.texts_torch, self.texts_onnx, strict=True)
            if a != b
        ]
        raise ExportError(
            "ONNX parity check failed: max |logits difference| "
            f"{self.max_abs_diff:.2e} (limit {PARITY_ATOL:.0e})"
            + (f"; decoded text differs: {'; '.join(diffs[:3])}" if diffs else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_diff": float(self.max_abs_diff),
            "text_agreement": self.text_agreement,
            "lines": len(self.texts_torch),
            "batches": self.shapes,
        }


def sample_lines(spec: PreprocessSpec, widths: Sequence[int], seed: int = 0) -> list[np.ndarray]:
    """Synthetic uint8 line images (dark strokes on light paper) of the given widths, at
    1.5x the model height so that resizing runs too."""
    rng = np.random.default_rng(seed)
    height = int(spec.height * 1.5)
    lines = []
    for width in widths:
        img = np.full((height, width), 235, dtype=np.float64)
        for _ in range(max(2, width // 12)):  # glyph-like blobs along a baseline
            x = rng.integers(0, width)
            y = rng.integers(height // 4, 3 * height // 4)
            w, h = rng.integers(2, 8), rng.integers(height // 5, height // 2)
            img[max(0, y - h // 2) : y + h // 2, x : x + w] = rng.integers(0, 60)
        img += rng.normal(0, 8, img.shape)
        lines.append(np.clip(img, 0, 255).astype(np.uint8))
    return lines


def check_parity(
    model: nn.Module, meta: ModelMeta, onnx_path: Path, *, seed: int = 0
) -> ParityReport:
    """Run PyTorch and ONNX Runtime on two batches the graph was not traced with (four lines
    of mixed widths, then one line alone) and compare logits and greedy text."""
    model = _cpu_eval_copy(model)
    spec = meta.preprocess
    h = spec.height
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    fed = {i.name for i in session.get_inputs()}
    feed = _line_feed(model, h) if LENGTHS_NAME in fed else None
    worst = 0.0
    texts_torch: list[str] = []
    texts_onnx: list[str] = []
    shapes: list[list[int]] = []
    for batch_widths in ([h * 9, h * 2, h * 5 + 3, h * 14], [h * 3 + 7]):
        lines = [to_model_input(img, spec) for img in sample_lines(spec, batch_widths, seed)]
        if feed is None:
            batch, widths = collate(lines, spec)
            inputs = {INPUT_NAME: batch}
            frames = torch.from_numpy(-(-widths // TIME_STRIDE))
            with torch.no_grad():
                expected = model(torch.from_numpy(batch)).numpy()
        else:
            batch, lengths = feed.collate(lines, spec)
            inputs = {INPUT_NAME: batch, LENGTHS_NAME: lengths}
            frames = torch.from_numpy(lengths)
            with torch.no_grad():
                expected = model(torch.from_numpy(batch), frames).numpy()
        got = session.run([OUTPUT_NAME], inputs)[0]
        if got.shape != expected.shape:
            raise ExportError(f"ONNX output shape {got.shape} != PyTorch {expected.shape}")
        if not (np.isfinite(expected).all() and np.isfinite(got).all()):
            # max() would pass a NaN over: a model of NaN weights would export as exact
            raise ExportError(
                "the model's logits are not finite (NaN or inf: its weights are broken, a "
                "training run that diverged?); nothing exported"
            )
        worst = max(worst, float(np.abs(got - expected).max()))
        lengths = np.minimum(frames.numpy(), expected.shape[1])
        for decoded_list, texts in ((expected, texts_torch), (got, texts_onnx)):
            for d in greedy_batch(log_softmax(decoded_list.astype(np.float64)), lengths):
                texts.append(meta.charset.decode(d.indices))
        shapes.append(list(batch.shape))
    return ParityReport(worst, texts_torch, texts_onnx, shapes)


# -- internals ---------------------------------------------------------------------------


def _resolve(source: ModelSource) -> tuple[nn.Module, ModelMeta]:
    if isinstance(source, tuple):
        model, meta = source
        if not isinstance(meta, ModelMeta):
            raise ExportError("expected (model, ModelMeta)")
        return model, meta
    return load_checkpoint(source)


def _check_output(out: Path) -> None:
    """Before any work: ``out`` is an ``.onnx`` file name (never a checkpoint's own
    .safetensors or .json) that is not a folder or a device, short enough for the file
    system (export replaces it at the end, after the tracing and the parity check)."""
    if out.suffix.lower() != ".onnx":
        raise ExportError(f"{out}: the output file name must end in .onnx")
    if len(os.fsencode(out.name)) > NAME_MAX:
        raise ExportError(f"{out.name[:40]}...: the file name is longer than {NAME_MAX} bytes")
    if out.exists() and not out.is_file():
        raise ExportError(f"{out}: exists and is not a regular file (a folder or a device)")


def _cpu_eval_copy(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to("cpu").eval()


def _trace(model: nn.Module, height: int, path: Path, opset: int) -> None:
    model = _cpu_eval_copy(model)
    dummy = torch.zeros(2, 1, height, 16 * TIME_STRIDE)
    with warnings.catch_warnings():
        # The legacy TorchScript exporter is deprecated but exact and fast for this graph;
        # its LSTM batch-size warning concerns a passed-in initial state, which CRNN lacks
        # (check_parity runs other batch sizes to prove it).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the LSTM's size checks
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={
                INPUT_NAME: {0: "batch", 3: "width"},
                OUTPUT_NAME: {0: "batch", 1: "frames"},
            },
            do_constant_folding=True,
        )


def _feed_lengths(path: Path) -> bool:
    """Give the traced graph's LSTMs each line's frames as ``sequence_lens`` from a new
    int32 input :data:`LENGTHS_NAME` (N,); False (the file unchanged) if it has no LSTM."""
    model = onnx.load(str(path))
    lstms = [node for node in model.graph.node if node.op_type == "LSTM"]
    if not lstms:
        return False
    model.graph.input.append(
        onnx.helper.make_tensor_value_info(LENGTHS_NAME, onnx.TensorProto.INT32, ["batch"])
    )
    for node in lstms:  # inputs: X, W, R, B, sequence_lens, initial_h, initial_c, P
        inputs = [*node.input, *[""] * (5 - len(node.input))]
        inputs[4] = LENGTHS_NAME
        del node.input[:]
        node.input.extend(inputs)
    onnx.save(model, str(path))
    return True


def _line_feed(model: nn.Module, height: int) -> LineFeed:
    """How the runtime feeds this model's exported graph (see :class:`LineFeed`)."""
    context = right_context(model, height)  # type: ignore[arg-type]
    return LineFeed(context, PAPER_FRAMES, TIME_STRIDE)


def _quantize_int8_static(
    src: Path,
    dst: Path,
    calibration: Sequence[np.ndarray],
    spec: PreprocessSpec,
    feed: LineFeed | None = None,
) -> None:
    """Int8 convolutions and linear layers with scales calibrated on ``calibration`` lines
    (QDQ, per-channel 7-bit weights, so CPUs with and without VNNI compute alike). ReLU and
    max-pooling are in the quantised op types so that each ReLU folds into its
    convolution's output and activations stay int8 between convolutions. A graph fed line
    lengths (``feed``: how the runtime feeds it) keeps its LSTM fp32: dynamic quantisation scales
    the LSTM's inputs by the whole batch's range, so a line would read differently in
    different company; others get int8 LSTM weights, dynamically."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    lines = [to_model_input(image, spec) for image in calibration]
    feeds: list[dict[str, np.ndarray]] = []
    for i in range(0, len(lines), 8):
        if feed is None:
            feeds.append({INPUT_NAME: collate(lines[i : i + 8], spec)[0]})
        else:
            batch, lengths = feed.collate(lines[i : i + 8], spec)
            feeds.append({INPUT_NAME: batch, LENGTHS_NAME: lengths})

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(feeds)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    staged = dst.with_name(dst.stem + ".qdq.onnx")
    try:
        with _quiet_quantizer():
            quantize_static(
                str(src),
                str(staged),
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                reduce_range=True,
                op_types_to_quantize=["Conv", "MatMul", "Gemm", "Relu", "MaxPool"],
            )
            if feed is not None:  # fp32 LSTM: see the docstring
                staged.replace(dst)
                return
            quantize_dynamic(
                str(staged),
                str(dst),
                weight_type=QuantType.QInt8,
                reduce_range=True,
                op_types_to_quantize=["LSTM"],
            )
    finally:
        staged.unlink(missing_ok=True)


def _quantize_int8(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Weights of the LSTM and the linear layers to int8; convolutions stay fp32 (dynamic
    # ConvInteger is slower than fp32 Conv on ONNX Runtime's CPU kernels).
    with _quiet_quantizer():
        quantize_dynamic(
            str(src),
            str(dst),
            weight_type=QuantType.QInt8,
            reduce_range=True,
            op_types_to_quantize=["MatMul", "Gemm", "LSTM"],
        )


_QUANTIZER_ADVICE = ("pre-processing before quantization", "model is already quantized")


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    """Hide two pieces of the quantiser's advice, logged on the root logger at every call:
    to run its shape-inference pre-processing first (the exported graphs already carry
    their shapes), and, when the LSTM pass of :func:`_quantize_int8_static` meets the
    convolutions' QDQ nodes, to "check if the model is already quantized" (it is, on
    purpose: the LSTM's weights are the part left)."""

    def not_preprocess_advice(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(advice in message for advice in _QUANTIZER_ADVICE)

    root = logging.getLogger()
    root.addFilter(not_preprocess_advice)
    try:
        yield
    finally:
        root.removeFilter(not_preprocess_advice)
