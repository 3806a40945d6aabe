"""Every bundled model loads and reads fresh samples of its kind: a statistical check on a
few dozen lines it never saw (new seeds, held-out fonts), with a threshold below the
measured figure (docs/models/), not a golden file."""

import random

import numpy as np
import pytest

from lineocr import zoo
from lineocr.metrics import Scores
from lineocr.runtime import Recognizer
from tests.conftest import AVX2_SAFE_INT8_WEIGHT, max_abs_int8_weight

N = 40


def captcha_samples(n):
    from captcha.image import ImageCaptcha

    gen = ImageCaptcha(width=200, height=50)
    rng = random.Random(12345)
    texts = ["".join(rng.choice("2345678bcdefgmnpwxy") for _ in range(5)) for _ in range(n)]
    return [np.asarray(gen.generate_image(t).convert("L")) for t in texts], texts


def handwritten_samples(n):
    from sklearn.datasets import load_digits

    digits = load_digits()
    held_out = np.random.default_rng(0).permutation(len(digits.images))[1200:][:n]
    images = [
        np.pad(
            (255 - np.round(digits.images[i] * 255 / 16)).astype(np.uint8), 1, constant_values=255
        )
        for i in held_out
    ]
    return images, [str(digits.target[i]) for i in held_out]


def synthetic_samples(lang, style, n, seed=424242, loose=0.0):
    from lineocr.data.synth import LineSynthesizer, SynthConfig

    config = SynthConfig(lang=lang, style=style, loose=loose)
    synth = LineSynthesizer(config, seed=seed, split="val")
    pairs = [synth.sample(i) for i in range(n)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


LINE_TASKS = {  # the line models: (lang, style) of their samples
    "printed": ("latin", "scan"),
    "printed-fast": ("latin", "scan"),
    "arabic-digits": ("arabic-digits", "blurred"),
}
CASES = {
    # name: (samples, minimum exact match, maximum CER)
    "captcha": (lambda: captcha_samples(N), 0.95, 0.02),
    "handwritten-digits": (lambda: handwritten_samples(N), 0.9, 0.1),
    "arabic-digits": (lambda: synthetic_samples(*LINE_TASKS["arabic-digits"], N), 0.8, 0.05),
    "printed": (lambda: synthetic_samples(*LINE_TASKS["printed"], N), 0.8, 0.02),
    "printed-fast": (lambda: synthetic_samples(*LINE_TASKS["printed-fast"], N), 0.8, 0.02),
}


def test_every_bundled_name_has_a_case():
    assert set(CASES) == set(zoo.BUNDLED)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bundled_model_reads_fresh_samples(name):
    make, min_exact, max_cer = CASES[name]
    rec = Recognizer.load(name)
    images, texts = make()
    preds = rec.read_batch(images, batch_size=1)
    refs = [rec.charset.normalize(t) for t in texts]
    scores = Scores.compute(refs, [p.text for p in preds])
    assert scores.exact_match >= min_exact and scores.cer <= max_cer, (
        f"{name}: exact {scores.exact_match:.2f}, CER {scores.cer:.3f}"
    )
    assert all(0.0 <= p.confidence <= 1.0 for p in preds)


def test_printed_model_reads_arabic_in_logical_order():
    rec = Recognizer.load("printed")
    images, texts = synthetic_samples("arabic", "clean", N)
    preds = rec.read_batch(images, batch_size=1)
    refs = [rec.charset.normalize(t) for t in texts]
    assert Scores.compute(refs, [p.text for p in preds]).cer <= 0.12  # measured 5.8 %


@pytest.mark.parametrize("layout", ["flat paper", "loose crop"])
@pytest.mark.parametrize("name", sorted(LINE_TASKS))
def test_line_models_read_lines_with_wide_paper_margins(name, layout):
    """A line with a line height of flat paper on every side (a screenshot), or cut loosely
    from a page (paper drawn round it before the degradations), reads almost as well as a
    tight crop: the shipped preprocessing trims the margins (measured in
    benchmarks/bench_margins.py: without it, 0-4 % exact)."""
    _, min_exact, max_cer = CASES[name]
    rec = Recognizer.load(name)
    if layout == "loose crop":
        images, texts = synthetic_samples(*LINE_TASKS[name], N, seed=434343, loose=1.0)
    else:
        images, texts = CASES[name][0]()
        images = [np.pad(im, im.shape[0], constant_values=int(np.median(im))) for im in images]
    preds = rec.read_batch(images)
    refs = [rec.charset.normalize(t) for t in texts]
    scores = Scores.compute(refs, [p.text for p in preds])
    assert scores.exact_match >= min_exact - 0.1 and scores.cer <= 2 * max_cer, (
        f"{name}: exact {scores.exact_match:.2f}, CER {scores.cer:.3f}"
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_shipped_training_weights_match_the_onnx_model(name):
    """`--init-from NAME` starts from the same network the ONNX file runs (fp16 weights)."""
    import torch

    from lineocr.preprocess import collate, to_model_input
    from lineocr.train.checkpoint import load_checkpoint

    model, meta = load_checkpoint(zoo.weights_path(name))
    rec = Recognizer.load(name)
    assert meta.charset == rec.charset and meta.preprocess == rec.spec
    images, _ = CASES[name][0]()
    batch, _ = collate([to_model_input(img, rec.spec) for img in images[:4]], rec.spec)
    with torch.no_grad():
        expected = model(torch.from_numpy(batch)).numpy()
    got = rec.logits(batch)
    if rec.metadata.get("onnx", {}).get("quantization") == "int8":
        # A dynamically quantised file: lossy by design, so the frame decisions must agree.
        agree = (got.argmax(-1) == expected.argmax(-1)).mean()
        assert agree >= 0.98 and np.abs(got - expected).mean() < 0.5, agree
    else:
        np.testing.assert_allclose(got, expected, atol=0.05, rtol=0.01)


@pytest.mark.parametrize("name", sorted(CASES))
def test_int8_files_compute_the_same_on_every_x86_cpu(name):
    """A bundled int8 file's weights fit 7 bits, so CPUs without VNNI (AVX2 only, whose
    u8 x s8 kernels saturate 8-bit weights) compute the integers VNNI CPUs compute: the
    bundled files gave bit-identical logits on an AVX-512 VNNI EPYC and under QEMU's
    Haswell (AVX2) model (docs/runtime.md, "Int8 on every CPU"); 8-bit weights read
    0.3-1.7 % of frames differently there."""
    path = zoo.model_path(name)
    if Recognizer.load(name).metadata["onnx"].get("quantization") != "int8":
        assert max_abs_int8_weight(path) == 0
        return
    assert 0 < max_abs_int8_weight(path) <= AVX2_SAFE_INT8_WEIGHT
