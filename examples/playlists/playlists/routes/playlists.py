"""Playlists: create, view, edit (title, description, tags), tracks, covers, collaborators.

Every edit others will see goes through `TutelaBridge.propose` first. The platform only decides
who gets the edit form: on a collaborative playlist, anyone logged in. Whether a stranger may
write into a child's playlist is Tutela's call, which is the point of this example.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from playlists import accounts, content, notices
from playlists.accounts import Account
from playlists.content import UNTITLED, Change, Playlist
from playlists.tutela_bridge import Refused, new_id, unavailable
from playlists.web import (
    bridge,
    current_user,
    db,
    flash,
    flash_outcomes,
    may_act,
    may_reach,
    propose_all,
    redirect,
    render,
    require_user,
)

router = APIRouter()
MAX_TITLE, MAX_DESCRIPTION, MAX_TRACK, MAX_TRACKS = 100, 1000, 200, 100
TAG_RE = re.compile(r"@?([a-z0-9][a-z0-9_.-]{2,29})")
IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image(data: bytes) -> str | None:
    """The image type from the bytes themselves, never from what the browser claimed."""
    for magic, kind in IMAGE_MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _load(request: Request, playlist_id: int, viewer: Account | None) -> tuple[Playlist, Account]:
    """The playlist and its owner, or 404 when this viewer may not see it."""
    with db(request).read() as conn:
        playlist = content.get(conn, playlist_id)
        owner = accounts.get(conn, playlist.owner_id) if playlist else None
    if playlist is None or owner is None or not content.visible_to(playlist, owner, viewer):
        raise HTTPException(404)
    return playlist, owner


def _back(playlist_id: int) -> RedirectResponse:
    return redirect(f"/playlists/{playlist_id}")


def _editable(request: Request, playlist_id: int, what: str) -> tuple[Account, Playlist] | None:
    """The signed-in user and the playlist, if they may change its form (title, description,
    tags, cover); otherwise None, with a message for the one case worth explaining."""
    me = require_user(request)
    playlist, owner = _load(request, playlist_id, me)
    if not may_act(request, me) or not may_reach(request, me, owner):
        return None
    if not playlist.may_edit_form(me):
        flash(request, "error", f"Only the owner and the collaborators can {what}.")
        return None
    return me, playlist


@router.get("/playlists/new", response_class=HTMLResponse)
def new_form(request: Request) -> HTMLResponse:
    return render(request, "new_playlist.html", user=require_user(request), form={})


@router.post("/playlists/new", response_model=None)
def create(
    request: Request,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    tracks: Annotated[str, Form()] = "",
    collaborative: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """The playlist is created untitled and mirrored, then its title and description are checked
    like any edit: a check needs the object to exist in Tutela."""
    me = require_user(request)
    title, description = title.strip(), description.strip()
    form = {"title": title, "description": description, "tracks": tracks, "collaborative": bool(collaborative)}
    if not may_act(request, me):
        return redirect("/")
    if not 1 <= len(title) <= MAX_TITLE or len(description) > MAX_DESCRIPTION:
        flash(request, "error", f"Give a title of up to {MAX_TITLE} characters, and a description of at most {MAX_DESCRIPTION}.")
        return render(request, "new_playlist.html", status_code=422, user=me, form=form)
    lines = _track_lines(tracks)
    try:
        with bridge(request).mirrored() as conn:
            playlist_id = content.create(conn, me.id, "\n".join(lines), bool(collaborative))
            bridge(request).mirror_playlist(conn, playlist_id)
    except Refused:
        flash(request, "unavailable", unavailable("The playlist was not created."))
        return render(request, "new_playlist.html", status_code=503, user=me, form=form)
    obj = content.playlist_object(playlist_id)
    changes = [Change(new_id("chg"), me.id, obj, "title", title)] if title != UNTITLED else []
    if description:
        changes.append(Change(new_id("chg"), me.id, obj, "description", description))
    flash(request, "ok", "Playlist created.")
    flash_outcomes(request, propose_all(request, changes))
    return _back(playlist_id)


def _track_lines(text: str) -> list[str]:
    return [line.strip()[:MAX_TRACK] for line in text.splitlines() if line.strip()][:MAX_TRACKS]


@router.get("/playlists/{playlist_id}", response_class=HTMLResponse)
def view(request: Request, playlist_id: int) -> HTMLResponse:
    viewer = current_user(request)
    playlist, owner = _load(request, playlist_id, viewer)
    with db(request).read() as conn:
        people = accounts.get_many(conn, [playlist.owner_id, *playlist.collaborators, *playlist.tags])
        pending = conn.execute("SELECT count(*) FROM pending_changes WHERE object_id = ?", (playlist.object_id,)).fetchone()[0]
    return render(
        request,
        "playlist.html",
        user=viewer,
        playlist=playlist,
        owner=owner,
        people=people,
        pending=pending if viewer and playlist.is_member(viewer.id) else 0,
        can_edit=playlist.may_edit_form(viewer),
        is_owner=viewer is not None and viewer.id == owner.id,
        is_member=playlist.is_member(viewer.id if viewer else None),
    )


@router.post("/playlists/{playlist_id}/edit")
def edit(
    request: Request,
    playlist_id: int,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Title, description and tags from the edit form. Each changed field is one check; the tags
    go with the first of them (or, alone, with the unchanged title), so tagging someone is
    decided like any other change."""
    editable = _editable(request, playlist_id, "edit this playlist")
    if editable is None:
        return _back(playlist_id)
    me, playlist = editable
    title, description = title.strip() or playlist.title, description.strip()
    if len(title) > MAX_TITLE or len(description) > MAX_DESCRIPTION:
        flash(request, "error", f"Titles are at most {MAX_TITLE} characters; descriptions at most {MAX_DESCRIPTION}.")
        return _back(playlist_id)
    tagged = _tags(request, tags, me)
    if tagged is None:
        return _back(playlist_id)
    obj = playlist.object_id
    changes = [
        Change(new_id("chg"), me.id, obj, field, value)
        for field, value, current in (("title", title, playlist.title), ("description", description, playlist.description))
        if value != current
    ]
    tagged = [t for t in tagged if t not in playlist.tags]
    tag_only = bool(tagged) and not changes
    if tagged:
        first = changes[0] if changes else Change(new_id("chg"), me.id, obj, "title", playlist.title)
        changes[:1] = [replace(first, tags=tuple(tagged))]
    if not changes:
        flash(request, "info", "Nothing changed.")
        return _back(playlist_id)
    outcomes = propose_all(request, changes)
    if tag_only:
        outcomes = [replace(outcomes[0], field="tags")]
    flash_outcomes(request, outcomes)
    return _back(playlist_id)


def _tags(request: Request, text: str, me: Account) -> list[str] | None:
    """The accounts named in the tag field ('@mia @rob' or 'mia, rob'); None (with a message)
    when one does not exist or may not be tagged by this account."""
    names = list(dict.fromkeys(m.group(1) for m in TAG_RE.finditer(text.lower())))
    if not names:
        return []
    with db(request).read() as conn:
        found = accounts.get_many(conn, names)
    missing = [n for n in names if n not in found or not found[n].shown_to_others]
    if missing:
        flash(request, "error", "No such user to tag: " + ", ".join(f"@{n}" for n in missing))
        return None
    for name in names:
        if not may_reach(request, me, found[name]):
            return None
    return [n for n in names if n != me.id]


@router.post("/playlists/{playlist_id}/cover")
async def upload_cover(
    request: Request, playlist_id: int, cover: Annotated[UploadFile | None, File()] = None
) -> RedirectResponse:
    """The image goes to Tutela with the check; it is stored here only if not blocked."""
    data = await cover.read(request.app.state.settings.max_cover_bytes + 1) if cover else b""
    name = (cover.filename if cover else None) or "cover"
    return await run_in_threadpool(_cover, request, playlist_id, data, name)


def _cover(request: Request, playlist_id: int, data: bytes, filename: str) -> RedirectResponse:
    editable = _editable(request, playlist_id, "change the cover")
    if editable is None:
        return _back(playlist_id)
    me, playlist = editable
    limit = request.app.state.settings.max_cover_bytes
    kind = sniff_image(data)
    if not data or len(data) > limit or kind is None:
        flash(request, "error", f"Covers are JPEG, PNG, WebP or GIF images of at most {limit // (1024 * 1024)} MB.")
        return _back(playlist_id)
    change = Change(new_id("chg"), me.id, playlist.object_id, "cover")
    outcome = bridge(request).propose(change, image=data, image_type=kind, image_name=filename[:100])
    flash_outcomes(request, [outcome])
    return _back(playlist_id)


@router.get("/covers/{cover_id}")
def cover_image(request: Request, cover_id: int) -> Response:
    """A cover, only as part of a playlist this viewer may see: never a refused or held one."""
    with db(request).read() as conn:
        playlist_id = content.playlist_with_cover(conn, cover_id)
        row = content.cover(conn, cover_id)
    if playlist_id is None or row is None:
        raise HTTPException(404)
    _load(request, playlist_id, current_user(request))
    headers = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}
    return Response(bytes(row["data"]), media_type=row["content_type"], headers=headers)


@router.post("/playlists/{playlist_id}/tracks")
def add_tracks(request: Request, playlist_id: int, tracks: Annotated[str, Form()] = "") -> RedirectResponse:
    """Owner and collaborators only. Tutela has no field for track lists, so tracks are not
    checked (see the README): they are not open to everyone the way the edit form is."""
    me = require_user(request)
    playlist, _ = _load(request, playlist_id, me)
    if not may_act(request, me):
        return _back(playlist_id)
    if not playlist.is_member(me.id):
        flash(request, "error", "Only the owner and the collaborators can add tracks.")
        return _back(playlist_id)
    lines = _track_lines(tracks)
    if lines:
        with db(request).write() as conn:
            content.add_tracks(conn, playlist_id, lines)
        flash(request, "ok", f"Added {len(lines)} track{'s' if len(lines) > 1 else ''}.")
    return _back(playlist_id)


@router.post("/playlists/{playlist_id}/settings")
def settings(request: Request, playlist_id: int, collaborative: Annotated[str, Form()] = "") -> RedirectResponse:
    me = require_user(request)
    playlist, _ = _load(request, playlist_id, me)
    if playlist.owner_id != me.id:
        raise HTTPException(403)
    with db(request).write() as conn:
        content.set_collaborative(conn, playlist_id, bool(collaborative))
    flash(request, "ok", "Anyone logged in can now suggest edits." if collaborative else "Only collaborators can edit now.")
    return _back(playlist_id)


@router.post("/playlists/{playlist_id}/collaborators")
def add_collaborator(request: Request, playlist_id: int, username: Annotated[str, Form()] = "") -> RedirectResponse:
    """The owner invites: a collaborator on the object and a `collaborator` connection, which
    Tutela counts as the owner's consent."""
    me = require_user(request)
    playlist, _ = _load(request, playlist_id, me)
    if playlist.owner_id != me.id:
        raise HTTPException(403)
    name = username.strip().lstrip("@").lower()
    with db(request).read() as conn:
        other = accounts.get(conn, name)
    if other is None or not other.shown_to_others or other.id == me.id:
        flash(request, "error", f"There is no one else called @{name}.")
        return _back(playlist_id)
    if not may_act(request, me) or not may_reach(request, me, other):
        return _back(playlist_id)
    try:
        with bridge(request).mirrored() as conn:
            content.add_collaborator(conn, playlist_id, other.id)
            bridge(request).connect(me.id, other.id, "collaborator")
            bridge(request).mirror_playlist(conn, playlist_id)
            notices.add(
                conn,
                other.id,
                "collaborator",
                f"@{me.id} added you as a collaborator on “{playlist.title}”",
                ref=f"collab:{playlist_id}",
            )
        flash(request, "ok", f"@{other.id} can now edit this playlist.")
    except Refused as e:
        flash(request, "unavailable", str(e))
    return _back(playlist_id)


@router.post("/playlists/{playlist_id}/collaborators/{username}/remove")
def remove_collaborator(request: Request, playlist_id: int, username: str) -> RedirectResponse:
    """The owner removes a collaborator, or a collaborator leaves. The connection goes only when
    no other playlist of the owner still has them."""
    me = require_user(request)
    playlist, _ = _load(request, playlist_id, me)
    if me.id not in (playlist.owner_id, username) or username not in playlist.collaborators:
        raise HTTPException(403)
    try:
        with bridge(request).mirrored() as conn:
            content.remove_collaborator(conn, playlist_id, username)
            still = conn.execute(
                "SELECT 1 FROM collaborators c JOIN playlists p ON p.id = c.playlist_id WHERE p.owner_id = ? AND c.account_id = ?",
                (playlist.owner_id, username),
            ).fetchone()
            if still is None:
                bridge(request).disconnect(playlist.owner_id, username, "collaborator")
            bridge(request).mirror_playlist(conn, playlist_id)
        flash(request, "ok", f"@{username} is no longer a collaborator.")
    except Refused as e:
        flash(request, "unavailable", str(e))
    return _back(playlist_id)
