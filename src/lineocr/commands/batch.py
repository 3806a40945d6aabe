"""`lineocr batch SRC DST` (registered on import): a whole archive read on a Ray cluster, with
the read options of `lineocr read`, into resumable JSONL or Parquet shards.

Needs the ``lineocr[scale]`` extra (Ray Data). Ray is imported only when the command runs,
so ``lineocr --help`` and the other commands do not pay for it.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from lineocr.cli import app, debugging, fail
from lineocr.commands.lm import LengthBonusOpt, LmWeightOpt, ReadLmOpt, lm_decode_options
from lineocr.commands.read import (
    BeamWidthOpt,
    DecoderName,
    DecoderOpt,
    LexiconOpt,
    ModelOpt,
    PatternOpt,
    ProgressOpt,
    TtaOpt,
    _escaped,
    _progress,
    decode_options,
    load_recognizer,
)
from lineocr.reading import LayoutMode, OutputFormat, ReadSettings

# typer needs typing.Optional on Python 3.10.
# ruff: noqa: UP045

DEFAULT_SHARD_SIZE = 1000
SCALE_MISSING = (
    "lineocr batch needs Ray Data: pip install 'lineocr[scale]' (or pip install 'ray[data]')"
)


@app.command()
def batch(  # noqa: PLR0913 - a Typer command: one parameter per option
    src: Annotated[
        str,
        typer.Argument(
            help="A folder of images (searched recursively), a glob ('scans/**/*.png'), a "
            "manifest (.txt/.lst: a path a line; .tsv, .csv), or Parquet files of image "
            "bytes or paths (a .parquet file, a folder or glob of them); local or a URI "
            "(s3://, gs://, file://).",
            show_default=False,
        ),
    ],
    dst: Annotated[
        str,
        typer.Argument(
            help="Output folder (or URI) of shards: part-00000.jsonl, ... Run again with the "
            "same DST to finish a job that was stopped: finished shards are kept.",
            show_default=False,
        ),
    ],
    model: ModelOpt = "printed",
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="jsonl: the lines of lineocr read --format jsonl; parquet: path, text, "
            "confidence, error and the JSON record as columns.",
        ),
    ] = "jsonl",
    layout: Annotated[
        LayoutMode,
        typer.Option(help="line | page | auto, as lineocr read (docs/runtime.md, Pages)."),
    ] = LayoutMode.auto,
    decoder: DecoderOpt = DecoderName.greedy,
    beam_width: BeamWidthOpt = None,
    lexicon: LexiconOpt = None,
    pattern: PatternOpt = None,
    lm: ReadLmOpt = None,
    lm_weight: LmWeightOpt = None,
    length_bonus: LengthBonusOpt = None,
    tta: TtaOpt = False,
    batch_size: Annotated[int, typer.Option(help="Lines per model run.")] = 16,
    shard_size: Annotated[
        int, typer.Option(help="Inputs per output shard (the unit a restart skips).")
    ] = DEFAULT_SHARD_SIZE,
    column: Annotated[
        Optional[str],
        typer.Option(help="Parquet SRC: the column of image bytes or paths (default: found)."),
    ] = None,
    address: Annotated[
        Optional[str],
        typer.Option(
            envvar="RAY_ADDRESS",
            help="Join this Ray cluster ('auto': the one `ray start` runs here; "
            "'HOST:6379'; 'ray://HOST:10001') instead of starting Ray on this machine.",
        ),
    ] = None,
    actors: Annotated[
        Optional[int],
        typer.Option(help="Reading actors (default: the cluster's CPUs / --threads)."),
    ] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads per actor.")] = 1,
    progress: ProgressOpt = None,
) -> None:
    """Read an archive on Ray (here or a cluster) into resumable shards, rows as read's jsonl.

    Exit status 1 if any input could not be read (its row holds the error)."""
    from lineocr.scale.inputs import InputError, list_inputs
    from lineocr.scale.shards import FORMATS, ShardError, ShardStore

    _check_options(batch_size, shard_size, threads, actors)
    if output_format not in FORMATS:
        raise fail(f"--format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    try:
        import ray.data  # noqa: F401 - checked before any work
    except ImportError:
        raise fail(SCALE_MISSING) from None
    options = decode_options(
        decoder, beam_width, lexicon, pattern, lm_decode_options(lm, lm_weight, length_bonus)
    )
    if tta:
        options["tta"] = True
    recognizer = load_recognizer(model, 1, 1, options, lm)
    how = ReadSettings(OutputFormat.jsonl, batch_size, options, layout)
    try:
        inputs = list_inputs(src, column)
        store = ShardStore(dst, output_format)
        store.open(_job_description(inputs, shard_size, output_format, recognizer, how))
    except (InputError, ShardError) as exc:
        raise fail(str(exc)) from None
    model_file = (recognizer.model_bytes, recognizer.name, recognizer.source)
    summary = _run(inputs, store, shard_size, model_file, how, threads, actors, address, progress)
    _report(summary, dst)
    if summary.errors:
        raise typer.Exit(1)


def _check_options(batch_size: int, shard_size: int, threads: int, actors: int | None) -> None:
    """Fail (exit status 2) on option values that cannot work, before anything is loaded."""
    if batch_size < 1:
        raise fail("--batch-size must be at least 1")
    if shard_size < 1:
        raise fail("--shard-size must be at least 1")
    if threads < 1:
        raise fail("--threads must be at least 1")
    if actors is not None and actors < 1:
        raise fail("--actors must be at least 1")


def _job_description(
    inputs: Any, shard_size: int, output_format: str, recognizer: Any, how: ReadSettings
) -> dict[str, Any]:
    """What DST records of the job: a restart must read the same inputs the same way
    (the lines per model run may change: a line reads the same in any batch)."""
    from lineocr import __version__

    return {
        "inputs": len(inputs),
        "inputs_sha256": inputs.fingerprint(),
        "shard_size": shard_size,
        "format": output_format,
        "model": {"name": recognizer.name, "sha256_12": recognizer.version},
        "layout": how.layout.value,
        "options": {k: v for k, v in sorted(how.options.items())},
        "lineocr": __version__,
    }


def _run(  # noqa: PLR0913 - the command's settings, passed on once
    inputs: Any,
    store: Any,
    shard_size: int,
    model_file: Any,
    how: ReadSettings,
    threads: int,
    actors: int | None,
    address: str | None,
    progress: bool | None,
) -> Any:
    """The job on Ray under a progress bar; a failure outside any one input is one line
    (exit status 2), or its traceback with ``LINEOCR_DEBUG`` set."""
    from lineocr.scale.engine import BatchJob, connected, run
    from lineocr.scale.shards import ShardError

    job = BatchJob(inputs, store, shard_size, model_file, how, threads, actors)
    try:
        with connected(address), _progress(len(inputs), progress) as bar:
            task = bar.add_task("reading", total=len(inputs)) if bar is not None else None

            def on_rows(k: int) -> None:
                if bar is not None:
                    bar.update(task, advance=k)

            def on_note(path: str, note: str) -> None:
                typer.echo(f"warning: {_escaped(path)}: {note}", err=True)

            if bar is not None:  # the shards an earlier run finished
                kept = sum(int(mark.get("rows", 0)) for mark in store.done().values())
                bar.update(task, advance=kept)
            return run(job, on_rows=on_rows, on_note=on_note)
    except ShardError as exc:
        raise fail(str(exc)) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # Ray could not start, a worker died for good, ...
        if debugging():
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(f"the batch job failed: {first}") from None


def _report(summary: Any, dst: str) -> None:
    """The summary on stderr: rows, shards, errors, time and rate, and where."""
    rate = summary.rows_read / summary.seconds if summary.seconds > 0 else 0.0
    kept = f", {summary.shards_skipped} kept from an earlier run" if summary.shards_skipped else ""
    where = (
        f" on {len(summary.nodes)} node{'s' if len(summary.nodes) != 1 else ''} "
        f"({summary.actors} actors)"
        if summary.rows_read
        else ""
    )
    typer.echo(
        f"read {summary.rows_read} of {summary.inputs} inputs in {summary.seconds:.1f} s "
        f"({rate:.1f}/s){where}; {summary.shards} shards in {dst}{kept}; "
        f"{summary.errors} could not be read",
        err=True,
    )


__all__ = ["batch"]
