"""Shared pytest fixtures. Add fixtures here; do not rewrite others' (several areas share it)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# -- tiny models (export / runtime / CLI / server tests) --------------------------------

TINY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz -"


def make_tiny_model(alphabet: str = TINY_ALPHABET, *, seed: int = 0, name: str = "tiny"):
    """An untrained ``CRNN(preset="tiny")`` (height 32) and its ``ModelMeta``, deterministic
    for a seed. Its text is meaningless but depends on the image (see below): enough for
    parity, formats and plumbing, and for telling inputs apart."""
    import torch

    from lineocr.charset import Charset
    from lineocr.config import Config, ModelConfig
    from lineocr.export import sample_lines
    from lineocr.models.crnn import CRNN
    from lineocr.preprocess import PreprocessSpec, collate, to_model_input
    from lineocr.train.checkpoint import ModelMeta

    torch.manual_seed(seed)
    charset = Charset.from_string(alphabet)
    spec = PreprocessSpec(height=32)
    config = Config(model=ModelConfig(preset="tiny"), preprocess=spec)
    model = CRNN(num_classes=charset.num_classes, height=32, preset="tiny")
    # Freshly initialised, the network gives the same text for every image (the signal
    # fades through the convolutions). BatchNorm statistics taken from a few synthetic
    # lines and doubled weights after the CNN make the output depend on the input.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = None  # a plain average over the calibration batch
            module.reset_running_stats()
    lines = [
        to_model_input(img, spec) for img in sample_lines(spec, [64, 100, 160, 220] * 4, seed=11)
    ]
    with torch.no_grad():
        model.train()(torch.from_numpy(collate(lines, spec)[0]))
        for param_name, param in model.named_parameters():
            if param_name.split(".")[-1].startswith("weight") and not param_name.startswith(
                "backbone"
            ):
                param.mul_(2.0)
    model.eval()
    meta = ModelMeta(
        charset=charset,
        config=config,
        name=name,
        metrics={"cer": 0.5},
        data={"train": {"source": "none (untrained test model)", "lines": 0}},
        calibration={"temperature": 1.0},
    )
    return model, meta


@pytest.fixture(scope="session")
def tiny_model():
    """``(model, meta)`` of the untrained tiny CRNN (see :func:`make_tiny_model`)."""
    return make_tiny_model()


@pytest.fixture(scope="session")
def tiny_onnx_model(tmp_path_factory: pytest.TempPathFactory, tiny_model) -> Path:
    """Path of the tiny model exported to ONNX with its model card (parity-checked)."""
    from lineocr.export import export_onnx

    out = tmp_path_factory.mktemp("tiny-onnx") / "tiny.onnx"
    return export_onnx(tiny_model, out)


# The u8 x s8 products of ONNX Runtime's AVX2 int8 kernels (CPUs without VNNI) are summed in
# pairs into int16 with saturation: 2 * 255 * 64 = 32,640 fits, 2 * 255 * 127 does not. Weights
# of at most 64 in magnitude (quantised with reduce_range) give every CPU the same integers.
AVX2_SAFE_INT8_WEIGHT = 64


def max_abs_int8_weight(path: Path) -> int:
    """The largest |value| among the int8 weights that a quantised graph dequantises or
    multiplies as integers (MatMulInteger, DynamicQuantizeLSTM); 0 for a graph without."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    weights = {
        init.name: init for init in graph.initializer if init.data_type == onnx.TensorProto.INT8
    }
    largest = 0
    for node in graph.node:
        if node.op_type in ("DequantizeLinear", "DynamicQuantizeLSTM", "MatMulInteger"):
            for name in node.input:
                if name in weights:
                    values = numpy_helper.to_array(weights[name]).astype(np.int16)
                    largest = max(largest, int(np.abs(values).max()))
    return largest


def with_card_text(source: Path, path: Path, text: str) -> Path:
    """``source`` (an ONNX file) saved as ``path`` with its model card replaced by ``text``
    (any string: broken JSON, a card of other types)."""
    import onnx

    from lineocr.zoo import METADATA_KEY

    proto = onnx.load(str(source))
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            prop.value = text
    onnx.save(proto, str(path))
    return path


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (the web page tests' browser, one per
    test module); skips the test without them."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-system-deps.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# -- a folder that cannot be listed (sources and read tests) ------------------------------


@contextmanager
def unlistable(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``folder`` (made if need be) that cannot be listed: mode 000, and where that does not
    stop listing (the tests may run as root) ``os.scandir`` and ``os.listdir`` refusing it
    as the system would. Its mode is given back at the end, for the clean-up."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0)
    try:
        try:
            os.scandir(folder).close()
        except PermissionError:
            pass
        else:
            for name in ("scandir", "listdir"):
                monkeypatch.setattr(os, name, _refusing(folder, getattr(os, name)))
        yield folder
    finally:
        folder.chmod(0o755)


def _refusing(folder: Path, listing: Callable[..., Any]) -> Callable[..., Any]:
    def refusing(path: Any = ".") -> Any:
        if isinstance(path, (str, os.PathLike)) and Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    return refusing
