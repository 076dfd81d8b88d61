"""The JSON shapes of /v1. Inputs forbid unknown fields, so an integrator's typo is a 422
naming the field instead of a silently ignored value."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tutela.model import (
    AgeBand,
    AgeBasis,
    ConnectionKind,
    ObjectKind,
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


class AccountIn(Input):
    age: AgeIn = Field(default_factory=AgeIn)


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
