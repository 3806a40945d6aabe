"""What a detector is and how its maps are read, without PyTorch: the facts training, the
exporter and the runtime share (one copy), stored in every checkpoint and ONNX card.

The network sees the page in grey, resized so that its long side is ``long_side`` pixels
and padded to a multiple of :data:`SIZE_MULTIPLE`, and predicts at 1/``stride`` of that a
*core* map: the middle ``core_height`` of each line's height, less ``core_inset`` line
heights at each end (cores of neighbouring lines stay apart even when their ink touches).
Post-processing grows each core back by the same rule, so the rule is the model's contract.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

SIZE_MULTIPLE = 16  # the network halves its input four times
INPUT_NAME = "input"
OUTPUT_NAME = "core"
FORMAT = "lineocr-detector/1"


@dataclass(frozen=True)
class DetectorSpec:
    long_side: int = 1024  # input pixels along the page's long side
    stride: int = 2  # input pixels per output pixel
    core_height: float = 0.5  # share of a line's height its core keeps (centred)
    core_inset: float = 0.2  # line heights cut off each end of a core
    threshold: float = 0.5  # probability above which a pixel is core
    min_score: float = 0.6  # mean core probability a line needs
    min_area: int = 3  # output pixels a core needs
    channels: tuple[int, ...] = (12, 24, 48, 64)  # encoder widths at 1/2, 1/4, 1/8, 1/16
    decoder: int = 24  # decoder width

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["channels"] = list(self.channels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown detector settings: {', '.join(unknown)}")
        values = dict(data)
        if "channels" in values:
            values["channels"] = tuple(int(c) for c in values["channels"])
        spec = cls(**values)
        if spec.stride not in (1, 2, 4) or spec.long_side % SIZE_MULTIPLE:
            raise ValueError(
                f"detector stride must be 1, 2 or 4 and long_side a multiple of {SIZE_MULTIPLE}"
            )
        if not (0 < spec.core_height <= 1 and 0 <= spec.core_inset < 1):
            raise ValueError("detector core_height must be in (0, 1] and core_inset in [0, 1)")
        return spec
