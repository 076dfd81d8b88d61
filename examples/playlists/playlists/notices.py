"""What users are told (notices), and the reports and appeals they sent.

A notice with a `ref` is unique per account, kind and ref, so a redelivered or revised event
(a revised report outcome, say) replaces the notice it revises instead of adding a second one.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from playlists.db import now


def add(
    conn: sqlite3.Connection,
    account_id: str,
    kind: str,
    title: str,
    body: str = "",
    *,
    ref: str | None = None,
    case_id: str | None = None,
    decision_id: str | None = None,
    data: dict[str, Any] | None = None,
    appealable: bool = False,
) -> None:
    if conn.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone() is None:
        return  # not one of ours (an account Tutela knows from elsewhere)
    conn.execute(
        "INSERT INTO notices (account_id, kind, ref, title, body, case_id, decision_id, data, appealable, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (account_id, kind, ref) WHERE ref IS NOT NULL DO UPDATE SET title = excluded.title, body = excluded.body,"
        " case_id = excluded.case_id, data = excluded.data, appealable = excluded.appealable, created_at = excluded.created_at,"
        " read_at = NULL",
        (account_id, kind, ref, title, body, case_id, decision_id, json.dumps(data or {}), int(appealable), now()),
    )


def remove(conn: sqlite3.Connection, account_id: str, kind: str, ref: str) -> None:
    """Drop a notice a later event made obsolete (a rejected change released on appeal)."""
    conn.execute("DELETE FROM notices WHERE account_id = ? AND kind = ? AND ref = ?", (account_id, kind, ref))


def for_account(conn: sqlite3.Connection, account_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT n.*, a.outcome AS appeal_outcome FROM notices n LEFT JOIN appeals a ON a.id = n.appeal_id"
        " WHERE n.account_id = ? ORDER BY n.created_at DESC, n.id DESC LIMIT ?",
        (account_id, limit),
    ).fetchall()
    return [{**dict(r), "data": json.loads(r["data"])} for r in rows]


def get(conn: sqlite3.Connection, notice_id: int, account_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM notices WHERE id = ? AND account_id = ?", (notice_id, account_id)
    ).fetchone()
    return row


def unread_count(conn: sqlite3.Connection, account_id: str) -> int:
    return int(conn.execute("SELECT count(*) FROM notices WHERE account_id = ? AND read_at IS NULL", (account_id,)).fetchone()[0])


def mark_read(conn: sqlite3.Connection, account_id: str) -> None:
    conn.execute("UPDATE notices SET read_at = ? WHERE account_id = ? AND read_at IS NULL", (now(), account_id))


def mark_appealed(conn: sqlite3.Connection, account_id: str, case_id: str, appeal_id: str) -> None:
    """Every notice of the case: one appeal reopens the whole case."""
    conn.execute("UPDATE notices SET appeal_id = ? WHERE account_id = ? AND case_id = ?", (appeal_id, account_id, case_id))


# ---- reports -------------------------------------------------------------------------------


def record_report(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO reports (id, reporter_id, subject_kind, subject_id, category, text, tutela_id, case_id, timeframe,"
        " interim_action, created_at) VALUES (:id, :reporter_id, :subject_kind, :subject_id, :category, :text, :tutela_id,"
        " :case_id, :timeframe, :interim_action, :created_at)",
        {**row, "created_at": now()},
    )


def report_outcome(conn: sqlite3.Connection, report_id: str, outcome: str, message: str) -> None:
    conn.execute("UPDATE reports SET outcome = ?, outcome_message = ? WHERE id = ?", (outcome, message, report_id))


def reports_by(conn: sqlite3.Connection, reporter_id: str) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM reports WHERE reporter_id = ? ORDER BY created_at DESC LIMIT 50", (reporter_id,)
    ).fetchall()


# ---- appeals -------------------------------------------------------------------------------


def record_appeal(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO appeals (id, appellant, case_id, decision_id, text, tutela_id, status, created_at)"
        " VALUES (:id, :appellant, :case_id, :decision_id, :text, :tutela_id, :status, :created_at)",
        {**row, "created_at": now()},
    )


def appeal_outcome(conn: sqlite3.Connection, appeal_id: str, outcome: str) -> None:
    conn.execute("UPDATE appeals SET status = 'decided', outcome = ? WHERE id = ?", (outcome, appeal_id))


def appeal_for_decision(conn: sqlite3.Connection, decision_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM appeals WHERE decision_id = ?", (decision_id,)).fetchone()
    return row


def log(conn: sqlite3.Connection, kind: str, data: dict[str, Any]) -> None:
    """The staff's log: escalations, flagged accounts, events nobody here expected."""
    conn.execute("INSERT INTO moderation_log (kind, data, at) VALUES (?, ?, ?)", (kind, json.dumps(data), now()))
