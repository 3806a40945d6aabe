"""`lineocr batch` (Ray Data) against `lineocr read` on this machine, a two-node cluster on
loopback, and a job killed half way then restarted (docs/scale.md).

Each figure is a command's own wall time, start-up included, as a user runs it:

1. lines: N synthetic line images (`lineocr synth`, scan style), `lineocr read --format
   jsonl DIR` against `lineocr batch DIR OUT`; rows compared (texts equal, confidences to
   1e-5);
2. pages: pages composed of synthetic lines (two columns of 14-18 lines, 1,700 px wide),
   read as pages by both;
3. two nodes: `ray start --head` and a second `ray start --address` (its own raylet and
   object store, 1 CPU each), `lineocr batch --address`, rows equal to the one-node run;
4. kill and restart: `lineocr batch` killed (SIGKILL) once half its shards are done, run
   again with the same DST: finished shards untouched, every input once.

    python benchmarks/bench_batch.py                       # 5,000 lines, 24 pages
    python benchmarks/bench_batch.py --lines 1000 --pages 8 --only lines,pages
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LINEOCR = [sys.executable, "-m", "lineocr"]
PORT = 6391


def stop_ours() -> int:
    """End the Ray processes of this benchmark's cluster (those naming its port: `ray stop`
    would end every Ray process on the machine), by their ids; how many."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"/ray/" in cmd and (f":{PORT}".encode() in cmd or f"port={PORT}".encode() in cmd):
            pids.append(int(proc.name))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        time.sleep(3)
    return len(pids)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + e.get("PYTHONPATH", "")
    # Ray 2.60's token authentication, on for every process of the cluster: `ray start`
    # and the driver then share ~/.ray/auth_token (left unset, a second `ray start` is
    # refused by the head: "Authentication token is missing or incorrect").
    e.setdefault("RAY_AUTH_MODE", "token")
    return e


def run(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    done = subprocess.run(cmd, check=False, env=env(), capture_output=True, text=True, **kw)
    return time.monotonic() - start, done


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def make_lines(folder: Path, n: int) -> None:
    if folder.exists():
        return
    _, done = run([*LINEOCR, "synth", "--out", str(folder), "--n", str(n), "--style", "scan"])
    assert done.returncode == 0, done.stderr
    for p in folder.glob("*.gt.txt"):
        p.unlink()
    (folder / "synth.json").unlink()


def make_pages(folder: Path, n: int) -> None:
    """Pages of two columns of synthetic lines on white paper."""
    from lineocr.data.synth import LineSynthesizer, SynthConfig

    if folder.exists():
        return
    folder.mkdir(parents=True)
    synth = LineSynthesizer(SynthConfig(lang="latin", style="clean"), seed=35)
    rng = np.random.default_rng(35)
    k = 0
    for page_no in range(n):
        page = np.full((2200, 1700), 255, np.uint8)
        for column in range(2):
            y = 120
            for _ in range(int(rng.integers(14, 19))):
                line, _ = synth.sample(k)
                k += 1
                h, w = line.shape
                scale = 40 / h
                small = np.asarray(
                    Image.fromarray(line).resize((max(1, int(w * scale)), 40), Image.LANCZOS)
                )[:, :700]
                x = 100 + column * 800
                page[y : y + 40, x : x + small.shape[1]] = np.minimum(
                    page[y : y + 40, x : x + small.shape[1]], small
                )
                y += 110
        Image.fromarray(page).save(folder / f"page{page_no:03d}.png")


def records_of_read(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def records_of_batch(out: Path) -> list[dict]:
    return [
        json.loads(line)
        for shard in sorted(out.glob("part-*.jsonl"))
        for line in shard.read_text(encoding="utf-8").splitlines()
    ]


def same(a: list[dict], b: list[dict]) -> str:
    if [r["path"] for r in a] != [r["path"] for r in b]:
        return "DIFFERENT inputs"
    texts = sum(x.get("text") != y.get("text") for x, y in zip(a, b, strict=True))
    gap = max(
        abs(x.get("confidence", 0) - y.get("confidence", 0)) for x, y in zip(a, b, strict=True)
    )
    return f"{texts} texts differ, max confidence difference {gap:.1e}"


def compare(name: str, src: Path, work: Path, unit: str) -> None:
    t_read, done = run([*LINEOCR, "read", "--format", "jsonl", str(src)])
    want = records_of_read(done.stdout)
    out = work / f"out-{name}"
    shutil.rmtree(out, ignore_errors=True)
    t_batch, done = run([*LINEOCR, "batch", str(src), str(out), "--no-progress"])
    got = records_of_batch(out)
    n = len(want)
    print(f"{name}: {n} {unit}, load average {load_avg()}")
    print(f"  lineocr read : {t_read:7.1f} s  {n / t_read:7.1f} {unit}/s")
    print(
        f"  lineocr batch: {t_batch:7.1f} s  {n / t_batch:7.1f} {unit}/s "
        f"({100 * t_read / t_batch:.0f} % of read)   {done.stderr.strip().splitlines()[-1]}"
    )
    print(f"  rows: {same(got, want)}")


def two_nodes(src: Path, work: Path) -> None:
    ray = str(Path(sys.executable).parent / "ray")
    one = work / "out-one-node"
    two = work / "out-two-nodes"
    for out in (one, two):
        shutil.rmtree(out, ignore_errors=True)
    t_one, done = run(
        [*LINEOCR, "batch", str(src), str(one), "--no-progress", "--shard-size", "100"]
    )
    head = [
        ray,
        "start",
        "--head",
        f"--port={PORT}",
        "--num-cpus=1",
        "--include-dashboard=false",
        "--node-ip-address=127.0.0.1",
    ]
    worker = [
        ray,
        "start",
        f"--address=127.0.0.1:{PORT}",
        "--num-cpus=1",
        "--node-ip-address=127.0.0.1",
    ]
    try:
        for cmd in (head, worker):
            _, started = run(cmd)
            assert started.returncode == 0, started.stdout + started.stderr
        t_two, done = run(
            [
                *LINEOCR,
                "batch",
                str(src),
                str(two),
                "--no-progress",
                "--shard-size",
                "100",
                "--address",
                f"127.0.0.1:{PORT}",
            ]
        )
        print(f"two nodes: load average {load_avg()}")
        print(f"  one node (local, 2 CPUs): {t_one:6.1f} s")
        print(
            f"  two nodes (1 CPU each)  : {t_two:6.1f} s   {done.stderr.strip().splitlines()[-1]}"
        )
        print(f"  rows: {same(records_of_batch(two), records_of_batch(one))}")
    finally:
        stop_ours()


def kill_and_restart(src: Path, work: Path) -> None:
    out = work / "out-killed"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*LINEOCR, "batch", str(src), str(out), "--no-progress", "--shard-size", "50"]
    total = -(-len(list(src.glob("*.png"))) // 50)
    proc = subprocess.Popen(cmd, env=env(), stderr=subprocess.DEVNULL, start_new_session=True)
    start = time.monotonic()
    while len(list((out / "_done").glob("part-*.json"))) < total // 2:
        time.sleep(0.2)
        assert proc.poll() is None, "finished before half way"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    proc.wait()
    time.sleep(10)  # the Ray processes a driver starts end with it (Ray's fate sharing)
    left = (
        subprocess.run(
            ["ps", "-o", "pid=,cmd=", "-g", str(proc.pid)],
            check=False,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()
    )
    print(f"  after kill -9 of the process group: {len(left)} processes left")
    for line in left:  # ended by their ids
        os.kill(int(line.split()[0]), signal.SIGKILL)
    killed_at = time.monotonic() - start
    kept = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.jsonl")}
    t_again, done = run(cmd)
    rows = records_of_batch(out)
    paths = [r["path"] for r in rows]
    untouched = sum(out.joinpath(n).stat().st_mtime_ns == t for n, t in kept.items())
    print(f"kill and restart: {total} shards of 50, load average {load_avg()}")
    print(f"  killed after {killed_at:.1f} s with {len(kept)} shards written")
    print(f"  restart: {t_again:.1f} s, {done.stderr.strip().splitlines()[-1]}")
    print(
        f"  {untouched} of {len(kept)} finished shards untouched; {len(paths)} rows, "
        f"{len(set(paths))} distinct, {len(list(src.glob('*.png')))} inputs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--subset", type=int, default=1000, help="lines of parts 3 and 4")
    parser.add_argument("--only", default="lines,pages,nodes,kill")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench-batch")
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    lines = work / f"lines-{args.lines}"
    make_lines(lines, args.lines)
    subset = work / f"lines-{args.subset}"
    if not subset.exists():
        subset.mkdir()
        for p in sorted(lines.glob("*.png"))[: args.subset]:
            shutil.copy(p, subset / p.name)
    print(f"{os.cpu_count()} CPUs; load average {load_avg()} at the start")
    for part in args.only.split(","):  # in the order given
        if part == "lines":
            compare("lines", lines, work, "lines")
        elif part == "pages":
            pages = work / f"pages-{args.pages}"
            make_pages(pages, args.pages)
            compare("pages", pages, work, "pages")
        elif part == "nodes":
            two_nodes(subset, work)
        elif part == "kill":
            kill_and_restart(subset, work)


if __name__ == "__main__":
    main()
