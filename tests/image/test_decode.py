"""Decoding uploads (tutela.image.decode) on real files made here with Pillow: every allowed format,
EXIF orientation and evidence, animation, and every way an upload is refused. Images are drawn
shapes, flat colours, noise and scikit-image's bundled sample photos; nothing is downloaded."""

from __future__ import annotations

import io
import json
import random
import struct
import time
import zlib
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageDraw, ImageFile, ImageOps
from skimage import data as samples

from tutela.image import DecodedImage, ImageRejected, Limits, decode
from tutela.image.decode import EXIF_MAX_STRING

FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def astronaut(size: tuple[int, int] = (320, 200)) -> Image.Image:
    return Image.fromarray(samples.astronaut()).resize(size, Image.Resampling.BICUBIC)


def rejected(data: bytes, limits: Limits | None = None) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        decode(data, limits)
    return info.value


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def crafted_png(width: int, height: int, idat: bytes, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A PNG whose header says what we like: valid chunks and CRCs, so it parses, whatever it declares."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def frames(colours: list[tuple[int, int, int]], size: tuple[int, int] = (64, 48)) -> list[Image.Image]:
    return [Image.new("RGB", size, c) for c in colours]


RED, GREEN, BLUE = (220, 20, 20), (20, 200, 20), (20, 20, 220)


# -- what comes out -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_allowed_format_round_trips(fmt: str) -> None:
    source = astronaut()
    data = encode(source, fmt)
    decoded = decode(data)
    assert isinstance(decoded, DecodedImage)
    assert (decoded.format, decoded.width, decoded.height) == (FORMATS[fmt], 320, 200)
    assert (decoded.frames, decoded.animated, decoded.orientation, decoded.size_bytes) == (1, False, None, len(data))
    assert decoded.image.mode == "RGB" and decoded.image.size == (320, 200)
    difference = np.abs(np.asarray(decoded.image, dtype=np.int16) - np.asarray(source, dtype=np.int16)).mean()
    assert difference < 12  # lossy formats and GIF's 256 colours stay close to the source


@pytest.mark.parametrize(
    ("mode", "fmt"), [("L", "PNG"), ("P", "PNG"), ("RGBA", "PNG"), ("CMYK", "JPEG"), ("L", "JPEG"), ("RGBA", "WEBP")]
)
def test_the_source_mode_is_reported_and_the_image_is_rgb(mode: str, fmt: str) -> None:
    source = astronaut().convert(mode)
    if mode == "RGBA":
        source.putalpha(128)  # an encoder may drop an alpha channel that is opaque everywhere
    decoded = decode(encode(source, fmt))
    assert decoded.mode == mode
    assert decoded.image.mode == "RGB"


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    data = encode(Image.fromarray(np.full((32, 32), 32768, dtype=np.uint16)), "PNG")
    decoded = decode(data)
    assert decoded.mode == "I;16"
    assert decoded.image.getpixel((0, 0)) == (128, 128, 128)  # Pillow's own conversion gives 255


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_transparency_is_composited_on_white(fmt: str) -> None:
    rgba = Image.new("RGBA", (64, 64), (255, 0, 0, 0))  # red, but invisible
    ImageDraw.Draw(rgba).rectangle((32, 0, 63, 63), fill=(0, 0, 255, 255))
    decoded = decode(encode(rgba, fmt, lossless=True) if fmt == "WEBP" else encode(rgba, fmt))
    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)
    assert decoded.image.getpixel((50, 5)) == (0, 0, 255)


def test_a_gif_transparent_index_is_composited_on_white() -> None:
    image = Image.new("P", (32, 32), 1)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    ImageDraw.Draw(image).rectangle((0, 0, 15, 31), fill=0)
    decoded = decode(encode(image, "GIF", transparency=0))
    assert decoded.image.getpixel((5, 5)) == (255, 255, 255)
    assert decoded.image.getpixel((25, 5)) == (0, 255, 0)


def exif_jpeg(orientation: int, size: tuple[int, int] = (300, 200)) -> bytes:
    """A JPEG with a red block in its stored top-left corner and EXIF as a camera writes it."""
    image = Image.new("RGB", size, (240, 240, 240))
    ImageDraw.Draw(image).rectangle((0, 0, 59, 39), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "TutelaCam\x00"
    exif[ExifTags.Base.ImageDescription] = "x" * 500
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.MakerNote] = b"\x01\x02" * 50
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    return encode(image, "JPEG", exif=exif, quality=95)


def test_exif_orientation_6_turns_the_picture_and_the_exif_is_kept_as_evidence() -> None:
    decoded = decode(exif_jpeg(6))
    assert (decoded.width, decoded.height, decoded.orientation) == (200, 300, 6)
    assert decoded.image.size == (200, 300)
    red, grey = decoded.image.getpixel((190, 10)), decoded.image.getpixel((10, 10))
    assert red[0] > 200 and red[1] < 60  # stored top-left is shown top-right: turned 90° clockwise
    assert grey[0] > 200 and grey[1] > 200
    exif = decoded.exif
    assert exif["Orientation"] == 6
    assert exif["Make"] == "TutelaCam"
    assert exif["ImageDescription"] == "x" * EXIF_MAX_STRING
    assert exif["MakerNote"] == "<100 bytes>"
    assert (exif["GPSLatitudeRef"], exif["GPSLatitude"]) == ("N", "51.0, 30.0, 12.5")
    assert "ExifOffset" not in exif and "GPSInfo" not in exif  # file offsets, not evidence
    assert json.loads(json.dumps(exif)) == exif


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_is_shown_as_exif_transpose_shows_it(orientation: int) -> None:
    data = exif_jpeg(orientation)
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    decoded = decode(data)
    assert decoded.image.size == expected.size == (decoded.width, decoded.height)
    assert np.array_equal(np.asarray(decoded.image), np.asarray(expected))


def test_max_side_decodes_a_large_jpeg_small_and_reports_the_original_size() -> None:
    data = encode(astronaut((2000, 1500)), "JPEG", quality=90)
    decoded = decode(data, max_side=512)
    assert decoded.image.size == (512, 384)
    assert (decoded.width, decoded.height) == (2000, 1500)
    full = decode(data).image.resize((512, 384), Image.Resampling.BICUBIC)
    assert np.abs(np.asarray(decoded.image, dtype=np.int16) - np.asarray(full, dtype=np.int16)).mean() < 4


def test_max_side_with_orientation_reports_the_turned_original_size() -> None:
    decoded = decode(exif_jpeg(6, size=(1200, 800)), max_side=300)
    assert (decoded.width, decoded.height) == (800, 1200)
    assert decoded.image.size == (200, 300)


def test_an_animated_gif_reports_its_frames_and_decodes_the_first() -> None:
    data = encode(frames([RED, GREEN, BLUE])[0], "GIF", save_all=True, append_images=frames([GREEN, BLUE]), duration=100, loop=0)
    decoded = decode(data)
    assert (decoded.format, decoded.frames, decoded.animated) == ("gif", 3, True)
    assert decoded.image.getpixel((10, 10)) == RED


@pytest.mark.parametrize(("fmt", "params"), [("WEBP", {"lossless": True}), ("PNG", {})])
def test_animated_webp_and_png_report_their_frames(fmt: str, params: dict[str, object]) -> None:
    first, *rest = frames([RED, GREEN, BLUE])
    decoded = decode(encode(first, fmt, save_all=True, append_images=rest, duration=100, **params))
    assert (decoded.frames, decoded.animated) == (3, True)
    assert decoded.image.getpixel((10, 10)) == RED


def test_a_small_flat_colour_image_is_not_a_bomb() -> None:
    decoded = decode(encode(Image.new("RGB", (1500, 1500), (30, 90, 200)), "PNG"))  # 2.25 M pixels from 7 KB
    assert decoded.width == 1500


# -- what is refused ------------------------------------------------------------------------------


def test_empty_bytes() -> None:
    e = rejected(b"")
    assert (e.code, e.status) == ("empty", 422)


def test_random_bytes_are_not_a_format() -> None:
    e = rejected(random.Random(4).randbytes(5000))
    assert (e.code, e.status) == ("unsupported_format", 415)


@pytest.mark.parametrize("signature", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x01\x00\x00WEBPVP8 "])
def test_random_bytes_behind_a_signature_are_corrupt(signature: bytes) -> None:
    e = rejected(signature + random.Random(5).randbytes(5000))
    assert (e.code, e.status) == ("corrupt", 422)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_file_cut_in_half_is_corrupt(fmt: str) -> None:
    data = encode(astronaut(), fmt)
    e = rejected(data[: len(data) // 2])
    assert (e.code, e.status) == ("corrupt", 422)
    assert "truncated" in e.detail


@pytest.mark.parametrize(("fmt", "name"), [("BMP", "BMP"), ("TIFF", "TIFF"), ("ICO", "ICO"), ("PDF", "PDF")])
def test_other_image_formats_are_unsupported(fmt: str, name: str) -> None:
    e = rejected(encode(astronaut((64, 64)), fmt))
    assert (e.code, e.status) == ("unsupported_format", 415)
    assert f"look like {name}" in e.detail


@pytest.mark.parametrize(
    "text",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"\n  <!-- a comment -->\n<svg/>",
        b"hello, this is text",
    ],
)
def test_svg_and_text_are_unsupported(text: bytes) -> None:
    assert rejected(text).status == 415


def test_heic_is_unsupported_and_named() -> None:
    e = rejected(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    assert e.status == 415
    assert "heic" in e.detail


def test_a_png_declaring_ten_billion_pixels_is_refused_before_allocating() -> None:
    data = crafted_png(100_000, 100_000, zlib.compress(b"\x00" * 100))
    started = time.perf_counter()
    e = rejected(data)
    assert time.perf_counter() - started < 0.5
    assert (e.code, e.status) == ("decompression_bomb", 413)  # Pillow's own guard, turned into ours
    assert "10000000000 pixels" in e.detail


def test_pixels_over_the_limit_are_refused_from_the_header() -> None:
    e = rejected(crafted_png(10_000, 6_000, zlib.compress(b"\x00" * 100)))
    assert (e.code, e.status) == ("too_many_pixels", 413)
    assert "60,000,000 pixels" in e.detail and "40,000,000" in e.detail


def test_a_side_over_the_limit_is_refused() -> None:
    e = rejected(crafted_png(20_000, 100, zlib.compress(b"\x00" * 100)))
    assert (e.code, e.status) == ("too_many_pixels", 413)
    assert "16,384" in e.detail


def test_a_decompression_bomb_is_refused() -> None:
    """100 M one-bit pixels, all zero: 12 KB of file, 100 MB as Pillow would hold it."""
    rows = (b"\x00" + bytes(10_000 // 8)) * 10_000
    data = crafted_png(10_000, 10_000, zlib.compress(rows, 9), bit_depth=1)
    assert len(data) < 20_000
    started = time.perf_counter()
    e = rejected(data)
    assert time.perf_counter() - started < 0.5
    assert (e.code, e.status) == ("decompression_bomb", 413)


def test_the_ratio_guard_refuses_what_expands_too_much_and_can_be_raised() -> None:
    data = encode(Image.new("L", (3000, 3000), 128), "PNG")  # 9 M pixels from about 15 KB
    e = rejected(data)
    assert (e.code, e.status) == ("decompression_bomb", 413)
    assert "to 1" in e.detail and "Limits.max_ratio" in e.detail
    assert decode(data, Limits(max_ratio=100_000)).width == 3000


def test_too_many_bytes() -> None:
    data = encode(astronaut(), "PNG")
    e = rejected(data, Limits(max_bytes=1000))
    assert (e.code, e.status) == ("too_large", 413)
    assert f"{len(data):,} bytes" in e.detail and "1,000 bytes" in e.detail


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_too_many_frames(fmt: str) -> None:
    first, *rest = frames([RED, GREEN, BLUE, RED, GREEN])
    data = encode(first, fmt, save_all=True, append_images=rest, duration=100)
    assert decode(data, Limits(max_frames=5)).frames == 5
    e = rejected(data, Limits(max_frames=3))
    assert (e.code, e.status) == ("too_many_frames", 413)


def test_counting_gif_frames_stops_at_the_limit() -> None:
    """200,000 one-pixel frames: Pillow's n_frames would walk them all; we stop at 1,001."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    data = screen + frame * 200_000 + b";"
    started = time.perf_counter()
    e = rejected(data)
    assert time.perf_counter() - started < 0.5
    assert e.code == "too_many_frames"
    assert decode(screen + frame * 7 + b";").frames == 7


@pytest.mark.parametrize("count", [1, 2, 17, 300])
def test_gif_frames_are_counted_as_pillow_counts_them(count: int) -> None:
    rng = np.random.default_rng(count)
    images = [Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)) for _ in range(count)]
    data = encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=50, comment=b"made by a test")
    assert decode(data).frames == Image.open(io.BytesIO(data)).n_frames == count


def test_a_png_of_too_many_chunks_is_refused_fast() -> None:
    data = encode(Image.new("RGB", (8, 8)), "PNG")
    data = data[:33] + png_chunk(b"abCd", b"") * 60_000 + data[33:]  # after IHDR: empty private chunks
    started = time.perf_counter()
    e = rejected(data)
    assert time.perf_counter() - started < 0.5
    assert (e.code, e.status) == ("decompression_bomb", 413)
    assert "50,000 chunks" in e.detail


@pytest.mark.parametrize("segment", [b"\xff\xfe\x00\x02", b"\xff"])
def test_a_jpeg_of_too_many_header_segments_is_refused_fast(segment: bytes) -> None:
    data = encode(Image.new("RGB", (8, 8)), "JPEG")
    data = data[:2] + segment * 1_000_000 + data[2:]  # empty comments, or fill bytes: Pillow reads each in Python
    started = time.perf_counter()
    e = rejected(data)
    assert time.perf_counter() - started < 0.5
    assert (e.code, e.status) == ("decompression_bomb", 413)


def test_a_gif_of_too_many_sub_blocks_is_refused_fast() -> None:
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    comment = b"!\xfe" + b"\x01a" * 2_000_000 + b"\x00"  # one comment in 2 M one-byte pieces
    frame = b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    started = time.perf_counter()
    e = rejected(screen + comment + frame + b";")
    assert time.perf_counter() - started < 0.5
    assert (e.code, e.status) == ("decompression_bomb", 413)


def test_truncated_images_are_never_patched_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        decode(encode(astronaut(), "PNG"))


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="max_frames"):
        Limits(max_frames=0)
    with pytest.raises(ValueError, match="MAX_IMAGE_PIXELS"):
        Limits(max_pixels=1_000_000_000)


# -- fuzz: anything in, a DecodedImage or an ImageRejected out ------------------------------------


def small(fmt: str, **params: object) -> bytes:
    image = Image.fromarray(np.random.default_rng(7).integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return encode(image, fmt, **params)


SEEDS = {
    "png": small("PNG"),
    "jpeg": small("JPEG", quality=80),
    "jpeg_exif": exif_jpeg(6, size=(32, 24)),
    "gif": encode(frames([RED, GREEN])[0], "GIF", save_all=True, append_images=frames([BLUE], (64, 48))),
    "webp": small("WEBP"),
    "webp_lossless": small("WEBP", lossless=True),
}
FUZZ = settings(max_examples=300, deadline=timedelta(seconds=2), database=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes) -> None:
    try:
        decoded = decode(data)
    except ImageRejected as e:
        assert e.status in (413, 415, 422)
        assert e.detail
        return
    assert decoded.image.mode == "RGB"
    assert decoded.image.size == (decoded.width, decoded.height)  # both after orientation
    assert decoded.frames >= 1
    json.dumps(decoded.exif)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.integers(min_value=0), st.integers(min_value=1, max_value=255)), min_size=1, max_size=8),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),
)
def test_mutated_images(seed: str, flips: list[tuple[int, int]], keep: float | None) -> None:
    data = bytearray(SEEDS[seed])
    for position, mask in flips:
        data[12 + position % (len(data) - 12)] ^= mask  # past the signature, so Pillow gets to parse it
    if keep is not None:
        data = data[: max(1, int(len(data) * keep))]
    outcome(bytes(data))
