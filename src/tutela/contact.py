"""Who may reach whom.

A protected account (a child, a teen, or anyone whose age is unknown: unknown gets the child
defaults) may be reached only by accounts it has a consented connection with: a friendship,
family, an invitation to collaborate, or follows in both directions. A one-way follow is not
consent: a stranger following a child gains nothing by it. Being listed among an object's
collaborators is not consent either; platforms let anyone with a link join a collaborative
playlist, which is how the case this project was built for began.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from tutela.detection import DetectionInput, Detector
from tutela.model import (
    Account,
    AgeBand,
    Category,
    Change,
    Connection,
    ConnectionKind,
    ContentObject,
    Signal,
    World,
)

PROTECTED_BANDS = frozenset({AgeBand.CHILD, AgeBand.TEEN, AgeBand.UNKNOWN})
MINOR_BANDS = frozenset({AgeBand.CHILD, AgeBand.TEEN})


class UnknownAccount(LookupError):
    def __init__(self, account_id: str, role: str) -> None:
        super().__init__(f"{role} account {account_id!r} is not known")
        self.account_id = account_id
        self.role = role


def is_consented(kinds: frozenset[ConnectionKind], follows_back: bool) -> bool:
    """Whether connections of these kinds mean the protected side agreed to be reached."""
    return any(k.mutual for k in kinds) or follows_back


@dataclass(frozen=True, slots=True)
class Party:
    """An account in a change, with what it is to the actor."""

    account: Account  # with its age state as of the change
    is_actor: bool
    is_owner: bool
    is_collaborator: bool
    connection_kinds: frozenset[ConnectionKind]  # with the actor, either direction
    connected_to_actor: bool  # a consented connection (always true for the actor itself)

    @property
    def id(self) -> str:
        return self.account.id

    @property
    def protected(self) -> bool:
        return self.account.age.band in PROTECTED_BANDS

    @property
    def minor(self) -> bool:
        return self.account.age.band in MINOR_BANDS


@dataclass(frozen=True, slots=True)
class Parties:
    actor: Party
    owner: Party
    tagged: tuple[Party, ...]

    def reached(self) -> list[tuple[str, Party]]:
        """The accounts other than the actor that the change reaches, with their role."""
        out: list[tuple[str, Party]] = []
        if not self.owner.is_actor:
            out.append(("owner", self.owner))
        out.extend(("tagged", p) for p in self.tagged if not p.is_actor)
        return out


def resolve_parties(world: World, change: Change, obj: ContentObject, today: dt.date) -> Parties:
    """Look up the actor, the owner and every tagged account. Raises `UnknownAccount`."""
    accounts = world.accounts({change.actor, obj.owner, *change.tags})
    for account_id, role in [(change.actor, "actor"), (obj.owner, "owner"), *((t, "tagged") for t in change.tags)]:
        if account_id not in accounts:
            raise UnknownAccount(account_id, role)
    actor = accounts[change.actor]
    others = set(accounts) - {actor.id}
    links = world.connections(actor.id, others) if others else []

    def party(account: Account) -> Party:
        is_actor = account.id == actor.id
        kinds, follows_back = _links_with(actor.id, account.id, links)
        return Party(
            account=Account(account.id, account.age.current(today), account.restrictions),
            is_actor=is_actor,
            is_owner=account.id == obj.owner,
            is_collaborator=account.id in obj.collaborators,
            connection_kinds=kinds,
            connected_to_actor=is_actor or is_consented(kinds, follows_back),
        )

    return Parties(
        actor=party(actor),
        owner=party(accounts[obj.owner]),
        tagged=tuple(party(accounts[t]) for t in dict.fromkeys(change.tags)),
    )


def _links_with(actor: str, other: str, links: Sequence[Connection]) -> tuple[frozenset[ConnectionKind], bool]:
    kinds: set[ConnectionKind] = set()
    follows = followed = False
    for c in links:
        if {c.source, c.target} != {actor, other}:
            continue
        kinds.add(c.kind)
        if c.kind is ConnectionKind.FOLLOW:
            follows |= c.source == actor
            followed |= c.source == other
    return frozenset(kinds), follows and followed


class ContactDetector(Detector):
    """Emits a signal for every protected account a change reaches: `contact.stranger` when
    the actor has no consented connection with it, `contact.connected` when it has one."""

    name = "contact"
    version = "1"
    reads = frozenset({"parties"})
    emits: ClassVar[Mapping[str, Category]] = {
        "contact.stranger": Category.STRANGER_CONTACT,
        "contact.connected": Category.CONTACT,
    }

    def detect(self, inp: DetectionInput) -> list[Signal]:
        signals = []
        for role, party in inp.parties.reached():
            if not party.protected:
                continue
            label = "contact.connected" if party.connected_to_actor else "contact.stranger"
            signals.append(
                self.signal(
                    label,
                    1.0,
                    subject=party.id,
                    role=role,
                    age_band=party.account.age.band.value,
                    age_basis=party.account.age.basis.value,
                    connection_kinds=sorted(k.value for k in party.connection_kinds),
                )
            )
        return signals
