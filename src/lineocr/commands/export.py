"""`lineocr export`: a training run, checkpoint or bundled model's weights -> one ONNX file.

Needs PyTorch (the train extra); imported inside the command so that ``lineocr --help`` and
``lineocr read`` never load it.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lineocr.cli import app, check_output_file, fail
from lineocr.commands.read import expand_inputs

# typer needs typing.Optional on Python 3.10.
# ruff: noqa: UP045

CALIBRATION_IMAGES = 128  # the first this many images of --calibration are used


class QuantizeName(str, Enum):
    int8 = "int8"


@app.command("export")
def export_command(
    checkpoint: Annotated[
        Path,
        typer.Argument(
            help="Training run directory (its best checkpoint), checkpoint file, or the name "
            "of a bundled model (its shipped training weights)."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.")],
    quantize: Annotated[
        Optional[QuantizeName],
        typer.Option(help="int8: quantised (smaller, usually faster; check CER first)."),
    ] = None,
    calibration: Annotated[
        Optional[Path],
        typer.Option(
            help="With --quantize int8: line images like the ones to read (a folder of "
            "images; the first 128 are used) to calibrate int8 convolutions too."
        ),
    ] = None,
    parity: Annotated[
        bool,
        typer.Option(help="Check ONNX Runtime against PyTorch and fail on a mismatch."),
    ] = True,
) -> None:
    """Export a trained model to one self-describing ONNX file."""
    try:
        from lineocr.export import ExportError, export_onnx
        from lineocr.train.checkpoint import CheckpointError
    except ImportError as exc:
        raise fail(f"export needs PyTorch and onnx: pip install 'lineocr[train]' ({exc})") from None
    check_output_file(output, "--output", (".onnx",))
    from lineocr.detect.checkpoint import is_detector_checkpoint

    if is_detector_checkpoint(checkpoint):
        _export_detector(checkpoint, output, quantize, parity)
        return
    source = _export_source(checkpoint)
    images = _calibration_images(calibration, quantize) if calibration is not None else []
    try:
        path = export_onnx(
            source,
            output,
            quantize=quantize.value if quantize else None,
            calibration=images or None,
            parity=parity,
        )
    except (CheckpointError, ExportError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    _report(path)


def _export_detector(
    checkpoint: Path, output: Path, quantize: QuantizeName | None, parity: bool
) -> None:
    """A text-line detector's checkpoint -> its ONNX file (docs/pages.md)."""
    from lineocr.detect.export import export_detector
    from lineocr.export import ExportError
    from lineocr.train.checkpoint import CheckpointError

    if quantize is not None:
        raise fail("--quantize is for recognisers; a detector is exported in fp32")
    try:
        path = export_detector(checkpoint, output, parity=parity)
    except (CheckpointError, ExportError, ValueError, OSError) as exc:
        raise fail(str(exc)) from None
    from lineocr.zoo import read_card

    card = read_card(path)
    diff = card.get("onnx", {}).get("parity", {}).get("max_abs_diff")
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, text-line detector, fp32)")
    if diff is not None:
        typer.echo(f"parity: max |logit difference| {diff:.1e} against PyTorch")


def _export_source(checkpoint: Path) -> Path:
    """A checkpoint path as given, or for the name of a bundled model that is not a path here
    its shipped training weights (``lineocr export printed -o printed.onnx`` re-exports it,
    e.g. with other quantisation)."""
    from lineocr.zoo import ModelNotFoundError, is_bundled, weights_path

    if checkpoint.exists() or not is_bundled(str(checkpoint)):
        return checkpoint
    try:
        return weights_path(str(checkpoint))
    except ModelNotFoundError as exc:
        raise fail(str(exc)) from None


def _calibration_images(calibration: Path, quantize: QuantizeName | None) -> list[Any]:
    """The first readable images of the --calibration folder (or file); unreadable ones are
    said and skipped."""
    from lineocr.images import ImageError, load_image

    if quantize is None:
        raise fail("--calibration goes with --quantize int8")
    found = expand_inputs([str(calibration)])
    if calibration.is_dir() and found == [str(calibration)]:  # the folder itself: none
        raise fail(f"--calibration {calibration}: no images in this folder")
    images = []
    for image_path in found[:CALIBRATION_IMAGES]:
        try:
            images.append(load_image(image_path))
        except ImageError as exc:
            typer.echo(f"calibration: skipped {exc}", err=True)
    if not images:
        raise fail(f"--calibration {calibration}: no readable images")
    return images


def _report(path: Path) -> None:
    """What was written: size, quantisation, and the parity figures from its card."""
    from lineocr.zoo import read_card

    onnx_info = read_card(path).get("onnx", {})
    size_mb = path.stat().st_size / 1e6
    weights = "fp32" if onnx_info.get("quantization", "none") == "none" else "int8"
    if weights == "int8" and onnx_info.get("int8"):
        weights += f": {onnx_info['int8']}"
    typer.echo(f"wrote {path} ({size_mb:.2f} MB, {weights})")
    report = onnx_info.get("parity")
    if report:
        typer.echo(
            f"parity: max |logits difference| {report['max_abs_diff']:.1e}, "
            f"decoded text identical on {report['lines']} lines"
        )
    agreement = onnx_info.get("int8_agreement")
    if agreement:
        typer.echo(
            f"int8 vs PyTorch: max |logits difference| {agreement['max_abs_diff']:.2e}, "
            f"same text on {agreement['text_agreement']:.0%} of {agreement['lines']} lines"
        )
