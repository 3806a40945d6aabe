"""Training: a tiny model learns, checkpoints resume, fine-tuning grows the charset,
data parallelism matches one process."""

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from lineocr.charset import Charset
from lineocr.config import Config, override
from lineocr.data.batching import Batch, load_examples
from lineocr.train.checkpoint import load_checkpoint, new_file_mode
from lineocr.train.loop import FitOptions, InitFrom, PreparedData, fit, too_narrow
from tests.render import ArraySample, render

ROOT = Path(__file__).resolve().parents[1]


def make_examples(n, seed=0, alphabet="0123456789", charset=None, lengths=(3, 6)):
    rng = np.random.default_rng(seed)
    texts = ["".join(rng.choice(list(alphabet), size=rng.integers(*lengths))) for _ in range(n)]
    samples = [ArraySample(t, render(t, size=22)) for t in texts]
    cs = charset or Charset.from_string(alphabet)
    return cs, load_examples(samples, cs, Config().preprocess).examples


def tiny_config(**changes):
    base = dict(
        model__preset="tiny",
        model__dropout=0.0,
        augment__enabled=False,
        train__batch_size=8,
        train__lr=3e-3,
        train__epochs=60,
        train__patience=60,
        train__threads=1,
        train__warmup=0.05,
    )
    return override(Config(), **(base | changes))


@pytest.mark.slow
def test_tiny_model_overfits_32_samples(tmp_path):
    cs, examples = make_examples(32)
    result = fit(
        tiny_config(train__epochs=80, train__patience=80),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False, tensorboard=False),
    )
    assert result.best["val_exact_match"] == 1.0, result.history[-1]
    _, meta = load_checkpoint(tmp_path)
    assert meta.metrics["val_exact_match"] == 1.0
    assert (tmp_path / "history.png").stat().st_size > 1000


def test_run_directory_contents_and_resume_continues_from_saved_step(tmp_path):
    cs, examples = make_examples(24)
    cfg = tiny_config(train__epochs=2)
    first = fit(
        cfg,
        PreparedData(cs, examples[:16], examples[16:]),
        tmp_path,
        FitOptions(show_progress=False),
    )
    for name in (
        "best.safetensors",
        "best.json",
        "last.safetensors",
        "last.json",
        "last.optim.safetensors",
        "history.png",
    ):
        assert (tmp_path / name).is_file(), name
        if name != "history.png":  # checkpoints had mkstemp's 0o600 (others could not read)
            assert (tmp_path / name).stat().st_mode & 0o777 == new_file_mode(), name
    assert any((tmp_path / "tb").iterdir())  # TensorBoard events
    saved = json.loads((tmp_path / "last.json").read_text())
    assert saved["step"] == first.step == 2 * 2 and saved["epoch"] == 2
    assert "optim_param_groups" in saved["extra"]

    resumed = fit(
        tiny_config(train__epochs=4),
        PreparedData(cs, examples[:16], examples[16:]),
        tmp_path,
        FitOptions(show_progress=False, resume=True),
    )
    assert resumed.epochs == 4 and resumed.step == first.step + 2 * 2
    assert [h["epoch"] for h in resumed.history] == [1.0, 2.0, 3.0, 4.0]


def test_too_narrow_counts_lines_ctc_cannot_align() -> None:
    # "aab" needs 4 frames (a blank between the repeated a's); a frame is 4 columns
    batch = Batch(
        images=torch.zeros(3, 1, 32, 16),
        widths=torch.tensor([12, 16, 4]),
        targets=torch.tensor([1, 1, 2, 1, 1, 2, 3]),
        target_lengths=torch.tensor([3, 3, 1]),
        indices=[0, 1, 2],
    )
    assert too_narrow(batch) == 1  # 3 frames for "aab"; 4 frames and 1 frame for "c" fit


def test_an_epoch_reports_lines_too_narrow_to_learn(tmp_path, capsys):
    cs, examples = make_examples(16)
    squeezed = replace(examples[0], image=examples[0].image[:, :8])  # 2 frames, 3+ labels
    result = fit(
        tiny_config(train__epochs=2),
        PreparedData(cs, [squeezed, *examples[1:]], examples[1:]),
        tmp_path,
        FitOptions(show_progress=False, tensorboard=False),
    )
    assert [h["train_too_narrow"] for h in result.history] == [1.0, 1.0]
    assert "1 training lines were too narrow for their labels" in capsys.readouterr().err


def test_a_step_with_a_nan_loss_is_skipped_not_applied(tmp_path, monkeypatch, capsys):
    from lineocr.train import loop

    calls = {"n": 0}
    real = loop.ctc_loss

    def nan_on_second_step(*args):
        calls["n"] += 1
        loss = real(*args)
        return loss * float("nan") if calls["n"] == 2 else loss

    monkeypatch.setattr(loop, "ctc_loss", nan_on_second_step)
    cs, examples = make_examples(16)
    result = fit(
        tiny_config(train__epochs=2),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False),
    )
    assert result.stopped == "completed"
    assert [h["train_skipped_steps"] for h in result.history] == [1.0, 0.0]
    assert all(np.isfinite(h["train_loss"]) for h in result.history)  # the NaN left out
    model, _ = load_checkpoint(tmp_path / "last.safetensors")
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())
    assert "1 steps skipped: their loss or gradient was not finite" in capsys.readouterr().err


def test_a_run_of_non_finite_steps_stops_as_diverged(tmp_path, monkeypatch, capsys):
    from lineocr.train import loop

    monkeypatch.setattr(loop, "DIVERGED_STEPS", 3)
    cs, examples = make_examples(48)
    poisoned, _ = make_model_with_nan(cs)
    result = fit(
        tiny_config(train__epochs=5),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=True, tensorboard=False, init_from=InitFrom(poisoned, cs)),
    )
    assert result.stopped == "diverged" and result.epochs == 1
    assert result.step == 3  # stopped at the third bad step in a row, not at the epoch's end
    err = " ".join(capsys.readouterr().err.split())
    assert "training diverged: 3 steps in a row had a NaN or infinite loss" in err
    assert "--lr, now 0.003" in err


def test_only_the_main_process_of_a_launch_calibrates(monkeypatch):
    # Every torchrun rank reached calibration after fit and rewrote best.json (racing on
    # one temporary file); the rank is read from the environment, as torchrun sets it.
    from lineocr.train.distributed import is_main_process

    for world, rank, main in (("1", None, True), ("2", "0", True), ("2", "1", False)):
        monkeypatch.setenv("WORLD_SIZE", world)
        if rank is None:
            monkeypatch.delenv("RANK", raising=False)
        else:
            monkeypatch.setenv("RANK", rank)
        assert is_main_process() is main, (world, rank)


class _EpochProbe(torch.utils.data.Dataset):
    """Each item is the epoch the dataset was set to, as the worker reading it sees it."""

    epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        return self.epoch


def test_loader_workers_see_each_epoch():
    # Persistent workers kept the dataset as forked at epoch 0: every epoch then repeated
    # the first one's augmentations and synthetic lines.
    from lineocr.train.loop import epoch_loader

    probe = _EpochProbe()
    loader = epoch_loader(probe, [[0, 1], [2, 3]], lambda items: items, workers=1)
    seen = []
    for epoch in range(3):
        probe.set_epoch(epoch)
        seen.append(sorted({x for batch in loader for x in batch}))
    assert seen == [[0], [1], [2]]


def test_amp_on_the_cpu_is_said_to_be_slow(tmp_path):
    from io import StringIO

    from rich.console import Console

    from lineocr.train.loop import Trainer

    cs, examples = make_examples(4)
    out = StringIO()
    Trainer(
        tiny_config(train__amp="fp16"),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(console=Console(file=out, width=200)),
    )
    assert "amp: fp16 on the CPU" in out.getvalue() and "slower than fp32" in out.getvalue()
    quiet = StringIO()
    Trainer(
        tiny_config(),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(console=Console(file=quiet)),
    )
    assert quiet.getvalue() == ""


def make_model_with_nan(charset):
    from lineocr.train.checkpoint import ModelMeta, build_from_meta

    meta = ModelMeta(charset=charset, config=tiny_config())
    model = build_from_meta(meta)
    with torch.no_grad():
        model.classifier.weight.fill_(float("nan"))
    return model, meta


def test_a_checkpoint_records_the_digest_of_each_of_its_files(tmp_path):
    import hashlib

    cs, examples = make_examples(16)
    fit(
        tiny_config(train__epochs=1),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False, tensorboard=False),
    )
    for tag, roles in (("last", {"weights", "optimizer"}), ("best", {"weights"})):
        recorded = json.loads((tmp_path / f"{tag}.json").read_text())["sha256"]
        assert set(recorded) == roles
        assert (
            recorded["weights"]
            == hashlib.sha256((tmp_path / f"{tag}.safetensors").read_bytes()).hexdigest()
        )


def _torn_run(tmp_path):
    """A run of one epoch whose last.safetensors was replaced by a later epoch's (a write
    stopped between the weights and their JSON), and that later run."""
    cs, examples = make_examples(16)
    options = FitOptions(show_progress=False, tensorboard=False)
    run, later = tmp_path / "run", tmp_path / "later"
    fit(tiny_config(train__epochs=1), PreparedData(cs, examples, examples), run, options)
    fit(tiny_config(train__epochs=2), PreparedData(cs, examples, examples), later, options)
    return cs, examples, run, later


def test_weights_beside_another_epochs_json_are_refused_or_resumed_from_best(tmp_path, capsys):
    from lineocr.train.checkpoint import TornCheckpointError

    cs, examples, run, later = _torn_run(tmp_path)
    (run / "last.safetensors").write_bytes((later / "last.safetensors").read_bytes())
    with pytest.raises(TornCheckpointError) as refused:
        load_checkpoint(run / "last.safetensors")
    said = str(refused.value)
    assert f"{run / 'last.safetensors'} does not belong to {run / 'last.json'}" in said
    assert f"{run / 'best.safetensors'} (epoch 1) is whole: give it instead" in said
    resumed = fit(
        tiny_config(train__epochs=2),
        PreparedData(cs, examples, examples),
        run,
        FitOptions(show_progress=False, tensorboard=False, resume=True),
    )
    err = " ".join(capsys.readouterr().err.split())
    assert f"resuming from {run / 'best.json'} (epoch 1), without the optimiser state" in err
    assert resumed.epochs == 2 and [h["epoch"] for h in resumed.history] == [1.0, 2.0]
    load_checkpoint(run / "last.safetensors")  # whole again


def test_a_torn_best_checkpoint_is_named_and_rewritten_on_resume(tmp_path, capsys):
    from lineocr.train.checkpoint import TornCheckpointError

    cs, examples, run, later = _torn_run(tmp_path)
    (run / "best.safetensors").write_bytes((later / "best.safetensors").read_bytes())
    with pytest.raises(TornCheckpointError, match=r"last\.safetensors \(epoch 1\) is whole"):
        load_checkpoint(run)  # a run directory: its best checkpoint
    fit(
        tiny_config(train__epochs=2),
        PreparedData(cs, examples, examples),
        run,
        FitOptions(show_progress=False, tensorboard=False, resume=True),
    )
    err = " ".join(capsys.readouterr().err.split())
    assert f"{run / 'best.safetensors'} and {run / 'best.json'} did not belong together" in err
    _, meta = load_checkpoint(run)
    assert meta.epoch == 2  # the first epoch after the resume is the new best


def test_temporary_files_of_a_stopped_write_are_removed_at_the_next_start(tmp_path, capsys):
    cs, examples = make_examples(16)
    options = FitOptions(show_progress=False, tensorboard=False)
    fit(tiny_config(train__epochs=1), PreparedData(cs, examples, examples), tmp_path, options)
    stale = [tmp_path / ".last.safetensors.k2j3_x.tmp", tmp_path / ".best.json.a8b9.tmp"]
    for path in stale:
        path.write_bytes(b"half a checkpoint")
    (tmp_path / ".notes.tmp").write_text("not ours")
    fit(
        tiny_config(train__epochs=2),
        PreparedData(cs, examples, examples),
        tmp_path,
        replace(options, resume=True),
    )
    assert not any(path.exists() for path in stale)
    assert (tmp_path / ".notes.tmp").exists()
    assert "removed 2 temporary file(s) an interrupted checkpoint write left" in (
        " ".join(capsys.readouterr().err.split())
    )


def test_resume_refuses_a_different_charset(tmp_path):
    cs, examples = make_examples(16)
    fit(
        tiny_config(train__epochs=1),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False),
    )
    other = Charset.from_string("0123456789x")
    with pytest.raises(ValueError, match="charset differs"):
        fit(
            tiny_config(train__epochs=2),
            PreparedData(other, examples, examples),
            tmp_path,
            FitOptions(show_progress=False, resume=True),
        )


def test_ctrl_c_saves_a_resumable_checkpoint(tmp_path, monkeypatch):
    from lineocr.train import loop

    cs, examples = make_examples(16)
    calls = {"n": 0}
    real = loop.ctc_loss

    def interrupting_loss(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "ctc_loss", interrupting_loss)
    result = fit(
        tiny_config(train__epochs=5),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False),
    )
    assert result.stopped == "interrupted"
    saved = json.loads((tmp_path / "last.json").read_text())
    assert saved["step"] == 2  # two steps completed before the interrupt


def test_early_stopping_and_time_budget(tmp_path):
    cs, examples = make_examples(16)
    stopped = fit(
        tiny_config(train__epochs=50, train__patience=1, train__lr=1e-9),
        PreparedData(cs, examples, examples),
        tmp_path / "a",
        FitOptions(show_progress=False),
    )
    assert stopped.stopped == "early-stop" and stopped.epochs < 50
    budget = fit(
        tiny_config(train__epochs=1000, train__max_minutes=0.002),
        PreparedData(cs, examples, examples),
        tmp_path / "b",
        FitOptions(show_progress=False),
    )
    assert budget.stopped == "time-budget" and budget.epochs < 1000


def test_a_resumed_run_counts_its_earlier_time_against_the_budget(tmp_path):
    cs, examples = make_examples(16)
    first = fit(
        tiny_config(train__epochs=1),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False),
    )
    saved = json.loads((tmp_path / "last.json").read_text())
    assert 0 < saved["extra"]["elapsed_s"] < 60
    saved["extra"]["elapsed_s"] = 90.0  # the run had trained for 1.5 minutes
    (tmp_path / "last.json").write_text(json.dumps(saved))
    resumed = fit(
        tiny_config(train__epochs=50, train__max_minutes=1),
        PreparedData(cs, examples, examples),
        tmp_path,
        FitOptions(show_progress=False, resume=True),
    )
    # out of time after one step, at the end of its schedule (not a fresh minute of it)
    assert resumed.stopped == "time-budget" and resumed.step == first.step + 1
    assert resumed.history[-1]["elapsed_s"] > 90.0
    assert resumed.history[-1]["lr"] < 1e-3 * tiny_config().train.lr


def test_finetuning_grows_the_charset_and_keeps_known_rows(tmp_path):
    cs, examples = make_examples(16, alphabet="0123")
    fit(
        tiny_config(train__epochs=1),
        PreparedData(cs, examples, examples),
        tmp_path / "base",
        FitOptions(show_progress=False),
    )
    base_model, base_meta = load_checkpoint(tmp_path / "base")
    grown = base_meta.charset.union("45")
    _, new_examples = make_examples(16, alphabet="012345", charset=grown)
    cfg = tiny_config(train__epochs=1, train__lr=1e-12, train__freeze_backbone=True)
    fit(
        cfg,
        PreparedData(grown, new_examples, new_examples),
        tmp_path / "ft",
        FitOptions(show_progress=False, init_from=InitFrom(base_model, base_meta.charset)),
    )
    model, meta = load_checkpoint(tmp_path / "ft")
    assert meta.charset.chars == ("0", "1", "2", "3", "4", "5")
    old_w = base_model.state_dict()["classifier.weight"]
    new_w = model.state_dict()["classifier.weight"]
    assert new_w.shape[0] == old_w.shape[0] + 2
    torch.testing.assert_close(new_w[: old_w.shape[0]], old_w, atol=1e-6, rtol=0)
    # the frozen backbone did not move, and its batch-norm statistics did not either
    for key, value in base_model.state_dict().items():
        if key.startswith("backbone."):
            torch.testing.assert_close(model.state_dict()[key], value)


def test_a_fine_tune_keeps_the_weights_input_and_charset_but_takes_ops_and_dropout():
    from lineocr.train.run import fine_tune_config

    trained = override(Config(), preprocess__ops=("auto_invert", "trim"), charset__map_digits=True)
    # nothing asked for: the weights' settings, the user's training settings
    cfg = fine_tune_config(override(Config(), train__lr=5e-4), trained, "base")
    assert cfg.preprocess == trained.preprocess and cfg.charset == trained.charset
    assert cfg.model == trained.model and cfg.train.lr == 5e-4
    # what may change: the dropout, the ops (said), the preset
    asked = override(Config(), model__dropout=0.5, preprocess__ops=("auto_invert",))
    asked = override(asked, preprocess__ops=("sauvola",))
    lines = []
    console = type("C", (), {"print": lambda self, *a, **k: lines.append(a[0])})()
    cfg = fine_tune_config(asked, trained, "base", preset="fast", console=console)
    assert cfg.model.dropout == 0.5 and cfg.model.preset == "fast"
    assert cfg.preprocess.ops == ("sauvola",) and cfg.preprocess.height == 32
    wider = fine_tune_config(override(Config(), preprocess__max_width=4096), trained, "base")
    assert wider.preprocess.max_width == 4096 and wider.preprocess.ops == ("auto_invert", "trim")
    assert "['sauvola'] (the weights of base were trained with ['auto_invert', 'trim'])" in lines[0]
    # what cannot: the height (the CNN's output size), the charset options
    with pytest.raises(ValueError, match="height 48: the weights of base read lines of height 32"):
        fine_tune_config(override(Config(), preprocess__height=48), trained, "base")
    with pytest.raises(ValueError, match=r"options case 'lower' \(the weights': 'keep'\):"):
        fine_tune_config(override(Config(), charset__case="lower"), trained, "base")
    # the weights' own values asked for again are no change
    same = override(Config(), preprocess__height=32, charset__map_digits=True)
    assert fine_tune_config(same, trained, "base").charset == trained.charset


DDP_SCRIPT = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, {root!r})
    from tests.test_train import make_examples, tiny_config
    from lineocr.train.loop import FitOptions, PreparedData, fit
    cs, examples = make_examples(64, seed=1)
    budget = float(sys.argv[3]) if len(sys.argv) > 3 else None
    if budget is not None and os.environ.get("RANK") == "1":  # a clock running 3x fast
        import time
        from lineocr.train import loop
        start, real = time.perf_counter(), time.perf_counter
        loop.time = type("Clock", (), {{"perf_counter": staticmethod(
            lambda: start + 3 * (real() - start))}})
    cfg = tiny_config(train__epochs=4 if budget is None else 10_000, train__batch_size=16,
                      train__threads=1, train__max_minutes=budget)
    result = fit(cfg, PreparedData(cs, examples, examples[:16]), sys.argv[1],
                 FitOptions(show_progress=False, tensorboard=False))
    if result.history:
        json.dump({{"losses": [h["train_loss"] for h in result.history],
                    "stopped": result.stopped, "step": result.step}}, open(sys.argv[2], "w"))
""")


def _run_ddp_script(
    tmp_path, name: str, *budget: str, processes: int = 2, timeout: int = 180
) -> dict:
    """DDP_SCRIPT run as ``processes`` processes (torchrun when more than one); its JSON."""
    script = tmp_path / "run.py"
    script.write_text(DDP_SCRIPT.format(root=str(ROOT)))
    launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    subprocess.run(
        [
            sys.executable,
            *(launcher if processes > 1 else []),
            str(script),
            str(tmp_path / name),
            str(tmp_path / f"{name}.json"),
            *budget,
        ],
        check=True,
        env=os.environ | {"OMP_NUM_THREADS": "1"},
        timeout=timeout,
    )
    return json.loads((tmp_path / f"{name}.json").read_text())


@pytest.mark.slow
def test_two_process_ddp_matches_one_process(tmp_path):
    """Same global batches (each rank takes half of every batch), gradients averaged by
    DDP: the loss curve matches a single process within 2 % (batch-norm statistics are
    per process, the one expected difference)."""
    one = _run_ddp_script(tmp_path, "one", processes=1)["losses"]
    two = _run_ddp_script(tmp_path, "two")["losses"]
    assert len(one) == len(two) == 4
    np.testing.assert_allclose(two, one, rtol=0.02)
    assert one[-1] < one[0]


@pytest.mark.slow
def test_two_process_ddp_stops_together_on_its_time_budget(tmp_path):
    """Every rank reads rank 0's clock: both run out of time at the same step, even with
    rank 1's clock running three times as fast (a rank that stopped alone would leave the
    other waiting in DDP's gradient exchange)."""
    result = _run_ddp_script(tmp_path, "run", "0.05", timeout=120)  # a 3-second budget
    assert result["stopped"] == "time-budget" and 0 < result["step"] < 10_000 * 2


def test_the_config_block_of_the_training_docs_is_every_key_at_its_default():
    """docs/training.md's YAML block lists every config key with its default: a key added
    to lineocr.config (or a default changed) without the docs fails here."""
    import dataclasses
    import re

    import yaml

    from lineocr.config import from_dict, to_dict

    text = (ROOT / "docs" / "training.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(model:.*?)```", text, re.S)
    assert block is not None
    documented = yaml.safe_load(block.group(1))
    defaults = to_dict(Config())
    for section, values in defaults.items():
        assert sorted(documented[section]) == sorted(values), section
    assert from_dict(Config, documented) == Config()
    assert [f.name for f in dataclasses.fields(Config)] == list(documented)
