"""`lineocr synth`: write a synthetic line dataset (registered on import)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from lineocr.cli import app, check_output_file, fail

# typer needs Optional[...] on Python 3.10
# ruff: noqa: UP045


PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="New or empty output directory.")],
    n: Annotated[Optional[int], typer.Option("--n", help="Number of lines to write.")] = None,
    lang: Annotated[
        str, typer.Option(help="latin | arabic | mixed | digits | arabic-digits | captcha")
    ] = "latin",
    style: Annotated[
        Optional[str],
        typer.Option(
            help="clean | scan | photo | blurred | sharpened | captcha | mix "
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
) -> None:
    """Write a synthetic dataset of text-line images and labels (any format train reads)."""
    import warnings

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from lineocr.data.synth import LineSynthesizer, SynthConfig, SynthError
    from lineocr.data.synth_output import (
        check_output_dir,
        contact_sheet,
        replay_settings,
        write_dataset,
    )

    if preview is not None:  # before the dataset is written, not after
        check_output_file(preview, "--preview", PREVIEW_SUFFIXES)
    try:
        if replay is not None:
            settings = replay_settings(replay)
            config, seed, font_split, fmt = (
                settings.config,
                settings.seed,
                settings.split,
                settings.fmt,
            )
            n = settings.n if n is None else n
        else:
            if n is None:
                raise fail("--n is required (or --replay a synth.json)")
            font_sources = tuple(
                str(Path(f).resolve()) if Path(f).exists() else f for f in fonts or ()
            )
            config = SynthConfig(
                lang=lang,
                style=style,
                fonts=font_sources,
                corpus=str(corpus.resolve()) if corpus is not None else None,
                corpus_mode=corpus_mode,
                min_chars=min_chars,
                max_chars=max_chars,
                alphabet=alphabet,
                loose=loose,
            )
        if n < 1:
            raise fail("--n must be at least 1")
        check_output_dir(out)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            synthesizer = LineSynthesizer(config, seed=seed, split=font_split)
        for w in caught:
            typer.echo(f"warning: {w.message}", err=True)
        if replay is not None:
            recorded = set(settings.fonts)
            used = {f.path for f in synthesizer.faces}
            if recorded and recorded != used:
                typer.echo(
                    "warning: the installed fonts differ from the recorded ones; "
                    "images will differ from the original dataset",
                    err=True,
                )
        n_workers = workers if workers is not None else min(8, os.cpu_count() or 1)
        if n < 256:
            n_workers = 1  # starting processes costs more than it saves
        progress = Progress(
            TextColumn("synth"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        done = [0]

        def advance(k: int) -> None:
            done[0] += k
            progress.advance(task, k)

        with progress:
            task = progress.add_task("lines", total=n)
            try:
                result = write_dataset(
                    out, n, synthesizer, fmt, workers=max(1, n_workers), progress=advance
                )
            except KeyboardInterrupt:
                progress.stop()
                typer.echo(
                    f"interrupted: {out} holds {done[0]} of {n} lines and no synth.json (an "
                    f"incomplete dataset); remove it (rm -r {out}) to write it again",
                    err=True,
                )
                raise typer.Exit(130) from None
        if preview is not None:
            samples = [synthesizer.sample_info(i) for i in range(min(result.written, 24))]
            try:
                contact_sheet(samples, preview)
            except OSError as exc:
                raise fail(
                    f"wrote the dataset to {out}, but not the preview {preview}: "
                    f"{exc.strerror or exc}"
                ) from None
    except SynthError as exc:
        raise fail(str(exc)) from None
    skipped = f" ({result.skipped} repeated labels skipped)" if result.skipped else ""
    typer.echo(f"wrote {result.written} lines to {out} ({fmt}){skipped}", err=True)
