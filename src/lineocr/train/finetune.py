"""Fine-tuning: start from a trained model, grow its charset, optionally freeze the CNN.

New characters get new output rows; known characters keep their trained rows, so a model
fine-tuned on a few labelled images keeps what it knew. A new accented letter whose base
letter the model knows (``é`` for a model that reads ``e``) starts from the base letter's
row, its bias :data:`ACCENT_BIAS` lower: at first it reads as the base letter does and
training only has to learn the accent (:func:`base_letter`); other new characters start
freshly initialised. The target
may be another preset of the same architecture (``small`` -> ``fast``): its backbone layers
are paired with the source's in order, and every pair of the same shape is copied.
"""

from __future__ import annotations

import unicodedata

import torch
from torch import nn

from lineocr.charset import Charset

ACCENT_BIAS = 1.0  # how much less likely a new accented letter starts than its base letter


def base_letter(char: str) -> str | None:
    """The letter ``char`` is made of with accents (``é`` -> ``e``, ``Ñ`` -> ``N``), or None
    for a character that is not an accented letter."""
    parts = unicodedata.normalize("NFD", char)
    if len(parts) < 2 or not parts[0].isalpha():
        return None
    if not all(unicodedata.combining(c) for c in parts[1:]):
        return None
    return parts[0]


def transfer_weights(
    source: nn.Module, source_charset: Charset, target: nn.Module, target_charset: Charset
) -> None:
    """Copy every matching tensor; remap classifier rows by character."""
    src_state = source.state_dict()
    tgt_state = target.state_dict()
    renamed = _paired_backbone_keys(source, target)
    for key, value in src_state.items():
        if key.startswith("classifier."):
            continue
        target_key = renamed.get(key, key)
        if target_key in tgt_state and tgt_state[target_key].shape == value.shape:
            tgt_state[target_key] = value.clone()
    weight, bias = src_state["classifier.weight"], src_state["classifier.bias"]
    new_w, new_b = tgt_state["classifier.weight"].clone(), tgt_state["classifier.bias"].clone()
    rows = {0: 0} | {
        i + 1: source_charset.chars.index(c) + 1
        for i, c in enumerate(target_charset.chars)
        if c in source_charset
    }
    for tgt_row, src_row in rows.items():
        new_w[tgt_row] = weight[src_row]
        new_b[tgt_row] = bias[src_row]
    for i, c in enumerate(target_charset.chars):
        base = base_letter(c)
        if c in source_charset or base is None or base not in source_charset:
            continue
        src_row = source_charset.chars.index(base) + 1
        new_w[i + 1] = weight[src_row]
        new_b[i + 1] = bias[src_row] - ACCENT_BIAS
    tgt_state["classifier.weight"], tgt_state["classifier.bias"] = new_w, new_b
    target.load_state_dict(tgt_state)


def _paired_backbone_keys(source: nn.Module, target: nn.Module) -> dict[str, str]:
    """Source backbone tensor names -> the target's, pairing the n-th convolution (batch
    norm) of one with the n-th of the other; empty when either has no backbone."""
    src_bb, tgt_bb = getattr(source, "backbone", None), getattr(target, "backbone", None)
    if not isinstance(src_bb, nn.Module) or not isinstance(tgt_bb, nn.Module):
        return {}
    renamed: dict[str, str] = {}
    for kind in (nn.Conv2d, nn.BatchNorm2d):
        src_layers = [name for name, m in src_bb.named_modules() if isinstance(m, kind)]
        tgt_layers = [name for name, m in tgt_bb.named_modules() if isinstance(m, kind)]
        for src_name, tgt_name in zip(src_layers, tgt_layers, strict=False):
            layer = dict(src_bb.named_modules())[src_name]
            for tensor in layer.state_dict():
                renamed[f"backbone.{src_name}.{tensor}"] = f"backbone.{tgt_name}.{tensor}"
    return renamed


def freeze_backbone(model: nn.Module) -> None:
    """Stop gradients through the CNN; its batch-norm statistics stay fixed too."""
    backbone = getattr(model, "backbone", None)
    if backbone is None:
        raise ValueError("this model has no 'backbone' to freeze")
    for param in backbone.parameters():
        param.requires_grad_(False)


def keep_frozen_in_eval(model: nn.Module) -> None:
    """Call after model.train(): frozen batch-norm layers must not update their statistics."""
    backbone = getattr(model, "backbone", None)
    if backbone is not None and not any(p.requires_grad for p in backbone.parameters()):
        backbone.eval()


def trainable_parameters(model: nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]
