"""`lineocr batch` on a local Ray cluster (tests/test_batch.py is the only module that starts
Ray: one cluster of 2 CPUs for all its tests, started once).

Checked row by row against `lineocr read --format jsonl` on the same images (lines, a page,
a corrupt file), from a folder and from a Parquet file of image bytes; and resuming: a job
stopped after its first shard, started again, writes only the shards it lacks.
Skipped, saying why, only where Ray cannot start (not installed, or no cluster can run).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr.cli import app
from tests.pages_helpers import LATIN, compose
from tests.render import render

runner = CliRunner()
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "0123", "4567", "89")
LINES = 30  # line images, plus one page and one corrupt file
SHARD = 8


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray cluster with 2 CPUs for the whole module, or the module skipped with
    the reason Ray cannot start."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        pytest.skip(f"Ray Data is not installed (pip install 'lineocr[scale]'): {exc}")
    from lineocr.scale.engine import _quiet_ray

    _quiet_ray()
    try:
        # address="local": a new cluster of its own, never one already running here
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR")
    except Exception as exc:  # no shared memory, ports refused, ...: Ray cannot run here
        pytest.skip(f"Ray cannot start a local cluster here: {type(exc).__name__}: {exc}")
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of line images (in sub-folders), one page of two columns, one corrupt file."""
    folder = tmp_path_factory.mktemp("batch-src")
    rng = np.random.default_rng(35)
    for i in range(LINES):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 6))))
        sub = folder / f"box{i % 3}"
        sub.mkdir(exist_ok=True)
        Image.fromarray(render(text, size=int(rng.integers(20, 32)))).save(sub / f"{i:03d}.png")
    page = compose([LATIN[:5], LATIN[5:]], heading="Notes")
    Image.fromarray(page.image).save(folder / "page.png")
    (folder / "box1" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return folder


@pytest.fixture(scope="module")
def read_jsonl(images: Path) -> list[dict[str, Any]]:
    """`lineocr read --format jsonl` over the images: one record per input (exit 1: the
    corrupt file)."""
    result = runner.invoke(app, ["read", "-m", "printed", "--format", "jsonl", str(images)])
    assert result.exit_code == 1, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def batch(*args: Any) -> Any:
    return runner.invoke(app, ["batch", "-m", "printed", "--no-progress", *map(str, args)])


def assert_same_records(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """The same inputs in the same order with the same texts, errors and boxes;
    confidences equal to float noise (a line reads the same in any batch: docs/runtime.md,
    "One answer per image")."""
    assert [r["path"] for r in got] == [r["path"] for r in want]
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys(), g["path"]
        assert g.get("text") == w.get("text"), g["path"]
        assert g.get("error") == w.get("error"), g["path"]
        assert [ln["box"] for ln in g.get("lines", [])] == [ln["box"] for ln in w.get("lines", [])]
        assert g.get("confidence", 0) == pytest.approx(w.get("confidence", 0), abs=1e-5)
        assert [c["char"] for c in g.get("chars", [])] == [c["char"] for c in w.get("chars", [])]


def shard_records(dst: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for shard in sorted(dst.glob("part-*.jsonl"))
        for line in shard.read_text(encoding="utf-8").splitlines()
    ]


def test_batch_gives_the_rows_of_read(
    ray_cluster: None, images: Path, read_jsonl: list[dict[str, Any]], tmp_path: Path
) -> None:
    want = read_jsonl
    assert sum("error" in r for r in want) == 1
    assert sum("lines" in r for r in want) == 1  # the page, read as a page

    result = batch(images, tmp_path / "out", "--shard-size", SHARD)

    assert result.exit_code == 1, result.output  # as read: an input could not be read
    assert "could not be read" in result.output
    shards = sorted(p.name for p in (tmp_path / "out").glob("part-*.jsonl"))
    assert shards == [f"part-{k:05d}.jsonl" for k in range(-(-(LINES + 2) // SHARD))]
    assert len(list((tmp_path / "out" / "_done").glob("part-*.json"))) == len(shards)
    assert_same_records(shard_records(tmp_path / "out"), want)


def test_batch_reads_parquet_bytes_into_parquet(
    ray_cluster: None, read_jsonl: list[dict[str, Any]], tmp_path: Path
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    want = read_jsonl
    paths = [r["path"] for r in want]
    table = pa.table(
        {"path": pa.array(paths), "image": pa.array([Path(p).read_bytes() for p in paths])}
    )
    pq.write_table(table, tmp_path / "images.parquet", row_group_size=10)

    result = batch(tmp_path / "images.parquet", tmp_path / "out", "--format", "parquet")

    assert result.exit_code == 1, result.output
    out = pq.read_table(tmp_path / "out" / "part-00000.parquet")
    assert out.column_names == ["path", "text", "confidence", "error", "record"]
    assert_same_records([json.loads(r) for r in out.column("record").to_pylist()], want)
    assert out.column("text").to_pylist() == [r.get("text") for r in want]
    assert out.column("error").to_pylist() == [r.get("error") for r in want]


def test_a_stopped_job_resumes_without_redoing_finished_shards(
    ray_cluster: None, images: Path, read_jsonl: list[dict[str, Any]], tmp_path: Path
) -> None:
    from lineocr.commands.read import DecoderName, decode_options
    from lineocr.reading import LayoutMode, OutputFormat, ReadSettings
    from lineocr.runtime import Recognizer
    from lineocr.scale import engine
    from lineocr.scale.inputs import list_inputs
    from lineocr.scale.shards import ShardStore

    dst = tmp_path / "out"
    options = decode_options(DecoderName.greedy, None, None, None, {})
    how = ReadSettings(OutputFormat.jsonl, 16, options, LayoutMode.auto)
    recognizer = Recognizer.load("printed", threads=1)
    model = (recognizer.model_bytes, recognizer.name, recognizer.source)

    # Run 1, through the command (so DST records the job as the command does), stopped
    # as soon as its first shard is written: as if killed there.
    class StopError(Exception):
        pass

    def stop(shard: int, mark: dict[str, Any]) -> None:
        raise StopError

    real_run = engine.run
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "run", lambda job, **kw: real_run(job, **kw, on_shard=stop))
        stopped = batch(images, dst, "--shard-size", SHARD)
    assert stopped.exit_code == 2, stopped.output  # "the batch job failed: ..."
    first = sorted(dst.glob("part-*.jsonl"))
    assert len(first) == 1
    kept = first[0]
    kept_stat = kept.stat()

    # A shard marked done by hand with a stand-in: a restart must not read it again.
    inputs = list_inputs(str(images))
    marked = 3 if kept.name != "part-00003.jsonl" else 2
    stand_in = "".join(
        json.dumps({"path": p, "text": "stand-in"}) + "\n"
        for p in inputs.names[marked * SHARD : (marked + 1) * SHARD]
    )
    (dst / f"part-{marked:05d}.jsonl").write_text(stand_in, encoding="utf-8")
    (dst / "_done" / f"part-{marked:05d}.json").write_text('{"rows": 8, "errors": 0}')

    written: list[int] = []
    job = engine.BatchJob(inputs, ShardStore(str(dst), "jsonl"), SHARD, model, how)
    summary = engine.run(job, on_shard=lambda k, mark: written.append(k))

    shards = -(-(LINES + 2) // SHARD)
    assert sorted(written) == sorted(set(range(shards)) - {int(kept.name[5:10]), marked})
    assert summary.shards_skipped == 2
    assert kept.stat().st_mtime_ns == kept_stat.st_mtime_ns  # not written again
    assert kept.stat().st_ino == kept_stat.st_ino
    assert (dst / f"part-{marked:05d}.jsonl").read_text(encoding="utf-8") == stand_in
    records = shard_records(dst)
    assert [r["path"] for r in records] == inputs.names  # none lost, none twice
    want = {r["path"]: r for r in read_jsonl}
    real = [r for r in records if r.get("text") != "stand-in"]
    assert_same_records(real, [want[r["path"]] for r in real])
    assert not [p for p in dst.iterdir() if p.name.startswith(".tmp-")]


def test_a_restart_with_other_settings_is_refused(
    ray_cluster: None, images: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "out"
    (dst / "_done").mkdir(parents=True)
    (dst / "_job.json").write_text(json.dumps({"inputs": 1, "shard_size": 5}))

    result = batch(images, dst)

    assert result.exit_code == 2
    assert "holds the shards of another job" in result.output
    assert not list(dst.glob("part-*"))
