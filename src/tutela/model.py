"""The domain types: accounts and their age state, connections, content objects, changes,
signals and decisions.

These are plain, immutable values. The store maps them to tables, the API maps them to JSON,
the policy engine reads them through `tutela.policy.inputs`. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class AgeBand(StrEnum):
    """What Tutela believes about an account's age. `unknown` gets the child defaults."""

    CHILD = "child"  # under 13
    TEEN = "teen"  # 13 to 17
    ADULT = "adult"  # 18 and over
    UNKNOWN = "unknown"


class AgeBasis(StrEnum):
    """How the age band was established, strongest first."""

    VERIFIED = "verified"  # document or third-party verification
    ESTIMATED = "estimated"  # facial or behavioural age estimation
    DECLARED = "declared"  # self-declared (e.g. date of birth at sign-up)
    INFERRED = "inferred"  # inferred from what the user wrote ("im 11")
    UNKNOWN = "unknown"


class ConnectionKind(StrEnum):
    """How two accounts are related. `follow` is one-way; the others are mutual."""

    FOLLOW = "follow"
    FRIEND = "friend"  # mutual friendship both accepted
    FAMILY = "family"
    COLLABORATOR = "collaborator"  # the owner invited the other to collaborate

    @property
    def mutual(self) -> bool:
        return self is not ConnectionKind.FOLLOW


class ObjectKind(StrEnum):
    PLAYLIST = "playlist"
    PROFILE = "profile"


class FieldType(StrEnum):
    TEXT = "text"
    IMAGE = "image"


# Every user-editable field of every object kind, and what it holds.
FIELDS: dict[ObjectKind, dict[str, FieldType]] = {
    ObjectKind.PLAYLIST: {
        "title": FieldType.TEXT,
        "description": FieldType.TEXT,
        "cover": FieldType.IMAGE,
    },
    ObjectKind.PROFILE: {
        "display_name": FieldType.TEXT,
        "bio": FieldType.TEXT,
        "image": FieldType.IMAGE,
    },
}


class Visibility(StrEnum):
    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"


class Verdict(StrEnum):
    """What the platform must do with a proposed change, mildest first."""

    ALLOW = "allow"
    ALLOW_WITH_WARNING = "allow_with_warning"  # publish, and show the recipient a warning
    HOLD = "hold"  # not visible until a moderator reviews it
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {v: i for i, v in enumerate(Verdict)}


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


class Category(StrEnum):
    """The harm a rule is about. Cases, queues and reports to authorities key on these."""

    STRANGER_CONTACT = "stranger_contact"  # a non-connection reaching a protected account
    CONTACT = "contact"  # contact with a protected account that is allowed, but recorded
    SOLICITATION = "solicitation"  # requests for images, sexual propositions to a minor
    GROOMING = "grooming"  # age probing, secrecy, isolation, moving elsewhere
    CSAM = "csam"  # child sexual abuse material or seeking it
    SEXUAL_CONTENT = "sexual_content"  # adult sexual content, advertising it
    IMPERSONATION = "impersonation"  # e.g. an adult claiming a child's age
    HARASSMENT = "harassment"
    SPAM = "spam"
    OTHER = "other"


class Followup(StrEnum):
    """Work a rule asks for beyond the verdict, written in the decision's transaction."""

    OPEN_CASE = "open_case"  # queue for human review (consumed by tutela.cases)
    NOTIFY = "notify"  # tell the platform by webhook (consumed by tutela.actions)
    RECORD_CONTACT = "record_contact"  # remember that actor reached a protected account
    PRESERVE_EVIDENCE = "preserve_evidence"  # keep what the platform holds (legal hold; 18 U.S.C. 2258A(h))
    REPORT_AUTHORITY = "report_authority"  # prepare an NCMEC / NCA report (consumed by the compliance workers)
    SAFEGUARD = "safeguard"  # a child may be at risk or self-producing: support and protect, never punish


class ReportCategory(StrEnum):
    """What a report (and so a case) is about: the categories a reporter chooses from. Each has
    its own service level (the policy's `casework.service_levels`)."""

    CHILD_SEXUAL_EXPLOITATION = "child_sexual_exploitation"
    GROOMING = "grooming"  # grooming, or unwanted contact with a child
    SEXUAL_CONTENT = "sexual_content"
    HARASSMENT = "harassment"
    SPAM = "spam"
    OTHER = "other"

    @property
    def csea(self) -> bool:
        """Child sexual exploitation and abuse: the queue that goes first."""
        return self in (ReportCategory.CHILD_SEXUAL_EXPLOITATION, ReportCategory.GROOMING)

    @property
    def rank(self) -> int:
        return _REPORT_CATEGORY_RANK[self]

    @classmethod
    def of(cls, category: Category) -> ReportCategory:
        """The case category a rule's category opens."""
        return _CASE_CATEGORY[category]


_REPORT_CATEGORY_RANK = {
    ReportCategory.CHILD_SEXUAL_EXPLOITATION: 5,
    ReportCategory.GROOMING: 4,
    ReportCategory.SEXUAL_CONTENT: 3,
    ReportCategory.HARASSMENT: 2,
    ReportCategory.OTHER: 1,
    ReportCategory.SPAM: 0,
}
_CASE_CATEGORY = {
    Category.CSAM: ReportCategory.CHILD_SEXUAL_EXPLOITATION,
    Category.SOLICITATION: ReportCategory.CHILD_SEXUAL_EXPLOITATION,  # enticement of a minor
    Category.GROOMING: ReportCategory.GROOMING,
    Category.STRANGER_CONTACT: ReportCategory.GROOMING,
    Category.IMPERSONATION: ReportCategory.GROOMING,  # an adult posing as a child
    Category.CONTACT: ReportCategory.OTHER,
    Category.SEXUAL_CONTENT: ReportCategory.SEXUAL_CONTENT,
    Category.HARASSMENT: ReportCategory.HARASSMENT,
    Category.SPAM: ReportCategory.SPAM,
    Category.OTHER: ReportCategory.OTHER,
}


class SubjectKind(StrEnum):
    """What a report or a case is about."""

    OBJECT = "object"
    ACCOUNT = "account"


class Action(StrEnum):
    """What a moderator (or an interim measure) does about a case, carried out by the platform
    when it receives the `action.taken` webhook."""

    ALLOW = "allow"  # dismiss: nothing wrong; lifts any interim measure
    RESTORE = "restore"  # put back content hidden or removed earlier (e.g. on appeal)
    HIDE = "hide"  # not visible to others; kept
    REMOVE = "remove"  # taken down
    AGE_RESTRICT = "age_restrict"  # visible to adults only
    WARN = "warn"  # tell the account it broke the rules
    RESTRICT_CONTACT = "restrict_contact"  # may not reach children (tags, edits, messages)
    SUSPEND = "suspend"  # the account is suspended until a time
    TERMINATE = "terminate"  # the account is closed

    @property
    def on_content(self) -> bool:
        return self in (Action.HIDE, Action.REMOVE, Action.AGE_RESTRICT, Action.RESTORE)

    @property
    def restricts(self) -> bool:
        """A restriction in the DSA's sense (Art. 17): the affected user gets a statement of reasons."""
        return self not in (Action.ALLOW, Action.RESTORE, Action.WARN)

    @property
    def upholds(self) -> bool:
        """Whether deciding this says the reports were right."""
        return self not in (Action.ALLOW, Action.RESTORE)


ADULT_AGE = 18
TEEN_AGE = 13


def band_for_birth_date(birth_date: dt.date, today: dt.date) -> AgeBand:
    years = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
    if years >= ADULT_AGE:
        return AgeBand.ADULT
    if years >= TEEN_AGE:
        return AgeBand.TEEN
    return AgeBand.CHILD


@dataclass(frozen=True, slots=True)
class AgeState:
    band: AgeBand = AgeBand.UNKNOWN
    basis: AgeBasis = AgeBasis.UNKNOWN
    confidence: float = 0.0
    source: str = ""  # who or what set it, e.g. "platform:signup-dob"
    set_at: dt.datetime | None = None
    birth_date: dt.date | None = None  # when known, the band follows it as time passes

    def current(self, today: dt.date) -> AgeState:
        """The state as of `today`: a birth date moves the band on birthdays."""
        if self.birth_date is None:
            return self
        band = band_for_birth_date(self.birth_date, today)
        if band is self.band:
            return self
        return AgeState(band, self.basis, self.confidence, self.source, self.set_at, self.birth_date)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    age: AgeState = AgeState()
    # Measures in force on the account after a moderator's decision (tutela.actions.enforce):
    # restrict_contact, suspend, terminate.
    restrictions: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Connection:
    source: str
    target: str
    kind: ConnectionKind


@dataclass(frozen=True, slots=True)
class ContentObject:
    id: str
    kind: ObjectKind
    owner: str
    visibility: Visibility = Visibility.PUBLIC
    collaborators: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What Tutela keeps of a proposed image: its format and size, and its hashes. Never the
    pixels: the image itself is read once, during the check, and dropped."""

    format: str  # jpeg, png, webp or gif
    width: int
    height: int
    frames: int
    size_bytes: int
    md5: str
    sha256: str
    pdq: str  # 64 hex digits
    pdq_quality: int  # 0..100; below 50 the PDQ hash is not matched
    pdq_dihedral: tuple[str, ...] = ()  # the 8 rotations and flips, the plain hash first
    exif: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "size_bytes": self.size_bytes,
            "md5": self.md5,
            "sha256": self.sha256,
            "pdq": self.pdq,
            "pdq_quality": self.pdq_quality,
        }


@dataclass(frozen=True, slots=True)
class Change:
    """A proposed edit: `actor` wants to set `field` of `object_id` to `text` (or an image),
    tagging `tags`. Not yet published: the platform waits for the decision."""

    id: str
    actor: str
    object_id: str
    field: str
    text: str | None = None
    tags: tuple[str, ...] = ()
    image: ImageFacts | None = None


@dataclass(frozen=True, slots=True)
class Signal:
    """Something a detector observed. Detectors emit signals; only the policy decides."""

    detector: str
    detector_version: str
    label: str  # dotted, detector-prefixed: "contact.stranger"
    category: Category
    score: float  # 0..1, calibrated per label
    subject: str = ""  # the account the signal is about, if any
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "detector_version": self.detector_version,
            "label": self.label,
            "category": self.category.value,
            "score": self.score,
            "subject": self.subject,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule whose condition held: why the verdict is what it is."""

    rule: str
    verdict: Verdict
    category: Category
    severity: Severity
    message: str  # safe to show the actor
    followups: tuple[Followup, ...] = ()
    evidence: tuple[Any, ...] = ()
    shadow: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "verdict": self.verdict.value,
            "category": self.category.value,
            "severity": self.severity.value,
            "message": self.message,
            "followups": [f.value for f in self.followups],
            "evidence": list(self.evidence),
            "shadow": self.shadow,
        }


class World(Protocol):
    """What Tutela knows about the platform: the store in production, a dict in policy tests."""

    def accounts(self, account_ids: Iterable[str]) -> dict[str, Account]:
        """The accounts among `account_ids` that exist, by id."""
        ...

    def content_object(self, object_id: str) -> ContentObject | None: ...

    def connections(self, account_id: str, others: set[str]) -> list[Connection]:
        """Every connection, in either direction, between `account_id` and any of `others`."""
        ...
