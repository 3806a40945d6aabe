"""What a training run is given besides its config: the data to read and how to run it.

Frozen option objects, passed whole instead of long parameter lists: :class:`TrainOptions`
to :func:`lineocr.train.run.train` (``lineocr train``), :class:`FitOptions` with a
:class:`PreparedData` to :func:`lineocr.train.loop.fit`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lineocr.charset import Charset, shown_chars

if TYPE_CHECKING:
    from rich.console import Console
    from torch import nn

    from lineocr.data.batching import Example, SynthMix
    from lineocr.data.sources import Dataset
    from lineocr.models.spec import Preset


@dataclass
class InitFrom:
    """A trained model to start from (fine-tuning)."""

    model: nn.Module
    charset: Charset


@dataclass
class PreparedData:
    """Encoded lines to train and validate on, the charset they are encoded with, the
    synthetic lines mixed into each epoch and a summary of it all (saved with the run)."""

    charset: Charset
    train: Sequence[Example]
    val: Sequence[Example]
    info: dict[str, Any] = field(default_factory=dict)
    synth: Sequence[SynthMix] = ()


@dataclass(frozen=True)
class FitOptions:
    """How :func:`lineocr.train.loop.fit` runs, beyond the config."""

    device: str = "cpu"
    resume: bool = False  # continue the run in the run directory
    init_from: InitFrom | None = None  # weights to start from (fine-tuning)
    name: str = "model"  # the model's name in its checkpoints
    console: Console | None = None  # where it reports (default: stderr)
    show_progress: bool = True
    tensorboard: bool = True


@dataclass(frozen=True)
class ReaderOptions:
    """How to read a dataset path (see docs/formats.md)."""

    fmt: str | None = None
    strip_suffix: bool = False
    label_regex: str | None = None
    label_map: str | None = None
    transpose: bool = False

    def read(
        self, srcs: Sequence[str | Path], unusable: list[tuple[str, str]] | None = None
    ) -> list[Dataset]:
        """Each source with the options its format uses (see :func:`read_datasets`, also
        for ``unusable``)."""
        from lineocr.data.sources import read_datasets

        return read_datasets(
            srcs,
            self.fmt,
            strip_suffix=self.strip_suffix,
            label_regex=self.label_regex,
            label_map=self.label_map,
            transpose=self.transpose,
            unusable=unusable,
        )


@dataclass(frozen=True)
class SynthOptions:
    """Synthetic lines mixed into training: ``specs`` as ``LANG[:RATIO][:STYLE][:KEY=VALUE...]``.

    With real data, the ratios are the synthetic share of each epoch (their sum below 1);
    without, each epoch has ``per_epoch`` synthetic lines shared by ratio, and validation
    uses ``val`` lines per spec drawn in held-out fonts.
    """

    specs: tuple[str, ...] = ()
    per_epoch: int = 20000
    val: int = 500

    def synthesizers(
        self,
        seed: int,
        split: str,
        charset: Charset | None = None,
        console: Console | None = None,
    ) -> list[tuple[str, Any, float]]:
        """(spec, synthesizer, ratio) for each spec. With a fixed ``charset`` (``--alphabet``,
        a resumed run), a synthesizer whose language draws characters outside it draws only
        those inside (see :func:`outside_charset`), said on ``console``."""
        from lineocr.data.synth import LineSynthesizer, SynthError, parse_synth_spec

        out = []
        for spec in self.specs:
            config, ratio = parse_synth_spec(spec)  # its errors name the spec
            try:
                gen = LineSynthesizer(config, seed=seed, split=split)
            except SynthError as exc:
                raise SynthError(f"--synth {spec}: {exc}") from None
            outside = outside_charset(gen.alphabet, charset) if charset is not None else ""
            if outside:
                inside = "".join(c for c in gen.alphabet if c not in outside)
                fixed = "the charset (--alphabet or the resumed run's)"
                if not inside.strip():
                    raise SynthError(
                        f"--synth {spec}: none of the characters it draws is in {fixed}: "
                        f"{shown_chars(outside)}"
                    )
                try:
                    gen = LineSynthesizer(replace(config, alphabet=inside), seed=seed, split=split)
                    gen.sample(0)  # texts are made lazily: one line shows they can be
                except SynthError as exc:
                    raise SynthError(
                        f"--synth {spec} draws characters outside {fixed}: {shown_chars(outside)}; "
                        f"its lines cannot be made of the others: {exc}"
                    ) from None
                if console is not None:
                    console.print(
                        f"--synth {spec}: lines of the {len(inside)} characters it draws that "
                        f"the charset has (left out: {shown_chars(outside)})"
                    )
            out.append((spec, gen, ratio))
        return out


def outside_charset(alphabet: str, charset: Charset) -> str:
    """The characters of a synthesizer's ``alphabet`` that ``charset`` cannot encode (a line
    containing one would fail to encode in the middle of training)."""
    return "".join(
        c for c in alphabet if any(n not in charset for n in charset.normalize_label(c).strip())
    )


@dataclass(frozen=True)
class DataOptions:
    """What a run trains and validates on: dataset paths, how to read them, synthetic
    lines, and whether lines with characters outside a fixed charset are skipped.

    A run saves them (:meth:`to_dict`, in its checkpoints' ``data.options``), so that
    ``--resume`` continues with them (:meth:`resumed`) from the run folder alone."""

    data: tuple[str | Path, ...] = ()
    val: tuple[str | Path, ...] = ()
    reader: ReaderOptions = ReaderOptions()
    synth: SynthOptions = SynthOptions()
    skip_unknown: bool = False

    def to_dict(self, run_dir: Path) -> dict[str, Any]:
        """JSON, with paths relative to ``run_dir`` (the run resumes from any folder, and
        its card names no absolute path)."""
        label_map = self.reader.label_map
        if label_map is not None and Path(label_map).is_file():  # else a map's name
            label_map = _relative(label_map, run_dir)
        return {
            "data": [_relative(p, run_dir) for p in self.data],
            "val": [_relative(p, run_dir) for p in self.val],
            "reader": dataclasses.asdict(replace(self.reader, label_map=label_map)),
            "synth": {**dataclasses.asdict(self.synth), "specs": list(self.synth.specs)},
            "skip_unknown": self.skip_unknown,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], run_dir: Path) -> DataOptions:
        """What :meth:`to_dict` saved in ``run_dir``; a ValueError names a bad value."""
        from lineocr.config import ConfigError, from_dict

        try:
            saved = from_dict(cls, data, prefix="data.options.")
        except ConfigError as exc:
            raise ValueError(f"{run_dir}: the run's saved data options: {exc}") from None
        label_map = saved.reader.label_map
        if label_map is not None and (run_dir / label_map).is_file():
            label_map = str(_absolute(label_map, run_dir))
        return replace(
            saved,
            data=tuple(_absolute(p, run_dir) for p in saved.data),
            val=tuple(_absolute(p, run_dir) for p in saved.val),
            reader=replace(saved.reader, label_map=label_map),
        )

    def resumed(self, saved: DataOptions) -> DataOptions:
        """These options, each left out (at its default) taking the saved run's value."""
        return _defaults_from(self, saved)

    def flags(self) -> list[str]:
        """The ``lineocr train`` options that give these (those not at their default)."""
        changed = _changed(self, DataOptions())
        flags: list[str] = []
        for key, flag in _FLAGS.items():
            value = changed.get(key)
            if isinstance(value, bool):
                flags.append(flag)
            elif isinstance(value, tuple):
                flags.extend(f"{flag} {v}" for v in value)
            elif value is not None:
                flags.append(f"{flag} {value}")
        return flags


_FLAGS = {
    "data": "--data",
    "val": "--val",
    "reader.fmt": "--format",
    "reader.strip_suffix": "--strip-suffix",
    "reader.label_regex": "--label-regex",
    "reader.label_map": "--label-map",
    "reader.transpose": "--transpose",
    "synth.specs": "--synth",
    "synth.per_epoch": "--synth-per-epoch",
    "synth.val": "--synth-val",
    "skip_unknown": "--skip-unknown",
}

T = TypeVar("T")


def _defaults_from(given: T, saved: T) -> T:
    """``given`` with each field at its default replaced by ``saved``'s (options within
    options field by field)."""
    default = type(given)()
    changes = {}
    for f in dataclasses.fields(given):  # type: ignore[arg-type]
        value = getattr(given, f.name)
        if dataclasses.is_dataclass(value):
            changes[f.name] = _defaults_from(value, getattr(saved, f.name))
        elif value == getattr(default, f.name):
            changes[f.name] = getattr(saved, f.name)
    return replace(given, **changes)  # type: ignore[type-var]


def _changed(options: Any, default: Any, prefix: str = "") -> dict[str, Any]:
    """The fields of ``options`` not at their ``default``, as ``reader.fmt``: value."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(options):
        value, base = getattr(options, f.name), getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            out |= _changed(value, base, f"{prefix}{f.name}.")
        elif value != base:
            out[prefix + f.name] = value
    return out


def _relative(path: str | Path, run_dir: Path) -> str:
    absolute = Path(path).resolve()
    try:
        return os.path.relpath(absolute, run_dir.resolve())
    except ValueError:  # another drive (Windows)
        return str(absolute)


def _absolute(path: str | Path, run_dir: Path) -> Path:
    return Path(os.path.normpath(run_dir.resolve() / path))


@dataclass(frozen=True)
class TrainOptions:
    """How ``lineocr train`` runs, besides the config and the run directory."""

    data: DataOptions = DataOptions()
    alphabet: str | None = None  # a fixed character set (default: from the labels)
    init_from: str | Path | None = None  # fine-tune from a run, checkpoint or bundled model
    preset: Preset | None = None  # with init_from: another preset than the weights'
    resume: bool = False  # continue the run in the run directory
    overwrite: bool = False  # replace a run already there
    # The settings (``section.key``) the caller set itself: resuming, those that differ
    # from the run's are refused (see lineocr.train.run.resume_conflicts).
    asked: tuple[str, ...] = ()
    device: str = "cpu"
    name: str = "model"
    console: Console | None = None
    show_progress: bool = True
