"""Playlists, covers, collaborators and tags; proposed changes and how one is published; the
content state that Tutela's hide, remove and age_restrict set.

Tutela's object ids: a playlist is `pl-<n>`, a profile `profile-<username>`. Nothing here talks
to Tutela: `tutela_bridge` asks first, then calls `publish`.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field

from playlists.accounts import Account
from playlists.db import now

PLAYLIST_FIELDS = ("title", "description", "cover")
PROFILE_FIELDS = ("display_name", "bio")
# Which state wins when several cases act on one object.
STATE_RANK = {"visible": 0, "age_restricted": 1, "hidden": 2, "removed": 3}
CONTENT_ACTIONS = {"hide": "hidden", "remove": "removed", "age_restrict": "age_restricted"}
UNTITLED = "Untitled playlist"


def playlist_object(playlist_id: int) -> str:
    return f"pl-{playlist_id}"


def profile_object(account_id: str) -> str:
    return f"profile-{account_id}"


def parse_object(object_id: str) -> tuple[str, str]:
    """('playlist', '12') or ('profile', 'mia'); ('unknown', id) for anything else."""
    if object_id.startswith("pl-") and object_id[3:].isdigit():
        return "playlist", object_id[3:]
    if object_id.startswith("profile-"):
        return "profile", object_id[len("profile-") :]
    return "unknown", object_id


def cover_ref(cover_id: int) -> str:
    """What Tutela's `cover` field holds: a reference, never the image."""
    return f"/covers/{cover_id}"


@dataclass(frozen=True)
class Track:
    title: str
    artist: str


@dataclass(frozen=True)
class Playlist:
    id: int
    owner_id: str
    title: str
    description: str
    tracks_text: str
    cover_id: int | None
    collaborative: bool
    state: str
    created_at: str
    updated_at: str
    collaborators: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Playlist:
        return cls(
            id=row["id"],
            owner_id=row["owner_id"],
            title=row["title"],
            description=row["description"],
            tracks_text=row["tracks"],
            cover_id=row["cover_id"],
            collaborative=bool(row["collaborative"]),
            state=row["state"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    @property
    def object_id(self) -> str:
        return playlist_object(self.id)

    @property
    def tracks(self) -> list[Track]:
        return [parse_track(line) for line in self.tracks_text.splitlines() if line.strip()]

    @property
    def hue(self) -> int:
        """A stable colour for a playlist without a cover."""
        return (self.id * 67) % 360

    def fields(self) -> dict[str, str]:
        """The published values, as mirrored into Tutela."""
        out = {"title": self.title, "description": self.description}
        if self.cover_id is not None:
            out["cover"] = cover_ref(self.cover_id)
        return out

    def is_member(self, account_id: str | None) -> bool:
        return account_id is not None and (account_id == self.owner_id or account_id in self.collaborators)

    def may_edit_form(self, viewer: Account | None) -> bool:
        """Who sees the edit form. On a collaborative playlist anyone logged in may try: the
        platform does not decide who may write into it, Tutela does."""
        return viewer is not None and (self.collaborative or self.is_member(viewer.id))


def parse_track(line: str) -> Track:
    for sep in (" — ", " – ", " - "):
        if sep in line:
            title, artist = line.split(sep, 1)
            return Track(title.strip(), artist.strip())
    return Track(line.strip(), "")


def visible_to(playlist: Playlist, owner: Account | None, viewer: Account | None) -> bool:
    """The platform's own rule, from the measures its webhooks carried out. Owners still see
    what was hidden (with a banner), never what was removed."""
    if viewer is not None and viewer.id == playlist.owner_id:
        return playlist.state != "removed"
    if owner is None or not owner.shown_to_others:
        return False
    if playlist.state == "visible":
        return True
    return playlist.state == "age_restricted" and viewer is not None and viewer.is_adult


# ---- reading -------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, playlist_id: int) -> Playlist | None:
    row = conn.execute("SELECT * FROM playlists WHERE id = ?", (playlist_id,)).fetchone()
    return _with_people(conn, [Playlist.from_row(row)])[0] if row else None


def _with_people(conn: sqlite3.Connection, playlists: list[Playlist]) -> list[Playlist]:
    out = []
    for p in playlists:
        collabs = [
            r[0] for r in conn.execute("SELECT account_id FROM collaborators WHERE playlist_id = ? ORDER BY added_at", (p.id,))
        ]
        tags = [
            r[0] for r in conn.execute("SELECT account_id FROM playlist_tags WHERE playlist_id = ? ORDER BY created_at", (p.id,))
        ]
        out.append(Playlist(**{**p.__dict__, "collaborators": collabs, "tags": tags}))
    return out


def recent(conn: sqlite3.Connection, limit: int = 24) -> list[Playlist]:
    rows = conn.execute(
        "SELECT p.* FROM playlists p JOIN accounts a ON a.id = p.owner_id"
        " WHERE p.state IN ('visible', 'age_restricted') AND a.terminated = 0 ORDER BY p.updated_at DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return _with_people(conn, [Playlist.from_row(r) for r in rows])


def by_owner(conn: sqlite3.Connection, owner_id: str) -> list[Playlist]:
    rows = conn.execute("SELECT * FROM playlists WHERE owner_id = ? ORDER BY updated_at DESC", (owner_id,)).fetchall()
    return _with_people(conn, [Playlist.from_row(r) for r in rows])


def collaborating(conn: sqlite3.Connection, account_id: str) -> list[Playlist]:
    rows = conn.execute(
        "SELECT p.* FROM playlists p JOIN collaborators c ON c.playlist_id = p.id WHERE c.account_id = ? ORDER BY p.updated_at DESC",
        (account_id,),
    ).fetchall()
    return _with_people(conn, [Playlist.from_row(r) for r in rows])


def search(conn: sqlite3.Connection, q: str, limit: int = 50) -> list[Playlist]:
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        "SELECT * FROM playlists WHERE (title LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\')"
        " AND state IN ('visible', 'age_restricted') ORDER BY updated_at DESC LIMIT ?",
        (like, like, limit),
    ).fetchall()
    return _with_people(conn, [Playlist.from_row(r) for r in rows])


# ---- writing -------------------------------------------------------------------------------


def create(conn: sqlite3.Connection, owner_id: str, tracks: str, collaborative: bool) -> int:
    """A new playlist, titled 'Untitled playlist' until its title passes a check."""
    at = now()
    cur = conn.execute(
        "INSERT INTO playlists (owner_id, title, tracks, collaborative, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        (owner_id, UNTITLED, tracks, int(collaborative), at, at),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def add_tracks(conn: sqlite3.Connection, playlist_id: int, lines: list[str]) -> None:
    row = conn.execute("SELECT tracks FROM playlists WHERE id = ?", (playlist_id,)).fetchone()
    text = "\n".join([*(line for line in row["tracks"].splitlines() if line.strip()), *lines])
    conn.execute("UPDATE playlists SET tracks = ?, updated_at = ? WHERE id = ?", (text, now(), playlist_id))


def set_collaborative(conn: sqlite3.Connection, playlist_id: int, collaborative: bool) -> None:
    conn.execute("UPDATE playlists SET collaborative = ? WHERE id = ?", (int(collaborative), playlist_id))


def add_collaborator(conn: sqlite3.Connection, playlist_id: int, account_id: str) -> None:
    conn.execute("INSERT OR IGNORE INTO collaborators VALUES (?, ?, ?)", (playlist_id, account_id, now()))


def remove_collaborator(conn: sqlite3.Connection, playlist_id: int, account_id: str) -> None:
    conn.execute("DELETE FROM collaborators WHERE playlist_id = ? AND account_id = ?", (playlist_id, account_id))


def save_cover(conn: sqlite3.Connection, data: bytes, content_type: str, uploaded_by: str) -> int:
    cur = conn.execute(
        "INSERT INTO covers (sha256, content_type, data, uploaded_by, created_at) VALUES (?, ?, ?, ?, ?)",
        (hashlib.sha256(data).hexdigest(), content_type, data, uploaded_by, now()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def cover(conn: sqlite3.Connection, cover_id: int) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM covers WHERE id = ? AND data IS NOT NULL", (cover_id,)).fetchone()
    return row


def playlist_with_cover(conn: sqlite3.Connection, cover_id: int) -> int | None:
    row = conn.execute("SELECT id FROM playlists WHERE cover_id = ?", (cover_id,)).fetchone()
    return int(row["id"]) if row else None


# ---- changes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """A proposed edit of one field, before or after Tutela's decision."""

    id: str
    actor_id: str
    object_id: str
    field: str
    text: str | None = None
    cover_id: int | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Change:
        return cls(
            row["id"],
            row["actor_id"],
            row["object_id"],
            row["field"],
            row["text"],
            row["cover_id"],
            tuple(json.loads(row["tags"])),
        )


STATUS_BY_VERDICT = {"allow": "published", "allow_with_warning": "published", "hold": "held", "block": "refused"}


def record_change(conn: sqlite3.Connection, change: Change, verdict: str, decision_id: str, message: str) -> None:
    """Keep every change with its decision; a held one also waits in pending_changes."""
    at = now()
    status = STATUS_BY_VERDICT[verdict]
    conn.execute(
        "INSERT INTO changes (id, actor_id, object_id, field, text, cover_id, tags, verdict, decision_id, message, status, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            change.id,
            change.actor_id,
            change.object_id,
            change.field,
            change.text,
            change.cover_id,
            json.dumps(list(change.tags)),
            verdict,
            decision_id,
            message,
            status,
            at,
        ),
    )
    if status == "held":
        conn.execute(
            "INSERT INTO pending_changes (change_id, object_id, actor_id, decision_id, held_at) VALUES (?, ?, ?, ?, ?)",
            (change.id, change.object_id, change.actor_id, decision_id, at),
        )


def get_change(conn: sqlite3.Connection, change_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM changes WHERE id = ?", (change_id,)).fetchone()
    return row


def resolve_change(conn: sqlite3.Connection, change_id: str, status: str, case_id: str | None) -> None:
    conn.execute(
        "UPDATE changes SET status = ?, resolved_at = ?, resolved_by_case = ? WHERE id = ?", (status, now(), case_id, change_id)
    )
    conn.execute("DELETE FROM pending_changes WHERE change_id = ?", (change_id,))


def recent_changes(
    conn: sqlite3.Connection, *, object_id: str | None = None, actor_id: str | None = None, limit: int = 10
) -> list[sqlite3.Row]:
    if object_id is not None:
        return conn.execute(
            "SELECT * FROM changes WHERE object_id = ? ORDER BY created_at DESC LIMIT ?", (object_id, limit)
        ).fetchall()
    return conn.execute("SELECT * FROM changes WHERE actor_id = ? ORDER BY created_at DESC LIMIT ?", (actor_id, limit)).fetchall()


def my_open_changes(conn: sqlite3.Connection, actor_id: str) -> list[sqlite3.Row]:
    """Changes of mine that are waiting for review or were refused."""
    return conn.execute(
        "SELECT * FROM changes WHERE actor_id = ? AND status IN ('held', 'refused', 'rejected') ORDER BY created_at DESC LIMIT 50",
        (actor_id,),
    ).fetchall()


def publish(conn: sqlite3.Connection, change: Change) -> bool:
    """Write a change whose check allowed it (or that a moderator released) where users see it.
    False when there is nothing left to publish it into (the playlist is gone, the refused
    cover's bytes were purged)."""
    kind, key = parse_object(change.object_id)
    at = now()
    if kind == "profile":
        if change.field == "display_name" and change.text is not None:
            conn.execute("UPDATE accounts SET display_name = ? WHERE id = ?", (change.text, key))
        elif change.field == "bio" and change.text is not None:
            conn.execute("UPDATE accounts SET bio = ? WHERE id = ?", (change.text, key))
        else:
            return False
        return True
    if kind != "playlist" or conn.execute("SELECT 1 FROM playlists WHERE id = ?", (int(key),)).fetchone() is None:
        return False
    playlist_id = int(key)
    if change.field in ("title", "description") and change.text is not None:
        conn.execute(f"UPDATE playlists SET {change.field} = ?, updated_at = ? WHERE id = ?", (change.text, at, playlist_id))
    elif change.field == "cover" and change.cover_id is not None:
        if cover(conn, change.cover_id) is None:
            return False
        conn.execute("UPDATE playlists SET cover_id = ?, updated_at = ? WHERE id = ?", (change.cover_id, at, playlist_id))
    else:
        return False
    for tagged in change.tags:
        conn.execute(
            "INSERT OR IGNORE INTO playlist_tags (playlist_id, account_id, change_id, tagged_by, created_at) VALUES (?, ?, ?, ?, ?)",
            (playlist_id, tagged, change.id, change.actor_id, at),
        )
    return True


def unpublish(conn: sqlite3.Connection, change: Change) -> bool:
    """Take back a released change that a later decision rejected (an appeal can turn a
    release into a rejection): put back the value published before it, if nobody has written
    over it since. True if something changed."""
    kind, key = parse_object(change.object_id)
    previous = conn.execute(
        "SELECT * FROM changes WHERE object_id = ? AND field = ? AND status IN ('published', 'released') AND id != ?"
        " AND created_at <= (SELECT created_at FROM changes WHERE id = ?) ORDER BY created_at DESC LIMIT 1",
        (change.object_id, change.field, change.id, change.id),
    ).fetchone()
    if kind == "playlist" and change.field in ("title", "description", "cover"):
        column = "cover_id" if change.field == "cover" else change.field
        current = conn.execute(f"SELECT {column} FROM playlists WHERE id = ?", (int(key),)).fetchone()
        mine = change.cover_id if change.field == "cover" else change.text
        if current is None or current[0] != mine:
            return False
        default: str | int | None = {"title": UNTITLED, "description": "", "cover": None}[change.field]
        value = (previous["cover_id"] if change.field == "cover" else previous["text"]) if previous else default
        conn.execute(f"UPDATE playlists SET {column} = ?, updated_at = ? WHERE id = ?", (value, now(), int(key)))
        return True
    if kind == "profile" and change.field in PROFILE_FIELDS:
        current = conn.execute(f"SELECT {change.field} FROM accounts WHERE id = ?", (key,)).fetchone()
        if current is None or current[0] != change.text:
            return False
        value = previous["text"] if previous else (key if change.field == "display_name" else "")
        conn.execute(f"UPDATE accounts SET {change.field} = ? WHERE id = ?", (value, key))
        return True
    return False


# ---- content measures ----------------------------------------------------------------------


def refresh_state(conn: sqlite3.Connection, object_id: str) -> str:
    """Fold the object's measures into its state: per case the latest action stands (a restore
    undoes what its case did; an appeal that modifies the measure replaces it); across cases
    the strictest wins."""
    rows = conn.execute(
        "SELECT case_id, action FROM measures WHERE subject_kind = 'object' AND subject_id = ? ORDER BY event_at, id",
        (object_id,),
    ).fetchall()
    per_case: dict[str, str] = {}
    for r in rows:
        if r["action"] in CONTENT_ACTIONS:
            per_case[r["case_id"]] = CONTENT_ACTIONS[r["action"]]
        elif r["action"] in ("restore", "allow"):
            per_case[r["case_id"]] = "visible"
    state = max(per_case.values(), key=STATE_RANK.__getitem__, default="visible")
    kind, key = parse_object(object_id)
    if kind == "playlist":
        conn.execute("UPDATE playlists SET state = ? WHERE id = ?", (state, int(key)))
    elif kind == "profile":
        conn.execute("UPDATE accounts SET profile_state = ? WHERE id = ?", (state, key))
    return state
