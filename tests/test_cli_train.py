"""`lineocr train` and `lineocr eval` through the CLI runner: real runs on tiny data, and
bad inputs that must give one clear line and never a traceback."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr.cli import app
from tests.render import render

runner = CliRunner()
FAST = ["--preset", "tiny", "--epochs", "2", "--no-augment", "--threads", "1"]


@pytest.fixture
def folder(tmp_path):
    """Images named by their text (the Kaggle CAPTCHA layout), plus one corrupt file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    root.mkdir()
    for _ in range(24):
        text = "".join(rng.choice(list("0123456789"), size=4))
        Image.fromarray(render(text)).save(root / f"{text}.png")
    (root / "9999.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    return root


def test_train_then_eval(folder, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["train", "--data", str(folder), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    assert "9999.png" in result.output  # the corrupt file is reported, training went on
    assert "training summary" in result.output
    assert (out / "best.safetensors").is_file() and (out / "history.png").is_file()
    meta = json.loads((out / "best.json").read_text())
    assert meta["charset"]["chars"] == "0123456789"
    assert meta["data"]["train_samples"] + meta["data"]["val_samples"] == 24
    assert meta["calibration"]["temperature"] > 0

    result = runner.invoke(app, ["eval", "--model", str(out), "--data", str(folder), "--json"])
    assert result.exit_code == 1, result.output  # scored, but one file could not be read
    report = json.loads(result.output)
    assert report["n"] == 24
    for key in ("cer", "wer", "exact_match", "ece"):
        assert 0.0 <= report[key] <= 1.0
    assert report["skipped"][0]["source"].endswith("9999.png")

    result = runner.invoke(
        app, ["eval", "--model", str(out), "--data", str(folder), "--worst", "3"]
    )
    assert result.exit_code == 1 and "CER" in result.output


def test_resume_continues_the_run(folder, tmp_path):
    base, out = tmp_path / "base", tmp_path / "run"
    assert (
        runner.invoke(app, ["train", "--data", str(folder), "--out", str(base), *FAST]).exit_code
        == 0
    )
    config = tmp_path / "ft.yaml"  # what a fine-tune may change: ops and dropout
    config.write_text("preprocess: {ops: [auto_invert, trim]}\nmodel: {dropout: 0.5}\n")
    fine_tune = ["train", "--data", str(folder), "--out", str(out), "--init-from", str(base)]
    started = runner.invoke(app, [*fine_tune, "--config", str(config), *FAST])
    assert started.exit_code == 0, started.output
    assert "(the weights of" in started.output and "were trained with ['auto_invert'])" in (
        " ".join(started.output.split())
    )
    begun = json.loads((out / "last.json").read_text())
    assert begun["preprocess"]["ops"] == ["auto_invert", "trim"]
    assert begun["config"]["model"]["dropout"] == 0.5
    resume = ["train", "--data", str(folder), "--out", str(out), "--resume"]
    # The run defines what it trains: a new preset or learning rate is refused, not dropped.
    other = runner.invoke(app, [*resume, "--preset", "small", "--lr", "0.01", "--epochs", "3"])
    assert other.exit_code == 2, other.output
    said = " ".join(other.output.split())
    assert "model.preset 'small' (the run's 'tiny')" in said
    assert "train.lr 0.01 (the run's 0.002)" in said and "train.epochs" not in said
    assert json.loads((out / "last.json").read_text()) == begun  # nothing ran
    # So is a --config that sets other values; the same file, or the same values, are not.
    dropout = tmp_path / "dropout.yaml"
    dropout.write_text("model: {dropout: 0.3}\n")
    refused = runner.invoke(app, [*resume, "--config", str(dropout)])
    assert refused.exit_code == 2 and "model.dropout 0.3 (the run's 0.5)" in refused.output
    # Fewer epochs than the run's: refused (the run went on to its own count without a word).
    fewer = runner.invoke(app, [*resume, "--epochs", "1"])
    assert fewer.exit_code == 2, fewer.output
    assert "train.epochs 1 (the run's 2: --resume may add epochs, not remove them" in (
        " ".join(fewer.output.split())
    )
    assert json.loads((out / "last.json").read_text()) == begun
    result = runner.invoke(
        app,
        [
            *resume,
            "--config",
            str(config),
            "--preset",
            "tiny",
            "--epochs",
            "3",
            "--threads",
            "1",
            "--max-minutes",
            "30",
        ],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "last.json").read_text())
    assert saved["epoch"] == 3
    assert saved["config"]["model"]["preset"] == "tiny"
    assert saved["config"]["train"]["max_minutes"] == 30  # how it runs may change
    assert saved["data"]["init_from"] == str(base)  # where the run began, kept on resume
    assert saved["preprocess"]["ops"] == ["auto_invert", "trim"]
    taller = runner.invoke(app, [*fine_tune, "--height", "48", "--overwrite", *FAST])
    assert taller.exit_code == 2 and "read lines of height 32" in taller.output
    assert json.loads((out / "last.json").read_text()) == saved  # --overwrite lost nothing


def test_a_run_in_out_is_not_replaced_unless_asked(folder, tmp_path):
    out = tmp_path / "run"
    train = ["train", "--data", str(folder), "--out", str(out), *FAST]
    assert runner.invoke(app, train).exit_code == 0
    weights = (out / "best.safetensors").read_bytes()
    again = runner.invoke(app, train)
    assert again.exit_code == 2
    assert "holds a training run" in again.output and "--overwrite" in again.output
    assert (out / "best.safetensors").read_bytes() == weights  # untouched
    same = runner.invoke(app, [*train, "--init-from", str(out), "--overwrite"])
    assert same.exit_code == 2 and "replace the weights it starts from" in same.output
    assert (out / "best.safetensors").read_bytes() == weights
    (out / "tb" / "stale-events").write_text("an earlier run's events")
    replaced = runner.invoke(app, [*train, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not (out / "tb" / "stale-events").exists()  # no mixing of two runs' events
    assert (out / "best.safetensors").is_file()


def test_an_out_that_cannot_be_a_directory_fails_before_reading_data(folder, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out in (blocker, blocker / "run"):
        result = runner.invoke(app, ["train", "--data", str(folder), "--out", str(out), *FAST])
        assert result.exit_code == 2
        assert f"--out {out}: cannot use it as the run directory" in result.output
        assert "training summary" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/nonexistent/folder"], "/nonexistent/folder"),
        (["--preset", "huge"], "unknown preset 'huge'"),
        (["--alphabet", "0123"], "characters not in the charset"),
        (["--resume"], "nothing to resume"),
        (["--synth", "klingon"], "unknown lang"),
        (["--device", "banana"], "expected cpu, cuda, cuda:N or mps"),
        (["--device", "cuda:99"], "--device cuda:99"),  # no CUDA, or not 100 GPUs
        (["--init-from", "nosuch"], "no bundled model named 'nosuch'"),
        (["--batch-size", "0"], "--batch-size"),
        (["--epochs", "0"], "--epochs"),
        (["--max-minutes", "0"], "--max-minutes"),
        (["--freeze-backbone"], "--freeze-backbone keeps a trained CNN fixed"),
        (["--synth", "digits:1e-9"], "--synth digits:1e-9 gives no line per epoch"),
        (["--synth", "digits:0.3:loose=2"], "bad synth spec 'digits:0.3:loose=2': loose must"),
        (["--synth", "latin:0.3", "--alphabet", "0123456789"], "--synth latin:0.3 draws"),
        (["elsewhere"], "unexpected argument elsewhere: only --resume takes a run directory"),
        (["--resume", "elsewhere"], "--resume elsewhere and --out"),
    ],
)
def test_bad_input_is_one_clear_line(folder, tmp_path, args, message):
    base = ["train", "--out", str(tmp_path / "r"), "--epochs", "1", "--threads", "1"]
    if "--data" not in args:
        base += ["--data", str(folder)]
    result = runner.invoke(app, base + args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_validation_lines_that_are_training_lines_are_pointed_out(folder, tmp_path):
    out = tmp_path / "run"
    train = ["train", "--data", str(folder), "--out", str(out), *FAST, "--epochs", "1"]
    result = runner.invoke(app, [*train, "--val", str(folder)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "25 of the 25 validation lines are also training lines" in said  # as listed, unread


def test_broken_checkpoint_files_are_named(folder, tmp_path):
    out = tmp_path / "run"
    train = ["train", "--data", str(folder), *FAST, "--epochs", "1"]
    assert runner.invoke(app, [*train, "--out", str(out)]).exit_code == 0
    weights = out / "last.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a copy cut short
    resumed = runner.invoke(app, [*train, "--out", str(out), "--resume", "--epochs", "2"])
    assert resumed.exit_code == 2, resumed.output
    assert f"{weights}: cannot read it as a safetensors file" in " ".join(resumed.output.split())
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "best.json").write_text("{}")
    (empty / "best.safetensors").write_bytes(b"")
    started = runner.invoke(app, [*train, "--out", str(tmp_path / "ft"), "--init-from", str(empty)])
    assert started.exit_code == 2
    assert f"{empty / 'best.json'}: not a lineocr checkpoint" in " ".join(started.output.split())


def _interrupted_run(monkeypatch, folder, out, epochs):
    """``lineocr train`` of ``epochs`` epochs stopped by Ctrl-C in its second epoch (one step
    an epoch here); the CLI's output."""
    from lineocr.train import loop

    calls = {"n": 0}
    real = loop.ctc_loss

    def interrupting_loss(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    with monkeypatch.context() as patch:
        patch.setattr(loop, "ctc_loss", interrupting_loss)
        begun = runner.invoke(
            app,
            ["train", "--data", str(folder), "--out", str(out), *FAST, "--epochs", str(epochs)],
        )
    assert begun.exit_code == 130, begun.output
    assert json.loads((out / "last.json").read_text())["epoch"] == 1
    return " ".join(begun.output.split())


def test_resume_takes_the_run_directory_alone_and_keeps_its_plan(monkeypatch, folder, tmp_path):
    """`lineocr train --resume RUN`: the run's own data options and epoch count, saved
    with it (the positional form was refused; without --data: "no training data")."""
    out = tmp_path / "run"
    said = _interrupted_run(monkeypatch, folder, out, epochs=3)
    assert f"continue with lineocr train --resume {out}" in said
    resumed = runner.invoke(app, ["train", "--resume", str(out), "--threads", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert f"--resume: the run's own --data {folder}" in " ".join(resumed.output.split())
    saved = json.loads((out / "last.json").read_text())
    assert saved["epoch"] == 3 and saved["config"]["train"]["epochs"] == 3
    assert saved["data"]["train_samples"] + saved["data"]["val_samples"] == 24
    # A run saved before its data options were: --data is needed, as it was.
    del saved["data"]["options"]
    (out / "last.json").write_text(json.dumps(saved))
    older = runner.invoke(app, ["train", "--resume", str(out), "--epochs", "4"])
    assert older.exit_code == 2 and "no training data" in older.output


def test_resume_without_epochs_goes_on_to_the_runs_own_count(monkeypatch, folder, tmp_path):
    """Leaving --epochs out is not asking for the default 60 (the run went on to 60 and
    rewrote last.json with it)."""
    out = tmp_path / "run"
    _interrupted_run(monkeypatch, folder, out, epochs=2)
    resume = ["train", "--resume", "--out", str(out), "--data", str(folder), "--threads", "1"]
    resumed = runner.invoke(app, [*resume, "--max-minutes", "0.5"])
    assert resumed.exit_code == 0, resumed.output
    saved = json.loads((out / "last.json").read_text())
    assert saved["config"]["train"]["epochs"] == 2 and saved["epoch"] == 2
    assert saved["config"]["train"]["max_minutes"] == 0.5  # how it runs may change


def test_saved_data_options_resolve_from_the_run_folder(tmp_path, monkeypatch):
    from lineocr.train.options import DataOptions, ReaderOptions, SynthOptions

    (tmp_path / "data").mkdir()
    (tmp_path / "map.txt").write_text("0 48\n")
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    options = DataOptions(
        data=(Path("data"),),
        reader=ReaderOptions(fmt="idx", label_map="map.txt"),
        synth=SynthOptions(("digits:0.2",), per_epoch=10),
        skip_unknown=True,
    )
    saved = json.loads(json.dumps(options.to_dict(run)))
    assert saved["data"] == [str(Path("..") / ".." / "data")]  # no absolute path in the card
    monkeypatch.chdir(run)  # resumed from another folder
    again = DataOptions.from_dict(saved, Path())
    assert again.data == (tmp_path / "data",) and again.skip_unknown
    assert again.reader == ReaderOptions(fmt="idx", label_map=str(tmp_path / "map.txt"))
    assert again.synth == options.synth
    given = DataOptions(data=(Path("/elsewhere"),), reader=ReaderOptions(strip_suffix=True))
    merged = given.resumed(again)
    assert merged.data == (Path("/elsewhere"),) and merged.reader.fmt == "idx"
    assert merged.reader.strip_suffix and merged.synth == options.synth
    assert "--synth digits:0.2" in merged.flags() and "--skip-unknown" in merged.flags()


def test_unknown_config_key_names_it(folder, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  epochz: 3\n")
    result = runner.invoke(app, ["train", "--data", str(folder), "--config", str(config)])
    assert result.exit_code == 2 and "train.epochz" in result.output


def test_eval_reports_a_missing_model_clearly(folder):
    result = runner.invoke(app, ["eval", "--model", "no-such-model", "--data", str(folder)])
    assert result.exit_code == 2
    assert "no-such-model" in result.output and "Traceback" not in result.output
    negative = runner.invoke(app, ["eval", "--data", str(folder), "--worst", "-5"])
    assert negative.exit_code == 2 and "--worst" in negative.output  # was a Python slice


def test_synthetic_data_summary_names_the_fonts_of_each_split():
    """A run on synthetic lines records which font families it trained on and which
    held-out ones it validated on (the model card states both), disjoint by family."""
    from rich.console import Console

    from lineocr.config import Config
    from lineocr.train.run import DataOptions, SynthOptions, prepare_data

    options = SynthOptions(specs=("digits:1:clean",), per_epoch=10, val=4)
    prepared = prepare_data(Config(), DataOptions(synth=options), console=Console(quiet=True))
    (mix,) = prepared.info["synth"]
    trained, held_out = set(mix["fonts"]), set(prepared.info["synth_val_fonts"])
    assert mix["spec"] == "digits:1:clean" and mix["per_epoch"] == 10
    assert trained and held_out and trained.isdisjoint(held_out)
    assert "dejavu sans" in held_out  # the split is by a hash of the family (docs/synth.md)


def test_the_data_summary_counts_add_up_and_say_train_and_validation(tmp_path):
    """100 files, 3 without a label and 5 that are not images: the summary said "samples
    97, skipped 8" (the unreadable counted twice); now 92 + 8, then 83 train + 9 validation
    + 8 skipped."""
    from io import StringIO

    from rich.console import Console

    from lineocr.config import Config
    from lineocr.train.run import DataOptions, ReaderOptions, prepare_data

    root = tmp_path / "data"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(100):
        text = "".join(rng.choice(list("0123456789"), size=4))
        image = root / f"l{i:03d}.png"
        if i < 5:
            image.write_bytes(b"\x89PNG\r\n\x1a\n broken")
        else:
            Image.fromarray(render(text)).save(image)
        if i < 97:
            (root / f"l{i:03d}.gt.txt").write_text(text)
    out = StringIO()
    options = DataOptions((root,), reader=ReaderOptions(fmt="sidecar"))
    prepared = prepare_data(Config(), options, console=Console(file=out, width=120))
    said = out.getvalue()
    samples = int(re.search(r"samples\s+(\d+)", said).group(1))
    skipped = int(re.search(r"skipped\s+(\d+)", said).group(1))
    assert (samples, skipped) == (92, 8)
    assert "training data: 100 samples: 83 train, 9 validation, 8 skipped" in said
    info = prepared.info
    assert info["train_samples"] + info["val_samples"] + info["skipped"] == 100


def test_data_without_a_usable_line_is_an_error_even_with_synth(tmp_path):
    """--data whose every line is unusable must not quietly become a synthetic-only run."""
    from rich.console import Console

    from lineocr.config import Config
    from lineocr.train.run import DataOptions, SynthOptions, prepare_data

    data = tmp_path / "data"
    data.mkdir()
    for name in ("12_a.png", "34_b.png"):
        (data / name).write_bytes(b"not an image")
    options = SynthOptions(specs=("digits:0.5:clean",), per_epoch=10, val=4)
    with pytest.raises(ValueError, match="no usable training line in --data"):
        prepare_data(Config(), DataOptions((data,), synth=options), console=Console(quiet=True))


def _sidecar_set_with_problems(root: Path) -> Path:
    """Three readable lines (one with a character no model here has), an image without a
    label, one with an empty label, a label without an image and a corrupt image."""
    root.mkdir()
    for name, text in (("a", "abc"), ("b", "cab"), ("c", "ab漢")):
        Image.fromarray(render(text)).save(root / f"{name}.png")
        (root / f"{name}.gt.txt").write_text(text, encoding="utf-8")
    Image.fromarray(render("nolabel")).save(root / "d.png")
    Image.fromarray(render("empty")).save(root / "e.png")
    (root / "e.gt.txt").write_text("", encoding="utf-8")
    (root / "f.gt.txt").write_text("orphan", encoding="utf-8")
    (root / "g.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "g.gt.txt").write_text("abc", encoding="utf-8")
    return root


def test_eval_lists_what_it_skipped_and_what_the_model_cannot_write(tiny_onnx_model, tmp_path):
    """Every sample left out is named (a missing or empty label, an orphan label file, a
    corrupt image), label characters outside the charset are warned about, and the exit
    status is 1 as for `lineocr read`; with nothing readable it is an error."""
    root = _sidecar_set_with_problems(tmp_path / "side")
    args = ["eval", "-m", str(tiny_onnx_model), "--data", str(root), "--format", "sidecar"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 3
    skipped = {Path(s["source"]).name: s["reason"] for s in report["skipped"]}
    assert set(skipped) == {"d.png", "e.png", "f.gt.txt", "g.png"}
    assert "no label file" in skipped["d.png"] and "empty label" in skipped["e.png"]
    assert report["unwritable_characters"] == {"漢": 1}
    text = runner.invoke(app, args)
    assert text.exit_code == 1 and "4 skipped" in text.stdout
    assert "cannot write" in text.stderr and "'漢' (1)" in text.stderr

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (bad / "x.gt.txt").write_text("abc", encoding="utf-8")
    nothing = runner.invoke(app, ["eval", "-m", str(tiny_onnx_model), "--data", str(bad)])
    assert nothing.exit_code == 2 and "nothing to score" in nothing.output
    assert "Traceback" not in nothing.output

    # One --data source with no usable line is skipped and named; the others are scored
    # (it stopped the whole evaluation). With no source left it is still an error.
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    Image.fromarray(render("abc")).save(unlabelled / "a.png")
    no_images = tmp_path / "no-images"
    no_images.mkdir()
    more = ["--data", str(unlabelled), "--data", str(no_images), "--data", str(tmp_path / "gone")]
    result = runner.invoke(app, [*args, *more, "--json"])  # --format sidecar for all
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 3
    reasons = {s["source"]: s["reason"] for s in report["skipped"]}
    assert str(unlabelled) in reasons and str(no_images) in reasons
    assert "no such file" in reasons[str(tmp_path / "gone")]
    # Formats detected per source: one that cannot be detected (no images; a missing
    # path) is skipped the same way (detection stopped the evaluation).
    detected = ["eval", "-m", str(tiny_onnx_model), "--data", str(unlabelled)]
    result = runner.invoke(app, [*detected, *more[2:], "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 1  # unlabelled/a.png, labelled "a" by its name
    reasons = {s["source"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {str(no_images), str(tmp_path / "gone")}
    only = runner.invoke(app, [*args[:3], "--data", str(unlabelled), "--format", "sidecar"])
    assert only.exit_code == 2 and "unlabelled" in only.output


def test_eval_reads_on_the_threads_it_is_given(tmp_path, tiny_onnx_model, monkeypatch):
    from lineocr.runtime import Recognizer

    root = tmp_path / "lines"
    root.mkdir()
    for name, text in (("a", "abc"), ("b", "cab")):
        Image.fromarray(render(text)).save(root / f"{name}.png")
        (root / f"{name}.gt.txt").write_text(text, encoding="utf-8")
    args = ["eval", "-m", str(tiny_onnx_model), "--data", str(root), "--json"]
    default = json.loads(runner.invoke(app, args).stdout)
    loaded = []
    real_load = Recognizer.load.__func__

    def load(cls, model, *, threads=None):
        rec = real_load(cls, model, threads=threads)
        loaded.append(rec.threads)
        return rec

    monkeypatch.setattr(Recognizer, "load", classmethod(load))
    result = runner.invoke(app, [*args, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert loaded == [1]
    assert json.loads(result.stdout)["cer"] == default["cer"]
    assert runner.invoke(app, [*args, "--threads", "0"]).exit_code == 2


def test_a_label_that_normalises_to_nothing_is_skipped_not_scored():
    from lineocr.charset import Charset, CharsetOptions
    from lineocr.data.sources import Sample
    from lineocr.evaluate import evaluate

    charset = Charset.from_string("ab", CharsetOptions(strip_tatweel=True))
    image = render("ab")
    samples = [Sample("ab", "one", pixels=image), Sample("\u0640\u0640", "two", pixels=image)]
    report = evaluate(samples, lambda images: [("ab", 0.9)] * len(images), charset.normalize)
    assert report.skipped == [("two", "label '\u0640\u0640' is empty once normalised")]
    assert report.scores.cer == 0.0  # was scored as a CER of 200 % against ""


@pytest.mark.parametrize(
    ("args", "warned"),
    [
        (["--data", "DATA", "--synth-per-epoch", "100"], ["--synth-per-epoch"]),
        (["--data", "DATA", "--synth", "digits:0.3", "--synth-per-epoch", "100"], ["-per-epoch"]),
        (["--data", "DATA", "--synth-val", "50"], ["--synth-val is not used with --data"]),
        (["--val", "DATA", "--synth", "digits", "--synth-val", "50"], ["used with --val"]),
        (["--data", "DATA", "--synth-per-epoch", "9", "--synth-val", "9"], ["-per-epoch", "-val"]),
        (["--synth", "digits", "--synth-per-epoch", "100", "--synth-val", "50"], []),
        (["--data", "DATA", "--synth", "digits:0.3"], []),
    ],
)
def test_synth_options_a_run_will_not_use_are_warned_about(folder, tmp_path, args, warned):
    """--synth-per-epoch and --synth-val size synthetic-only runs; with --data (and for
    --synth-val, --val) they were silently ignored. Each is now named once on stderr (the
    run stops at the bad preset here, after the warnings, before reading any data)."""
    args = [str(folder) if a == "DATA" else a for a in args]
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "r"), *args, "--preset", "x"])
    assert result.exit_code == 2 and "unknown preset" in result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: --")]
    assert len(warnings) == len(warned), result.stderr
    for line, option in zip(warnings, warned, strict=True):
        assert option in line and "not used" in line


def test_eval_with_tta_scores_the_augmented_reading(tiny_onnx_model, tmp_path):
    """eval --tta scores what read_batch(tta=True) reads (with the same batches)."""
    from lineocr.runtime import Recognizer

    root = tmp_path / "named"
    root.mkdir()
    texts = ("abc", "cab", "bca")
    for text in texts:
        Image.fromarray(render(text, size=26)).save(root / f"{text}.png")
    args = ["eval", "-m", str(tiny_onnx_model), "--data", str(root), "--json"]
    args += ["--batch-size", "1", "--worst", "3"]
    rec = Recognizer.load(tiny_onnx_model)
    for tta in (False, True):
        result = runner.invoke(app, [*args, *(["--tta"] if tta else [])])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        want = {
            t: rec.read_batch([root / f"{t}.png"], tta=tta, batch_size=1)[0].text for t in texts
        }
        exact = sum(want[t] == t for t in texts) / len(texts)
        assert report["exact_match"] == pytest.approx(exact)
        assert {w["reference"]: w["prediction"] for w in report["worst"]} == {
            t: p for t, p in want.items() if p != t
        }


def test_eval_scores_a_constrained_reading(tiny_onnx_model, tmp_path):
    """eval takes read's decoding options (--beam-width, --lexicon, --pattern; the docs
    promised "reading options": only --decoder and --lm were there) and scores what
    read_batch reads with them; bad ones are one error line before any image is read."""
    from lineocr.runtime import Recognizer

    root = tmp_path / "named"
    root.mkdir()
    texts = ("abc", "cab", "bca")
    for text in texts:
        Image.fromarray(render(text, size=26)).save(root / f"{text}.png")
    words = tmp_path / "words.txt"
    words.write_text("abc\ncab\n", encoding="utf-8")
    args = ["eval", "-m", str(tiny_onnx_model), "--data", str(root), "--json", "--worst", "3"]
    rec = Recognizer.load(tiny_onnx_model)
    for given, options, holds in (
        (
            ["--pattern", "[abc]{3}", "--beam-width", "4"],
            {"pattern": "[abc]{3}", "beam_width": 4},
            lambda text: re.fullmatch("[abc]{3}", text),
        ),
        (  # digits, punctuation and spaces are free (docs/decoding.md)
            ["--lexicon", str(words)],
            {"lexicon": str(words)},
            lambda text: set(re.findall("[a-z]+", text)) <= {"abc", "cab"},
        ),
    ):
        result = runner.invoke(app, [*args, *given])
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        want = {t: rec.read(root / f"{t}.png", **options).text for t in texts}
        assert {w["reference"]: w["prediction"] for w in report["worst"]} == {
            t: p for t, p in want.items() if p != t
        }
        assert all(holds(p) for p in want.values()), want
    for bad, message in (
        (["--pattern", "(unclosed"], "pattern"),
        (["--lexicon", str(tmp_path / "none.txt")], "none.txt"),
        (["--beam-width", "0"], "--beam-width"),
    ):
        result = runner.invoke(app, [*args, *bad])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
