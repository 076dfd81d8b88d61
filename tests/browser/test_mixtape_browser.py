"""Mixtape in a real browser: Playwright for Python driving Debian's chromium (never a downloaded
browser) against a real Tutela and a real Mixtape (examples/playlists/stack.py).

The scene is the case this project started from. A child signs up and makes a collaborative
playlist. A stranger, an adult, opens it and renames it to a request for a picture, spelled to
get past a word list. Tutela refuses it, and the stranger sees the refusal in the page; the
playlist keeps its title. The child's own harmless rename is published.

`make test` installs chromium where it is missing; without it this test fails, it never skips.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright

from tutela.policy.loader import default_policy_path, load_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "playlists"))
from chromium import TIMEOUT_MS, NoChromium, launch, sign_up, submit, years_ago
from stack import Stack, running_stack

SOLICITATION = "s3nd m3 a p1c"
RULE = "solicitation-to-protected-account"


def refusal_message() -> str:
    """What Tutela says when the rule fires: its `message` in the default policy."""
    rules = {r.id: r for r in load_policy(default_policy_path()).rules}
    return rules[RULE].message


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("mixtape")) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        try:
            b = launch(pw)
        except (NoChromium, Error) as e:
            pytest.fail(f"could not launch chromium: {e}")
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def screenshots_on_failure(folder: Path, **pages: Page) -> Iterator[None]:
    """On any failure, a screenshot of each page in `folder`, named in the assertion message."""
    try:
        yield
    except Exception as e:
        shots = []
        for name, page in pages.items():
            path = folder / f"{name}.png"
            with contextlib.suppress(Error):
                page.screenshot(path=str(path), full_page=True)
                shots.append(f"{name}: {path} ({page.url})")
        raise AssertionError(f"{e}\nScreenshots:\n  " + "\n  ".join(shots or ["none could be taken"])) from e


def edit_title(page: Page, title: str) -> None:
    page.fill("#edit-title", title)
    submit(page, "#edit-submit")


@dataclass
class ChildsPlaylist:
    url: str
    page: Page  # the child's own, logged in


@pytest.fixture(scope="module")
def childs_playlist(browser: Browser, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildsPlaylist]:
    """Mia, 11, signs up and makes a collaborative playlist: anyone logged in sees its edit form."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    with screenshots_on_failure(tmp_path_factory.mktemp("child-setup"), child=page):
        sign_up(page, stack.app_url, "mia", "Mia", years_ago(11))
        page.click("#nav-new")
        page.fill("#new-title", "Summer mixtape")
        page.fill("#new-description", "songs for the pool")
        page.fill("#new-tracks", "Dancing Queen — ABBA\nHappy — Pharrell Williams")
        page.check("#new-collaborative")
        submit(page, "#new-submit")
        expect(page.locator("#playlist")).to_be_visible()
        expect(page.locator("#playlist-title")).to_have_text("Summer mixtape")
        expect(page.locator(".eyebrow")).to_have_text("Collaborative playlist")
    yield ChildsPlaylist(page.url, page)
    context.close()


def test_a_strangers_solicitation_is_refused_in_the_page(
    browser: Browser, stack: Stack, childs_playlist: ChildsPlaylist, tmp_path: Path
) -> None:
    message = refusal_message()
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        with screenshots_on_failure(tmp_path, stranger=page, child=childs_playlist.page):
            sign_up(page, stack.app_url, "rob", "Rob", years_ago(34))
            page.goto(childs_playlist.url)
            title = page.locator("#playlist-title").inner_text()
            expect(page.locator("#edit-form")).to_be_visible()

            edit_title(page, SOLICITATION)

            flash = page.locator("#flash")
            expect(flash).to_have_attribute("data-verdict", "block")
            expect(page.locator("#flash .flash-text")).to_have_text(message)
            assert message in page.locator("body").inner_text(), "the refusal is not visible in the page"
            expect(page.locator("#flash a.flash-link")).to_have_text("Ask for a review")
            expect(page.locator("#playlist-title")).to_have_text(title)
            assert SOLICITATION not in page.locator("#playlist").inner_text()

            decisions = (flash.get_attribute("data-decisions") or "").split()
            assert len(decisions) == 1, f"one check, one decision: {decisions}"
            decision = stack.moderator.get_decision(decisions[0])
            assert decision.verdict == "block"
            assert RULE in [r.rule for r in decision.reasons], decision.reasons
            assert decision.change.actor == "rob" and decision.change.text == SOLICITATION

            # And the child does not see it either.
            childs_playlist.page.reload()
            expect(childs_playlist.page.locator("#playlist-title")).to_have_text(title)
    finally:
        context.close()


def test_the_childs_own_harmless_rename_is_published(childs_playlist: ChildsPlaylist, tmp_path: Path) -> None:
    page = childs_playlist.page
    with screenshots_on_failure(tmp_path, child=page):
        page.goto(childs_playlist.url)
        edit_title(page, "road trip songs")
        expect(page.locator("#flash")).to_have_attribute("data-verdict", "allow")
        expect(page.locator("#flash .flash-text")).to_have_text("Your new title is published.")
        expect(page.locator("#playlist-title")).to_have_text("road trip songs")
