"""What reading a line gives: its text, a confidence and each character's confidence.

Plain data, without ONNX Runtime, so that the server's client (standard library only)
returns the same objects as a local :class:`lineocr.runtime.Recognizer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CharConfidence:
    """A character read and how sure the model is of it. ``x0``, ``x1``: where on the line
    image it was read (columns, left edge and one past the right, as a float), when asked
    for (``Recognizer.read_batch(..., positions=True)``; :func:`lineocr.decode.align_batch`
    says how), else None."""

    char: str
    confidence: float
    x0: float | None = None
    x1: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"char", "confidence"}``, with ``"x0"``, ``"x1"`` (rounded to 0.1 px) when known."""
        out: dict[str, Any] = {"char": self.char, "confidence": self.confidence}
        if self.x0 is not None and self.x1 is not None:
            out["x0"], out["x1"] = round(self.x0, 1), round(self.x1, 1)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CharConfidence:
        x0, x1 = data.get("x0"), data.get("x1")
        if x0 is None or x1 is None:
            return cls(data["char"], float(data["confidence"]))
        return cls(data["char"], float(data["confidence"]), float(x0), float(x1))


@dataclass(frozen=True)
class Prediction:
    text: str  # logical order
    confidence: float  # [0, 1]
    chars: tuple[CharConfidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidence": self.confidence,
            "chars": [c.to_dict() for c in self.chars],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """The prediction :meth:`to_dict` (or a server's result for an image) describes;
        other keys are ignored."""
        chars = tuple(CharConfidence.from_dict(c) for c in data["chars"])
        return cls(data["text"], float(data["confidence"]), chars)
