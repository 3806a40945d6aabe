"""`lineocr models`: the bundled models with their cards (runs without PyTorch)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from lineocr.cli import app


@app.command()
def models(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array with the cards.")] = False,
) -> None:
    """List the bundled models with their cards (built or not)."""
    from lineocr.zoo import DEFAULT_MODEL, json_safe, list_models

    infos = list_models()
    if as_json:
        cards = json_safe([info.to_dict() for info in infos])  # NaN metrics as null
        typer.echo(json.dumps(cards, ensure_ascii=False, indent=1, allow_nan=False))
        return
    for info in infos:
        default = " (default)" if info.name == DEFAULT_MODEL else ""
        if not info.built:
            typer.echo(f"{info.name}{default}: not built — {info.description}")
            continue
        size = f"{(info.size_bytes or 0) / 1e6:.1f} MB"
        typer.echo(f"{info.name}{default}: {size} — {info.description}")
        if info.error:
            typer.echo(f"  unreadable: {info.error}")
        for line in _format_card(info.card or {}):
            typer.echo(f"  {line}")


def _format_card(card: dict[str, Any]) -> list[str]:
    # Any JSON object may come here (a hand-edited file): show what is there, never fail.
    charset, preprocess, onnx_info = (
        _object_or_empty(card, key) for key in ("charset", "preprocess", "onnx")
    )
    chars = charset.get("chars", "")
    chars = chars if isinstance(chars, str) else ""
    ops = preprocess.get("ops", [])
    lines = [
        f"charset: {len(chars)} characters {json.dumps(chars[:40], ensure_ascii=False)}"
        + ("…" if len(chars) > 40 else ""),
        f"input height: {preprocess.get('height')}, "
        f"ops: {', '.join(map(str, ops if isinstance(ops, list) else [ops]))}",
        f"architecture: {card.get('arch')} {card.get('preset')}, epoch {card.get('epoch')}, "
        f"quantization: {onnx_info.get('quantization', 'none')}, "
        f"lineocr {card.get('lineocr_version')}",
    ]
    metrics = _object_or_empty(card, "metrics")
    if metrics:
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
        )
        lines.append(f"metrics: {shown}")
    calibration = _object_or_empty(card, "calibration")
    if calibration:
        lines.append(f"calibration: temperature {calibration.get('temperature')}")
    if card.get("data"):
        lines.append(f"data: {json.dumps(card['data'], ensure_ascii=False)[:300]}")
    return lines


def _object_or_empty(card: dict[str, Any], key: str) -> dict[str, Any]:
    value = card.get(key)
    return value if isinstance(value, dict) else {}
