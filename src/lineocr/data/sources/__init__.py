"""Dataset readers: every supported layout on disk -> labelled samples, with format detection.

Formats (``FORMATS``): ``sidecar`` (``img.png`` + ``img.gt.txt``/``img.txt``), ``filename``
(the file stem is the label), ``tsv`` and ``csv`` manifests, ``pixel-csv`` (``label,p0..pN``
rows of a square image) and ``idx`` (MNIST/EMNIST), one module each. :func:`read_dataset`
never stops on one bad row or file: each becomes a :class:`Skipped` with a reason, and only a
dataset with nothing readable left raises :class:`DatasetError`. Images named by a sample are
decoded lazily by :meth:`Sample.load` (through :func:`lineocr.images.load_image`), so corrupt
images surface there; :func:`summarize` loads a sample of them to report early.

Labels are returned as in the file (logical order, not normalised) with surrounding
whitespace removed; normalisation belongs to the charset.
"""

from __future__ import annotations

from lineocr.data.sources.base import FORMATS, Dataset, DatasetError, Sample, Skipped
from lineocr.data.sources.detect import detect_format
from lineocr.data.sources.idx import MAX_IDX_BYTES
from lineocr.data.sources.label_maps import DEFAULT_LABEL_MAP, NAMED_LABEL_MAPS, parse_label_map
from lineocr.data.sources.manifests import PATH_COLUMNS, TEXT_COLUMNS
from lineocr.data.sources.pixel_csv import PixelRow
from lineocr.data.sources.reading import read_dataset, read_datasets
from lineocr.data.sources.sidecar import SIDECAR_SUFFIXES
from lineocr.data.sources.summary import (
    MAX_SKIPPED_IN_SUMMARY,
    DatasetSummary,
    Histogram,
    histogram,
    print_summary,
    summarize,
)
from lineocr.files import walk_files

__all__ = [
    "DEFAULT_LABEL_MAP",
    "FORMATS",
    "MAX_IDX_BYTES",
    "MAX_SKIPPED_IN_SUMMARY",
    "NAMED_LABEL_MAPS",
    "PATH_COLUMNS",
    "SIDECAR_SUFFIXES",
    "TEXT_COLUMNS",
    "Dataset",
    "DatasetError",
    "DatasetSummary",
    "Histogram",
    "PixelRow",
    "Sample",
    "Skipped",
    "detect_format",
    "histogram",
    "parse_label_map",
    "print_summary",
    "read_dataset",
    "read_datasets",
    "summarize",
    "walk_files",
]
