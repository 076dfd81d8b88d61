"""OCR: the shipped models load offline, read text drawn with Pillow on plain, noisy, gradient and
rotated backgrounds, find none where there is none, and give boxes in the input's pixels in
reading order. Timings are measured by bench/image_detectors.py, not asserted here."""

from __future__ import annotations

import logging

import pytest
from benign_images import gradient, noise, photo, sphere, text_image
from PIL import Image, ImageFont

from tutela.image.ocr import MIN_LINE_SCORE, OcrLine, TextReader, default_text_reader, joined_text, reading_order

SNAP = "add me on snap"
NUMBER = "my number is 07700 900123"


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return default_text_reader()


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def squeezed(text: str) -> str:
    """Lower case without spaces: the recogniser sometimes drops the space between small words
    ("add meon snap"). These tests check what OCR reads; whether the text detector still finds
    a phrase without its spaces is the text detector's business."""
    return "".join(text.lower().split())


def says(reader: TextReader, image: Image.Image, *phrases: str) -> list[OcrLine]:
    lines = reader.read(image)
    text = squeezed(joined_text(lines))
    for phrase in phrases:
        assert squeezed(phrase) in text, (phrase, joined_text(lines))
    return lines


def test_loads_offline_and_quietly(offline: None, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    fresh = TextReader()
    assert [ln.text for ln in fresh.read(text_image([SNAP]))] == [SNAP]
    assert capsys.readouterr() == ("", "")
    assert not [r for r in caplog.records if r.levelno < logging.WARNING and r.name in ("RapidOCR", "OrtInferSession")]


def test_reads_text_on_a_plain_background_in_reading_order(reader: TextReader) -> None:
    image = text_image([SNAP, NUMBER])
    lines = reader.read(image)
    assert joined_text(lines) == f"{SNAP}\n{NUMBER}"
    for line in lines:
        assert MIN_LINE_SCORE <= line.score <= 1.0
        x, y, w, h = line.box
        assert x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= image.width and y + h <= image.height
    first, second = lines
    assert 10 <= first.box[0] <= 30 and 10 <= first.box[1] <= 35 and first.box[1] + first.box[3] < second.box[1]


@pytest.mark.parametrize(
    "name",
    ["noise", "gradient", "photo", "rotated", "rotated_back", "noise_rotated", "white_on_dark"],
)
def test_reads_text_on_busy_and_rotated_backgrounds(reader: TextReader, name: str) -> None:
    lines = [SNAP, NUMBER]
    images = {
        "noise": text_image(lines, background=noise((900, 300), seed=1, low=140)),
        "gradient": text_image(lines, background=gradient((900, 300), (60, 60, 230), (230, 230, 60))),
        "photo": text_image(lines, background=photo("chelsea").resize((900, 600))),
        "rotated": text_image(lines, angle=7),
        "rotated_back": text_image(lines, angle=-10),
        "noise_rotated": text_image(lines, background=noise((900, 300), seed=2, low=140), angle=5),
        "white_on_dark": text_image(lines, background=gradient((900, 300), (10, 10, 40), (60, 20, 20)), ink=(255, 255, 255)),
    }
    says(reader, images[name], SNAP, NUMBER)


def test_images_without_text_give_no_words(reader: TextReader) -> None:
    """A photo may give a stray glyph (an "O" in a cup's rim, scored 0.59): never a word."""
    for name, image in {
        "coffee": photo("coffee"),
        "chelsea": photo("chelsea"),
        "gradient": gradient((512, 512), (0, 0, 255), (255, 255, 0)),
        "noise": noise((512, 512), seed=1),
        "sphere": sphere((40, 120, 200), (0, 0, 0)),
    }.items():
        assert [ln.text for ln in reader.read(image) if sum(c.isalnum() for c in ln.text) >= 2] == [], name


def test_any_size_and_mode_of_image(reader: TextReader) -> None:
    """Huge images are shrunk, thin strips padded, tiny ones not read; every mode is read as a
    viewer sees it (transparency over white)."""
    huge = Image.new("RGB", (6000, 4000), (255, 255, 255))
    huge.paste(text_image([SNAP], size=(3000, 500), font_size=240), (1000, 1500))
    (line,) = says(reader, huge, SNAP)
    left, top, right, bottom = ImageFont.load_default(size=240).getbbox(SNAP)
    ink = (1000 + 120 + left, 1500 + 120 + top, right - left, bottom - top)  # where text_image drew it, in the huge image
    assert overlap(line.box, ink) > 0.6, (line.box, ink)  # read at 512 px: boxes are coarser
    strip = text_image([NUMBER], size=(1600, 60), font_size=36)  # aspect 27: padded, not blown up
    says(reader, strip, NUMBER)
    assert reader.read(Image.new("RGB", (1, 1))) == []
    assert reader.read(Image.new("RGB", (3000, 5))) == []
    says(reader, text_image([SNAP]).convert("L"), SNAP)
    says(reader, text_image([SNAP]).convert("P"), SNAP)
    says(reader, text_image([SNAP]).convert("1"), SNAP)
    ink_only = Image.new("RGBA", (900, 200), (0, 0, 0, 0))  # black text on a transparent page
    ink_only.paste(
        Image.new("RGBA", (900, 200), (0, 0, 0, 255)),
        mask=text_image([SNAP], size=(900, 200)).convert("L").point(lambda v: 255 - v),
    )
    says(reader, ink_only, SNAP)


def test_deterministic(reader: TextReader) -> None:
    image = text_image([SNAP, NUMBER], background=noise((900, 300), seed=3, low=140), angle=4)
    assert reader.read(image) == reader.read(image.copy())


def test_joined_text_reads_rows_top_to_bottom_and_left_to_right() -> None:
    """On lines made up here: words of one row, split and given out of order, and a row a few
    pixels lower (a slight rotation) than its neighbour."""
    lines = [
        OcrLine("900123", 0.9, (300, 105, 120, 30)),
        OcrLine("school", 0.9, (10, 200, 100, 30)),
        OcrLine("add me", 0.9, (10, 10, 100, 30)),
        OcrLine("on snap", 0.9, (120, 16, 100, 30)),
        OcrLine("07700", 0.9, (160, 100, 120, 30)),
        OcrLine("my number is", 0.9, (10, 98, 140, 30)),
    ]
    assert joined_text(lines) == "add me on snap\nmy number is 07700 900123\nschool"
    assert [ln.text for ln in reading_order(lines)] == ["add me", "on snap", "my number is", "07700", "900123", "school"]
    assert joined_text([]) == ""
