"""lineocr.images: every supported format and mode to uint8 gray, and every bad input refused."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lineocr.images import ALLOWED_FORMATS, DEFAULT_MAX_PIXELS, ImageError, load_image

# A gray ramp with black and white ends: any lossless round trip must keep it exactly.
RAMP = np.tile(np.linspace(0, 255, 32).round().astype(np.uint8), (8, 1))


def encode(img: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_with_header(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose IHDR claims any size, with whatever pixel data we choose."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("PNG", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
        ("WEBP", {"lossless": True}),
        ("GIF", {}),
        ("PPM", {}),
    ],
)
def test_lossless_formats_round_trip_exactly(fmt: str, options: dict[str, object]) -> None:
    data = encode(Image.fromarray(RAMP), fmt, **options)
    out = load_image(data)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, RAMP)


def test_jpeg_round_trips_within_compression_error() -> None:
    out = load_image(encode(Image.fromarray(RAMP), "JPEG", quality=95))
    assert out.shape == RAMP.shape
    assert np.abs(out.astype(int) - RAMP.astype(int)).max() <= 12


def test_rgb_is_converted_with_luma_weights() -> None:
    rgb = np.zeros((4, 3, 3), dtype=np.uint8)
    rgb[:, 0] = (255, 0, 0)
    rgb[:, 1] = (0, 255, 0)
    rgb[:, 2] = (255, 255, 255)
    out = load_image(encode(Image.fromarray(rgb), "PNG"))
    np.testing.assert_array_equal(out[0], [76, 150, 255])


def test_loads_from_path_str_and_bytes_alike(tmp_path: Path) -> None:
    path = tmp_path / "line.png"
    path.write_bytes(encode(Image.fromarray(RAMP), "PNG"))
    for source in (path, str(path), path.read_bytes()):
        np.testing.assert_array_equal(load_image(source), RAMP)


# --- modes ---------------------------------------------------------------------------------


def test_palette_image_uses_its_palette() -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * (256 * 3 - 6))
    img.putpixel((0, 0), 1)
    img.putpixel((1, 0), 0)
    np.testing.assert_array_equal(load_image(encode(img, "PNG")), [[255, 0]])


def test_palette_transparency_becomes_white_paper() -> None:
    img = Image.new("P", (2, 1))
    img.putpalette([0, 0, 0] * 256)  # every entry black
    img.putpixel((1, 0), 1)
    out = load_image(encode(img, "PNG", transparency=1))
    np.testing.assert_array_equal(out, [[0, 255]])


def test_gray_with_transparent_colour_becomes_white_paper() -> None:
    img = Image.fromarray(np.array([[0, 10]], dtype=np.uint8))
    out = load_image(encode(img, "PNG", transparency=0))
    np.testing.assert_array_equal(out, [[255, 10]])


def test_rgba_is_composited_on_white() -> None:
    rgba = np.array([[[0, 0, 0, 255], [0, 0, 0, 0], [0, 0, 0, 128]]], dtype=np.uint8)
    out = load_image(encode(Image.fromarray(rgba), "PNG"))
    assert out[0, 0] == 0
    assert out[0, 1] == 255
    assert 120 <= out[0, 2] <= 135


def test_la_is_composited_on_white() -> None:
    la = Image.merge(
        "LA",
        [Image.new("L", (2, 1), 0), Image.frombytes("L", (2, 1), bytes([255, 0]))],
    )
    np.testing.assert_array_equal(load_image(encode(la, "PNG")), [[0, 255]])


def test_premultiplied_la_and_lab_pil_images_are_read() -> None:
    # Pillow converts neither to L (both were "cannot convert image mode").
    la = Image.new("La", (3, 1))
    la.putdata([(0, 255), (0, 0), (100, 128)])  # black, transparent, half-covered grey
    out = load_image(la)
    assert out[0, 0] == 0 and out[0, 1] == 255
    assert 220 <= out[0, 2] <= 235  # un-premultiplied to ~199, then half on white paper
    lab = Image.new("LAB", (2, 1))
    lab.putdata([(30, 128, 128), (240, 100, 160)])  # the lightness is the grey level
    np.testing.assert_array_equal(load_image(lab), [[30, 240]])


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_gray_is_scaled_by_full_range_not_stretched(fmt: str) -> None:
    values = np.array([[32768, 65535, 65535]], dtype=np.uint16)
    img = Image.fromarray(values)
    assert img.mode == "I;16"
    # A faint gray on white stays faint gray: no min-max contrast stretch.
    np.testing.assert_array_equal(load_image(encode(img, fmt)), [[128, 255, 255]])


def test_1_bit_image_gives_black_and_white() -> None:
    img = Image.fromarray(np.array([[True, False, True]])).convert("1")
    np.testing.assert_array_equal(load_image(encode(img, "PNG")), [[255, 0, 255]])


def test_32_bit_float_tiff_in_unit_range() -> None:
    img = Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32))
    assert img.mode == "F"
    np.testing.assert_array_equal(load_image(encode(img, "TIFF")), [[0, 128, 255]])


def test_cmyk_jpeg_is_read() -> None:
    img = Image.new("CMYK", (8, 8), (0, 0, 0, 255))  # full black ink
    assert load_image(encode(img, "JPEG")).max() < 40


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_orientation_is_applied(fmt: str) -> None:
    img = Image.new("L", (20, 10), 255)
    img.paste(0, (0, 0, 10, 10))  # black left half
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = load_image(encode(img, fmt, exif=exif))
    assert out.shape == (20, 10)  # now portrait
    assert out[:8].mean() < 30  # the black half is on top
    assert out[12:].mean() > 225


# --- bad input -----------------------------------------------------------------------------


def test_empty_bytes_and_empty_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    empty = tmp_path / "empty.png"
    empty.touch()
    with pytest.raises(ImageError, match="empty") as info:
        load_image(empty)
    assert info.value.source == str(empty)


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageError, match="not a file"):
        load_image(tmp_path)


def test_garbage_is_refused_with_the_source_name() -> None:
    with pytest.raises(ImageError, match=r"^scan\.png: not a supported image"):
        load_image(b"this is not an image at all", name="scan.png")


def test_corrupt_png_body_is_refused() -> None:
    data = png_with_header(16, 16, b"definitely not zlib data")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "BMP"])
def test_truncated_image_is_refused(fmt: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    with pytest.raises(ImageError):
        load_image(data[: len(data) // 2])


def test_zero_size_images_are_refused() -> None:
    with pytest.raises(ImageError):
        load_image(png_with_header(0, 5, zlib.compress(b"")))
    with pytest.raises(ImageError, match="zero-size"):
        load_image(Image.new("L", (0, 5)))
    with pytest.raises(ImageError, match="zero-size"):
        load_image(np.zeros((0, 7), dtype=np.uint8))


def test_pixel_count_is_checked_from_the_header_before_decoding() -> None:
    # 50 MP claimed, a few bytes of data: decoding would fail as "truncated"; the size
    # check must refuse it first, and quickly.
    data = png_with_header(10_000, 5_000, zlib.compress(b"\0" * 100))
    assert DEFAULT_MAX_PIXELS < 10_000 * 5_000
    with pytest.raises(ImageError, match="more than the limit"):
        load_image(data)


def test_pixel_limit_is_configurable() -> None:
    data = encode(Image.fromarray(RAMP), "PNG")
    with pytest.raises(ImageError, match="too large"):
        load_image(data, max_pixels=RAMP.size - 1)
    assert load_image(data, max_pixels=RAMP.size).shape == RAMP.shape


def test_pillow_decompression_bomb_is_refused() -> None:
    data = png_with_header(20_000, 20_000, zlib.compress(b"\0" * 100))
    with pytest.raises(ImageError, match="too large") as info:
        load_image(data, max_pixels=10**9)
    assert f"limit of {Image.MAX_IMAGE_PIXELS:,} pixels" in str(info.value)
    with pytest.raises(ImageError, match="limit of 25,000,000 pixels"):
        load_image(data)  # the default limit, not Pillow's, is named


def test_eps_is_refused_although_pillow_recognises_it() -> None:
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n"
    assert Image.open(io.BytesIO(eps)).format == "EPS"  # Pillow would hand it to Ghostscript
    assert "EPS" not in ALLOWED_FORMATS
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(eps)


def test_pdf_is_refused() -> None:
    pdf = encode(Image.fromarray(RAMP), "PDF")
    assert pdf.startswith(b"%PDF")
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(pdf)


def test_formats_restrict_what_is_opened_and_the_message_names_them() -> None:
    gif = encode(Image.fromarray(RAMP), "GIF")
    assert load_image(gif).shape == RAMP.shape
    with pytest.raises(ImageError, match=r"\(supported: PNG, WebP\)$"):
        load_image(gif, formats=("WEBP", "PNG"))
    # Only formats lineocr allows can be asked for: EPS stays refused.
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    with pytest.raises(ImageError, match="not a supported image"):
        load_image(eps, formats=("EPS", "PNG"))


@pytest.mark.parametrize("fmt", ["TIFF", "GIF", "WEBP"])
def test_multi_frame_images_read_the_first_frame_and_say_so(fmt: str) -> None:
    first = np.full((12, 30), 255, np.uint8)
    first[3:9, 2:10] = 0
    second = np.zeros((12, 30), np.uint8)
    buf = io.BytesIO()
    frames = [Image.fromarray(first), Image.fromarray(second)]
    options = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], **options)
    notes: list[str] = []
    image = load_image(buf.getvalue(), notes=notes)
    assert np.array_equal(image, first)
    assert notes == ["2 frames; only the first is read"]
    single: list[str] = []
    load_image(encode(Image.fromarray(first), fmt), notes=single)
    assert single == []


def test_lazily_opened_truncated_pil_image_gives_image_error() -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "PNG")
    lazy = Image.open(io.BytesIO(data[: len(data) // 2]))  # header only, not decoded yet
    with pytest.raises(ImageError, match="cannot convert"):
        load_image(lazy)


# --- numpy arrays --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.array([[0, 128, 255]], dtype=np.uint8), [[0, 128, 255]]),
        (np.array([[False, True]]), [[0, 255]]),
        (np.array([[0.0, 0.5, 1.0]], dtype=np.float32), [[0, 128, 255]]),
        (np.array([[0.0, 100.0, 255.0]], dtype=np.float64), [[0, 100, 255]]),
        (np.array([[0, 32768, 65535]], dtype=np.uint16), [[0, 128, 255]]),
        (np.array([[0, 7, 255]], dtype=np.int64), [[0, 7, 255]]),
        (np.array([[-1.0, 0.0, 1.0]], dtype=np.float64), [[0, 128, 255]]),  # min-max
        (np.array([[-5, 5]], dtype=np.int32), [[0, 255]]),  # min-max
    ],
)
def test_gray_arrays_of_several_dtypes(array: np.ndarray, expected: list[list[int]]) -> None:
    out = load_image(array)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_colour_arrays_with_and_without_alpha() -> None:
    rgb = np.array([[[255, 255, 255], [0, 0, 0]]], dtype=np.uint8)
    np.testing.assert_array_equal(load_image(rgb), [[255, 0]])
    rgba = np.array([[[0, 0, 0, 0], [0, 0, 0, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(load_image(rgba), [[255, 0]])
    la = np.array([[[0, 0], [0, 255]]], dtype=np.uint8)
    np.testing.assert_array_equal(load_image(la), [[255, 0]])
    single = np.array([[[10], [20]]], dtype=np.uint8)
    np.testing.assert_array_equal(load_image(single), [[10, 20]])


def test_16_bit_and_float_colour_arrays_are_scaled_not_clipped() -> None:
    rgb16 = np.full((1, 2, 3), 32768, dtype=np.uint16)
    np.testing.assert_array_equal(load_image(rgb16), [[128, 128]])
    rgba_float = np.array([[[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]], dtype=np.float32)
    np.testing.assert_array_equal(load_image(rgba_float), [[255, 255]])


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.array([[0.0, np.inf]]), "NaN or infinite"),
        (np.zeros((2, 2, 2, 2), dtype=np.uint8), "expected a 2-D"),
        (np.zeros((2, 2, 5), dtype=np.uint8), "expected a 2-D"),
        (np.zeros(5, dtype=np.uint8), "not an image: a 1-D array"),
        (np.array(7, dtype=np.uint8), "not an image: a 0-D array"),  # was an IndexError
        (np.zeros((2, 2), dtype=np.complex64), "unsupported array dtype"),
        (np.array([["a", "b"]]), "unsupported array dtype"),
    ],
)
def test_bad_arrays_are_refused(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        load_image(array, name="arr")


def test_bytes_like_sources_are_read_and_other_objects_refused() -> None:
    data = encode(Image.fromarray(RAMP), "PNG")
    for source in (bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(load_image(source), RAMP)
    for other in (None, 5, [[0, 255]]):  # an AttributeError from describe() before
        with pytest.raises(ImageError, match="not an image: expected a file path"):
            load_image(other)  # type: ignore[arg-type]


def test_a_file_too_large_for_any_image_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    with big.open("wb") as f:  # sparse: takes no disk, would take 101 MB of memory
        f.write(encode(Image.fromarray(RAMP), "PNG"))
        f.truncate(101_000_000)
    with pytest.raises(ImageError, match=r"big.png: file too large: 101 MB"):
        load_image(big, max_pixels=10_000_000)  # within the pixel limit: at most 81 MB


def test_array_pixel_limit() -> None:
    with pytest.raises(ImageError, match="too large"):
        load_image(np.zeros((10, 10), dtype=np.uint8), max_pixels=99)


def test_every_error_says_its_kind(tmp_path: Path) -> None:
    """``kind`` is what code acts on (the server's status codes), whatever the wording."""

    def kind(source: object, **options: object) -> str:
        with pytest.raises(ImageError) as info:
            load_image(source, **options)  # type: ignore[arg-type]
        return info.value.kind

    big = tmp_path / "big.png"
    with big.open("wb") as f:
        f.truncate(2_000_000)  # sparse; over 8 bytes a pixel + 1 MiB
    assert kind(b"") == "empty"
    assert kind(encode(Image.fromarray(RAMP), "PNG"), max_pixels=RAMP.size - 1) == "too_large"
    assert kind(png_with_header(20_000, 20_000, b""), max_pixels=10**9) == "too_large"  # Pillow's
    assert kind(np.zeros((10, 10), dtype=np.uint8), max_pixels=99) == "too_large"
    assert kind(big, max_pixels=10) == "too_large"
    assert kind(b"this is not an image at all") == "unsupported"
    assert kind(encode(Image.fromarray(RAMP), "GIF"), formats=("PNG",)) == "unsupported"
    assert kind(png_with_header(16, 16, b"definitely not zlib data")) == "unreadable"
    assert kind(np.zeros((0, 7), dtype=np.uint8)) == "unreadable"
    assert kind(np.zeros(5, dtype=np.uint8)) == "unreadable"
    assert kind(tmp_path / "missing.png") == "unreadable"
    assert ImageError("x", "anything").kind == "unreadable"  # the default


def test_an_image_error_crosses_processes_whole() -> None:
    """A --workers process's error is pickled to the parent: source, reason and kind kept."""
    import pickle

    error = ImageError("a.png", "image too large: 9x9 pixels", kind="too_large")
    back = pickle.loads(pickle.dumps(error))
    assert (back.source, back.reason, back.kind, str(back)) == (
        "a.png",
        "image too large: 9x9 pixels",
        "too_large",
        str(error),
    )
