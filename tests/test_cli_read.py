"""`lineocr read`, `lineocr export` and `lineocr models` through typer's CliRunner: formats,
inputs (files, directories, stdin), bad inputs and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from typer.testing import CliRunner

from lineocr import zoo
from lineocr.cli import app
from lineocr.commands.read import OutputFormat, format_result
from lineocr.export import read_metadata, sample_lines, write_metadata
from lineocr.lm import CharNgramLM
from lineocr.runtime import Recognizer
from lineocr.train.checkpoint import save_checkpoint
from tests.conftest import make_tiny_model, unlistable, with_card_text
from tests.render import render

runner = CliRunner()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory, tiny_model) -> dict[str, Path]:
    """Three line images: two in a folder (one nested), one beside it."""
    _, meta = tiny_model
    root = tmp_path_factory.mktemp("lines")
    (root / "dir" / "sub").mkdir(parents=True)
    paths = {
        "a": root / "dir" / "a.png",
        "b": root / "dir" / "sub" / "b.jpg",
        "c": root / "c.png",
    }
    for (_, path), img in zip(
        paths.items(), sample_lines(meta.preprocess, [90, 200, 140]), strict=True
    ):
        Image.fromarray(img).save(path)
    (root / "dir" / "notes.txt").write_text("not an image input", encoding="utf-8")
    return paths


@pytest.fixture(scope="module")
def expected(tiny_onnx_model: Path, images: dict[str, Path]) -> dict[str, str]:
    rec = Recognizer.load(tiny_onnx_model)
    texts = {key: rec.read(path).text for key, path in images.items()}
    assert len(set(texts.values())) > 1  # or the tests could not tell the inputs apart
    return texts


def invoke(*args: str, stdin: str | bytes | None = None):
    """Run the CLI. ``read`` runs one line per batch unless told otherwise, so each text is
    exactly what ``Recognizer.read`` gives for that image alone (a BiLSTM sees the padding of
    a batch of mixed widths; batching itself is tested in test_runtime)."""
    argv = [str(a) for a in args]
    if argv[0] == "read" and "--batch-size" not in argv:
        argv[1:1] = ["--batch-size", "1"]
    return runner.invoke(app, argv, input=stdin)


def test_text_format_one_line_per_input(tiny_onnx_model, images, expected) -> None:
    result = invoke("read", "-m", tiny_onnx_model, images["c"], images["a"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [expected["c"], expected["a"]]


def test_jsonl_directory_is_searched_recursively(tiny_onnx_model, images, expected) -> None:
    result = invoke("read", "-m", tiny_onnx_model, "--format", "jsonl", images["a"].parent)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(images["a"]), str(images["b"])]
    assert [r["text"] for r in records] == [expected["a"], expected["b"]]
    for r in records:
        assert set(r) == {"path", "text", "confidence", "chars"}
        assert 0.0 <= r["confidence"] <= 1.0
        assert "".join(c["char"] for c in r["chars"]) == r["text"]


def test_tsv_and_paths_on_stdin(tiny_onnx_model, images, expected) -> None:
    listing = f"{images['b']}\n\n{images['c']}\n"
    result = invoke("read", "-m", tiny_onnx_model, "-f", "tsv", "-", stdin=listing)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [
        (str(images["b"]), expected["b"]),
        (str(images["c"]), expected["c"]),
    ]
    assert all(0.0 <= float(r[2]) <= 1.0 for r in rows)


def test_a_directory_listed_on_stdin_is_searched(tiny_onnx_model, images, expected) -> None:
    listing = f"{images['a'].parent}\n{images['c']}\n"
    result = invoke("read", "-m", tiny_onnx_model, "-f", "tsv", "-", stdin=listing)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t")[:2] for line in result.stdout.splitlines()]
    assert rows == [[str(images[k]), expected[k]] for k in ("a", "b", "c")]


def test_a_directory_search_reports_unsupported_images_and_skips_hidden_files(
    tiny_onnx_model, images, expected, tmp_path: Path
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(images["a"], folder / "a.png")
    (folder / "._a.png").write_bytes(b"AppleDouble")  # macOS companion: not an input
    (folder / "b.avif").write_bytes(b"\0\0\0\x1cftypavif")
    (folder / "linked").symlink_to(images["b"].parent, target_is_directory=True)
    result = invoke("read", "-m", tiny_onnx_model, "-f", "tsv", folder)
    assert result.exit_code == 1, result.output
    rows = [line.split("\t")[:2] for line in result.stdout.splitlines()]
    assert rows == [
        [str(folder / "a.png"), expected["a"]],
        [str(folder / "linked" / "b.jpg"), expected["b"]],
    ]
    assert f"error: {folder / 'b.avif'}: not a supported image" in result.stderr
    assert "._a.png" not in result.output


def test_multi_frame_file_reads_its_first_frame_with_a_warning(
    tiny_onnx_model, images, expected, tmp_path: Path
) -> None:
    """An animated GIF is one image (a multi-page TIFF is a document: test_documents)."""
    first = Image.open(images["c"]).convert("L")
    frames = tmp_path / "frames.gif"
    first.save(frames, save_all=True, append_images=[Image.new("L", first.size, 0)])
    result = invoke("read", "-m", tiny_onnx_model, frames)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [expected["c"]]
    assert f"warning: {frames}: 2 frames; only the first is read" in result.stderr


def test_corrupt_and_missing_inputs_are_reported_others_read(
    tiny_onnx_model, images, expected, tmp_path: Path
) -> None:
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    missing = tmp_path / "missing.png"
    args = ["read", "-m", tiny_onnx_model, images["a"], bad, missing, images["c"]]
    result = invoke(*args, "--format", "jsonl")
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [
        str(images["a"]),
        str(bad),
        str(missing),
        str(images["c"]),
    ]
    assert records[0]["text"] == expected["a"] and records[3]["text"] == expected["c"]
    assert set(records[1]) == {"path", "error"} and set(records[2]) == {"path", "error"}
    assert "no such file" in records[2]["error"]
    assert "2 of 4 inputs could not be read" in result.stderr

    result = invoke(*args)  # text: one line per input (empty if it failed), errors on stderr
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [expected["a"], "", "", expected["c"]]
    assert f"error: {bad}:" in result.stderr and f"error: {missing}:" in result.stderr
    assert "Traceback" not in result.output


def test_an_image_the_batch_cannot_take_is_reported_the_rest_read(
    tiny_onnx_model, images, expected, tmp_path: Path, monkeypatch
) -> None:
    """If preprocessing or the model fails on one image of a batch (here a 40x40,000 strip,
    made to fail as OpenCV did on a 1x25,000,000 one), that file gets an error naming it
    and the others in its batch are still read."""
    import cv2
    import numpy as np

    from lineocr import runtime

    strip = tmp_path / "strip.png"
    Image.fromarray(np.full((40_000, 40), 255, np.uint8)).save(strip)
    real_to_model_input = runtime.to_model_input

    def to_model_input(img, spec):
        if img.shape == (40_000, 40):
            raise cv2.error("Failed to allocate 9765631250001 bytes")
        return real_to_model_input(img, spec)

    monkeypatch.setattr(runtime, "to_model_input", to_model_input)
    result = invoke(
        "read",
        "-m",
        tiny_onnx_model,
        "--batch-size",
        "8",
        images["a"],
        strip,
        images["c"],
        "--format",
        "jsonl",
    )
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(images["a"]), str(strip), str(images["c"])]
    assert records[0]["text"] == expected["a"] and records[2]["text"] == expected["c"]
    assert "Failed to allocate" in records[1]["error"]
    assert "1 of 3 inputs could not be read" in result.stderr


def test_workers_read_in_order_like_one_process(
    tiny_onnx_model, images, tmp_path: Path, monkeypatch
) -> None:
    from lineocr.commands import read as read_command

    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    inputs = [images["a"], bad, images["c"], images["b"], tmp_path / "missing.png"] * 3
    monkeypatch.setattr(read_command, "WORKER_CHUNK", 4)  # 4 tasks over 2 processes
    for output_format, lines in (("jsonl", 15), ("tsv", 9), ("text", 15)):
        # Results are formatted in the workers: every format comes out as in one process.
        one = invoke("read", "-m", tiny_onnx_model, "--format", output_format, *inputs)
        two = invoke(
            "read", "-m", tiny_onnx_model, "--format", output_format, "--workers", "2", *inputs
        )
        assert two.exit_code == one.exit_code == 1
        assert two.stdout == one.stdout and len(two.stdout.splitlines()) == lines
        assert two.stderr == one.stderr and "6 of 15 inputs could not be read" in two.stderr
    result = invoke("read", "-m", tiny_onnx_model, "--workers", "0", images["a"])
    assert result.exit_code == 2 and "--workers" in result.stderr


def test_workers_stopped_early_drop_the_work_not_started(
    tiny_onnx_model, images, monkeypatch
) -> None:
    """``read --workers 2 ... | head``: once the output's reader has gone, the chunks not
    yet started are cancelled, not read for nobody (the pool's exit waited for them all)."""
    import concurrent.futures

    from lineocr.commands import read as read_command
    from lineocr.runtime import Recognizer

    shutdowns: list[dict[str, bool]] = []
    real_shutdown = concurrent.futures.ProcessPoolExecutor.shutdown

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        shutdowns.append({"wait": wait, "cancel_futures": cancel_futures})
        real_shutdown(self, wait=wait, cancel_futures=cancel_futures)

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "shutdown", shutdown)
    monkeypatch.setattr(read_command, "WORKER_CHUNK", 1)
    rec = Recognizer.load(tiny_onnx_model, threads=1)
    paths = [str(images["a"])] * 8
    for early in (True, False):
        how = read_command.ReadSettings(read_command.OutputFormat.text, 4, {})
        results = read_command._read_in_workers(rec, paths, how, workers=2, threads=1)
        first_paths, _ = next(results)
        assert first_paths == paths[:1]
        if early:
            results.close()  # what read does when the reader of its output has gone
        else:
            assert len(list(results)) == 7
    assert shutdowns == [
        {"wait": False, "cancel_futures": True},
        {"wait": True, "cancel_futures": False},
    ]


def test_workers_never_free_the_parents_garbage_sessions(tiny_onnx_model, images) -> None:
    """A session left in a reference cycle before the fork (its thread pool alive here
    only) is freed in this process, never in a worker: freed in a fork, its destructor
    waits for threads that do not exist there, and the run hung (seen in CI)."""
    import gc
    import weakref

    from lineocr.runtime import Recognizer

    class Holder:
        pass

    gc.disable()  # only an explicit collection may free the cycle
    try:
        holder = Holder()
        holder.recognizer = Recognizer.load(tiny_onnx_model, threads=2)
        holder.self = holder  # a cycle: reference counting alone never frees it
        alive = weakref.ref(holder)
        del holder
        assert alive() is not None
        result = invoke("read", "-m", tiny_onnx_model, "--workers", "2", images["a"], images["b"])
        assert result.exit_code == 0, result.output
        assert alive() is None  # collected here, before the workers were forked
        assert gc.get_freeze_count() == 0  # and nothing left frozen afterwards
    finally:
        gc.enable()


def test_pattern_and_decoder_options(tiny_onnx_model, images) -> None:
    result = invoke("read", "-m", tiny_onnx_model, "--pattern", "digits", images["b"], images["c"])
    assert result.exit_code == 0, result.output
    assert all(line.isdigit() or line == "" for line in result.stdout.splitlines())
    result = invoke(
        "read", "-m", tiny_onnx_model, "--decoder", "beam", "--batch-size", "1", images["a"]
    )
    assert result.exit_code == 0, result.output


def test_pattern_compile_budget(tiny_onnx_model, images, monkeypatch) -> None:
    from lineocr.commands import read

    monkeypatch.setattr(read, "PATTERN_BUDGET_S", 0.3)
    result = invoke("read", "-m", tiny_onnx_model, "--pattern", "(0|1)*0(0|1){16}", images["a"])
    assert result.exit_code == 2 and "takes more than 0.3 s to compile" in result.stderr


def test_lexicon_file(tiny_onnx_model, images, tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("abc\nkey\n", encoding="utf-8")
    result = invoke("read", "-m", tiny_onnx_model, "--lexicon", words, "-f", "jsonl", images["a"])
    assert result.exit_code == 0, result.output
    text = json.loads(result.stdout)["text"]
    assert all(
        w in {"abc", "key"} for w in "".join(c if c.isalpha() else " " for c in text).split()
    )


def test_language_model_built_and_used(tiny_onnx_model, images, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("abc key\nkey abc 12\n\u2603 snowman\n", encoding="utf-8")
    lm = tmp_path / "lm.json"
    built = invoke("lm", "-m", tiny_onnx_model, "--text", corpus, "--order", "3", "-o", lm)
    assert built.exit_code == 0, built.output
    assert "2 lines (1 with characters the model cannot write skipped)" in built.stdout
    assert json.loads(lm.read_text(encoding="utf-8"))["order"] == 3
    plain = invoke("read", "-m", tiny_onnx_model, "--decoder", "beam", images["a"], images["c"])
    unweighted = invoke(
        "read", "-m", tiny_onnx_model, "--lm", lm, "--lm-weight", "0", images["a"], images["c"]
    )
    assert plain.exit_code == unweighted.exit_code == 0
    assert unweighted.stdout == plain.stdout  # weight 0: the plain beam search
    fused = invoke("read", "-m", tiny_onnx_model, "--lm", lm, "--lm-weight", "2", images["a"])
    assert fused.exit_code == 0, fused.output
    nothing = invoke("lm", "-m", tiny_onnx_model, "-o", lm)
    assert nothing.exit_code == 2 and "--text" in nothing.stderr


def test_language_model_for_a_model_that_returns_western_digits(tmp_path: Path) -> None:
    """A map_digits model (as arabic-digits) returns ١٩٥٧ as 1957: its language model is
    written with the digits it returns; every such line was skipped as "characters the
    model cannot write" (its classes are ٠-٩), and read --lm then warned about 0-9."""
    from dataclasses import replace

    from lineocr.charset import Charset, CharsetOptions
    from lineocr.export import export_onnx

    model, meta = make_tiny_model("٠١٢٣٤٥٦٧٨٩-", seed=5)
    charset = Charset.from_string("٠١٢٣٤٥٦٧٨٩-", CharsetOptions(map_digits=True))
    digits = export_onnx((model, replace(meta, charset=charset)), tmp_path / "digits.onnx")
    corpus, lm = tmp_path / "ids.txt", tmp_path / "ids.lm.json"
    corpus.write_text("1957-09-03\n29801011234567\n3.14\n", encoding="utf-8")
    built = invoke("lm", "-m", digits, "--text", corpus, "--order", "3", "-o", lm)
    assert built.exit_code == 0, built.output
    assert "2 lines (1 with characters the model cannot write skipped)" in built.stdout  # 3.14
    assert set(CharNgramLM.load(lm).vocab) - {"\n"} >= set("٠١٢٣٤٥٧٨٩-")
    image = tmp_path / "line.png"
    Image.fromarray(render("123")).save(image)
    read = invoke("read", "-m", digits, "--lm", lm, image)
    assert read.exit_code == 0, read.output
    assert "built for another model" not in read.stderr


def test_language_model_inputs_that_are_not_quite_right(tiny_onnx_model, images, tmp_path):
    corpus, lm = tmp_path / "corpus.txt", tmp_path / "lm.json"
    corpus.write_bytes(b"abc key\ncaf\xe9 latin-1\nkey abc\n")  # one stray Latin-1 byte
    built = invoke("lm", "-m", tiny_onnx_model, "--text", corpus, "-o", lm)
    assert built.exit_code == 0, built.output
    assert f"{corpus}: 1 line(s) not UTF-8 skipped (line 2)" in built.stderr
    assert "2 lines" in built.stdout
    snow = tmp_path / "snow.txt"
    snow.write_text("\u2603\u2604\n", encoding="utf-8")
    nothing = invoke("lm", "-m", tiny_onnx_model, "--text", snow, "-o", tmp_path / "x.json")
    assert nothing.exit_code == 2
    assert "no usable text: the 1 lines read all have characters" in nothing.stderr
    assert "\u2603 \u2604" in nothing.stderr
    big = invoke("lm", "-m", tiny_onnx_model, "--text", corpus, "--order", "100", "-o", lm)
    assert big.exit_code == 2 and "--order" in big.output  # refused before counting
    # a model built for other characters is used, with a warning naming what it cannot write
    other = CharNgramLM.fit(["\u0645\u0631\u062d\u0628\u0627 abc"] * 3, None, order=3)
    other.save(tmp_path / "other.json")
    read = invoke("read", "-m", tiny_onnx_model, "--lm", tmp_path / "other.json", images["a"])
    assert read.exit_code == 0, read.output
    assert "was built for another model: 5 of its characters" in read.stderr
    # counts of zero (a hand-edited file) are the file's fault, not each image's
    data = json.loads(lm.read_text(encoding="utf-8"))
    data["counts"][""] = {c: 0 for c in data["counts"][""]}
    (tmp_path / "zero.json").write_text(json.dumps(data), encoding="utf-8")
    zero = invoke("read", "-m", tiny_onnx_model, "--lm", tmp_path / "zero.json", images["a"])
    assert zero.exit_code == 2 and "zero.json" in zero.stderr
    assert "counts must be positive" in zero.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lm", "/no/such/lm.json"], "cannot read the language model"),
        (["--lm-weight", "-1", "--lm", "/no/such/lm.json"], "lm_weight must be >= 0"),
        (["--lm-weight", "2"], "--lm-weight goes with --lm"),  # was ignored
        (["--lm-weight", "0.5"], "--lm-weight goes with --lm"),  # the default value, given
        (["--length-bonus", "0", "--lm-weight", "1"], "--lm-weight and --length-bonus go"),
        (["--beam-width", "5"], "the greedy decoder has no beam"),  # was ignored
        (["--pattern", "("], "bad pattern"),
        (["--pattern", "[[:digit:]]+"], "[:digit:] is a POSIX class, not Python regex: use \\d"),
        (["--lexicon", "/no/such/words.txt"], "cannot read lexicon"),
        (["--batch-size", "0"], "--batch-size"),
        (["--threads", "0"], "--threads"),
        (["-m", "no-such-model"], "no bundled model"),
    ],
)
def test_usage_errors_are_one_line_exit_2(tiny_onnx_model, images, args, message) -> None:
    result = invoke("read", "-m", tiny_onnx_model, *args, images["a"])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_a_name_too_long_is_reported_the_others_read(tiny_onnx_model, images, expected) -> None:
    """A name longer than the file system takes (ENAMETOOLONG) is one unreadable input; it
    aborted the whole run, nothing read."""
    too_long = "x" * 300 + ".png"
    listing = f"{images['a']}\n{too_long}\n{images['c']}\n"
    for args, stdin in [([images["a"], too_long, images["c"]], None), (["-"], listing)]:
        result = invoke("read", "-m", tiny_onnx_model, "-f", "tsv", *args, stdin=stdin)
        assert result.exit_code == 1, result.output
        rows = [line.split("\t")[:2] for line in result.stdout.splitlines()]
        assert rows == [[str(images[k]), expected[k]] for k in ("a", "c")]
        assert result.stderr == (
            f"error: {too_long}: file name too long\n1 of 3 inputs could not be read\n"
        )


def test_a_folder_that_cannot_be_listed_says_why(tiny_onnx_model, tmp_path, monkeypatch) -> None:
    """Not "no images in this directory" (the tests run as root: listing is refused here)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = invoke("read", "-m", tiny_onnx_model, "-f", "jsonl", locked)
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"path": str(locked), "error": "permission denied"}


def test_a_sub_folder_that_cannot_be_listed_is_a_failed_input_in_its_place(
    tiny_onnx_model, images, expected, tmp_path, monkeypatch
) -> None:
    """Was passed over in silence, exit status 0; the images beside it are still read."""
    for folder in ("sub", "locked"):
        (tmp_path / folder).mkdir()
    shutil.copy(images["a"], tmp_path / "a.png")
    shutil.copy(images["b"], tmp_path / "locked" / "b.jpg")
    shutil.copy(images["c"], tmp_path / "sub" / "c.png")
    with unlistable(tmp_path / "locked", monkeypatch) as locked:
        jsonl = invoke("read", "-m", tiny_onnx_model, "-f", "jsonl", tmp_path)
        text = invoke("read", "-m", tiny_onnx_model, tmp_path)
    assert jsonl.exit_code == 1, jsonl.output
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [(r["path"], r.get("text"), r.get("error")) for r in records] == [
        (str(tmp_path / "a.png"), expected["a"], None),
        (str(locked), None, "permission denied"),
        (str(tmp_path / "sub" / "c.png"), expected["c"], None),
    ]
    assert jsonl.stderr == "1 of 3 inputs could not be read\n"
    assert text.exit_code == 1
    assert text.stdout.splitlines() == [expected["a"], "", expected["c"]]
    assert text.stderr == f"error: {locked}: permission denied\n1 of 3 inputs could not be read\n"


def test_names_on_stdin_keep_their_spaces(
    tiny_onnx_model, images, expected, tmp_path, monkeypatch
) -> None:
    """Only the line ending (\\n or \\r\\n) is removed; empty lines are skipped."""
    shutil.copy(images["a"], tmp_path / " lead.png")
    shutil.copy(images["c"], tmp_path / "trail.png ")
    monkeypatch.chdir(tmp_path)
    listing = " lead.png\ntrail.png \r\n\n"
    result = invoke("read", "-m", tiny_onnx_model, "-f", "jsonl", "-", stdin=listing)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["path"], r["text"]) for r in records] == [
        (" lead.png", expected["a"]),
        ("trail.png ", expected["c"]),
    ]


def test_jsonl_is_utf8_and_keeps_names_that_are_not(
    tiny_onnx_model, images, expected, tmp_path
) -> None:
    """A name that is not UTF-8 (from a folder, or listed on stdin as its bytes) is written
    with \\udcXX escapes: the line is UTF-8 JSON, and the name's bytes come back."""
    folder = tmp_path / "scans"
    folder.mkdir()
    found = folder / os.fsdecode(b"\xff\xfe.png")
    shutil.copy(images["a"], found)
    gone = tmp_path / os.fsdecode(b"gone\xe9.png")
    listing = b"".join(os.fsencode(p) + b"\n" for p in (found, gone))
    for args, stdin in [([folder, gone], None), (["-"], listing)]:
        result = invoke("read", "-m", tiny_onnx_model, "-f", "jsonl", *args, stdin=stdin)
        assert result.exit_code == 1, result.output
        lines = result.stdout_bytes.decode("utf-8").splitlines()  # strict: valid UTF-8
        assert "\\udcff\\udcfe.png" in lines[0]
        records = [json.loads(line) for line in lines]
        assert [os.fsencode(r["path"]) for r in records] == [os.fsencode(found), os.fsencode(gone)]
        assert records[0]["text"] == expected["a"] and records[1]["error"] == "no such file"


def test_tsv_and_error_lines_escape_what_would_split_them(
    tiny_onnx_model, images, expected, tmp_path
) -> None:
    """A tab in a name was written as a space (the name of another file); a newline or a NUL
    in a path split its error line. Both columns are escaped alike."""
    tabbed, slashed = tmp_path / "a\tb.png", tmp_path / "back\\slash.png"
    shutil.copy(images["a"], tabbed)
    shutil.copy(images["c"], slashed)
    broken = tmp_path / "no\nsuch.png"
    nul = f"{tmp_path}/nul\0.png\n"  # only stdin can carry a NUL
    result = invoke(
        "read", "-m", tiny_onnx_model, "-f", "tsv", tabbed, slashed, broken, "-", stdin=nul
    )
    assert result.exit_code == 1
    rows = [line.split("\t")[:2] for line in result.stdout.splitlines()]
    assert rows == [
        [f"{tmp_path}/a\\tb.png", expected["a"]],
        [f"{tmp_path}/back\\\\slash.png", expected["c"]],
    ]
    assert result.stderr.splitlines() == [
        f"error: {tmp_path}/no\\nsuch.png: no such file",
        f"error: {tmp_path}/nul\\x00.png: no such file",
        "2 of 4 inputs could not be read",
    ]
    line = format_result(OutputFormat.tsv, "p", SimpleNamespace(text="a\tb\\c", confidence=0.5))
    assert line == "p\ta\\tb\\\\c\t0.5000"


def run_read(model: Path, image: Path, redirect: str) -> subprocess.CompletedProcess:
    """``lineocr read`` in a shell, its stdout redirected as in ``lineocr read ... >&-``."""
    command = [sys.executable, "-m", "lineocr", "read", "-m", str(model), str(image)]
    shell = ["sh", "-c", f'"$@" {redirect}', "sh", *command]
    return subprocess.run(shell, stderr=subprocess.PIPE, timeout=120, check=False)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_output_that_cannot_be_written_says_so(tiny_onnx_model, images) -> None:
    """The write failed, not the recognition (as the message said); exit status 2."""
    done = run_read(tiny_onnx_model, images["a"], ">/dev/full")
    assert done.returncode == 2
    assert done.stderr == b"error: cannot write the output: No space left on device\n"


def test_a_closed_standard_output_says_so(tiny_onnx_model, images) -> None:
    done = run_read(tiny_onnx_model, images["a"], ">&-")
    assert done.returncode == 2
    assert done.stderr == b"error: cannot write the output: standard output is closed\n"


def test_empty_stdin_and_empty_directory(tiny_onnx_model, tmp_path: Path) -> None:
    result = invoke("read", "-m", tiny_onnx_model, "-", stdin="")
    assert result.exit_code == 2 and "no inputs" in result.stderr
    (tmp_path / "empty").mkdir()
    result = invoke("read", "-m", tiny_onnx_model, "-f", "jsonl", tmp_path / "empty")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "no images in this directory"


def test_export_command(tmp_path: Path) -> None:
    model, meta = make_tiny_model(seed=4)
    save_checkpoint(tmp_path / "run", "best", model, meta)
    out = tmp_path / "model.onnx"
    result = invoke("export", tmp_path / "run", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.is_file() and "parity" in result.stdout
    assert f"wrote {out} (" in result.stdout and " MB, fp32)" in result.stdout  # was "none"
    assert Recognizer.load(out).charset == meta.charset
    result = invoke("export", tmp_path / "nothing-here", "-o", tmp_path / "x.onnx")
    assert result.exit_code == 2 and "no such checkpoint" in result.stderr
    assert not (tmp_path / "x.onnx").exists()
    picture = tmp_path / "line.png"
    picture.write_bytes(b"\x89PNG")
    result = invoke("export", picture, "-o", tmp_path / "x.onnx")
    assert result.exit_code == 2 and "line.png: not a checkpoint" in result.stderr
    # Like the other commands' outputs: a missing folder is an error, not made silently;
    # a name too long for the file system is refused before the export, not after it.
    result = invoke("export", tmp_path / "run", "-o", tmp_path / "new" / "x.onnx")
    assert result.exit_code == 2 and "the folder" in result.stderr
    assert "does not exist" in result.stderr and not (tmp_path / "new").exists()
    result = invoke("export", tmp_path / "run", "-o", tmp_path / ("x" * 300 + ".onnx"))
    assert result.exit_code == 2 and "too long" in result.stderr
    assert "Traceback" not in result.output and "OSError" not in result.output


def test_export_of_a_bundled_name_uses_its_training_weights(tmp_path: Path, monkeypatch) -> None:
    model, meta = make_tiny_model(seed=4)
    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path / "models")
    save_checkpoint(tmp_path / "models", "captcha", model, meta)  # NAME.safetensors + .json
    out = tmp_path / "captcha-again.onnx"
    result = invoke("export", "captcha", "-o", out)
    assert result.exit_code == 0, result.output
    assert Recognizer.load(out).charset == meta.charset
    result = invoke("export", "printed", "-o", tmp_path / "p.onnx")  # no weights shipped
    assert result.exit_code == 2 and "no training weights" in result.stderr


def test_export_int8_with_calibration_images(tmp_path: Path, images) -> None:
    model, meta = make_tiny_model(seed=4)
    save_checkpoint(tmp_path / "run", "best", model, meta)
    folder = images["a"].parent.parent  # three line images, one of them nested, and a .txt
    out = tmp_path / "int8.onnx"
    args = ("export", tmp_path / "run", "-o", out, "--quantize", "int8", "--calibration", folder)
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert zoo.read_card(out)["onnx"]["int8"].startswith("static, 3 calibration lines")
    assert " MB, int8: static, 3 calibration lines; LSTM fp32)" in result.stdout
    alone = invoke("export", tmp_path / "run", "-o", out, "--calibration", folder)
    assert alone.exit_code == 2 and "--quantize int8" in alone.stderr
    (tmp_path / "empty").mkdir()
    empty = invoke(*args[:-1], tmp_path / "empty")
    assert empty.exit_code == 2 and "no images in this folder" in empty.stderr
    assert "skipped" not in empty.stderr


def test_models_command_copes_with_unbuilt_models(
    tmp_path: Path, monkeypatch, tiny_onnx_model: Path
) -> None:
    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path)
    result = invoke("models")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("not built") == len(zoo.BUNDLED)
    shutil.copy(tiny_onnx_model, tmp_path / "captcha.onnx")
    result = invoke("models")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("not built") == len(zoo.BUNDLED) - 1
    assert "captcha:" in result.stdout and "charset: 38 characters" in result.stdout
    listing = json.loads(invoke("models", "--json").stdout)
    assert [m["built"] for m in listing] == [name == "captcha" for name in zoo.BUNDLED]
    assert listing[2]["card"]["name"] == "tiny"
    result = invoke("read", "-m", "printed", tmp_path / "captcha.onnx")
    assert result.exit_code == 2 and "not built yet" in result.stderr


# -- read --server (the network faked: what is read from disk, sent and written, in order) --


def fake_server(monkeypatch, *, batch: int = 2, max_body: int | None = None) -> list[tuple]:
    """A server that takes ``batch`` images and ``max_body`` bytes a request and reads each
    image as its file's stem; returns the log of files read, requests sent and results."""
    from lineocr.serve import client as client_module

    events: list[tuple] = []
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        events.append(("read", self.name))
        return real_read_bytes(self)

    def request(self, method, path, body=None, content_type=None):
        assert (method, path) == ("GET", "/v1/models")
        limits = {"max_images_per_request": batch, "max_body_bytes": max_body}
        return {"models": [{"name": "stub"}], "limits": limits}

    def send(self, files, **options):
        events.append(("send", [Path(name).name for name, _ in files]))
        return [
            {
                "ok": True,
                "text": Path(name).stem,
                "confidence": 0.5,
                "chars": [{"char": c, "confidence": 0.5} for c in Path(name).stem],
                "model": {"name": "stub"},
            }
            for name, _ in files
        ]

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(client_module.OcrClient, "_request", request)
    monkeypatch.setattr(client_module.OcrClient, "read_bytes", send)
    return events


def five_files(folder: Path) -> list[Path]:
    paths = [folder / f"{name}.png" for name in "abcde"]
    for path in paths:
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    return paths


def test_server_read_streams_files_a_request_at_a_time(monkeypatch, tmp_path: Path) -> None:
    """B10: each file is read just before its request is sent, and each result is written
    when its request is answered: memory holds one request, not the whole input."""
    from lineocr.serve.client import read_on_server

    events = fake_server(monkeypatch, batch=2)
    paths = [str(p) for p in five_files(tmp_path)]
    read_on_server(
        "http://server",
        paths,
        lambda path, prediction: events.append(("result", prediction.text)),
        lambda path, reason: events.append(("error", reason)),
    )
    assert events == [
        ("read", "a.png"),
        ("read", "b.png"),
        ("send", ["a.png", "b.png"]),
        ("result", "a"),
        ("result", "b"),
        ("read", "c.png"),
        ("read", "d.png"),
        ("send", ["c.png", "d.png"]),
        ("result", "c"),
        ("result", "d"),
        ("read", "e.png"),
        ("send", ["e.png"]),
        ("result", "e"),
    ]


def test_server_read_reports_each_file_and_exits_as_before(monkeypatch, tmp_path: Path) -> None:
    """Per-file errors and the exit status as a local read; a file larger than a whole
    request is refused by name without being read."""
    events = fake_server(monkeypatch, batch=16, max_body=10_000)
    a, b, *_ = five_files(tmp_path)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 20_000)
    missing = tmp_path / "missing.png"
    args = ["read", "--server", "http://server", a, big, missing, b]
    result = runner.invoke(app, [*map(str, args), "--format", "jsonl"])
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == [str(a), str(big), str(missing), str(b)]
    assert [r.get("text") for r in records] == ["a", None, None, "b"]
    assert (
        records[1]["error"]
        == "20,008 bytes, more than the server takes in a request (10,000 bytes)"
    )
    assert "No such file" in records[2]["error"]
    assert "2 of 4 inputs could not be read" in result.stderr
    assert ("read", "big.png") not in events
    assert ("send", ["a.png", "b.png"]) in events


def test_server_read_warns_once_of_options_it_ignores(monkeypatch, tmp_path: Path) -> None:
    fake_server(monkeypatch)
    a, *_ = five_files(tmp_path)
    base = ["read", "--server", "http://server", str(a)]
    result = runner.invoke(app, [*base, "--batch-size", "4", "--workers", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "a\n"
    assert result.stderr == (
        "warning: --batch-size, --threads, --workers are ignored with --server: "
        "the server batches and threads as it was started\n"
    )
    result = runner.invoke(app, [*base, "--batch-size", "16"])  # given, even as the default
    assert result.stderr.startswith("warning: --batch-size is ignored with --server")
    result = runner.invoke(app, base)
    assert result.exit_code == 0 and result.stderr == ""
    nothing = runner.invoke(app, ["read", "--server", "http://server", "-"], input="")
    assert nothing.exit_code == 2 and "no inputs" in nothing.stderr  # as a local read


def a_server_that_fails(monkeypatch, *, after: int, failure: Exception) -> list[list[str]]:
    """A server reached through the client's own HTTP code (urllib faked): it takes 2
    images a request and reads each as its file's stem for ``after`` requests; then
    ``failure`` is raised where urllib raises it. Returns the files of each request."""
    import io
    import re
    import urllib.request

    requests: list[list[str]] = []

    def urlopen(request, timeout=None):
        if request.get_method() == "GET":
            limits = {"max_images_per_request": 2, "max_body_bytes": None}
            answer: dict = {"models": [{"name": "stub"}], "limits": limits}
        else:
            names = re.findall(r'filename="([^"]+)"', request.data.decode("latin-1"))
            requests.append(names)
            if len(requests) > after:
                raise failure
            results = [
                {"ok": True, "text": Path(name).stem, "confidence": 0.5, "chars": []}
                for name in names
            ]
            answer = {"results": results}
        return io.BytesIO(json.dumps(answer).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return requests


def server_error() -> Exception:
    import io
    import urllib.error
    from email.message import Message

    body = io.BytesIO(b'{"error": {"code": "internal", "message": "internal error"}}')
    return urllib.error.HTTPError("http://server/v1/ocr", 500, "Server Error", Message(), body)


def connection_refused() -> Exception:
    import urllib.error

    return urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (server_error, "http://server/v1/ocr: 500 internal error"),
        (connection_refused, "cannot reach http://server: [Errno 111] Connection refused"),
    ],
)
def test_a_server_failing_mid_run_says_how_many_inputs_were_read(
    monkeypatch, tmp_path: Path, failure, reason: str
) -> None:
    """The lines read are written; then one error line that says how far the read got (the
    inputs after those were not read), exit status 2. A server gone (connection refused)
    ends the read too: it is not asked again file by file, as a request too large is."""
    requests = a_server_that_fails(monkeypatch, after=1, failure=failure())
    paths = [str(p) for p in five_files(tmp_path)]
    result = runner.invoke(app, ["read", "--server", "http://server", *paths])
    assert result.exit_code == 2, result.output
    assert result.stdout == "a\nb\n"
    assert result.stderr == f"error: read 2 of 5 inputs before the server failed: {reason}\n"
    assert requests == [["a.png", "b.png"], ["c.png", "d.png"]]


def test_a_server_failing_at_once_is_one_error_line(monkeypatch, tmp_path: Path) -> None:
    a_server_that_fails(monkeypatch, after=0, failure=server_error())
    paths = [str(p) for p in five_files(tmp_path)]
    result = runner.invoke(app, ["read", "--server", "http://server", *paths])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == "error: http://server/v1/ocr: 500 internal error\n"


@pytest.mark.parametrize("debug", [False, True])
def test_an_unnamed_failure_while_reading_honours_lineocr_debug(
    tiny_onnx_model, images, monkeypatch, debug: bool
) -> None:
    """One line without LINEOCR_DEBUG; with it, the exception itself (its traceback), as
    every other command shows it through lineocr.cli.main."""
    from lineocr.commands import read as read_command

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the reading loop")

    monkeypatch.setattr(read_command, "_recognise", broken)
    if debug:
        monkeypatch.setenv("LINEOCR_DEBUG", "1")
    else:
        monkeypatch.delenv("LINEOCR_DEBUG", raising=False)
    result = invoke("read", "-m", tiny_onnx_model, images["a"])
    if debug:
        assert isinstance(result.exception, RuntimeError)
        assert "recognition failed" not in result.output
    else:
        assert result.exit_code == 2
        assert result.stderr == "error: recognition failed: a bug in the reading loop\n"


def test_a_closed_output_pipe_ends_quietly_with_status_141(tiny_onnx_model, tmp_path) -> None:
    """``lineocr read ... | head``: once the reader has gone, 141 (as a shell reports for
    ``cat``), not 1 (typer's status for a broken pipe, which says an input failed)."""
    import subprocess
    import sys

    listing = tmp_path / "paths.txt"  # more error lines than a pipe's buffer takes
    listing.write_text("".join(f"/no/such/line-{i}.png\n" for i in range(3_000)))
    command = [sys.executable, "-m", "lineocr", "read", "-m", str(tiny_onnx_model), "-f", "jsonl"]
    with listing.open("rb") as stdin:
        process = subprocess.Popen(
            [*command, "-"], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.read(10) == b'{"path": "'
        process.stdout.close()  # the reader goes away, as `| head -c 10` does
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 141
    assert stderr == b""


def test_tta_reads_each_line_as_the_library_does(tiny_onnx_model, images) -> None:
    rec = Recognizer.load(tiny_onnx_model, threads=1)
    paths = [images["a"], images["b"], images["c"]]
    want = [rec.read_batch([path], tta=True, batch_size=1)[0].text for path in paths]
    for extra in ([], ["--workers", "2"]):
        result = invoke("read", "-m", tiny_onnx_model, "--tta", *extra, *paths)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == want


def test_tta_is_sent_to_a_server(monkeypatch, tmp_path: Path) -> None:
    from lineocr.serve import client as client_module

    fake_server(monkeypatch)
    sent: list[dict] = []
    real_send = client_module.OcrClient.read_bytes

    def send(self, files, **options):
        sent.append(options)
        return real_send(self, files, **options)

    monkeypatch.setattr(client_module.OcrClient, "read_bytes", send)
    a, *_ = five_files(tmp_path)
    result = runner.invoke(app, ["read", "--server", "http://server", "--tta", str(a)])
    assert result.exit_code == 0, result.output
    assert sent and all(options.get("tta") is True for options in sent)
    # as a form field the API parses: true, not Python's True
    body, _ = client_module._multipart([("a.png", b"x")], {"tta": True})
    assert b'name="tta"\r\n\r\ntrue\r\n' in body


def test_server_read_says_why_a_folder_is_not_read_as_a_local_read(
    monkeypatch, tmp_path: Path
) -> None:
    """A sub-folder that cannot be listed, a folder given that cannot be listed and an empty
    folder given: the reasons of a local read (test_a_sub_folder_that_cannot_be_listed_...,
    test_empty_stdin_and_empty_directory), not "Is a directory"."""
    fake_server(monkeypatch, batch=16)
    inputs = tmp_path / "inputs"
    (inputs / "sub").mkdir(parents=True)
    a = inputs / "a.png"
    c = inputs / "sub" / "c.png"
    for path in (a, c):
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    empty = tmp_path / "empty"
    empty.mkdir()
    with (
        unlistable(inputs / "locked", monkeypatch) as locked,
        unlistable(tmp_path / "top", monkeypatch) as top,
    ):
        too_long = "x" * 300 + ".png"  # Path.is_dir raises on it: still one failed input
        args = ["read", "--server", "http://server", "-f", "jsonl", inputs, top, empty, too_long]
        result = runner.invoke(app, [str(arg) for arg in args])
    assert result.exit_code == 1, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["path"], r.get("text"), r.get("error")) for r in records[:-1]] == [
        (str(a), "a", None),
        (str(locked), None, "permission denied"),
        (str(c), "c", None),
        (str(top), None, "permission denied"),
        (str(empty), None, "no images in this directory"),
    ]
    assert records[-1] == {"path": too_long, "error": "File name too long"}
    assert result.stderr == "4 of 6 inputs could not be read\n"


def test_a_model_whose_card_and_graph_disagree_fails_before_any_image(
    tmp_path: Path, tiny_onnx_model: Path, images
) -> None:
    """It loaded, then every image failed with ONNX Runtime's three-line INVALID_ARGUMENT
    (exit 1); now one line naming the file and the problem, before any image is read."""
    path = tmp_path / "edited.onnx"
    shutil.copy(tiny_onnx_model, path)
    card = read_metadata(path)
    card["preprocess"]["height"] = 48
    write_metadata(path, card)
    result = invoke("read", "-m", path, images["a"], images["c"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr == f"error: {path}: the graph takes lines 32 pixels high, its card says 48\n"
    )


def test_models_shows_a_card_with_sections_of_other_types(
    tmp_path: Path, monkeypatch, tiny_onnx_model: Path
) -> None:
    """A bundled file whose card has a number for its charset, a list for its metrics...
    stopped the whole listing with an AttributeError; the card is shown as far as it goes."""
    monkeypatch.setattr(zoo, "MODELS_DIR", tmp_path)
    card = read_metadata(tiny_onnx_model)
    card.update(charset=5, preprocess={"ops": "auto_invert"}, onnx="x", metrics=[1])
    with_card_text(tiny_onnx_model, tmp_path / "captcha.onnx", json.dumps(card))
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "captcha: " in result.stdout and "charset: 0 characters" in result.stdout


@pytest.mark.parametrize("fmt", [OutputFormat.text, OutputFormat.tsv])
def test_a_reason_with_line_breaks_is_one_error_line(capsys, fmt: OutputFormat) -> None:
    """ONNX Runtime's messages can span lines; each error is one line on stderr (escaped as
    paths are), so a reader can count and match them."""
    from lineocr.commands.read import _Writer

    writer = _Writer(fmt)
    writer.error("a.png", "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT\nGot: 3\r\tExpected: 4")
    err = capsys.readouterr().err
    assert (
        err == "error: a.png: [ONNXRuntimeError] : 2 : INVALID_ARGUMENT\\nGot: 3\\r\\tExpected: 4\n"
    )
