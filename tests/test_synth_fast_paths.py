"""The fast paths of ``lineocr synth`` give what the straightforward ones gave: its PNG
writer is lossless with either compressor and read by any reader, the font choice is every
face that draws the text, a cached cmap holds the code points it was made from, and a
step's parameters are the values drawn one by one."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import string

import cv2
import numpy as np
import pytest
from PIL import Image

from lineocr.data import png
from lineocr.data.synth import LineSynthesizer, SynthConfig
from lineocr.data.synth_output import write_dataset


def _decoded(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    by_cv2 = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.mode == "L"
        by_pillow = np.asarray(im)
    return by_cv2, by_pillow


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(1, 1), (1, 17), (23, 1), (2, 2), (37, 501)]
    images = [rng.integers(0, 256, s, dtype=np.uint8) for s in shapes]
    images += [np.zeros((5, 9), np.uint8), np.full((5, 9), 255, np.uint8)]
    gradient = np.add.outer(np.arange(40), np.arange(300)).astype(np.uint8)  # wraps in Up
    images.append(np.ascontiguousarray(gradient[::-1]))
    images.append(gradient[:, ::2])  # not contiguous
    return images


def test_png_decodes_to_the_same_pixels_in_opencv_and_pillow():
    for image in _images():
        data = png.encode_png(image)
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
        for decoded in _decoded(data):
            assert decoded.dtype == np.uint8
            np.testing.assert_array_equal(decoded, image)


@pytest.mark.parametrize("style", ["scan", "photo", "print"])
def test_synthetic_lines_survive_the_png_round_trip(style):
    synth = LineSynthesizer(SynthConfig(lang="latin", style=style), seed=3)
    for i in range(12):
        image = synth.sample(i)[0]
        for decoded in _decoded(png.encode_png(image)):
            np.testing.assert_array_equal(decoded, image)


def test_png_refuses_what_is_not_a_grey_uint8_image():
    for bad in (
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((0, 4), np.uint8),
    ):
        with pytest.raises(ValueError, match="2-D uint8"):
            png.encode_png(bad)


def test_written_dataset_files_hold_the_synthesizers_pixels_and_labels(tmp_path):
    synth = LineSynthesizer(SynthConfig(lang="latin", style="scan"), seed=11)
    write_dataset(tmp_path / "ds", 8, synth)
    for i in range(8):
        image, text = synth.sample(i)
        for decoded in _decoded((tmp_path / "ds" / f"{i:06d}.png").read_bytes()):
            np.testing.assert_array_equal(decoded, image)
        assert (tmp_path / "ds" / f"{i:06d}.gt.txt").read_bytes() == (text + "\n").encode()
    manifest = json.loads((tmp_path / "ds" / "synth.json").read_text(encoding="utf-8"))
    assert manifest["versions"]["opencv"] == cv2.__version__  # what wrote the PNGs' bytes


def _with_localized_digits(synth: LineSynthesizer) -> LineSynthesizer:
    """A copy whose every other face draws 0-9 as Arabic-Indic digits next to Arabic
    letters (as KacstOne does; none of the installed faces that qualify does)."""
    marked = copy.copy(synth)
    marked.faces = [
        dataclasses.replace(f, localized_digits=True) if i % 2 else f
        for i, f in enumerate(synth.faces)
    ]
    marked._plain_faces = False
    marked._choices = {}
    return marked


@pytest.mark.parametrize("lang", ["latin", "mixed", "mixed-localized", "arabic-digits"])
def test_fast_font_choice_is_every_face_that_can_render_the_text(lang):
    synth = LineSynthesizer(SynthConfig(lang=lang.split("-l")[0], style="clean"), seed=2)
    if lang == "mixed-localized":
        synth = _with_localized_digits(synth)
    rng = np.random.default_rng(5)
    texts = [synth.text(i) for i in range(150)]
    pool = sorted(set(synth.alphabet) | set(string.printable[:94]) | set("٠١٢٣٤٥٦٧٨٩بج"))
    texts += ["".join(rng.choice(pool, size=int(rng.integers(1, 5)))) for _ in range(400)]
    texts += ["ب 12", "باب ٣", "A 7", "ب", "12"]
    some = 0
    for text in texts:
        expected = [f for f in synth.faces if f.can_render(text)]
        assert synth.faces_for(text) == expected, text
        some += 0 < len(expected) < len(synth.faces)
    if lang != "arabic-digits":  # (its faces all draw the same few characters)
        assert some > 20  # texts that only some faces draw were among them


def test_cached_cmap_runs_hold_the_code_points_they_were_made_from():
    from lineocr.data import font_cache

    rng = np.random.default_rng(3)
    codes = frozenset(int(c) for c in rng.integers(0, 0x3000, 600)) | set(range(0x41, 0x5B))
    runs = font_cache.runs_cmap(font_cache.cmap_runs(codes))
    assert len(runs) == len(codes) and set(runs) == codes and sorted(runs) == list(runs)
    for code in range(-2, 0x3002):
        assert (code in runs) == (code in codes)
    for needed in (frozenset(map(ord, "AZ")), frozenset({0x2FFF, 0x41}), frozenset()):
        assert (needed <= runs) == (needed <= codes)
    assert "A" not in runs  # code points, not characters
    again = font_cache.runs_cmap(font_cache.cmap_runs(codes))
    assert again == runs and hash(again) == hash(runs)


def test_a_steps_parameters_are_the_values_drawn_one_by_one(monkeypatch):
    from lineocr.data import degrade

    steps = degrade.parse_steps(degrade.PRESETS["scan"] + ("shear:p=0.5,amount=0.1",))
    calls: list[tuple[str, dict[str, float]]] = []
    for name in {s.op for s in steps}:

        def spy(img, r, _name=name, **kw):
            calls.append((_name, kw))
            return img

        monkeypatch.setitem(degrade.OPS, name, spy)
    for seed in range(20):
        calls.clear()
        degrade.apply_steps(np.zeros((4, 4), np.uint8), steps, np.random.default_rng(seed))
        r = np.random.default_rng(seed)  # the draws as apply_steps made them before
        expected = []
        for step in steps:
            run = r.random() < step.p
            kw = {k: float(r.uniform(lo, hi)) if hi > lo else lo for k, lo, hi in step.params}
            if run:
                expected.append((step.op, kw))
        assert calls == expected
