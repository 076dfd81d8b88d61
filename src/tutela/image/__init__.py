"""Images: safe decoding of uploads, and their exact and perceptual hashes.

`analyse` is the one call the check path makes on an upload: it decodes the bytes once (at
`PDQ_SIDE`, which a JPEG's decoder does at a fraction of the cost of a full decode) and hashes
them once. Everything an image detector or a hash bank needs comes from its result.
"""

from __future__ import annotations

from dataclasses import dataclass

from tutela.image.decode import DecodedImage, ImageRejected, Limits, decode
from tutela.image.hashes import PDQ_MIN_QUALITY, PDQ_SIDE, ImageHashes, hamming, hash_image, pdq_bits, pdq_hex
from tutela.model import ImageFacts

__all__ = [
    "PDQ_MIN_QUALITY",
    "PDQ_SIDE",
    "AnalysedImage",
    "DecodedImage",
    "ImageHashes",
    "ImageRejected",
    "Limits",
    "analyse",
    "decode",
    "hamming",
    "hash_image",
    "pdq_bits",
    "pdq_hex",
]


@dataclass(frozen=True, slots=True)
class AnalysedImage:
    """An upload decoded and hashed. `decoded.image` is at most `PDQ_SIDE` on its longer side;
    `decoded.width` and `decoded.height` are the original's."""

    decoded: DecodedImage
    hashes: ImageHashes

    def facts(self) -> ImageFacts:
        """What is kept of the image once the check is done (stored with the change and matched
        against hash banks): the facts about the file and its hashes, never the pixels."""
        decoded, hashes = self.decoded, self.hashes
        return ImageFacts(
            format=decoded.format,
            width=decoded.width,
            height=decoded.height,
            frames=decoded.frames,
            size_bytes=decoded.size_bytes,
            md5=hashes.md5,
            sha256=hashes.sha256,
            pdq=hashes.pdq,
            pdq_quality=hashes.pdq_quality,
            pdq_dihedral=hashes.pdq_dihedral,
            exif=dict(decoded.exif),
        )


def analyse(data: bytes, limits: Limits | None = None, dihedral: bool = True) -> AnalysedImage:
    """Decode an upload within `limits` and hash it, or raise `ImageRejected`."""
    decoded = decode(data, limits, max_side=PDQ_SIDE)
    return AnalysedImage(decoded=decoded, hashes=hash_image(data, decoded, dihedral=dihedral))
