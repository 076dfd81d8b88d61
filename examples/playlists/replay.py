"""The case, replayed on Mixtape: `make demo`.

Starts Tutela (embedded: SQLite, one process) and Mixtape side by side (stack.py), seeds the
people of the case, then plays it step by step through Mixtape's own pages, as its users would:
an 11-year-old's collaborative playlist, a stranger writing into it, a stranger tagging her, an
adult posing as a 12-year-old boy, an account named to advertise nudes, a known-abuse cover
(a benign stand-in image placed in a test hash bank, as real deployments test their lists),
ordinary adults with playlists of real song titles, one report, and a search.

For every step it prints what was attempted, Tutela's verdict, the rules and their evidence
(read back with `GET /v1/decisions/{id}`), and whether the outcome is the one expected. It
exits non-zero if any step's outcome differs, so CI runs it as an end-to-end test.

    .venv/bin/python examples/playlists/replay.py [--keep DIR] [--serve]
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tutela.client import Client

from stack import Stack, running_stack

FLASH = re.compile(r'<div id="flash"[^>]*data-verdict="([^"]*)"[^>]*data-decisions="([^"]*)"', re.S)
FLASH_TEXT = re.compile(r'<span class="flash-text">(.*?)</span>', re.S)
PASSWORD = "correct horse battery"
TITLE = re.compile(r'id="playlist-title"[^>]*>(.*?)<', re.S)
DESCRIPTION = re.compile(r'id="playlist-description"[^>]*>(.*?)<', re.S)


def today() -> dt.date:
    return dt.date.today()


def born(years: int, months: int = 2) -> str:
    d = today()
    month = (d.month - months - 1) % 12 + 1
    year = d.year - years - (1 if d.month - months < 1 else 0)
    return dt.date(year, month, min(d.day, 28)).isoformat()


def _text(pattern: re.Pattern[str], page: str) -> str:
    m = pattern.search(page)
    return html.unescape(m.group(1)).strip() if m else ""


@dataclass
class Outcome:
    verdict: str
    decisions: list[str]
    messages: list[str]
    page: str
    url: str


class Person:
    """One of Mixtape's users, in a browser session of their own (cookies), over HTTP."""

    def __init__(self, stack: Stack, username: str, display_name: str, birth_date: str) -> None:
        self.username = username
        self.http = httpx.Client(base_url=stack.app_url, follow_redirects=True, timeout=60)
        r = self.http.post(
            "/signup",
            data={
                "username": username,
                "display_name": display_name,
                "password": PASSWORD,
                "birth_date": birth_date,
            },
        )
        if r.status_code != 200 or f"/users/{username}" not in str(r.url):
            raise SystemExit(f"could not sign {username} up: HTTP {r.status_code} at {r.url}")

    def post(
        self, path: str, data: dict[str, str] | None = None, files: dict[str, tuple[str, bytes, str]] | None = None
    ) -> Outcome:
        r = self.http.post(path, data=data or {}, files=files)
        m = FLASH.search(r.text)
        verdict, decisions = (m.group(1), m.group(2).split()) if m else ("", [])
        messages = [html.unescape(t).strip() for t in FLASH_TEXT.findall(r.text)]
        return Outcome(verdict, decisions, messages, r.text, str(r.url))

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def new_playlist(self, title: str, tracks: list[str], collaborative: bool = False) -> tuple[str, Outcome]:
        data = {"title": title, "description": "", "tracks": "\n".join(tracks)}
        if collaborative:
            data["collaborative"] = "1"
        out = self.post("/playlists/new", data)
        m = re.search(r"/playlists/([^/?#]+)$", out.url)
        if not m:
            raise SystemExit(f"{self.username}: creating {title!r} did not land on a playlist ({out.url}): {out.messages}")
        return m.group(1), out

    def edit(self, playlist: str, *, title: str | None = None, description: str | None = None, tags: str = "") -> Outcome:
        page = self.get(f"/playlists/{playlist}").text
        data = {
            "title": title if title is not None else _text(TITLE, page),
            "description": description if description is not None else _text(DESCRIPTION, page),
            "tags": tags,
        }
        return self.post(f"/playlists/{playlist}/edit", data)


@dataclass
class Step:
    number: int
    title: str
    failures: list[str] = field(default_factory=list)

    def expect(self, ok: bool, what: str) -> None:
        mark = "✓" if ok else "✗"
        print(f"    {mark} {what}")
        if not ok:
            self.failures.append(what)


def explain(moderator: Client, out: Outcome) -> None:
    """Tutela's verdict, its rules and their evidence, as the decision records them."""
    print(f"    Tutela: {out.verdict or '(no check)'}" + (f"; shown to the user: {out.messages[0]!r}" if out.messages else ""))
    for decision_id in out.decisions:
        d = moderator.get_decision(decision_id)
        for reason in d.reasons:
            print(
                f"      rule {reason.rule}: {reason.verdict.value}, {reason.category}, {reason.severity}; follow-ups {', '.join(reason.followups) or 'none'}"
            )
        for s in d.signals:
            label = str(s["label"])
            if label in ("text.directed", "contact.connected"):
                continue
            ev = s.get("evidence", {})
            typed = ev.get("matched") or ev.get("typed") or ev.get("bank") or ev.get("age") or ""
            print(f"      evidence {label} (score {float(s['score']):.2f}){': ' + repr(typed) if typed else ''}")


def rules_of(moderator: Client, out: Outcome) -> set[str]:
    return {r.rule for d in out.decisions for r in moderator.get_decision(d).reasons}


def signals_of(moderator: Client, out: Outcome) -> list[dict[str, Any]]:
    return [s for d in out.decisions for s in moderator.get_decision(d).signals]


def account_case(moderator: Client, account: str) -> str | None:
    for queue in ("csea", "general"):
        for case in moderator.queue_cases(queue, limit=500):
            if case.subject == {"kind": "account", "id": account}:
                return case.id
    return None


def wait_for(probe: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until `probe` held, or None if it did not within `seconds`."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if probe():
            return time.monotonic() - start
        time.sleep(0.02)
    return None


def stand_in_image(seed: int) -> bytes:
    """A benign generated picture (coloured shapes): the test stand-in for a listed image."""
    import io
    import random

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    img = Image.new("RGB", (640, 640), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(24):
        x, y = rng.randrange(640), rng.randrange(640)
        r = rng.randrange(30, 160)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def bank_it(stack: Stack, image: bytes) -> None:
    """Put the stand-in's hashes in a csam-labelled test block-list, as an operator would."""
    import subprocess

    from stack import BIN

    env = {"TUTELA_DATABASE_URL": f"sqlite:///{stack.folder / 'tutela.db'}", "PATH": str(BIN)}
    path = stack.folder / "known-abuse-stand-in.jpg"
    path.write_bytes(image)
    hashes = subprocess.run([str(BIN / "tutela"), "hash", str(path)], env=env, capture_output=True, text=True, check=True).stdout
    fields = dict(part.split("=", 1) for part in hashes.strip().split("\t")[1:])
    csv = stack.folder / "test-bank.csv"
    csv.write_text(f"pdq,{fields['pdq']}\nsha256,{fields['sha256']}\n")
    for args in (
        ["banks", "create", "test-known-abuse", "--kind", "blocklist", "--label", "csam", "--description", "replay stand-ins"],
        ["banks", "import", "test-known-abuse", str(csv), "--format", "csv"],
    ):
        subprocess.run([str(BIN / "tutela"), *args], env=env, capture_output=True, text=True, check=True)


def replay(stack: Stack) -> list[str]:
    mod = stack.moderator
    print(f"Tutela on {stack.tutela_url}, Mixtape on {stack.app_url} (logs in {stack.folder})\n")
    print("Setting the scene: people sign up on Mixtape, which mirrors them (and their birth dates) to Tutela")
    mia = Person(stack, "mia", "Mia", born(11))
    lea = Person(stack, "lea", "Lea", born(11, 5))
    noah = Person(stack, "noah", "Noah", born(12))
    dan = Person(stack, "dan_d", "Dan", "1984-06-02")
    jake = Person(stack, "jake_12", "Jake", "1989-09-14")
    kim = Person(stack, "kim_k", "Kim", "1996-01-20")
    alex = Person(stack, "alex", "Alex", "1991-03-03")
    sam = Person(stack, "sam", "Sam", "1987-11-11")
    for friend in (lea, noah):
        friend.post(f"/users/{mia.username}/friend")
        mia.post(f"/friends/{friend.username}/accept")
    summer, _ = mia.new_playlist("summer mix", ["Shake It Off — Taylor Swift", "Dynamite — BTS"], collaborative=True)
    mia.post(f"/playlists/{summer}/collaborators", {"username": "lea"})
    road, _ = alex.new_playlist(
        "Road trip", ["Mr. Brightside — The Killers", "Dancing Queen — ABBA", "Call Me Maybe — Carly Rae Jepsen"]
    )
    sam.new_playlist("Indie classics", ["Nude — Radiohead", "Teenage Dirtbag — Wheatus", "Sex on Fire — Kings of Leon"])
    dans, published = dan.new_playlist("dm me ur pics 📸", ["Closer — The Chainsmokers"])
    print("  mia (11), lea (11), noah (12); dan_d, jake_12, kim_k, alex, sam (adults)")
    print(
        f"  mia's collaborative playlist {summer!r} 'summer mix', with lea; alex's {road!r} 'Road trip'; sam's 'Indie classics'"
    )
    print(
        f"  dan_d's own public playlist {dans!r} 'dm me ur pics 📸': {published.verdict} (on his own playlist it reaches nobody)\n"
    )
    steps: list[Step] = []

    def step(title: str) -> Step:
        s = Step(len(steps) + 1, title)
        steps.append(s)
        print(f"[{s.number}] {title}")
        return s

    # 1 ------------------------------------------------------------------------------------
    s = step("A stranger renames the child's collaborative playlist to ask for a picture")
    attempt = "s3nd m3 a p1c 📸"
    print(f"    attempted: dan_d sets the title of mia's 'summer mix' to {attempt!r}")
    out = dan.edit(summer, title=attempt)
    explain(mod, out)
    s.expect(out.verdict == "block", "refused")
    s.expect("solicitation-to-protected-account" in rules_of(mod, out), "as a request for pictures, through the evasive spelling")
    s.expect(
        "summer mix" in mia.get(f"/playlists/{summer}").text and attempt not in mia.get(f"/playlists/{summer}").text,
        "mia's title unchanged",
    )

    # 2 ------------------------------------------------------------------------------------
    s = step("A stranger tags the child in a playlist whose title asks her to 'show a good view'")
    print("    attempted: dan_d retitles his own playlist 'show a good view 😉' and tags @mia")
    out = dan.edit(dans, title="show a good view 😉", tags="@mia")
    explain(mod, out)
    s.expect(out.verdict == "block", "refused")
    rules = rules_of(mod, out)
    s.expect(
        {"stranger-tags-protected-account", "solicitation-to-protected-account"} <= rules,
        "a stranger tagging a child, with a request",
    )
    case = account_case(mod, "dan_d")
    s.expect(case is not None, f"case opened on dan_d ({case})")

    # 3 ------------------------------------------------------------------------------------
    s = step("The fake 12-year-old, once connected, asks for her email and says he is 12")
    jake.post(f"/users/{mia.username}/friend")
    mia.post(f"/friends/{jake.username}/accept")
    attempt = "im 12 too!! whats ur email? 📧"
    print(f"    attempted: jake_12 (an adult, now mia's friend) writes into 'summer mix': {attempt!r}")
    out = jake.edit(summer, description=attempt)
    explain(mod, out)
    s.expect(out.verdict == "hold", "held for a moderator, not published")
    rules = rules_of(mod, out)
    s.expect("adult-claims-child-age" in rules, "impersonation: an adult claiming a child's age")
    ages = [sig["evidence"].get("age") for sig in signals_of(mod, out) if sig["label"] == "text.self_claimed_age"]
    s.expect(ages == [12], f"the claimed age, as a number: {ages}")
    case = account_case(mod, "jake_12")
    s.expect(case is not None, f"case opened on jake_12 ({case})")
    s.expect(attempt not in mia.get(f"/playlists/{summer}").text, "not shown on mia's playlist")

    # 4 ------------------------------------------------------------------------------------
    s = step("An account renames itself to advertise nudes")
    attempt = "I have nudes 🔥 link in bio"
    print(f"    attempted: kim_k sets her display name to {attempt!r}")
    out = kim.post("/me/profile", {"display_name": attempt, "bio": ""})
    explain(mod, out)
    s.expect(out.verdict == "block", "refused")
    s.expect("sexual-advertisement" in rules_of(mod, out), "as sexual advertisement")

    # 5 ------------------------------------------------------------------------------------
    s = step("A cover image from the test block-list bank is uploaded")
    listed = stand_in_image(seed=1)
    bank_it(stack, listed)
    time.sleep(1.5)  # the server follows bank changes once a second
    print("    attempted: dan_d uploads, as his playlist's cover, a picture listed in the csam-labelled test bank")
    out = dan.post(f"/playlists/{dans}/cover", files={"cover": ("cover.jpg", listed, "image/jpeg")})
    explain(mod, out)
    s.expect(out.verdict == "block", "refused")
    rules = rules_of(mod, out)
    s.expect("known-csam-image" in rules, "matched in the hash bank")
    decision = mod.get_decision(out.decisions[0]) if out.decisions else None
    critical = decision is not None and any(
        r.severity == "critical" and "report_authority" in r.followups for r in decision.reasons
    )
    s.expect(critical, "critical, with evidence preservation and a report to the authorities queued")
    case = account_case(mod, "dan_d")
    detail = mod.get_case(case, moderator="replay") if case else None
    s.expect(detail is not None and detail.category == "child_sexual_exploitation", "a critical case: child sexual exploitation")

    # 6 ------------------------------------------------------------------------------------
    s = step("A benign cover, and 'Sex on Fire / Teenage Dirtbag bangers', by an adult")
    print(
        "    attempted: alex uploads a cover (a generated picture of coloured shapes) and renames 'Road trip' to 'Sex on Fire / Teenage Dirtbag bangers'"
    )
    out = alex.post(f"/playlists/{road}/cover", files={"cover": ("cover.jpg", stand_in_image(seed=42), "image/jpeg")})
    explain(mod, out)
    s.expect(out.verdict == "allow", "the cover is published")
    out = alex.edit(road, title="Sex on Fire / Teenage Dirtbag bangers")
    explain(mod, out)
    s.expect(out.verdict == "allow", "the title is published")
    s.expect("Sex on Fire / Teenage Dirtbag bangers" in html.unescape(noah.get(f"/playlists/{road}").text), "others see it")

    # 7 ------------------------------------------------------------------------------------
    s = step("The child reports the stranger's playlist once")
    print(f"    attempted: mia reports dan_d's playlist {dans!r} as grooming")
    started = time.monotonic()
    out = mia.post(f"/playlists/{dans}/report", {"category": "grooming", "text": "he keeps asking people for pics"})
    receipt = re.search(r'id="report-receipt"[^>]*data-report-id="([^"]+)"[^>]*data-case-id="([^"]+)"', out.page)
    timeframe = re.search(r'id="report-timeframe"[^>]*>(.*?)<', out.page, re.S)
    print(f"    Tutela: received; {html.unescape(timeframe.group(1)).strip() if timeframe else '(no timeframe shown)'}")
    s.expect(receipt is not None, "acknowledged with an id and a timeframe")
    case_id = receipt.group(2) if receipt else ""
    hidden_after = wait_for(lambda: noah.get(f"/playlists/{dans}").status_code == 404, 1.0)
    elapsed = time.monotonic() - started
    print(
        f"    hidden from others {elapsed:.2f} s after the report was sent"
        if hidden_after is not None
        else "    still visible after 1 s"
    )
    s.expect(hidden_after is not None, "hidden at once, pending review (within a second)")
    detail = mod.get_case(case_id, moderator="mod-ana") if case_id else None
    s.expect(
        detail is not None and len(detail.reports) == 1 and detail.interim_action == "hide",
        "one case, one report, an interim hide",
    )
    if detail is not None:
        print(f"    case {detail.id}: {detail.category}, priority {detail.priority}, deadline {detail.deadline:%H:%M} UTC")
        mod.claim(detail.id, "mod-ana")
        decided = mod.decide(
            detail.id, moderator="mod-ana", action="remove", reason="A public request for pictures, seen by a child."
        )
        print(f"    moderator mod-ana decides through the API: remove ({decided.strikes} strike for dan_d)")
    told = wait_for(lambda: "took action" in mia.get("/notices").text, 10.0)
    s.expect(told is not None, "mia is told the outcome (a notice: 'we ... took action')")
    s.expect(noah.get(f"/playlists/{dans}").status_code == 404, "removed for good")

    # 8 ------------------------------------------------------------------------------------
    s = step("The child searches 'nudes'")
    page = mia.get("/search?q=nudes").text
    count = re.search(r'id="search-results"[^>]*data-count="(\d+)"', page)
    print(f"    results: {count.group(1) if count else '?'}")
    s.expect(count is not None, "the search answered")
    s.expect("kim_k" not in page and "I have nudes" not in page, "no profile advertising nudes")
    s.expect("whats ur email" not in page and "dm me ur pics" not in page, "nothing held, hidden or removed")
    page = mia.get("/search?q=pics").text
    s.expect("dm me ur pics" not in page, "the removed playlist is not found by its own words either")

    print()
    failed = [f"step {st.number} ({st.title}): {f}" for st in steps for f in st.failures]
    print(
        f"{len(steps)} steps, {sum(len(st.failures) == 0 for st in steps)} as expected"
        + (f"; {len(failed)} outcome(s) differ:" if failed else ".")
    )
    for f in failed:
        print(f"  ✗ {f}")
    return failed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", type=Path, help="run in this folder and keep the databases and logs")
    ap.add_argument("--serve", action="store_true", help="after the replay, keep both running to click through (Ctrl-C stops)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tutela-demo-"))
    with running_stack(folder) as stack:
        failed = replay(stack)
        if args.serve:
            print(f"\nMixtape: {stack.app_url} (log in as mia, dan_d, jake_12, alex, ... with password {PASSWORD!r})")
            print(f"Tutela:  {stack.tutela_url} (moderator key: {stack.moderator_key})\nCtrl-C stops both.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
