"""What ``lineocr batch`` reads: SRC listed as inputs in one fixed order, each an image file
or a row of image bytes in a Parquet file.

The order is what makes a job resumable: shard *k* is always the same inputs
(:mod:`lineocr.scale.shards`), and :meth:`Inputs.fingerprint` tells a restart whether SRC
still lists the same ones. A local folder is listed as ``lineocr read DIR`` lists it; a URI
(``s3://bucket/scans/``, ``gs://...``, ``file:///...``) through pyarrow's file systems.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST_SUFFIXES = (".txt", ".lst", ".tsv", ".csv")
PARQUET_SUFFIX = ".parquet"
GLOB_CHARS = frozenset("*?[")
PATH_COLUMNS = ("path", "file", "filename")  # a Parquet column of names, in this order
NO_ROW = -1  # the input is the file itself, not a row of it


class InputError(ValueError):
    """SRC cannot be listed: the message names it and says why."""


@dataclass(frozen=True)
class Inputs:
    """Inputs in reading order: input *i* is named ``names[i]`` in the output (its
    ``path``) and read from ``files[i]``, itself an image when ``rows[i]`` is
    :data:`NO_ROW`, else a Parquet file whose row ``rows[i]`` holds the image's bytes in
    ``column``."""

    names: list[str]
    files: list[str]
    rows: list[int]
    column: str | None = None

    def __len__(self) -> int:
        return len(self.names)

    def fingerprint(self) -> str:
        """A digest of what is read, in order: a restart with other inputs is refused."""
        digest = hashlib.sha256(f"{self.column}\n".encode())
        for name, file, row in zip(self.names, self.files, self.rows, strict=True):
            digest.update(f"{name}\0{file}\0{row}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()


def is_uri(source: str) -> bool:
    return "://" in source


def filesystem(source: str) -> tuple[Any, str]:
    """(pyarrow file system, path in it) for a URI or a local path."""
    from pyarrow import fs

    if is_uri(source):
        try:
            found: tuple[Any, str] = fs.FileSystem.from_uri(source)
            return found
        except (ValueError, OSError) as exc:
            raise InputError(f"{source}: {exc}") from None
    return fs.LocalFileSystem(), source


def list_inputs(src: str, column: str | None = None) -> Inputs:
    """SRC's inputs: a folder (searched recursively for images, sorted), a glob (its
    matches, sorted; ``**`` spans folders), a manifest (``.txt``/``.lst``: one path a line;
    ``.tsv``: the first field; ``.csv``: the ``path`` column or the first), or Parquet files
    (a ``.parquet`` file, a folder or a glob of them) of image bytes or of paths."""
    files = _expand(src)
    if files and all(f.lower().endswith(PARQUET_SUFFIX) for f in files):
        return _parquet_inputs(files, column)
    if column is not None:
        raise InputError(f"{src}: --column is for Parquet files; SRC lists images")
    if len(files) == 1 and files[0] == src and src.lower().endswith(MANIFEST_SUFFIXES):
        names = _manifest_paths(src)
    else:
        names = files
    if not names:
        raise InputError(f"{src}: no inputs")
    return Inputs(names, list(names), [NO_ROW] * len(names))


def _expand(src: str) -> list[str]:
    """The files SRC names: itself, a folder's files, or a glob's matches, sorted."""
    if is_uri(src):
        return _expand_uri(src)
    if GLOB_CHARS & set(src) and not Path(src).exists():
        from lineocr.commands.read import expand_inputs

        matches = sorted(glob.glob(src, recursive=True))  # noqa: PTH207 - Path.glob has no absolute patterns
        if not matches:
            raise InputError(f"{src}: no file matches")
        return expand_inputs(matches)
    path = Path(src)
    if not path.exists():
        raise InputError(f"{src}: no such file or folder")
    if path.is_dir():
        from lineocr.commands.read import expand_inputs

        found = expand_inputs([src])
        if found == [src]:  # no images: a folder of Parquet files?
            return sorted(str(p) for p in path.rglob(f"*{PARQUET_SUFFIX}")) or found
        return found
    return [src]


def _expand_uri(src: str) -> list[str]:
    from pyarrow import fs

    from lineocr.images import IMAGE_SUFFIXES, OTHER_IMAGE_SUFFIXES

    filesystem_, path = filesystem(src)
    scheme = src.split("://", 1)[0]
    pattern = None
    if GLOB_CHARS & set(path):
        parts = PurePosixPath(path).parts
        fixed = next(i for i, part in enumerate(parts) if GLOB_CHARS & set(part))
        path, pattern = str(PurePosixPath(*parts[:fixed])), path
    try:
        info = filesystem_.get_file_info(path)
        if info.type == fs.FileType.NotFound:
            raise InputError(f"{src}: no such file or folder")
        if info.type == fs.FileType.File:
            return [src]
        listing = filesystem_.get_file_info(fs.FileSelector(path, recursive=True))
    except OSError as exc:
        raise InputError(f"{src}: {exc}") from None
    found = sorted(i.path for i in listing if i.type == fs.FileType.File)
    if pattern is not None:
        found = [f for f in found if fnmatch.fnmatchcase(f, pattern)]
    else:
        wanted = IMAGE_SUFFIXES | OTHER_IMAGE_SUFFIXES
        images = [f for f in found if PurePosixPath(f).suffix.lower() in wanted]
        found = images or [f for f in found if f.lower().endswith(PARQUET_SUFFIX)]
    if not found:
        raise InputError(f"{src}: no inputs")
    if scheme == "file":
        return [f"file://{f}" for f in found]
    return [f"{scheme}://{f}" for f in found]


def _read_text(source: str) -> str:
    filesystem_, path = filesystem(source)
    try:
        with filesystem_.open_input_stream(path) as stream:
            return bytes(stream.read()).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read the manifest: {exc}") from None


def _manifest_paths(manifest: str) -> list[str]:
    """A manifest's paths, each relative one taken from the manifest's folder."""
    import csv
    import io

    text = _read_text(manifest)
    if manifest.lower().endswith(".csv"):
        rows = list(csv.reader(io.StringIO(text)))
        index = 0
        if rows and "path" in [c.strip().lower() for c in rows[0]]:
            index = [c.strip().lower() for c in rows[0]].index("path")
            rows = rows[1:]
        names = [row[index] for row in rows if row and row[index].strip()]
    else:
        split = "\t" if manifest.lower().endswith(".tsv") else "\n"
        names = [line.split(split)[0] for line in text.splitlines() if line.strip()]
    return [_beside(manifest, name) for name in names]


def _beside(manifest: str, name: str) -> str:
    """``name`` as given if absolute (or a URI), else from the manifest's folder."""
    if is_uri(name) or Path(name).is_absolute():
        return name
    if is_uri(manifest):
        return manifest.rsplit("/", 1)[0] + "/" + name
    return str(Path(manifest).parent / name)


def _parquet_inputs(files: list[str], column: str | None) -> Inputs:
    """Each row of each file an input: image bytes (a binary column, or a struct with a
    ``bytes`` field, as Hugging Face image datasets store them) named by a path column
    when there is one, else ``FILE#ROW``; or a column of paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names: list[str] = []
    sources: list[str] = []
    rows: list[int] = []
    chosen: str | None = None
    for file in files:
        filesystem_, path = filesystem(file)
        try:
            parquet = pq.ParquetFile(path, filesystem=filesystem_)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{file}: not a readable Parquet file: {exc}") from None
        schema = parquet.schema_arrow
        image_column, name_column = _columns(schema, column, file)
        if chosen is not None and image_column != chosen:
            raise InputError(f"{file}: its images are in column {image_column!r}, not {chosen!r}")
        chosen = image_column
        n = parquet.metadata.num_rows
        kind = schema.field(image_column).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):  # paths
            values = parquet.read(columns=[image_column]).column(0).to_pylist()
            for value in values:
                if value:
                    paths = _beside(file, value)
                    names.append(paths)
                    sources.append(paths)
                    rows.append(NO_ROW)
            continue
        if name_column is not None:
            table = parquet.read(columns=[name_column.split(".")[0]])
            values = table.column(0)
            if "." in name_column:
                values = pa.compute.struct_field(values, name_column.split(".")[1])
            given = values.to_pylist()
        else:
            given = [None] * n
        for row, name in enumerate(given):
            names.append(name if name else f"{file}#{row}")
            sources.append(file)
            rows.append(row)
    if not names:
        raise InputError(f"{files[0]}: no inputs (no rows)")
    has_bytes = any(row != NO_ROW for row in rows)
    return Inputs(names, sources, rows, chosen if has_bytes else None)


def _columns(schema: Any, column: str | None, file: str) -> tuple[str, str | None]:
    """(the column of images or paths, the column naming each row or None)."""
    import pyarrow as pa

    def is_bytes(kind: Any) -> bool:
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            return True
        return bool(pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0)

    names = schema.names
    if column is not None:
        if column not in names:
            raise InputError(f"{file}: no column {column!r} (it has {', '.join(names)})")
        kind = schema.field(column).type
        if not (is_bytes(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise InputError(f"{file}: column {column!r} holds {kind}, not bytes or paths")
        image = column
    else:
        found = [n for n in names if is_bytes(schema.field(n).type)]
        found = found or [n for n in PATH_COLUMNS if n in names]
        if not found:
            raise InputError(
                f"{file}: no column of image bytes or paths (it has {', '.join(names)}); "
                "name one with --column"
            )
        image = found[0]
    kind = schema.field(image).type
    if pa.types.is_struct(kind):
        inner = kind.get_field_index("path")
        return image, (f"{image}.path" if inner >= 0 else None)
    if is_bytes(kind):
        return image, next((n for n in PATH_COLUMNS if n in names), None)
    return image, None
