"""The image detectors: nudity, and text written inside images.

- `NudityDetector` (`image.explicit_nudity`): the nudity classifier (tutela.image.nudity) found
  an explicit exposure class over its own threshold. Evidence: the boxes, their classes and
  scores, in the decoded image's pixels. Never the pixels themselves.
- `ImageTextDetector` (`image.*` text labels): OCR (tutela.image.ocr) reads the text written
  in the image, and the text detector reads that text, so "add me on snap" painted on a cover
  is caught like a typed title. It emits the text detector's own labels (`text.contact_exchange`,
  `text.image_request`, ...) with `source: ocr` and the OCR'd text in the evidence, so the text
  rules of the policy apply to it unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

from tutela.detection import DetectionInput, Detector
from tutela.image.nudity import NudityClassifier, default_nudity_classifier
from tutela.image.ocr import TextReader, default_text_reader, joined_text
from tutela.model import Category, Signal
from tutela.text.detector import TextDetector

OCR_MAX_CHARS = 2_000  # an image's text is short; more is noise, and the text path stays bounded


class NudityDetector(Detector):
    name = "image"
    version = "1"
    reads = frozenset({"image"})
    emits: ClassVar[Mapping[str, Category]] = {"image.explicit_nudity": Category.SEXUAL_CONTENT}

    def __init__(self, classifier: NudityClassifier | None = None) -> None:
        self.classifier = classifier or default_nudity_classifier()

    def detect(self, inp: DetectionInput) -> Sequence[Signal]:
        if inp.image is None:
            return []
        explicit = self.classifier.explicit(self.classifier.detect(inp.image.decoded.image))
        if not explicit:
            return []
        return [
            self.signal(
                "image.explicit_nudity",
                round(max(b.score for b in explicit), 4),
                boxes=[{"label": b.label, "score": round(b.score, 4), "box": list(b.box)} for b in explicit],
            )
        ]


class ImageTextDetector(Detector):
    name = "text"  # its signals are text signals: the text rules apply to what images say
    version = "1+ocr"
    reads = frozenset({"image"})
    emits: ClassVar[Mapping[str, Category]] = {k: v for k, v in TextDetector.emits.items() if k != "text.directed"}

    def __init__(self, reader: TextReader | None = None, text: TextDetector | None = None) -> None:
        self.reader = reader or default_text_reader()
        self.text = text or TextDetector()

    def detect(self, inp: DetectionInput) -> Sequence[Signal]:
        if inp.image is None:
            return []
        lines = self.reader.read(inp.image.decoded.image)
        said = joined_text(lines)[:OCR_MAX_CHARS]
        if not said.strip():
            return []
        out = []
        for s in self.text.signals_for(said):
            if s.label == "text.directed":
                continue
            out.append(
                self.signal(
                    s.label,
                    s.score,
                    s.subject,
                    **{
                        **s.evidence,
                        "source": "ocr",
                        "ocr_text": said,
                        "lines": [{"text": ln.text, "box": list(ln.box)} for ln in lines],
                    },
                )
            )
        return out
