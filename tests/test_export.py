"""ONNX export: parity with PyTorch at other batch sizes and widths, the model card in the
metadata, failures leave no file, int8 quantisation, export from a checkpoint directory."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from lineocr.export import (
    INPUT_NAME,
    LENGTHS_NAME,
    METADATA_KEY,
    OUTPUT_NAME,
    PARITY_ATOL,
    ExportError,
    export_onnx,
    quantize_onnx,
    read_metadata,
    sample_lines,
)
from lineocr.models.spec import TIME_STRIDE
from lineocr.preprocess import LineFeed, to_model_input
from lineocr.train.checkpoint import CheckpointError, save_checkpoint
from tests.conftest import AVX2_SAFE_INT8_WEIGHT, make_tiny_model, max_abs_int8_weight


def _all_frames(batch: np.ndarray) -> dict[str, np.ndarray]:
    """The feed of a batch whose lines all fill its width."""
    frames = np.full(len(batch), batch.shape[3] // TIME_STRIDE, dtype=np.int32)
    return {INPUT_NAME: batch, LENGTHS_NAME: frames}


def _torch_logits(model: torch.nn.Module, batch: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(batch)).numpy()


def test_each_line_reads_the_same_whatever_its_batch(tiny_model, tiny_onnx_model: Path) -> None:
    """The graph's LSTMs read each line's own frames (its ``lengths``, with the card's paper
    frames): a line padded with its card's right context of paper gives the same logits
    alone as beside a line five times wider, and the same as PyTorch reading it with those
    lengths."""
    model, meta = tiny_model
    card = read_metadata(tiny_onnx_model)["onnx"]
    assert card["lengths"] == LENGTHS_NAME and card["right_context"] % TIME_STRIDE == 0
    feed = LineFeed(card["right_context"], card["paper_frames"], TIME_STRIDE)
    session = ort.InferenceSession(str(tiny_onnx_model), providers=["CPUExecutionProvider"])
    lines = [
        to_model_input(img, meta.preprocess) for img in sample_lines(meta.preprocess, [60, 300])
    ]
    alone = []
    for line in lines:
        batch, frames = feed.collate([line], meta.preprocess)
        alone.append(session.run(None, {INPUT_NAME: batch, LENGTHS_NAME: frames})[0][0])
    batch, frames = feed.collate(lines, meta.preprocess)
    together = session.run(None, {INPUT_NAME: batch, LENGTHS_NAME: frames})[0]
    with torch.no_grad():
        expected = model(torch.from_numpy(batch), torch.from_numpy(frames)).numpy()
    for i, n in enumerate(frames):
        np.testing.assert_allclose(together[i, :n], alone[i][:n], rtol=1e-5, atol=1e-5)
    assert np.abs(together - expected).max() <= PARITY_ATOL


@pytest.mark.parametrize(("n", "width"), [(1, 36), (3, 200), (7, 88), (2, 64)])
def test_onnx_matches_pytorch_at_any_batch_size_and_width(
    tiny_model, tiny_onnx_model: Path, n: int, width: int
) -> None:
    model, _ = tiny_model
    session = ort.InferenceSession(str(tiny_onnx_model), providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(n).random((n, 1, 32, width), dtype=np.float32)
    got = session.run([OUTPUT_NAME], _all_frames(batch))[0]
    expected = _torch_logits(model, batch)
    assert got.shape == (n, width // TIME_STRIDE, model.num_classes)
    assert np.abs(got - expected).max() <= PARITY_ATOL


def test_graph_has_named_dynamic_input_and_output(tiny_onnx_model: Path) -> None:
    session = ort.InferenceSession(str(tiny_onnx_model), providers=["CPUExecutionProvider"])
    (inp, lengths), (out,) = session.get_inputs(), session.get_outputs()
    assert inp.name == "input" and inp.type == "tensor(float)"
    assert isinstance(inp.shape[0], str) and inp.shape[1:3] == [1, 32]
    assert isinstance(inp.shape[3], str)
    assert lengths.name == "lengths" and lengths.type == "tensor(int32)"
    assert lengths.shape == [inp.shape[0]]
    assert out.name == "logits" and isinstance(out.shape[0], str) and isinstance(out.shape[1], str)


def test_metadata_round_trip(tiny_model, tiny_onnx_model: Path) -> None:
    _, meta = tiny_model
    card = read_metadata(tiny_onnx_model)
    expected = json.loads(json.dumps(meta.to_dict()))
    assert {k: card[k] for k in expected} == expected
    assert card["onnx"]["input"] == "input" and card["onnx"]["output"] == "logits"
    assert card["onnx"]["quantization"] == "none"
    assert card["onnx"]["time_stride"] == TIME_STRIDE
    parity = card["onnx"]["parity"]
    assert parity["max_abs_diff"] <= PARITY_ATOL and parity["text_agreement"] == 1.0
    assert sorted({b[0] for b in parity["batches"]}) == [1, 4]  # not the traced batch of 2
    props = {p.key: p.value for p in onnx.load(str(tiny_onnx_model)).metadata_props}
    assert json.loads(props[METADATA_KEY]) == card
    assert props["charset"] == "".join(meta.charset.chars)
    assert props["height"] == "32" and props["name"] == "tiny"


def test_parity_failure_raises_and_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    from lineocr import export

    model, meta = make_tiny_model()
    other, _ = make_tiny_model(seed=1)
    real_trace = export._trace
    # Trace a different network than the one checked: the ONNX file disagrees with PyTorch.
    monkeypatch.setattr(export, "_trace", lambda m, h, p, o: real_trace(other, h, p, o))
    out = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match="parity check failed"):
        export_onnx((model, meta), out)
    assert list(tmp_path.iterdir()) == []


def test_a_model_with_nan_weights_fails_its_parity_check(tmp_path: Path) -> None:
    model, meta = make_tiny_model()
    with torch.no_grad():
        model.classifier.bias.fill_(float("nan"))
    with pytest.raises(ExportError, match="logits are not finite"):
        export_onnx((model, meta), tmp_path / "nan.onnx")
    assert list(tmp_path.iterdir()) == []  # max(worst, nan) passed it as exact before


def test_export_refuses_outputs_it_must_not_replace_before_any_work(tmp_path: Path) -> None:
    model, meta = make_tiny_model()
    save_checkpoint(tmp_path / "run", "best", model, meta)
    weights = tmp_path / "run" / "best.safetensors"
    kept = weights.read_bytes()
    for out, message in (
        (weights, "must end in .onnx"),  # the checkpoint itself (was replaced, exit 0)
        (tmp_path / "model.txt", "must end in .onnx"),
        (tmp_path / "run", "must end in .onnx"),
    ):
        with pytest.raises(ExportError, match=message):
            export_onnx(tmp_path / "run", out)
    (tmp_path / "folder.onnx").mkdir()
    with pytest.raises(ExportError, match="not a regular file"):
        export_onnx(tmp_path / "run", tmp_path / "folder.onnx")
    with pytest.raises(ExportError, match="longer than 255 bytes"):  # was an OSError at the end
        export_onnx(tmp_path / "run", tmp_path / ("ب" * 130 + ".onnx"))
    assert weights.read_bytes() == kept
    cold = replace(meta, calibration={"temperature": 0.0})
    with pytest.raises(ExportError, match=r"calibration temperature 0\.0"):
        export_onnx((model, cold), tmp_path / "cold.onnx")
    assert not (tmp_path / "cold.onnx").exists()


def test_export_from_a_checkpoint_directory_and_int8(tmp_path: Path, tiny_onnx_model: Path) -> None:
    model, meta = make_tiny_model(seed=2)
    save_checkpoint(tmp_path / "run", "best", model, meta)
    int8 = export_onnx(tmp_path / "run", tmp_path / "int8.onnx", quantize="int8")
    card = read_metadata(int8)
    assert card["onnx"]["quantization"] == "int8"
    assert 0.0 <= card["onnx"]["int8_agreement"]["text_agreement"] <= 1.0
    assert int8.stat().st_size < 0.8 * tiny_onnx_model.stat().st_size  # same architecture
    batch = np.random.default_rng(0).random((3, 1, 32, 120), dtype=np.float32)
    session = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], _all_frames(batch))[0]
    expected = _torch_logits(model, batch)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 0.5  # lossy, but the same network
    with pytest.raises(ExportError, match="quantize"):
        export_onnx((model, meta), tmp_path / "x.onnx", quantize="int4")  # type: ignore[arg-type]


def test_int8_with_calibration_quantises_the_convolutions(tmp_path: Path, caplog) -> None:
    model, meta = make_tiny_model(seed=2)
    calibration = sample_lines(meta.preprocess, [60, 90, 120, 150, 80, 100, 70, 130, 110])
    out = export_onnx(
        (model, meta), tmp_path / "static.onnx", quantize="int8", calibration=calibration
    )
    # The quantiser's advice (run its pre-processing; "check if the model is already
    # quantized" when the LSTM pass meets the QDQ convolutions) is not shown to the user.
    assert "already quantized" not in caplog.text and "pre-processing" not in caplog.text
    card = read_metadata(out)
    assert card["onnx"]["quantization"] == "int8"
    assert card["onnx"]["int8"].startswith("static, 9 calibration lines")
    nodes = list(onnx.load(str(out)).graph.node)
    ops = {node.op_type for node in nodes}
    # The LSTM stays fp32: dynamic quantisation would scale a line's LSTM inputs by the
    # range of the whole batch, so it would read differently in other company.
    assert {"QuantizeLinear", "DequantizeLinear", "LSTM"} <= ops
    assert "DynamicQuantizeLSTM" not in ops and card["onnx"]["int8"].endswith("LSTM fp32")
    # Each ReLU of the CNN is folded into its convolution's output quantisation (zero point
    # at 0), so activations stay int8 from convolution to convolution: a float ReLU between
    # a dequantise and a quantise made that round trip 29 % of the printed model's time.
    # (The projection's ReLU follows its bias Add and stays.)
    producer = {output: node.op_type for node in nodes for output in node.output}
    relu_inputs = [producer.get(node.input[0]) for node in nodes if node.op_type == "Relu"]
    assert relu_inputs == ["Add"]
    batch = np.stack([np.zeros((1, 32, 120), np.float32)] * 2)
    batch[:, :, 8:24, 10:110] = 1.0  # a bar of ink, inside the calibrated range
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run([OUTPUT_NAME], _all_frames(batch))[0]
    expected = _torch_logits(model, batch)
    assert got.shape == expected.shape and np.abs(got - expected).mean() < 0.5
    assert not list(tmp_path.glob("*.qdq.onnx"))  # the intermediate file is gone
    # 7-bit weights: CPUs with and without VNNI compute the same integers (conftest).
    assert 0 < max_abs_int8_weight(out) <= AVX2_SAFE_INT8_WEIGHT


def test_dynamic_int8_weights_fit_seven_bits(tmp_path: Path, tiny_onnx_model: Path) -> None:
    out = quantize_onnx(tiny_onnx_model, tmp_path / "int8.onnx")
    assert 0 < max_abs_int8_weight(out) <= AVX2_SAFE_INT8_WEIGHT


def test_quantize_an_exported_file_keeps_its_card(tmp_path: Path, tiny_onnx_model: Path) -> None:
    out = quantize_onnx(tiny_onnx_model, tmp_path / "int8.onnx")
    card = read_metadata(out)
    assert card["onnx"]["quantization"] == "int8" and "parity" not in card["onnx"]
    assert card["charset"] == read_metadata(tiny_onnx_model)["charset"]
    assert [p.name for p in tmp_path.iterdir()] == ["int8.onnx"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_read_metadata_rejects_a_foreign_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.onnx"
    torch.onnx.export(
        torch.nn.Linear(2, 2), (torch.zeros(1, 2),), str(path), dynamo=False, opset_version=17
    )
    with pytest.raises(ExportError, match="not a lineocr model"):
        read_metadata(path)


def test_read_metadata_names_a_file_that_is_not_onnx(tmp_path: Path, tiny_onnx_model: Path) -> None:
    """A protobuf DecodeError, IsADirectoryError or FileNotFoundError escaped before."""
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(tiny_onnx_model.read_bytes()[:100_000])
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    for path in (truncated, folder, tmp_path / "missing.onnx"):
        with pytest.raises(ExportError, match=re.escape(f"{path}: not a readable ONNX file")):
            read_metadata(path)


def _edited_run(tmp_path: Path, tiny_model, edit) -> Path:
    """A run directory of the tiny model whose best.json is ``edit(its description)``."""
    save_checkpoint(tmp_path / "run", "best", *tiny_model)
    described = tmp_path / "run" / "best.json"
    data = json.loads(described.read_text(encoding="utf-8"))
    described.write_text(edit(data), encoding="utf-8")
    return tmp_path / "run"


def _with(data: dict, path: str, value) -> str:
    """``data`` as JSON, with the value at the dotted ``path`` replaced."""
    target = data
    *parents, key = path.split(".")
    for parent in parents:
        target = target[parent]
    target[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: _with(d, "config.model.arch", "vit"), "unknown architecture"),
        (lambda d: _with(d, "epoch", float("inf")), "epoch: expected a whole"),
        (lambda d: _with(d, "calibration", [1]), "calibration: expected a JSON"),
        (lambda d: "[" * 100_000 + "]" * 100_000, "nested too deep"),
        (lambda d: _with(d, "calibration", {"temperature": 0}), "temperature 0"),
    ],
    ids=["unknown-architecture", "epoch-infinite", "calibration-a-list", "deep", "temperature-0"],
)
def test_export_names_the_checkpoint_it_cannot_use(
    tmp_path: Path, tiny_model, edit, message
) -> None:
    """A ValueError, OverflowError or RecursionError escaped before, or an error that did not
    say which checkpoint (the calibration's)."""
    run = _edited_run(tmp_path, tiny_model, edit)
    with pytest.raises((CheckpointError, ExportError)) as info:
        export_onnx(run, tmp_path / "out.onnx")
    assert str(info.value).startswith(str(run)) and message in str(info.value)
    assert not (tmp_path / "out.onnx").exists()


def test_a_metric_json_has_no_number_for_is_null_in_the_card(tmp_path: Path, tiny_model) -> None:
    """A run that diverged has a NaN metric: the card was written with a bare NaN, which
    strict JSON readers (and `lineocr models --json` consumers) refuse."""

    def strict(text: str) -> dict:
        def refuse(name: str) -> None:
            raise ValueError(f"not JSON: {name}")

        return json.loads(text, parse_constant=refuse)

    run = _edited_run(tmp_path, tiny_model, lambda d: _with(d, "metrics.val_cer", float("nan")))
    out = tmp_path / "out.onnx"
    export_onnx(run, out)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    card = strict(props[METADATA_KEY])
    assert card["metrics"]["val_cer"] is None
    assert read_metadata(out)["metrics"]["val_cer"] is None


def test_json_safe_leaves_what_json_has_numbers_for() -> None:
    from lineocr.zoo import json_safe

    value = {"a": [1.5, float("nan"), {"b": float("inf")}], "c": "NaN", "d": (2, -float("inf"))}
    assert json_safe(value) == {"a": [1.5, None, {"b": None}], "c": "NaN", "d": [2, None]}


def test_a_long_runs_history_is_thinned_in_the_card(tmp_path: Path, tiny_model) -> None:
    """Each epoch adds ~250 bytes of history to the card: a run of 5,000 epochs made a card
    over the runtime's 1 MiB, so it could be neither exported nor read. The card keeps one
    epoch in k, the last and the best, and says so; a short run keeps it all."""
    model, meta = tiny_model

    def row(epoch: int) -> dict:
        cer = 0.5 if epoch != 2_345 else 0.01  # the best, not on the 1-in-k grid
        return {"epoch": float(epoch), "train_loss": 1.0 / epoch, "val_cer": cer, "lr": 1e-3}

    history = [row(e) for e in range(1, 5_001)]
    long_run = replace(meta, history=history)
    out = export_onnx((model, long_run), tmp_path / "long.onnx")
    card = read_metadata(out)
    kept = card["history"]
    assert 400 < len(kept) <= 500 and card["history_kept"].startswith(f"{len(kept)} of 5000")
    assert kept[0] == history[0] and kept[-1] == history[-1]
    assert history[2_344] in kept  # the best epoch
    assert [r["epoch"] for r in kept] == sorted(r["epoch"] for r in kept)
    short = read_metadata(
        export_onnx((model, replace(meta, history=history[:50])), tmp_path / "s.onnx")
    )
    assert short["history"] == history[:50] and "history_kept" not in short
