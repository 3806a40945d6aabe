"""lineocr's bundled models side by side with Tesseract 5, on freshly generated lines.

Per task (printed Latin, printed Arabic, Arabic-Indic digit strings sharp and blurred,
CAPTCHAs) the script renders lines with lineocr's synthetic generator in the held-out
``val`` font families and text stream, with a seed no training run uses, then measures for
both systems: CER, exact match, lines per second and peak memory, each system run as one
process reading every line from a file list on the same pinned cores (Tesseract as one
process per core with ``OMP_THREAD_LIMIT=1``, reading a list file: its fastest fair set-up;
lineocr as ``lineocr read --workers CORES``). Also ``lineocr read`` start-up to the first
result on one image, and int8 against fp32 (speed, CER) for each model.

Writes a Markdown report with a table and a plot (default ``docs/benchmarks.md`` and
``docs/benchmarks.png``; with ``--quick``, ``benchmarks/out/`` so a smoke run never
overwrites the published figures) and records the machine.

    python benchmarks/bench_vs_tesseract.py            # the full run (minutes)
    python benchmarks/bench_vs_tesseract.py --quick    # a smoke run (seconds)
    python benchmarks/bench_vs_tesseract.py --quick --model-for-all /tmp/tiny.onnx
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from independent.report import splice
from lineocr import __version__
from lineocr.charset import Charset
from lineocr.metrics import Scores

ROOT = Path(__file__).resolve().parents[1]
SEED = 20_240_917  # no training run uses this seed; the val split also changes the texts
PAGE_SEPARATOR = "@@LINEOCR-PAGE@@"
GENERATOR_START = "<!-- generator-benchmark:start (written by benchmarks/bench_vs_tesseract.py) -->"
GENERATOR_END = "<!-- generator-benchmark:end -->"


@dataclass(frozen=True)
class Task:
    key: str
    title: str
    model: str  # bundled model name
    tesseract_lang: str
    synth: dict[str, Any]  # SynthConfig fields
    targets: str  # the targets, quoted in the report
    alternatives: tuple[str, ...] = ()  # other bundled models measured too, when built
    speed: bool = False  # a throughput target: also measured on --speed-lines lines


TASKS = (
    Task(
        "latin",
        "Printed Latin lines",
        "printed",
        "eng",
        {"lang": "latin"},
        "CER no worse than Tesseract's, >= 5x its lines/s",
        alternatives=("printed-fast",),
        speed=True,
    ),
    Task(
        "arabic",
        "Printed Arabic lines",
        "printed",
        "ara",
        {"lang": "arabic"},
        "CER <= 2 %, exact match >= 90 %",
        alternatives=("printed-fast",),
    ),
    Task(
        "digits-sharp",
        "Arabic-Indic digit strings, sharp",
        "arabic-digits",
        "ara",
        {"lang": "arabic-digits", "style": "clean"},
        "exact match >= 98 %",
    ),
    Task(
        "digits-blurred",
        "Arabic-Indic digit strings, blurred",
        "arabic-digits",
        "ara",
        {"lang": "arabic-digits", "style": "blurred"},
        "exact match >= 98 %",
    ),
    Task(
        "captcha",
        "CAPTCHAs (5 characters, 200x50)",
        "captcha",
        "eng",
        {"lang": "captcha"},
        "exact match >= 97 %",
    ),
)


# -- test lines ----------------------------------------------------------------------------


def generate_lines(task: Task, n: int, seed: int = SEED) -> list[tuple[np.ndarray, str]]:
    """``n`` (image, text) pairs for a task, in fonts and texts never used for training.

    The one place lines come from: swap this function to benchmark on other data.
    """

    return [(s.image, s.text) for s in generate_samples(task, n, seed)]


def generate_samples(task: Task, n: int, seed: int = SEED) -> list[Any]:
    """Like :func:`generate_lines`, with the font of each line (``SynthSample``)."""
    from lineocr.data.synth import LineSynthesizer, SynthConfig

    synth = LineSynthesizer(SynthConfig(**task.synth), seed=seed, split="val")
    return [synth.sample_info(i) for i in range(n)]


def by_family(
    fonts: Sequence[str],
    refs: Sequence[str],
    hyps: dict[str, Sequence[str]],
    normalize: Callable[[str], str],
) -> list[dict[str, Any]]:
    """Exact match and CER per held-out font family, per system."""
    from lineocr.data.fonts import font_family

    families: dict[str, list[int]] = {}
    for i, font in enumerate(fonts):
        families.setdefault(font_family(font), []).append(i)
    rows = []
    for family, idx in sorted(families.items()):
        row: dict[str, Any] = {"family": family, "lines": len(idx)}
        for system, texts in hyps.items():
            s = score([refs[i] for i in idx], [texts[i] for i in idx], normalize)
            row[system] = {"cer": s.cer, "exact_match": s.exact_match}
        rows.append(row)
    return rows


def normalizer(charset: Charset, task: Task) -> Callable[[str], str]:
    """What both systems' output and the reference are compared after: NFKC (Tesseract may
    emit presentation forms), then the model's own normalisation (digit mapping, spaces),
    so neither system is charged for a difference in encoding rather than in reading."""

    def normalize(text: str) -> str:
        return charset.normalize(unicodedata.normalize("NFKC", text))

    return normalize


# -- processes -----------------------------------------------------------------------------


@dataclass
class Run:
    wall_s: float
    peak_rss_mb: float
    stdout: str
    returncode: int


# Runs the command as a child of a small process, so that the child's peak memory (wait4's
# ru_maxrss) is its own and not the forking benchmark's, which a child inherits until exec.
# A command that forks workers (lineocr read --workers) is also sampled every 25 ms: the
# resident memory of its whole process tree, summed (ru_maxrss is the largest process only).
_MEASURE = """
import json, os, sys, time
def tree_rss_kb(root):
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo += [int(child) for child in f.read().split()]
        except (OSError, ValueError):
            pass
    return total
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
sampled = 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    sampled = max(sampled, tree_rss_kb(pid))
    time.sleep(0.025)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    json.dump({"wall_s": wall, "maxrss_kb": max(usage.ru_maxrss, sampled),
               "exit": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured(
    argv: Sequence[str], *, stdin_text: str | None = None, env: dict[str, str] | None = None
) -> Run:
    """Run a command (on the CPUs this process is pinned to); its wall time from fork to
    exit and its peak resident memory."""
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _MEASURE, str(stats), *argv],
            input=(stdin_text or "").encode(),
            capture_output=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        measured = json.loads(stats.read_text())
    return Run(
        measured["wall_s"],
        measured["maxrss_kb"] / 1024,
        proc.stdout.decode("utf-8", errors="replace"),
        measured["exit"],
    )


def run_parallel(commands: list[tuple[list[str], dict[str, str]]]) -> tuple[list[Run], float]:
    """Start every command at once; their runs and the wall time until the last ends."""
    import concurrent.futures

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
        futures = [pool.submit(run_measured, argv, env=env) for argv, env in commands]
        runs = [f.result() for f in futures]
    return runs, time.perf_counter() - start


def lineocr_argv() -> list[str]:
    script = Path(sys.executable).parent / "lineocr"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from lineocr.cli import main; main()"]


# -- the two systems -----------------------------------------------------------------------


@dataclass
class SystemResult:
    system: str
    cer: float
    exact_match: float
    lines_per_s: float
    peak_rss_mb: float
    wall_s: float
    n: int
    failed: int = 0


@dataclass(frozen=True)
class Lines:
    """Line images on disk, their references, and how both are normalised for scoring."""

    paths: list[Path]
    refs: list[str]
    normalize: Callable[[str], str]


@dataclass(frozen=True)
class Setup:
    """Where the systems run: the Tesseract binary, the cores given, a scratch folder."""

    tesseract: str
    cpus: set[int]
    workdir: Path


def score(
    references: Sequence[str], hypotheses: Sequence[str], normalize: Callable[[str], str]
) -> Scores:
    return Scores.compute([normalize(r) for r in references], [normalize(h) for h in hypotheses])


def bench_lineocr(model: str, lines: Lines, cpus: set[int]) -> tuple[SystemResult, list[str]]:
    paths = lines.paths
    argv = [*lineocr_argv(), "read", "-m", model, "--format", "jsonl"]
    # As Tesseract runs: one process per core (forked by lineocr read after its start-up).
    argv += ["--workers", str(len(cpus)), "--no-progress", "-"]
    run = run_measured(argv, stdin_text="\n".join(map(str, paths)) + "\n")
    records = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    by_path = {r["path"]: r.get("text", "") for r in records}
    hyps = [by_path.get(str(p), "") for p in paths]
    failed = sum(1 for r in records if "error" in r) + (len(paths) - len(records))
    s = score(lines.refs, hyps, lines.normalize)
    result = SystemResult(
        "lineocr", s.cer, s.exact_match, len(paths) / run.wall_s, run.peak_rss_mb, run.wall_s,
        len(paths), failed,
    )  # fmt: skip
    return result, hyps


def bench_tesseract(setup: Setup, lang: str, lines: Lines) -> tuple[SystemResult, list[str]]:
    paths, cores = lines.paths, len(setup.cpus)
    shards = [paths[i::cores] for i in range(cores)]
    commands = []
    for k, shard in enumerate(shards):
        listing = setup.workdir / f"tesseract-{lang}-{k}.txt"
        listing.write_text("\n".join(map(str, shard)) + "\n", encoding="utf-8")
        argv = [setup.tesseract, str(listing), "stdout", "-l", lang, "--psm", "7"]
        argv += ["-c", f"page_separator={PAGE_SEPARATOR}"]
        commands.append((argv, {"OMP_THREAD_LIMIT": "1"}))
    runs, wall = run_parallel(commands)
    hyp_by_path: dict[Path, str] = {}
    failed = 0
    for shard, run in zip(shards, runs, strict=True):
        pages = run.stdout.split(PAGE_SEPARATOR)
        if run.returncode != 0 or len(pages) != len(shard):
            failed += len(shard)
            pages = [""] * len(shard)
        for path, page in zip(shard, pages, strict=True):
            hyp_by_path[path] = " ".join(page.split())
    hyps = [hyp_by_path[p] for p in paths]
    s = score(lines.refs, hyps, lines.normalize)
    result = SystemResult(
        "tesseract", s.cer, s.exact_match, len(paths) / wall, sum(r.peak_rss_mb for r in runs),
        wall, len(paths), failed,
    )  # fmt: skip
    return result, hyps


def throughput(systems: dict[str, Callable[[], float]], repeats: int) -> dict[str, dict[str, Any]]:
    """Each system's wall time for the same lines, ``repeats`` times, interleaved so that
    a slow moment of the machine hits every system alike; lines/s from the median."""
    walls: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeats):
        for name, run in systems.items():
            walls[name].append(run())
    return {name: {"walls_s": w, "median_s": sorted(w)[len(w) // 2]} for name, w in walls.items()}


def write_pngs(samples: Sequence[tuple[np.ndarray, str]], folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for i, (image, _) in enumerate(samples):
        path = folder / f"{i:05d}.png"
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths


def startup(model: str, image: Path, cpus: set[int], repeats: int) -> dict[str, float]:
    """``lineocr read`` on one image, process start to exit (best and median of repeats)."""
    argv = [*lineocr_argv(), "read", "-m", model, "--threads", str(len(cpus)), str(image)]
    runs = [run_measured(argv) for _ in range(repeats)]
    walls = sorted(r.wall_s for r in runs)
    return {
        "best_s": walls[0],
        "median_s": walls[len(walls) // 2],
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
    }


def int8_vs_fp32(
    model: str, model_file: Path, samples: list[tuple[np.ndarray, str]], task: Task, setup: Setup
) -> dict[str, Any]:
    """The same lines through the fp32 file and its int8 dynamic quantisation, in-process.
    When the model file is itself int8 (a bundled model shipped quantised), the fp32 file is
    exported from the training weights beside it (``NAME.safetensors``, as bundle_model.py
    writes them, so a candidate given with ``--model`` is compared with its own weights),
    else from the bundled model ``model``'s."""
    from lineocr import zoo
    from lineocr.export import export_onnx, quantize_onnx
    from lineocr.runtime import Recognizer

    images, refs = [image for image, _ in samples], [text for _, text in samples]
    threads, workdir = len(setup.cpus), setup.workdir

    if Recognizer.load(model_file).metadata.get("onnx", {}).get("quantization") == "int8":
        int8_file = model_file
        beside = model_file.with_suffix(".safetensors")
        has_weights = beside.is_file() and beside.with_suffix(".json").is_file()
        weights = beside if has_weights else zoo.weights_path(model)
        model_file = export_onnx(weights, workdir / f"{model_file.stem}.fp32.onnx")
    else:
        int8_file = quantize_onnx(model_file, workdir / f"{model_file.stem}.int8.onnx")
    out: dict[str, Any] = {}
    for label, path in (("fp32", model_file), ("int8", int8_file)):
        rec = Recognizer.load(path, threads=threads)
        rec.read_batch(images[:8])  # warm-up
        start = time.perf_counter()
        preds = rec.read_batch(images)
        wall = time.perf_counter() - start
        s = score(refs, [p.text for p in preds], normalizer(rec.charset, task))
        out[label] = {
            "cer": s.cer,
            "exact_match": s.exact_match,
            "lines_per_s": len(images) / wall,
            "size_mb": path.stat().st_size / 1e6,
        }
    return out


# -- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model_name = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime

    return {
        "cpu": model_name,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "lineocr": __version__,
    }


def tesseract_version(tesseract: str) -> str:
    out = subprocess.run([tesseract, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [r["task"] for r in results]
    x = np.arange(len(keys))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    metrics = (
        ("cer", "CER (%, lower is better)", 100.0),
        ("exact_match", "Exact match (%)", 100.0),
        ("lines_per_s", "Lines per second", 1.0),
    )
    for ax, (metric, title, scale) in zip(axes, metrics, strict=True):
        for offset, system in ((-0.2, "lineocr"), (0.2, "tesseract")):
            values = [r[system][metric] * scale if r.get(system) else np.nan for r in results]
            ax.bar(x + offset, values, 0.4, label=system)
        ax.set_xticks(x, keys, rotation=25, ha="right")
        ax.set_title(title)
    axes[2].set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def write_report(report: dict[str, Any], md_path: Path, png_name: str) -> None:
    m = report["machine"]
    lines = [
        "# Generator benchmark: lineocr vs Tesseract 5 on lineocr's own synthetic lines",
        "",
        "Generated by `benchmarks/bench_vs_tesseract.py`"
        + (" **in --quick mode: smoke-test numbers, not results**" if report["quick"] else "")
        + f" on {report['date']}. The lines come from lineocr's own generator (held-out fonts, "
        "but its renderer, texts and degradations): a development check of how the models fit "
        "the generator, not a claim about real input (the independent evaluation is).",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']} ({m['logical_cpus']} logical CPUs; "
        f"both systems pinned to {report['cores']} of them)",
        f"- {m['platform']}, Python {m['python']}, ONNX Runtime {m['onnxruntime']}, "
        f"lineocr {m['lineocr']}",
        f"- {report['tesseract_version']}",
        "",
        "## Method",
        "",
        f"- {report['lines_per_task']} lines per task from `lineocr.data.synth.LineSynthesizer`, "
        f"split `val` (font families held out of training, a separate text stream), seed {SEED}.",
        "- Both systems read PNG files from a file list, one process start per system and task: "
        "`lineocr read --format jsonl --workers N -` (paths on stdin; N forked processes) "
        "and Tesseract "
        "(`--psm 7`, `-l eng` or `-l ara`) as N parallel processes with `OMP_THREAD_LIMIT=1`, "
        "each reading a list file. Lines/s = lines / wall time including start-up "
        "(and, for the task with a speed target, on a larger set below). "
        "Peak memory = maximum resident set (summed over Tesseract's processes; for lineocr "
        "the larger of its own and its process tree's, sampled every 25 ms).",
        "- Text is compared after NFKC and the model's own normalisation (digit mapping, "
        "spaces) for both systems. CER = edits / reference characters.",
        "",
        "## Results",
        "",
        "| task | system | CER | exact match | lines/s | peak memory | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        rows = [(f"lineocr ({r['model']})", r.get("lineocr"), r["targets"])]
        rows += [(f"lineocr ({a['model']})", a, "") for a in r.get("alternatives", [])]
        rows += [(f"tesseract ({r['lang']})", r.get("tesseract"), "")]
        for system, s, targets in rows:
            if not s:
                continue
            lines.append(
                f"| {r['title']} | {system} | {pct(s['cer'])} | {pct(s['exact_match'])} "
                f"| {s['lines_per_s']:.1f} | {s['peak_rss_mb']:.0f} MB | {targets} |"
            )
    lines += ["", f"![CER, exact match and speed per task]({png_name})", ""]
    for t in report.get("throughput", []):
        lines += [
            f"## Throughput: {t['title']}, {t['lines']} lines",
            "",
            "The lines/s above include each process's start-up (see below) in a "
            "few hundred lines' wall time. Here the same way of running both systems reads "
            f"{t['lines']} other held-out lines (seed {SEED + 1}); each system runs "
            f"{len(next(iter(t['systems'].values()))['walls_s'])} times, interleaved; "
            "lines/s from the median wall time.",
            "",
            "| system | wall times | lines/s | vs Tesseract |",
            "|---|---|---:|---:|",
        ]
        theirs = [v for k, v in t["systems"].items() if k.startswith("tesseract")]
        base = theirs[0]["lines_per_s"] if theirs else float("nan")
        for name, row in t["systems"].items():
            walls = ", ".join(f"{w:.2f} s" for w in row["walls_s"])
            lines.append(
                f"| {name} | {walls} | {row['lines_per_s']:.0f} "
                f"| {row['lines_per_s'] / base:.2f}x |"
            )
        lines.append("")
    lines += [
        "## By held-out font family",
        "",
        "Exact match (CER) per family of the held-out split: where the errors are.",
        "",
        "| task | family | lines | lineocr | tesseract |",
        "|---|---|---:|---:|---:|",
    ]
    for r in report["results"]:
        for f in r.get("families", []):
            ours, theirs = f["lineocr"], f["tesseract"]
            lines.append(
                f"| {r['task']} | {f['family']} | {f['lines']} "
                f"| {pct(ours['exact_match'])} ({pct(ours['cer'])}) "
                f"| {pct(theirs['exact_match'])} ({pct(theirs['cer'])}) |"
            )
    lines += ["", "## `lineocr read` start-up to first result (one image)", ""]
    lines += ["| model | best | median | peak memory |", "|---|---:|---:|---:|"]
    for name, s in report["startup"].items():
        lines.append(
            f"| {name} | {s['best_s']:.2f} s | {s['median_s']:.2f} s | {s['peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "## int8 vs fp32, in-process",
        "",
        "A bundled file shipped as int8 against fp32 exported from its shipped weights; an fp32 "
        "file against its dynamic int8 quantisation.",
        "",
    ]
    lines += [
        "| model | task | fp32 CER | int8 CER | fp32 lines/s | int8 lines/s "
        "| fp32 size | int8 size |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["quantization"]:
        f, q = r["fp32"], r["int8"]
        lines.append(
            f"| {r['model']} | {r['task']} | {pct(f['cer'])} | {pct(q['cer'])} "
            f"| {f['lines_per_s']:.1f} | {q['lines_per_s']:.1f} "
            f"| {f['size_mb']:.1f} MB | {q['size_mb']:.1f} MB |"
        )
    lines += [
        "",
        "The rule: int8 only where it is faster and loses no more than 0.3 CER points "
        "(the bundled printed, printed-fast, arabic-digits and captcha files are int8 by it).",
        "",
    ]
    # Only this benchmark's part of the file: the independent evaluation's stays.
    splice(md_path, "\n".join(lines), GENERATOR_START, GENERATOR_END)


# -- main ----------------------------------------------------------------------------------


@dataclass
class Options:
    quick: bool
    lines: int
    cores: int
    out: Path
    tasks: list[str]
    models: dict[str, str] = field(default_factory=dict)
    model_for_all: str | None = None
    tesseract: str = "tesseract"
    startup_repeats: int = 5
    speed_lines: int = 2000
    speed_repeats: int = 3


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="few lines per task; report to benchmarks/out/"
    )
    p.add_argument("--lines", type=int, help="lines per task (default 500; 16 with --quick)")
    p.add_argument("--cores", type=int, default=2, help="CPUs both systems are pinned to")
    p.add_argument("--out", type=Path, help="Markdown report path (a PNG is written beside it)")
    p.add_argument("--task", action="append", choices=[t.key for t in TASKS], help="repeatable")
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="use PATH for bundled model NAME (repeatable)",
    )
    p.add_argument("--model-for-all", metavar="PATH", help="one model for every task (smoke tests)")
    p.add_argument("--tesseract", default="tesseract", help="the tesseract executable")
    p.add_argument(
        "--speed-lines", type=int, help="lines for the throughput runs (default 2000; 48 quick)"
    )
    args = p.parse_args(argv)  # fmt: skip
    models = {}
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep:
            p.error(f"--model {item!r}: expected NAME=PATH")
        models[name] = path
    out = args.out or (
        ROOT / "benchmarks" / "out" / "benchmarks.md"
        if args.quick
        else ROOT / "docs" / "benchmarks.md"
    )
    return Options(
        quick=args.quick,
        lines=args.lines or (16 if args.quick else 500),
        cores=args.cores,
        out=out,
        tasks=args.task or [t.key for t in TASKS],
        models=models,
        model_for_all=args.model_for_all,
        tesseract=args.tesseract,
        startup_repeats=2 if args.quick else 5,
        speed_lines=args.speed_lines or (48 if args.quick else 2000),
        speed_repeats=1 if args.quick else 3,
    )


def find_tesseract(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    script = ROOT / "scripts" / "install-system-deps.sh"
    print("tesseract not found; installing Debian's packages with", script, file=sys.stderr)
    subprocess.run(["bash", str(script)], check=True)
    found = shutil.which(name)
    if not found:
        raise SystemExit("tesseract is still not on PATH")
    return found


def resolve_model(name: str, opts: Options, *, required: bool = True) -> Path | None:
    """The file for a bundled model name (``--model NAME=PATH`` overrides); ``None`` when
    it is not built and not ``required``."""
    from lineocr import zoo

    if opts.model_for_all:
        return Path(opts.model_for_all)
    if name in opts.models:
        return Path(opts.models[name])
    if not required and not (zoo.is_bundled(name) and zoo.bundled_file(name).is_file()):
        return None
    return zoo.model_path(name)


def bench_throughput(task: Task, model_file: Path, opts: Options, setup: Setup) -> dict[str, Any]:
    """Lines/s on ``opts.speed_lines`` fresh lines, where start-up (about 0.3 s for lineocr)
    is a small part of the wall time, unlike on a few hundred lines."""
    n = opts.speed_lines
    print(f"[{task.key}] throughput: {n} lines", file=sys.stderr, flush=True)
    samples = generate_lines(task, n, seed=SEED + 1)
    paths = write_pngs(samples, setup.workdir / f"{task.key}-speed")
    # the scores are not reported here: no normalisation
    lines = Lines(paths, [text for _, text in samples], str)
    models = {task.model: model_file}
    for name in task.alternatives:
        alt = resolve_model(name, opts, required=False)
        if alt is not None and not opts.model_for_all:
            models[name] = alt
    systems: dict[str, Callable[[], float]] = {
        f"lineocr ({name})": (
            lambda path=path: bench_lineocr(str(path), lines, setup.cpus)[0].wall_s
        )
        for name, path in models.items()
    }
    systems[f"tesseract ({task.tesseract_lang})"] = lambda: (
        bench_tesseract(setup, task.tesseract_lang, lines)[0].wall_s
    )
    measured = throughput(systems, opts.speed_repeats)
    for row in measured.values():
        row["lines_per_s"] = n / row["median_s"]
    return {"task": task.key, "title": task.title, "lines": n, "systems": measured}


def bench_task(
    task: Task, opts: Options, setup: Setup, report: dict[str, Any], quantized: set[str]
) -> None:
    """One task: lineocr (and the task's alternative models) against Tesseract on the same
    lines, its throughput, start-up and int8 rows added to ``report`` (``quantized``: the
    files and tasks whose int8 row is there already)."""
    from lineocr.runtime import Recognizer

    cpus = setup.cpus
    model_file = resolve_model(task.model, opts)
    assert model_file is not None
    rec = Recognizer.load(model_file, threads=len(cpus))
    normalize = normalizer(rec.charset, task)
    print(f"[{task.key}] generating {opts.lines} lines", file=sys.stderr, flush=True)
    infos = generate_samples(task, opts.lines)
    samples = [(info.image, info.text) for info in infos]
    paths = write_pngs(samples, setup.workdir / task.key)
    refs = [text for _, text in samples]
    lines = Lines(paths, refs, normalize)
    print(f"[{task.key}] lineocr ({model_file.name})", file=sys.stderr, flush=True)
    ours, our_hyps = bench_lineocr(str(model_file), lines, cpus)
    print(f"[{task.key}] tesseract -l {task.tesseract_lang}", file=sys.stderr, flush=True)
    theirs, their_hyps = bench_tesseract(setup, task.tesseract_lang, lines)
    alternatives = []
    measured_files = [(task.model, model_file)]  # for int8 against fp32, below
    for name in task.alternatives:
        alt_file = resolve_model(name, opts, required=False)
        if alt_file is None or opts.model_for_all:
            continue
        print(f"[{task.key}] lineocr ({alt_file.name})", file=sys.stderr, flush=True)
        alt, _ = bench_lineocr(str(alt_file), lines, cpus)
        alternatives.append({"model": name, **asdict(alt)})
        measured_files.append((name, alt_file))
    families = by_family(
        [info.font for info in infos],
        refs,
        {"lineocr": our_hyps, "tesseract": their_hyps},
        normalize,
    )
    report["results"].append(
        {
            "task": task.key,
            "title": task.title,
            "model": task.model,
            "lang": task.tesseract_lang,
            "targets": task.targets,
            "lineocr": asdict(ours),
            "tesseract": asdict(theirs),
            "alternatives": alternatives,
            "families": families,
        }
    )
    if task.speed:
        report["throughput"].append(bench_throughput(task, model_file, opts, setup))
    if task.model not in report["startup"]:
        report["startup"][task.model] = startup(
            str(model_file), paths[0], cpus, opts.startup_repeats
        )
    for name, file in measured_files:
        if str(file) + task.key not in quantized:
            quantized.add(str(file) + task.key)
            q = int8_vs_fp32(name, file, samples, task, setup)
            report["quantization"].append({"model": name, "task": task.key, **q})
    print(
        f"[{task.key}] CER lineocr {pct(ours.cer)} vs tesseract {pct(theirs.cer)}; "
        f"lines/s {ours.lines_per_s:.1f} vs {theirs.lines_per_s:.1f}",
        file=sys.stderr,
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    available = sorted(os.sched_getaffinity(0))
    cpus = set(available[: opts.cores])
    os.sched_setaffinity(0, cpus)  # inherited by every process the benchmark starts
    tesseract = find_tesseract(opts.tesseract)
    report: dict[str, Any] = {
        "quick": opts.quick,
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(),
        "cores": len(cpus),
        "tesseract_version": tesseract_version(tesseract),
        "lines_per_task": opts.lines,
        "results": [],
        "startup": {},
        "quantization": [],
        "throughput": [],
    }
    quantized: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="lineocr-bench-") as tmp:
        setup = Setup(tesseract, cpus, Path(tmp))
        for task in (t for t in TASKS if t.key in opts.tasks):
            bench_task(task, opts, setup, report, quantized)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    png = opts.out.with_suffix(".png")
    plot(report["results"], png)
    write_report(report, opts.out, png.name)
    opts.out.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"wrote {opts.out}, {png.name} and {opts.out.with_suffix('.json').name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
