"""lineocr.evaluate: scoring labelled lines, and what happens to a line that cannot be read."""

import json

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from lineocr.charset import Charset
from lineocr.cli import app
from lineocr.data.sources import Sample
from lineocr.evaluate import evaluate
from tests.render import render

runner = CliRunner()


def _predict_failing_on_wide_lines(images: list[np.ndarray]) -> list[tuple[str, float]]:
    """A recogniser that reads every line as "ab", and raises (as ONNX Runtime or the
    preprocessing may on an image it cannot take) for any batch holding a line over 1,000 px."""
    if any(image.shape[1] > 1000 for image in images):
        raise RuntimeError("cannot take a line this wide")
    return [("ab", 0.9)] * len(images)


def test_a_line_that_fails_in_a_batch_is_skipped_by_name_and_the_others_scored():
    charset = Charset.from_string("ab")
    line = render("ab")
    samples = [
        Sample("ab", "one", pixels=line),
        Sample("ab", "wide", pixels=np.full((32, 1200), 255, np.uint8)),
        Sample("ab", "three", pixels=line),
        Sample("ab", "four", pixels=line),
    ]
    report = evaluate(samples, _predict_failing_on_wide_lines, charset.normalize, batch_size=4)
    assert report.scores.n == 3  # (the whole evaluation used to stop at the first batch)
    assert report.scores.cer == 0.0
    assert [source for source, _ in report.skipped] == ["wide"]
    assert "RuntimeError: cannot take a line this wide" in report.skipped[0][1]
    assert report.to_dict()["n_skipped"] == 1


def test_eval_command_names_the_line_it_could_not_read(tiny_onnx_model, tmp_path, monkeypatch):
    from lineocr.runtime import Recognizer

    root = tmp_path / "lines"
    root.mkdir()
    for name, text in (("a", "abc"), ("b", "cabba"), ("c", "bc")):
        Image.fromarray(render(text)).save(root / f"{name}.png")
        (root / f"{name}.gt.txt").write_text(text, encoding="utf-8")
    poison = render("cabba").shape  # b.png (the only line of its size): the model fails on it
    real_read_batch = Recognizer.read_batch

    def read_batch(self, images, **options):
        if any(np.asarray(image).shape == poison for image in images):
            raise RuntimeError("ONNX Runtime failed on this line")
        return real_read_batch(self, images, **options)

    monkeypatch.setattr(Recognizer, "read_batch", read_batch)
    args = ["eval", "-m", str(tiny_onnx_model), "--data", str(root), "--format", "sidecar"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 1, result.output  # as `lineocr read`: not every line was read
    report = json.loads(result.stdout)
    assert report["n"] == 2 and report["n_skipped"] == 1
    (skipped,) = report["skipped"]
    assert skipped["source"].endswith("b.png")
    assert "ONNX Runtime failed on this line" in skipped["reason"]
    text = runner.invoke(app, args)
    assert text.exit_code == 1 and "1 skipped" in text.stdout
