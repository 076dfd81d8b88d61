"""The decision path: a proposed change in, an explained decision out.

    change ─▶ parties (tutela.contact) ─▶ detectors ─▶ signals ─▶ policy ─▶ Outcome

`evaluate_change` is pure: it reads the world and writes nothing. The API stores its outcome
(`tutela.store.repo.record_decision`) in the same transaction as the change; `tutela check`
and `tutela policy test` print it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutela.contact import Parties, resolve_parties
from tutela.detection import DetectionInput, Detector, run_detectors
from tutela.model import FIELDS, Change, FieldType, Signal, World
from tutela.policy import Evaluation, Policy
from tutela.policy.inputs import build_context, today_of

if TYPE_CHECKING:
    from tutela.image import AnalysedImage


class UnknownObject(LookupError):
    def __init__(self, object_id: str) -> None:
        super().__init__(f"content object {object_id!r} is not known")
        self.object_id = object_id


class InvalidChange(ValueError):
    """The change cannot apply to its object (a field the kind lacks, text on an image...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Outcome:
    change: Change
    evaluation: Evaluation
    signals: tuple[Signal, ...]
    parties: Parties
    inputs: dict[str, Any]  # exactly what the policy saw: stored for explanation and replay
    policy_version: str


def evaluate_change(
    world: World,
    change: Change,
    policy: Policy,
    detectors: Sequence[Detector],
    now: dt.datetime,
    image: AnalysedImage | None = None,
) -> Outcome:
    """Evaluate one proposed change. `image` is the proposed image, decoded and hashed
    (tutela.image.analyse), for image fields; `change.image` holds the facts kept of it."""
    obj = world.content_object(change.object_id)
    if obj is None:
        raise UnknownObject(change.object_id)
    fields = FIELDS[obj.kind]
    field_type = fields.get(change.field)
    if field_type is None:
        raise InvalidChange("field", f"a {obj.kind} has no field {change.field!r}; its fields are {', '.join(fields)}")
    if field_type is FieldType.TEXT and (image is not None or change.image is not None):
        raise InvalidChange("image", f"{obj.kind} field {change.field!r} is text: it takes no image")
    if field_type is FieldType.TEXT and change.text is None:
        raise InvalidChange("text", f"{obj.kind} field {change.field!r} is text: send the proposed text in 'text'")
    if field_type is FieldType.IMAGE and change.text is not None:
        raise InvalidChange("text", f"{obj.kind} field {change.field!r} is an image: it takes no 'text'")
    parties = resolve_parties(world, change, obj, today_of(now))
    signals = run_detectors(detectors, DetectionInput(change, obj, field_type, parties, now, image))
    inputs = build_context(change, obj, field_type, parties, signals)
    return Outcome(change, policy.evaluate(inputs), tuple(signals), parties, inputs, policy.version)
