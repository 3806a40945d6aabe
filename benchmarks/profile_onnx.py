"""Where an ONNX model's time goes: ONNX Runtime's own profiler, summed by operator type.

    python benchmarks/profile_onnx.py [--model printed] [--width 400] [--batch 32] [--threads 1]

Runs a (batch, 1, height, width) batch of noise a few times and prints each operator type's
share of the kernel time.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from lineocr.models.spec import TIME_STRIDE
from lineocr.runtime import Recognizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="printed", help="bundled name or .onnx file")
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rec = Recognizer.load(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "profile")
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(rec.source, options, providers=["CPUExecutionProvider"])
        x = np.random.default_rng(0).random(
            (args.batch, 1, rec.spec.height, args.width), dtype=np.float32
        )
        feed = {"input": x}
        if any(i.name == "lengths" for i in session.get_inputs()):  # models fed line lengths
            frames = -(-args.width // TIME_STRIDE)
            feed["lengths"] = np.full(args.batch, frames, dtype=np.int32)
        for _ in range(args.runs):
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
    total = sum(by_op.values())
    print(f"{args.model}: batch {args.batch} x width {args.width}, {args.threads} thread(s)")
    for op, us in by_op.most_common(8):
        print(f"  {op:12s} {100 * us / total:5.1f} %")


if __name__ == "__main__":
    main()
