"""CRNN: a VGG-style CNN, a bidirectional LSTM (2 layers; 1 in ``fast1``) and a linear
layer, for CTC.

The module maps an image batch (N, 1, H, W) to logits (N, T, C) with T = W / 4 and nothing
else: no loss, no decoding (those live in ``train/`` and ``decode/``). Height is fixed
per model (it is part of the preprocessing spec); width is free.

One change from the classic CRNN (Shi et al., 2015): a residual connection around the
BiLSTM, so the classifier sees the local CNN features as well as their context. It cuts
CTC's initial all-blank plateau short (docs/training.md, Model presets).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from lineocr.models.spec import HEIGHT_MULTIPLE, PRESETS, TIME_STRIDE, CRNNSize

__all__ = ["CRNN", "PRESETS", "TIME_STRIDE", "CRNNSize", "output_lengths", "right_context"]


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


def _backbone(size: CRNNSize) -> nn.Sequential:
    """(N, 1, H, W) -> (N, c4, H/16, W/4)."""
    c1, c2, c3, c4 = size.channels
    if size.fast:
        return nn.Sequential(
            # Stride 2 instead of a full-resolution convolution and a pool: the first layer
            # (1 input channel) does few multiply-adds per byte moved, so at full resolution
            # it costs far more time than its share of the work (docs/training.md).
            nn.Conv2d(1, c1, 3, stride=2, padding=1, bias=False),  # H/2,  W/2
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            *_conv(c1, c2),
            nn.MaxPool2d(2, 2),  # H/4,  W/4
            *_conv(c2, c3),
            nn.MaxPool2d((2, 1)),  # H/8,  W/4
            *_conv(c3, c3),
            nn.MaxPool2d((2, 1)),  # H/16, W/4
            *_conv(c3, c4),
        )
    return nn.Sequential(
        *_conv(1, c1),
        nn.MaxPool2d(2, 2),  # H/2,  W/2
        *_conv(c1, c2),
        nn.MaxPool2d(2, 2),  # H/4,  W/4
        *_conv(c2, c3),
        *_conv(c3, c3),
        nn.MaxPool2d((2, 1)),  # H/8,  W/4
        *_conv(c3, c4),
        *_conv(c4, c4),
        nn.MaxPool2d((2, 1)),  # H/16, W/4
    )


class CRNN(nn.Module):
    def __init__(
        self, num_classes: int, height: int = 32, preset: str = "small", dropout: float = 0.2
    ) -> None:
        super().__init__()
        if preset not in PRESETS:
            raise ValueError(f"unknown CRNN preset {preset!r}; known: {sorted(PRESETS)}")
        if height % HEIGHT_MULTIPLE:
            raise ValueError(
                f"CRNN input height must be a multiple of {HEIGHT_MULTIPLE}, got {height}"
            )
        size = PRESETS[preset]
        c4, hidden = size.channels[3], size.hidden
        self.num_classes = num_classes
        self.height = height
        self.backbone = _backbone(size)
        self.project = nn.Linear(c4 * (height // 16), 2 * hidden)
        self.rnn = nn.LSTM(
            2 * hidden,
            hidden,
            num_layers=size.layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if size.layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``lengths``: each line's frames; the BiLSTM then reads no frame beyond them (its
        backward pass starts at the line's last frame, whatever padding follows), as the
        exported graph does with ONNX's ``sequence_lens``. Frames past a line's length get
        no context (zeros), as there."""
        features = self.backbone(x)  # (N, C, h, T)
        n, c, h, t = features.shape
        seq = features.permute(0, 3, 1, 2).reshape(n, t, c * h)
        seq = torch.relu(self.project(seq))
        if lengths is None:
            context, _ = self.rnn(seq)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(
                seq, lengths.clamp(1, t).cpu(), batch_first=True, enforce_sorted=False
            )
            out, _ = self.rnn(packed)
            context, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=t)
        # Residual around the BiLSTM: the classifier also sees the local CNN features.
        return self.classifier(self.dropout(context + seq))  # (N, T, num_classes)


def right_context(model: CRNN, height: int) -> int:
    """Columns to the right of a frame's own that its CNN features depend on (through the
    convolutions' receptive field), rounded up to whole frames: a line padded with this
    much paper has the same features on its frames whatever lies beyond."""
    backbone = _cpu_eval(model.backbone)
    width, column = 64 * TIME_STRIDE, 32 * TIME_STRIDE
    x = torch.zeros(1, 1, height, width)
    with torch.no_grad():
        plain = backbone(x)
        x[..., column] = 1.0
        changed = (backbone(x) - plain).abs().sum(dim=(0, 1, 2)).nonzero().flatten()
    reach = column - TIME_STRIDE * int(changed.min()) if len(changed) else 0
    return -(-(reach + 1) // TIME_STRIDE) * TIME_STRIDE


def _cpu_eval(module: nn.Module) -> nn.Module:
    return copy.deepcopy(module).to("cpu").eval()


def output_lengths(widths: torch.Tensor) -> torch.Tensor:
    """Valid output frames for input widths (padding beyond a line's width is ignored)."""
    return torch.div(widths + TIME_STRIDE - 1, TIME_STRIDE, rounding_mode="floor")
