"""Speed of the image detectors on one core, and how far the benign images stay under the
nudity thresholds.

Latency: per-image p50 and p99 of the nudity classifier and of OCR on benign images (the test
set's photos, generated images and rendered text) scaled to 512 px and to 2048 px on their long
side. The process is pinned to one core and each onnxruntime session has one thread, as
`tutela serve` runs them. Decoding is not timed (tutela.image.decode owns it).

Margin: the highest score of each explicit class on the benign set and its variants (mirrored,
turned, centre crop), seen through a floor of 0.01 so scores under the evidence floor show too,
beside the class's threshold in src/tutela/image/data/nudity.yaml.

    .venv/bin/python bench/image_detectors.py
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from rich.console import Console
from rich.table import Table

from tutela.image.nudity import NudityClassifier, NuditySpec
from tutela.image.ocr import TextReader

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "image"))
from benign_images import benign_images, text_image, variants

SIDES = (512, 2048)


def scaled(image: Image.Image, side: int) -> Image.Image:
    w, h = image.size
    s = side / max(w, h)
    return image.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BICUBIC)


def latencies(fn: Callable[[Image.Image], object], images: list[Image.Image]) -> list[float]:
    fn(images[0])  # warm up
    out = []
    for im in images:
        t0 = time.perf_counter()
        fn(im)
        out.append(time.perf_counter() - t0)
    return sorted(out)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    benign = benign_images()
    lines = ["add me on snap", "my number is 07700 900123", "see you after school"]
    texts = [text_image(lines[: 1 + i % 3], angle=(i % 5 - 2) * 3.0) for i in range(6)]
    texts += [text_image(lines, background=im.resize((900, 400))) for im in list(benign.values())[:6]]
    speed_set = list(benign.values())[::2] + texts
    nudity = NudityClassifier()
    reader = TextReader()

    table = Table(title="Per-image latency on one core (decoding not included)")
    for col in ("detector", "long side", "images", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col == "detector" else "right")
    for name, fn, images in (
        ("nudity classifier", nudity.detect, list(benign.values())),
        ("OCR (TextReader.read)", reader.read, speed_set),
    ):
        for side in SIDES:
            lat = latencies(fn, [scaled(im, side) for im in images])
            table.add_row(
                name,
                str(side),
                str(len(lat)),
                f"{lat[len(lat) // 2] * 1e3:.0f}",
                f"{lat[int(len(lat) * 0.99)] * 1e3:.0f}",
                f"{lat[-1] * 1e3:.0f}",
            )
    console = Console(width=max(120, Console().width))
    console.print(table)

    low_floor = NudityClassifier(NuditySpec(0.01, nudity.spec.classes))
    wider = variants(benign)
    best: dict[str, tuple[float, str]] = {}
    for name, im in wider.items():
        for box in low_floor.detect(im):
            if box.score > best.get(box.label, (0.0, ""))[0]:
                best[box.label] = (box.score, name)
    margin = Table(title=f"Highest score per class on {len(wider)} benign images (the test set and its variants)")
    for col in ("kind", "class", "threshold", "benign max", "margin", "on image"):
        margin.add_column(col, justify="left" if col in ("kind", "class", "on image") else "right")
    for cls in sorted(nudity.spec.classes.values(), key=lambda c: (c.kind != "explicit", c.kind, c.label)):
        score, where = best.get(cls.label, (0.0, "-"))
        gap = "real faces" if cls.kind == "face" else f"{cls.threshold - score:+.3f}"
        margin.add_row(cls.kind, cls.label, f"{cls.threshold:.2f}", f"{score:.3f}", gap, where)
    console.print(margin)


if __name__ == "__main__":
    main()
