"""``lineocr synth`` as a user runs it: wall time and the CPU time of all its processes.

Runs ``lineocr synth --out TMP --n 3000 --lang latin --style scan`` (its defaults: sidecar
PNGs and labels, one worker per CPU) in a new session and adds up the CPU time (user +
system, from ``/proc``, polled every 20 ms) of every process in that session: the command,
its fork server and the workers, which ``time`` does not see (they are not its children).
On a machine other jobs keep busy the wall time says little, so it also gives the rate the
CPU time allows on the cores the command uses (``--cores``, default 2), ignoring the part
of start-up that cannot overlap (an estimate, not a measurement). ``--src DIR`` runs another
checkout's ``src`` (to compare before and after in the same minutes); Linux only (``/proc``).

    python benchmarks/synth_command.py [--n 3000] [--repeat 2] [--src OTHER/src ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _session_cpu(sid: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of every process in session ``sid``."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
            seen[int(entry.name)] = max(seen.get(int(entry.name), 0.0), cpu)


def run_once(src: str, n: int, extra: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of all processes, processes seen) of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cmd = [sys.executable, "-c", "from lineocr.cli import main; main()", "synth"]
        cmd += ["--out", str(out), "--n", str(n), "--lang", "latin", "--style", "scan", *extra]
        env = {**os.environ, "PYTHONPATH": src}
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
        seen: dict[int, float] = {}
        while proc.poll() is None:
            _session_cpu(proc.pid, seen)
            time.sleep(0.02)
        wall = time.perf_counter() - began
        if proc.returncode != 0:
            raise SystemExit(f"{src}: lineocr synth exited with {proc.returncode}")
        written = len(list(out.glob("*.png")))
        if written != n:
            raise SystemExit(f"{src}: wrote {written} PNGs, not {n}")
        return wall, sum(seen.values()), len(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--src", action="append", default=None, help="src folders to compare")
    parser.add_argument("extra", nargs="*", help="more lineocr synth options (after --)")
    args = parser.parse_args()
    sources = args.src or [str(Path(__file__).resolve().parents[1] / "src")]
    print(
        f"# lineocr synth --n {args.n} --lang latin --style scan {' '.join(args.extra)}; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at start"
    )
    print(f"{'src':<40} {'wall s':>7} {'lines/s':>8} {'CPU s':>6} {'CPU ms/line':>11} {'procs':>5}")
    for _ in range(args.repeat):
        for src in sources:
            wall, cpu, procs = run_once(src, args.n, args.extra)
            print(
                f"{src[-40:]:<40} {wall:7.2f} {args.n / wall:8.0f} {cpu:6.2f} "
                f"{1000 * cpu / args.n:11.2f} {procs:5d}",
                flush=True,
            )
    print(f"# load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
