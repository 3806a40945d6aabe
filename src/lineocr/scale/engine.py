"""The Ray Data pipeline of ``lineocr batch``: the pending shards' inputs as blocks, a pool
of actors reading them (:class:`~lineocr.scale.reader.BlockReader`), and this process
gathering each shard's rows and writing it whole (:class:`~lineocr.scale.shards.ShardStore`).

Results are small (a JSON line each), so the driver writes every shard: the workers need no
access to DST, and a shard is complete or absent, never half there. The only module of
lineocr that imports Ray.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from lineocr.reading import ReadSettings
from lineocr.scale.inputs import Inputs
from lineocr.scale.reader import BlockReader, ModelFile
from lineocr.scale.shards import ShardRow, ShardStore, shard_count

BLOCK_ROWS = 32  # inputs an actor reads per call: the unit of scheduling and of progress
BLOCKS_PER_ACTOR = 4  # a small job is cut finer, so that every actor gets work
RAY_LOGGERS = ("ray", "ray.data", "ray.data._internal")


@dataclass(frozen=True)
class BatchJob:
    """What to read, where to, and how: ``threads`` ONNX Runtime threads per actor, and
    ``actors`` actors (None: as many as the cluster's CPUs hold)."""

    inputs: Inputs
    store: ShardStore
    shard_size: int
    model: ModelFile
    how: ReadSettings
    threads: int = 1
    actors: int | None = None


@dataclass
class Summary:
    inputs: int
    shards: int
    shards_skipped: int  # done by an earlier run of the job
    rows_read: int = 0  # read by this run
    errors: int = 0  # in all the shards, this run's and earlier ones
    seconds: float = 0.0
    actors: int = 0
    nodes: set[str] = field(default_factory=set)  # Ray node ids that read rows


@contextmanager
def connected(address: str | None) -> Iterator[None]:
    """Ray started on this machine (``address`` None) or joined at ``address`` (``auto``:
    the cluster ``ray start`` runs here; ``ray://host:10001``; ``host:6379``); left as it
    was when this process already holds a connection (a caller's, a test's)."""
    import ray

    if ray.is_initialized():
        yield
        return
    _quiet_ray()
    if address is None:
        ray.init(address="local", include_dashboard=False, logging_level=logging.ERROR)
    else:
        ray.init(address=address, logging_level=logging.ERROR)
    try:
        yield
    finally:
        ray.shutdown()


def _quiet_ray() -> None:
    """No Ray Data progress bars or execution plans on the terminal: the command draws its
    own bar and says its own summary."""
    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    for name in RAY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


class _NodeReader(BlockReader):
    """A :class:`BlockReader` that also says which Ray node read each block."""

    def __call__(self, block: Any) -> Any:
        import pyarrow as pa
        import ray

        out = super().__call__(block)
        node = ray.get_runtime_context().get_node_id()
        return out.append_column("node", pa.array([node] * len(out), pa.string()))


def block_rows(inputs: int, actors: int) -> int:
    """Inputs per block: :data:`BLOCK_ROWS`, or fewer when that would leave an actor with
    less than :data:`BLOCKS_PER_ACTOR` blocks (a few dozen pages are minutes of work)."""
    return max(1, min(BLOCK_ROWS, inputs // (actors * BLOCKS_PER_ACTOR)))


def _blocks(job: BatchJob, shards: list[int], rows: int) -> list[Any]:
    """The pending shards' inputs as pyarrow tables of ``rows`` rows (a block never spans
    two shards)."""
    import pyarrow as pa

    inputs = job.inputs
    blocks = []
    for shard in shards:
        first = shard * job.shard_size
        last = min(len(inputs), first + job.shard_size)
        for start in range(first, last, rows):
            stop = min(last, start + rows)
            blocks.append(
                pa.table(
                    {
                        "shard": pa.array([shard] * (stop - start), pa.int64()),
                        "pos": pa.array(range(start - first, stop - first), pa.int64()),
                        "name": pa.array(inputs.names[start:stop], pa.string()),
                        "file": pa.array(inputs.files[start:stop], pa.string()),
                        "row": pa.array(inputs.rows[start:stop], pa.int64()),
                    }
                )
            )
    return blocks


def actor_count(job: BatchJob) -> int:
    """``job.actors``, else one actor per ``threads`` CPUs of the cluster."""
    import ray

    if job.actors is not None:
        return job.actors
    cpus = int(ray.cluster_resources().get("CPU", 1))
    return max(1, cpus // job.threads)


def run(
    job: BatchJob,
    *,
    on_rows: Callable[[int], None] | None = None,
    on_note: Callable[[str, str], None] | None = None,
    on_shard: Callable[[int, dict[str, Any]], None] | None = None,
) -> Summary:
    """Read every shard of ``job`` that DST does not hold done; write each as its last row
    arrives. ``on_rows(k)``: k more rows read; ``on_note(path, note)``: the loader's notes
    (a multi-page TIFF read as its first page); ``on_shard(k, mark)``: shard k written."""
    import ray

    started = time.monotonic()
    store = job.store
    store.clean()
    total = shard_count(len(job.inputs), job.shard_size)
    done = store.done()
    pending = [k for k in range(total) if k not in done]
    summary = Summary(len(job.inputs), total, total - len(pending))
    summary.errors = sum(int(mark.get("errors", 0)) for k, mark in done.items() if k < total)
    if not pending:
        summary.seconds = time.monotonic() - started
        return summary
    sizes = {
        k: min(len(job.inputs), (k + 1) * job.shard_size) - k * job.shard_size for k in pending
    }
    to_read = sum(sizes.values())
    summary.actors = min(actor_count(job), to_read)
    per_block = block_rows(to_read, summary.actors)
    dataset = ray.data.from_arrow(_blocks(job, pending, per_block)).map_batches(
        _NodeReader,
        fn_constructor_kwargs={
            "model": job.model,
            "threads": job.threads,
            "how": job.how,
            "column": job.inputs.column,
        },
        batch_size=None,  # a whole block per call
        batch_format="pyarrow",
        zero_copy_batch=True,
        compute=ray.data.ActorPoolStrategy(size=summary.actors),
        num_cpus=job.threads,
    )
    gathered: dict[int, list[ShardRow]] = {}
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        columns = cast(Any, batch).to_pydict()  # a pyarrow table (batch_format)
        rows = zip(
            columns["shard"],
            columns["pos"],
            columns["record"],
            columns["error"],
            columns["notes"],
            strict=True,
        )
        for shard, pos, record, error, notes in rows:
            gathered.setdefault(shard, []).append(ShardRow(pos, record, error))
            if notes and on_note is not None:
                for note in notes.split("\n"):
                    on_note(json.loads(record)["path"], note)
            if len(gathered[shard]) == sizes[shard]:
                mark = store.write(shard, gathered.pop(shard))
                summary.errors += mark["errors"]
                if on_shard is not None:
                    on_shard(shard, mark)
        summary.nodes.update(columns["node"])
        summary.rows_read += len(batch)
        if on_rows is not None:
            on_rows(len(batch))
    if gathered:  # cannot happen unless Ray lost rows: say so rather than finish quietly
        raise RuntimeError(f"shards {sorted(gathered)} did not get all their rows")
    summary.seconds = time.monotonic() - started
    return summary
