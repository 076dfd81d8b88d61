"""Accounts, passwords, the social graph, and the account measures Tutela's webhooks set.

The username is the account's id here and in Tutela, so it must fit Tutela's id pattern; it
never changes. Age comes from the birth date given at sign-up and is recomputed every day, as
Tutela does, so a child becomes a teen on her birthday without anyone updating anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass

from playlists.db import now

# Lower case, so that "Mia" and "mia" are one account; a subset of Tutela's ID_PATTERN.
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,29}$")
MEASURES = ("restrict_contact", "suspend", "terminate")


def hash_password(password: str, salt: bytes | None = None) -> tuple[bytes, bytes]:
    """(salt, hash): scrypt with a per-user random salt."""
    salt = salt or secrets.token_bytes(16)
    return salt, hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


def age_on(birth_date: dt.date, day: dt.date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _active(flag: int, until: str | None, at: dt.datetime) -> bool:
    return bool(flag) and (until is None or dt.datetime.fromisoformat(until) > at)


@dataclass(frozen=True)
class Account:
    id: str
    display_name: str
    bio: str
    birth_date: dt.date
    created_at: str
    profile_state: str
    restrict_contact: int
    restrict_contact_until: str | None
    suspended: int
    suspended_until: str | None
    terminated: int
    warnings: int
    flagged_case: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Account:
        return cls(
            id=row["id"],
            display_name=row["display_name"],
            bio=row["bio"],
            birth_date=dt.date.fromisoformat(row["birth_date"]),
            created_at=row["created_at"],
            profile_state=row["profile_state"],
            restrict_contact=row["restrict_contact"],
            restrict_contact_until=row["restrict_contact_until"],
            suspended=row["suspended"],
            suspended_until=row["suspended_until"],
            terminated=row["terminated"],
            warnings=row["warnings"],
            flagged_case=row["flagged_case"],
        )

    @property
    def age(self) -> int:
        return age_on(self.birth_date, dt.date.today())

    @property
    def is_minor(self) -> bool:
        """Under 18: Tutela's child and teen bands, the accounts it protects."""
        return self.age < 18

    @property
    def is_adult(self) -> bool:
        return not self.is_minor

    @property
    def is_terminated(self) -> bool:
        return bool(self.terminated)

    @property
    def is_suspended(self) -> bool:
        return _active(self.suspended, self.suspended_until, dt.datetime.now(dt.UTC))

    @property
    def contact_restricted(self) -> bool:
        return _active(self.restrict_contact, self.restrict_contact_until, dt.datetime.now(dt.UTC))

    @property
    def may_act(self) -> bool:
        """False while suspended or closed: no publishing, no new connections."""
        return not (self.is_terminated or self.is_suspended)

    @property
    def shown_to_others(self) -> bool:
        """A suspended or closed account's profile and playlists are not shown (as Tutela's
        visibility says: owner_suspended)."""
        return not (self.is_terminated or self.is_suspended)

    @property
    def public_name(self) -> str:
        """The display name, unless a moderator hid or removed the profile."""
        return self.display_name if self.profile_state == "visible" else self.id

    def may_reach(self, other: Account) -> bool:
        """Whether this account may tag, edit into, follow or befriend `other`: not while a
        restrict_contact measure stops it reaching minors."""
        return other.id == self.id or not (self.contact_restricted and other.is_minor)


# ---- accounts ------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, account_id: str) -> Account | None:
    row = conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()
    return Account.from_row(row) if row else None


def get_many(conn: sqlite3.Connection, ids: list[str]) -> dict[str, Account]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT * FROM accounts WHERE id IN ({marks})", ids).fetchall()
    return {r["id"]: Account.from_row(r) for r in rows}


def create(conn: sqlite3.Connection, username: str, display_name: str, password: str, birth_date: dt.date) -> None:
    salt, digest = hash_password(password)
    conn.execute(
        "INSERT INTO accounts (id, display_name, birth_date, password_salt, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (username, display_name, birth_date.isoformat(), salt, digest, now()),
    )


def delete(conn: sqlite3.Connection, account_id: str) -> None:
    """Undo a sign-up that could not be mirrored to Tutela."""
    conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))


def authenticate(conn: sqlite3.Connection, username: str, password: str) -> Account | None:
    row = conn.execute("SELECT * FROM accounts WHERE id = ?", (username,)).fetchone()
    if row is None:
        hash_password(password)  # the same work either way: no timing oracle on usernames
        return None
    _, digest = hash_password(password, bytes(row["password_salt"]))
    return Account.from_row(row) if hmac.compare_digest(digest, bytes(row["password_hash"])) else None


def search(conn: sqlite3.Connection, q: str, limit: int = 50) -> list[Account]:
    like = f"%{_escape_like(q)}%"
    rows = conn.execute(
        "SELECT * FROM accounts WHERE (id LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\')"
        " AND terminated = 0 ORDER BY created_at DESC LIMIT ?",
        (like, like, limit),
    ).fetchall()
    return [Account.from_row(r) for r in rows]


def _escape_like(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---- follows and friendships ---------------------------------------------------------------


def follows(conn: sqlite3.Connection, follower: str, followee: str) -> bool:
    return conn.execute("SELECT 1 FROM follows WHERE follower = ? AND followee = ?", (follower, followee)).fetchone() is not None


def follow(conn: sqlite3.Connection, follower: str, followee: str) -> None:
    conn.execute("INSERT OR IGNORE INTO follows VALUES (?, ?, ?)", (follower, followee, now()))


def unfollow(conn: sqlite3.Connection, follower: str, followee: str) -> None:
    conn.execute("DELETE FROM follows WHERE follower = ? AND followee = ?", (follower, followee))


def follow_counts(conn: sqlite3.Connection, account_id: str) -> tuple[int, int]:
    """(followers, following)."""
    followers = conn.execute("SELECT count(*) FROM follows WHERE followee = ?", (account_id,)).fetchone()[0]
    following = conn.execute("SELECT count(*) FROM follows WHERE follower = ?", (account_id,)).fetchone()[0]
    return int(followers), int(following)


def friend_status(conn: sqlite3.Connection, me: str, other: str) -> str:
    """none, friends, sent (my request waits), received (theirs waits for me)."""
    row = conn.execute(
        "SELECT sender, status FROM friend_requests WHERE (sender = ? AND recipient = ?) OR (sender = ? AND recipient = ?)"
        " ORDER BY status = 'accepted' DESC, created_at DESC LIMIT 1",
        (me, other, other, me),
    ).fetchone()
    if row is None or row["status"] == "declined":
        return "none"
    if row["status"] == "accepted":
        return "friends"
    return "sent" if row["sender"] == me else "received"


def request_friend(conn: sqlite3.Connection, sender: str, recipient: str) -> None:
    conn.execute(
        "INSERT INTO friend_requests (sender, recipient, status, created_at) VALUES (?, ?, 'pending', ?)"
        " ON CONFLICT (sender, recipient) DO UPDATE SET status = 'pending', created_at = excluded.created_at, answered_at = NULL",
        (sender, recipient, now()),
    )


def answer_friend(conn: sqlite3.Connection, sender: str, recipient: str, accept: bool) -> bool:
    """Accept or decline `sender`'s pending request to `recipient`; False if there is none."""
    cur = conn.execute(
        "UPDATE friend_requests SET status = ?, answered_at = ? WHERE sender = ? AND recipient = ? AND status = 'pending'",
        ("accepted" if accept else "declined", now(), sender, recipient),
    )
    return cur.rowcount == 1


def unfriend(conn: sqlite3.Connection, a: str, b: str) -> None:
    conn.execute(
        "DELETE FROM friend_requests WHERE (sender = ? AND recipient = ?) OR (sender = ? AND recipient = ?)",
        (a, b, b, a),
    )


def friends(conn: sqlite3.Connection, account_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT CASE WHEN sender = ? THEN recipient ELSE sender END AS other FROM friend_requests"
        " WHERE (sender = ? OR recipient = ?) AND status = 'accepted' ORDER BY answered_at DESC",
        (account_id, account_id, account_id),
    ).fetchall()
    return [r["other"] for r in rows]


def friend_requests(conn: sqlite3.Connection, account_id: str) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """(incoming, outgoing) pending requests."""
    incoming = conn.execute(
        "SELECT * FROM friend_requests WHERE recipient = ? AND status = 'pending' ORDER BY created_at DESC", (account_id,)
    ).fetchall()
    outgoing = conn.execute(
        "SELECT * FROM friend_requests WHERE sender = ? AND status = 'pending' ORDER BY created_at DESC", (account_id,)
    ).fetchall()
    return incoming, outgoing


def pending_friend_count(conn: sqlite3.Connection, account_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM friend_requests WHERE recipient = ? AND status = 'pending'", (account_id,)
    ).fetchone()
    return int(row[0])


# ---- measures ------------------------------------------------------------------------------


def refresh_measures(conn: sqlite3.Connection, account_id: str) -> list[str]:
    """Fold the account's measures into its state columns; the measures that this lifted.

    Per case and per kind of measure, the latest event wins: the measure itself, or a restore
    that lifts it (`lifts` naming it, or no `lifts`, which undoes the whole case, a warning
    included). Ordering by the event's time, not by arrival, keeps a redelivered dead letter
    from undoing a later lift."""
    before = conn.execute("SELECT restrict_contact, suspended, terminated FROM accounts WHERE id = ?", (account_id,)).fetchone()
    rows = conn.execute(
        "SELECT * FROM measures WHERE subject_kind = 'account' AND subject_id = ? ORDER BY event_at, id", (account_id,)
    ).fetchall()
    latest: dict[tuple[str, str], sqlite3.Row | None] = {}
    for r in rows:
        if r["action"] in (*MEASURES, "warn"):
            latest[(r["case_id"], r["action"])] = r
        elif r["action"] == "restore":
            for kind in [r["lifts"]] if r["lifts"] else [*MEASURES, "warn"]:
                latest[(r["case_id"], kind)] = None
    state: dict[str, tuple[int, str | None]] = {kind: (0, None) for kind in MEASURES}
    warnings = 0
    for (_, kind), r in latest.items():
        if r is None:
            continue
        if kind == "warn":
            warnings += 1
            continue
        flag, until = state[kind]
        if not flag:
            state[kind] = (1, r["until"])
        elif until is not None:  # the longest wins; null (until lifted) is longest
            state[kind] = (1, None if r["until"] is None else max(until, r["until"]))
    conn.execute(
        "UPDATE accounts SET restrict_contact = ?, restrict_contact_until = ?, suspended = ?, suspended_until = ?,"
        " terminated = ?, warnings = ? WHERE id = ?",
        (*state["restrict_contact"], *state["suspend"], state["terminate"][0], warnings, account_id),
    )
    if before is None:
        return []
    was = dict(zip(MEASURES, before, strict=True))
    return [kind for kind in MEASURES if was[kind] and not state[kind][0]]
