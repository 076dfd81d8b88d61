"""The nudity classifier: it loads offline from the nudenet wheel, runs on any image, and flags
none of the benign images (scikit-image's sample photos and generated ones) with a margin under
its thresholds.

Only benign images are used here, by rule: these tests check the integration, the geometry,
the thresholds and the false-positive rate, never detection of what the classifier is for.
"""

from __future__ import annotations

import numpy as np
import pytest
from benign_images import benign_images, gradient, noise, photo, text_image, variants
from PIL import Image

from tutela.image.nudity import (
    KINDS,
    SPEC_PATH,
    NudityBox,
    NudityClassifier,
    NuditySpec,
    default_nudity_classifier,
    model_path,
)

MARGIN = 0.05  # the thresholds leave at least this much over every benign image's score


@pytest.fixture(scope="module")
def clf() -> NudityClassifier:
    return default_nudity_classifier()


@pytest.fixture(scope="module")
def benign() -> dict[str, Image.Image]:
    return benign_images()


@pytest.fixture(scope="module")
def detections(clf: NudityClassifier, benign: dict[str, Image.Image]) -> dict[str, list[NudityBox]]:
    """Every benign image's boxes, found once for the tests that read them."""
    return {name: clf.detect(image) for name, image in benign.items()}


def inside(box: NudityBox, image: Image.Image) -> bool:
    x, y, w, h = box.box
    return x >= 0 and y >= 0 and w > 0 and h > 0 and x + w <= image.width and y + h <= image.height


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def test_the_model_ships_in_nudenet_and_loads_offline(offline: None) -> None:
    path = model_path()
    assert path.parent.name == "nudenet" and 10_000_000 < path.stat().st_size < 15_000_000
    fresh = NudityClassifier()
    assert fresh.size == 320 and len(fresh.labels) == 18
    assert fresh.detect(photo("astronaut"))


def test_the_spec_covers_every_class_with_thresholds_well_over_nudenets_default(clf: NudityClassifier) -> None:
    explicit = {c.label for c in clf.spec.classes.values() if c.kind == "explicit"}
    assert explicit == {
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "ANUS_EXPOSED",
        "FEMALE_BREAST_EXPOSED",
        "BUTTOCKS_EXPOSED",
    }
    assert {c.kind for c in clf.spec.classes.values()} == set(KINDS)
    assert all(clf.spec.classes[label].threshold >= 0.5 for label in explicit)
    assert clf.spec.floor == 0.2


def test_no_benign_image_has_an_explicit_box(
    clf: NudityClassifier, benign: dict[str, Image.Image], detections: dict[str, list[NudityBox]]
) -> None:
    """The false-positive check, with room to spare: no explicit-class box comes within MARGIN
    of its threshold. The hardest images (a colour wheel, a shaded ball, an oval) are also
    checked mirrored, turned and cropped."""
    hardest = variants({name: benign[name] for name in ("color", "sphere_blue_on_black", "phantom", "clock_motion", "cell")})
    found = {**detections, **{name: clf.detect(image) for name, image in hardest.items() if name not in detections}}
    for name, boxes in found.items():
        assert clf.explicit(boxes) == [], name
        for b in boxes:
            cls = clf.spec.classes[b.label]
            if cls.kind == "explicit":
                assert b.score <= cls.threshold - MARGIN, (name, b)


def test_scores_are_probabilities_over_the_floor_boxes_inside_the_image(
    clf: NudityClassifier, benign: dict[str, Image.Image], detections: dict[str, list[NudityBox]]
) -> None:
    seen = 0
    for name, image in benign.items():
        boxes = detections[name]
        seen += len(boxes)
        assert [b.score for b in boxes] == sorted((b.score for b in boxes), reverse=True), name
        for b in boxes:
            assert b.label in clf.spec.classes and clf.spec.floor <= b.score <= 1.0, (name, b)
            assert inside(b, image), (name, b, image.size)
    assert seen > 10  # the check above ran on real boxes


def test_deterministic(clf: NudityClassifier, benign: dict[str, Image.Image], detections: dict[str, list[NudityBox]]) -> None:
    for name in ("astronaut", "color", "noise", "skin_shapes2"):
        assert clf.detect(benign[name].copy()) == detections[name], name


def test_the_faces_in_the_sample_photos_are_found_where_they_are(clf: NudityClassifier) -> None:
    """Proof the preprocessing feeds the network what it was trained on (RGB, scaled, padded) and
    the boxes come back in the image's pixels: the astronaut's face, as the photo is, doubled in
    size, and set in the left of a wider white canvas."""
    astronaut = photo("astronaut")
    (face,) = [b for b in clf.detect(astronaut) if b.label == "FACE_FEMALE"]
    assert face.score >= clf.spec.classes["FACE_FEMALE"].threshold
    x, y, w, h = face.box
    assert 150 <= x <= 200 and 60 <= y <= 110 and 80 <= w <= 130 and 80 <= h <= 130  # the face in skimage's astronaut
    (doubled,) = [b for b in clf.detect(astronaut.resize((1024, 1024))) if b.label == "FACE_FEMALE"]
    assert overlap(doubled.box, (2 * x, 2 * y, 2 * w, 2 * h)) > 0.85
    wide = Image.new("RGB", (1024, 512), (255, 255, 255))
    wide.paste(astronaut, (0, 0))
    (placed,) = [b for b in clf.detect(wide) if b.label == "FACE_FEMALE"]
    assert overlap(placed.box, face.box) > 0.6
    assert any(b.label == "FACE_MALE" and b.score >= 0.5 for b in clf.detect(photo("camera")))


def test_any_size_and_mode_of_image(clf: NudityClassifier) -> None:
    huge = gradient((6000, 4000), (20, 40, 200), (240, 220, 30))
    tall = noise((40, 3000), seed=7)
    tiny = Image.new("RGB", (1, 1), (200, 150, 120))
    grey = photo("camera").convert("L")
    rgba = photo("astronaut").convert("RGBA")
    rgba.putalpha(128)
    transparent = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    palette = photo("coffee").convert("P")
    bilevel = text_image(["hello"]).convert("1")
    wide16 = Image.fromarray((np.linspace(0, 65535, 256 * 64).reshape(64, 256)).astype(np.uint16))
    for image in (huge, tall, tiny, grey, rgba, transparent, palette, bilevel, wide16, photo("camera").convert("LA")):
        boxes = clf.detect(image)
        assert clf.explicit(boxes) == [], image.mode
        assert all(inside(b, image) for b in boxes), (image.mode, image.size, boxes)
    assert [b.label for b in clf.detect(grey)] == [b.label for b in clf.detect(grey.convert("RGB"))]


def test_explicit_keeps_explicit_classes_at_or_over_their_threshold(clf: NudityClassifier) -> None:
    """On boxes made up here: no image involved."""
    t = clf.spec.classes["FEMALE_BREAST_EXPOSED"].threshold
    boxes = [
        NudityBox("FEMALE_BREAST_EXPOSED", t, (0, 0, 10, 10)),
        NudityBox("FEMALE_BREAST_EXPOSED", t - 0.01, (0, 0, 10, 10)),
        NudityBox("BUTTOCKS_EXPOSED", 0.9, (0, 0, 10, 10)),  # under its own, higher, threshold
        NudityBox("BELLY_EXPOSED", 0.99, (0, 0, 10, 10)),
        NudityBox("FACE_FEMALE", 0.99, (0, 0, 10, 10)),
        NudityBox("BUTTOCKS_COVERED", 0.99, (0, 0, 10, 10)),
    ]
    assert clf.explicit(boxes) == [boxes[0]]
    assert clf.over_threshold(boxes, ("face", "covered")) == [boxes[4], boxes[5]]


def test_a_wrong_spec_is_refused_with_what_to_fix(clf: NudityClassifier) -> None:
    text = SPEC_PATH.read_text("utf-8")
    with pytest.raises(ValueError, match=r"FACE_MALE: kind 'faces' is not one of"):
        NuditySpec.load(text.replace("FACE_MALE: {kind: face", "FACE_MALE: {kind: faces"))
    with pytest.raises(ValueError, match=r"ANUS_EXPOSED: threshold 0\.1 is under the floor 0\.2"):
        NuditySpec.load(
            text.replace("ANUS_EXPOSED: {kind: explicit, threshold: 0.5}", "ANUS_EXPOSED: {kind: explicit, threshold: 0.1}")
        )
    with pytest.raises(ValueError, match=r"floor: expected a number in \(0, 1\]"):
        NuditySpec.load(text.replace("floor: 0.2", "floor: 2"))
    partial = NuditySpec(0.2, {k: v for k, v in clf.spec.classes.items() if k != "FEET_COVERED"})
    with pytest.raises(ValueError, match=r"missing \['FEET_COVERED'\]"):
        NudityClassifier(partial)
