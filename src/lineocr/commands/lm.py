"""`lineocr lm`: build a character n-gram language model for the beam search (registered on
import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lineocr.cli import app, fail

# typer needs Optional[...] on Python 3.10
# ruff: noqa: UP045


@app.command("lm")
def build_lm(
    out: Annotated[Path, typer.Option("--out", "-o", help="Language model file to write (JSON).")],
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="The model it will decode for: its text normalisation is used."
        ),
    ] = "printed",
    text: Annotated[
        Optional[list[Path]],
        typer.Option("--text", help="UTF-8 text file, one line of text per line; repeatable."),
    ] = None,
    synth: Annotated[
        Optional[list[str]],
        typer.Option(
            "--synth",
            help="Also the texts of lineocr's line generator: LANG (latin, arabic, mixed, ...); "
            "repeatable.",
        ),
    ] = None,
    synth_lines: Annotated[int, typer.Option(help="Generated lines per --synth.")] = 50_000,
    order: Annotated[int, typer.Option(help="n: characters of context + 1.")] = 5,
    min_count: Annotated[
        int, typer.Option(help="Drop contexts (of 2+ characters) seen fewer times.")
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the generated texts.")] = 1,
) -> None:
    """Build a character n-gram language model; use it with `lineocr read --lm FILE`."""
    from lineocr.lm import CharNgramLM, LMError
    from lineocr.runtime import ModelError, ModelNotFoundError, Recognizer

    if not text and not synth:
        raise fail("give --text FILE and/or --synth LANG")
    try:
        charset = Recognizer.load(model).charset
    except (ModelNotFoundError, ModelError, OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    lines: list[str] = []
    for path in text or []:
        try:
            lines += path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise fail(f"{path}: cannot read: {exc}") from None
    for lang in synth or []:
        from lineocr.data.synth import LineSynthesizer, SynthConfig, SynthError

        try:
            gen = LineSynthesizer(SynthConfig(lang=lang), seed=seed, split="train")
        except (SynthError, ValueError) as exc:
            raise fail(f"--synth {lang}: {exc}") from None
        lines += [gen.text(i) for i in range(synth_lines)]
    known = set(charset.chars)
    usable = [line for line in lines if set(charset.normalize_label(line)) <= known]
    try:
        lm = CharNgramLM.fit(usable, charset, order=order, min_count=min_count)
    except LMError as exc:
        raise fail(str(exc)) from None
    lm.save(out)
    size = out.stat().st_size / 1e6
    typer.echo(
        f"{out}: order {order}, {len(usable):,} lines ({len(lines) - len(usable):,} with "
        f"characters the model cannot write skipped), {len(lm.counts):,} contexts, {size:.1f} MB"
    )
