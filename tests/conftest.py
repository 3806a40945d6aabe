"""Shared pytest fixtures. Add fixtures here; do not rewrite others' (several areas share it)."""

from __future__ import annotations

from pathlib import Path

import pytest

# -- tiny models (export / runtime / CLI / server tests) --------------------------------

TINY_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz -"


def make_tiny_model(alphabet: str = TINY_ALPHABET, *, seed: int = 0, name: str = "tiny"):
    """An untrained ``CRNN(preset="tiny")`` (height 32) and its ``ModelMeta``, deterministic
    for a seed. Its outputs are arbitrary but fixed: enough for parity, formats and plumbing."""
    import torch

    from lineocr.charset import Charset
    from lineocr.config import Config, ModelConfig
    from lineocr.models.crnn import CRNN
    from lineocr.preprocess import PreprocessSpec
    from lineocr.train.checkpoint import ModelMeta

    torch.manual_seed(seed)
    charset = Charset.from_string(alphabet)
    config = Config(model=ModelConfig(preset="tiny"), preprocess=PreprocessSpec(height=32))
    model = CRNN(num_classes=charset.num_classes, height=32, preset="tiny").eval()
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
