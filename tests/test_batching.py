import numpy as np
import pytest

from lineocr.charset import Charset, UnknownCharactersError
from lineocr.data.batching import (
    BatchOrder,
    BucketBatchSampler,
    LineDataset,
    Shard,
    load_examples,
    make_collate,
    padding_step,
)
from lineocr.images import ImageError
from lineocr.preprocess import PreprocessSpec
from tests.render import ArraySample, render


class BrokenSample(ArraySample):
    def load(self):
        raise ImageError(self.source, "corrupt or truncated image")


def test_bad_samples_are_skipped_with_reasons():
    cs = Charset.from_string("abc")
    samples = [
        ArraySample("abc", render("abc"), "good.png"),
        BrokenSample("abc", render("abc"), "broken.png"),
        ArraySample("", render("abc"), "empty-label.png"),
        ArraySample("abcabcabcabc", np.full((32, 8), 255, np.uint8), "narrow.png"),
    ]
    report = load_examples(samples, cs, PreprocessSpec())
    assert [e.source for e in report.examples] == ["good.png"]
    reasons = dict(report.skipped)
    assert reasons["broken.png"] == "corrupt or truncated image"
    assert reasons["empty-label.png"] == "empty label"
    assert "too narrow" in reasons["narrow.png"]


def test_too_narrow_is_judged_after_the_ops_and_large_images_are_stored_small():
    cs = Charset.from_string("abcdefghij")
    spec = PreprocessSpec(ops=("auto_invert", "trim"))
    # A 10-character line at the left of a wide canvas: trimmed, 29 frames for 30 labels.
    line = render("abcdefghij", size=20)
    cramped = np.full((40, 600), 255, np.uint8)
    cramped[5 : 5 + line.shape[0], 2 : 2 + line.shape[1]] = line
    tall = np.full((2000, 3000), 255, np.uint8)
    tall[900:1100, 200:2800] = 0
    samples = [ArraySample("abcdefghij" * 3, cramped, "cramped.png"), ArraySample("ab", tall, "t")]
    report = load_examples(samples, cs, spec)
    assert "too narrow" in dict(report.skipped)["cramped.png"]
    (kept,) = report.examples
    assert kept.image.shape == (256, 384)  # 8x the model height, aspect kept
    assert load_examples(samples, cs, PreprocessSpec()).skipped == []  # no trim: wide enough


def test_real_lines_are_bucketed_by_the_width_the_model_sees():
    cs = Charset.from_string("abc")
    spec = PreprocessSpec(ops=("auto_invert", "trim"))
    line = render("abc", size=20)
    canvas = np.full((40, 800), 255, np.uint8)  # the line at the left of a wide canvas
    canvas[5 : 5 + line.shape[0], 2 : 2 + line.shape[1]] = line
    (example,) = load_examples([ArraySample("abc", canvas, "wide.png")], cs, spec).examples
    dataset = LineDataset([example], spec)
    assert dataset.widths() == [example.width] == [dataset[0][0].shape[-1]]
    assert example.width < 200  # the raw canvas would have been estimated at 640 columns


def test_unknown_characters_list_files_or_are_counted():
    cs = Charset.from_string("abc")
    samples = [
        ArraySample("abx", render("abx"), "one.png"),
        ArraySample("ab", render("ab"), "two.png"),
    ]
    with pytest.raises(UnknownCharactersError) as info:
        load_examples(samples, cs, PreprocessSpec())
    assert "'x'" in str(info.value) and "one.png" in str(info.value)
    assert "--skip-unknown" in str(info.value)
    report = load_examples(samples, cs, PreprocessSpec(), skip_unknown=True)
    assert len(report.examples) == 1 and report.unknown_chars == {"x": 1}


def test_bucketing_groups_similar_widths_and_covers_every_sample():
    widths = np.random.default_rng(0).integers(20, 800, size=200)
    sampler = BucketBatchSampler(widths, 16, BatchOrder(seed=3))
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(200))
    spread = np.mean([np.ptp(widths[b]) for b in batches])
    random_spread = np.mean([np.ptp(widths[np.arange(i, i + 16) % 200]) for i in range(0, 200, 16)])
    assert spread < random_spread / 3


def test_sampler_shards_global_batches_across_ranks():
    widths = list(range(10, 110))
    single = BucketBatchSampler(widths, 8, BatchOrder(seed=1)).global_batches()
    ranks = [list(BucketBatchSampler(widths, 8, BatchOrder(seed=1), Shard(r, 2))) for r in range(2)]
    assert len(ranks[0]) == len(ranks[1])  # equal steps, or collectives would hang
    for step, (a, b) in enumerate(zip(*ranks, strict=True)):
        assert sorted(a + b) == sorted(single[step])


def test_epochs_reshuffle_deterministically():
    s = BucketBatchSampler(list(range(100)), 10, BatchOrder(seed=1))
    first = list(s)
    s.set_epoch(1)
    second = list(s)
    s.set_epoch(0)
    assert list(s) == first and second != first


def test_training_batches_are_padded_to_few_widths():
    """Training batches snap to a coarse grid of widths (few shapes for PyTorch's kernel
    cache); the true widths are kept, and evaluation batches are padded as at inference."""
    spec = PreprocessSpec()
    assert [padding_step(w) for w in (40, 100, 200, 900)] == [4, 8, 16, 32]
    widths = [97, 301, 530, 61]
    items = [(np.ones((spec.height, w), np.float32), (1, 2), i) for i, w in enumerate(widths)]
    for group in ([items[0]], [items[1]], [items[2], items[3]], [items[3]]):
        longest = max(item[0].shape[1] for item in group)
        batch = make_collate(spec, bucket_widths=True)(group)
        padded = batch.images.shape[-1]
        assert padded % padding_step(longest) == 0 and longest <= padded < longest * 1.13
        assert batch.widths.tolist() == [item[0].shape[1] for item in group]
        assert make_collate(spec)(group).images.shape[-1] == -(-longest // 4) * 4
    seen = {
        make_collate(spec, bucket_widths=True)(
            [(np.ones((spec.height, w), np.float32), (1,), 0)]
        ).images.shape[-1]
        for w in range(300, 1000)
    }
    assert len(seen) == 23  # 320, 352, ..., 1024 instead of 175 widths in steps of 4
