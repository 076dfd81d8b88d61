"""The platform's own database: stdlib sqlite3, WAL, the schema created at start.

This is the platform's source of truth for what users see. Tutela holds mirrors of accounts,
connections and objects, and decides; what it decides reaches this database as webhooks, and
the pages read only from here (plus one visibility call in search).

Each request opens its own connection (route handlers run in a thread pool, and sqlite3
connections are not shared between threads). Writes run in `BEGIN IMMEDIATE` transactions so
two writers never deadlock upgrading a read lock; WAL lets pages read while a webhook writes.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,                       -- the username; also the account's id in Tutela
    display_name TEXT NOT NULL,
    bio TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL,                  -- YYYY-MM-DD, declared at sign-up
    password_salt BLOB NOT NULL,
    password_hash BLOB NOT NULL,
    created_at TEXT NOT NULL,
    -- The profile object's state (profile-<id> in Tutela): visible, hidden, removed, age_restricted.
    profile_state TEXT NOT NULL DEFAULT 'visible',
    -- Account measures, recomputed from `measures` on every action.taken about the account.
    restrict_contact INTEGER NOT NULL DEFAULT 0,
    restrict_contact_until TEXT,               -- null while restricted: until lifted
    suspended INTEGER NOT NULL DEFAULT 0,
    suspended_until TEXT,
    terminated INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0,
    flagged_case TEXT                          -- account.flagged: a re-registration under review
);

CREATE TABLE IF NOT EXISTS follows (
    follower TEXT NOT NULL REFERENCES accounts(id),
    followee TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (follower, followee)
);

-- A friendship is an accepted request, in either direction.
CREATE TABLE IF NOT EXISTS friend_requests (
    sender TEXT NOT NULL REFERENCES accounts(id),
    recipient TEXT NOT NULL REFERENCES accounts(id),
    status TEXT NOT NULL DEFAULT 'pending',    -- pending, accepted, declined
    created_at TEXT NOT NULL,
    answered_at TEXT,
    PRIMARY KEY (sender, recipient)
);

CREATE TABLE IF NOT EXISTS covers (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB,                                 -- null once purged (a blocked upload is not kept)
    uploaded_by TEXT NOT NULL REFERENCES accounts(id),
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS playlists (
    id INTEGER PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES accounts(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tracks TEXT NOT NULL DEFAULT '',           -- one "title — artist" per line
    cover_id INTEGER REFERENCES covers(id),
    collaborative INTEGER NOT NULL DEFAULT 0,  -- anyone logged in sees the edit form
    -- From Tutela's actions: visible, hidden, removed, age_restricted.
    state TEXT NOT NULL DEFAULT 'visible',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS playlists_by_owner ON playlists (owner_id);

CREATE TABLE IF NOT EXISTS collaborators (
    playlist_id INTEGER NOT NULL REFERENCES playlists(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (playlist_id, account_id)
);

CREATE TABLE IF NOT EXISTS playlist_tags (
    playlist_id INTEGER NOT NULL REFERENCES playlists(id),
    account_id TEXT NOT NULL REFERENCES accounts(id),
    change_id TEXT NOT NULL,
    tagged_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (playlist_id, account_id)
);

-- Every proposed change, with Tutela's decision. The proposed value lives here until it is
-- published (verdict allow, or change.released) or dropped.
CREATE TABLE IF NOT EXISTS changes (
    id TEXT PRIMARY KEY,                       -- the change_id sent to Tutela
    actor_id TEXT NOT NULL REFERENCES accounts(id),
    object_id TEXT NOT NULL,                   -- Tutela's object id: pl-<n> or profile-<username>
    field TEXT NOT NULL,
    text TEXT,
    cover_id INTEGER REFERENCES covers(id),
    tags TEXT NOT NULL DEFAULT '[]',           -- JSON list of account ids
    verdict TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',          -- reasons[0].message
    -- published, held, refused (block), released, rejected
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    resolved_by_case TEXT
);
CREATE INDEX IF NOT EXISTS changes_by_object ON changes (object_id, created_at);
CREATE INDEX IF NOT EXISTS changes_by_actor ON changes (actor_id, created_at);
CREATE INDEX IF NOT EXISTS changes_by_decision ON changes (decision_id);

-- Held changes: not visible until change.released (publish) or change.rejected (drop).
CREATE TABLE IF NOT EXISTS pending_changes (
    change_id TEXT PRIMARY KEY REFERENCES changes(id),
    object_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    decision_id TEXT NOT NULL,
    held_at TEXT NOT NULL
);

-- Every measure Tutela announced (action.taken), as received. The state columns of accounts
-- and playlists are folded from these, so a restore undoes exactly what its case did.
CREATE TABLE IF NOT EXISTS measures (
    id INTEGER PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    subject_kind TEXT NOT NULL,                -- object or account
    subject_id TEXT NOT NULL,
    action TEXT NOT NULL,
    lifts TEXT,
    until TEXT,
    reason TEXT NOT NULL DEFAULT '',
    ground TEXT,
    category TEXT,
    interim INTEGER NOT NULL DEFAULT 0,
    automated INTEGER NOT NULL DEFAULT 0,
    event_at TEXT NOT NULL,                    -- the event's created_at: order per case
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS measures_by_subject ON measures (subject_kind, subject_id);

-- What a user is told: statements of reasons, report and appeal outcomes, released or
-- rejected changes, warnings, tags.
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    ref TEXT,                                  -- what it is about (sor id, report id, ...); unique per kind
    title TEXT NOT NULL,
    body TEXT NOT NULL DEFAULT '',
    case_id TEXT,
    decision_id TEXT,
    data TEXT NOT NULL DEFAULT '{}',
    appealable INTEGER NOT NULL DEFAULT 0,
    appeal_id TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX IF NOT EXISTS notices_by_account ON notices (account_id, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS notices_by_ref ON notices (account_id, kind, ref) WHERE ref IS NOT NULL;

CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY,                       -- the report_id sent to Tutela
    reporter_id TEXT REFERENCES accounts(id),  -- null: anonymous
    subject_kind TEXT NOT NULL,                -- object or account
    subject_id TEXT NOT NULL,
    category TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    tutela_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    interim_action TEXT,
    outcome TEXT,
    outcome_message TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS appeals (
    id TEXT PRIMARY KEY,                       -- the appeal_id sent to Tutela
    appellant TEXT NOT NULL REFERENCES accounts(id),
    case_id TEXT,
    decision_id TEXT,
    text TEXT NOT NULL DEFAULT '',
    tutela_id TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    created_at TEXT NOT NULL
);

-- Webhook deliveries already handled: a retry of one of these is answered and ignored.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    event_at TEXT NOT NULL,
    received_at TEXT NOT NULL
);

-- Things for the platform's staff: escalations, flagged accounts, events it did not expect.
CREATE TABLE IF NOT EXISTS moderation_log (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


def now() -> str:
    """The current time, as stored: ISO 8601 in UTC."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Database:
    """The SQLite file. `read()` and `write()` each give a fresh connection."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> None:
        """Create the file, the schema and WAL mode (idempotent; run at start)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; write() opens them explicitly.
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
