"""PNG files of synthetic lines, written fast by OpenCV.

PNG encoding was the third costliest step of ``lineocr synth`` (after drawing the glyphs
and degrading the line): OpenCV's encoder at zlib level 1 with the run-length strategy
spent 0.43 ms a line, most of it in libpng's adaptive filtering (all five row filters tried
on every row). OpenCV (4.11 and later) lets the filter be chosen (``IMWRITE_PNG_FILTER``):
every row through the ``Up`` filter (a row minus the row above), which suits text lines on
paper, costs 0.24 ms a line (0.27 in the command's profile) for files about 8 % larger
(400 ``scan`` lines: 16.3 KiB against 15.1 KiB). Any PNG reader decodes the same pixels;
only the bytes differ from earlier datasets'.
"""

from __future__ import annotations

import cv2
import numpy as np

PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
if hasattr(cv2, "IMWRITE_PNG_FILTER"):  # OpenCV 4.11 and later; before, libpng's adaptive
    PARAMS += [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP]


def encode_png(image: np.ndarray) -> bytes:
    """A PNG (8-bit greyscale) of a non-empty 2-D uint8 image, as :data:`PARAMS` write it."""
    if image.ndim != 2 or image.dtype != np.uint8 or 0 in image.shape:
        raise ValueError(
            f"encode_png takes a non-empty 2-D uint8 image, not {image.dtype} {image.shape}"
        )
    ok, data = cv2.imencode(".png", image, PARAMS)
    if not ok:  # OpenCV reports no reason
        raise ValueError(f"OpenCV could not encode a {image.shape} image as PNG")
    return data.tobytes()
