"""What the recognition networks are, without PyTorch: the facts that the configuration,
the networks, the exporter and the torch-free runtime share (one copy of each)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Input columns per output frame: the CNN halves the width twice.
TIME_STRIDE = 4
# Input heights are a multiple of this: the CNN halves the height four times.
HEIGHT_MULTIPLE = 16

Preset = Literal["tiny", "small", "base", "fast", "fast1"]


@dataclass(frozen=True)
class CRNNSize:
    channels: tuple[int, int, int, int]
    hidden: int
    fast: bool = False  # five convolutions, height halved after each (crnn._backbone)
    layers: int = 2  # BiLSTM layers


PRESETS: dict[Preset, CRNNSize] = {
    "tiny": CRNNSize(channels=(16, 32, 64, 96), hidden=64),  # ~0.43 M params
    "small": CRNNSize(channels=(32, 64, 128, 160), hidden=128),  # ~1.5 M params
    "base": CRNNSize(channels=(64, 128, 256, 256), hidden=224),  # ~4.8 M params
    # small's layers less its last convolution, the first one strided and the height
    # pooled earlier: about half the convolution work per frame (docs/training.md has the
    # speeds). Every layer has a same-shaped layer in small, so it can start from a small
    # model's weights.
    "fast": CRNNSize(channels=(32, 64, 128, 160), hidden=128, fast=True),  # ~1.3 M params
    # fast with one BiLSTM layer, the largest share of fast's time. Starts from a fast
    # model's weights (its first LSTM layer; the residual keeps the classifier's input of
    # the same kind).
    "fast1": CRNNSize(channels=(32, 64, 128, 160), hidden=128, fast=True, layers=1),  # ~0.94 M
}
