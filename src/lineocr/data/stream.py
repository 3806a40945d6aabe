"""SynthStream: synthetic lines generated on the fly inside DataLoader workers (needs torch).

Worker ``w`` of ``n`` yields the samples with indices ``w, w + n, w + 2n, ...`` (offset by
the epoch), so the stream is deterministic per seed and worker, no two workers repeat a line,
and a ``length``-limited stream holds the same samples whatever the number of workers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from lineocr.data.synth import LineSynthesizer, SynthConfig

_INFINITE_EPOCH_STRIDE = 1 << 40  # index offset between epochs of an unlimited stream


class SynthStream(IterableDataset[tuple[np.ndarray, str]]):
    """Yields ``(uint8 image, label)`` pairs from a :class:`LineSynthesizer`.

    ``length=None`` streams forever; otherwise each epoch has ``length`` samples. Call
    :meth:`set_epoch` before each epoch for new lines (like a ``DistributedSampler``); with
    several processes (DDP) give each rank its own ``seed``.
    """

    def __init__(
        self, config: SynthConfig, seed: int = 0, length: int | None = None, split: str = "train"
    ) -> None:
        super().__init__()
        if length is not None and length < 1:
            raise ValueError(f"length must be positive or None, got {length}")
        self.synthesizer = LineSynthesizer(config, seed=seed, split=split)
        self.length = length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an unlimited SynthStream has no length")
        return self.length

    def indices(self, worker: int = 0, workers: int = 1) -> Iterator[int]:
        """The sample indices worker ``worker`` of ``workers`` generates this epoch."""
        if self.length is None:
            base = self.epoch * _INFINITE_EPOCH_STRIDE
            return itertools.count(base + worker, workers)
        base = self.epoch * self.length
        return iter(range(base + worker, base + self.length, workers))

    def __iter__(self) -> Iterator[tuple[np.ndarray, str]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        for index in self.indices(worker, workers):
            yield self.synthesizer.sample(index)
