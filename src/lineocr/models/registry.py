"""Explicit architecture registry: a name maps to a factory; unknown names raise."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from lineocr.models.crnn import CRNN

Factory = Callable[..., nn.Module]

ARCHITECTURES: dict[str, Factory] = {"crnn": CRNN}


def build_model(
    arch: str, *, num_classes: int, height: int, preset: str = "small", dropout: float = 0.2
) -> nn.Module:
    try:
        factory = ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; known: {sorted(ARCHITECTURES)}") from None
    return factory(num_classes=num_classes, height=height, preset=preset, dropout=dropout)
