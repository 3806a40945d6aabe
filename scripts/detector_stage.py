"""A detector run's best checkpoint -> a committed stage: ``OUT.safetensors`` (fp16) and
``OUT.json``, which ``lineocr train-detector --init-from`` and ``lineocr export`` take.

    python scripts/detector_stage.py runs/detector stages/detector1/detector1.safetensors
"""

from __future__ import annotations

import sys
from pathlib import Path

from lineocr.detect.checkpoint import load, save_weights_fp16


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].endswith(".safetensors"):
        print(__doc__, file=sys.stderr)
        return 2
    model, meta = load(argv[0])
    meta.name = Path(argv[1]).stem
    out = save_weights_fp16(model, meta, Path(argv[1]))
    print(f"wrote {out} (epoch {meta.epoch}, step {meta.step}, {out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
