"""Where ``lineocr synth``'s CPU time goes: per-line CPU time of each stage, in one process.

Runs the per-line work of ``lineocr synth --n N --lang latin --style scan`` (sidecar: a PNG
and a ``.gt.txt`` per line) in this process, with each stage wrapped in a CPU-time counter
(``time.process_time``, so another job on the machine inflates it far less than wall time):
text sampling, font objects, glyph drawing (Pillow + raqm), cropping, each degradation, PNG
encoding, file and label writing. Also start-up (imports, fonts checked, word list) and the
size of the synthesizer sent to each worker. ``--cprofile FILE`` writes a cProfile of the
same run instead of the counters' overhead (see it with ``python -m pstats FILE``).

Creating the files is kernel time that other jobs' disk traffic makes vary five-fold (0.1 to
0.7 ms for a line's two files, the same code minutes apart): ``--tmp /dev/shm`` writes them
to memory, to compare the rest.

    python benchmarks/synth_profile.py [--n 3000] [--style scan] [--lang latin] [--seed 0]
                                       [--tmp DIR]
"""

from __future__ import annotations

import argparse
import functools
import os
import pickle  # only to size what multiprocessing sends each worker; nothing is loaded
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

_T0 = time.process_time()

from lineocr.data import degrade, render, synth_output  # noqa: E402
from lineocr.data.fonts import FontCache  # noqa: E402
from lineocr.data.synth import LineSynthesizer, SynthConfig  # noqa: E402

IMPORT_CPU = time.process_time() - _T0
TOTALS: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def _timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            TOTALS[name] += time.process_time() - began
            CALLS[name] += 1

    return wrapper


def instrument() -> None:
    """Wrap each stage (inclusive times: ``render`` holds ``font`` and ``glyphs``)."""
    LineSynthesizer.text = _timed("text", LineSynthesizer.text)  # type: ignore[method-assign]
    FontCache.get = _timed("font objects", FontCache.get)  # type: ignore[method-assign]
    glyphs = "_ink" if hasattr(render, "_ink") else "_mask"  # (_mask before 2026-12-08)
    setattr(render, glyphs, _timed("glyphs (getmask2)", getattr(render, glyphs)))
    render.LineRenderer.render = _timed("render (all)", render.LineRenderer.render)  # type: ignore[method-assign]
    for name in list(degrade.OPS):
        degrade.OPS[name] = _timed(f"degrade {name}", degrade.OPS[name])
    degrade.apply_steps = _timed("degrade (all)", degrade.apply_steps)
    import lineocr.data.synth as synth_module

    synth_module.apply_steps = degrade.apply_steps
    synth_module._loosen = _timed("loosen", synth_module._loosen)
    synth_output._png = _timed("png encode", synth_output._png)
    if hasattr(synth_output, "_write_file"):  # since 2026-12-08: both files through it
        synth_output._write_file = _timed("write files (png + label)", synth_output._write_file)
    else:
        Path.write_bytes = _timed("write png", Path.write_bytes)  # type: ignore[method-assign]
        Path.write_text = _timed("write label", Path.write_text)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--lang", default="latin")
    parser.add_argument("--style", default="scan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cprofile", type=Path, default=None)
    parser.add_argument(
        "--tmp", default=None, help="where to write the files (e.g. /dev/shm: no disk)"
    )
    args = parser.parse_args()

    began = time.process_time()
    synth = LineSynthesizer(SynthConfig(lang=args.lang, style=args.style), seed=args.seed)
    build_cpu = time.process_time() - began
    blob = pickle.dumps(synth)
    began = time.process_time()
    synth.sample(10_000_000)  # word list, noise and paper banks: once per worker
    warm_cpu = time.process_time() - began
    if args.cprofile is None:
        instrument()
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        files = synth_output._Files(Path(tmp), 6, labels=True)
        began = time.process_time()
        if args.cprofile is not None:
            import cProfile

            cProfile.runctx(
                "synth_output._make_chunk_with(synth, range(args.n), files)",
                globals(),
                {"synth": synth, "args": args, "files": files, "synth_output": synth_output},
                str(args.cprofile),
            )
        else:
            synth_output._make_chunk_with(synth, range(args.n), files)
        total = time.process_time() - began
        size = sum(p.stat().st_size for p in Path(tmp).glob("*.png"))
    load = os.getloadavg()[0]
    print(
        f"# {args.n} lines, --lang {args.lang} --style {args.style} --seed {args.seed}; "
        f"load average {load:.2f}; {size / args.n / 1024:.1f} KiB per PNG"
    )
    print(
        f"start-up (once per process): imports {IMPORT_CPU:.2f} CPU-s, synthesizer "
        f"{build_cpu:.2f} CPU-s, first line (word list, banks) {warm_cpu:.2f} CPU-s; "
        f"synthesizer sent to each worker: {len(blob) / 1024:.0f} KiB"
    )
    print(f"{'stage':<28} {'calls':>7} {'CPU ms/line':>12} {'share':>7}")
    for name, seconds in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        print(
            f"{name:<28} {CALLS[name]:7d} {1000 * seconds / args.n:12.3f} "
            f"{100 * seconds / total:6.1f}%"
        )
    print(
        f"{'total (per line)':<28} {args.n:7d} {1000 * total / args.n:12.3f}  "
        f"= {total * 1000 / args.n:.2f} CPU-s per 1,000 lines"
    )


if __name__ == "__main__":
    main()
