"""Safe decoding of user-uploaded images: the only place Tutela turns untrusted bytes into pixels.

An upload is refused with an `ImageRejected` (a code, an HTTP status and a sentence for the
operator) unless it passes, in this order, each check being cheaper than the next:

1. its size in bytes: not empty, at most `Limits.max_bytes`;
2. its format, recognised from its first bytes (never from a file name): JPEG, PNG, WebP or GIF.
   SVG, BMP, TIFF, HEIC, PDF and everything else get 415;
3. its structure: Pillow parses JPEG markers, PNG chunks and GIF blocks in Python, one at a
   time, so a file of millions of empty ones is walked here first, in bounded time, and refused;
4. its dimensions, read from the header before a single pixel is decoded: the longer side, the
   pixels per frame, and the ratio of decoded bytes to file bytes (the decompression-bomb
   guard). Pillow's own guard (`Image.MAX_IMAGE_PIXELS`) stays armed behind ours, and its
   warning is turned into an error while we open an image;
5. its frame count (animated GIF, WebP and PNG), counted without decoding the frames;
6. decoding the first frame, in full: a truncated or corrupt file is refused, never patched up
   (`ImageFile.LOAD_TRUNCATED_IMAGES` must stay False).

What comes out is a `DecodedImage`: the facts about the file that a decision may cite as
evidence (format, size after EXIF orientation, frames, EXIF tags) and the first frame as an RGB
image, the same picture a viewer would see.
"""

from __future__ import annotations

import io
import math
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from PIL import ExifTags, Image, ImageFile

ImageFormat = Literal["jpeg", "png", "webp", "gif"]
RejectionCode = Literal[
    "empty",
    "too_large",
    "unsupported_format",
    "corrupt",
    "too_many_pixels",
    "too_many_frames",
    "decompression_bomb",
]
ExifValue = str | int | float

STATUS: Final[dict[RejectionCode, int]] = {
    "empty": 422,
    "too_large": 413,
    "unsupported_format": 415,
    "corrupt": 422,
    "too_many_pixels": 413,
    "too_many_frames": 413,
    "decompression_bomb": 413,
}
"""The HTTP status of each rejection: 413 when the upload is too big in some dimension (the
client can shrink it), 415 when it is not a format we accept (the client can convert it), 422
when the bytes are not a usable image at all."""

MiB: Final = 1024 * 1024

EXIF_MAX_STRING: Final = 200
"""EXIF strings are cut to this many characters: evidence needs the camera, the dates and the
GPS position, not a 64 KB UserComment."""

EXIF_MAX_TAGS: Final = 256
"""At most this many EXIF tags are kept, so the evidence stored with a decision stays small
whatever the file claims."""


class ImageRejected(Exception):
    """The upload is not an image Tutela will analyse.

    `code` is stable and machine-readable, `status` is the HTTP status to answer with (it
    follows from the code, see `STATUS`), and `detail` says what was wrong, with the numbers
    and the limit, and what to do about it. `decompression_bomb` covers every file built to
    cost far more to read than its size suggests: pixels out of proportion to its bytes, or a
    structure split into more pieces than any encoder writes.
    """

    def __init__(self, code: RejectionCode, detail: str) -> None:
        super().__init__(detail)
        self.code: RejectionCode = code
        self.status: int = STATUS[code]
        self.detail = detail

    def __reduce__(self) -> tuple[type[ImageRejected], tuple[RejectionCode, str]]:
        return (ImageRejected, (self.code, self.detail))  # so it survives pickling (worker processes)

    def __repr__(self) -> str:
        return f"ImageRejected(code={self.code!r}, status={self.status}, detail={self.detail!r})"


@dataclass(frozen=True, slots=True)
class Limits:
    """How big an upload may be. Every limit is checked before any pixel is decoded.

    The defaults are chosen for the photos and animations people post, with room to spare, and
    bound the worst single decode to about 160 MB for the frame (twice that at most while it is
    converted to RGB) and about half a second on one core (a 40-megapixel JPEG or PNG, measured).

    - `max_bytes` (20 MiB): phone photos are a few MB. Larger uploads are rarely photos, and
      every byte is read twice (decoded and hashed).
    - `max_pixels` (40 million per frame): Pillow holds RGB at 4 bytes a pixel, hence the 160 MB.
      Full-resolution modes of recent phone cameras (48 megapixels and more) are over it: the
      client downscales, or this is raised. It must not exceed Pillow's `Image.MAX_IMAGE_PIXELS`
      (89 M by default), which stays armed behind ours.
    - `max_side` (16384 px): WebP cannot go beyond 16383; longer sides are strips and
      panoramas whose extreme aspect ratio only stresses the resamplers.
    - `max_frames` (1000): 100 seconds of animation at 10 frames a second. Only the first frame
      is analysed, but the count is reported; counting stops at the limit, so a GIF of a
      million one-pixel frames costs no more than one of a thousand.
    - `max_ratio` (1000), applied above `ratio_min_pixels` (4 M): decoded RGB bytes (3 a pixel)
      per byte of file, the decompression-bomb guard, checked from the header. Photos never come
      near it: a JPEG of one flat colour is 191 to 1, a flat RGB PNG 852 to 1 (measured at
      4000x3000). Flat greyscale, palette or one-bit PNGs and GIFs go beyond it (a one-bit PNG of
      one colour is 5000 to 1), which is what a bomb looks like; such a genuine image over 4 M
      pixels is refused unless this is raised. Up to 4 M pixels an image costs at most 16 MB
      decoded, however small its file, so the ratio is not applied.
    """

    max_bytes: int = 20 * MiB
    max_pixels: int = 40_000_000
    max_side: int = 16_384
    max_frames: int = 1_000
    max_ratio: int = 1_000
    ratio_min_pixels: int = 4_000_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_side", "max_frames", "max_ratio", "ratio_min_pixels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")
        pillow_limit = Image.MAX_IMAGE_PIXELS
        if pillow_limit is not None and self.max_pixels > pillow_limit:
            raise ValueError(
                f"Limits.max_pixels={self.max_pixels:,} is above Pillow's own guard, Image.MAX_IMAGE_PIXELS={pillow_limit:,}, "
                "which would refuse those images first as decompression bombs; raise Image.MAX_IMAGE_PIXELS too, "
                "or keep max_pixels at or below it"
            )


DEFAULT_LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """An upload that passed every check, and its first frame as pixels.

    `width` and `height` are the picture's as a viewer sees it (after EXIF orientation), at full
    resolution, even when `image` was decoded smaller (`decode(..., max_side=...)`). `animated`
    is true for a GIF, WebP or PNG of more than one frame; the extra pictures of a multi-picture
    JPEG (MPO: stereo pairs, previews) are counted in `frames` but are not an animation. `mode` is
    the source's Pillow mode ("RGB", "P", "L", "RGBA", "CMYK", "I;16"...), before conversion.
    `exif` holds JSON-safe values only (see `decode`), including the GPS tags: where a
    picture was taken can be evidence. `image` is the first frame, RGB, orientation applied,
    any transparency composited on white.
    """

    format: ImageFormat
    width: int
    height: int
    frames: int
    animated: bool
    orientation: int | None
    exif: dict[str, ExifValue]
    size_bytes: int
    mode: str
    image: Image.Image


_SIGNATURES: Final[tuple[tuple[bytes, int, ImageFormat], ...]] = (
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
)

_PILLOW_FORMAT: Final[dict[ImageFormat, str]] = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}

# Formats we refuse, recognised only to name them in the rejection so the operator knows what came in.
_KNOWN_OTHERS: Final[tuple[tuple[bytes, str], ...]] = (
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML (perhaps SVG)"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"8BPS", "Photoshop PSD"),
    (b"PK\x03\x04", "ZIP"),
)

# Pillow raises these on malformed input (plugins assert on their own invariants, index past a
# short buffer, divide by a zero they read from the file...). Caught only around Pillow's calls.
_DECODE_ERRORS: Final = (
    OSError,
    ValueError,
    SyntaxError,
    struct.error,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    OverflowError,
    AssertionError,
)

_ORIENTATION_TAG: Final = 0x0112

# EXIF orientation -> the transposition that shows the picture upright: the same table as
# ImageOps.exif_transpose. We apply it ourselves, after thumbnailing (less to move), and because
# exif_transpose also rewrites the EXIF bytes, which can fail on odd but harmless tags.
_ORIENT: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES: Final = frozenset(
    {Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90}
)
_IFD_POINTERS: Final = frozenset({int(ExifTags.IFD.Exif), int(ExifTags.IFD.GPSInfo), int(ExifTags.IFD.Interop)})

# warnings.catch_warnings swaps a process-wide filter list; two threads doing it at once can
# leave the wrong list behind. Our own calls take turns: only around Image.open (headers) and the
# EXIF parse, well under a millisecond each, never around decoding pixels.
_PILLOW_GUARD_LOCK: Final = threading.Lock()


def sniff(data: bytes) -> ImageFormat:
    """The format of an upload, from its first bytes, or `ImageRejected("unsupported_format")`."""
    for magic, offset, fmt in _SIGNATURES:
        if data.startswith(magic, offset):
            return fmt
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    head = data[:64].lstrip()
    looks_like = "an unrecognised format"
    for magic, name in _KNOWN_OTHERS:
        if head.startswith(magic):
            looks_like = name
            break
    else:
        if data[4:8] == b"ftyp":
            looks_like = f"an ISO media file (brand {data[8:12].decode('latin-1')!r}: HEIC, AVIF or video)"
        elif b"<svg" in data[:1024].lower():
            looks_like = "SVG"
    raise ImageRejected(
        "unsupported_format",
        f"The upload is not a JPEG, PNG, WebP or GIF image: its first bytes look like {looks_like}. "
        "Convert it to one of those four formats before sending it (the format is read from the content, not the file name).",
    )


def decode(data: bytes, limits: Limits | None = None, max_side: int | None = None) -> DecodedImage:
    """Check and decode an upload, or raise `ImageRejected`. Nothing else is raised for bad input.

    `max_side`, when given, bounds the longer side of the returned `image` (not of the reported
    `width` and `height`, which stay the original's). A JPEG is then decoded at 1/2, 1/4 or 1/8
    scale by the decoder itself (`Image.draft`), which skips most of the inverse DCT work: a
    4000x3000 JPEG decodes for a 512 px thumbnail in a fraction of the full decode's time. The
    result is then thumbnailed to `max_side`. Other formats are decoded in full, then thumbnailed.

    EXIF values are made JSON-safe: numbers stay numbers (rationals become floats), strings are
    cut to `EXIF_MAX_STRING` characters, byte strings are shown as their length ("<n bytes>"),
    and sequences (such as GPS degrees, minutes, seconds) are joined into one string. Unreadable
    EXIF is treated as absent rather than refusing the picture, as cameras write plenty of it.
    """
    if max_side is not None and max_side < 1:
        raise ValueError(f"max_side must be a positive number of pixels, got {max_side}")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process; tutela.image refuses to decode with it, "
            "because truncated uploads would then pass as complete images. Find what sets it and remove that."
        )
    limits = limits or DEFAULT_LIMITS
    _check_bytes(data, limits)
    fmt = sniff(data)
    try:
        return _decode(data, fmt, limits, max_side)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected(
            "decompression_bomb",
            f"Pillow's decompression-bomb guard refused this {fmt.upper()}: {e} "
            "Only images within the pixel limit are analysed; ask for a smaller image.",
        ) from e
    except MemoryError as e:
        raise ImageRejected(
            "too_many_pixels",
            f"The server ran out of memory decoding this {len(data):,}-byte {fmt.upper()}. "
            "Lower Limits.max_pixels, or give the process more memory.",
        ) from e
    except _DECODE_ERRORS as e:
        raise ImageRejected(
            "corrupt",
            f"The {fmt.upper()} could not be decoded ({type(e).__name__}: {e}): the file is damaged or truncated. "
            "Ask for the original file again.",
        ) from e


def _check_bytes(data: bytes, limits: Limits) -> None:
    if not data:
        raise ImageRejected("empty", "The upload is empty (0 bytes). Send the image's bytes.")
    if len(data) > limits.max_bytes:
        raise ImageRejected(
            "too_large",
            f"The upload is {len(data):,} bytes, more than the limit of {limits.max_bytes:,} bytes "
            f"({limits.max_bytes / MiB:g} MiB). Recompress or downscale the image before sending it, or raise Limits.max_bytes.",
        )


@contextmanager
def _pillow_guard() -> Iterator[None]:
    """Pillow's own bomb guard, as an error: its warning fires between `MAX_IMAGE_PIXELS` and
    twice that, and a warning would let the decode go on. Pillow's other warnings on opening
    (odd EXIF it skips, malformed MPO headers) are silenced: they describe files an attacker
    controls, and would only fill the logs."""
    with _PILLOW_GUARD_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # inserted first, so it wins
        yield


def _decode(data: bytes, fmt: ImageFormat, limits: Limits, max_side: int | None) -> DecodedImage:
    gif_frames = _walk_gif(data, limits) if fmt == "gif" else None
    if fmt == "jpeg":
        _walk_jpeg(data)
    elif fmt == "png":
        _walk_png(data)
    with _pillow_guard():
        source = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[fmt]])
    width, height = source.size
    _check_dimensions(fmt, width, height, len(data), limits)
    frames = _count_frames(source, fmt, gif_frames, limits)
    mode = source.mode
    if max_side is not None and fmt == "jpeg":
        source.draft("RGB", (max_side, max_side))
    source.load()
    orientation, exif = _read_exif(source)
    image = to_rgb(source)
    if max_side is not None:
        image.thumbnail((max_side, max_side))
    transpose = _ORIENT.get(orientation or 1)
    if transpose is not None:
        image = image.transpose(transpose)
        if transpose in _SWAPS_SIDES:
            width, height = height, width
    return DecodedImage(
        format=fmt,
        width=width,
        height=height,
        frames=frames,
        animated=frames > 1 and fmt != "jpeg",
        orientation=orientation,
        exif=exif,
        size_bytes=len(data),
        mode=mode,
        image=image,
    )


def _check_dimensions(fmt: ImageFormat, width: int, height: int, size_bytes: int, limits: Limits) -> None:
    kind = fmt.upper()
    if width < 1 or height < 1:
        raise ImageRejected("corrupt", f"The {kind} declares a size of {width}x{height} pixels, which holds no picture.")
    pixels = width * height
    if max(width, height) > limits.max_side:
        raise ImageRejected(
            "too_many_pixels",
            f"The {kind} is {width:,}x{height:,} pixels: its longer side, {max(width, height):,} px, is more than the limit "
            f"of {limits.max_side:,} px. Downscale it before sending it, or raise Limits.max_side.",
        )
    if pixels > limits.max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"The {kind} is {width:,}x{height:,} = {pixels:,} pixels, more than the limit of {limits.max_pixels:,} pixels "
            "per frame. Downscale it before sending it, or raise Limits.max_pixels.",
        )
    decoded = pixels * 3
    if pixels > limits.ratio_min_pixels and decoded > limits.max_ratio * size_bytes:
        raise ImageRejected(
            "decompression_bomb",
            f"The {kind} is {width:,}x{height:,} pixels ({decoded:,} bytes once decoded) from a file of only "
            f"{size_bytes:,} bytes: {decoded / size_bytes:,.0f} to 1, more than the limit of {limits.max_ratio:,} to 1. "
            "Files that expand this much are decompression bombs. If this one is a genuine image (a large flat colour), "
            "raise Limits.max_ratio.",
        )


def _count_frames(source: ImageFile.ImageFile, fmt: ImageFormat, gif_frames: int | None, limits: Limits) -> int:
    """The number of frames, refused above `limits.max_frames`, without decoding any of them.

    WebP, APNG and MPO (multi-picture JPEG) files declare their count in a header that Pillow
    has already read. A GIF does not, and Pillow's `n_frames` walks the whole file in Python
    however many frames there are, so `_walk_gif` counts them and stops past the limit.
    """
    frames = max(1, gif_frames) if gif_frames is not None else int(getattr(source, "n_frames", 1))
    if frames > limits.max_frames:
        counted = "more than that (counting stopped there)" if fmt == "gif" else f"{frames:,}"
        raise ImageRejected(
            "too_many_frames",
            f"The {fmt.upper()} may have at most {limits.max_frames:,} frames and has {counted}. "
            "Only the first frame is analysed; shorten the animation, or raise Limits.max_frames.",
        )
    return frames


# Pillow reads the headers of JPEG, PNG and GIF in Python, one segment at a time: a 20 MiB file
# of empty segments took it 4 to 8 seconds (measured). The walks below run first, in bounded time,
# and refuse files fragmented far beyond what any encoder writes.

JPEG_MAX_HEADER_STEPS: Final = 4_096
"""Markers and fill bytes allowed before a JPEG's image data. Cameras write a few dozen
segments (EXIF, ICC profile in 64 KB pieces, tables); padding is rare and short."""

PNG_MAX_CHUNKS: Final = 50_000
"""Chunks allowed in a PNG. Encoders split the image data into chunks of 8 to 64 KB, so a
20 MiB PNG holds a few thousand at most, and an APNG a few per frame."""

GIF_MIN_SUB_BLOCKS: Final = 10_000
"""GIF data comes in sub-blocks of up to 255 bytes, which encoders fill. A GIF may hold this
many, plus one for every 64 bytes of file (four times what a full-block encoder writes)."""


def _fragmented(fmt: ImageFormat, what: str, limit: int) -> ImageRejected:
    return ImageRejected(
        "decompression_bomb",
        f"The {fmt.upper()} is split into more than {limit:,} {what}, far more than any encoder writes; reading each costs "
        "time, so the file is refused as built to be slow to read. Re-encode the image.",
    )


def _walk_jpeg(data: bytes) -> None:
    """Step over the markers before the first scan (where libjpeg takes over, in C)."""
    n, pos, steps = len(data), 2, 0
    while pos + 1 < n and steps <= JPEG_MAX_HEADER_STEPS:
        if data[pos] != 0xFF:
            return  # not a marker: Pillow will say what is wrong
        if data[pos + 1] == 0xFF:  # fill byte
            pos += 1
        elif data[pos + 1] == 0xDA:  # start of scan
            return
        elif data[pos + 1] in _JPEG_STANDALONE:
            pos += 2
        else:
            if pos + 4 > n:
                return
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        steps += 1
    if steps > JPEG_MAX_HEADER_STEPS:
        raise _fragmented("jpeg", "header markers and fill bytes", JPEG_MAX_HEADER_STEPS)


_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD9)})  # TEM, RST0-7, SOI: no length follows


def _walk_png(data: bytes) -> None:
    n, pos, chunks = len(data), 8, 0
    while pos + 8 <= n:
        chunks += 1
        if chunks > PNG_MAX_CHUNKS:
            raise _fragmented("png", "chunks", PNG_MAX_CHUNKS)
        if data[pos + 4 : pos + 8] == b"IEND":
            return
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")


def _walk_gif(data: bytes, limits: Limits) -> int:
    """Count a GIF's frames (image descriptors), stopping once past `limits.max_frames`, and
    refuse a GIF of more sub-blocks than `GIF_MIN_SUB_BLOCKS` plus one per 64 bytes.

    Stops quietly at the trailer, at the end of the data or at a byte no GIF block starts with:
    the count only needs to be right for well-formed files, and Pillow decodes the first frame.
    """
    n = len(data)
    if n < 13:
        return 0
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 << ((flags & 7) + 1)
    budget = GIF_MIN_SUB_BLOCKS + n // 64
    frames = blocks = 0
    while pos < n and frames <= limits.max_frames:
        block = data[pos]
        if block == 0x21:  # extension: introducer, label, then sub-blocks
            pos += 2
        elif block == 0x2C:  # image descriptor: 10 bytes, optional local palette, LZW code size, sub-blocks
            if pos + 10 > n:
                break
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
            frames += 1
        else:  # 0x3B is the trailer; anything else ends what can be counted
            break
        while pos < n:  # the sub-blocks, up to the empty one that ends them
            size = data[pos]
            pos += 1 + size
            blocks += 1
            if size == 0:
                break
            if blocks > budget:
                raise _fragmented("gif", "data sub-blocks", budget)
    return frames


def _read_exif(image: Image.Image) -> tuple[int | None, dict[str, ExifValue]]:
    """The orientation and the tags, or nothing when the EXIF is unreadable. Pillow warns about
    every odd tag it skips; those warnings are silenced, as they would fill the logs with noise
    about files an attacker controls."""
    try:
        with _PILLOW_GUARD_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exif = image.getexif()
            orientation = exif.get(_ORIENTATION_TAG)
            out: dict[str, ExifValue] = {}
            _add_tags(out, exif.items(), ExifTags.TAGS, "")
            _add_tags(out, exif.get_ifd(ExifTags.IFD.Exif).items(), ExifTags.TAGS, "")
            _add_tags(out, exif.get_ifd(ExifTags.IFD.GPSInfo).items(), ExifTags.GPSTAGS, "GPS")
    except _DECODE_ERRORS:
        return None, {}
    if not isinstance(orientation, int) or not 1 <= orientation <= 8:
        orientation = None
    return orientation, out


def _add_tags(out: dict[str, ExifValue], items: Iterable[tuple[int, object]], names: dict[int, str], prefix: str) -> None:
    for tag, value in items:
        if len(out) >= EXIF_MAX_TAGS:
            return
        if not prefix and tag in _IFD_POINTERS:
            continue  # file offsets of the sub-IFDs read next: meaningless as evidence
        out[names.get(tag, f"{prefix}0x{tag:04x}")] = _json_safe(value)


def _json_safe(value: object) -> ExifValue:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return value.replace("\x00", "").strip()[:EXIF_MAX_STRING]
    if isinstance(value, tuple | list):
        return ", ".join(str(_json_safe(v)) for v in value[:64])[:EXIF_MAX_STRING]
    try:
        number = float(value)  # type: ignore[arg-type]  # IFDRational and other numbers
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return str(value)[:EXIF_MAX_STRING]
    return number if math.isfinite(number) else str(number)


def to_rgb(image: Image.Image) -> Image.Image:
    """The first frame as 8-bit RGB, as a viewer would see it on a white page.

    Transparent pixels still carry colours; compositing on white shows what is visible rather
    than what is hidden under alpha 0. 16-bit greyscale (PNG) is scaled to 8 bits: Pillow's
    own conversion clips it, which would turn most such pictures white.
    """
    mode = image.mode
    if mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "RGB":
        return image
    if mode.startswith("I") or mode == "F":
        wide = np.asarray(image).astype(np.float64)
        scaled = wide if mode == "F" else wide / 256.0
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")
