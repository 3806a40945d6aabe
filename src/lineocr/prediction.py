"""What reading a line gives: its text, a confidence and each character's confidence.

Plain data, without ONNX Runtime, so that the server's client (standard library only)
returns the same objects as a local :class:`lineocr.runtime.Recognizer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CharConfidence:
    char: str
    confidence: float


@dataclass(frozen=True)
class Prediction:
    text: str  # logical order
    confidence: float  # [0, 1]
    chars: tuple[CharConfidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.confidence,
            "chars": [{"char": c.char, "confidence": c.confidence} for c in self.chars],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """The prediction :meth:`to_dict` (or a server's result for an image) describes;
        other keys are ignored."""
        chars = tuple(CharConfidence(c["char"], float(c["confidence"])) for c in data["chars"])
        return cls(data["text"], float(data["confidence"]), chars)
