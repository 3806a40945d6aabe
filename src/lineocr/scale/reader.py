"""What one ``lineocr batch`` actor does: hold a recogniser (one ONNX Runtime session,
loaded once) and turn a block of inputs into their JSON records.

Reading is :mod:`lineocr.reading`'s, as ``lineocr read`` reads: the same loader (and so the
same error for a corrupt, huge or missing file), the same line-or-page choice and the same
record, so a row of ``lineocr batch`` is the line ``lineocr read --format jsonl`` writes for
that image. No Ray here: Ray Data builds the class in each actor and calls it on blocks.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from lineocr.reading import (
    Outcome,
    ReadSettings,
    error_record,
    json_line,
    load_input,
    recognise,
    result_record,
)
from lineocr.scale.inputs import NO_ROW, filesystem, is_uri

ModelFile = tuple[bytes, str, str]  # the ONNX file's bytes, its name, where it came from


class BlockReader:
    """Reads blocks of inputs: columns ``shard``, ``pos``, ``name``, ``file``, ``row`` in;
    ``shard``, ``pos``, ``record`` (the JSON line), ``error`` and ``notes`` out."""

    def __init__(self, model: ModelFile, threads: int, how: ReadSettings, column: str | None):
        from lineocr.runtime import Recognizer

        model_bytes, name, source = model
        self.recognizer = Recognizer(model_bytes, name=name, source=source, threads=threads)
        self.how = how
        self.column = column
        self._parquet: tuple[str, Any] | None = None  # the last Parquet file opened
        self._group: tuple[str, int, int, Any] | None = None  # its last row group read

    def __call__(self, block: Any) -> Any:
        """A pyarrow table of inputs -> a pyarrow table of their records."""
        import pyarrow as pa

        columns = block.to_pydict()
        names: list[str] = columns["name"]
        notes: list[list[str]] = [[] for _ in names]
        outcomes = self._load(columns["file"], columns["row"], notes)
        records: list[str] = []
        errors: list[bool] = []
        for name, (kind, value) in zip(
            names, recognise(self.recognizer, outcomes, self.how), strict=True
        ):
            is_error = kind != "ok"
            record = error_record(name, value) if is_error else result_record(name, value)
            records.append(json_line(record))
            errors.append(is_error)
        return pa.table(
            {
                "shard": pa.array(columns["shard"], pa.int64()),
                "pos": pa.array(columns["pos"], pa.int64()),
                "record": pa.array(records, pa.string()),
                "error": pa.array(errors, pa.bool_()),
                "notes": pa.array(["\n".join(n) for n in notes], pa.string()),
            }
        )

    def _load(self, files: list[str], rows: list[int], notes: list[list[str]]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for i, (file, row) in enumerate(zip(files, rows, strict=True)):
            if row != NO_ROW:
                outcomes.append(self._load_row(file, row, notes[i]))
            elif is_uri(file):
                outcomes.append(_load_uri(file, notes[i]))
            else:
                outcomes.append(load_input(file, notes[i]))
        return outcomes

    def _load_row(self, file: str, row: int, notes: list[str]) -> Outcome:
        """Row ``row`` of a Parquet file's image column, decoded as a file would be."""
        from lineocr.images import ImageError, load_image

        try:
            data = self._row_bytes(file, row)
        except Exception as exc:  # a file that cannot be read costs its rows only
            return ("error", f"cannot read row {row} of {file}: {exc}"[:300])
        if data is None:
            return ("error", "no image (an empty value)")
        try:
            return ("ok", load_image(data, name=f"{file}#{row}", notes=notes))
        except ImageError as exc:
            return ("error", exc.reason)

    def _row_bytes(self, file: str, row: int) -> bytes | None:
        """The bytes in row ``row``: its row group is read once for the rows after it."""
        import pyarrow.parquet as pq

        if (
            self._group is None
            or self._group[0] != file
            or not (self._group[1] <= row < self._group[2])
        ):
            if self._parquet is None or self._parquet[0] != file:
                filesystem_, path = filesystem(file)
                self._parquet = (file, pq.ParquetFile(path, filesystem=filesystem_))
            parquet = self._parquet[1]
            start = 0
            for group in range(parquet.metadata.num_row_groups):
                size = parquet.metadata.row_group(group).num_rows
                if row < start + size:
                    values = parquet.read_row_group(group, columns=[self.column]).column(0)
                    self._group = (file, start, start + size, values)
                    break
                start += size
            else:
                raise IndexError(f"the file has {start} rows")
        assert self._group is not None
        value = self._group[3][row - self._group[1]].as_py()
        if isinstance(value, dict):  # {"bytes": ..., "path": ...}
            value = value.get("bytes")
        return value if value is None else bytes(value)


def _load_uri(uri: str, notes: list[str]) -> Outcome:
    """A file on a pyarrow file system (``s3://...``), decoded as a local file would be."""
    from lineocr.images import ImageError, load_image

    try:
        filesystem_, path = filesystem(uri)
        with filesystem_.open_input_stream(path) as stream:
            data = bytes(stream.read())
    except (OSError, ValueError) as exc:
        return ("error", f"cannot read: {exc}"[:300])
    try:
        return ("ok", load_image(data, name=PurePosixPath(uri).name, notes=notes))
    except ImageError as exc:
        return ("error", exc.reason)
