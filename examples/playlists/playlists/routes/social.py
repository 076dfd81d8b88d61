"""Profiles, follows and friendships.

A follow or an accepted friendship is a connection in Tutela, and Tutela decides consent from
connections (a friendship is consent, a one-way follow is not). So each is written here and
in Tutela together, or not at all. A friend request is not a connection until it is accepted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from playlists import accounts, content
from playlists.accounts import Account
from playlists.content import Change
from playlists.tutela_bridge import Refused, new_id
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
MAX_NAME, MAX_BIO = 50, 500


def _other(request: Request, username: str, me: Account) -> Account:
    with db(request).read() as conn:
        other = accounts.get(conn, username)
    if other is None or (other.id != me.id and not other.shown_to_others):
        raise HTTPException(404)
    return other


@router.get("/users/{username}", response_class=HTMLResponse)
def profile(request: Request, username: str) -> HTMLResponse:
    viewer = current_user(request)
    with db(request).read() as conn:
        account = accounts.get(conn, username)
        if account is None:
            raise HTTPException(404)
        mine = viewer is not None and viewer.id == account.id
        owned = [p for p in content.by_owner(conn, account.id) if content.visible_to(p, account, viewer)]
        shared = content.collaborating(conn, account.id)
        owners = accounts.get_many(conn, [p.owner_id for p in shared])
        shared = [p for p in shared if content.visible_to(p, owners.get(p.owner_id), viewer)]
        followers, following = accounts.follow_counts(conn, account.id)
        relation = {
            "follows": viewer is not None and accounts.follows(conn, viewer.id, account.id),
            "follows_me": viewer is not None and accounts.follows(conn, account.id, viewer.id),
            "friend": accounts.friend_status(conn, viewer.id, account.id) if viewer and not mine else "none",
        }
        friend_count = len(accounts.friends(conn, account.id))
    return render(
        request,
        "profile.html",
        user=viewer,
        account=account,
        mine=mine,
        available=mine or account.shown_to_others,
        owned=owned,
        shared=shared,
        counts={"followers": followers, "following": following, "friends": friend_count},
        relation=relation,
    )


@router.post("/me/profile")
def edit_profile(
    request: Request, display_name: Annotated[str, Form()] = "", bio: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Each changed field is its own check (field display_name or bio) on the profile object."""
    me = require_user(request)
    if not may_act(request, me):
        return redirect(f"/users/{me.id}")
    display_name, bio = display_name.strip(), bio.strip()
    if not 1 <= len(display_name) <= MAX_NAME or len(bio) > MAX_BIO:
        flash(request, "error", f"Display names are 1 to {MAX_NAME} characters; a bio at most {MAX_BIO}.")
        return redirect(f"/users/{me.id}")
    obj = content.profile_object(me.id)
    changes = [
        Change(new_id("chg"), me.id, obj, field, value)
        for field, value, current in (("display_name", display_name, me.display_name), ("bio", bio, me.bio))
        if value != current
    ]
    if not changes:
        flash(request, "info", "Nothing changed.")
        return redirect(f"/users/{me.id}")
    flash_outcomes(request, propose_all(request, changes))
    return redirect(f"/users/{me.id}")


@router.post("/users/{username}/follow")
def follow(request: Request, username: str) -> RedirectResponse:
    me = require_user(request)
    other = _other(request, username, me)
    if other.id == me.id or not may_act(request, me) or not may_reach(request, me, other):
        return redirect(f"/users/{username}")
    try:
        with bridge(request).mirrored() as conn:
            accounts.follow(conn, me.id, other.id)
            bridge(request).connect(me.id, other.id, "follow")
        flash(request, "ok", f"You follow @{other.id}.")
    except Refused as e:
        flash(request, "unavailable", str(e))
    return redirect(f"/users/{username}")


@router.post("/users/{username}/unfollow")
def unfollow(request: Request, username: str) -> RedirectResponse:
    me = require_user(request)
    other = _other(request, username, me)
    try:
        with bridge(request).mirrored() as conn:
            accounts.unfollow(conn, me.id, other.id)
            bridge(request).disconnect(me.id, other.id, "follow")
        flash(request, "ok", f"You no longer follow @{other.id}.")
    except Refused as e:
        flash(request, "unavailable", str(e))
    return redirect(f"/users/{username}")


@router.post("/users/{username}/friend")
def friend(request: Request, username: str) -> RedirectResponse:
    """Send a friend request, or accept theirs if one is waiting."""
    me = require_user(request)
    other = _other(request, username, me)
    if other.id == me.id or not may_act(request, me) or not may_reach(request, me, other):
        return redirect(f"/users/{username}")
    with db(request).read() as conn:
        status = accounts.friend_status(conn, me.id, other.id)
    if status == "received":
        _accept(request, me, other)
    elif status == "none":
        with db(request).write() as conn:
            accounts.request_friend(conn, me.id, other.id)
        flash(request, "ok", f"Friend request sent to @{other.id}.")
    return redirect(f"/users/{username}")


@router.post("/users/{username}/unfriend")
def unfriend(request: Request, username: str) -> RedirectResponse:
    me = require_user(request)
    other = _other(request, username, me)
    try:
        with bridge(request).mirrored() as conn:
            was_friend = accounts.friend_status(conn, me.id, other.id) == "friends"
            accounts.unfriend(conn, me.id, other.id)
            if was_friend:
                bridge(request).disconnect(me.id, other.id, "friend")
        flash(request, "ok", f"You are no longer friends with @{other.id}." if was_friend else "Request withdrawn.")
    except Refused as e:
        flash(request, "unavailable", str(e))
    return redirect(f"/users/{username}")


@router.get("/friends", response_class=HTMLResponse)
def friends_page(request: Request) -> HTMLResponse:
    me = require_user(request)
    with db(request).read() as conn:
        incoming, outgoing = accounts.friend_requests(conn, me.id)
        friend_ids = accounts.friends(conn, me.id)
        people = accounts.get_many(conn, [*friend_ids, *(r["sender"] for r in incoming), *(r["recipient"] for r in outgoing)])
    return render(request, "friends.html", user=me, incoming=incoming, outgoing=outgoing, friends=friend_ids, people=people)


@router.post("/friends/{username}/accept")
def accept(request: Request, username: str) -> RedirectResponse:
    me = require_user(request)
    other = _other(request, username, me)
    if may_act(request, me) and may_reach(request, me, other):
        _accept(request, me, other)
    return redirect("/friends")


@router.post("/friends/{username}/decline")
def decline(request: Request, username: str) -> RedirectResponse:
    me = require_user(request)
    with db(request).write() as conn:
        accounts.answer_friend(conn, username, me.id, accept=False)
    flash(request, "ok", "Request declined.")
    return redirect("/friends")


def _accept(request: Request, me: Account, other: Account) -> None:
    try:
        with bridge(request).mirrored() as conn:
            if not accounts.answer_friend(conn, other.id, me.id, accept=True):
                flash(request, "error", "There is no friend request from them.")
                return
            bridge(request).connect(me.id, other.id, "friend")
        flash(request, "ok", f"You and @{other.id} are friends.")
    except Refused as e:
        flash(request, "unavailable", str(e))
