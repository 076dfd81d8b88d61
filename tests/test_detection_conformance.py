"""The checks every detector must pass. Add a detector to `default_detectors()` and it runs here."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import pytest

from image.benign_images import gradient, jpeg, noise, photo, text_image
from tutela.contact import resolve_parties
from tutela.detection import DetectionInput, Detector, default_detectors, run_detectors
from tutela.hashbank.banks import add_entries, create_bank
from tutela.hashbank.formats import BankEntry
from tutela.hashbank.matcher import BankMatcher
from tutela.image import AnalysedImage, analyse
from tutela.model import (
    FIELDS,
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Change,
    Connection,
    ConnectionKind,
    ContentObject,
    ObjectKind,
)
from tutela.policy.testing import MemoryWorld

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)
TEXTS = [
    "",
    "Sex on Fire",
    "a" * 100_000,
    "\u0301" * 500,
    "\u202eevil",
    "🌽👻🍑",
    "ｎｕｄｅｓ",
    "x\u200by",
    "s3nd me a p1c, add me on 👻",
    "im 12, dont tell anyone",
]


# Small images keep OCR quick; "known" is a benign stand-in placed in a test block-list below.
IMAGES: list[AnalysedImage] = [
    analyse(jpeg(text_image(["add me on snap"], background=noise((420, 120), seed=5, low=170), size=(420, 120)))),
    analyse(jpeg(photo("coffee").resize((300, 200)))),
    analyse(jpeg(gradient((200, 200), (0, 0, 255), (255, 255, 0)))),
]


def matcher() -> BankMatcher:
    """A matcher over a real (temporary, migrated) store holding one csam-labelled stand-in."""
    from tutela.store import Database
    from tutela.store.migrate import upgrade

    folder = Path(tempfile.mkdtemp(prefix="tutela-conformance-"))
    db = Database(f"sqlite:///{folder / 'banks.db'}")
    upgrade(db)
    with db.write() as conn:
        bank = create_bank(conn, "test-stand-ins", "blocklist", ["csam"], "conformance", NOW)
        add_entries(conn, bank, [BankEntry("pdq", IMAGES[1].hashes.pdq)], NOW)
    m = BankMatcher()
    with db.read() as conn:
        m.refresh(conn)
    return m


def inputs() -> list[DetectionInput]:
    w = MemoryWorld()
    for aid, band in [("kid", AgeBand.CHILD), ("adult", AgeBand.ADULT), ("anon", AgeBand.UNKNOWN)]:
        w.known[aid] = Account(aid, AgeState(band, AgeBasis.DECLARED))
    w.links.append(Connection("kid", "adult", ConnectionKind.FRIEND))
    out = []
    for kind, fields in FIELDS.items():
        for owner in ("kid", "adult", "anon"):
            obj = ContentObject(f"{owner}-{kind}", ObjectKind(kind), owner)
            w.objects[obj.id] = obj
            for field, ftype in fields.items():
                for actor in ("kid", "adult", "anon"):
                    if ftype.value == "text":
                        for text in TEXTS:
                            change = Change("c", actor, obj.id, field, text, ("kid", "anon"))
                            out.append(DetectionInput(change, obj, ftype, resolve_parties(w, change, obj, NOW.date()), NOW))
                        continue
                    for image in [None, IMAGES[len(out) % len(IMAGES)]]:
                        change = Change("c", actor, obj.id, field, None, ("kid", "anon"), image.facts() if image else None)
                        parties = resolve_parties(w, change, obj, NOW.date())
                        out.append(DetectionInput(change, obj, ftype, parties, NOW, image))
    return out


INPUTS = inputs()


# Labels no benign test input can produce: the nudity classifier is only ever run on benign
# images (the content rules), so it is checked for shape and bounded time, never for firing.
CANNOT_FIRE_ON_BENIGN_INPUTS = {"image"}


@pytest.fixture(params=default_detectors(matcher()), ids=lambda d: f"{d.name}-{d.version}")
def detector(request: pytest.FixtureRequest) -> Detector:
    d: Detector = request.param
    return d


def test_declares_itself(detector: Detector) -> None:
    assert isinstance(detector, Detector)
    assert detector.name and detector.name.isidentifier()
    assert detector.version
    assert detector.reads and detector.reads <= {"text", "image", "parties"}
    assert detector.emits
    for label in detector.emits:
        assert label.startswith(detector.name + "."), f"label {label} must start with {detector.name}."


def test_signals_are_well_formed_deterministic_and_fast(detector: Detector) -> None:
    emitted: set[str] = set()
    for inp in INPUTS:
        if not detector.applies(inp):
            continue
        started = time.perf_counter()
        signals = list(detector.detect(inp))
        assert time.perf_counter() - started < 3.0, "a detector must answer in bounded time"
        assert signals == list(detector.detect(inp)), "same input, same signals"
        for s in signals:
            assert s.label in detector.emits
            assert s.category is detector.emits[s.label]
            assert (s.detector, s.detector_version) == (detector.name, detector.version)
            assert 0.0 <= s.score <= 1.0
            json.dumps(s.as_dict())  # stored and shown to moderators: must be JSON
            emitted.add(s.label)
    if detector.name not in CANNOT_FIRE_ON_BENIGN_INPUTS:
        assert emitted, "a detector that never emits on these inputs cannot be checked"


def test_run_detectors_only_runs_what_applies() -> None:
    class TextOnly(Detector):
        name = "probe"
        version = "1"
        reads = frozenset({"text"})
        emits = {}  # noqa: RUF012

        def detect(self, inp: DetectionInput) -> list:  # type: ignore[type-arg]
            raise AssertionError("must not run on image fields")

    image_inputs = [i for i in INPUTS if i.field_type.value == "image"]
    assert image_inputs
    assert run_detectors([TextOnly()], image_inputs[0]) == []
