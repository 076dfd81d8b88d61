"""The home page and search.

Both leave out what this platform's own state hides (from Tutela's webhooks). Search also asks
Tutela, in one call, which of its results this viewer may see: a webhook can still be on its
way, and age restrictions depend on the viewer. If Tutela cannot answer, search shows nothing
rather than something it should not.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from tutela.client import TutelaError

from playlists import accounts, content
from playlists.web import bridge, current_user, db, flash, render

router = APIRouter()
log = logging.getLogger("playlists.search")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    viewer = current_user(request)
    with db(request).read() as conn:
        recent = content.recent(conn, limit=48)
        mine = content.by_owner(conn, viewer.id) if viewer else []
        owners = accounts.get_many(conn, list({p.owner_id for p in recent}))
    recent = [p for p in recent if content.visible_to(p, owners.get(p.owner_id), viewer)][:24]
    return render(request, "home.html", user=viewer, recent=recent, mine=mine, owners=owners)


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, q: str = "") -> HTMLResponse:
    viewer = current_user(request)
    q = q.strip()[:100]
    playlists: list[content.Playlist] = []
    people: list[accounts.Account] = []
    owners: dict[str, accounts.Account] = {}
    if q:
        with db(request).read() as conn:
            found = content.search(conn, q)
            owners = accounts.get_many(conn, list({p.owner_id for p in found}))
            playlists = [p for p in found if content.visible_to(p, owners.get(p.owner_id), viewer)]
            people = [a for a in accounts.search(conn, q) if a.shown_to_others and a.profile_state == "visible"]
        ids = [p.object_id for p in playlists] + [content.profile_object(a.id) for a in people]
        try:
            shown = bridge(request).visible(viewer.id if viewer else None, ids)
        except TutelaError as e:
            log.error("search: Tutela could not say what is visible: %s", e)
            flash(request, "unavailable", "Search is unavailable for a moment: moderation could not be reached. Try again.")
            shown = set()
        playlists = [p for p in playlists if p.object_id in shown]
        people = [a for a in people if content.profile_object(a.id) in shown]
    return render(request, "search.html", user=viewer, q=q, playlists=playlists, people=people, owners=owners)
