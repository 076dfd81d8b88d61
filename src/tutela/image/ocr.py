"""Text inside images: RapidOCR (PP-OCRv4 detection and recognition, ONNX models shipped in the
rapidocr-onnxruntime wheel, so nothing is downloaded), for the text detector to read what a
picture says ("add me on snap", a phone number written on a photo).

What we add around RapidOCR:
- Bounded work. RapidOCR's own defaults grow the detector's input until its *short* side is
  736 px: a 1024x128 banner becomes 5888x736, and a 1024x1 strip, after its letterboxing,
  hundreds of megapixels. Here every image is scaled so its long side is at most MAX_SIDE
  (shrunk, or grown at most MAX_GROWTH times so small print is big enough to find), padded to an
  aspect ratio of at most MAX_ASPECT, and the detector is told to keep the long side as it is.
  Its input is never more than 1024x1024. On 14 images (two lines of text on plain, noisy,
  gradient and rotated backgrounds, and skimage photos) this read the same text as RapidOCR's
  defaults, or better, in 5.4 s against 11.6 s on one core; on a 900x300 banner, 0.27 s
  against 1.29 s.
- One thread per model (`intra_op_num_threads=1`), one read at a time (RapidOCR keeps per-call
  state on its detector), and its loggers quieted.
- Lines with their boxes in the input image's pixels, and `joined_text` in reading order.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image
from rapidocr_onnxruntime import RapidOCR
from rapidocr_onnxruntime.utils.logger import get_logger

from tutela.image.decode import to_rgb

MAX_SIDE = 512
"""The long side an image is read at, at most: it bounds the time of one read. The check is
synchronous (its target is a p50 of 150 ms for a cover, bench/check_image.py), so an upload is
read at the 512 px it is decoded at: about 120 ms on one core, against 300 ms at 768 and
510 ms at 1024 (measured on four covers, the text read the same)."""

MAX_GROWTH = 1.0
"""Small images may be grown by up to this factor, towards MAX_SIDE: the detector misses print
under about 10 px high at its own size. Measured on skimage photos at 512x384 with two lines
of text drawn on them: at 10 to 14 px, both lines were read in 7 of 9 images without growing,
9 of 9 at 1.5x and 2x; at 8 to 11 px, 6 of 9 at 1.5x, 8 of 9 at 2x and at 3x. Growing costs
time as its square, so the check path does not grow: text under about 10 px in the 512 px
decoded image (2% of a cover's height) may be missed. A batch reader (a scan) can afford 2."""

MAX_ASPECT = 8
"""Long thin images are padded to at most this aspect ratio, RapidOCR's own limit."""

MIN_TEXT_PX = 8
"""An image whose short side is under this holds no line of legible text; it is not read."""

MIN_LINE_SCORE = 0.5
"""Recognised lines under this confidence are dropped (RapidOCR's own default). Real lines in
the tests, on noisy, gradient and rotated backgrounds too, score 0.93 and more. On images
without text the recogniser's stray reads (a thin bar read as "1", a speck as "®") score 0.5 to
0.86, so no threshold removes them all without dropping real text; they are a character or
two and carry no words, so the text detector finds nothing in them."""

_RAPIDOCR_LOGGERS = ("RapidOCR", "OrtInferSession")


@dataclass(frozen=True, slots=True)
class OcrLine:
    text: str
    score: float  # the recogniser's confidence, 0..1
    box: tuple[int, int, int, int]  # x, y, width, height in the input image's pixels (upright bounding box)


def _quiet_rapidocr() -> None:
    """RapidOCR gives its loggers their own DEBUG stream handlers. `get_logger` is cached, so
    taking it first and removing the handler sticks: what is left (warnings only) goes through
    the application's logging."""
    for name in _RAPIDOCR_LOGGERS:
        logger = get_logger(name)
        logger.setLevel(logging.WARNING)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)


class TextReader:
    """Reads the lines of text in an image. Loads the three models once (about 0.4 s)."""

    def __init__(self, threads: int = 1, min_score: float = MIN_LINE_SCORE) -> None:
        _quiet_rapidocr()
        self.min_score = min_score
        self._engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            text_score=min_score,
            det_limit_type="max",
            det_limit_side_len=MAX_SIDE,
        )
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[OcrLine]:
        """The lines of text at or over `min_score`, in reading order. Any size or mode of image."""
        rgb = to_rgb(image)  # transparent pixels over white, as a viewer sees them
        width, height = rgb.size
        if min(width, height) < MIN_TEXT_PX:
            return []
        scale = min(MAX_SIDE / max(width, height), MAX_GROWTH)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            rgb = rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
        sx, sy = rgb.width / width, rgb.height / height
        bgr = _padded(np.asarray(rgb))[:, :, ::-1]
        with self._lock:
            result: Any = self._engine(np.ascontiguousarray(bgr))[0]
        lines = []
        for points, text, score in result or ():
            corners = np.asarray(points, dtype=np.float64)
            left, top = max(0, math.floor(corners[:, 0].min() / sx)), max(0, math.floor(corners[:, 1].min() / sy))
            right, bottom = min(width, math.ceil(corners[:, 0].max() / sx)), min(height, math.ceil(corners[:, 1].max() / sy))
            clean = " ".join(str(text).split())
            if clean and float(score) >= self.min_score and right > left and bottom > top:
                lines.append(OcrLine(clean, round(float(score), 6), (left, top, right - left, bottom - top)))
        return reading_order(lines)


def _padded(pixels: np.ndarray) -> np.ndarray:
    """Pad at the bottom or right, in the border's median colour, so the aspect ratio is at most
    MAX_ASPECT: RapidOCR would otherwise grow a thin strip before letterboxing it. Padding at the
    bottom and right leaves the coordinates of what was there unchanged."""
    height, width = pixels.shape[:2]
    need_h, need_w = max(height, math.ceil(width / MAX_ASPECT)), max(width, math.ceil(height / MAX_ASPECT))
    if (need_h, need_w) == (height, width):
        return pixels
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    out = np.empty((need_h, need_w, 3), dtype=pixels.dtype)
    out[:] = np.median(border, axis=0).astype(pixels.dtype)
    out[:height, :width] = pixels
    return out


def rows(lines: Iterable[OcrLine]) -> list[list[OcrLine]]:
    """The lines grouped into rows, top to bottom, each row left to right. A line joins a row
    when its vertical middle falls within the height of the row's first line, so words the
    detector split, or a slightly rotated line, stay together."""
    out: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1] + ln.box[3] / 2, ln.box[0])):
        middle = line.box[1] + line.box[3] / 2
        if out and out[-1][0].box[1] <= middle <= out[-1][0].box[1] + out[-1][0].box[3]:
            out[-1].append(line)
        else:
            out.append([line])
    return [sorted(row, key=lambda ln: ln.box[0]) for row in out]


def reading_order(lines: Iterable[OcrLine]) -> list[OcrLine]:
    """Top to bottom, then left to right within a row."""
    return [line for row in rows(lines) for line in row]


def joined_text(lines: Iterable[OcrLine]) -> str:
    """The lines' text for the text detector, in reading order: a space between the lines of
    one row, a newline between rows."""
    return "\n".join(" ".join(line.text for line in row) for row in rows(lines))


@functools.cache
def default_text_reader() -> TextReader:
    """The process's one reader."""
    return TextReader()
