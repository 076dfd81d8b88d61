"""The JSON shapes of /v1. Inputs forbid unknown fields, so an integrator's typo is a 422
naming the field instead of a silently ignored value."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tutela.model import (
    Action,
    AgeBand,
    AgeBasis,
    ConnectionKind,
    ObjectKind,
    ReportCategory,
    Verdict,
    Visibility,
    band_for_birth_date,
)

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
MAX_TEXT = 100_000  # characters; a playlist title is ~100, a description ~1,000


def _storable(value: str) -> str:
    """Refuse what no database stores faithfully: NUL and unpaired surrogates."""
    if "\x00" in value:
        raise ValueError("text contains U+0000 (NUL); remove it")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains an unpaired UTF-16 surrogate; send valid Unicode") from None
    return value


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_storable)]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_storable)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgeIn(Input):
    band: AgeBand | None = Field(None, description="Omit when birth_date is given: the band follows it.")
    basis: AgeBasis = AgeBasis.UNKNOWN
    confidence: float = Field(0.0, ge=0.0, le=1.0)
    source: ShortText = Field("", description="Who or what established it, e.g. platform:signup-dob")
    birth_date: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AgeIn:
        if self.birth_date is not None:
            today = dt.datetime.now(dt.UTC).date()
            if self.birth_date > today:
                raise ValueError(f"birth_date {self.birth_date} is in the future")
            derived = band_for_birth_date(self.birth_date, today)
            if self.band is not None and self.band is not derived:
                raise ValueError(f"band {self.band.value!r} contradicts birth_date {self.birth_date} ({derived.value})")
            self.band = derived
        elif self.band is None:
            self.band = AgeBand.UNKNOWN
        return self


class IdentifiersIn(Input):
    """What lets Tutela recognise a terminated account coming back under a new id. Send
    hashes, never the raw values."""

    email_sha256: list[Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=20, description="SHA-256 (lower-case hex) of each normalised email address."
    )
    device_ids: list[Id] = Field(default_factory=list, max_length=50, description="Device ids (or their hashes).")


class AccountIn(Input):
    age: AgeIn = Field(default_factory=AgeIn)
    identifiers: IdentifiersIn | None = Field(None, description="Identifiers for re-registration checks.")


class AgeOut(BaseModel):
    band: AgeBand
    basis: AgeBasis
    confidence: float
    source: str
    set_at: dt.datetime | None
    birth_date: dt.date | None


class AccountOut(BaseModel):
    id: str
    age: AgeOut
    created_at: dt.datetime
    updated_at: dt.datetime
    flags: list[dict[str, Any]] = Field(
        default_factory=list, description="Raised by this update, e.g. re-registration of a terminated account."
    )


class ConnectionOut(BaseModel):
    source: str
    target: str
    kind: ConnectionKind
    mutual: bool


class ConnectionsOut(BaseModel):
    account: str
    connections: list[ConnectionOut]


class ObjectIn(Input):
    kind: ObjectKind
    owner: Id
    visibility: Visibility = Visibility.PUBLIC
    collaborators: list[Id] = Field(default_factory=list, max_length=1000)
    fields: dict[str, Text] = Field(
        default_factory=dict, description="Current published values, e.g. {'title': ...}; image fields hold a reference."
    )


class ObjectOut(BaseModel):
    id: str
    kind: ObjectKind
    owner: str
    visibility: Visibility
    collaborators: list[str]
    fields: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class ImageIn(Input):
    """A proposed image sent inside the JSON body. (Or send the check as multipart/form-data: a
    `change` part holding this JSON without `image`, and an `image` part holding the file.)"""

    base64: Annotated[str, StringConstraints(min_length=1, max_length=64 * 1024 * 1024)] = Field(
        description="The image file (JPEG, PNG, WebP or GIF), base64-encoded (RFC 4648, standard alphabet)."
    )


class CheckIn(Input):
    """A proposed change, sent before it is published."""

    change_id: Id = Field(description="Your id for this change. Sending it again returns the same decision.")
    actor: Id = Field(description="The account making the change.")
    object: Id = Field(description="The content object being changed (upsert it first).")
    field: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")] = Field(description="e.g. title, cover")
    text: Text | None = Field(None, description="The proposed text, for text fields.")
    tags: list[Id] = Field(default_factory=list, max_length=100, description="Accounts the change tags.")
    image: ImageIn | None = Field(None, description="The proposed image, for image fields (cover, image).")


class ReasonOut(BaseModel):
    rule: str
    verdict: Verdict
    category: str
    severity: str
    message: str = Field(description="Safe to show the actor.")
    followups: list[str]
    evidence: list[Any]


class DecisionOut(BaseModel):
    id: str
    change_id: str
    verdict: Verdict
    reasons: list[ReasonOut]
    policy_version: str
    created_at: dt.datetime


class ChangeOut(BaseModel):
    id: str
    actor: str
    object: str
    field: str
    text: str | None
    tags: list[str]
    image: dict[str, Any] | None = Field(None, description="What was kept of the proposed image: format, size and hashes.")


class RuleErrorOut(BaseModel):
    rule: str
    error: str


class DecisionExplained(DecisionOut):
    change: ChangeOut
    parties: dict[str, Any] = Field(description="actor, owner and tagged, each with its age basis, as the policy saw them")
    signals: list[dict[str, Any]]
    shadow: list[ReasonOut] = Field(description="Shadow rules that fired: recorded, not enforced.")
    rule_errors: list[RuleErrorOut]
    followups: list[str]


class Health(BaseModel):
    status: str
    policy_version: str | None = None
    schema_revision: str | None = None


# ---- reports, cases, appeals ----------------------------------------------------------------

MAX_REPORT_TEXT = 10_000
MAX_CONTEXT_BYTES = 64 * 1024
ReportText = Annotated[str, StringConstraints(max_length=MAX_REPORT_TEXT), AfterValidator(_storable)]


def _bounded_context(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_CONTEXT_BYTES:
        raise ValueError(f"context is {size} bytes of JSON; at most {MAX_CONTEXT_BYTES} are kept (trim older items)")
    _storable(json.dumps(value, ensure_ascii=False))
    return value


class ReportIn(Input):
    """A notice (DSA Art. 16) or an in-app report, sent by the platform."""

    report_id: Id = Field(description="Your id for this report. Sending it again returns the same receipt.")
    reporter: Id | None = Field(None, description="The reporting account (mirrored first); omit for an anonymous report.")
    trusted_flagger: bool = Field(False, description="The notice comes from a trusted flagger (DSA Art. 22): it goes first.")
    object: Id | None = Field(None, description="The reported content object. Give object or account, not both.")
    account: Id | None = Field(None, description="The reported account.")
    category: ReportCategory
    text: ReportText = Field("", description="What the reporter wrote.")
    context: Annotated[dict[str, Any], AfterValidator(_bounded_context)] = Field(
        default_factory=dict,
        description="What the platform holds around it: the surrounding edits, the reported account's recent changes (JSON, at most 64 KiB).",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> ReportIn:
        if (self.object is None) == (self.account is None):
            raise ValueError("give exactly one of object or account: what is being reported")
        return self


class ReportOut(BaseModel):
    id: str = Field(description="Tutela's id for the report.")
    report_id: str = Field(description="Your id for the report.")
    case_id: str
    category: ReportCategory
    status: str = Field(description="received; decided once a moderator has ruled on the case.")
    timeframe: str = Field(description="The indicative timeframe to tell the reporter (Ofcom ICU D4).")
    deadline: dt.datetime
    interim_action: str | None = Field(description="hide or restrict_contact when the case earned interim protection.")
    outcome: str | None = Field(None, description="upheld or rejected, once decided.")
    created_at: dt.datetime


class ModeratorIn(Input):
    moderator: Id = Field(description="The person acting (your console's user id); recorded with every step.")


class CaseDecisionIn(ModeratorIn):
    action: Action
    reason: ReportText = Field(min_length=1, description="Why: shown to the affected user in the statement of reasons.")
    ground: Literal["illegal", "terms"] | None = Field(
        None, description="illegal content, or against the terms; default: illegal for child exploitation and grooming."
    )
    duration_hours: float | None = Field(None, gt=0, le=24 * 3650, description="For suspend: how long.")
    changes: dict[Id, Literal["release", "reject"]] = Field(
        default_factory=dict,
        max_length=500,
        description="Per change waiting on the case (held, or refused and appealed), by its decision id: release or "
        "reject, instead of what the action implies (a measure rejects them all, a dismissal releases them all).",
    )


class AppealIn(Input):
    appeal_id: Id = Field(description="Your id for this appeal. Sending it again returns the same appeal.")
    case_id: Id | None = Field(None, description="A decided case (its affected account or a reporter appeals).")
    decision_id: Id | None = Field(
        None, description="Or an automated refusal (a check's block or hold), appealed by the change's author (Ofcom ICU D11)."
    )
    appellant: Id = Field(description="The affected account or a reporter of the case; for a decision, its actor.")
    text: ReportText = Field("", description="What the appellant wrote.")

    @model_validator(mode="after")
    def _one_target(self) -> AppealIn:
        if (self.case_id is None) == (self.decision_id is None):
            raise ValueError("give exactly one of case_id or decision_id: what is being appealed")
        return self


class AppealOut(BaseModel):
    id: str
    appeal_id: str
    case_id: str
    appellant: str
    status: str = Field(description="under_review, or decided")
    outcome: str | None = Field(
        description="upheld (the decision stands), modified (another measure, still against the subject) or overturned"
    )
    created_at: dt.datetime


class CaseOut(BaseModel):
    id: str
    subject: dict[str, str]
    status: str
    queue: str
    category: ReportCategory
    priority: int
    child_involved: bool
    backed: bool
    trusted: bool
    reporters: int
    opened_at: dt.datetime
    deadline: dt.datetime
    overdue: bool
    escalated_at: dt.datetime | None
    interim_action: str | None
    locked_by: str | None
    lock_expires_at: dt.datetime | None
    decided_at: dt.datetime | None
    decision: dict[str, Any] | None
    appeals: int


class CaseDetail(CaseOut):
    reports: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    appeal_list: list[dict[str, Any]]


class QueueOut(BaseModel):
    name: str
    open: int
    overdue: int
    next_deadline: dt.datetime | None


class DecidedOut(BaseModel):
    case: CaseOut
    strikes: int = Field(
        description="The affected account's strikes in the policy's window after this decision's measure (0 when it struck nothing)."
    )
    followed_by: list[str] = Field(description="Measures a strike threshold added (suspend, terminate).")
    banked: int = Field(description="Image hashes added to the tutela-takedowns bank.")
    reporters_notified: int
    webhooks: list[str] = Field(
        description="Delivery ids of every webhook the decision queued (actions, statements, outcomes, released or refused changes)."
    )


class VisibilityIn(Input):
    viewer: Id | None = Field(None, description="The account searching; omit for a logged-out viewer (treated as not an adult).")
    objects: list[Id] = Field(max_length=1000, description="The objects a search or listing would show.")


class HiddenOut(BaseModel):
    id: str
    reason: str = Field(
        description="hidden_pending_review, hidden, removed, age_restricted (for viewers not known to be adults) or owner_suspended"
    )


class VisibilityOut(BaseModel):
    visible: list[str] = Field(description="Show these, in the order asked.")
    hidden: list[HiddenOut] = Field(description="Leave these out.")
    unknown: list[str] = Field(description="Objects Tutela was never told about: it has nothing against them.")
