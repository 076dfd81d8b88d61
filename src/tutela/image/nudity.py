"""Nudity detection: NudeNet's shipped ONNX detector, run by our own onnxruntime session, with
per-class thresholds of our own (`data/nudity.yaml`).

Why not `nudenet.NudeDetector`: it creates its session without options (onnxruntime then takes
every core, and `tutela serve` gives each model one), it takes paths or OpenCV arrays rather than
the decoded PIL image we hold, and nudenet 3.4.2 feeds the network BGR planes: `_read_image`
applies `COLOR_RGBA2BGR` to an image `cv2.imread` already gave as BGR, then `swapRB` again
(NudeNet issue #203). The network is an Ultralytics YOLOv8 detector (its metadata: Ultralytics
8.2.46, 320 px input), and Ultralytics trains on RGB. So this module keeps nudenet's geometry (pad the image at the bottom and right
to a square, resize to the network's 320 px, scale the boxes back) and feeds RGB. Measured on
skimage's astronaut: her face scores 0.83 as FACE_FEMALE in RGB and 0.74 in BGR, where it also
scores 0.45 as FACE_MALE (0.11 in RGB).

Two further departures from nudenet, both as Ultralytics does it: non-maximum suppression runs
per class, so a confident covered or face box never hides an overlapping exposed one (nudenet
runs it across classes); and the image is shrunk once by Pillow before it is padded, so a
6000x4000 image takes 0.09 s against 0.02 s for a 512 px one (nudenet pads the full-size array
first).

Nothing here downloads: the model is the `320n.onnx` file inside the nudenet wheel, found
without importing nudenet (nor OpenCV, which nudenet imports); the class names and input size
are read from the model's own metadata and checked against `data/nudity.yaml`.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import onnxruntime
from PIL import Image
from ruamel.yaml import YAML

from tutela.image.decode import to_rgb

SPEC_PATH = Path(__file__).parent / "data" / "nudity.yaml"

Kind = Literal["explicit", "exposed", "covered", "face"]
KINDS: tuple[Kind, ...] = ("explicit", "exposed", "covered", "face")

NMS_IOU = 0.45
"""Boxes of one class overlapping a better one by more than this are the same find (nudenet's
and Ultralytics' value)."""

MAX_BOXES = 300
"""At most this many boxes per image (Ultralytics' `max_det`): bounds the work after the
network on any input."""

PAD = (0, 0, 0)
"""The colour of the square's padding, as nudenet pads (black)."""


@dataclass(frozen=True, slots=True)
class NudityBox:
    label: str  # one of the model's classes, e.g. "FACE_FEMALE"
    score: float  # 0..1
    box: tuple[int, int, int, int]  # x, y, width, height in the input image's pixels


@dataclass(frozen=True, slots=True)
class NudityClass:
    label: str
    kind: Kind
    threshold: float  # a box of this class counts at or above this score


@dataclass(frozen=True, slots=True)
class NuditySpec:
    """What `data/nudity.yaml` says: the evidence floor and each class's kind and threshold."""

    floor: float
    classes: Mapping[str, NudityClass]

    @classmethod
    def load(cls, text: str | None = None, source: str = str(SPEC_PATH)) -> NuditySpec:
        """Read and check the spec; every problem is reported with the file it is in."""
        raw = text if text is not None else SPEC_PATH.read_text("utf-8")
        doc: Any = YAML(typ="safe").load(raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict):
            raise ValueError(f"{source}: expected a mapping with 'floor' and 'classes'")
        floor = _probability(doc.get("floor"), f"{source}: floor")
        classes: dict[str, NudityClass] = {}
        for label, entry in doc["classes"].items():
            where = f"{source}: class {label}"
            if not isinstance(entry, dict) or set(entry) != {"kind", "threshold"}:
                raise ValueError(f"{where}: expected exactly 'kind' and 'threshold', got {entry!r}")
            if entry["kind"] not in KINDS:
                raise ValueError(f"{where}: kind {entry['kind']!r} is not one of {', '.join(KINDS)}")
            threshold = _probability(entry["threshold"], f"{where}: threshold")
            if threshold < floor:
                raise ValueError(
                    f"{where}: threshold {threshold} is under the floor {floor}; boxes under the floor are never seen"
                )
            classes[str(label)] = NudityClass(str(label), cast(Kind, entry["kind"]), threshold)
        return cls(floor, classes)


def _probability(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{where}: expected a number in (0, 1], got {value!r}")
    return float(value)


def model_path() -> Path:
    """`320n.onnx` inside the installed nudenet package, found without importing nudenet."""
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the nudity model ships in the nudenet package, which is not installed: pip install nudenet==3.4.2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "320n.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall nudenet==3.4.2, whose wheel ships it")
    return path


class NudityClassifier:
    """Boxes of body parts and faces, each with a class and a score.

    `detect` gives every box over the spec's floor (evidence for a moderator); `explicit` keeps
    those of explicit classes at or over their own thresholds (what a detector signals). The
    session runs one inference at a time on `threads` threads."""

    def __init__(self, spec: NuditySpec | None = None, path: Path | None = None, threads: int = 1) -> None:
        self.spec = spec if spec is not None else NuditySpec.load()
        path = path if path is not None else model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        names: dict[int, str] = ast.literal_eval(meta["names"])
        self.labels: list[str] = [names[i] for i in range(len(names))]
        self.size = int(ast.literal_eval(meta["imgsz"])[0])
        self.input_name: str = self.session.get_inputs()[0].name
        if set(self.labels) != set(self.spec.classes):
            missing = sorted(set(self.labels) - set(self.spec.classes))
            unknown = sorted(set(self.spec.classes) - set(self.labels))
            raise ValueError(
                f"{SPEC_PATH}: the classes must be the model's ({path}); missing {missing or 'none'}, unknown {unknown or 'none'}"
            )
        self._lock = threading.Lock()

    def detect(self, image: Image.Image) -> list[NudityBox]:
        """Every box over the floor, best first. Any size or mode of image: it is shrunk (or
        grown) to the network's 320 px first, so the time does not depend on its size."""
        rgb = to_rgb(image)  # transparent pixels over white, as a viewer sees them
        width, height = rgb.size
        scale = self.size / max(width, height)
        resized = (min(self.size, max(1, round(width * scale))), min(self.size, max(1, round(height * scale))))
        canvas = Image.new("RGB", (self.size, self.size), PAD)
        canvas.paste(rgb.resize(resized, Image.Resampling.BILINEAR, reducing_gap=3.0), (0, 0))
        planes = np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1)[np.newaxis] / np.float32(255.0)
        with self._lock:
            (raw,) = self.session.run(None, {self.input_name: np.ascontiguousarray(planes)})
        rows = np.asarray(raw, dtype=np.float32)[0].T  # one row per anchor: cx, cy, w, h, then a score per class
        scores = rows[:, 4:]
        classes = scores.argmax(axis=1)
        best = scores[np.arange(len(rows)), classes]
        keep = np.flatnonzero(best >= self.spec.floor)
        keep = keep[np.argsort(-best[keep], kind="stable")][: MAX_BOXES * 10]
        cx, cy, w, h = (rows[keep, i] for i in range(4))
        corners = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
        kept = _nms(corners, best[keep], classes[keep])[:MAX_BOXES]
        sx, sy = resized[0] / width, resized[1] / height
        out: list[NudityBox] = []
        for i in kept:
            x0, y0, x1, y1 = corners[i]
            left, top = max(0, int(np.floor(x0 / sx))), max(0, int(np.floor(y0 / sy)))
            right, bottom = min(width, int(np.ceil(x1 / sx))), min(height, int(np.ceil(y1 / sy)))
            if right <= left or bottom <= top:
                continue  # all in the padding: nothing of the image is in it
            out.append(
                NudityBox(
                    self.labels[int(classes[keep[i]])], round(float(best[keep[i]]), 6), (left, top, right - left, bottom - top)
                )
            )
        return out

    def explicit(self, boxes: Iterable[NudityBox]) -> list[NudityBox]:
        """The boxes of explicit classes at or over their class's threshold."""
        return self.over_threshold(boxes, ("explicit",))

    def over_threshold(self, boxes: Iterable[NudityBox], kinds: Sequence[Kind]) -> list[NudityBox]:
        """The boxes of classes of these kinds at or over their class's threshold."""
        out = []
        for b in boxes:
            cls = self.spec.classes[b.label]
            if cls.kind in kinds and b.score >= cls.threshold:
                out.append(b)
        return out


def _nms(corners: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> list[int]:
    """Greedy non-maximum suppression within each class, best first (rows come sorted by score).
    Each class is moved to its own region of the plane, so boxes of two classes never overlap."""
    shifted = corners + (classes.astype(np.float32) * 4096.0)[:, np.newaxis]
    area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    while order.size:
        i, rest = int(order[0]), order[1:]
        kept.append(i)
        iw = np.clip(np.minimum(shifted[i, 2], shifted[rest, 2]) - np.maximum(shifted[i, 0], shifted[rest, 0]), 0, None)
        ih = np.clip(np.minimum(shifted[i, 3], shifted[rest, 3]) - np.maximum(shifted[i, 1], shifted[rest, 1]), 0, None)
        inter = iw * ih
        order = rest[inter <= NMS_IOU * (area[i] + area[rest] - inter)]
    return kept


@functools.cache
def default_nudity_classifier() -> NudityClassifier:
    """The process's one classifier (loading takes about 0.15 s and 40 MB)."""
    return NudityClassifier()
