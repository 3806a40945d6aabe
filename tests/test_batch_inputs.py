"""`lineocr batch`'s inputs and output folder without Ray (lineocr.scale.inputs, .shards):
what SRC lists, in which order, and how DST keeps finished shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow", reason="the scale extra (pyarrow) is not installed")
pq = pytest.importorskip("pyarrow.parquet")

from lineocr.commands.read import expand_inputs  # noqa: E402
from lineocr.scale.inputs import NO_ROW, InputError, list_inputs  # noqa: E402
from lineocr.scale.shards import ShardError, ShardRow, ShardStore  # noqa: E402


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("b/2.png", "a/1.png", "a/0.jpg", "c/notes.txt", "3.tif"):
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path / "src"


def test_a_folder_is_listed_as_read_lists_it(folder: Path) -> None:
    inputs = list_inputs(str(folder))
    assert inputs.names == expand_inputs([str(folder)])
    assert inputs.files == inputs.names and set(inputs.rows) == {NO_ROW}


def test_a_glob_lists_its_matches_sorted(folder: Path) -> None:
    inputs = list_inputs(str(folder / "**" / "*.png"))
    assert inputs.names == [str(folder / "a" / "1.png"), str(folder / "b" / "2.png")]


def test_manifests_name_paths_from_their_own_folder(folder: Path) -> None:
    (folder / "list.txt").write_text("a/1.png\n\n/abs/x.png\n")
    (folder / "labels.tsv").write_text("b/2.png\tsome text\n")
    (folder / "list.csv").write_text("text,path\nhello,a/0.jpg\n")
    assert list_inputs(str(folder / "list.txt")).names == [str(folder / "a/1.png"), "/abs/x.png"]
    assert list_inputs(str(folder / "labels.tsv")).names == [str(folder / "b/2.png")]
    assert list_inputs(str(folder / "list.csv")).names == [str(folder / "a/0.jpg")]


def test_a_uri_is_listed_through_pyarrow(folder: Path) -> None:
    inputs = list_inputs(f"file://{folder}")
    assert inputs.names[0] == f"file://{folder}/3.tif"
    assert len(inputs) == 4  # the .txt is not an image


def test_parquet_rows_of_bytes_and_of_paths(tmp_path: Path) -> None:
    pq.write_table(
        pa.table({"image": [{"bytes": b"1", "path": "p0.png"}, {"bytes": b"2", "path": None}]}),
        tmp_path / "hf.parquet",
    )
    pq.write_table(pa.table({"id": [1], "path": ["a.png"]}), tmp_path / "paths.parquet")
    hf = list_inputs(str(tmp_path / "hf.parquet"))
    assert hf.names == ["p0.png", f"{tmp_path / 'hf.parquet'}#1"]
    assert hf.rows == [0, 1] and hf.column == "image"
    paths = list_inputs(str(tmp_path / "paths.parquet"))
    assert paths.names == [str(tmp_path / "a.png")] and paths.rows == [NO_ROW]
    with pytest.raises(InputError, match="no column 'img'"):
        list_inputs(str(tmp_path / "hf.parquet"), column="img")


def test_the_fingerprint_changes_with_the_inputs(folder: Path) -> None:
    before = list_inputs(str(folder)).fingerprint()
    assert list_inputs(str(folder)).fingerprint() == before
    (folder / "4.png").write_bytes(b"x")
    assert list_inputs(str(folder)).fingerprint() != before


def test_a_shard_is_written_whole_then_marked_and_temp_files_are_cleaned(tmp_path: Path) -> None:
    store = ShardStore(str(tmp_path / "out"), "jsonl")
    store.open({"inputs": 2})
    (tmp_path / "out" / ".tmp-part-00001.jsonl").write_text("half")
    store.clean()
    rows = [ShardRow(1, '{"path": "b"}', False), ShardRow(0, '{"path": "a", "error": "x"}', True)]
    mark = store.write(1, rows)
    assert (tmp_path / "out" / "part-00001.jsonl").read_text().splitlines() == [
        '{"path": "a", "error": "x"}',
        '{"path": "b"}',
    ]
    assert mark == {"file": "part-00001.jsonl", "rows": 2, "errors": 1}
    assert store.done() == {1: mark}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "_done",
        "_job.json",
        "part-00001.jsonl",
    ]
    ShardStore(str(tmp_path / "out"), "jsonl").open({"inputs": 2})  # the same job: fine
    with pytest.raises(ShardError, match=r"another job \(other inputs\)"):
        ShardStore(str(tmp_path / "out"), "jsonl").open({"inputs": 3})
    assert json.loads((tmp_path / "out" / "_job.json").read_text()) == {"inputs": 2}


def test_batch_without_ray_says_which_extra_to_install(tmp_path: Path, monkeypatch) -> None:
    import sys

    from typer.testing import CliRunner

    from lineocr.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import fails
    monkeypatch.setitem(sys.modules, "ray.data", None)
    result = CliRunner().invoke(app, ["batch", str(tmp_path), str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "pip install 'lineocr[scale]'" in result.output
    assert not (tmp_path / "out").exists()
