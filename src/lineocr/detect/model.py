"""The detector network: a small encoder-decoder (U-Net with additive skips, as an FPN)
mapping a grey page (N, 1, H, W) to core logits (N, 1, H/stride, W/stride); no loss, no
post-processing. H and W are multiples of 16 (:data:`lineocr.detect.spec.SIZE_MULTIPLE`).

The encoder halves the size four times (to 1/16) and ends in dilated convolutions, so
that a pixel sees several lines around it (a gutter from a word space, a line from the
gap under it); the decoder adds each finer level back and predicts at 1/stride.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lineocr.detect.spec import DetectorSpec


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class LineDetectorNet(nn.Module):
    def __init__(self, spec: DetectorSpec | None = None) -> None:
        super().__init__()
        spec = spec or DetectorSpec()
        if len(spec.channels) != 4:
            raise ValueError("a detector has four encoder widths (1/2, 1/4, 1/8, 1/16)")
        self.stride = spec.stride
        c1, c2, c3, c4 = spec.channels
        d = spec.decoder
        self.enc = nn.ModuleList(
            [
                _conv(1, c1, 2),  # 1/2
                nn.Sequential(_conv(c1, c2, 2), _conv(c2, c2)),  # 1/4
                nn.Sequential(_conv(c2, c3, 2), _conv(c3, c3)),  # 1/8
                nn.Sequential(
                    _conv(c3, c4, 2), _conv(c4, c4, dilation=2), _conv(c4, c4, dilation=4)
                ),  # 1/16
            ]
        )
        self.lateral = nn.ModuleList([nn.Conv2d(c, d, 1) for c in (c1, c2, c3, c4)])
        self.smooth = nn.ModuleList([_conv(d, d) for _ in range(3)])  # at 1/8, 1/4 (1/2 unused)
        # At the finest level one thin convolution: most of the work per pixel is there.
        self.head = nn.Sequential(_conv(d, c1), nn.Conv2d(c1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = []
        for stage in self.enc:
            x = stage(x)
            feats.append(x)
        y = self.lateral[3](feats[3])
        finest = {1: 0, 2: 0, 4: 1}[self.stride]
        for level in (2, 1, 0):
            if level < finest:
                break
            y = F.interpolate(y, scale_factor=2.0, mode="nearest") + self.lateral[level](
                feats[level]
            )
            if level > 0:
                y = self.smooth[level](y)
        out: torch.Tensor = self.head(y)
        if self.stride == 1:
            out = F.interpolate(out, scale_factor=2.0, mode="bilinear", align_corners=False)
        return out
