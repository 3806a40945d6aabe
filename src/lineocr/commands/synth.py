"""`lineocr synth`: write a synthetic line dataset (registered on import)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from lineocr.cli import app, check_output_file, fail

if TYPE_CHECKING:
    from rich.progress import Progress

    from lineocr.data.synth import LineSynthesizer, SynthConfig
    from lineocr.data.synth_output import WriteResult

# typer needs Optional[...] on Python 3.10
# ruff: noqa: UP045


PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@app.command()
def synth(  # noqa: PLR0913 - a Typer command: one parameter per option
    out: Annotated[Path, typer.Option("--out", "-o", help="New or empty output directory.")],
    n: Annotated[Optional[int], typer.Option("--n", help="Number of lines to write.")] = None,
    lang: Annotated[
        str, typer.Option(help="latin | arabic | mixed | digits | arabic-digits | captcha")
    ] = "latin",
    style: Annotated[
        Optional[str],
        typer.Option(
            help="clean | scan | photo | blurred | sharpened | print | captcha | mix "
            "(default: captcha for --lang captcha, else scan)"
        ),
    ] = None,
    fonts: Annotated[
        Optional[list[str]],
        typer.Option(
            "--fonts",
            help="Font file, folder or installed family name (repeatable); "
            "default: the system fonts.",
        ),
    ] = None,
    font_split: Annotated[
        str, typer.Option(help="train | val (held-out font families) | all")
    ] = "train",
    corpus: Annotated[
        Optional[Path],
        typer.Option(help="UTF-8 text file to draw lines from instead of the word list."),
    ] = None,
    corpus_mode: Annotated[
        str, typer.Option(help="text (windows of running text) | lines (one corpus line per image)")
    ] = "text",
    min_chars: Annotated[
        Optional[int],
        typer.Option(
            help="Shortest line, in characters (a target: Arabic harakat and tatweel are added "
            "after it; see docs/synth.md)."
        ),
    ] = None,
    max_chars: Annotated[
        Optional[int],
        typer.Option(
            help="Longest line, in characters (arabic and mixed lines with harakat or tatweel "
            "run longer; see docs/synth.md)."
        ),
    ] = None,
    alphabet: Annotated[
        Optional[str], typer.Option(help="Only these characters may appear in lines.")
    ] = None,
    loose: Annotated[
        float,
        typer.Option(
            help="Share of lines cut loosely, as from a page: 0.5-2 line heights of paper "
            "above and below, 0.25-1 left and right (default: cropped close to the text)."
        ),
    ] = 0.0,
    fmt: Annotated[str, typer.Option("--format", help="sidecar | tsv | filename")] = "sidecar",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same dataset.")] = 0,
    preview: Annotated[
        Optional[Path], typer.Option(help="Also write a contact sheet PNG of the first lines.")
    ] = None,
    workers: Annotated[
        Optional[int],
        typer.Option(help="Processes to generate with (default: the CPU count, at most 8)."),
    ] = None,
    replay: Annotated[
        Optional[Path],
        typer.Option(
            help="Regenerate the dataset a synth.json describes (other settings ignored)."
        ),
    ] = None,
    pages: Annotated[
        bool,
        typer.Option(
            "--pages",
            help="Whole pages instead of lines: N page images with PAGE-XML line boxes, "
            "for train-detector (uses --out, --n, --font-split as the page split, --seed).",
        ),
    ] = False,
) -> None:
    """Write a synthetic dataset of text-line images and labels (any format train reads)."""
    from lineocr.data.synth import SynthConfig, SynthError

    if pages:
        if n is None:
            raise fail("--n is required")
        _write_pages(out, n, font_split, seed)
        return

    if preview is not None:  # before the dataset is written, not after
        check_output_file(preview, "--preview", PREVIEW_SUFFIXES)
    try:
        if replay is not None:
            job = _replayed_job(replay, n)
        elif n is None:
            raise fail("--n is required (or --replay a synth.json)")
        else:
            config = SynthConfig(
                lang=lang,
                style=style,
                fonts=_font_sources(fonts),
                corpus=str(corpus.resolve()) if corpus is not None else None,
                corpus_mode=corpus_mode,
                min_chars=min_chars,
                max_chars=max_chars,
                alphabet=alphabet,
                loose=loose,
            )
            job = _Job(config, n, seed, font_split, fmt)
        _check_job(job, out)
        n_workers = _worker_count(workers, job.n)
        if n_workers > 1:
            from lineocr.data.synth_output import start_worker_server

            start_worker_server()  # its imports overlap the font checks below
        synthesizer = _synthesizer(job)
        result = _write_with_progress(out, job, synthesizer, n_workers)
        if preview is not None:
            _write_preview(synthesizer, result.written, out, preview)
    except SynthError as exc:
        raise fail(str(exc)) from None
    _report(result, out, job.fmt)


@dataclass(frozen=True)
class _Job:
    """What to write: the generator's settings and the dataset's size and format."""

    config: SynthConfig
    n: int
    seed: int
    split: str
    fmt: str
    recorded_fonts: frozenset[str] = frozenset()  # the font files a replayed run used


def _replayed_job(replay: Path, n: int | None) -> _Job:
    """The job a synth.json describes, with ``--n`` (when given) for its line count."""
    from lineocr.data.synth_output import replay_settings

    settings = replay_settings(replay)
    n = settings.n if n is None else n
    fonts = frozenset(settings.fonts)
    return _Job(settings.config, n, settings.seed, settings.split, settings.fmt, fonts)


def _font_sources(fonts: list[str] | None) -> tuple[str, ...]:
    """The --font values with local files and folders made absolute (a replay then finds
    them from any folder); family names as given."""
    return tuple(str(Path(f).resolve()) if Path(f).exists() else f for f in fonts or ())


def _check_job(job: _Job, out: Path) -> None:
    """Fail before any work on a line count below 1 or an output directory in use."""
    from lineocr.data.synth_output import check_output_dir

    if job.n < 1:
        raise fail("--n must be at least 1")
    check_output_dir(out)


def _synthesizer(job: _Job) -> LineSynthesizer:
    """The line generator, its warnings echoed on stderr."""
    import warnings

    from lineocr.data.synth import LineSynthesizer

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        synthesizer = LineSynthesizer(job.config, seed=job.seed, split=job.split)
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)
    _warn_if_fonts_differ(job, synthesizer)
    return synthesizer


def _warn_if_fonts_differ(job: _Job, synthesizer: LineSynthesizer) -> None:
    """Warn when a replay draws with other font files than the recorded ones."""
    used = {f.path for f in synthesizer.faces}
    if job.recorded_fonts and job.recorded_fonts != used:
        typer.echo(
            "warning: the installed fonts differ from the recorded ones; "
            "images will differ from the original dataset",
            err=True,
        )


def _write_pages(out: Path, n: int, split: str, seed: int) -> None:
    """``lineocr synth --pages``: composed pages and their PAGE-XML (docs/pages.md)."""
    from lineocr.data.pages import PageError, write_pages

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise fail(f"--out {out}: must be a new or empty directory")
    progress = _progress_bar()
    with progress:
        task = progress.add_task("pages", total=n)
        try:
            write_pages(
                out, n, split=split, seed=seed, progress=lambda k: progress.advance(task, k)
            )
        except PageError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"wrote {n} pages (image + PAGE-XML) to {out}")


def _worker_count(workers: int | None, n: int) -> int:
    """Processes to generate with: ``--workers``, else the CPU count (at most 8)."""
    if n < 256:
        return 1  # starting processes costs more than it saves
    n_workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    return max(1, n_workers)


def _write_with_progress(
    out: Path, job: _Job, synthesizer: LineSynthesizer, workers: int
) -> WriteResult:
    """Write the dataset under a progress bar on stderr; exit 130 on Ctrl-C."""
    from lineocr.data.synth_output import WriteOptions, write_dataset

    progress = _progress_bar()
    done = [0]

    def advance(k: int) -> None:
        done[0] += k
        progress.advance(task, k)

    with progress:
        task = progress.add_task("lines", total=job.n)
        try:
            options = WriteOptions(workers=workers, progress=advance)
            return write_dataset(out, job.n, synthesizer, job.fmt, options)
        except KeyboardInterrupt:
            progress.stop()
            typer.echo(
                f"interrupted: {out} holds {done[0]} of {job.n} lines and no synth.json (an "
                f"incomplete dataset); remove it (rm -r {out}) to write it again",
                err=True,
            )
            raise typer.Exit(130) from None


def _progress_bar() -> Progress:
    """A "synth" progress bar with a line count and time left, drawn on stderr."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("synth"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def _write_preview(synthesizer: LineSynthesizer, written: int, out: Path, preview: Path) -> None:
    """Write the contact sheet of the first (at most 24) lines written."""
    from lineocr.data.synth_output import contact_sheet

    samples = [synthesizer.sample_info(i) for i in range(min(written, 24))]
    try:
        contact_sheet(samples, preview)
    except OSError as exc:
        raise fail(
            f"wrote the dataset to {out}, but not the preview {preview}: {exc.strerror or exc}"
        ) from None


def _report(result: WriteResult, out: Path, fmt: str) -> None:
    """Say on stderr how many lines were written where, and how many were skipped."""
    skipped = f" ({result.skipped} repeated labels skipped)" if result.skipped else ""
    typer.echo(f"wrote {result.written} lines to {out} ({fmt}){skipped}", err=True)
