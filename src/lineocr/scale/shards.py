"""The output folder of ``lineocr batch``: shards written whole, then marked done.

```
DST/_job.json              what the job reads and how (a restart must match it)
DST/part-00000.jsonl       shard 0: inputs 0..S-1, in input order (or .parquet)
DST/_done/part-00000.json  written after its shard: rows and errors in it
```

Shard *k* always holds inputs ``k*S .. k*S+S-1`` of the listing (:mod:`lineocr.scale.inputs`),
so a job killed half way and started again with the same DST reads only the shards without
a done mark. A shard and its mark are each written to a temporary name and renamed (one
atomic step on a local disk), so neither is ever seen half written; a shard without its mark
(killed between the two) is written again. Everything goes through a pyarrow file system,
so DST may be a URI (``s3://bucket/out``) as well as a folder.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lineocr.scale.inputs import filesystem

JOB_FILE = "_job.json"
DONE_FOLDER = "_done"
FORMATS = ("jsonl", "parquet")
TEMP_PREFIX = ".tmp-"


class ShardError(ValueError):
    """DST cannot hold this job (another job's shards, or it cannot be written)."""


@dataclass(frozen=True)
class ShardRow:
    """One input's result: its position in the shard, its JSON record (one line, as
    ``lineocr read --format jsonl`` writes it) and whether it is an error."""

    pos: int
    record: str
    error: bool


def shard_count(inputs: int, shard_size: int) -> int:
    return -(-inputs // shard_size)


def shard_name(shard: int, fmt: str) -> str:
    return f"part-{shard:05d}.{fmt}"


class ShardStore:
    """DST: its job description, its finished shards, and writing one more."""

    def __init__(self, dst: str, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ShardError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        self.dst = dst.rstrip("/") or dst
        self.format = fmt
        self.fs, self.root = filesystem(self.dst)
        self.root = self.root.rstrip("/") or self.root

    def _path(self, *parts: str) -> str:
        return "/".join((self.root, *parts))

    def _write_whole(self, parts: Sequence[str], data: bytes) -> None:
        """``data`` as the file ``parts``, written to a temporary name and renamed."""
        final = self._path(*parts)
        temp = self._path(*parts[:-1], TEMP_PREFIX + parts[-1])
        try:
            with self.fs.open_output_stream(temp) as stream:
                stream.write(data)
            self.fs.move(temp, final)
        except OSError as exc:
            raise ShardError(f"cannot write {final}: {exc}") from None

    def open(self, job: dict[str, Any]) -> None:
        """Make DST for ``job``, or check that the job DST was started for is this one (the
        same inputs, shard size, format, model and reading options)."""
        from pyarrow import fs

        try:
            self.fs.create_dir(self._path(DONE_FOLDER), recursive=True)
            info = self.fs.get_file_info(self._path(JOB_FILE))
            if info.type == fs.FileType.File:
                with self.fs.open_input_stream(self._path(JOB_FILE)) as stream:
                    before = json.loads(bytes(stream.read()).decode("utf-8"))
            else:
                before = None
        except (OSError, ValueError) as exc:
            raise ShardError(f"cannot use {self.dst} as the output folder: {exc}") from None
        if before is None:
            text = json.dumps(job, ensure_ascii=False, indent=2) + "\n"
            self._write_whole([JOB_FILE], text.encode())
            return
        differ = [key for key in sorted(set(job) | set(before)) if job.get(key) != before.get(key)]
        if differ:
            raise ShardError(
                f"{self.dst} holds the shards of another job (other {', '.join(differ)}); "
                f"give a new output folder, or remove {self.dst} to start again"
            )

    def done(self) -> dict[int, dict[str, Any]]:
        """The finished shards: number -> their done mark (rows, errors)."""
        from pyarrow import fs

        marks: dict[int, dict[str, Any]] = {}
        selector = fs.FileSelector(self._path(DONE_FOLDER), allow_not_found=True)
        for info in self.fs.get_file_info(selector):
            name = info.base_name
            if not (name.startswith("part-") and name.endswith(".json")):
                continue  # a temporary file of a job killed while marking
            try:
                with self.fs.open_input_stream(info.path) as stream:
                    mark = json.loads(bytes(stream.read()).decode("utf-8"))
                marks[int(name[5:-5])] = mark
            except (OSError, ValueError):
                continue  # unreadable: the shard is read again
        return marks

    def clean(self) -> None:
        """Remove the temporary files a killed job left (best effort)."""
        from pyarrow import fs

        for folder in (self.root, self._path(DONE_FOLDER)):
            selector = fs.FileSelector(folder, allow_not_found=True)
            for info in self.fs.get_file_info(selector):
                if info.base_name.startswith(TEMP_PREFIX):
                    with contextlib.suppress(OSError):
                        self.fs.delete_file(info.path)

    def write(self, shard: int, rows: Sequence[ShardRow]) -> dict[str, Any]:
        """Write shard ``shard`` (its rows in any order), then its done mark; the mark."""
        ordered = sorted(rows, key=lambda r: r.pos)
        name = shard_name(shard, self.format)
        if self.format == "jsonl":
            data = "".join(r.record + "\n" for r in ordered).encode("utf-8", "surrogateescape")
        else:
            data = _parquet_bytes(ordered)
        self._write_whole([name], data)
        errors = sum(r.error for r in ordered)
        mark = {"file": name, "rows": len(ordered), "errors": errors}
        self._write_whole([DONE_FOLDER, f"part-{shard:05d}.json"], json.dumps(mark).encode())
        return mark


def _parquet_bytes(rows: Sequence[ShardRow]) -> bytes:
    """A Parquet shard: ``path``, ``text``, ``confidence`` and ``error`` as columns for
    queries, and ``record``, the whole JSON record (a page's lines and boxes, the
    characters' confidences), as ``lineocr read --format jsonl`` writes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [json.loads(r.record) for r in rows]
    table = pa.table(
        {
            "path": pa.array([rec["path"] for rec in records], pa.string()),
            "text": pa.array([rec.get("text") for rec in records], pa.string()),
            "confidence": pa.array([rec.get("confidence") for rec in records], pa.float64()),
            "error": pa.array([rec.get("error") for rec in records], pa.string()),
            "record": pa.array([r.record for r in rows], pa.string()),
        }
    )
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
