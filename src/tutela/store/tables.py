"""The tables. Alembic migrations under `migrations/` create them; keep the two in step
(`tests/store/test_migrations.py` fails when they differ)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

ID = 128  # longest platform id accepted


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Json = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("scopes", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("age_band", String(16), nullable=False),
    Column("age_basis", String(16), nullable=False),
    Column("age_confidence", Float, nullable=False),
    Column("age_source", String(200), nullable=False),
    Column("age_set_at", UTCDateTime),
    Column("birth_date", Date),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # For mutual kinds, source is the smaller id; for follows, source follows target.
    Column("source", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("target", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("source", "target", "kind"),
    Index(None, "target"),
)

objects = Table(
    "objects",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("owner", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("fields", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "owner"),
)

collaborators = Table(
    "collaborators",
    metadata,
    Column("object_id", String(ID), ForeignKey("objects.id"), primary_key=True),
    Column("account_id", String(ID), ForeignKey("accounts.id"), primary_key=True),
)

# A change and its decision are one row: they are one-to-one, and one row per check keeps
# the pages a check writes (and so SQLite's write-ahead log) to a minimum. The signals are
# kept in `inputs`, which holds everything the policy saw.
decisions = Table(
    "decisions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("change_id", String(ID), nullable=False, unique=True),  # the platform's change id
    Column("actor", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("object_id", String(ID), ForeignKey("objects.id"), nullable=False),
    Column("field", String(32), nullable=False),
    Column("text", Text),
    Column("tags", Json, nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("verdict", String(24), nullable=False),
    Column("policy_version", String(200), nullable=False),
    Column("reasons", Json, nullable=False),  # enforced rule hits, most severe first
    Column("shadow", Json, nullable=False),  # shadow rule hits
    Column("rule_errors", Json, nullable=False),
    Column("followups", Json, nullable=False),
    Column("inputs", Json, nullable=False),  # what the policy saw, signals included
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "object_id", "created_at"),
    Index(None, "actor", "created_at"),
)

contact_events = Table(
    "contact_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("actor", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("target", String(ID), ForeignKey("accounts.id"), nullable=False),
    Column("role", String(16), nullable=False),  # owner or tagged
    Column("connected", Boolean, nullable=False),
    Column("verdict", String(24), nullable=False),
    Column("decision_id", String(32), ForeignKey("decisions.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "actor", "at"),
    Index(None, "target", "at"),
)

followups = Table(
    "followups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", String(32), ForeignKey("decisions.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # pending, claimed, done
    Column("payload", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("done_at", UTCDateTime),
    Index(None, "status", "created_at"),
)

# Hash banks (tutela.hashbank): named lists of known-image hashes. A block-list says "refuse
# what matches"; an allow-list says "this is known to be fine" and wins over block-lists.
banks = Table(
    "banks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # blocklist or allowlist
    Column("labels", Json, nullable=False),  # e.g. ["csam"], ["ncii"], ["own-takedowns"]
    Column("description", String(500), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Entries are never deleted: removal sets removed_at (a tombstone), so that a decision made on
# a match can always show the entry it matched. A change to a bank's entries also sets the
# bank's updated_at, which is what matchers follow (tutela.hashbank.matcher).
bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank_id", Integer, ForeignKey("banks.id"), nullable=False),
    Column("signal_type", String(16), nullable=False),  # pdq, md5 or sha256
    Column("value", String(64), nullable=False),  # lower-case hex
    Column("labels", Json, nullable=False),
    Column("source", String(200), nullable=False),
    Column("metadata", Json, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),
    Index(None, "bank_id", "signal_type", "value"),
)


# ---- reports, cases, enforcement (tutela.cases, tutela.actions) ----------------------------

# A case gathers everything about one subject (a content object or an account) until a
# moderator closes it: the reports, the decisions whose rules opened a case, the interim
# action. At most one case per subject is open at a time (the partial unique index).
cases = Table(
    "cases",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("subject_kind", String(16), nullable=False),  # object or account
    Column("subject_id", String(ID), nullable=False),
    Column("status", String(16), nullable=False),  # open or closed
    Column("queue", String(32), nullable=False),  # csea, general or appeals
    Column("category", String(32), nullable=False),  # the most severe category seen (ReportCategory)
    Column("child_involved", Boolean, nullable=False),
    Column("backed", Boolean, nullable=False),  # a detector signal supports it
    Column("trusted", Boolean, nullable=False),  # a trusted flagger reported it
    Column("reporters", Integer, nullable=False),  # independent reporters who count
    Column("priority", Integer, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("deadline", UTCDateTime, nullable=False),
    Column("escalated_at", UTCDateTime),
    Column("interim_action", String(32)),  # hide or restrict_contact, pending review
    Column("locked_by", String(ID)),
    Column("lock_expires_at", UTCDateTime),
    Column("decided_at", UTCDateTime),
    Column("decision", Json),  # the last moderator decision: action, reason, moderator, ...
    Column("excluded_moderators", Json, nullable=False),  # who decided before (appeals go to someone else)
    Column("appeals", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(
        "uq_cases_open_subject",
        "subject_kind",
        "subject_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
    Index(None, "status", "queue", "priority"),
    Index(None, "status", "deadline"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("report_key", String(ID), nullable=False, unique=True),  # the platform's report id
    Column("request_sha256", String(64), nullable=False),
    Column("reporter", String(ID)),  # None: anonymous
    Column("trusted_flagger", Boolean, nullable=False),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("category", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("context", Json, nullable=False),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("outcome", String(16)),  # upheld or rejected, once the case is decided
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "case_id"),
    Index(None, "reporter", "outcome"),
)

# The case's timeline: reports, decisions attached, interim actions, claims, moderator
# decisions, appeals, escalations. Append-only.
case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),  # system, an account, or a moderator
    Column("ref", String(ID)),  # the report, decision or appeal id it concerns
    Column("data", Json, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "case_id", "id"),
    Index(None, "ref"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("appeal_key", String(ID), nullable=False, unique=True),
    Column("request_sha256", String(64), nullable=False),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("appellant", String(ID), nullable=False),
    Column("text", Text, nullable=False),
    Column("outcome", String(16)),  # upheld (the earlier decision stands) or overturned
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Index(None, "case_id"),
)

# Account-level measures in force: restrict_contact, suspend (until), terminate.
restrictions = Table(
    "restrictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("case_id", String(32), ForeignKey("cases.id")),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime),  # None: until lifted
    Column("lifted_at", UTCDateTime),
    Index(None, "account_id", "kind"),
)

strikes = Table(
    "strikes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(ID), nullable=False),
    Column("case_id", String(32), ForeignKey("cases.id"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("lifted_at", UTCDateTime),  # an appeal overturned it
    Index(None, "account_id", "at"),
)

# Identifiers the platform sends with an account (an email hash, device ids), kept so that a
# terminated account coming back under a new id is recognised.
account_identifiers = Table(
    "account_identifiers",
    metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("kind", String(16), primary_key=True),  # email_sha256 or device_id
    Column("value", String(ID), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "kind", "value"),
)

# The transactional outbox: a webhook is a row written in the transaction of the action it
# announces, then delivered (at least once, in order per key) by tutela.actions.outbox.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the order of delivery per key
    Column("delivery_id", String(32), nullable=False, unique=True),
    Column("event", String(48), nullable=False),
    Column("key", String(200), nullable=False),  # ordering key: "object:<id>" or "account:<id>"
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered or dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),  # a worker is sending it
    Column("last_error", String(500)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index(None, "status", "key", "id"),
    Index(None, "status", "next_attempt_at"),
)

# The audit log: append-only (triggers refuse UPDATE and DELETE), each entry chained to the
# previous by SHA-256 (tutela.audit; `tutela audit verify`).
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("data", Json, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)


def row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)
