"""Reports, notices, appeals, and the endpoint Tutela's webhooks arrive at.

A report is acknowledged with Tutela's own timeframe sentence (Ofcom ICU D4). A notice page
shows each user what was decided about them or their reports, why, on what ground, and how to
appeal; the appeal goes to Tutela, which gives it to a different moderator.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from tutela.client import APIError, TransportError

from playlists import accounts, content, notices
from playlists.tutela_bridge import describe, unavailable
from playlists.web import CATEGORY_IDS, bridge, current_user, db, flash, redirect, render, require_user

if TYPE_CHECKING:
    from tutela.api.schemas import AppealOut

router = APIRouter()
log = logging.getLogger("playlists.moderation")
MAX_REPORT_TEXT = 2000
MAX_CONTEXT_BYTES = 60 * 1024


def _edits(rows: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "change_id": r["id"],
            "actor": r["actor_id"],
            "object": r["object_id"],
            "field": r["field"],
            "text": (r["text"] or "")[:500],
            "tags": json.loads(r["tags"]),
            "verdict": r["verdict"],
            "decision_id": r["decision_id"],
            "status": r["status"],
            "at": r["created_at"],
        }
        for r in rows
    ]


def _fit(context: dict[str, Any]) -> dict[str, Any]:
    """Tutela takes at most 64 KiB of context: drop the oldest edits until it fits."""
    while len(json.dumps(context)) > MAX_CONTEXT_BYTES and context.get("recent_edits"):
        context["recent_edits"].pop()
    return context


def _send_report(request: Request, back: str, category: str, text: str, **subject: Any) -> RedirectResponse:
    reporter = current_user(request)
    if category not in CATEGORY_IDS:
        flash(request, "error", "Choose what the problem is.")
        return redirect(back)
    context = subject.pop("context")
    try:
        receipt = bridge(request).report(
            reporter=reporter.id if reporter else None,
            category=category,
            text=text.strip()[:MAX_REPORT_TEXT],
            context=_fit(context),
            **subject,
        )
    except TransportError:
        flash(request, "unavailable", "Your report could not be sent: moderation is unavailable. Please try again in a moment.")
        return redirect(back)
    except APIError as e:
        log.error("report refused by Tutela: %s", e)
        flash(request, "error", f"Your report could not be sent: {e.detail or e.title}")
        return redirect(back)
    flash(request, "report", f"Thank you, we received your report. {receipt.timeframe}")
    request.session["verdict"] = "report"
    # The reported page may be hidden by the time the browser follows the redirect (one backed
    # report can hide it at once), so the acknowledgement has its own page.
    request.session["reports"] = [*request.session.get("reports", [])[-19:], receipt.report_id]
    return redirect(f"/reports/{receipt.report_id}")


def _subject(conn: sqlite3.Connection, report: sqlite3.Row) -> str:
    if report["subject_kind"] == "account":
        return f"@{report['subject_id']}"
    return describe(conn, report["subject_id"], owner_view=False)


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_receipt(request: Request, report_id: str) -> HTMLResponse:
    """The acknowledgement: what was reported, and when we aim to have looked at it. Shown to
    the reporter (or, for an anonymous report, to the browser that sent it)."""
    me = current_user(request)
    with db(request).read() as conn:
        row = conn.execute("SELECT * FROM reports WHERE id = ?", (report_id,)).fetchone()
        mine = row is not None and (
            row["reporter_id"] == (me.id if me else None) or report_id in request.session.get("reports", [])
        )
        what = _subject(conn, row) if row is not None and mine else ""
    if not mine:
        raise HTTPException(404)
    return render(request, "report.html", user=me, report=row, what=what)


@router.post("/playlists/{playlist_id}/report")
def report_playlist(
    request: Request, playlist_id: int, category: Annotated[str, Form()] = "", text: Annotated[str, Form()] = ""
) -> RedirectResponse:
    viewer = current_user(request)
    with db(request).read() as conn:
        playlist = content.get(conn, playlist_id)
        owner = accounts.get(conn, playlist.owner_id) if playlist else None
        if playlist is None or not content.visible_to(playlist, owner, viewer):
            raise HTTPException(404)
        edits = _edits(content.recent_changes(conn, object_id=playlist.object_id, limit=20))
    context = {
        "surface": "playlist-page",
        "playlist": {
            "title": playlist.title,
            "description": playlist.description,
            "owner": playlist.owner_id,
            "collaborators": playlist.collaborators,
            "tagged": playlist.tags,
            "collaborative": playlist.collaborative,
        },
        "recent_edits": edits,
    }
    return _send_report(request, f"/playlists/{playlist_id}", category, text, object_id=playlist.object_id, context=context)


@router.post("/users/{username}/report")
def report_user(
    request: Request,
    username: str,
    category: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    about: Annotated[str, Form()] = "account",
) -> RedirectResponse:
    """About the person (an account report, the default) or about their profile's name and bio
    (a report on the profile object)."""
    with db(request).read() as conn:
        account = accounts.get(conn, username)
        if account is None:
            raise HTTPException(404)
        edits = _edits(content.recent_changes(conn, actor_id=account.id, limit=20))
    context = {
        "surface": "profile-page",
        "profile": {"display_name": account.display_name, "bio": account.bio},
        "recent_edits": edits,
    }
    subject = {"object_id": content.profile_object(username)} if about == "profile" else {"account_id": username}
    return _send_report(request, f"/users/{username}", category, text, context=context, **subject)


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request) -> HTMLResponse:
    me = require_user(request)
    with db(request).read() as conn:
        items = notices.for_account(conn, me.id)
        changes = content.my_open_changes(conn, me.id)
        reports = [{**dict(r), "what": _subject(conn, r)} for r in notices.reports_by(conn, me.id)]
        appealed = {r["decision_id"] for r in conn.execute("SELECT decision_id FROM appeals WHERE appellant = ?", (me.id,))}
    page = render(request, "notices.html", user=me, items=items, changes=changes, reports=reports, appealed=appealed)
    with db(request).write() as conn:
        notices.mark_read(conn, me.id)
    return page


@router.post("/notices/{notice_id}/appeal")
def appeal_notice(request: Request, notice_id: int, text: Annotated[str, Form()] = "") -> RedirectResponse:
    me = require_user(request)
    with db(request).read() as conn:
        notice = notices.get(conn, notice_id, me.id)
    if notice is None or not notice["appealable"] or not notice["case_id"]:
        raise HTTPException(404)
    receipt = _appeal(request, appellant=me.id, text=text, case_id=notice["case_id"])
    if receipt is not None:
        with db(request).write() as conn:
            notices.mark_appealed(conn, me.id, notice["case_id"], receipt.appeal_id)
    return redirect("/notices")


@router.get("/changes/{change_id}/review", response_class=HTMLResponse)
def review_form(request: Request, change_id: str) -> HTMLResponse:
    me = require_user(request)
    with db(request).read() as conn:
        change = content.get_change(conn, change_id)
        appeal = notices.appeal_for_decision(conn, change["decision_id"]) if change else None
    if change is None or change["actor_id"] != me.id:
        raise HTTPException(404)
    return render(request, "review.html", user=me, change=change, appeal=appeal)


@router.post("/changes/{change_id}/review")
def review(request: Request, change_id: str, text: Annotated[str, Form()] = "") -> RedirectResponse:
    """Appeal a refused change by its decision id (Ofcom ICU D11): if a moderator overturns the
    refusal, `change.released` publishes it."""
    me = require_user(request)
    with db(request).read() as conn:
        change = content.get_change(conn, change_id)
    if change is None or change["actor_id"] != me.id:
        raise HTTPException(404)
    _appeal(request, appellant=me.id, text=text, decision_id=change["decision_id"])
    return redirect(f"/changes/{change_id}/review")


def _appeal(
    request: Request, *, appellant: str, text: str, case_id: str | None = None, decision_id: str | None = None
) -> AppealOut | None:
    try:
        receipt = bridge(request).appeal(appellant=appellant, text=text.strip()[:2000], case_id=case_id, decision_id=decision_id)
    except TransportError:
        flash(request, "unavailable", unavailable("Your appeal was not sent."))
        return None
    except APIError as e:
        log.info("appeal refused by Tutela: %s", e)
        flash(request, "error", f"This can't be appealed now: {e.detail or e.title}")
        return None
    flash(request, "ok", "Your appeal was received. A different moderator will review it, and we will tell you the outcome here.")
    request.session["verdict"] = "appeal"
    return receipt


@router.post("/tutela/webhooks")
async def webhooks(request: Request) -> Response:
    """Tutela's signed events. The raw body is verified before anything reads it as JSON."""
    body = await request.body()
    status = await run_in_threadpool(bridge(request).receive, request.headers, body)
    return Response(status_code=status)


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    try:
        with db(request).read() as conn:
            conn.execute("SELECT 1").fetchone()
    except Exception as e:  # the database is what this process needs to serve
        return JSONResponse({"status": "error", "database": str(e)}, status_code=503)
    return JSONResponse({"status": "ok"})
