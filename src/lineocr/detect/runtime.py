"""`LineDetector`: an exported detector run on ONNX Runtime (no PyTorch): a page ->
line quadrilaterals (:meth:`detect`) or a :class:`~lineocr.layout.Layout` that
:class:`~lineocr.page.PageReader` reads (:meth:`find_lines`).

Everything it needs to run comes from the file's card: the input size rule, the
normalisation and the post-processing settings (:class:`~lineocr.detect.spec.DetectorSpec`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lineocr.detect.postprocess import DetectedLine, lines_from_map
from lineocr.detect.spec import INPUT_NAME, OUTPUT_NAME, SIZE_MULTIPLE, DetectorSpec
from lineocr.layout import Layout, layout_from_quads


class DetectorError(ValueError):
    """A file that is not a lineocr detector; the message names it."""


def _prepare(gray: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """(1, 1, H, W) float32 input and the page -> input scale (as training's
    ``lineocr.detect.data.validation_page``)."""
    h, w = gray.shape[:2]
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(gray, size, interpolation=interp)
    ph = -(-size[1] // SIZE_MULTIPLE) * SIZE_MULTIPLE
    pw = -(-size[0] // SIZE_MULTIPLE) * SIZE_MULTIPLE
    small = cv2.copyMakeBorder(small, 0, ph - size[1], 0, pw - size[0], cv2.BORDER_REPLICATE)
    x = (small.astype(np.float32) / 255.0 - 0.5) / 0.25
    return x[None, None], scale


class LineDetector:
    """A learned text-line detector loaded from its ONNX file."""

    def __init__(self, session: Any, spec: DetectorSpec, card: dict[str, Any], name: str) -> None:
        self.session = session
        self.spec = spec
        self.card = card
        self.name = name

    @classmethod
    def load(cls, source: str | Path, *, threads: int | None = None) -> LineDetector:
        """A bundled detector's name or an exported detector's ``.onnx`` path."""
        import onnxruntime as ort

        from lineocr.zoo import DETECTORS, card_from_metadata, detector_path

        if str(source) in DETECTORS:
            try:
                path = detector_path(str(source))
            except LookupError as exc:
                raise DetectorError(str(exc)) from None
        else:
            path = Path(source)
        if not path.is_file():
            known = ", ".join(["classical", *DETECTORS])
            raise DetectorError(f"{path}: no such detector file (bundled detectors: {known})")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            card = card_from_metadata(session.get_modelmeta().custom_metadata_map, str(path))
        except ValueError as exc:
            raise DetectorError(str(exc)) from None
        except Exception as exc:  # onnxruntime's own errors for a file that is not ONNX
            raise DetectorError(f"{path}: not a readable ONNX file: {exc}") from None
        if card.get("kind") != "detector":
            raise DetectorError(f"{path}: a lineocr model, but not a detector (a recogniser?)")
        try:
            spec = DetectorSpec.from_dict(card["detector"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectorError(f"{path}: unreadable detector card: {exc}") from None
        return cls(session, spec, card, str(card.get("name", path.stem)))

    def core_map(self, gray: np.ndarray) -> tuple[np.ndarray, float]:
        """The core probability map of a grey page and the page -> input scale."""
        x, scale = _prepare(gray, self.spec.long_side)
        logits = self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0][0, 0]
        return 1.0 / (1.0 + np.exp(-logits.astype(np.float32))), scale

    def detect(self, gray: np.ndarray) -> list[DetectedLine]:
        """The lines of a grey page (uint8), in the page's pixels, in no particular order."""
        prob, scale = self.core_map(gray)
        return lines_from_map(prob, self.spec, self.spec.stride / scale)

    def find_lines(self, gray: np.ndarray, *, rtl: bool = False) -> Layout:
        """The page's lines in reading order, cut out upright (as the classical analysis)."""
        return layout_from_quads(gray, [ln.quad for ln in self.detect(gray)], rtl=rtl)
