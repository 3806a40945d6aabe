"""The torch-free runtime: loading, batching by width, agreement with PyTorch, predictions
in logical order with confidences, errors; and the bundled-model registry."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from lineocr import zoo
from lineocr.charset import Charset, CharsetOptions
from lineocr.decode import Decoded, Decoder, greedy_batch, log_softmax
from lineocr.export import (
    ExportError,
    export_onnx,
    read_metadata,
    sample_lines,
    write_metadata,
)
from lineocr.images import ImageError
from lineocr.models.spec import TIME_STRIDE
from lineocr.preprocess import LineFeed, PreprocessSpec, collate, to_model_input
from lineocr.runtime import (
    CancelToken,
    CharConfidence,
    DecodeError,
    ModelError,
    ModelNotFoundError,
    Prediction,
    ReadCancelledError,
    Recognizer,
    available_cpus,
    run_isolated,
    width_chunks,
)
from lineocr.train.checkpoint import save_checkpoint
from tests.conftest import make_tiny_model, with_card_text
from tests.render import render


@pytest.fixture(scope="module")
def recognizer(tiny_onnx_model: Path) -> Recognizer:
    return Recognizer.load(tiny_onnx_model, threads=1)


def test_runtime_imports_no_torch() -> None:
    code = (
        "import sys, lineocr, lineocr.runtime, lineocr.zoo, lineocr.decode, lineocr.config\n"
        "import lineocr.models.spec\n"
        "from lineocr import Recognizer\n"
        "from lineocr.cli import app\n"
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))"
    )
    assert _run_python(code) == "[]", "torch imported on the inference path"


def test_predictions_and_the_server_client_import_no_onnxruntime() -> None:
    """The client returns the runtime's Prediction without loading ONNX Runtime."""
    code = (
        "import sys, lineocr.prediction, lineocr.serve.client\n"
        "from lineocr import Prediction\n"
        "assert Prediction is lineocr.prediction.Prediction\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnxruntime', 'torch')))"
    )
    assert _run_python(code) == "[]"


def _run_python(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (which must succeed)."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_load_reads_the_model_card(recognizer: Recognizer, tiny_model) -> None:
    _, meta = tiny_model
    assert recognizer.name == "tiny"
    assert len(recognizer.version) == 12
    assert recognizer.charset == meta.charset
    assert recognizer.spec == meta.preprocess
    assert recognizer.metadata["charset"] == meta.charset.to_dict()
    assert recognizer.metadata["onnx"]["output"] == "logits"


def test_results_match_pytorch_end_to_end(recognizer: Recognizer, tiny_model) -> None:
    """Same preprocessing, lengths and decoding as the PyTorch model: same text."""
    model, meta = tiny_model
    images = sample_lines(meta.preprocess, [40, 300, 90, 500, 64, 64], seed=7)
    predictions = recognizer.read_batch(images, batch_size=6)
    lines = [to_model_input(img, meta.preprocess) for img in images]
    chunks = width_chunks([line.shape[1] for line in lines], 6)  # the batches it pads alike
    assert len(chunks) > 1
    for chunk in chunks:
        card = recognizer.metadata["onnx"]
        feed = LineFeed(card["right_context"], card["paper_frames"], TIME_STRIDE)
        batch, lengths = feed.collate([lines[i] for i in chunk], meta.preprocess)
        with torch.no_grad():
            logits = model(torch.from_numpy(batch), torch.from_numpy(lengths)).numpy()
        decoded = greedy_batch(log_softmax(logits.astype(np.float64)), lengths)
        for i, d in zip(chunk, decoded, strict=True):
            # the prediction leaves out spaces no label has (at either end, doubled)
            kept = re.sub(" +", " ", meta.charset.decode(d.indices)).strip(" ")
            assert predictions[i].text == kept
            assert predictions[i].confidence == pytest.approx(d.confidence, rel=1e-3, abs=1e-12)


def test_a_line_reads_the_same_alone_and_in_any_batch(recognizer: Recognizer) -> None:
    """Reading is a function of the image: the same text and confidences alone and in
    batches of other sizes and company (the graph's LSTMs read each line's own frames, and
    each line has its right context of paper). Confidences agree to float rounding only:
    a batch of one runs other matrix kernels than a batch of several."""
    images = sample_lines(recognizer.spec, [40, 44, 52, 56, 60, 64, 300, 310, 330], seed=11)
    alone = [recognizer.read(image) for image in images]

    def same(a: list, b: list) -> bool:
        return [p.text for p in a] == [p.text for p in b] and all(
            p.confidence == pytest.approx(q.confidence, rel=1e-4)
            and [c.confidence for c in p.chars]
            == pytest.approx([c.confidence for c in q.chars], rel=1e-4)
            for p, q in zip(a, b, strict=True)
        )

    for batch_size in (2, 3, 9):
        assert same(recognizer.read_batch(images, batch_size=batch_size), alone)
        assert same(recognizer.read_batch(images[::-1], batch_size=batch_size), alone[::-1])


def test_read_batch_restores_input_order(recognizer: Recognizer) -> None:
    images = sample_lines(recognizer.spec, [300, 40, 120, 800, 64, 200, 50], seed=3)
    forward = recognizer.read_batch(images, batch_size=3)
    backward = recognizer.read_batch(images[::-1], batch_size=3)
    assert [p.text for p in forward] == [p.text for p in backward[::-1]]
    # Lines of one width need no padding: in an fp32 model (this one) batched and
    # one-at-a-time agree exactly (an int8 LSTM need not: docs/runtime.md).
    same = sample_lines(recognizer.spec, [160] * 5, seed=4)
    batched = recognizer.read_batch(same, batch_size=4)
    single = [recognizer.read(img) for img in same]
    assert [p.text for p in batched] == [p.text for p in single]
    assert recognizer.read_batch([]) == []


def test_every_image_source_kind(recognizer: Recognizer, tmp_path: Path) -> None:
    img = sample_lines(recognizer.spec, [150], seed=5)[0]
    path = tmp_path / "line.png"
    Image.fromarray(img).save(path)
    expected = recognizer.read(img).text
    for source in (path, str(path), path.read_bytes(), Image.open(path), np.stack([img] * 3, -1)):
        assert recognizer.read(source).text == expected


def test_a_prebuilt_decoder_reads_like_its_options(recognizer: Recognizer, tmp_path: Path) -> None:
    images = sample_lines(recognizer.spec, [60, 250, 400], seed=6)
    options = {"pattern": "digits"}
    decoder = recognizer.decoder(**options)
    assert recognizer.read_batch(images, built_decoder=decoder) == recognizer.read_batch(
        images, **options
    )
    with pytest.raises(DecodeError, match="not both"):
        recognizer.read_batch(images, built_decoder=decoder, **options)
    other = Charset("xyz", CharsetOptions())
    with pytest.raises(DecodeError, match="another model's charset"):
        recognizer.read_batch(images, built_decoder=Decoder.from_options(other))


def test_prediction_shape_and_confidences(recognizer: Recognizer) -> None:
    images = sample_lines(recognizer.spec, [60, 250, 400], seed=6)
    for options in ({}, {"decoder": "beam"}, {"pattern": "digits"}, {"lexicon": ["abc", "de"]}):
        for p in recognizer.read_batch(images, **options):
            assert isinstance(p, Prediction)
            assert 0.0 <= p.confidence <= 1.0
            assert "".join(c.char for c in p.chars) == p.text
            assert all(isinstance(c, CharConfidence) and 0 <= c.confidence <= 1 for c in p.chars)
            d = p.to_dict()
            assert set(d) == {"text", "confidence", "chars"}
            assert json.loads(json.dumps(d)) == d
            if "pattern" in options and p.text:
                assert p.text.isdigit()


def test_spaces_no_label_has_are_left_out_with_their_confidences(recognizer: Recognizer) -> None:
    """Labels have no space at either end or two in a row (collapse_spaces), so decoded ones
    (a wide blank margin read as a space) are dropped, each with its own confidence."""
    space = recognizer.charset.chars.index(" ") + 1
    a, b = (recognizer.charset.chars.index(c) + 1 for c in "ab")
    decoded = Decoded((space, a, space, space, b, space), (0.1, 0.9, 0.8, 0.2, 0.7, 0.3), 0.5)
    p = recognizer.prediction(decoded)
    assert p.text == "a b" and [c.confidence for c in p.chars] == [0.9, 0.8, 0.7]
    assert recognizer.charset.tidy("  a  b ") == "a b"
    keep = Charset(recognizer.charset.chars, CharsetOptions(collapse_spaces=False))
    assert keep.tidy(" a  b ") == " a  b "


def test_bad_inputs_and_options(recognizer: Recognizer, tmp_path: Path) -> None:
    good = sample_lines(recognizer.spec, [100], seed=1)[0]
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageError, match=r"bad\.png"):
        recognizer.read_batch([good, bad])
    with pytest.raises(DecodeError, match="unknown decode option"):
        recognizer.read(good, decodr="beam")
    with pytest.raises(DecodeError, match="bad pattern"):
        recognizer.read(good, pattern="(")
    with pytest.raises(ValueError, match="batch_size"):
        recognizer.read_batch([good], batch_size=0)
    # a cached decoder for an equal value of another type does not skip the check
    recognizer.read(good, decoder="beam", beam_width=5)
    with pytest.raises(DecodeError, match=r"beam_width must be a positive integer, not 5\.0"):
        recognizer.read(good, decoder="beam", beam_width=5.0)


def test_with_spec_shares_the_model(recognizer: Recognizer) -> None:
    img = sample_lines(recognizer.spec, [120], seed=9)[0]
    variant = recognizer.with_spec(recognizer.spec.with_ops(("auto_invert", "otsu")))
    assert variant.spec.ops == ("auto_invert", "otsu") and recognizer.spec.ops == ("auto_invert",)
    assert variant.version == recognizer.version
    assert variant.read(img).text == recognizer.with_spec(variant.spec).read(img).text
    with pytest.raises(ValueError, match="height"):
        recognizer.with_spec(PreprocessSpec(height=48))


def test_batches_in_parallel_give_the_serial_results(
    tiny_onnx_model: Path, recognizer: Recognizer
) -> None:
    parallel = Recognizer.load(tiny_onnx_model, threads=3)
    images = sample_lines(recognizer.spec, [40 + 37 * i for i in range(23)], seed=11)
    serial = recognizer.read_batch(images, batch_size=4)  # threads=1: one batch at a time
    assert parallel.read_batch(images, batch_size=4) == serial  # 6 batches on 3 threads
    assert Recognizer.load(tiny_onnx_model).threads == available_cpus()


def test_threads_and_errors_on_load(tiny_onnx_model: Path, tmp_path: Path) -> None:
    assert Recognizer.load(tiny_onnx_model, threads=2).threads == 2
    with pytest.raises(ValueError, match="threads"):
        Recognizer.load(tiny_onnx_model, threads=0)
    with pytest.raises(ModelNotFoundError, match="printed, arabic-digits") as info:
        Recognizer.load("no-such-model")
    assert isinstance(info.value, LookupError)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        Recognizer.load(junk)


def test_temperature_from_the_card_is_applied(tmp_path: Path, recognizer: Recognizer) -> None:
    model, meta = make_tiny_model()
    meta.calibration = {"temperature": 2.0}
    hot = Recognizer.load(export_onnx((model, meta), tmp_path / "t2.onnx"))
    images = sample_lines(meta.preprocess, [80, 120], seed=8)
    for a, b in zip(recognizer.read_batch(images), hot.read_batch(images), strict=True):
        assert a.text == b.text  # argmax is unchanged by a temperature
        # Softer probabilities: the best path and each character are less certain.
        assert b.confidence < a.confidence
        for ca, cb in zip(a.chars, b.chars, strict=True):
            assert cb.confidence < ca.confidence


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan"), "2", True])
def test_a_card_temperature_the_export_would_refuse_is_refused_on_loading(
    tmp_path: Path, tiny_onnx_model: Path, temperature
) -> None:
    # One rule (decode.check_temperature) for both; an infinite temperature loaded before
    # (the runtime checked only "> 0") and read every confidence as 1/C.
    path = tmp_path / "edited.onnx"
    shutil.copy(tiny_onnx_model, path)
    card = read_metadata(path)
    card["calibration"] = {"temperature": temperature}
    write_metadata(path, card)
    with pytest.raises(ModelError, match=r"edited\.onnx: bad lineocr model card: calibration"):
        Recognizer.load(path)


def test_load_a_training_run_directory(tmp_path: Path) -> None:
    model, meta = make_tiny_model(seed=3)
    save_checkpoint(tmp_path / "run", "best", model, meta)
    rec = Recognizer.load(tmp_path / "run")
    assert rec.name == "run" and rec.charset == meta.charset
    assert isinstance(rec.read(sample_lines(meta.preprocess, [90])[0]).text, str)
    with pytest.raises(ModelNotFoundError):
        Recognizer.load(tmp_path)  # a directory without a checkpoint
    # Found but broken: a ModelError naming the file (was "not found", with the bundled list).
    (tmp_path / "run" / "best.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelError, match=r"best\.json") as info:
        Recognizer.load(tmp_path / "run")
    assert not isinstance(info.value, ModelNotFoundError) and "bundled" not in str(info.value)


def test_names_that_are_not_models(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # holds a run: "" must not load the current folder
    model, meta = make_tiny_model(seed=3)
    save_checkpoint(tmp_path, "best", model, meta)
    with pytest.raises(ModelNotFoundError, match="no model given"):
        Recognizer.load("")
    with pytest.raises(ModelNotFoundError, match=r"by its name, a string: .*load\('captcha'\)"):
        Recognizer.load(Path("captcha"))  # a Path is a file name, here a missing one


def test_a_run_directory_without_torch_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    (tmp_path / "run").mkdir()
    with pytest.raises(ModelError, match=r"needs PyTorch.*lineocr export"):
        Recognizer.load(tmp_path / "run")


# -- the bundled-model registry --------------------------------------------------------------


def test_zoo_lists_unbuilt_models(tmp_path: Path, monkeypatch, tiny_onnx_model: Path) -> None:
    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path)
    shutil.copy(tiny_onnx_model, tmp_path / "captcha.onnx")
    (tmp_path / "arabic-digits.onnx").write_bytes(b"broken")
    infos = {info.name: info for info in zoo.list_models()}
    assert list(infos) == [
        "printed",
        "arabic-digits",
        "captcha",
        "handwritten-digits",
        "printed-fast",
    ]
    assert not infos["printed"].built and infos["printed"].card is None
    assert infos["captcha"].built and infos["captcha"].card["name"] == "tiny"
    assert infos["arabic-digits"].built and infos["arabic-digits"].error
    assert zoo.model_path("captcha") == tmp_path / "captcha.onnx"
    with pytest.raises(ModelNotFoundError, match="not built yet"):
        zoo.model_path("printed")
    with pytest.raises(ModelNotFoundError, match="no bundled model named"):
        zoo.model_path("nope")
    rec = Recognizer.load("captcha")
    assert rec.name == "captcha"
    with pytest.raises(ModelNotFoundError, match="not built yet"):
        Recognizer.load()


def test_width_chunks_bound_the_padding() -> None:
    widths = [100, 2000, 90, 110, 120, 130, 95, 1990, 40]
    chunks = width_chunks(widths, batch_size=4)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(widths)))
    assert all(len(chunk) <= 4 for chunk in chunks)
    for chunk in chunks:  # narrowest first, no line much wider than the chunk's first
        assert all(widths[i] >= widths[chunk[0]] for i in chunk)
        assert max(widths[i] for i in chunk) <= widths[chunk[0]] * 1.25 + 16
    assert [widths[i] for i in chunks[0]] == [40]  # 40 would pad 90-110 lines' batch
    assert [1990, 2000] in [[widths[i] for i in chunk] for chunk in chunks]


def test_a_very_wide_line_does_not_change_how_the_others_read() -> None:
    """A batch pads to its widest line and the BiLSTM reads the padding: a 20,000-pixel
    blank line once made short digit lines read with a space inside at a quarter of the
    confidence. The batches are bounded by width now: each line reads as on its own."""
    rec = Recognizer.load("printed", threads=1)
    texts = ["12345", "1234567890123", "Harbour 42", "808"]
    lines = [render(t, size=28) for t in texts]
    wide = np.full((20, 20000), 255, np.uint8)
    together = rec.read_batch([*lines, wide], batch_size=16)
    for line, got in zip(lines, together, strict=False):
        alone = rec.read(line)
        assert got.text == alone.text
        assert abs(got.confidence - alone.confidence) < 0.02
    assert [p.text for p in together[:4]] == texts


def test_a_cancelled_token_stops_the_read(recognizer: Recognizer) -> None:
    lines = [render(t) for t in ("ab", "abc", "a")]
    token = CancelToken()
    assert [p.text for p in recognizer.read_batch(lines, cancel=token)] == [
        p.text for p in recognizer.read_batch(lines)
    ]
    token.cancel()
    with pytest.raises(ReadCancelledError):
        recognizer.read_batch(lines, cancel=token)
    with pytest.raises(ReadCancelledError):
        recognizer.read_batch(lines, cancel=token, tta=True)
    # run_isolated does not retry a cancelled read one image at a time
    calls: list[int] = []

    def run(images: list[np.ndarray]) -> list[Prediction]:
        calls.append(len(images))
        return recognizer.read_batch(images, cancel=token)

    results = run_isolated(run, lines)
    assert calls == [3] and all(isinstance(r, ReadCancelledError) for r in results)


def test_a_beam_read_stops_between_lines(recognizer: Recognizer, monkeypatch) -> None:
    """Cancelled while a beam decodes a batch: the lines after it are not decoded."""
    decoder = recognizer.decoder(decoder="beam", beam_width=8)
    token = CancelToken()
    decoded: list[int] = []
    real = type(decoder).__call__

    def decode_one(self: Decoder, log_probs: np.ndarray) -> Decoded:
        decoded.append(len(log_probs))
        token.cancel()  # as another thread would, while this line decodes
        return real(self, log_probs)

    monkeypatch.setattr(type(decoder), "__call__", decode_one)
    lines = [render("ab") for _ in range(6)]
    with pytest.raises(ReadCancelledError):
        recognizer.read_batch(lines, built_decoder=decoder, batch_size=6, cancel=token)
    assert len(decoded) == 1


def test_cancel_terminates_the_network_run_in_progress(recognizer: Recognizer) -> None:
    """The token sets ONNX Runtime's terminate flag on a run in progress (which stops at its
    next node); the failure is reported as ReadCancelledError, not ONNX Runtime's FAIL."""
    token = CancelToken()
    seen: list[bool] = []

    class Session:  # a network run that lasts until it is terminated
        def run(self, outputs: list[str], feed: dict[str, np.ndarray], options) -> list:
            token.cancel()  # from another thread, in the server
            seen.append(options.terminate)
            raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : Exiting due to terminate flag")

    with pytest.raises(ReadCancelledError):
        recognizer._run(Session(), np.zeros((1, 1, 32, 40), np.float32), token)  # type: ignore[arg-type]
    assert seen == [True]
    # and with ONNX Runtime itself: a terminated run raises, the session still reads after
    wide = np.random.default_rng(0).random((8, 1, 32, 4000), dtype=np.float32)
    token = CancelToken()
    with token.run_options() as options:
        token.cancel()
        assert options.terminate
        with pytest.raises(Exception, match="terminate"):
            feed = {"input": wide, "lengths": np.full(8, 1000, np.int32)}
            recognizer._session.run(None, feed, options)
    assert recognizer.read(render("ab")).text == recognizer.read_batch([render("ab")])[0].text


# -- model files the runtime cannot use: refused on loading, naming the file ------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda card: card["preprocess"].update(height=16), "32 pixels high, its card says 16"),
        (lambda card: card["preprocess"].update(max_width=10**12), "max_width must be at most"),
        (lambda card: card["preprocess"].update(width_multiple=10**9), "width_multiple must be"),
        (lambda card: card.pop("preprocess"), "no 'preprocess' section"),
        (lambda card: card.update(onnx="x"), "onnx: expected a JSON object, got str"),
        (lambda card: card["onnx"].update(time_stride=0), "time_stride must be a positive"),
        (lambda card: card["onnx"].update(time_stride=None), "time_stride must be a positive"),
        (lambda card: card["onnx"].update(time_stride="4"), "time_stride must be a positive"),
        (lambda card: card["onnx"].update(time_stride=10**9), "the graph gives 16"),
        (lambda card: card["onnx"].update(time_stride=8), "says 8 frames for a line 64"),
        (lambda card: card.update(charset=5), "charset: expected a JSON object, got int"),
        (lambda card: card["charset"].update(chars=""), "charset chars: empty"),
        (lambda card: card["charset"].update(chars=[1, 2]), "expected a string of characters"),
        (lambda card: card["charset"]["options"].update(nfc="no"), "nfc must be true or false"),
    ],
    ids=[
        "height-not-the-graphs",
        "max_width-huge",
        "width_multiple-huge",
        "no-preprocess",
        "onnx-not-an-object",
        "time_stride-0",
        "time_stride-null",
        "time_stride-string",
        "time_stride-not-the-graphs",
        "time_stride-twice-the-graphs",
        "charset-a-number",
        "charset-empty",
        "chars-not-strings",
        "option-not-a-bool",
    ],
)
def test_a_card_the_runtime_cannot_use_is_refused_on_loading(
    tmp_path: Path, tiny_onnx_model: Path, edit, message: str
) -> None:
    """Each of these loaded before and failed on every image (a height the graph does not
    take, a width of 10**9 pixels, a time stride of 0), read text wrong without a word (a
    stride of "4" read as 4, "no" as true, a stride the graph does not have: every text cut
    to a frame or to half its frames), or escaped as an AttributeError or TypeError
    without the file's name."""
    card = read_metadata(tiny_onnx_model)
    edit(card)
    path = with_card_text(tiny_onnx_model, tmp_path / "edited.onnx", json.dumps(card))
    with pytest.raises(ModelError) as info:
        Recognizer.load(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_a_card_nested_deeper_than_any_lineocr_card_is_refused(
    tmp_path: Path, tiny_onnx_model: Path
) -> None:
    """100 levels loaded (and the server's /v1/models, which walks the card, answered 500
    for 900); 2,000 raised a RecursionError from json.loads."""
    card = json.dumps(read_metadata(tiny_onnx_model))
    for depth in (100, 2000):
        text = card[:-1] + ', "nested": ' + "[" * depth + "]" * depth + "}"
        path = with_card_text(tiny_onnx_model, tmp_path / f"deep{depth}.onnx", text)
        with pytest.raises(ModelError, match=re.escape(f"{path}: unreadable model card (nested")):
            Recognizer.load(path)


@dataclass(frozen=True)
class Graph:
    """What :func:`_graph_file` changes in the graph the runtime feeds (nothing by default).
    ``opaque_classes``: the classes picked by data-dependent indices (NonZero), so that no
    shape inference knows their number. ``decoy``: a first output ``decoy``, the logits
    negated."""

    batch: int | str = "N"
    channels: int = 1
    width: int | str = "W"
    image_type: int = TensorProto.FLOAT
    extra_input: bool = False
    rank4: bool = False
    extra_classes: int = 0
    logits_name: str = "logits"
    decoy: bool = False
    opaque_classes: bool = False


def _graph_file(path: Path, card: dict, g: Graph = Graph()) -> Path:
    """A small logits graph with ``card``: a convolution over the whole (32-pixel) height,
    stride 4, to (N, T, classes); as the runtime feeds it, or with one thing changed."""
    if isinstance(card.get("onnx"), dict):  # this graph takes no line lengths
        skip = ("lengths", "right_context")
        card = {**card, "onnx": {k: v for k, v in card["onnx"].items() if k not in skip}}
    classes = len(card["charset"]["chars"]) + 1 + g.extra_classes
    weights = np.random.default_rng(0).normal(size=(classes, g.channels, 32, 4))
    nodes = [
        helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Conv", ["x", "w"], ["conv"], strides=[4, 4]),
        helper.make_node("Squeeze", ["conv", "axis2"], ["frames"]),
        helper.make_node("Transpose", ["frames"], ["out"], perm=[0, 2, 1]),
    ]
    inputs = [
        helper.make_tensor_value_info("image", g.image_type, [g.batch, g.channels, 32, g.width])
    ]
    if g.extra_input:
        nodes.append(helper.make_node("Add", ["out", "bias"], ["out2"]))
        inputs.append(helper.make_tensor_value_info("bias", TensorProto.FLOAT, [classes]))
    if g.rank4:
        nodes.append(helper.make_node("Unsqueeze", [nodes[-1].output[0], "axis0"], ["out2"]))
    if g.opaque_classes:
        nodes.append(helper.make_node("NonZero", ["every_class"], ["found"]))
        nodes.append(helper.make_node("Squeeze", ["found", "axis0"], ["indices"]))
        nodes.append(helper.make_node("Gather", ["out", "indices"], ["out2"], axis=2))
    nodes.append(helper.make_node("Identity", [nodes[-1].output[0]], [g.logits_name]))
    outputs = [helper.make_tensor_value_info(g.logits_name, TensorProto.FLOAT, None)]
    if g.decoy:
        nodes.append(helper.make_node("Neg", [g.logits_name], ["decoy"]))
        outputs.insert(0, helper.make_tensor_value_info("decoy", TensorProto.FLOAT, None))
    onnx_graph = helper.make_graph(
        nodes,
        "logits",
        inputs,
        outputs,
        [
            numpy_helper.from_array(weights.astype(np.float32), "w"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
            numpy_helper.from_array(np.ones(classes, dtype=np.int64), "every_class"),
        ],
    )
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    write_metadata(path, card)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch": 1}, "the graph's batch size is fixed (1)"),
        ({"width": 200}, "the graph's input width is fixed (200)"),
        ({"channels": 3}, "the graph takes 3 channels"),
        ({"image_type": TensorProto.FLOAT16}, "the graph takes tensor(float16)"),
        ({"extra_input": True}, "the graph takes 2 inputs (image, bias)"),
        ({"rank4": True}, "the graph gives 4-D output"),
    ],
    ids=["fixed-batch", "fixed-width", "rgb", "float16", "two-inputs", "4-D-logits"],
)
def test_a_graph_the_runtime_cannot_feed_is_refused_on_loading(
    tmp_path: Path, tiny_onnx_model: Path, change: dict, message: str
) -> None:
    """Each loaded before and then failed on every image (an ONNX Runtime INVALID_ARGUMENT,
    a missing input, a numpy unpacking error), where the graph's signature said so."""
    card = read_metadata(tiny_onnx_model)
    fine = Recognizer.load(_graph_file(tmp_path / "fine.onnx", card), threads=1)
    images = sample_lines(fine.spec, [90, 90, 200])  # two of one width: one batch of 2
    assert len(fine.read_batch(images)) == 3  # the graph as the runtime feeds it reads
    path = _graph_file(tmp_path / "changed.onnx", card, Graph(**change))
    with pytest.raises(ModelError) as info:
        Recognizer.load(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_logits_without_the_charsets_classes_are_refused_on_loading(
    tmp_path: Path, tiny_onnx_model: Path
) -> None:
    """A graph whose classes no shape inference knows tells only when run: two classes
    too many loaded and then read labels past the charset's end."""
    card = read_metadata(tiny_onnx_model)
    fine = Recognizer.load(_graph_file(tmp_path / "fine.onnx", card, Graph(opaque_classes=True)))
    assert not isinstance(fine._session.get_outputs()[0].shape[2], int)  # not declared
    fine.read(sample_lines(fine.spec, [90])[0])  # reads (random weights: any text)
    path = _graph_file(tmp_path / "wide.onnx", card, Graph(extra_classes=2, opaque_classes=True))
    classes = len(card["charset"]["chars"]) + 1
    with pytest.raises(ModelError) as info:
        Recognizer.load(path)
    assert (
        str(info.value) == f"{path}: the graph gives {classes + 2} classes, the charset {classes}"
    )


@pytest.mark.parametrize(
    ("logits_name", "card_output", "problem"),
    [
        ("logits", "logits", None),
        ("scores", "scores", None),
        ("logits", None, None),  # no name in the card: the output called logits
        ("scores", None, "the graph has 2 outputs (decoy, scores) and its card names none"),
        ("logits", "nope", "the card's onnx.output 'nope' is not an output of the graph"),
        ("logits", 5, "bad lineocr model card: onnx.output must be a name, not 5"),
    ],
    ids=["card-names-logits", "card-names-scores", "called-logits", "unnamed", "missing", "5"],
)
def test_of_several_outputs_the_logits_are_the_one_the_card_names(
    tmp_path: Path, tiny_onnx_model: Path, logits_name: str, card_output, problem: str | None
) -> None:
    """The first output was taken on trust: here a decoy (the logits negated), which read
    every line as something else without a word."""
    card = read_metadata(tiny_onnx_model)
    fine = Recognizer.load(_graph_file(tmp_path / "fine.onnx", card), threads=1)
    card["onnx"].pop("output")
    if card_output is not None:
        card["onnx"]["output"] = card_output
    path = _graph_file(tmp_path / "two.onnx", card, Graph(logits_name=logits_name, decoy=True))
    if problem is not None:
        with pytest.raises(ModelError) as info:
            Recognizer.load(path)
        assert str(info.value).startswith(f"{path}: {problem}")
        return
    images = sample_lines(fine.spec, [90, 150, 200])
    batch, _ = collate([to_model_input(image, fine.spec) for image in images], fine.spec)
    two = Recognizer.load(path, threads=1)
    np.testing.assert_array_equal(two.logits(batch), fine.logits(batch))
    assert two.read_batch(images) == fine.read_batch(images)


def test_a_single_output_loads_whatever_the_card_calls_it(
    tmp_path: Path, tiny_onnx_model: Path
) -> None:
    """The card's onnx.output only chooses among several outputs: a graph whose one output
    was renamed (by a converter, by hand) loads and reads as before."""
    card = read_metadata(tiny_onnx_model)
    fine = Recognizer.load(_graph_file(tmp_path / "fine.onnx", card), threads=1)
    assert card["onnx"]["output"] == "logits"
    renamed = Recognizer.load(
        _graph_file(tmp_path / "probs.onnx", card, Graph(logits_name="probs"))
    )
    images = sample_lines(fine.spec, [90, 150])
    assert renamed.read_batch(images) == fine.read_batch(images)


def test_a_card_larger_than_a_mebibyte_is_refused(tmp_path: Path, tiny_onnx_model: Path) -> None:
    """A 2 MB card loaded (then sent whole by the server's /v1/models on every call); the
    writer refuses one too, naming its largest sections, so an export never makes a file
    the runtime refuses."""
    card = read_metadata(tiny_onnx_model)
    card["notes"] = "n" * zoo.MAX_CARD_BYTES
    path = with_card_text(tiny_onnx_model, tmp_path / "big.onnx", json.dumps(card))
    with pytest.raises(ModelError) as info:
        Recognizer.load(path)
    size = len(json.dumps(card))
    assert (
        str(info.value)
        == f"{path}: model card of {size:,} bytes; at most 1,048,576 (1 MiB) are read"
    )
    with pytest.raises(ExportError, match=r"bytes: notes 1,048,5\d\d, "):
        write_metadata(tmp_path / "written.onnx", card)
    card["notes"] = "n" * (zoo.MAX_CARD_BYTES - 20_000)  # the rest of the card fits beside it
    write_metadata(path, card)
    assert Recognizer.load(path).metadata["notes"] == card["notes"]


def test_a_run_whose_architecture_this_version_lacks_is_a_model_error(tmp_path: Path) -> None:
    model, meta = make_tiny_model(seed=3)
    save_checkpoint(tmp_path / "run", "best", model, meta)
    described = tmp_path / "run" / "best.json"
    data = json.loads(described.read_text(encoding="utf-8"))
    data["config"]["model"]["arch"] = "vit"
    described.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match=rf"{re.escape(str(described))}: unknown architecture"):
        Recognizer.load(tmp_path / "run")  # was a bare ValueError, naming no file


def test_a_name_too_long_and_a_fifo_are_model_errors(tmp_path: Path) -> None:
    """The long name raised a bare OSError (ENAMETOOLONG) from Path.is_dir; the FIFO was
    "no file named" although it is there."""
    with pytest.raises(ModelNotFoundError, match="File name too long"):
        Recognizer.load("x" * 300 + ".onnx")
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match=re.escape(f"{fifo}: not a regular file")):
        Recognizer.load(fifo)


def test_a_model_path_that_cannot_be_reached_is_a_model_error(monkeypatch) -> None:
    """A folder on the way that cannot be entered is not "no file named" (a LookupError
    listing the bundled models); a name too long still is, cut only when it is long."""
    import errno as errno_codes
    import os as os_module

    def refuse(self: Path, *args, **kwargs) -> bool:
        raise PermissionError(errno_codes.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_dir", refuse)
    with pytest.raises(ModelError, match=r"^/locked/m\.onnx: cannot be read: permission denied$"):
        Recognizer.load("/locked/m.onnx")
    monkeypatch.undo()
    long_name = "x" * (os_module.pathconf("/", "PC_NAME_MAX") + 10) + ".onnx"
    with pytest.raises(
        ModelNotFoundError, match=r"^no file named 'x{80}\.\.\.': File name too long"
    ):
        Recognizer.load(long_name)
