"""`lineocr lm`: build a character n-gram language model for the beam search (registered on
import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lineocr.cli import app, check_output_file, fail
from lineocr.lm import DEFAULT_LENGTH_BONUS, DEFAULT_LM_WEIGHT
from lineocr.zoo import DEFAULT_MODEL

# typer needs Optional[...] on Python 3.10
# ruff: noqa: UP045

# Decoding with a language model: the same options on `lineocr read` and `lineocr eval`.
_LM_HELP = "Character language model file (from `lineocr lm`): beam search with it"
LmOpt = Annotated[Optional[Path], typer.Option(help=_LM_HELP + ".")]
ReadLmOpt = Annotated[
    Optional[Path],
    typer.Option(help=_LM_HELP + " (with --server: the name of one of the server's)."),
]
LmWeightOpt = Annotated[
    Optional[float],
    typer.Option(help=f"Weight of the language model (with --lm; default {DEFAULT_LM_WEIGHT})."),
]
LengthBonusOpt = Annotated[
    Optional[float],
    typer.Option(help=f"Score added per character (with --lm; default {DEFAULT_LENGTH_BONUS})."),
]


def lm_decode_options(
    lm: Path | None, lm_weight: float | None = None, length_bonus: float | None = None
) -> dict[str, object]:
    """The decode options for --lm, --lm-weight and --length-bonus (none without --lm:
    then a weight or bonus given, even at its default value, is an error, not ignored)."""
    if lm is None:
        given = [
            name
            for name, value in (("--lm-weight", lm_weight), ("--length-bonus", length_bonus))
            if value is not None
        ]
        if given:
            verb = "go" if len(given) > 1 else "goes"
            raise fail(f"{' and '.join(given)} {verb} with --lm (a language model file)")
        return {}
    return {
        "lm": str(lm),
        "lm_weight": DEFAULT_LM_WEIGHT if lm_weight is None else lm_weight,
        "length_bonus": DEFAULT_LENGTH_BONUS if length_bonus is None else length_bonus,
    }


@app.command("lm")
def build_lm(  # noqa: PLR0913 - a Typer command: one parameter per option
    out: Annotated[Path, typer.Option("--out", "-o", help="Language model file to write (JSON).")],
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="The model it will decode for: its text normalisation is used."
        ),
    ] = DEFAULT_MODEL,
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
    synth_lines: Annotated[int, typer.Option(help="Generated lines per --synth.", min=1)] = 50_000,
    order: Annotated[int, typer.Option(help="n: characters of context + 1.", min=1, max=12)] = 5,
    min_count: Annotated[
        int, typer.Option(help="Drop contexts (of 2+ characters) seen fewer times.", min=1)
    ] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the generated texts.")] = 1,
) -> None:
    """Build a character n-gram language model; use it with `lineocr read --lm FILE`."""
    from lineocr.charset import shown_chars
    from lineocr.lm import CharNgramLM, LMError
    from lineocr.runtime import ModelError, ModelNotFoundError, Recognizer

    if not text and not synth:
        raise fail("give --text FILE and/or --synth LANG")
    check_output_file(out, "--out")
    try:
        charset = Recognizer.load(model).charset
    except (ModelNotFoundError, ModelError, OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    lines: list[str] = []
    for path in text or []:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise fail(f"{path}: cannot read: {exc.strerror or exc}") from None
        lines += _utf8_lines(path, raw)
    for lang in synth or []:
        from lineocr.data.synth import LineSynthesizer, SynthConfig, SynthError

        try:
            gen = LineSynthesizer(SynthConfig(lang=lang), seed=seed, split="train")
        except (SynthError, ValueError) as exc:
            raise fail(f"--synth {lang}: {exc}") from None
        lines += [gen.text(i) for i in range(synth_lines)]
    known = set(charset.chars)
    # as the model's classes spell them (Western digits as a map_digits model draws them)
    usable = [line for line in lines if set(charset.as_drawn(line)) <= known]
    if lines and not any(line.strip() for line in usable):
        unknown = sorted({c for line in lines for c in charset.as_drawn(line)} - known)
        raise fail(
            f"no usable text: the {len(lines):,} lines read all have characters {model} cannot "
            f"write ({shown_chars(unknown)})"
        )
    try:
        lm = CharNgramLM.fit(usable, charset, order=order, min_count=min_count)
    except LMError as exc:
        raise fail(str(exc)) from None
    try:
        lm.save(out)
    except OSError as exc:
        raise fail(f"cannot write {out}: {exc.strerror or exc}") from None
    size = out.stat().st_size / 1e6
    typer.echo(
        f"{out}: order {order}, {len(usable):,} lines ({len(lines) - len(usable):,} with "
        f"characters the model cannot write skipped), {len(lm.counts):,} contexts, {size:.1f} MB"
    )


def _utf8_lines(path: Path, raw: bytes) -> list[str]:
    """The lines of a text file; a line that is not UTF-8 is skipped and said (one stray
    Latin-1 byte should not cost the whole corpus)."""
    lines, bad = [], []
    for number, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").splitlines(), 1):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(number)
    if bad:
        typer.echo(
            f"warning: {path}: {len(bad):,} line(s) not UTF-8 skipped (line "
            f"{', '.join(map(str, bad[:5]))}{', ...' if len(bad) > 5 else ''})",
            err=True,
        )
    return lines
