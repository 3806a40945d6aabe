"""A tiny model trained only on synthetic lines reads lines in fonts it never saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.mark.slow
@pytest.mark.skipif(not DEJAVU.is_file(), reason="system fonts missing")
def test_a_model_trained_on_synthetic_digits_reads_held_out_fonts(tmp_path):
    pytest.importorskip("torch")
    from lineocr.charset import Charset
    from lineocr.config import Config, override
    from lineocr.data.batching import load_examples
    from lineocr.data.fonts import family_split
    from lineocr.data.synth import LineSynthesizer, SynthConfig
    from lineocr.train.loop import FitOptions, PreparedData, fit
    from tests.render import ArraySample, render

    config = SynthConfig(lang="digits", style="scan", patterns=("id",), min_chars=3, max_chars=7)
    train = LineSynthesizer(config, seed=0, split="train")
    held_out = LineSynthesizer(config, seed=0, split="val")
    assert {f.family for f in train.faces}.isdisjoint({f.family for f in held_out.faces})
    # The tests' own renderer draws DejaVu Sans, a held-out family too.
    assert family_split("DejaVu Sans") == "val"
    rng = np.random.default_rng(1)
    plain = [
        "".join(map(str, rng.integers(0, 10, size=int(rng.integers(3, 8))))) for _ in range(40)
    ]

    charset = Charset.from_string("0123456789")
    cfg = override(
        Config(), model__preset="tiny", model__dropout=0.0, augment__enabled=False,
        train__batch_size=32, train__lr=3e-3, train__epochs=8, train__patience=8,
        train__threads=1, train__warmup=0.1,
    )  # fmt: skip
    train_samples = [ArraySample(t, img) for img, t in map(train.sample, range(800))]
    val_samples = [ArraySample(t, img) for img, t in map(held_out.sample, range(80))]
    val_samples += [ArraySample(t, render(t, size=26)) for t in plain]
    examples = load_examples(train_samples, charset, cfg.preprocess).examples
    val = load_examples(val_samples, charset, cfg.preprocess).examples
    assert len(examples) == 800 and len(val) == 120
    result = fit(
        cfg,
        PreparedData(charset, examples, val),
        tmp_path,
        FitOptions(show_progress=False, tensorboard=False),
    )
    assert result.best["val_cer"] < 0.05, result.history[-1]


def test_a_fixed_charset_narrows_what_synthetic_lines_draw():
    from io import StringIO

    from rich.console import Console

    from lineocr.charset import Charset
    from lineocr.data.synth import SynthError
    from lineocr.train.run import SynthOptions

    said = StringIO()
    digits = Charset.from_string("0123456789 ")
    ((_, gen, _),) = SynthOptions(("digits:0.3",)).synthesizers(
        0, "train", digits, Console(file=said, width=200)
    )
    assert set(gen.alphabet) == set("0123456789 ")
    assert all(set(gen.sample(i)[1]) <= set("0123456789 ") for i in range(20))
    assert "--synth digits:0.3: lines of the 11 characters" in said.getvalue()
    assert "left out: - / . , : + ( )" in said.getvalue()
    # before training starts, naming the spec: no line can be made, or none drawn at all
    with pytest.raises(SynthError, match=r"--synth latin:0.3 draws characters outside .* no word"):
        SynthOptions(("latin:0.3",)).synthesizers(0, "train", Charset.from_string("0123"))
    with pytest.raises(SynthError, match="--synth latin: none of the characters it draws"):
        SynthOptions(("latin",)).synthesizers(0, "val", Charset.from_string("٠١"))
