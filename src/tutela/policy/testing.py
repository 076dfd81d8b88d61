"""`tutela policy test FILE`: example changes with the verdicts a policy must give them.

A test file describes a small world and the cases to run in it:

    accounts:
      kid: {band: child, basis: declared}
      stranger: {band: adult, basis: declared}
      friend: {band: adult}
    connections:
      - {source: kid, target: friend, kind: friend}
    objects:
      kid-list: {kind: playlist, owner: kid}
    cases:
      - name: a stranger renames a child's playlist
        change: {actor: stranger, object: kid-list, field: title, text: hi}
        expect:
          verdict: block
          rules: [stranger-edits-protected-object]   # optional: exactly these enforced rules
          followups: [record_contact]                # optional: exactly these
          shadow: []                                 # optional: exactly these shadow rules

It runs the same path as the service (`tutela.check.evaluate_change`, with the default
detectors) against an in-memory world instead of the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from tutela.check import InvalidChange, UnknownObject, evaluate_change
from tutela.contact import UnknownAccount
from tutela.detection import Detector, default_detectors
from tutela.model import (
    Account,
    AgeBand,
    AgeBasis,
    AgeState,
    Change,
    Connection,
    ConnectionKind,
    ContentObject,
    ObjectKind,
    Visibility,
    band_for_birth_date,
)
from tutela.policy.engine import Policy


class TestFileError(ValueError):
    pass


@dataclass
class MemoryWorld:
    """A `World` held in dictionaries: for policy tests and `tutela check --world`."""

    known: dict[str, Account] = field(default_factory=dict)
    objects: dict[str, ContentObject] = field(default_factory=dict)
    links: list[Connection] = field(default_factory=list)

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        return {a: self.known[a] for a in account_ids if a in self.known}

    def content_object(self, object_id: str) -> ContentObject | None:
        return self.objects.get(object_id)

    def connections(self, account_id: str, others: set[str]) -> list[Connection]:
        return [
            c
            for c in self.links
            if (c.source == account_id and c.target in others) or (c.target == account_id and c.source in others)
        ]


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    verdict: str
    rules: list[str]
    failures: list[str]


def _keys(where: str, node: Any, allowed: set[str], required: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise TestFileError(f"{where} must be a mapping")
    unknown = set(node) - allowed
    if unknown:
        raise TestFileError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = required - set(node)
    if missing:
        raise TestFileError(f"{where}: missing {', '.join(sorted(missing))}")
    return node


def _enum(where: str, enum: Any, value: Any) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise TestFileError(f"{where}: {value!r} is not one of {', '.join(e.value for e in enum)}") from None


def _date(where: str, value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise TestFileError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_world(doc: dict[str, Any], today: dt.date) -> MemoryWorld:
    world = MemoryWorld()
    for aid, spec in (doc.get("accounts") or {}).items():
        spec = _keys(f"account {aid}", spec or {}, {"band", "basis", "confidence", "birth_date", "restrictions"})
        birth = _date(f"account {aid} birth_date", spec.get("birth_date"))
        band = _enum(f"account {aid} band", AgeBand, spec.get("band", "unknown"))
        if birth is not None:
            derived = band_for_birth_date(birth, today)
            if "band" in spec and band is not derived:
                raise TestFileError(f"account {aid}: band {band.value} contradicts birth_date {birth} ({derived.value})")
            band = derived
        age = AgeState(
            band=band,
            basis=_enum(f"account {aid} basis", AgeBasis, spec.get("basis", "unknown")),
            confidence=float(spec.get("confidence", 0.0)),
            birth_date=birth,
        )
        restrictions = spec.get("restrictions") or []
        if not isinstance(restrictions, list) or not set(map(str, restrictions)) <= {"restrict_contact", "suspend", "terminate"}:
            raise TestFileError(f"account {aid}: restrictions must be a list of restrict_contact, suspend, terminate")
        world.known[str(aid)] = Account(str(aid), age, frozenset(map(str, restrictions)))
    for i, spec in enumerate(doc.get("connections") or []):
        spec = _keys(f"connection {i + 1}", spec, {"source", "target", "kind"}, {"source", "target", "kind"})
        for end in ("source", "target"):
            if str(spec[end]) not in world.known:
                raise TestFileError(f"connection {i + 1}: {end} {spec[end]!r} is not among the accounts")
        world.links.append(
            Connection(str(spec["source"]), str(spec["target"]), _enum(f"connection {i + 1} kind", ConnectionKind, spec["kind"]))
        )
    for oid, spec in (doc.get("objects") or {}).items():
        spec = _keys(f"object {oid}", spec, {"kind", "owner", "visibility", "collaborators"}, {"kind", "owner"})
        if str(spec["owner"]) not in world.known:
            raise TestFileError(f"object {oid}: owner {spec['owner']!r} is not among the accounts")
        world.objects[str(oid)] = ContentObject(
            id=str(oid),
            kind=_enum(f"object {oid} kind", ObjectKind, spec["kind"]),
            owner=str(spec["owner"]),
            visibility=_enum(f"object {oid} visibility", Visibility, spec.get("visibility", "public")),
            collaborators=frozenset(map(str, spec.get("collaborators") or [])),
        )
    return world


def load_test_file(path: str | Path) -> tuple[MemoryWorld, list[dict[str, Any]]]:
    try:
        doc = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as e:
        raise TestFileError(f"cannot read {path}: {e}") from e
    doc = _keys(str(path), doc, {"accounts", "connections", "objects", "cases"}, {"cases"})
    cases = doc["cases"]
    if not isinstance(cases, list) or not cases:
        raise TestFileError(f"{path}: cases must be a non-empty list")
    return parse_world(doc, dt.datetime.now(dt.UTC).date()), cases


def run_cases(
    policy: Policy,
    world: MemoryWorld,
    cases: Sequence[dict[str, Any]],
    detectors: Sequence[Detector] | None = None,
    now: dt.datetime | None = None,
) -> list[CaseResult]:
    detectors = list(detectors) if detectors is not None else default_detectors()
    now = now or dt.datetime.now(dt.UTC)
    results = []
    for i, case in enumerate(cases):
        case = _keys(f"case {i + 1}", case, {"name", "change", "expect"}, {"change", "expect"})
        name = str(case.get("name") or f"case {i + 1}")
        spec = _keys(
            f"{name}: change", case["change"], {"actor", "object", "field", "text", "tags"}, {"actor", "object", "field"}
        )
        expect = _keys(f"{name}: expect", case["expect"], {"verdict", "rules", "followups", "shadow"}, {"verdict"})
        text = spec.get("text")
        change = Change(
            id=f"test-{i + 1}",
            actor=str(spec["actor"]),
            object_id=str(spec["object"]),
            field=str(spec["field"]),
            text=None if text is None else str(text),
            tags=tuple(map(str, spec.get("tags") or [])),
        )
        try:
            outcome = evaluate_change(world, change, policy, detectors, now)
        except (UnknownObject, UnknownAccount, InvalidChange) as e:
            raise TestFileError(f"{name}: {e}") from e
        ev = outcome.evaluation
        fired = [h.rule for h in ev.hits]
        failures = []
        if ev.verdict.value != expect["verdict"]:
            failures.append(f"verdict {ev.verdict.value}, expected {expect['verdict']}")
        if "rules" in expect and sorted(fired) != sorted(expect["rules"] or []):
            failures.append(f"rules fired {fired}, expected {expect['rules']}")
        if "followups" in expect and sorted(f.value for f in ev.followups) != sorted(expect["followups"] or []):
            failures.append(f"followups {[f.value for f in ev.followups]}, expected {expect['followups']}")
        if "shadow" in expect and sorted(h.rule for h in ev.shadow_hits) != sorted(expect["shadow"] or []):
            failures.append(f"shadow rules {[h.rule for h in ev.shadow_hits]}, expected {expect['shadow']}")
        failures.extend(f"rule {e.rule} failed: {e.error}" for e in ev.errors)
        results.append(CaseResult(name, not failures, ev.verdict.value, fired, failures))
    return results
