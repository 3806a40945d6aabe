"""The dataset summary reported before training: counts, characters, image sizes, problems."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lineocr.data.sources.base import Dataset, Skipped
from lineocr.images import ImageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


MAX_SKIPPED_IN_SUMMARY = 20


Histogram = list[tuple[int, int, int]]  # (lowest value, highest value, count) per bin


def histogram(values: Sequence[int], max_bins: int = 10) -> Histogram:
    """Integer bins of equal width covering min..max, at most ``max_bins`` of them."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    width = max(1, math.ceil((hi - lo + 1) / max_bins))
    counts = Counter((v - lo) // width for v in values)
    n_bins = (hi - lo) // width + 1
    return [(lo + b * width, lo + (b + 1) * width - 1, counts.get(b, 0)) for b in range(n_bins)]


@dataclass
class DatasetSummary:
    """What a dataset holds, reported before training: counts, characters, sizes, problems."""

    format: str
    root: str
    n_samples: int  # samples read (some may still fail to decode; see n_unreadable)
    n_skipped: int  # skipped while reading, plus unreadable images found here
    skipped: list[Skipped]  # the first MAX_SKIPPED_IN_SUMMARY, with reasons
    char_counts: dict[str, int]  # most frequent first
    length_histogram: Histogram  # label lengths in characters
    width_histogram: Histogram  # widths of the images checked, in pixels
    height_histogram: Histogram
    n_images_checked: int
    n_unreadable: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""

        def bins(h: Histogram) -> list[dict[str, int]]:
            return [{"min": lo, "max": hi, "count": n} for lo, hi, n in h]

        return {
            "format": self.format,
            "root": self.root,
            "n_samples": self.n_samples,
            "n_skipped": self.n_skipped,
            "skipped": [{"source": s.source, "reason": s.reason} for s in self.skipped],
            "char_counts": dict(self.char_counts),
            "length_histogram": bins(self.length_histogram),
            "width_histogram": bins(self.width_histogram),
            "height_histogram": bins(self.height_histogram),
            "n_images_checked": self.n_images_checked,
            "n_unreadable": self.n_unreadable,
        }


def summarize(dataset: Dataset, *, max_images: int = 500, seed: int = 0) -> DatasetSummary:
    """Count characters and label lengths over all samples, and decode up to ``max_images``
    randomly chosen images for their sizes; images that fail to decode are reported."""
    chars: Counter[str] = Counter()
    for sample in dataset.samples:
        chars.update(sample.text)
    chosen = random.Random(seed).sample(
        range(len(dataset.samples)), min(max_images, len(dataset.samples))
    )
    widths: list[int] = []
    heights: list[int] = []
    unreadable: list[Skipped] = []
    for index in sorted(chosen):
        sample = dataset.samples[index]
        try:
            image = sample.load()
        except ImageError as exc:
            unreadable.append(Skipped(sample.source, exc.reason))
            continue
        heights.append(image.shape[0])
        widths.append(image.shape[1])
    all_skipped = dataset.skipped + unreadable
    return DatasetSummary(
        format=dataset.format,
        root=str(dataset.root),
        n_samples=len(dataset.samples),
        n_skipped=len(all_skipped),
        skipped=all_skipped[:MAX_SKIPPED_IN_SUMMARY],
        char_counts=dict(chars.most_common()),
        length_histogram=histogram([len(s.text) for s in dataset.samples], max_bins=12),
        width_histogram=histogram(widths),
        height_histogram=histogram(heights),
        n_images_checked=len(chosen),
        n_unreadable=len(unreadable),
    )


def print_summary(summary: DatasetSummary, console: Console) -> None:
    """Print the summary as compact Rich tables (``console`` is a ``rich.console.Console``)."""
    from rich.markup import escape
    from rich.table import Table

    overview = Table(title="Dataset", show_header=False, box=None, pad_edge=False)
    overview.add_row("format", summary.format)
    overview.add_row("root", escape(summary.root))
    overview.add_row("samples", f"{summary.n_samples:,}")
    overview.add_row("skipped", f"{summary.n_skipped:,}")
    checked = f"{summary.n_images_checked:,} checked, {summary.n_unreadable:,} unreadable"
    overview.add_row("images", checked)
    overview.add_row("characters", f"{len(summary.char_counts):,} distinct")
    console.print(overview)
    console.print(escape(_char_line(summary.char_counts)))
    for title, bins in (
        ("label length (characters)", summary.length_histogram),
        ("image width (pixels)", summary.width_histogram),
        ("image height (pixels)", summary.height_histogram),
    ):
        if bins:
            console.print(_histogram_table(title, bins))
    if summary.skipped:
        table = Table(title=f"Skipped ({summary.n_skipped:,}, first {len(summary.skipped)})")
        table.add_column("source", overflow="fold")
        table.add_column("reason", overflow="fold")
        for item in summary.skipped:
            table.add_row(escape(item.source), escape(item.reason))
        console.print(table)


def _char_line(char_counts: dict[str, int], limit: int = 60) -> str:
    shown = [f"{c!r} {n}" for c, n in list(char_counts.items())[:limit]]
    more = len(char_counts) - limit
    return "  ".join(shown) + (f"  … {more} more" if more > 0 else "")


def _histogram_table(title: str, bins: Histogram, bar_width: int = 30) -> Table:
    from rich.table import Table

    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    peak = max(n for _, _, n in bins) or 1
    for lo, hi, n in bins:
        span = str(lo) if lo == hi else f"{lo}-{hi}"
        table.add_row(span, f"{n:,}", "█" * math.ceil(bar_width * n / peak))
    return table
