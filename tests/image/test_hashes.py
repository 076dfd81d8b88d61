"""Image hashes (tutela.image.hashes): exact hashes, and PDQ's behaviour on real pictures, on
scikit-image's bundled sample photos and flat colours made here. Nothing is downloaded."""

from __future__ import annotations

import hashlib
import io
import itertools

import benign_images
import numpy as np
import pdqhash
import pytest
from benign_images import png
from PIL import Image, ImageEnhance
from skimage import data as samples
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes

import tutela.image
from tutela.image import (
    PDQ_MIN_QUALITY,
    PDQ_SIDE,
    DecodedImage,
    ImageRejected,
    analyse,
    decode,
    hamming,
    hash_image,
    pdq_bits,
    pdq_hex,
)
from tutela.image.hashes import PDQ_DIHEDRAL_ORDER

MATCH = 31  # the PDQ match threshold (Meta's recommendation): at most this many bits apart
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera")


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(samples, name)()).convert("RGB")


def jpeg(image: Image.Image, quality: int = 95) -> bytes:
    return benign_images.jpeg(image, quality)


def pdq(data: bytes) -> str:
    return hash_image(data, dihedral=False).pdq


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_exact_hashes_are_of_the_bytes(fmt: str) -> None:
    out = io.BytesIO()
    photo("chelsea").save(out, fmt)
    data = out.getvalue()
    hashes = hash_image(data)
    assert hashes.md5 == hashlib.md5(data).hexdigest()
    assert hashes.sha256 == hashlib.sha256(data).hexdigest()


def test_pdq_hex_is_what_python_threatexchange_computes() -> None:
    """The hex form hash banks exchange: a 512 px PNG is hashed as is, so the two agree exactly."""
    data = png(photo("astronaut"))
    hashes = hash_image(data)
    assert (hashes.pdq, hashes.pdq_quality) == pdq_from_bytes(data)


@pytest.mark.parametrize("name", PHOTOS)
def test_the_same_picture_edited_lightly_still_matches(name: str) -> None:
    image = photo(name)
    original = pdq(jpeg(image))
    edits = {
        "jpeg quality 70": jpeg(image, quality=70),
        "half size": jpeg(image.resize((image.width // 2, image.height // 2), Image.Resampling.BICUBIC)),
        "brighter": jpeg(ImageEnhance.Brightness(image).enhance(1.15)),
        "png": png(image),
    }
    distances = {edit: hamming(original, pdq(data)) for edit, data in edits.items()}
    assert max(distances.values()) <= MATCH, distances


def test_different_pictures_are_far_apart() -> None:
    names = (*PHOTOS, "hubble_deep_field", "immunohistochemistry")
    hashes = {name: pdq(jpeg(photo(name))) for name in names}
    distances = {(a, b): hamming(hashes[a], hashes[b]) for a, b in itertools.combinations(names, 2)}
    assert min(distances.values()) >= 80, distances


@pytest.mark.parametrize(
    ("transpose", "variant"),
    [
        (Image.Transpose.FLIP_LEFT_RIGHT, "flip_y"),
        (Image.Transpose.FLIP_TOP_BOTTOM, "flip_x"),
        (Image.Transpose.ROTATE_90, "rotate90"),
        (Image.Transpose.ROTATE_180, "rotate180"),
        (Image.Transpose.ROTATE_270, "rotate270"),
        (Image.Transpose.TRANSPOSE, "flip_plus1"),
        (Image.Transpose.TRANSVERSE, "flip_minus1"),
    ],
)
@pytest.mark.parametrize("name", PHOTOS)
def test_a_turned_or_mirrored_copy_is_found_among_the_dihedral_variants(
    name: str, transpose: Image.Transpose, variant: str
) -> None:
    """The nearest variant is the right one and within the match threshold, while the plain hashes
    are far apart. Not within a few bits: the variants come from the DCT, and PDQ's sampling grid
    is not mirror-symmetric (measured in the PDQ_DIHEDRAL_ORDER docstring)."""
    image = photo(name)
    original = hash_image(jpeg(image))
    turned = pdq(jpeg(image.transpose(transpose)))
    distances = [hamming(turned, h) for h in original.pdq_dihedral]
    assert PDQ_DIHEDRAL_ORDER[int(np.argmin(distances))] == variant
    assert min(distances) <= 22  # the worst measured on these photos; the threshold is 31
    assert hamming(turned, original.pdq) >= 90


def test_the_dihedral_variants_start_with_the_plain_hash() -> None:
    data = jpeg(photo("rocket"))
    with_variants, plain = hash_image(data), hash_image(data, dihedral=False)
    assert len(with_variants.pdq_dihedral) == len(PDQ_DIHEDRAL_ORDER) == 8
    assert with_variants.pdq_dihedral[0] == with_variants.pdq == plain.pdq
    assert plain.pdq_dihedral == ()
    assert len(set(with_variants.pdq_dihedral)) == 8


@pytest.mark.parametrize("colour", [(0, 0, 0), (255, 255, 255), (200, 30, 30)])
def test_a_flat_colour_has_a_quality_too_low_to_match(colour: tuple[int, int, int]) -> None:
    hashes = hash_image(png(Image.new("RGB", (300, 200), colour)))
    assert hashes.pdq_quality < PDQ_MIN_QUALITY
    assert not hashes.pdq_matchable


def test_a_photo_has_a_quality_good_enough_to_match() -> None:
    hashes = hash_image(jpeg(photo("coffee")))
    assert 0 <= hashes.pdq_quality <= 100
    assert hashes.pdq_matchable


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "rocket"])
def test_a_large_jpeg_hashed_from_a_reduced_decode(name: str) -> None:
    """The JPEG decoder's reduced-scale decode costs next to nothing against decoding in full and
    then scaling to the same PDQ_SIDE; the resolution itself costs more (see PDQ_SIDE), and the
    hash still matches the full-resolution one."""
    data = jpeg(photo(name).resize((3000, 2000), Image.Resampling.LANCZOS), quality=90)
    fast = pdq(data)
    full = decode(data).image
    full_resolution = pdq_hex(pdqhash.compute(np.asarray(full))[0])
    full.thumbnail((PDQ_SIDE, PDQ_SIDE))
    scaled_after = pdq_hex(pdqhash.compute(np.asarray(full))[0])
    assert hamming(fast, scaled_after) <= 4
    assert hamming(fast, full_resolution) <= 22  # the worst measured on the sample photos


def test_an_already_decoded_image_gives_the_same_hashes() -> None:
    data = png(photo("coffee").resize((1200, 800), Image.Resampling.BICUBIC))
    full = decode(data)
    assert max(full.image.size) > PDQ_SIDE
    assert hash_image(data, full) == hash_image(data)  # scaled to PDQ_SIDE either way


def test_a_decoded_image_of_other_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="not of these"):
        hash_image(jpeg(photo("coffee")), decode(png(photo("coffee"))))


def test_bad_bytes_are_rejected() -> None:
    with pytest.raises(ImageRejected):
        hash_image(b"not an image")


def test_analyse_decodes_once_and_hashes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int | None] = []
    real_decode = tutela.image.decode

    def counting_decode(data: bytes, limits: tutela.image.Limits | None = None, max_side: int | None = None) -> DecodedImage:
        calls.append(max_side)
        return real_decode(data, limits, max_side)

    monkeypatch.setattr(tutela.image, "decode", counting_decode)
    data = jpeg(photo("chelsea").resize((1800, 1200), Image.Resampling.BICUBIC))
    analysed = analyse(data)
    assert calls == [PDQ_SIDE]
    assert (analysed.decoded.width, analysed.decoded.height) == (1800, 1200)
    assert max(analysed.decoded.image.size) == PDQ_SIDE
    assert analysed.hashes == hash_image(data)


def test_the_facts_kept_of_an_analysed_image() -> None:
    data = jpeg(photo("rocket"))
    analysed = analyse(data)
    facts = analysed.facts()
    assert (facts.format, facts.width, facts.height, facts.frames, facts.size_bytes) == ("jpeg", 640, 427, 1, len(data))
    assert (facts.md5, facts.sha256, facts.pdq, facts.pdq_quality) == (
        analysed.hashes.md5,
        analysed.hashes.sha256,
        analysed.hashes.pdq,
        analysed.hashes.pdq_quality,
    )
    assert facts.pdq_dihedral == analysed.hashes.pdq_dihedral


def test_hex_and_bits() -> None:
    bits = np.zeros(256, dtype=np.int64)
    assert pdq_hex(bits) == "0" * 64
    bits[0] = 1
    assert pdq_hex(bits) == "8" + "0" * 63  # most significant first
    hashes = hash_image(jpeg(photo("astronaut")))
    packed = pdq_bits(hashes.pdq)
    assert packed.dtype == np.uint8 and packed.shape == (32,)
    assert pdq_hex(np.unpackbits(packed)) == hashes.pdq
    assert hamming("0" * 64, "f" * 64) == 256
    assert hamming(hashes.pdq, hashes.pdq.upper()) == 0


@pytest.mark.parametrize("bad", ["", "0" * 63, "g" * 64, "0" * 65])
def test_malformed_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="64 hex digits"):
        hamming(bad, "0" * 64)
    with pytest.raises(ValueError, match="64 hex digits"):
        pdq_bits(bad)


def test_malformed_bits_are_refused() -> None:
    with pytest.raises(ValueError, match="256 bits"):
        pdq_hex(np.zeros(255))
    with pytest.raises(ValueError, match="256 bits"):
        pdq_hex(np.full(256, 2))
