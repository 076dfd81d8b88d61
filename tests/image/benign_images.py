"""Benign images for the image detectors' tests and bench/image_detectors.py: scikit-image's
bundled sample photos (read from the package's own files, so nothing is fetched) and images
generated here (gradients, noise, shapes, rendered text). Every one is deterministic.

These are the only images the nudity classifier is tested on: the tests measure integration,
thresholds and false positives, never detection of what the classifier is for."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import skimage
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
PHOTOS = (
    "astronaut", "brick", "camera", "cell", "chelsea", "chessboard_RGB", "clock_motion", "coffee", "coins", "color",
    "grass", "gravel", "horse", "hubble_deep_field", "ihc", "logo", "microaneurysms", "moon", "motorcycle_left",
    "page", "phantom", "retina", "rocket", "text",
)  # fmt: skip
SKIN_TONES = ((255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36), (92, 51, 23))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    """The image as the bytes of a JPEG file, as an upload would carry it."""
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo(name: str) -> Image.Image:
    """One of scikit-image's bundled sample photos, in RGB (the file in the package, not a download)."""
    path = next(p for p in (SKIMAGE_DATA / f"{name}.png", SKIMAGE_DATA / f"{name}.jpg") if p.is_file())
    with Image.open(path) as im:
        return im.convert("RGB")


def faces(count: int = 8) -> dict[str, Image.Image]:
    """Faces from scikit-image's bundled LFW subset (25x25 greyscale), enlarged to 200 px."""
    arrays = np.load(SKIMAGE_DATA / "lfw_subset.npy")
    step = len(arrays) // count
    return {
        f"lfw{i}": Image.fromarray((arrays[i] * 255).astype(np.uint8)).resize((200, 200), Image.Resampling.BICUBIC).convert("RGB")
        for i in range(0, step * count, step)
    }


def gradient(
    size: tuple[int, int], start: tuple[int, int, int], end: tuple[int, int, int], vertical: bool = False
) -> Image.Image:
    width, height = size
    t = np.linspace(0.0, 1.0, height if vertical else width)[:, np.newaxis]
    line = (np.array(start) * (1 - t) + np.array(end) * t).astype(np.uint8)
    grid = np.repeat(line[:, np.newaxis, :], width, axis=1) if vertical else np.repeat(line[np.newaxis, :, :], height, axis=0)
    return Image.fromarray(grid)


def noise(size: tuple[int, int], seed: int, low: int = 0, high: int = 256, blur: float = 0.0) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(low, high, (size[1], size[0], 3), dtype=np.uint8))
    return im.filter(ImageFilter.GaussianBlur(blur)) if blur else im


def shapes(size: tuple[int, int], seed: int, palette: tuple[tuple[int, int, int], ...] | None = None) -> Image.Image:
    """Random rectangles and ellipses; with a palette, in those colours only (skin tones are the
    hard case for a nudity classifier: they are what it looks for)."""
    rng = np.random.default_rng(seed)
    width, height = size
    im = Image.new("RGB", size, (255, 255, 255) if palette else (30, 30, 60))
    draw = ImageDraw.Draw(im)
    for _ in range(24):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        x1, y1 = x0 + int(rng.integers(15, width // 3)), y0 + int(rng.integers(15, height // 3))
        colour = palette[int(rng.integers(len(palette)))] if palette else tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return im.filter(ImageFilter.GaussianBlur(4)) if palette else im


def sphere(colour: tuple[int, int, int], background: tuple[int, int, int], side: int = 400) -> Image.Image:
    """A shaded ball lit from the top left: smooth round gradients are what the nudity model
    confuses most (a blue ball on black scores 0.72 for an exposed class)."""
    y, x = np.mgrid[0:side, 0:side] / side * 2 - 1
    d2 = (x**2 + y**2) / 0.8**2
    shade = np.clip(0.25 + 0.75 * (np.sqrt(np.clip(1 - d2, 0, 1)) * 0.7 + (x + y) / 0.8 * 0.2), 0, 1)
    pixels = np.where((d2 < 1)[..., np.newaxis], np.array(colour) * shade[..., np.newaxis], np.array(background))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def text_image(
    lines: list[str],
    background: Image.Image | None = None,
    size: tuple[int, int] = (900, 300),
    font_size: int = 40,
    angle: float = 0.0,
    ink: tuple[int, int, int] = (0, 0, 0),
) -> Image.Image:
    """Lines of text drawn with Pillow's default font, optionally on a background and rotated."""
    im = background.copy().convert("RGB") if background is not None else Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=font_size)
    for row, line in enumerate(lines):
        draw.text((font_size // 2, font_size // 2 + int(font_size * 2.2) * row), line, fill=ink, font=font)
    if angle:
        im = im.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=im.getpixel((0, 0)))
    return im


def generated() -> dict[str, Image.Image]:
    """Gradients, noise, shapes, flat colours and rendered text."""
    out: dict[str, Image.Image] = {
        "gradient_rgb": gradient((512, 512), (0, 0, 255), (255, 255, 0)),
        "gradient_grey": gradient((640, 480), (0, 0, 0), (255, 255, 255), vertical=True),
        "noise": noise((512, 512), seed=1),
        "noise_blurred": noise((512, 512), seed=2, blur=6),
        "shapes": shapes((512, 512), seed=3),
        "shapes_wide": shapes((1024, 256), seed=4),
        "text": text_image(["add me on snap", "my number is 07700 900123"]),
        "text_on_noise": text_image(["see you after school"], background=noise((900, 300), seed=5, low=150)),
        "sphere_blue_on_black": sphere((40, 120, 200), (0, 0, 0)),
        "sphere_red_on_green": sphere((200, 40, 40), (90, 140, 90)),
        "flat_black": Image.new("RGB", (320, 320), (0, 0, 0)),
        "flat_grey": Image.new("RGB", (320, 320), (128, 128, 128)),
        "flat_white": Image.new("RGB", (320, 320), (255, 255, 255)),
    }
    for i, tone in enumerate(SKIN_TONES):
        out[f"skin_flat{i}"] = Image.new("RGB", (400, 400), tone)
        out[f"skin_gradient{i}"] = gradient((512, 512), tone, (tone[0] // 2, tone[1] // 2, tone[2] // 2), vertical=i % 2 == 0)
        out[f"skin_shapes{i}"] = shapes((512, 512), seed=10 + i, palette=SKIN_TONES)
        out[f"skin_sphere{i}"] = sphere(tone, (255, 255, 255) if i % 2 else (0, 0, 0))
        out[f"skin_noise{i}"] = Image.blend(Image.new("RGB", (512, 512), tone), noise((512, 512), seed=20 + i, blur=3), 0.35)
    return out


def benign_images() -> dict[str, Image.Image]:
    """The benign set: every sample photo, eight faces and the generated images."""
    return {**{name: photo(name) for name in PHOTOS}, **faces(), **generated()}


def variants(images: dict[str, Image.Image]) -> dict[str, Image.Image]:
    """Each image as given, mirrored, turned a quarter, and its centre half: a wider benign set
    for measuring how far under the thresholds the scores stay."""
    out: dict[str, Image.Image] = {}
    for name, im in images.items():
        w, h = im.size
        out[name] = im
        out[f"{name}/mirrored"] = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        out[f"{name}/turned"] = im.transpose(Image.Transpose.ROTATE_90)
        out[f"{name}/centre"] = im.crop((w // 4, h // 4, w - w // 4, h - h // 4))
    return out
