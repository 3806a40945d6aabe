"""scripts/bundle_model.py and scripts/model_card.py: a bundle is replaced all or nothing,
with the usual file modes; bad arguments are one ``error:`` line and nothing written; a
card goes to the repository's docs/models/ wherever the script runs, and a bad figures
file is refused. Bundles go to temporary folders only (``--models-dir``), never to the
package's models."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from lineocr.export import read_metadata
from lineocr.train.checkpoint import save_checkpoint
from lineocr.zoo import MODELS_DIR

REPO = Path(__file__).resolve().parent.parent
BUNDLE = REPO / "scripts" / "bundle_model.py"
CARD = REPO / "scripts" / "model_card.py"
NAME = "captcha"  # the scripts take only bundled names
SUFFIXES = (".onnx", ".safetensors", ".json")


def run_script(script: Path, *args: object, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def one_error(result: subprocess.CompletedProcess, script: str, named: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith(f"{script}: error:")]
    assert len(errors) == 1, result.stderr
    assert named in errors[0]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry of ``folder`` (hidden ones too: a staging folder left behind counts),
    with the bytes of the files."""
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


def plain_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model) -> Path:
    run = tmp_path_factory.mktemp("run")
    save_checkpoint(run, "best", *tiny_model)
    return run


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A models folder already holding a bundle of NAME (placeholder bytes)."""
    folder = tmp_path / "models"
    folder.mkdir()
    for suffix in SUFFIXES:
        (folder / f"{NAME}{suffix}").write_bytes(f"old {suffix}".encode())
    return folder


# -- bundle_model.py -------------------------------------------------------------------


def test_bundle_replaces_all_three_files_with_the_usual_mode(run_dir: Path, models: Path):
    old = snapshot(models)
    result = run_script(BUNDLE, run_dir, NAME, "--models-dir", models)
    assert result.returncode == 0, result.stderr
    new = snapshot(models)
    assert sorted(new) == sorted(old)  # the three files, no staging folder left behind
    assert all(new[name] != old[name] for name in old)
    for name in old:  # safetensors alone writes 0600
        assert stat.S_IMODE((models / name).stat().st_mode) == plain_mode(), name
    card = json.loads((models / f"{NAME}.json").read_text(encoding="utf-8"))
    assert card["name"] == NAME
    onnx_card = read_metadata(models / f"{NAME}.onnx")
    assert onnx_card["charset"] == card["charset"]
    assert onnx_card["name"] == NAME  # was the run's name
    assert (
        onnx_card["data"]["run"]
        == card["data"]["run"]
        == json.loads((run_dir / "best.json").read_text(encoding="utf-8"))["name"]
    )


def load_bundle_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bundle_model", BUNDLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_failure_part_way_leaves_the_old_bundle(
    run_dir: Path, models: Path, monkeypatch: pytest.MonkeyPatch
):
    """The disk fills after the ONNX file is written: the old bundle stays whole."""
    bundle_model = load_bundle_script()

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bundle_model, "save_file", disk_full)
    argv = ["bundle_model.py", str(run_dir), NAME, "--models-dir", str(models)]
    monkeypatch.setattr(sys, "argv", argv)
    old = snapshot(models)
    with pytest.raises(SystemExit, match=os.strerror(errno.ENOSPC)):
        bundle_model.main()
    assert snapshot(models) == old


@pytest.mark.parametrize(
    "case",
    [
        ("nosuch-run", [], "nosuch-run"),
        ("empty-run", [], "empty-run"),  # a folder without a checkpoint
        ("notes.txt", [], "notes.txt"),  # a file that is not one
        (None, ["--quantize", "int8", "--calibrate", "nosuchlang"], "'nosuchlang'"),
        (None, ["--ops", "auto_invert", "--ops", "nosuch"], "'nosuch'"),
    ],
    ids=["missing-run", "empty-run", "not-a-checkpoint", "calibrate", "ops"],
)
def test_bad_arguments_are_one_error_and_write_nothing(
    run_dir: Path, models: Path, tmp_path: Path, case: tuple[str | None, list[str], str]
):
    run, options, named = case  # the run directory given, the options, what the error names
    (tmp_path / "empty-run").mkdir()
    (tmp_path / "notes.txt").write_text("not a checkpoint\n", encoding="utf-8")
    run_path = run_dir if run is None else tmp_path / run
    old = snapshot(models)
    result = run_script(BUNDLE, run_path, NAME, *options, "--models-dir", models)
    one_error(result, "bundle_model.py", named)
    assert snapshot(models) == old


def test_a_target_that_is_a_folder_is_refused_before_writing(run_dir: Path, models: Path):
    (models / f"{NAME}.json").unlink()
    (models / f"{NAME}.json").mkdir()
    old = snapshot(models)
    result = run_script(BUNDLE, run_dir, NAME, "--models-dir", models)
    one_error(result, "bundle_model.py", f"{NAME}.json")
    assert snapshot(models) == old


# -- model_card.py ---------------------------------------------------------------------


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The script in a repository layout of its own, so that its default output (this
    layout's docs/models/) is a temporary folder; it reads the installed package's model."""
    if not (MODELS_DIR / f"{NAME}.onnx").is_file():
        pytest.fail(f"bundled model {NAME} is not built ({MODELS_DIR})")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "docs" / "models").mkdir(parents=True)
    shutil.copy(CARD, repo / "scripts" / CARD.name)
    return repo


def test_model_card_goes_to_the_repository_from_any_folder(repo_copy: Path, tmp_path: Path):
    figures = repo_copy / "benchmarks" / "out" / "figures.json"
    figures.parent.mkdir(parents=True)
    figures.write_text('{"cer": 0.0123}\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_script(
        repo_copy / "scripts" / CARD.name, NAME, "--figures", figures, cwd=elsewhere
    )
    assert result.returncode == 0, result.stderr
    assert list(elsewhere.iterdir()) == []
    card = (repo_copy / "docs" / "models" / f"{NAME}.md").read_text(encoding="utf-8")
    # The figures are named as in the repository, not by where the script ran.
    assert 'From `benchmarks/out/figures.json`:\n\n```json\n{"cer": 0.0123}\n```' in card


def test_model_card_out_dir(tmp_path: Path):
    result = run_script(CARD, NAME, "--out-dir", tmp_path / "cards")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cards" / f"{NAME}.md").read_text(encoding="utf-8").startswith(f"# `{NAME}`")


@pytest.mark.parametrize(
    ("content", "named"),
    [(None, "missing.json"), ("", "empty.json"), ("<html>", "page.json")],
    ids=["missing", "empty", "not-json"],
)
def test_model_card_refuses_a_bad_figures_file(
    repo_copy: Path, tmp_path: Path, content: str | None, named: str
):
    figures = tmp_path / named
    if content is not None:
        figures.write_text(content, encoding="utf-8")
    result = run_script(
        repo_copy / "scripts" / CARD.name, NAME, "--figures", figures, cwd=repo_copy
    )
    one_error(result, "model_card.py", str(figures))
    assert list((repo_copy / "docs" / "models").iterdir()) == []
