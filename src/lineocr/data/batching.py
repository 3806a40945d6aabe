"""From labelled images to padded training batches: loading, encoding, width bucketing, collate.

:func:`load_examples` decodes every image once and encodes every label, skipping what cannot
be used with a reason (so training never stops on one bad file). :class:`LineDataset` yields
preprocessed lines (augmented when training); :class:`BucketBatchSampler` groups lines of
similar width so little of each batch is padding, and shards global batches across
data-parallel ranks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from lineocr.charset import Charset, UnknownCharactersError
from lineocr.data.augment import Augmenter
from lineocr.decode import min_frames
from lineocr.images import ImageError
from lineocr.models.spec import TIME_STRIDE
from lineocr.preprocess import PreprocessSpec, collate, ops_input, target_width, to_model_input


@dataclass(frozen=True)
class Example:
    image: np.ndarray  # uint8 grayscale, ink 0 on paper 255
    text: str  # the label as given (logical order)
    target: tuple[int, ...]  # encoded label (visual order)
    source: str
    width: int = 0  # columns the model sees (after the ops, at its height); 0: not measured


@dataclass
class LoadReport:
    examples: list[Example] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    unknown_chars: dict[str, int] = field(default_factory=dict)


class Loadable(Protocol):
    """What load_examples needs of a sample (lineocr.data.sources.Sample satisfies it)."""

    @property
    def text(self) -> str: ...

    @property
    def source(self) -> str: ...

    def load(self) -> np.ndarray: ...


def load_examples(
    samples: Sequence[Loadable],
    charset: Charset,
    spec: PreprocessSpec,
    *,
    skip_unknown: bool = False,
    progress: Callable[[int], None] | None = None,
) -> LoadReport:
    """Decode and encode every sample. Unreadable images and empty labels are skipped with
    a reason; characters outside the charset raise (listing them with files) unless
    ``skip_unknown``, which skips and counts those lines instead."""
    report = LoadReport()
    unknown_sources: dict[str, list[str]] = {}
    for i, sample in enumerate(samples):
        if progress:
            progress(i)
        text = charset.normalize_label(sample.text)
        if not text:
            report.skipped.append((sample.source, "empty label"))
            continue
        try:
            target = charset.encode(text)
        except UnknownCharactersError as exc:
            for ch in exc.unknown:
                report.unknown_chars[ch] = report.unknown_chars.get(ch, 0) + 1
                unknown_sources.setdefault(ch, []).append(sample.source)
            report.skipped.append((sample.source, str(exc)))
            continue
        try:
            image = sample.load()
        except ImageError as exc:
            report.skipped.append((sample.source, exc.reason))
            continue
        image = stored(image, spec)
        try:
            width = to_model_input(image, spec).shape[1]  # after the ops: trim may cut it
        except Exception as exc:  # an op failing on this image costs only this image
            report.skipped.append((sample.source, f"preprocessing failed: {exc}"))
            continue
        frames = math.ceil(width / TIME_STRIDE)
        if frames < min_frames(target):
            report.skipped.append(
                (sample.source, f"image too narrow for its {len(target)}-character label")
            )
            continue
        report.examples.append(Example(image, sample.text, tuple(target), sample.source, width))
    if unknown_sources and not skip_unknown:
        lines = [
            f"{ch!r} (U+{ord(ch):04X}) in {len(src)} file(s), e.g. {', '.join(src[:3])}"
            for ch, src in sorted(unknown_sources.items())
        ]
        raise UnknownCharactersError(
            unknown_sources,
            detail="characters not in the charset (use --skip-unknown to skip these lines):\n  "
            + "\n  ".join(lines),
        )
    return report


def stored(image: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """A training image as kept in memory for the whole run: what the ops see at inference
    (:func:`lineocr.preprocess.ops_input`: at most 8 times the model's input height and a
    million pixels, aspect kept), so a folder of photos does not hold gigabytes (at most
    1 MB a line) and augmentation and the ops see the resolution they see when the model
    reads."""
    return ops_input(image, spec)


class SynthSource(Protocol):
    """A synthetic line generator (lineocr.data.synth.LineSynthesizer satisfies it)."""

    def text(self, index: int) -> str: ...

    def sample(self, index: int) -> tuple[np.ndarray, str]: ...


@dataclass(frozen=True)
class SynthMix:
    """``per_epoch`` synthetic lines added to every epoch, fresh ones each epoch."""

    source: SynthSource
    per_epoch: int
    name: str = "synth"

    def index(self, epoch: int, offset: int) -> int:
        return epoch * self.per_epoch + offset


@dataclass(frozen=True)
class SynthLines:
    """The synthetic lines mixed into every epoch, and the charset their labels are
    encoded with."""

    mixes: Sequence[SynthMix]
    charset: Charset


def estimated_width(text: str, spec: PreprocessSpec) -> int:
    """A line's width after resizing, guessed from its length (for bucketing synthetic
    lines before they are drawn): about half the height per character."""
    return target_width(max(1, len(text)) * spec.height // 2 + spec.height // 2, spec.height, spec)


class LineDataset(Dataset[tuple[np.ndarray, tuple[int, ...], int]]):
    """Preprocessed lines; augmented (deterministically per seed, epoch and index) if given.

    Indices past the real examples draw synthetic lines from ``synth`` (encoded with its
    charset): each epoch sees new ones.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        spec: PreprocessSpec,
        augmenter: Augmenter | None = None,
        seed: int = 0,
        synth: SynthLines | None = None,
    ) -> None:
        self.examples = examples
        self.spec = spec
        self.augmenter = augmenter
        self.seed = seed
        self.synth = tuple(synth.mixes) if synth is not None else ()
        self.charset = synth.charset if synth is not None else None
        self.epoch = 0
        # Real lines keep their width across epochs: measured at load time, after the ops
        # (trim can cut a wide canvas to a fraction), else estimated from the image's size.
        self._real_widths = [
            e.width or target_width(e.image.shape[1], e.image.shape[0], spec) for e in examples
        ]

    def __len__(self) -> int:
        return len(self.examples) + sum(m.per_epoch for m in self.synth)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _synth_slot(self, index: int) -> tuple[SynthMix, int]:
        offset = index - len(self.examples)
        for mix in self.synth:
            if offset < mix.per_epoch:
                return mix, mix.index(self.epoch, offset)
            offset -= mix.per_epoch
        raise IndexError(index)

    def widths(self) -> list[int]:
        """Resized widths of this epoch's lines (estimated for synthetic ones)."""
        synthetic = [
            estimated_width(mix.source.text(mix.index(self.epoch, i)), self.spec)
            for mix in self.synth
            for i in range(mix.per_epoch)
        ]
        return self._real_widths + synthetic

    def __getitem__(self, index: int) -> tuple[np.ndarray, tuple[int, ...], int]:
        if index >= len(self.examples):
            mix, synth_index = self._synth_slot(index)
            image, text = mix.source.sample(synth_index)
            assert self.charset is not None
            return to_model_input(image, self.spec), tuple(self.charset.encode(text)), index
        ex = self.examples[index]
        image = ex.image
        if self.augmenter is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image = self.augmenter(image, rng)
        return to_model_input(image, self.spec), ex.target, index


@dataclass
class Batch:
    images: torch.Tensor  # (N, 1, H, W)
    widths: torch.Tensor  # (N,)
    targets: torch.Tensor  # concatenated labels
    target_lengths: torch.Tensor
    indices: list[int]


def padding_step(width: int) -> int:
    """Training batches (``bucket_widths``) are padded to a multiple of this many
    columns: 4 up to 64, 8 up to 128, 16 up to 256, 32 beyond (at most about 12 % padding).
    PyTorch's CPU kernels (oneDNN) build and cache a primitive per input shape: with widths
    in steps of 4 a run keeps meeting new shapes and its memory grows without bound
    (docs/training.md, Devices and scale). The model ignores the padding (output lengths
    come from the true widths)."""
    return 4 if width <= 64 else 8 if width <= 128 else 16 if width <= 256 else 32


def make_collate(
    spec: PreprocessSpec, *, bucket_widths: bool = False
) -> Callable[[list[tuple[np.ndarray, tuple[int, ...], int]]], Batch]:
    specs: dict[int, PreprocessSpec] = {1: spec}

    def collate_fn(items: list[tuple[np.ndarray, tuple[int, ...], int]]) -> Batch:
        lines = [item[0] for item in items]
        step = padding_step(max(line.shape[1] for line in lines)) if bucket_widths else 1
        if step not in specs:
            specs[step] = replace(spec, width_multiple=math.lcm(spec.width_multiple, step))
        images, widths = collate(lines, specs[step])
        targets = [t for item in items for t in item[1]]
        return Batch(
            images=torch.from_numpy(images),
            widths=torch.from_numpy(widths),
            targets=torch.tensor(targets, dtype=torch.long),
            target_lengths=torch.tensor([len(item[1]) for item in items], dtype=torch.long),
            indices=[item[2] for item in items],
        )

    return collate_fn


@dataclass(frozen=True)
class BatchOrder:
    """How lines are grouped into global batches: ``shuffle`` (seeded by ``seed`` and the
    epoch) or in index order, ``bucket`` by width, ``drop_last`` a short last batch."""

    shuffle: bool = True
    bucket: bool = True
    seed: int = 0
    drop_last: bool = False


@dataclass(frozen=True)
class Shard:
    """One data-parallel process's share of every global batch: rank ``rank`` of
    ``world_size`` (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar width, in a random order that is the same on every rank.

    Global batches of ``batch_size`` are built from width-sorted chunks; with data
    parallelism each rank takes its share of every global batch, so N processes see the
    same samples per step as one process does.
    """

    def __init__(
        self,
        widths: Sequence[int],
        batch_size: int,
        order: BatchOrder = BatchOrder(),
        shard: Shard = Shard(),
    ) -> None:
        self.widths = np.asarray(widths)
        self.batch_size = batch_size
        self.shuffle = order.shuffle
        self.bucket = order.bucket
        self.seed = order.seed
        self.rank = shard.rank
        self.world_size = shard.world_size
        self.drop_last = order.drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self) -> list[list[int]]:
        n = len(self.widths)
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.bucket:
            # Sort by width with jitter so bucket boundaries move between epochs.
            jitter = rng.uniform(0, 0.2, n) if self.shuffle else np.zeros(n)
            keys = np.log1p(self.widths[order]) + jitter
            order = order[np.argsort(keys, kind="stable")]
        batches = [order[i : i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self.shuffle:
            perm = rng.permutation(len(batches))
            batches = [batches[i] for i in perm]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            # Every rank must take the same number of steps, or collective ops hang.
            if len(batch) >= self.world_size:
                yield batch[self.rank :: self.world_size]

    def __len__(self) -> int:
        return sum(1 for b in self.global_batches() if len(b) >= self.world_size)
