"""Sign up, log in, log out.

Sign-up mirrors the account into Tutela with its declared birth date before the account can do
anything: an account Tutela does not know cannot be checked, and an unchecked account must not
publish. If Tutela cannot be reached, the sign-up is undone and the user asked to try again.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from playlists import accounts, content
from playlists.content import Change
from playlists.tutela_bridge import new_id, unavailable
from playlists.web import bridge, db, flash, flash_outcomes, redirect, render

router = APIRouter()
log = logging.getLogger("playlists.auth")


def _safe_next(value: str) -> str:
    """Only local paths: a login link must not send people to another site."""
    return value if value.startswith("/") and not value.startswith("//") else "/"


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request) -> HTMLResponse:
    return render(request, "signup.html", form={})


@router.post("/signup", response_model=None)
def signup(
    request: Request,
    username: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    birth_date: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    username = username.strip().lower()
    display_name = display_name.strip()
    form = {"username": username, "display_name": display_name, "birth_date": birth_date}
    errors = []
    if not accounts.USERNAME_RE.match(username):
        errors.append("Usernames are 3 to 30 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if not 1 <= len(display_name) <= 50:
        errors.append("Choose a display name of up to 50 characters.")
    if len(password) < 8:
        errors.append("Passwords need at least 8 characters.")
    try:
        born = dt.date.fromisoformat(birth_date)
        if born > dt.date.today() or accounts.age_on(born, dt.date.today()) > 120:
            errors.append("That birth date is not possible.")
    except ValueError:
        errors.append("Give your birth date (YYYY-MM-DD).")
        born = dt.date.today()
    if not errors:
        with db(request).write() as conn:
            if accounts.get(conn, username) is not None:
                errors.append("That username is taken.")
            else:
                # Published under the username until the display name passes its check.
                accounts.create(conn, username, username, password, born)
    if errors:
        for e in errors:
            flash(request, "error", e)
        return render(request, "signup.html", status_code=422, form=form)

    tutela = bridge(request)
    try:
        with db(request).read() as conn:
            account = accounts.get(conn, username)
            assert account is not None
            tutela.mirror_account(account)
            tutela.mirror_profile(conn, username)
    except Exception as e:
        log.error("sign-up of %s could not be mirrored to Tutela: %s", username, e)
        with db(request).write() as conn:
            accounts.delete(conn, username)
        flash(request, "unavailable", unavailable("Your account was not created."))
        return render(request, "signup.html", status_code=503, form=form)

    request.session["uid"] = username
    flash(request, "ok", f"Welcome to Mixtape, @{username}!")
    if display_name != username:
        change = Change(new_id("chg"), username, content.profile_object(username), "display_name", display_name)
        flash_outcomes(request, [tutela.propose(change)])
    return redirect(f"/users/{username}")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), form={})


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> HTMLResponse | RedirectResponse:
    with db(request).read() as conn:
        account = accounts.authenticate(conn, username.strip().lower(), password)
    if account is None:
        flash(request, "error", "That username and password do not match.")
        return render(request, "login.html", status_code=401, next=_safe_next(next), form={"username": username})
    request.session.clear()
    request.session["uid"] = account.id
    if account.is_terminated:
        flash(request, "block", "Your account has been closed. You can read why, and appeal, on this page.")
        return redirect("/notices")
    return redirect(_safe_next(next))


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    flash(request, "ok", "You are logged out.")
    return redirect("/")
