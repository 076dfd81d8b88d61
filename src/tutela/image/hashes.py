"""The hashes of an image: exact (MD5, SHA-256 of the bytes) and perceptual (PDQ).

Exact hashes match the very same file, and are what most hash lists of known abuse material
still carry. PDQ (Meta's perceptual hash, the format of ThreatExchange and of the hash lists
shared between platforms) matches the same picture after re-encoding, resizing, light edits:
two PDQ hashes within 31 bits of each other (out of 256) are taken to be the same picture.

Hex follows Meta's reference implementation and python-threatexchange: the 256 bits as
returned by `pdqhash`, most significant first, as 64 lowercase hex digits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash

from tutela.image.decode import DecodedImage, decode

PDQ_MIN_QUALITY: Final = 50
"""Hashes of quality below this are not matched, following Meta's guidance for PDQ: the hash of
a near-featureless picture (a flat colour, a faint gradient) is mostly noise, so it comes close
to the hashes of many unrelated pictures. Such hashes are still computed and stored."""

PDQ_SIDE: Final = 512
"""PDQ is computed on the first frame downscaled so its longer side is at most this, as the PDQ
paper (Meta's hashing.pdf) recommends: its box filters are too slow on megapixel input. Here
pdqhash takes 3.6 ms on a 512x512 picture and 39 ms on 1024x1024, and a JPEG's own decoder gets
to 512 at a fraction of a full decode's cost (`decode(..., max_side=...)`).

It costs bits, measured on skimage's sample photos (astronaut, coffee, chelsea, rocket, retina,
hubble_deep_field, immunohistochemistry, camera) upscaled to 3000x2000, 2000x3000 and 1600x1200
or at their own size, saved as JPEG at quality 90, 28 cases. Against the hash of the
full-resolution picture (what python-threatexchange's `pdq_from_bytes` computes), the 512 px
hash differs by 11.5 bits on average, 18 at the 90th percentile and 22 at most: inside the
31-bit match threshold, but a third of it. Downscaling to 1024 would halve that (5.5 on average,
10 at most) for ten times the hashing time. Decoding at reduced scale (JPEG draft) rather than
in full before the same 512 px thumbnail changes 0 bits in 30 of 32 cases, 2 in the others:
the cost is the resolution, not the shortcut. Re-encoding at full resolution (JPEG quality 90
against 80) changes under 1 bit on average, for comparison."""

PDQ_DIHEDRAL_ORDER: Final = ("original", "rotate90", "rotate180", "rotate270", "flip_x", "flip_y", "flip_plus1", "flip_minus1")
"""The order of `ImageHashes.pdq_dihedral`, as Meta's `pdqDihedralHash256es` computes them.
Banking all eight lets a mirrored or rotated copy of a known picture match: hash the upload
once, compare its plain hash against the eight variants of each banked picture (or the other
way round). In Pillow's terms: rotate90, rotate180 and rotate270 are ROTATE_90, ROTATE_180 and
ROTATE_270 (counter-clockwise), flip_x is FLIP_TOP_BOTTOM, flip_y FLIP_LEFT_RIGHT, flip_plus1
TRANSPOSE and flip_minus1 TRANSVERSE.

The variants are derived from the DCT of the original, not from flipped pixels, and PDQ's
sampling grid is not mirror-symmetric (at 512 px it is off by one pixel in eight), so the hash
of a mirrored picture is near its variant, not equal to it. On the sample photos at 512 px,
with no re-encoding: 0 to 22 bits for seven of them, 26 to 52 for retina (which would then not
match at 31). A transpose, whose grid is symmetric, lands within 2 bits. The plain hashes of a
picture and its mirror are 98 to 138 bits apart."""

PDQ_HEX_DIGITS: Final = 64


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """The hashes of one upload. `pdq_dihedral` is empty unless asked for; when present, its first
    hash is `pdq` itself (see `PDQ_DIHEDRAL_ORDER`)."""

    md5: str
    sha256: str
    pdq: str
    pdq_quality: int
    pdq_dihedral: tuple[str, ...] = ()

    @property
    def pdq_matchable(self) -> bool:
        """Whether the PDQ hash is good enough to match (`PDQ_MIN_QUALITY`)."""
        return self.pdq_quality >= PDQ_MIN_QUALITY


def hash_image(data: bytes, decoded: DecodedImage | None = None, dihedral: bool = True) -> ImageHashes:
    """MD5, SHA-256 and PDQ of an upload. Raises `ImageRejected` when the upload cannot be decoded.

    Pass `decoded` when the upload was already decoded (it must be of these bytes). The PDQ is
    always computed on the first frame scaled to at most `PDQ_SIDE`, so it does not depend on
    who decoded it: the same hash for a PNG, GIF or WebP, within 2 bits for a JPEG decoded in
    full rather than at reduced scale (see `PDQ_SIDE`). Decoding with `max_side=PDQ_SIDE`, as
    `tutela.image.analyse` does, is what saves the time. `dihedral` adds the hashes of the seven
    rotations and mirrors, which costs next to nothing: they come from the same DCT (measured in
    `bench/hash_speed.py`).
    """
    if decoded is None:
        decoded = decode(data, max_side=PDQ_SIDE)
    elif decoded.size_bytes != len(data):
        raise ValueError(f"decoded is of an upload of {decoded.size_bytes} bytes, not of these {len(data)} bytes")
    image = decoded.image
    if max(image.size) > PDQ_SIDE:
        image = image.copy()
        image.thumbnail((PDQ_SIDE, PDQ_SIDE))
    pixels = np.asarray(image, dtype=np.uint8)
    if dihedral:
        variants, quality = pdqhash.compute_dihedral(pixels)
        hexes = tuple(pdq_hex(bits) for bits in variants)
        pdq = hexes[0]
    else:
        bits, quality = pdqhash.compute(pixels)
        pdq, hexes = pdq_hex(bits), ()
    return ImageHashes(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        pdq=pdq,
        pdq_quality=int(quality),
        pdq_dihedral=hexes,
    )


def pdq_hex(bits: npt.ArrayLike) -> str:
    """The 64-hex-digit form of a PDQ hash given as 256 bits (0 or 1), most significant first."""
    array = np.asarray(bits)
    if array.shape != (256,) or not ((array == 0) | (array == 1)).all():
        raise ValueError(f"a PDQ hash is 256 bits of 0 or 1, got an array of shape {array.shape}")
    return np.packbits(array.astype(np.uint8)).tobytes().hex()


def pdq_bits(hex_hash: str) -> npt.NDArray[np.uint8]:
    """The 32 bytes of a PDQ hash (8 bits each, most significant first): the layout of a binary
    index such as faiss's `IndexBinaryFlat`."""
    _check_hex(hex_hash)
    return np.frombuffer(bytes.fromhex(hex_hash), dtype=np.uint8).copy()


def hamming(a_hex: str, b_hex: str) -> int:
    """The number of bits in which two PDQ hashes differ (0 to 256)."""
    _check_hex(a_hex)
    _check_hex(b_hex)
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


def _check_hex(hex_hash: str) -> None:
    if len(hex_hash) != PDQ_HEX_DIGITS or any(c not in "0123456789abcdefABCDEF" for c in hex_hash):
        raise ValueError(f"a PDQ hash is {PDQ_HEX_DIGITS} hex digits, got {hex_hash!r}")
