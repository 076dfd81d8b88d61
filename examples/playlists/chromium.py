"""Driving Mixtape in Debian's chromium through Playwright: what the browser test and the
screenshot script share. Never a downloaded browser: Playwright launches the system's chromium
by its path (`make test` installs it where missing)."""

from __future__ import annotations

import datetime as dt
import os
import shutil

from playwright.sync_api import Browser, Page, Playwright, expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
TIMEOUT_MS = 10_000


class NoChromium(RuntimeError):
    pass


def launch(pw: Playwright) -> Browser:
    """Headless chromium, background networking off, without the sandbox when run as root."""
    if not os.access(CHROMIUM, os.X_OK):
        raise NoChromium(
            f"chromium not found (looked on PATH and at {CHROMIUM}): run `make test`, which installs it, "
            "or `apt-get install chromium` as root. Nothing here downloads a browser."
        )
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--disable-background-networking", "--disable-dev-shm-usage"] + (["--no-sandbox"] if os.geteuid() == 0 else []),
    )


def years_ago(years: int) -> dt.date:
    today = dt.date.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def submit(page: Page, button: str) -> None:
    """Click a form's button and wait for the page it redirects to."""
    with page.expect_navigation(wait_until="load", timeout=TIMEOUT_MS):
        page.click(button)


def sign_up(page: Page, base: str, username: str, display_name: str, birth_date: dt.date) -> None:
    page.goto(f"{base}/signup")
    page.fill("#signup-username", username)
    page.fill("#signup-display-name", display_name)
    page.fill("#signup-password", PASSWORD)
    page.fill("#signup-birth-date", birth_date.isoformat())
    submit(page, "#signup-submit")
    expect(page.locator("#profile")).to_have_attribute("data-account", username)
