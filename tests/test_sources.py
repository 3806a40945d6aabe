"""lineocr.data.sources: every dataset format round-trips from generated files; detection;
every bad input becomes a Skipped naming the file; the summary."""

from __future__ import annotations

import gzip
import io
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from lineocr.data.sources import (
    FORMATS,
    NAMED_LABEL_MAPS,
    Dataset,
    DatasetError,
    Sample,
    Skipped,
    detect_format,
    histogram,
    parse_label_map,
    print_summary,
    read_dataset,
    read_datasets,
    summarize,
    walk_files,
)
from lineocr.data.sources.idx import _read_maybe_gzip
from lineocr.images import ImageError
from tests.conftest import unlistable

ARABIC = "مرحبا ١٢٣"


def write_png(path: Path, width: int = 24, height: int = 8, value: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (width, height), value).save(path)
    return path


def labels_of(dataset: Dataset) -> dict[str, str]:
    """{image file name: label} for path-based samples."""
    return {Path(s.source).name: s.text for s in dataset.samples}


def reasons(dataset: Dataset) -> dict[str, str]:
    return {s.source: s.reason for s in dataset.skipped}


# --- sidecar -------------------------------------------------------------------------------


def test_sidecar_reads_gt_txt_and_txt_recursively(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    (tmp_path / "a.gt.txt").write_text("hello world\n", encoding="utf-8")
    write_png(tmp_path / "sub" / "deeper" / "b.jpg")
    (tmp_path / "sub" / "deeper" / "b.txt").write_text(ARABIC, encoding="utf-8")
    write_png(tmp_path / "c.bin.png")  # kraken / OCR-D: line.bin.png + line.gt.txt
    (tmp_path / "c.gt.txt").write_bytes("\ufeff  'quoted' text \r\n".encode())
    dataset = read_dataset(tmp_path, "sidecar")
    assert dataset.format == "sidecar"
    assert dataset.root == tmp_path
    assert labels_of(dataset) == {
        "a.png": "hello world",
        "b.jpg": ARABIC,
        "c.bin.png": "'quoted' text",
    }
    assert dataset.skipped == []


def test_sidecar_prefers_gt_txt_over_txt(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    (tmp_path / "a.gt.txt").write_text("from gt", encoding="utf-8")
    (tmp_path / "a.txt").write_text("from txt", encoding="utf-8")
    dataset = read_dataset(tmp_path, "sidecar")
    assert labels_of(dataset) == {"a.png": "from gt"}
    assert dataset.skipped == []  # a.txt is the alternative label, not a stray file


def test_sidecar_bad_inputs_are_skipped_and_the_rest_read(tmp_path: Path) -> None:
    write_png(tmp_path / "good.png")
    (tmp_path / "good.gt.txt").write_text("ok", encoding="utf-8")
    write_png(tmp_path / "nolabel.png")
    write_png(tmp_path / "empty.png")
    (tmp_path / "empty.gt.txt").write_text("  \n", encoding="utf-8")
    write_png(tmp_path / "twolines.png")
    (tmp_path / "twolines.gt.txt").write_text("one\ntwo\n", encoding="utf-8")
    write_png(tmp_path / "latin1.png")
    (tmp_path / "latin1.gt.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "orphan.gt.txt").write_text("no image", encoding="utf-8")
    dataset = read_dataset(tmp_path, "sidecar")
    assert labels_of(dataset) == {"good.png": "ok"}
    why = reasons(dataset)
    assert (
        why[str(tmp_path / "nolabel.png")]
        == "no label file: looked for nolabel.gt.txt or nolabel.txt"
    )
    assert why[str(tmp_path / "empty.png")] == "empty label: empty.gt.txt"
    assert "label file has several lines: twolines.gt.txt" in why[str(tmp_path / "twolines.png")]
    assert "label file is not valid UTF-8: latin1.gt.txt" in why[str(tmp_path / "latin1.png")]
    assert why[str(tmp_path / "orphan.gt.txt")].startswith("no image for this label file")
    assert len(dataset.skipped) == 5


def test_sidecar_suffix_case_does_not_matter(tmp_path: Path) -> None:
    write_png(tmp_path / "0009.png")
    (tmp_path / "0009.GT.TXT").write_text("upper", encoding="utf-8")
    write_png(tmp_path / "0010.PNG")
    (tmp_path / "0010.Txt").write_text("mixed", encoding="utf-8")
    write_png(tmp_path / "0011.png")
    (tmp_path / "0011.gt.txt").write_text("exact", encoding="utf-8")
    (tmp_path / "0011.GT.TXT").write_text("variant", encoding="utf-8")
    dataset = read_dataset(tmp_path)
    assert dataset.format == "sidecar"
    assert labels_of(dataset) == {"0009.png": "upper", "0010.PNG": "mixed", "0011.png": "exact"}
    assert dataset.skipped == []  # 0011.GT.TXT is 0011.png's other label file, not an orphan


def test_linked_folders_are_followed_once_and_loops_end(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_png(elsewhere / "b.png")
    (elsewhere / "b.gt.txt").write_text("linked", encoding="utf-8")
    root = tmp_path / "data"
    write_png(root / "a.png")
    (root / "a.gt.txt").write_text("here", encoding="utf-8")
    (root / "more").symlink_to(elsewhere, target_is_directory=True)
    (root / "again").symlink_to(elsewhere, target_is_directory=True)  # the same folder twice
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)  # back up the tree
    dataset = read_dataset(root, "sidecar")
    assert sorted(s.text for s in dataset.samples) == ["here", "linked"]
    assert dataset.skipped == []


def test_a_folder_that_cannot_be_listed_is_named_and_the_rest_walked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_png(tmp_path / "a.png")
    write_png(tmp_path / "sub" / "c.png")
    write_png(tmp_path / "locked" / "b.png")
    with unlistable(tmp_path / "locked", monkeypatch) as locked:
        unreadable: list[tuple[Path, str]] = []
        files = walk_files(tmp_path, unreadable=unreadable)
        assert files == [tmp_path / "a.png", tmp_path / "sub" / "c.png"]
        assert unreadable == [(locked, "permission denied")]
        unreadable.clear()
        assert walk_files(locked, unreadable=unreadable) == []
        assert unreadable == [(locked, "permission denied")]


@pytest.mark.parametrize("fmt", [None, "sidecar", "filename"])
def test_a_sub_folder_that_cannot_be_listed_is_skipped_the_rest_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str | None
) -> None:
    """Was passed over in silence: its samples missing from training, nothing said."""
    for name in ("a", "sub/c", "locked/b"):
        write_png(tmp_path / f"{name}.png")
        (tmp_path / f"{name}.gt.txt").write_text(Path(name).name, encoding="utf-8")
    with unlistable(tmp_path / "locked", monkeypatch) as locked:
        dataset = read_dataset(tmp_path, fmt)
    assert sorted(labels_of(dataset)) == ["a.png", "c.png"]
    assert reasons(dataset)[str(locked)] == "cannot read folder: permission denied"
    if fmt != "filename":  # the filename format has no use for the .gt.txt files
        assert len(dataset.skipped) == 1


@pytest.mark.parametrize("fmt", [None, "sidecar", "filename", "tsv"])
def test_a_dataset_folder_that_cannot_be_listed_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str | None
) -> None:
    """Was "found no images" or "no samples found"; for tsv, a PermissionError."""
    with (
        unlistable(tmp_path / "locked", monkeypatch) as locked,
        pytest.raises(DatasetError) as info,
    ):
        read_dataset(locked, fmt)
    assert str(info.value) == f"{locked}: cannot read folder: permission denied"


def test_detection_finding_nothing_names_the_folders_it_could_not_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_png(tmp_path / "locked" / "a.png")
    with (
        unlistable(tmp_path / "locked", monkeypatch) as locked,
        pytest.raises(DatasetError) as info,
    ):
        detect_format(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: found no images, manifests (.tsv, .csv) or IDX files; "
        f"{locked}: cannot read folder: permission denied"
    )


def test_images_in_formats_not_read_are_listed_as_skipped(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    write_png(tmp_path / "b.jfif")  # JPEG by another name: read (Pillow reads by content)
    (tmp_path / "c.avif").write_bytes(b"\0\0\0\x1cftypavif")
    (tmp_path / "d.HEIC").write_bytes(b"\0\0\0\x18ftypheic")
    (tmp_path / ".e.png").write_bytes(b"AppleDouble")  # macOS companion file: hidden
    dataset = read_dataset(tmp_path, "filename")
    assert sorted(labels_of(dataset)) == ["a.png", "b.jfif"]
    assert reasons(dataset) == {
        str(tmp_path / "c.avif"): "unsupported image format: .avif (convert it to PNG or JPEG)",
        str(tmp_path / "d.HEIC"): "unsupported image format: .HEIC (convert it to PNG or JPEG)",
    }


def test_sample_load_decodes_the_image(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png", width=30, height=10, value=40)
    (tmp_path / "a.gt.txt").write_text("x", encoding="utf-8")
    (sample,) = read_dataset(tmp_path, "sidecar").samples
    image = sample.load()
    assert image.shape == (10, 30)
    assert image.dtype == np.uint8
    assert (image == 40).all()


def test_corrupt_image_fails_at_load_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tmp_path / "bad.gt.txt").write_text("x", encoding="utf-8")
    (tmp_path / "zero.png").touch()
    (tmp_path / "zero.gt.txt").write_text("y", encoding="utf-8")
    dataset = read_dataset(tmp_path, "sidecar")  # reading does not decode
    assert len(dataset) == 2
    for sample in dataset.samples:
        with pytest.raises(ImageError) as info:
            sample.load()
        assert info.value.source == sample.source == str(sample.path)


# --- filename ------------------------------------------------------------------------------


def test_filename_stem_is_the_label_recursively(tmp_path: Path) -> None:
    for name in ["3bnyf.png", "sub/x2y4z.jpg", f"sub/{ARABIC}.png"]:
        write_png(tmp_path / name)
    (tmp_path / "notes.md").write_text("not an image", encoding="utf-8")
    write_png(tmp_path / ".hidden" / "zzzzz.png")
    dataset = read_dataset(tmp_path, "filename")
    assert sorted(s.text for s in dataset.samples) == sorted(["3bnyf", "x2y4z", ARABIC])
    assert dataset.skipped == []
    assert all(s.path is not None and s.path.is_file() for s in dataset.samples)


def test_filename_strip_suffix(tmp_path: Path) -> None:
    for name in ["abc_2.png", "abc (1).png", "abc.png", "a_b.png", "_3.png"]:
        write_png(tmp_path / name)
    plain = read_dataset(tmp_path, "filename")
    assert sorted(s.text for s in plain.samples) == ["_3", "a_b", "abc", "abc (1)", "abc_2"]
    stripped = read_dataset(tmp_path, "filename", strip_suffix=True)
    assert labels_of(stripped) == {
        "abc_2.png": "abc",
        "abc (1).png": "abc",
        "abc.png": "abc",
        "a_b.png": "a_b",  # only a trailing _<digits> is a copy number
    }
    assert "empty label" in reasons(stripped)[str(tmp_path / "_3.png")]


def test_filename_label_regex_group_named_group_and_whole_match(tmp_path: Path) -> None:
    write_png(tmp_path / "0001_hello.png")
    write_png(tmp_path / "0002_world.png")
    write_png(tmp_path / "README.png")
    first_group = read_dataset(tmp_path, "filename", label_regex=r"^\d+_(.+)$")
    assert labels_of(first_group) == {"0001_hello.png": "hello", "0002_world.png": "world"}
    assert reasons(first_group)[str(tmp_path / "README.png")] == (
        r"no match for --label-regex: 'README' does not match ^\d+_(.+)$"
    )
    named = read_dataset(tmp_path, "filename", label_regex=r"(?P<id>\d+)_(?P<label>\w+)")
    assert labels_of(named)["0002_world.png"] == "world"
    whole = read_dataset(tmp_path, "filename", label_regex=r"[a-z]+")
    assert labels_of(whole)["0001_hello.png"] == "hello"


def test_filename_invalid_regex_is_a_dataset_error(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    with pytest.raises(DatasetError, match="--label-regex"):
        read_dataset(tmp_path, "filename", label_regex="(unclosed")


# --- tsv -----------------------------------------------------------------------------------


def test_tsv_splits_on_the_first_tab_and_keeps_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_png(data / "img" / "a.png")
    write_png(data / "img" / "b.png")
    write_png(data / "img" / "c.png")
    write_png(data / "d.png")
    manifest = data / "train.tsv"
    manifest.write_bytes(
        (
            "path\ttext\r\n"
            'img/a.png\t"quoted", with comma\r\n'
            "img/b.png\tcol1\tcol2\r\n"
            "\n"
            f"img/c.png\t{ARABIC}\n"
            'd.png\tsaid "hi"\n'
        ).encode()
    )
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # paths are relative to the manifest, not the cwd
    dataset = read_dataset(manifest, "tsv")
    assert labels_of(dataset) == {
        "a.png": '"quoted", with comma',
        "b.png": "col1\tcol2",
        "c.png": ARABIC,
        "d.png": 'said "hi"',
    }
    assert dataset.skipped == []
    assert dataset.root == data
    assert all(s.load().shape == (8, 24) for s in dataset.samples)


def test_tsv_bad_rows_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    write_png(tmp_path / "ok.png")
    manifest = tmp_path / "m.tsv"
    manifest.write_bytes(
        b"ok.png\tfine\n"
        b"no-tab-here.png\n"
        b"missing.png\tghost\n"
        b"ok.png\t   \n"
        b"ok.png\t\xff\xfe bad bytes\n"
        b"\tno path\n"
    )
    dataset = read_dataset(manifest, "tsv")
    assert [s.text for s in dataset.samples] == ["fine"]
    assert reasons(dataset) == {
        f"{manifest}:line 2": "no tab between the image path and the text",
        f"{manifest}:line 3": f"image not found: {tmp_path / 'missing.png'}",
        f"{manifest}:line 4": "empty label: ok.png",
        f"{manifest}:line 5": "line is not valid UTF-8",
        f"{manifest}:line 6": "empty image path",
    }


@pytest.mark.parametrize("sep", ["\t", ","])
def test_manifest_rows_naming_an_image_again_are_skipped(tmp_path: Path, sep: str) -> None:
    for name in ("a.png", "b.png", "c.png"):
        write_png(tmp_path / "img" / name)
    manifest = tmp_path / ("labels.tsv" if sep == "\t" else "labels.csv")
    rows = [("img/a.png", "one"), ("img/b.png", "two"), ("img/a.png", "uno"), ("img/b.png", "two")]
    rows.append(("img/c.png", "three"))
    manifest.write_text("".join(f"{path}{sep}{text}\n" for path, text in rows), encoding="utf-8")
    dataset = read_dataset(manifest)
    assert labels_of(dataset) == {"a.png": "one", "b.png": "two", "c.png": "three"}
    assert reasons(dataset) == {
        f"{manifest}:line 3": "conflicting label: img/a.png is 'uno' here but 'one' on line 1 "
        "(that one is used)",
        f"{manifest}:line 4": "listed again: img/b.png (first on line 2)",
    }


def test_tsv_accepts_windows_separators(tmp_path: Path) -> None:
    write_png(tmp_path / "img" / "a.png")
    manifest = tmp_path / "m.tsv"
    manifest.write_text("img\\a.png\tabc\n", encoding="utf-8")
    assert [s.text for s in read_dataset(manifest).samples] == ["abc"]


# --- csv -----------------------------------------------------------------------------------


def test_csv_with_header_and_quoted_commas(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    write_png(tmp_path / "b.png")
    write_png(tmp_path / "c.png")
    manifest = tmp_path / "labels.csv"
    manifest.write_text(
        f'filename,label\na.png,"Hello, world"\nb.png,"She said ""no"""\nc.png,{ARABIC}\n',
        encoding="utf-8",
    )
    dataset = read_dataset(manifest, "csv")
    assert labels_of(dataset) == {
        "a.png": "Hello, world",
        "b.png": 'She said "no"',
        "c.png": ARABIC,
    }
    assert dataset.skipped == []


def test_csv_without_header(tmp_path: Path) -> None:
    write_png(tmp_path / "x" / "a.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("x/a.png,abc\n", encoding="utf-8")
    assert labels_of(read_dataset(manifest, "csv")) == {"a.png": "abc"}


def test_csv_header_columns_are_found_by_name(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "m.csv"
    manifest.write_text("split,Text,Image Path\ntrain,abc,a.png\n", encoding="utf-8")
    assert labels_of(read_dataset(manifest, "csv")) == {"a.png": "abc"}


def test_csv_bad_rows_are_skipped_and_the_rest_read(tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        write_png(tmp_path / name)
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(
        b"path,text\n"
        b"a.png,good\n"
        b"a.png,too,many\n"
        b"missing.png,ghost\n"
        b"a.png,\n"
        b"a.png,\xff\xfe\n"
        b'a.png,"never closed\n'
        b"b.png,not swallowed\n"
        b'c.png,"quoted, with comma"\n'
    )
    dataset = read_dataset(manifest, "csv")
    # An unclosed quote costs its own line only (CSV would read on to the end of the file).
    assert [s.text for s in dataset.samples] == ["good", "not swallowed", "quoted, with comma"]
    why = reasons(dataset)
    assert "wrong number of fields: expected 2, found 3" in why[f"{manifest}:line 3"]
    assert why[f"{manifest}:line 4"] == f"image not found: {tmp_path / 'missing.png'}"
    assert why[f"{manifest}:line 5"] == "empty label: a.png"
    assert why[f"{manifest}:line 6"] == "row is not valid UTF-8"
    assert "unclosed quote" in why[f"{manifest}:line 7"]


# --- pixel-csv -----------------------------------------------------------------------------


def glyph(seed: int) -> np.ndarray:
    """A 28x28 'ink is high' image, asymmetric so a transpose shows."""
    image = np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)
    image[0, 1:] = 255
    image[1:, 0] = 0
    return image


def pixel_row(label: object, image: np.ndarray) -> str:
    return ",".join([str(label), *map(str, image.ravel().tolist())])


@pytest.mark.parametrize("header", [True, False])
def test_pixel_csv_round_trip_inverts_ink(tmp_path: Path, header: bool) -> None:
    images = [glyph(i) for i in range(3)]
    lines = [pixel_row(label, img) for label, img in zip([0, 7, 9], images, strict=True)]
    if header:
        lines.insert(0, "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)))
    manifest = tmp_path / "mnist_train.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dataset = read_dataset(manifest)
    assert dataset.format == "pixel-csv"
    assert [s.text for s in dataset.samples] == ["0", "7", "9"]
    offset = 2 if header else 1
    assert dataset.samples[0].source == f"{manifest}:line {offset}"
    for sample, image in zip(dataset.samples, images, strict=True):
        assert sample.path is None
        loaded = sample.load()
        assert loaded.dtype == np.uint8
        np.testing.assert_array_equal(loaded, 255 - image)
    assert dataset.skipped == []


def test_pixel_csv_label_maps_and_transpose(tmp_path: Path) -> None:
    image = glyph(0)
    manifest = tmp_path / "az.csv"
    manifest.write_text(pixel_row(0, image) + "\n" + pixel_row(25, image) + "\n", encoding="utf-8")
    by_name = read_dataset(manifest, "pixel-csv", label_map="az")
    assert [s.text for s in by_name.samples] == ["A", "Z"]
    by_spec = read_dataset(manifest, "pixel-csv", label_map="0-25 -> a-z")
    assert [s.text for s in by_spec.samples] == ["a", "z"]
    by_dict = read_dataset(manifest, "pixel-csv", label_map={0: "zero", 25: "x"})
    assert [s.text for s in by_dict.samples] == ["zero", "x"]
    transposed = read_dataset(manifest, "pixel-csv", label_map="az", transpose=True)
    np.testing.assert_array_equal(transposed.samples[0].load(), (255 - image).T)


def test_pixel_csv_large_labels_without_a_map_are_refused(tmp_path: Path) -> None:
    manifest = tmp_path / "az.csv"
    manifest.write_text(pixel_row(3, glyph(0)) + "\n" + pixel_row(25, glyph(1)) + "\n")
    with pytest.raises(DatasetError, match=r"labels 25 need a label map.*--label-map az"):
        read_dataset(manifest, "pixel-csv")


def test_pixel_csv_bad_rows_are_skipped(tmp_path: Path) -> None:
    good = pixel_row(1, glyph(0))
    values = glyph(1).ravel().tolist()
    manifest = tmp_path / "p.csv"
    rows = [
        good,
        "2," + ",".join(map(str, values[:-1])),  # 783 values
        "3," + ",".join(["x", *map(str, values[1:])]),  # non-numeric
        "4," + ",".join(["300", *map(str, values[1:])]),  # out of range
        "," + ",".join(map(str, values)),  # empty label
        pixel_row(12, glyph(2)),  # not in the explicit map below
    ]
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dataset = read_dataset(manifest, "pixel-csv", label_map="digits")
    assert [s.text for s in dataset.samples] == ["1"]
    assert reasons(dataset) == {
        f"{manifest}:line 2": "wrong number of pixel values: expected 784, found 783",
        f"{manifest}:line 3": "non-numeric pixel value",
        f"{manifest}:line 4": "pixel values must be 0-255",
        f"{manifest}:line 5": "empty label",
        f"{manifest}:line 6": "label not in the label map: 12",
    }


def test_pixel_csv_text_labels_are_used_as_they_are(tmp_path: Path) -> None:
    manifest = tmp_path / "p.csv"
    manifest.write_text(pixel_row("B", glyph(0)) + "\n", encoding="utf-8")
    assert [s.text for s in read_dataset(manifest, "pixel-csv").samples] == ["B"]


def test_pixel_csv_values_normalised_to_0_1_are_scaled_not_read_as_blank(tmp_path: Path) -> None:
    images = [glyph(i) for i in range(3)]
    manifest = tmp_path / "normalised.csv"
    rows = [
        ",".join([str(n), *(f"{v / 255:.6f}" for v in img.ravel())]) for n, img in enumerate(images)
    ]
    bad = ",".join(["1", "2.0", *("0.5" for _ in range(783))])  # 2.0 in a 0-1 file
    manifest.write_text("\n".join([*rows, bad]) + "\n", encoding="utf-8")
    dataset = read_dataset(manifest)
    assert dataset.format == "pixel-csv"
    for sample, image in zip(dataset.samples, images, strict=True):
        np.testing.assert_array_equal(sample.load(), 255 - image)
    assert reasons(dataset) == {
        f"{manifest}:line 4": "pixel values must be 0-1, as in the file's first rows"
    }


def test_pixel_csv_quoted_fields_and_trailing_commas_are_read(tmp_path: Path) -> None:
    image = glyph(0)
    quoted = tmp_path / "quoted.csv"  # pandas QUOTE_ALL, R's write.csv
    header = ",".join(f'"{name}"' for name in ["label", *(f"pixel{i}" for i in range(784))])
    quoted.write_text(
        header + "\n" + ",".join(f'"{v}"' for v in [4, *image.ravel().tolist()]) + "\n",
        encoding="utf-8",
    )
    trailing = tmp_path / "trailing.csv"
    trailing.write_text(pixel_row(4, image) + ",\n" + pixel_row(5, image) + ",\n")
    for manifest in (quoted, trailing):
        dataset = read_dataset(manifest)
        assert dataset.format == "pixel-csv", manifest
        assert dataset.samples[0].text == "4"
        np.testing.assert_array_equal(dataset.samples[0].load(), 255 - image)
        assert dataset.skipped == []


def test_pixel_csv_bad_first_row_is_not_taken_for_a_header(tmp_path: Path) -> None:
    manifest = tmp_path / "p.csv"
    garbage = ",".join(["5", *("x" for _ in range(784))])
    manifest.write_text(garbage + "\n" + pixel_row(1, glyph(0)) + "\n", encoding="utf-8")
    dataset = read_dataset(manifest, "pixel-csv")
    assert [s.text for s in dataset.samples] == ["1"]
    assert reasons(dataset) == {f"{manifest}:line 1": "non-numeric pixel value"}


def test_pixel_csv_numeric_labels_that_are_not_class_numbers_are_skipped(tmp_path: Path) -> None:
    manifest = tmp_path / "p.csv"
    labels = ["3", "3.5", "nan", "-1", "7.0"]
    manifest.write_text(
        "\n".join(pixel_row(label, glyph(i)) for i, label in enumerate(labels)) + "\n",
        encoding="utf-8",
    )
    dataset = read_dataset(manifest)  # -1 does not make the file need a label map
    assert [s.text for s in dataset.samples] == ["3", "7"]
    assert reasons(dataset) == {
        f"{manifest}:line 2": "label is not a whole number: 3.5",
        f"{manifest}:line 3": "label is not a whole number: nan",
        f"{manifest}:line 4": "negative label: -1 (not a class number)",
    }


def test_parse_label_map_forms(tmp_path: Path) -> None:
    assert parse_label_map("az")[25] == "Z"
    assert parse_label_map("digits") == {i: str(i) for i in range(10)}
    assert parse_label_map("letters")[1] == "A"
    assert len(parse_label_map("emnist-balanced")) == 47
    assert parse_label_map("emnist-byclass")[61] == "z"
    combined = parse_label_map("0-9:0-9, 10-35:A-Z")
    assert combined[9] == "9"
    assert combined[10] == "A"
    assert combined[35] == "Z"
    assert parse_label_map("0=zero,1=one") == {0: "zero", 1: "one"}
    mapping_file = tmp_path / "emnist-balanced-mapping.txt"
    mapping_file.write_text("0 48\n10 65\n36 97\n", encoding="utf-8")
    assert parse_label_map(str(mapping_file)) == {0: "0", 10: "A", 36: "a"}
    assert set(NAMED_LABEL_MAPS) >= {"az", "digits"}


@pytest.mark.parametrize("spec", ["nonsense", "0-25:A-Y", "a-b:c", ""])
def test_parse_label_map_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(DatasetError, match="--label-map"):
        parse_label_map(spec)


# --- idx -----------------------------------------------------------------------------------


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">HBBIII", 0, 0x08, 3, n, rows, cols) + images.tobytes()


def idx_labels(labels: list[int]) -> bytes:
    return struct.pack(">HBBI", 0, 0x08, 1, len(labels)) + bytes(labels)


def write_idx(
    folder: Path,
    images: np.ndarray,
    labels: list[int],
    *,
    prefix: str = "train",
    gzipped: tuple[bool, bool] = (False, False),
) -> tuple[Path, Path]:
    """The images and labels files; ``gzipped``: (images, labels) compressed or not."""
    gzip_images, gzip_labels = gzipped
    folder.mkdir(parents=True, exist_ok=True)
    image_data, label_data = idx_images(images), idx_labels(labels)
    image_path = folder / f"{prefix}-images-idx3-ubyte{'.gz' if gzip_images else ''}"
    label_path = folder / f"{prefix}-labels-idx1-ubyte{'.gz' if gzip_labels else ''}"
    image_path.write_bytes(gzip.compress(image_data) if gzip_images else image_data)
    label_path.write_bytes(gzip.compress(label_data) if gzip_labels else label_data)
    return image_path, label_path


IDX_IMAGES = np.stack([glyph(i) for i in range(4)])


@pytest.mark.parametrize(
    ("gzip_images", "gzip_labels"), [(False, False), (True, True), (True, False)]
)
@pytest.mark.parametrize("given", ["folder", "images", "labels"])
def test_idx_round_trip(tmp_path: Path, gzip_images: bool, gzip_labels: bool, given: str) -> None:
    image_path, label_path = write_idx(
        tmp_path, IDX_IMAGES, [5, 0, 4, 1], gzipped=(gzip_images, gzip_labels)
    )
    src = {"folder": tmp_path, "images": image_path, "labels": label_path}[given]
    assert detect_format(src) == "idx"
    dataset = read_dataset(src)
    assert dataset.format == "idx"
    assert [s.text for s in dataset.samples] == ["5", "0", "4", "1"]
    assert dataset.samples[2].source == f"{image_path}:item 2"
    for sample, image in zip(dataset.samples, IDX_IMAGES, strict=True):
        np.testing.assert_array_equal(sample.load(), 255 - image)
    assert dataset.skipped == []


def test_idx_emnist_letters_transposed(tmp_path: Path) -> None:
    write_idx(
        tmp_path, IDX_IMAGES[:2], [1, 26], prefix="emnist-letters-train", gzipped=(True, False)
    )
    dataset = read_dataset(tmp_path, "idx", label_map="letters", transpose=True)
    assert [s.text for s in dataset.samples] == ["A", "Z"]
    np.testing.assert_array_equal(dataset.samples[0].load(), (255 - IDX_IMAGES[0]).T)


def test_idx_loaded_image_is_a_writable_copy(tmp_path: Path) -> None:
    write_idx(tmp_path, IDX_IMAGES, [1, 2, 3, 4])
    sample = read_dataset(tmp_path).samples[0]
    image = sample.load()
    image[:] = 7  # a trainer may modify its array in place
    np.testing.assert_array_equal(sample.load(), 255 - IDX_IMAGES[0])


def test_idx_truncated_and_mismatched_files_keep_what_is_whole(tmp_path: Path) -> None:
    image_path, _ = write_idx(tmp_path, IDX_IMAGES, [1, 2, 3])  # 4 images, 3 labels
    dataset = read_dataset(tmp_path)
    assert [s.text for s in dataset.samples] == ["1", "2", "3"]
    assert reasons(dataset) == {f"{image_path}:items 3-3": "no matching label"}

    _, label_path = write_idx(tmp_path, IDX_IMAGES, [1, 2, 3, 4])
    compressed = gzip.compress(idx_images(IDX_IMAGES))
    image_path.write_bytes(compressed[: len(compressed) // 2])  # a cut-off download
    dataset = read_dataset(image_path)
    n = len(dataset)
    assert 0 < n < 3
    assert [s.text for s in dataset.samples] == ["1", "2", "3", "4"][:n]
    assert reasons(dataset) == {
        f"{image_path}:items {n}-3": "file is truncated (incomplete gzip stream)",
        f"{label_path}:items {n}-3": "no matching image",
    }


def test_idx_errors_name_the_file(tmp_path: Path) -> None:
    image_path, label_path = write_idx(tmp_path / "a", IDX_IMAGES, [1, 2, 3, 4])
    label_path.write_bytes(b"\x12\x34\x08\x01" + bytes(8))
    with pytest.raises(DatasetError, match=rf"{label_path.name}: not an IDX file"):
        read_dataset(image_path, "idx")
    label_path.unlink()
    with pytest.raises(DatasetError, match="matching IDX file is missing"):
        read_dataset(image_path, "idx")
    write_idx(tmp_path / "b", IDX_IMAGES, [1, 2, 3, 4], prefix="train")
    write_idx(tmp_path / "b", IDX_IMAGES, [1, 2, 3, 4], prefix="t10k")
    with pytest.raises(DatasetError, match="several IDX image files"):
        read_dataset(tmp_path / "b", "idx")


def test_idx_gzip_is_inflated_only_as_far_as_the_header_reaches(tmp_path: Path) -> None:
    image_path, _ = write_idx(tmp_path, IDX_IMAGES, [1, 2, 3, 4])
    # 4 images declared, 64 MB of zeros after them: only the 4 images are inflated.
    image_path.write_bytes(gzip.compress(idx_images(IDX_IMAGES) + bytes(64 << 20)))
    assert image_path.stat().st_size < 1 << 20
    data, complete = _read_maybe_gzip(image_path, 3)
    assert complete and len(data) == 16 + IDX_IMAGES.size
    assert [s.text for s in read_dataset(tmp_path).samples] == ["1", "2", "3", "4"]
    # A header declaring more than lineocr reads is refused before anything is inflated.
    image_path.write_bytes(gzip.compress(struct.pack(">HBBIII", 0, 8, 3, 10**9, 784, 784)))
    with pytest.raises(DatasetError, match=r"header declares .* more than the limit"):
        read_dataset(tmp_path)


def test_idx_concatenated_gzip_members_are_read_whole(tmp_path: Path) -> None:
    image_path, _ = write_idx(tmp_path, IDX_IMAGES, [1, 2, 3, 4])
    data = idx_images(IDX_IMAGES)
    image_path.write_bytes(gzip.compress(data[:500]) + gzip.compress(data[500:]))  # cat a b
    dataset = read_dataset(tmp_path)
    assert [s.text for s in dataset.samples] == ["1", "2", "3", "4"]
    assert dataset.skipped == []


def test_idx_images_of_no_pixels_are_an_error_naming_the_file(tmp_path: Path) -> None:
    image_path, _ = write_idx(tmp_path, IDX_IMAGES, [1, 2, 3, 4])
    image_path.write_bytes(struct.pack(">HBBIII", 0, 8, 3, 4, 0, 28))
    with pytest.raises(DatasetError, match=rf"{image_path.name}: IDX images of 0 x 28: empty"):
        read_dataset(tmp_path)


def test_file_names_that_are_not_utf8_are_skipped_and_named(tmp_path: Path) -> None:

    write_png(tmp_path / "good.png")
    bad = os.fsdecode(b"caf\xe9.png")
    write_png(tmp_path / bad)
    dataset = read_dataset(tmp_path, "filename")
    assert labels_of(dataset) == {"good.png": "good"}
    assert reasons(dataset) == {
        str(tmp_path / "caf\ufffd.png"): "file name is not valid UTF-8: rename it"
    }


def test_manifest_rows_naming_impossible_paths_are_skipped(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    manifest = tmp_path / "m.tsv"
    manifest.write_text(f"{'x' * 300}.png\tlong\na.png\tok\n", encoding="utf-8")
    dataset = read_dataset(manifest, "tsv")
    assert labels_of(dataset) == {"a.png": "ok"}
    assert "image not found" in reasons(dataset)[f"{manifest}:line 1"]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_utf16_manifests_are_named_as_such(tmp_path: Path, fmt: str) -> None:
    manifest = tmp_path / f"m.{fmt}"
    manifest.write_bytes("a.png\tx\n".encode("utf-16"))
    with pytest.raises(DatasetError, match="is UTF-16; save it as UTF-8"):
        read_dataset(manifest, fmt)


def test_label_maps_refuse_surrogates_and_files_that_are_not_utf8(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.txt"
    mapping.write_text("0 48\n1 55296\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2: code point 55296 is a surrogate"):
        parse_label_map(str(mapping))
    mapping.write_bytes(b"0 48\n1 \xe9\n")
    with pytest.raises(DatasetError, match=r"mapping\.txt: the label mapping file is not UTF-8"):
        parse_label_map(str(mapping))


def test_idx_large_labels_need_a_map(tmp_path: Path) -> None:
    write_idx(tmp_path, IDX_IMAGES[:2], [3, 40], prefix="emnist-balanced-train")
    with pytest.raises(DatasetError, match="labels 40 need a label map"):
        read_dataset(tmp_path)
    dataset = read_dataset(tmp_path, label_map="emnist-balanced")
    assert [s.text for s in dataset.samples] == ["3", "f"]


# --- detection -----------------------------------------------------------------------------


def test_detect_each_format(tmp_path: Path) -> None:
    sidecar = tmp_path / "sidecar"
    write_png(sidecar / "a.png")
    (sidecar / "a.gt.txt").write_text("a", encoding="utf-8")
    filename = tmp_path / "filename"
    write_png(filename / "abc.png")
    write_png(filename / "def.png")
    tsv = tmp_path / "m.tsv"
    tsv.write_text("a.png\tx\n", encoding="utf-8")
    tab_txt = tmp_path / "rec_gt.txt"  # PaddleOCR-style manifest
    tab_txt.write_text("a.png\tx\n", encoding="utf-8")
    plain_csv = tmp_path / "m.csv"
    plain_csv.write_text("path,text\na.png,x\n", encoding="utf-8")
    pixels = tmp_path / "p.csv"
    pixels.write_text(pixel_row(1, glyph(0)) + "\n", encoding="utf-8")
    only_manifest = tmp_path / "only_manifest"
    only_manifest.mkdir()
    (only_manifest / "train.csv").write_text(pixel_row(1, glyph(0)) + "\n", encoding="utf-8")
    assert detect_format(sidecar) == "sidecar"
    assert detect_format(filename) == "filename"
    assert detect_format(tsv) == "tsv"
    assert detect_format(tab_txt) == "tsv"
    assert detect_format(plain_csv) == "csv"
    assert detect_format(pixels) == "pixel-csv"
    assert detect_format(only_manifest) == "pixel-csv"
    assert read_dataset(only_manifest).samples[0].text == "1"


def test_detect_ambiguous_sidecar_and_filename_lists_both(tmp_path: Path) -> None:
    write_png(tmp_path / "line1.png")
    (tmp_path / "line1.gt.txt").write_text("hello", encoding="utf-8")
    write_png(tmp_path / "3bnyf.png")
    with pytest.raises(DatasetError) as info:
        detect_format(tmp_path)
    message = str(info.value)
    assert "sidecar: 1 of 2 images have a .gt.txt/.txt file" in message
    assert "filename: 1 of 2 images have no label file" in message
    assert "--format sidecar|filename" in message
    with pytest.raises(DatasetError, match="--format"):
        read_dataset(tmp_path)
    # Told the format, the same folder reads, with the unlabelled image skipped.
    dataset = read_dataset(tmp_path, "sidecar")
    assert [s.text for s in dataset.samples] == ["hello"]
    assert len(dataset.skipped) == 1


def test_detect_ambiguous_images_and_unrelated_manifest(tmp_path: Path) -> None:
    write_png(tmp_path / "images" / "a.png")
    (tmp_path / "labels.csv").write_text("elsewhere/a.png,abc\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"filename.*\n.*csv: labels\.csv"):
        detect_format(tmp_path)
    assert [s.text for s in read_dataset(tmp_path, "filename").samples] == ["a"]


@pytest.mark.parametrize(
    ("manifest", "content", "fmt"),
    [
        ("labels.tsv", "images/a.png\tabc\n", "tsv"),
        ("labels.csv", "path,text\nimages/a.png,abc\n", "csv"),
    ],
)
def test_detect_manifest_naming_the_images_beside_it(
    tmp_path: Path, manifest: str, content: str, fmt: str
) -> None:
    # The layout `lineocr synth --format tsv` writes: images/ + labels.tsv + synth.json.
    write_png(tmp_path / "images" / "a.png")
    (tmp_path / manifest).write_text(content, encoding="utf-8")
    (tmp_path / "synth.json").write_text("{}", encoding="utf-8")
    assert detect_format(tmp_path) == fmt
    dataset = read_dataset(tmp_path)
    assert dataset.format == fmt
    assert [s.text for s in dataset.samples] == ["abc"]


def test_detect_refuses_what_is_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        detect_format(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="found no images"):
        detect_format(tmp_path / "empty")
    image = write_png(tmp_path / "one.png")
    with pytest.raises(DatasetError, match="single image"):
        detect_format(image)
    prose = tmp_path / "notes.txt"
    prose.write_text("just some words\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="--format"):
        detect_format(prose)


# --- read_dataset contract -----------------------------------------------------------------


def test_options_that_do_not_fit_the_format_are_errors(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png")
    (tmp_path / "a.gt.txt").write_text("a", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"--strip-suffix applies to the filename.*detected"):
        read_dataset(tmp_path, strip_suffix=True)
    with pytest.raises(DatasetError, match="--label-map applies to the pixel-csv and idx"):
        read_dataset(tmp_path, "sidecar", label_map="az")
    with pytest.raises(DatasetError, match="unknown dataset format 'jsonl'"):
        read_dataset(tmp_path, "jsonl")
    assert set(FORMATS) == {"sidecar", "filename", "tsv", "csv", "pixel-csv", "idx"}


def test_several_sources_each_take_the_options_their_format_uses(tmp_path: Path) -> None:
    letters = tmp_path / "az.csv"  # Kaggle A-Z: labels 0-25
    letters.write_text(pixel_row(25, glyph(0)) + "\n" + pixel_row(0, glyph(1)) + "\n")
    lines = tmp_path / "lines"
    write_png(lines / "a.png")
    (lines / "a.gt.txt").write_text("hello", encoding="utf-8")
    az, folder = read_datasets([letters, lines], label_map="az")
    assert [s.text for s in az.samples] == ["Z", "A"]
    assert (folder.format, [s.text for s in folder.samples]) == ("sidecar", ["hello"])
    # an option that no source's format uses is still an error
    with pytest.raises(DatasetError, match=r"--strip-suffix applies to the filename.*pixel-csv"):
        read_datasets([letters, lines], strip_suffix=True)
    with pytest.raises(DatasetError, match="--label-map applies to the pixel-csv and idx"):
        read_datasets([lines], label_map="az")


def test_nothing_readable_names_the_path_and_top_reasons(tmp_path: Path) -> None:
    manifest = tmp_path / "m.tsv"
    manifest.write_text("a.png\tx\nb.png\ty\nno tab\n", encoding="utf-8")
    with pytest.raises(DatasetError) as info:
        read_dataset(manifest)
    message = str(info.value)
    assert message.startswith(f"{manifest}: no readable samples (tsv format); 3 skipped")
    assert "image not found (2)" in message
    assert "no tab between the image path and the text (1)" in message


def test_missing_source_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file or directory"):
        read_dataset(tmp_path / "nope", "sidecar")


@pytest.mark.parametrize("fmt", [None, "tsv", "csv", "sidecar"])
def test_a_device_is_a_dataset_error_naming_it(fmt: str | None) -> None:
    with pytest.raises(DatasetError, match=r"^/dev/null: "):
        read_dataset("/dev/null", fmt)


def test_sample_equality_ignores_pixel_arrays() -> None:
    a = Sample("x", "f.csv:line 1", pixels=np.zeros((2, 2), np.uint8))
    b = Sample("x", "f.csv:line 1", pixels=np.ones((2, 2), np.uint8))
    assert a == b
    assert len({a, b}) == 1
    with pytest.raises(ImageError, match="neither"):
        Sample("x", "nowhere").load()


# --- summary -------------------------------------------------------------------------------


def test_histogram_bins() -> None:
    assert histogram([]) == []
    assert histogram([5, 5, 5]) == [(5, 5, 3)]
    assert histogram([1, 2, 3, 10], max_bins=5) == [
        (1, 2, 2),
        (3, 4, 1),
        (5, 6, 0),
        (7, 8, 0),
        (9, 10, 1),
    ]
    assert sum(n for _, _, n in histogram(list(range(1000)))) == 1000


def test_summarize_counts_sizes_and_unreadable_images(tmp_path: Path) -> None:
    write_png(tmp_path / "aab.png", width=30)
    write_png(tmp_path / "ab.png", width=50)
    write_png(tmp_path / "b_2.png", width=50)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    dataset = read_dataset(tmp_path, "filename", label_regex=r"^[abd]+$")
    assert len(dataset) == 3  # b_2 does not match the regex
    summary = summarize(dataset)
    assert summary.n_samples == 3
    assert summary.char_counts == {"a": 4, "b": 3, "d": 1}
    assert list(summary.char_counts) == ["a", "b", "d"]  # most frequent first
    assert summary.length_histogram == [(2, 2, 1), (3, 3, 2)]
    assert summary.n_images_checked == 3
    assert summary.n_unreadable == 1
    assert summary.n_skipped == 2
    assert {s.source for s in summary.skipped} == {
        str(tmp_path / "b_2.png"),
        str(tmp_path / "bad.png"),
    }
    assert sum(n for _, _, n in summary.width_histogram) == 2
    assert summary.width_histogram[0][0] == 30
    assert summary.width_histogram[-1][1] >= 50
    assert summary.height_histogram == [(8, 8, 2)]
    assert json.loads(json.dumps(summary.to_dict()))["char_counts"]["a"] == 4


def test_summarize_samples_at_most_max_images(tmp_path: Path) -> None:
    for i in range(12):
        write_png(tmp_path / f"w{i:02d}.png", width=10 + i)
    dataset = read_dataset(tmp_path, "filename")
    summary = summarize(dataset, max_images=5, seed=1)
    assert summary.n_images_checked == 5
    assert sum(n for _, _, n in summary.width_histogram) == 5
    assert summarize(dataset, max_images=5, seed=1) == summary  # seeded: reproducible


def test_print_summary_shows_counts_histograms_and_skipped(tmp_path: Path) -> None:
    write_png(tmp_path / "ab[c].png")
    write_png(tmp_path / "abc_1.png")
    (tmp_path / "x.tsv").write_text("irrelevant\n", encoding="utf-8")
    dataset = Dataset(
        samples=read_dataset(tmp_path, "filename").samples,
        skipped=[Skipped("row [7]", "empty label")],
        format="filename",
        root=tmp_path,
    )
    buffer = io.StringIO()
    print_summary(summarize(dataset), Console(file=buffer, width=120, color_system=None))
    out = buffer.getvalue()
    assert "samples" in out
    assert "filename" in out
    assert "label length" in out
    assert "image width" in out
    assert "row [7]" in out  # markup in sources is shown, not interpreted
    assert "'[' 1" in out
    assert "█" in out
