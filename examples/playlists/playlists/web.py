"""Request helpers shared by the routes: the logged-in account, flash messages, rendering.

Flash messages live in the signed session cookie until the next page shows them. The page
puts them in `#flash`, with `data-verdict` set to the most severe verdict of the last
publishing attempt, so a test (or a screen reader) can read what happened.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from playlists import accounts, notices
from playlists.accounts import Account
from playlists.content import Change
from playlists.db import Database
from playlists.tutela_bridge import Outcome, TutelaBridge, most_severe

TEMPLATES = Path(__file__).parent / "templates"


def _ago(value: str | None) -> str:
    if not value:
        return ""
    then = dt.datetime.fromisoformat(value)
    seconds = int((dt.datetime.now(dt.UTC) - then).total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return "just now"


def _date(value: str | None) -> str:
    if not value:
        return ""
    return dt.datetime.fromisoformat(value).strftime("%-d %b %Y, %H:%M UTC")


env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
env.filters["ago"] = _ago
env.filters["date"] = _date
env.filters["hue"] = lambda s: zlib.crc32(str(s).encode()) % 360

CATEGORIES = [
    ("child_sexual_exploitation", "Child sexual exploitation"),
    ("grooming", "Grooming, or unwanted contact with a child"),
    ("sexual_content", "Sexual content"),
    ("harassment", "Harassment or bullying"),
    ("spam", "Spam"),
    ("other", "Something else"),
]
CATEGORY_IDS = {c for c, _ in CATEGORIES}
env.globals["CATEGORIES"] = CATEGORIES


class LoginRequired(Exception):
    """Raised by `require_user`; the app answers with a redirect to the login page."""


@dataclass(frozen=True)
class Flash:
    kind: str  # allow, allow_with_warning, hold, block, unavailable, error, info, ok
    text: str
    link: str | None = None
    link_text: str | None = None


def db(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def bridge(request: Request) -> TutelaBridge:
    b: TutelaBridge = request.app.state.bridge
    return b


def current_user(request: Request) -> Account | None:
    uid = request.session.get("uid")
    if not uid:
        return None
    with db(request).read() as conn:
        user = accounts.get(conn, uid)
    if user is None:
        request.session.pop("uid", None)
    return user


def require_user(request: Request) -> Account:
    user = current_user(request)
    if user is None:
        raise LoginRequired
    return user


def flash(request: Request, kind: str, text: str, link: str | None = None, link_text: str | None = None) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text, "link": link, "link_text": link_text})
    request.session["flash"] = request.session["flash"]  # mark the session modified


def propose_all(request: Request, changes: Sequence[Change]) -> list[Outcome]:
    """Propose changes one by one; stop at the first Tutela could not decide."""
    outcomes = []
    for change in changes:
        outcome = bridge(request).propose(change)
        outcomes.append(outcome)
        if outcome.verdict in ("unavailable", "error"):
            break
    return outcomes


def flash_outcomes(request: Request, outcomes: Sequence[Outcome]) -> None:
    """One message per checked field, and the most severe verdict on `#flash`. An outcome
    whose field is "tags" was a tag-only change (the unchanged title carrying the tags)."""
    for o in outcomes:
        tags = " ".join(f"@{t}" for t in o.tags)
        if o.field == "tags":
            what, verb = f"Your tags ({tags})", "are"
        else:
            what, verb = f"Your new {o.field.replace('_', ' ')}" + (f" (tagging {tags})" if tags else ""), "is"
        if o.verdict == "allow":
            flash(request, "allow", f"{what} {verb} published.")
        elif o.verdict == "allow_with_warning":
            flash(request, "allow_with_warning", f"{what} {verb} published. {o.message}".strip())
        elif o.verdict == "hold":
            flash(request, "hold", f"{what} {verb} waiting for review before anyone can see it.")
        elif o.verdict == "block":
            flash(request, "block", o.message or "This can't be posted.", f"/changes/{o.change_id}/review", "Ask for a review")
        else:
            flash(request, o.verdict, o.message)
    if outcomes:
        request.session["verdict"] = most_severe(outcomes)
        request.session["decisions"] = [o.decision_id for o in outcomes if o.decision_id]


def may_act(request: Request, user: Account) -> bool:
    """False (with a message) while the account is suspended or closed."""
    if user.is_terminated:
        flash(
            request, "block", "Your account has been closed, so you can't do that. See Notices to appeal.", "/notices", "Notices"
        )
        return False
    if user.is_suspended:
        until = f" until {_date(user.suspended_until)}" if user.suspended_until else ""
        flash(request, "block", f"Your account is suspended{until}, so you can't do that.", "/notices", "Notices")
        return False
    return True


def may_reach(request: Request, user: Account, other: Account) -> bool:
    """False (with a message) when a restrict_contact measure stops `user` reaching `other`."""
    if not user.may_reach(other):
        flash(request, "block", "Your account can't contact or tag this person, or change what they own.")
        return False
    return True


def _verdict_of(messages: Sequence[Flash]) -> str:
    """`data-verdict` when no check set one: unavailable or error if a message says so."""
    kinds = {m.kind for m in messages}
    return next((k for k in ("unavailable", "error", "block") if k in kinds), "info" if messages else "")


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = context.pop("user", None) or current_user(request)
    badges = {"notices": 0, "friends": 0}
    if user is not None:
        with db(request).read() as conn:
            badges = {"notices": notices.unread_count(conn, user.id), "friends": accounts.pending_friend_count(conn, user.id)}
    messages = [Flash(**m) for m in request.session.pop("flash", [])]
    verdict = request.session.pop("verdict", None) or _verdict_of(messages)
    decisions = request.session.pop("decisions", [])
    html = env.get_template(template).render(
        request=request,
        user=user,
        badges=badges,
        flashes=messages,
        verdict=verdict,
        decisions=decisions,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
