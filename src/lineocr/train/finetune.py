"""Fine-tuning: start from a trained model, grow its charset, optionally freeze the CNN.

New characters get new output rows (freshly initialised); known characters keep their
trained rows, so a model fine-tuned on a few labelled images keeps what it knew.
"""

from __future__ import annotations

import torch
from torch import nn

from lineocr.charset import Charset


def transfer_weights(
    source: nn.Module, source_charset: Charset, target: nn.Module, target_charset: Charset
) -> None:
    """Copy every matching tensor; remap classifier rows by character."""
    src_state = source.state_dict()
    tgt_state = target.state_dict()
    for key, value in src_state.items():
        if key.startswith("classifier."):
            continue
        if key in tgt_state and tgt_state[key].shape == value.shape:
            tgt_state[key] = value.clone()
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
    tgt_state["classifier.weight"], tgt_state["classifier.bias"] = new_w, new_b
    target.load_state_dict(tgt_state)


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
