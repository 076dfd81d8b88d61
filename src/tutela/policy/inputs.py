"""What a rule can read: the typed inputs of every CEL condition, with their documentation.

This schema is the single description of the policy language's variables. The loader checks
every field a rule names against it, probes rules with values of these types to find type
errors before a rule ever runs, and `docs/policy.md` is generated from it
(`tutela policy inputs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tutela.contact import Parties, Party
from tutela.model import Change, ContentObject, FieldType, Signal


@dataclass(frozen=True)
class Type:
    kind: str  # string, bool, double, list, map, struct
    doc: str = ""
    fields: Mapping[str, Type] = field(default_factory=dict)
    item: Type | None = None

    def describe(self) -> str:
        if self.kind == "list" and self.item is not None:
            return f"list of {self.item.describe()}"
        return self.kind


def _string(doc: str) -> Type:
    return Type("string", doc)


def _bool(doc: str) -> Type:
    return Type("bool", doc)


def _double(doc: str) -> Type:
    return Type("double", doc)


def _list(item: Type, doc: str) -> Type:
    return Type("list", doc, item=item)


def _struct(doc: str, **fields: Type) -> Type:
    return Type("struct", doc, fields=fields)


AGE = _struct(
    "What Tutela believes about an account's age, as of the change.",
    band=_string("child (under 13), teen (13-17), adult, or unknown."),
    basis=_string("How the band was established: verified, estimated, declared, inferred or unknown."),
    confidence=_double("0 to 1: how sure the source was."),
)

PARTY = _struct(
    "An account involved in the change: the actor, the object's owner, or a tagged account.",
    id=_string("The platform's account id."),
    age=AGE,
    minor=_bool("The age band is child or teen."),
    protected=_bool("The account gets the child-safety defaults: a minor, or age unknown."),
    is_actor=_bool("This account is the one making the change."),
    is_owner=_bool("This account owns the object being changed."),
    is_collaborator=_bool("This account is listed among the object's collaborators (not consent to contact)."),
    connected_to_actor=_bool(
        "A consented connection links this account and the actor: friend, family, collaborator "
        "invitation, or follows in both directions. Always true for the actor itself."
    ),
    connection_kinds=_list(
        _string("follow, friend, family or collaborator"),
        "Every kind of connection between this account and the actor, in either direction.",
    ),
    restrictions=_list(
        _string("restrict_contact, suspend or terminate"),
        "Measures in force on this account after a moderator's decision (docs/cases.md).",
    ),
)

SIGNAL = _struct(
    "Something a detector observed about the change.",
    detector=_string("The detector's name, e.g. contact."),
    detector_version=_string("The detector's version."),
    label=_string("What was observed, prefixed by the detector: contact.stranger."),
    category=_string("The harm category of the label."),
    score=_double("0 to 1."),
    subject=_string("The account the signal is about, or empty."),
    evidence=Type("map", "Detector-specific details; test keys with has() before reading them."),
)

CHANGE = _struct(
    "The proposed change, not yet published.",
    id=_string("The platform's id for this change (its idempotency key)."),
    field=_string("The field being set: title, description, cover (playlists); display_name, bio, image (profiles)."),
    field_type=_string("text or image."),
    text=_string("The proposed text; empty for image fields."),
    tags=_list(_string("an account id"), "Accounts the change tags or mentions."),
    image=_struct(
        "The proposed image, for image fields (all empty or zero when the change sends none). Only these facts are stored, never the image.",
        present=_bool("An image was sent with the change."),
        format=_string("jpeg, png, webp or gif."),
        width=_double("Pixels, after EXIF orientation."),
        height=_double("Pixels, after EXIF orientation."),
        frames=_double("1, or the number of frames of an animation (the first is analysed)."),
        md5=_string("MD5 of the bytes, hex."),
        sha256=_string("SHA-256 of the bytes, hex."),
        pdq=_string("PDQ perceptual hash, 64 hex digits."),
        pdq_quality=_double("0 to 100; hashes under 50 are not matched against banks."),
    ),
    object=_struct(
        "The content object being changed.",
        id=_string("The platform's object id."),
        kind=_string("playlist or profile."),
        visibility=_string("public, unlisted or private."),
    ),
)

INPUTS: dict[str, Type] = {
    "change": CHANGE,
    "actor": PARTY,
    "owner": PARTY,
    "tagged": _list(PARTY, "The tagged accounts, each once, in the order given."),
    "signals": _list(SIGNAL, "Every signal the detectors emitted for this change."),
}


def build_context(
    change: Change, obj: ContentObject, field_type: FieldType, parties: Parties, signals: Sequence[Signal]
) -> dict[str, Any]:
    """The values of INPUTS for one change: what the rules see, and what a decision stores so
    that it can be explained and replayed against another policy."""
    return {
        "change": {
            "id": change.id,
            "field": change.field,
            "field_type": field_type.value,
            "text": change.text or "",
            "tags": list(dict.fromkeys(change.tags)),
            "image": _image(change),
            "object": {"id": obj.id, "kind": obj.kind.value, "visibility": obj.visibility.value},
        },
        "actor": _party(parties.actor),
        "owner": _party(parties.owner),
        "tagged": [_party(p) for p in parties.tagged],
        "signals": [s.as_dict() for s in signals],
    }


def _image(change: Change) -> dict[str, Any]:
    i = change.image
    if i is None:
        return {
            "present": False,
            "format": "",
            "width": 0.0,
            "height": 0.0,
            "frames": 0.0,
            "md5": "",
            "sha256": "",
            "pdq": "",
            "pdq_quality": 0.0,
        }
    return {
        "present": True,
        "format": i.format,
        "width": float(i.width),
        "height": float(i.height),
        "frames": float(i.frames),
        "md5": i.md5,
        "sha256": i.sha256,
        "pdq": i.pdq,
        "pdq_quality": float(i.pdq_quality),
    }


def _party(p: Party) -> dict[str, Any]:
    age = p.account.age
    return {
        "id": p.id,
        "age": {"band": age.band.value, "basis": age.basis.value, "confidence": age.confidence},
        "minor": p.minor,
        "protected": p.protected,
        "is_actor": p.is_actor,
        "is_owner": p.is_owner,
        "is_collaborator": p.is_collaborator,
        "connected_to_actor": p.connected_to_actor,
        "connection_kinds": sorted(k.value for k in p.connection_kinds),
        "restrictions": sorted(p.account.restrictions),
    }


def probe(t: Type, truthy: bool) -> Any:
    """A value of type `t`, for finding type errors in a rule before it runs on real data."""
    if t.kind == "struct":
        return {name: probe(ft, truthy) for name, ft in t.fields.items()}
    if t.kind == "list":
        assert t.item is not None
        return [probe(t.item, truthy)]
    return {"string": "probe", "bool": truthy, "double": 0.5, "map": {}}[t.kind]


def probe_contexts() -> list[dict[str, Any]]:
    return [{k: probe(t, truthy) for k, t in INPUTS.items()} for truthy in (True, False)]


def walk(t: Type, prefix: str = "") -> list[tuple[str, Type]]:
    """Every documented path below `t`, for the generated reference."""
    out: list[tuple[str, Type]] = []
    for name, ft in t.fields.items():
        path = f"{prefix}.{name}" if prefix else name
        out.append((path, ft))
        out.extend(walk(ft, path))
        if ft.kind == "list" and ft.item is not None and ft.item.kind == "struct":
            out.extend(walk(ft.item, f"{path}[]"))
    return out


def reference_markdown() -> str:
    """The inputs as a Markdown table: the policy language's variable reference."""
    lines = ["| input | type | meaning |", "|---|---|---|"]
    for path, t in walk(_struct("", **INPUTS)):
        lines.append(f"| `{path}` | {t.describe()} | {t.doc} |")
    return "\n".join(lines) + "\n"


def today_of(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date()
