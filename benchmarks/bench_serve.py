"""Load test of `lineocr serve` on loopback: N single-line requests from C concurrent clients,
with micro-batching on and then off. Reports errors, p50/p99 latency and requests/s.

    python benchmarks/bench_serve.py                      # 2,000 requests, 32 clients
    python benchmarks/bench_serve.py --model printed --requests 500 --max-seconds 60
    python benchmarks/bench_serve.py --model printed --pool 300   # one answer per image?

``--pool N``: requests of 1-3 lines drawn from N distinct line images (other texts, widths
and sizes) instead of one image over and over; the server's batches then mix lines of
every width, and each line's text is compared with the model reading that image alone:
``lines_differing`` counts the lines whose text differs, ``images_with_several_texts`` the
images that got more than one text in the run.

Bounded: each run stops after --requests requests or --max-seconds, whichever comes first,
and the server it started is always stopped. Binds 127.0.0.1 only. Without --model it uses
the bundled "printed" model, or exports an untrained tiny model (needs PyTorch) — the
throughput of a tiny model says nothing about accuracy, only about the serving machinery.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HOST = "127.0.0.1"


def line_png(text: str = "lineocr serves 2024", height: int = 32) -> bytes:
    """A printed text line as PNG bytes (Pillow's default font; no font files needed)."""
    font = ImageFont.load_default(size=height * 0.7)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 16, height), 255)
    ImageDraw.Draw(img).text(
        (8 - left, (height - (bottom - top)) // 2 - top), text, fill=0, font=font
    )
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def tiny_model(directory: Path) -> Path:
    """Export an untrained tiny CRNN (for measuring the server, not the model)."""
    import torch

    from lineocr.charset import Charset
    from lineocr.config import Config, ModelConfig
    from lineocr.export import export_onnx
    from lineocr.models.crnn import CRNN
    from lineocr.preprocess import PreprocessSpec
    from lineocr.train.checkpoint import ModelMeta

    torch.manual_seed(0)
    charset = Charset.from_string("0123456789abcdefghijklmnopqrstuvwxyz -")
    config = Config(model=ModelConfig(preset="tiny"), preprocess=PreprocessSpec(height=32))
    model = CRNN(num_classes=charset.num_classes, height=32, preset="tiny").eval()
    meta = ModelMeta(charset=charset, config=config, name="tiny-bench")
    return Path(export_onnx((model, meta), directory / "tiny-bench.onnx"))


def resolve_model(model: str | None, workdir: Path) -> str:
    if model:
        return model
    from lineocr import zoo

    if zoo.is_bundled("printed") and zoo.bundled_file("printed").is_file():
        return "printed"
    print(
        "no --model and no bundled 'printed' model: exporting an untrained tiny model",
        file=sys.stderr,
    )
    return str(tiny_model(workdir))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`lineocr serve` in a child process on 127.0.0.1; always stopped on exit."""

    def __init__(
        self, model: str, *extra: str, threads: int | None = None, nofile: int | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.cmd = [
            sys.executable,
            "-m",
            "lineocr",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--models",
            model,
            "--log-level",
            "warning",
            *extra,
        ]
        if threads:
            self.cmd += ["--threads", str(threads)]
        self.nofile = nofile  # the server's open-files limit (soft and hard), when given
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__

    def __enter__(self) -> ServerProcess:
        cmd = self.cmd
        if self.nofile is not None:  # util-linux: the server's own limit, from its start
            cmd = ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()[-4000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(self.url + "/readyz", timeout=2) as r,
            ):
                if r.status == 200:
                    return self
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("server not ready after 120 s")
            time.sleep(0.2)

    def open_files(self) -> int:
        """The server's open file descriptors (sockets included), from /proc."""
        assert self.proc is not None
        try:
            return sum(1 for _ in Path(f"/proc/{self.proc.pid}/fd").iterdir())
        except OSError:
            return -1

    def rss_mb(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        return float("nan")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


_SAMPLE = (
    "the quick brown fox jumps over a lazy dog while 42 readers count 7,300 pages of old "
    "letters, invoices and notes; some say: it's 9:15 on 12/03/2024 -- others disagree!"
)
WORDS = _SAMPLE.split()


def line_pool(n: int, seed: int = 0) -> list[bytes]:
    """``n`` distinct printed lines as PNG bytes: 1-12 words, 24-44 pixels high."""
    rng = np.random.default_rng(seed)
    return [
        line_png(" ".join(rng.choice(WORDS, int(rng.integers(1, 13)))), int(rng.integers(24, 45)))
        for _ in range(n)
    ]


def multipart_request(host: str, port: int, image: bytes | list[bytes]) -> bytes:
    """One complete HTTP/1.1 keep-alive request for ``POST /v1/ocr`` with one file or more."""
    boundary = "benchboundary7MA4YWxkTrZu0gW"
    parts = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="line.png"\r\n'
        f"Content-Type: image/png\r\n\r\n".encode()
        + one
        + b"\r\n"
        for one in ([image] if isinstance(image, bytes) else image)
    )
    body = parts + f"--{boundary}--\r\n".encode()
    head = (
        f"POST /v1/ocr HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(v)
        for k, _, v in (ln.partition(":") for ln in lines[1:])
        if k.lower() == "content-length"
    )
    return status, await reader.readexactly(length)


@dataclass(frozen=True)
class Load:
    """How hard the server is pushed: ``requests`` in all, over ``concurrency`` connections,
    for ``max_seconds`` at most."""

    requests: int
    concurrency: int
    max_seconds: float


async def load(
    url: str, image: bytes, plan: Load, pool: list[bytes] | None = None
) -> dict[str, Any]:
    """``concurrency`` keep-alive connections, each sending requests back to back. A minimal
    HTTP/1.1 client on asyncio streams: the load generator shares the machine's cores with
    the server, so it must cost far less per request than the server does. With ``pool``,
    each request carries 1-3 of its images and the texts read are kept per image
    (``texts``: image index -> texts)."""
    requests, concurrency = plan.requests, plan.concurrency
    host, port = url.removeprefix("http://").split(":")
    request = multipart_request(host, int(port), image)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    batch_sizes: list[int] = []
    texts: dict[int, list[str]] = {}
    issued = 0
    deadline = time.perf_counter() + plan.max_seconds
    rng = np.random.default_rng(1)

    async def client() -> None:
        nonlocal issued
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while issued < requests and time.perf_counter() < deadline:
                issued += 1
                chosen: list[int] = []
                payload = request
                if pool:
                    chosen = [int(i) for i in rng.integers(0, len(pool), int(rng.integers(1, 4)))]
                    payload = multipart_request(host, int(port), [pool[i] for i in chosen])
                t0 = time.perf_counter()
                try:
                    writer.write(payload)
                    status, body = await read_response(reader)
                    key = str(status)
                    if status == 200:
                        results = json.loads(body)["results"]
                        batch_sizes.append(results[0]["timings"]["batch_size"])
                        for i, result in zip(chosen, results if pool else [], strict=True):
                            texts.setdefault(i, []).append(result["text"])
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    key = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                latencies.append(time.perf_counter() - t0)
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            writer.close()

    reader, writer = await asyncio.open_connection(host, int(port))  # warm-up request
    writer.write(request)
    await read_response(reader)
    writer.close()
    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    lat = np.array(latencies) * 1000.0
    ok = statuses.get("200", 0)
    return {
        "requests": len(latencies),
        "ok": ok,
        "errors": len(latencies) - ok,
        "statuses": statuses,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 1),
        "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "mean_batch": round(float(np.mean(batch_sizes)), 1) if batch_sizes else None,
        "max_batch": max(batch_sizes) if batch_sizes else None,
        "texts": texts,
    }


def one_answer_per_image(model: str, pool: list[bytes], texts: dict[int, list[str]]) -> dict:
    """How many of the lines read under load differ from the model reading each image
    alone (in this process: the same runtime and options as a single-image request)."""
    from lineocr.runtime import Recognizer

    rec = Recognizer.load(model)
    alone = {i: rec.read(pool[i]).text for i in texts}
    return {
        "lines": sum(len(t) for t in texts.values()),
        "distinct_images": len(texts),
        "lines_differing": sum(t != alone[i] for i, ts in texts.items() for t in ts),
        "images_with_several_texts": sum(len(set(ts)) > 1 for ts in texts.values()),
    }


def runtime_ceiling(
    model: str, image: bytes, threads: int | None, max_batch: int, seconds: float = 3.0
) -> dict[str, float]:
    """Images/s of the runtime itself, in-process, at batch 1 and at ``max_batch``: the
    most micro-batching can gain is their ratio."""
    from lineocr.images import load_image
    from lineocr.runtime import Recognizer

    rec = Recognizer.load(model, threads=threads)
    img = load_image(image)
    out = {}
    for n in (1, max_batch):
        rec.read_batch([img] * n, batch_size=n)
        t0, done = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            rec.read_batch([img] * n, batch_size=n)
            done += n
        out[f"batch_{n}_images_per_s"] = round(done / (time.perf_counter() - t0), 1)
    return out


def run_mode(
    model: str, batching: bool, args: argparse.Namespace, image: bytes, pool: list[bytes] | None
) -> dict[str, Any]:
    extra = [] if batching else ["--no-batching"]
    extra += ["--max-batch", str(args.max_batch), "--batch-timeout-ms", str(args.batch_timeout_ms)]
    with ServerProcess(model, *extra, threads=args.threads) as server:
        plan = Load(args.requests, args.concurrency, args.max_seconds)
        result = asyncio.run(load(server.url, image, plan, pool))
        result["server_rss_mb"] = round(server.rss_mb(), 1)
    texts = result.pop("texts")
    if pool:
        result["one_answer_per_image"] = one_answer_per_image(model, pool, texts)
    result["batching"] = batching
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled name or .onnx path (default: see above)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per mode")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--batch-timeout-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads")
    parser.add_argument("--modes", default="on,off", help="on, off or on,off")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--pool", type=int, default=0, help="distinct images (see above)")
    args = parser.parse_args(argv)
    image = line_png()
    pool = line_pool(args.pool) if args.pool else None
    with tempfile.TemporaryDirectory() as tmp:
        model = resolve_model(args.model, Path(tmp))
        results: dict[str, Any] = {}
        ceiling = runtime_ceiling(model, image, args.threads, args.max_batch)
        print(f"runtime alone: {json.dumps(ceiling)}", flush=True)
        for mode in args.modes.split(","):
            results[mode] = run_mode(model, mode == "on", args, image, pool)
            print(f"batching {mode}: {json.dumps(results[mode])}", flush=True)
    summary: dict[str, Any] = {
        "model": Path(model).name,
        "cpus": os.cpu_count(),
        "image": f"{Image.open(io.BytesIO(image)).size}",
        "runtime": ceiling,
        **results,
    }
    if "on" in results and "off" in results:
        summary["speedup"] = round(
            results["on"]["requests_per_s"] / results["off"]["requests_per_s"], 2
        )
        print(f"speed-up with micro-batching: {summary['speedup']}x")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    errors = sum(r["errors"] for r in results.values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
