"""The bundled models compute the same on x86-64 CPUs without VNNI (AVX2 only) as on this
one: ONNX Runtime run under QEMU's Haswell model (AVX2, FMA; no AVX-512, no VNNI) gives
the logits it gives natively, on the same batches. Their int8 weights fit 7 bits (see
``tests/conftest.AVX2_SAFE_INT8_WEIGHT``); 8-bit weights read 0.3-1.7 % of frames
differently there (docs/runtime.md, "Int8 on every CPU")."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lineocr import zoo
from lineocr.preprocess import collate, to_model_input
from lineocr.runtime import Recognizer
from tests.test_bundled_models import CASES

QEMU = shutil.which("qemu-x86_64")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 CPU classes"),
    pytest.mark.skipif(QEMU is None, reason="qemu-x86_64 (Debian qemu-user) not installed"),
]
LINES = 12  # per model

# Run by the emulated CPU: it checks that it is one without AVX-512 and VNNI, then writes
# each batch's logits (numpy asks the CPU itself, with CPUID).
CHILD = """
import sys, numpy as np, onnxruntime as ort
from numpy._core._multiarray_umath import __cpu_features__ as cpu
vnni = [k for k in ("AVX512F", "AVX512VNNI", "AVXVNNI") if cpu.get(k)]
assert cpu["AVX2"] and not vnni, vnni
data = np.load(sys.argv[1])
out = {}
for key in data:
    if key.startswith("input-"):
        name = key[len("input-"):]
        path = sys.argv[3] + "/" + name + ".onnx"
        session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        feed = {"input": data[key]}
        if "lengths-" + name in data:
            feed["lengths"] = data["lengths-" + name]
        out[name] = session.run(None, feed)[0]
np.savez(sys.argv[2], **out)
"""


def test_bundled_models_compute_the_same_without_vnni(tmp_path: Path) -> None:
    arrays: dict[str, np.ndarray] = {}
    native: dict[str, np.ndarray] = {}
    for name in sorted(zoo.BUNDLED):
        rec = Recognizer.load(name, threads=1)
        images, _ = CASES[name][0]()
        batch = images[:LINES]
        lines = [to_model_input(image, rec.spec) for image in batch]
        if rec._lengths is not None:
            x, frames = rec._lengths[1].collate(lines, rec.spec)
            arrays[f"lengths-{name}"] = frames
        else:
            x, widths = collate(lines, rec.spec)
            frames = -(-widths // rec.time_stride)
        arrays[f"input-{name}"] = x
        native[name] = rec.logits(x, frames)
    np.savez(tmp_path / "in.npz", **arrays)
    subprocess.run(
        [
            QEMU,
            "-cpu",
            "Haswell",
            sys.executable,
            "-c",
            CHILD,
            str(tmp_path / "in.npz"),
            str(tmp_path / "out.npz"),
            str(zoo.MODELS_DIR),
        ],
        check=True,
        stderr=subprocess.PIPE,  # QEMU warns of host features its TCG lacks
        timeout=900,
    )
    emulated = np.load(tmp_path / "out.npz")
    for name, logits in native.items():
        assert (emulated[name].argmax(-1) == logits.argmax(-1)).all(), name
        assert np.abs(emulated[name] - logits).max() <= 1e-3, name
