"""Photograph Mixtape refusing a stranger's message to a child: the picture in the docs.

    .venv/bin/python examples/playlists/screenshot.py [out.png]

Starts Tutela and Mixtape in a temporary folder (stack.py) and plays the scene in Debian's
chromium through Playwright (never a downloaded browser): Mia, 11, signs up and makes a
collaborative playlist; Rob, an adult, signs up, opens it and renames it to a request for a
picture. Tutela refuses it, and the page Rob sees (1280x800) is saved, by default to
docs/images/mixtape-refused.png. Exits non-zero if the page does not show a refusal.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import NoChromium, launch, sign_up, submit, years_ago
from stack import running_stack

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "images" / "mixtape-refused.png"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def new_page(browser: Browser) -> Page:
    page = browser.new_context(viewport=VIEWPORT, device_scale_factor=1).new_page()
    page.set_default_timeout(10_000)
    return page


def play(browser: Browser, base: str, out: Path) -> None:
    child = new_page(browser)
    sign_up(child, base, "mia", "Mia", years_ago(11))
    child.goto(f"{base}/playlists/new")
    child.fill("#new-title", "Summer mixtape")
    child.fill("#new-description", "songs for the pool, and for the car on the way there")
    child.fill(
        "#new-tracks",
        "Dancing Queen — ABBA\nHappy — Pharrell Williams\nShake It Off — Taylor Swift\nWaterloo — ABBA\nBirds of a Feather — Billie Eilish",
    )
    child.check("#new-collaborative")
    submit(child, "#new-submit")
    expect(child.locator("#playlist-title")).to_have_text("Summer mixtape")

    stranger = new_page(browser)
    sign_up(stranger, base, "rob", "Rob", years_ago(34))
    stranger.goto(child.url)
    stranger.fill("#edit-title", "s3nd m3 a p1c")
    submit(stranger, "#edit-submit")
    expect(stranger.locator("#flash")).to_have_attribute("data-verdict", "block")
    expect(stranger.locator("#playlist-title")).to_have_text("Summer mixtape")

    out.parent.mkdir(parents=True, exist_ok=True)
    stranger.screenshot(path=str(out))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    with tempfile.TemporaryDirectory(prefix="mixtape-") as folder, running_stack(Path(folder)) as stack, sync_playwright() as pw:
        try:
            browser = launch(pw)
        except NoChromium as e:
            print(e, file=sys.stderr)
            return 1
        try:
            play(browser, stack.app_url, out)
        finally:
            browser.close()
    print(f"{out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
