"""Everything that talks to Tutela, through its Python SDK (`tutela.client`) and its webhooks.

- Mirroring: accounts (with the declared birth date), profiles and playlists as objects, and
  follows, friendships and collaborations as connections. Tutela decides from these, so a
  connection is written here only if Tutela took it too.
- Checks: every change is sent to `Client.check` before anything is written where others see
  it. Tutela unreachable means nothing is published (fail closed).
- Reports, appeals, and the one visibility call search makes.
- The webhook receiver: verify, drop repeats, carry out what Tutela decided in this app's
  database, in one transaction with the delivery id.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tutela.client import APIError, Client, NotFound, SignatureError, TransportError, TutelaError, WebhookEvent, verify_webhook

from playlists import accounts, content, notices
from playlists.content import Change
from playlists.db import Database, now

if TYPE_CHECKING:  # what the SDK's methods return
    from tutela.api.schemas import AppealOut, DecisionOut, ReportOut

log = logging.getLogger("playlists.tutela")
Handler = Callable[[sqlite3.Connection, WebhookEvent], list[str]]


def unavailable(consequence: str) -> str:
    """What to tell a user when Tutela cannot be reached: the platform fails closed."""
    return f"Moderation is unavailable, try again in a moment. {consequence}"


UNAVAILABLE = unavailable("Nothing was published.")
SEVERITY = {"allow": 0, "allow_with_warning": 1, "hold": 2, "block": 3, "unavailable": 4, "error": 4}
STANDING = {
    "restore": "What was done has been undone.",
    "allow": "No action was taken.",
    "hide": "Now standing: the content stays hidden.",
    "remove": "Now standing: the content stays removed.",
    "age_restrict": "Now standing: the content is shown to adults only.",
    "warn": "Now standing: a warning.",
    "restrict_contact": "Now standing: a restriction on contacting children.",
    "suspend": "Now standing: a suspension.",
    "terminate": "Now standing: the account stays closed.",
}
MEASURE_NAMES = {"restrict_contact": "contact restriction", "suspend": "suspension", "terminate": "account closure"}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Outcome:
    """What became of one proposed change, for the page to say."""

    field: str
    verdict: str  # allow, allow_with_warning, hold, block; unavailable or error when Tutela did not decide
    message: str
    change_id: str
    decision_id: str | None = None
    tags: tuple[str, ...] = ()


class Refused(Exception):
    """Tutela could not take a mirror write (a connection, an object), so the platform did not
    make it either. The message is for the user."""


class TutelaBridge:
    def __init__(self, client: Client, db: Database, webhook_secret: str) -> None:
        self.client = client
        self.db = db
        self.webhook_secret = webhook_secret

    # ---- mirroring ------------------------------------------------------------------------

    def mirror_account(self, account: accounts.Account) -> None:
        self.client.put_account(account.id, birth_date=account.birth_date, basis="declared", source="playlists:signup-dob")

    def mirror_profile(self, conn: sqlite3.Connection, account_id: str) -> None:
        account = accounts.get(conn, account_id)
        if account is None:
            return
        fields = {"display_name": account.display_name, "bio": account.bio}
        self.client.put_object(content.profile_object(account_id), kind="profile", owner=account_id, fields=fields)

    def mirror_playlist(self, conn: sqlite3.Connection, playlist_id: int) -> None:
        p = content.get(conn, playlist_id)
        if p is None:
            return
        self.client.put_object(p.object_id, kind="playlist", owner=p.owner_id, collaborators=p.collaborators, fields=p.fields())

    def mirror_object(self, conn: sqlite3.Connection, object_id: str) -> None:
        kind, key = content.parse_object(object_id)
        if kind == "playlist":
            self.mirror_playlist(conn, int(key))
        elif kind == "profile":
            self.mirror_profile(conn, key)

    def mirror_quietly(self, object_id: str) -> None:
        """After a publish: the mirror holds the published values. They are already published
        here, so a failure is logged, not shown (the next edit mirrors them again)."""
        try:
            with self.db.read() as conn:
                self.mirror_object(conn, object_id)
        except TutelaError as e:
            log.warning("could not mirror %s to Tutela: %s", object_id, e)

    @contextmanager
    def mirrored(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that commits only if the Tutela calls made inside it succeed, so
        the platform and Tutela agree on who is connected to whom."""
        try:
            with self.db.write() as conn:
                yield conn
        except TransportError as e:
            log.error("Tutela unreachable: %s", e)
            raise Refused(unavailable("That was not done.")) from e
        except APIError as e:
            log.error("Tutela refused a mirror write: %s", e)
            raise Refused(f"That could not be done: {e.detail or e.title}") from e

    def connect(self, a: str, b: str, kind: str) -> None:
        self.client.connect(a, b, kind)

    def disconnect(self, a: str, b: str, kind: str) -> None:
        with suppress(NotFound):  # already gone
            self.client.disconnect(a, b, kind)

    # ---- checks ---------------------------------------------------------------------------

    def propose(self, change: Change, *, image: bytes | None = None, image_type: str = "", image_name: str = "cover") -> Outcome:
        """Ask Tutela about one change, then publish it, hold it, or refuse it.

        A cover's bytes are stored only if the check did not block them."""
        try:
            decision = self._check(change, image, image_name)
        except TransportError as e:
            log.error("check %s: Tutela unreachable: %s", change.id, e)
            return Outcome(change.field, "unavailable", UNAVAILABLE, change.id, tags=change.tags)
        except APIError as e:
            log.error("check %s refused by Tutela: %s", change.id, e)
            message = f"This could not be checked, so it was not published: {e.detail or e.title}"
            return Outcome(change.field, "error", message, change.id, tags=change.tags)
        verdict = decision.verdict.value
        message = decision.reasons[0].message if decision.reasons else ""
        with self.db.write() as conn:
            if image is not None and verdict != "block":
                change = replace(change, cover_id=content.save_cover(conn, image, image_type, change.actor_id))
            content.record_change(conn, change, verdict, decision.id, message)
            if verdict in ("allow", "allow_with_warning"):
                content.publish(conn, change)
                self._after_publish(conn, change, warning=message if verdict == "allow_with_warning" else None)
        if verdict in ("allow", "allow_with_warning"):
            self.mirror_quietly(change.object_id)
        return Outcome(change.field, verdict, message, change.id, decision.id, change.tags)

    def _check(self, change: Change, image: bytes | None, image_name: str) -> DecisionOut:
        def send() -> DecisionOut:
            return self.client.check(
                change_id=change.id,
                actor=change.actor_id,
                object=change.object_id,
                field=change.field,
                text=change.text,
                tags=list(change.tags),
                image=image,
                image_name=image_name,
            )

        try:
            return send()
        except NotFound as e:
            # Tutela lost (or never got) a mirror: send them again, then the same change once more.
            log.warning("check %s: %s; mirroring again", change.id, e)
            self._remirror(change)
            return send()

    def _remirror(self, change: Change) -> None:
        with self.db.read() as conn:
            ids = [change.actor_id, *change.tags]
            kind, key = content.parse_object(change.object_id)
            if kind == "playlist" and (p := content.get(conn, int(key))) is not None:
                ids += [p.owner_id, *p.collaborators]
            for account in accounts.get_many(conn, list(dict.fromkeys(ids))).values():
                self.mirror_account(account)
            self.mirror_object(conn, change.object_id)

    def _after_publish(self, conn: sqlite3.Connection, change: Change, warning: str | None = None) -> None:
        """Tell the people a published change concerns: whoever was tagged, and the owner when
        Tutela asked for a warning (allow_with_warning is a warning for the recipient)."""
        what = describe(conn, change.object_id, owner_view=False)
        for tagged in change.tags:
            notices.add(conn, tagged, "tagged", f"@{change.actor_id} tagged you in {what}", ref=f"{change.id}:{tagged}")
        owner = owner_of(conn, change.object_id)
        if warning is not None and owner and owner != change.actor_id:
            body = warning or "Someone who is not connected with you changed this. Tell us if anything is wrong."
            notices.add(conn, owner, "warning_recipient", f"@{change.actor_id} changed {what}", body, ref=change.id)

    # ---- reports, appeals, visibility ----------------------------------------------------

    def report(
        self,
        *,
        reporter: str | None,
        category: str,
        text: str,
        object_id: str | None = None,
        account_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> ReportOut:
        """Send a report; keep its receipt. Raises TutelaError."""
        report_id = new_id("rpt")

        def send() -> ReportOut:
            return self.client.report(
                report_id=report_id,
                reporter=reporter,
                object=object_id,
                account=account_id,
                category=category,
                text=text,
                context=context or {},
            )

        try:
            receipt = send()
        except NotFound:
            with self.db.read() as conn:
                for a in accounts.get_many(conn, [x for x in (reporter, account_id) if x]).values():
                    self.mirror_account(a)
                if object_id:
                    self.mirror_object(conn, object_id)
            receipt = send()
        with self.db.write() as conn:
            notices.record_report(
                conn,
                {
                    "id": report_id,
                    "reporter_id": reporter,
                    "subject_kind": "object" if object_id else "account",
                    "subject_id": object_id or account_id,
                    "category": category,
                    "text": text,
                    "tutela_id": receipt.id,
                    "case_id": receipt.case_id,
                    "timeframe": receipt.timeframe,
                    "interim_action": receipt.interim_action,
                },
            )
        return receipt

    def appeal(self, *, appellant: str, text: str, case_id: str | None = None, decision_id: str | None = None) -> AppealOut:
        """Send an appeal of a decided case or of a refused change. Raises TutelaError."""
        appeal_id = new_id("apl")
        receipt = self.client.appeal(
            appeal_id=appeal_id, appellant=appellant, case_id=case_id, decision_id=decision_id, text=text
        )
        with self.db.write() as conn:
            notices.record_appeal(
                conn,
                {
                    "id": appeal_id,
                    "appellant": appellant,
                    "case_id": receipt.case_id,
                    "decision_id": decision_id,
                    "text": text,
                    "tutela_id": receipt.id,
                    "status": receipt.status,
                },
            )
        return receipt

    def visible(self, viewer: str | None, object_ids: Sequence[str]) -> set[str]:
        """The ids a viewer may see: Tutela's `visible` and `unknown`, never `hidden`. One call
        per search. Raises TutelaError (the caller fails closed)."""
        if not object_ids:
            return set()
        answer = self.client.visible(viewer, list(object_ids))
        return set(answer.visible) | set(answer.unknown)

    # ---- webhooks -------------------------------------------------------------------------

    def receive(self, headers: Mapping[str, str], body: bytes) -> int:
        """Handle one webhook request; the HTTP status to answer. Raising means 500: Tutela
        sends the same delivery again later."""
        if not self.webhook_secret:
            log.error("webhook refused: TUTELA_WEBHOOK_SECRET is not set")
            return 401
        try:
            event = verify_webhook(self.webhook_secret, headers, body)
        except SignatureError as e:
            log.warning("webhook refused: %s", e)
            return 401
        to_mirror: list[str] = []
        with self.db.write() as conn:
            seen = conn.execute("SELECT 1 FROM webhook_deliveries WHERE id = ?", (event.id,)).fetchone()
            if seen:
                log.info("webhook %s (%s) already handled", event.id, event.type)
                return 204
            conn.execute(
                "INSERT INTO webhook_deliveries (id, type, event_at, received_at) VALUES (?, ?, ?, ?)",
                (event.id, event.type, event.created_at.isoformat(), now()),
            )
            handler = HANDLERS.get(event.type)
            if handler is None:
                log.info("webhook %s: event type %s not handled here", event.id, event.type)
            else:
                to_mirror = _apply(conn, handler, event)
        log.info("webhook %s (%s) applied", event.id, event.type)
        for object_id in to_mirror:
            self.mirror_quietly(object_id)
        return 204


def _apply(conn: sqlite3.Connection, handler: Handler, event: WebhookEvent) -> list[str]:
    """Run a handler. An event this code cannot read (a field missing or of the wrong type)
    would fail the same way on every retry and hold back every later event about the same
    object or account for hours, so it is set aside for staff and acknowledged. Anything else
    (the database busy, say) raises, and Tutela sends the event again."""
    conn.execute("SAVEPOINT handler")
    try:
        mirror = handler(conn, event)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        conn.execute("ROLLBACK TO handler")
        log.error("webhook %s (%s) could not be applied, set aside: %r", event.id, event.type, e)
        notices.log(conn, "unapplied_event", {"id": event.id, "type": event.type, "error": repr(e), "data": event.data})
        mirror = []
    conn.execute("RELEASE handler")
    return mirror


# ---- what each event does (inside the delivery's transaction) --------------------------------
# Each handler returns the ids of objects whose published values changed, to mirror afterwards.


def on_action_taken(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    subject = d["subject"]
    action = d["action"]
    conn.execute(
        "INSERT INTO measures (delivery_id, case_id, subject_kind, subject_id, action, lifts, until, reason, ground, category,"
        " interim, automated, event_at, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.id,
            d["case_id"],
            subject["kind"],
            subject["id"],
            action,
            d.get("lifts"),
            d.get("until"),
            d.get("reason") or "",
            d.get("ground"),
            d.get("category"),
            int(bool(d.get("interim"))),
            int(bool(d.get("automated"))),
            event.created_at.isoformat(),
            now(),
        ),
    )
    if subject["kind"] == "object":
        before = _object_state(conn, subject["id"])
        after = content.refresh_state(conn, subject["id"])
        owner = owner_of(conn, subject["id"])
        if owner and before != "visible" and after == "visible":
            what = describe(conn, subject["id"])
            notices.add(
                conn,
                owner,
                "restored",
                f"{_cap(what)} is visible again",
                d.get("reason") or "",
                ref=event.id,
                case_id=d["case_id"],
            )
    elif subject["kind"] == "account":
        lifted_now = accounts.refresh_measures(conn, subject["id"])
        if action == "warn":
            notices.add(
                conn,
                subject["id"],
                "warning",
                "You received a warning",
                d.get("reason") or "",
                ref=event.id,
                case_id=d["case_id"],
                data={"category": d.get("category"), "ground": d.get("ground")},
                appealable=True,
            )
        elif action == "restore" and lifted_now:
            # Only when something was lifted: the restore of an account case's subject may
            # come with nothing left to undo (the lifts came on their own), or undo a warning.
            lifted = " and ".join(MEASURE_NAMES[m] for m in lifted_now)
            notices.add(
                conn,
                subject["id"],
                "lifted",
                f"The {lifted} on your account was lifted",
                d.get("reason") or "",
                ref=event.id,
                case_id=d["case_id"],
            )
    return []


def on_statement(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    kind, _, target = str(d.get("puid", "")).partition(":")
    # The affected account may be the collaborator who wrote the last change, not the owner.
    what = "your account" if kind == "account" else describe(conn, target, owner_view=owner_of(conn, target) == d["account"])
    verbs = {
        "hide": "was hidden",
        "remove": "was removed",
        "age_restrict": "is shown to adults only",
        "restrict_contact": "may no longer contact children",
        "suspend": "was suspended",
        "terminate": "was closed",
    }
    summary = f"{_cap(what)} {verbs.get(d.get('action', ''), 'was restricted')}"
    title = summary + (" while a moderator reviews it" if d.get("interim") else "")
    notices.add(
        conn,
        d["account"],
        "statement_of_reasons",
        title,
        d.get("decision_facts") or "",
        ref=d.get("id"),
        case_id=d.get("case_id"),
        data={**d, "summary": summary},
        appealable=not d.get("interim"),
    )
    return []


def on_report_outcome(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    report_id = str(d.get("platform_report_id") or d.get("report_id"))
    notices.report_outcome(conn, report_id, d.get("outcome", ""), d.get("message", ""))
    row = conn.execute("SELECT subject_kind, subject_id FROM reports WHERE id = ?", (report_id,)).fetchone()
    what = "what you reported"
    if row is not None:
        what = (
            f"@{row['subject_id']}" if row["subject_kind"] == "account" else describe(conn, row["subject_id"], owner_view=False)
        )
    title = f"Your report about {what}: " + ("action was taken" if d.get("outcome") == "action_taken" else "no violation found")
    # A reporter may ask for a review of either outcome; it is offered where it matters, on a
    # dismissal.
    appealable = d.get("outcome") == "no_violation"
    notices.add(
        conn,
        d["reporter"],
        "report_outcome",
        title,
        d.get("message", ""),
        ref=report_id,
        case_id=d.get("case_id"),
        data=d,
        appealable=appealable,
    )
    return []


def on_appeal_outcome(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    appeal_id = str(d.get("platform_appeal_id") or d.get("appeal_id"))
    notices.appeal_outcome(conn, appeal_id, d.get("outcome", ""))
    words = {
        "upheld": "the decision stands",
        "modified": "the measure was changed",
        "overturned": "the decision was reversed",
    }
    title = f"Your appeal was decided: {words.get(d.get('outcome', ''), d.get('outcome', ''))}"
    notices.add(
        conn,
        d["appellant"],
        "appeal_outcome",
        title,
        STANDING.get(d.get("action", ""), f"Now standing: {d.get('action')}."),
        ref=appeal_id,
        case_id=d.get("case_id"),
        data=d,
    )
    return []


def on_change_released(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    row = content.get_change(conn, d["change_id"])
    if row is None:
        notices.log(conn, "unknown_change", {"event": event.type, **d})
        return []
    if row["status"] in ("published", "released"):
        return []
    change = Change.from_row(row)
    done = content.publish(conn, change)
    content.resolve_change(conn, change.id, "released", d.get("case_id"))
    what = describe(conn, change.object_id, owner_view=change.actor_id == owner_of(conn, change.object_id))
    field = change.field.replace("_", " ")
    notices.remove(conn, change.actor_id, "change_rejected", change.id)  # act on the latest
    if done:
        title = f"Your change to the {field} of {what} was reviewed and published"
        notices.add(conn, change.actor_id, "change_released", title, change.text or "", ref=change.id, case_id=d.get("case_id"))
        for tagged in change.tags:
            tagged_in = describe(conn, change.object_id, owner_view=False)
            notices.add(conn, tagged, "tagged", f"@{change.actor_id} tagged you in {tagged_in}", ref=f"{change.id}:{tagged}")
        return [change.object_id]
    title = f"Your change to the {field} of {what} was allowed on review, but it could not be published"
    body = "Refused images are not kept. Please upload it again." if change.field == "cover" else "It no longer exists."
    notices.add(conn, change.actor_id, "change_released", title, body, ref=change.id, case_id=d.get("case_id"))
    return []


def on_change_rejected(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    row = content.get_change(conn, d["change_id"])
    if row is None:
        notices.log(conn, "unknown_change", {"event": event.type, **d})
        return []
    change = Change.from_row(row)
    mirror: list[str] = []
    if row["status"] == "released" and content.unpublish(conn, change):
        mirror.append(change.object_id)
    content.resolve_change(conn, change.id, "rejected", d.get("case_id"))
    notices.remove(conn, change.actor_id, "change_released", change.id)  # act on the latest
    what = describe(conn, change.object_id, owner_view=change.actor_id == owner_of(conn, change.object_id))
    field = change.field.replace("_", " ")
    title = f"Your change to the {field} of {what} was not published after review"
    notices.add(
        conn,
        change.actor_id,
        "change_rejected",
        title,
        change.text or "",
        ref=change.id,
        case_id=d.get("case_id"),
        appealable=True,
    )
    return mirror


def on_case_escalated(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    log.warning(
        "case %s is %ss past its deadline in the %s queue",
        event.data.get("case_id"),
        event.data.get("late_seconds"),
        event.data.get("queue"),
    )
    notices.log(conn, "case.escalated", event.data)
    return []


def on_account_flagged(conn: sqlite3.Connection, event: WebhookEvent) -> list[str]:
    d = event.data
    conn.execute("UPDATE accounts SET flagged_case = ? WHERE id = ?", (d.get("case_id"), d.get("account")))
    notices.log(conn, "account.flagged", d)
    log.warning(
        "account %s flagged: shares %s with terminated %s", d.get("account"), d.get("matched_on"), d.get("terminated_account")
    )
    return []


HANDLERS: dict[str, Handler] = {
    "action.taken": on_action_taken,
    "statement_of_reasons": on_statement,
    "report.outcome": on_report_outcome,
    "appeal.outcome": on_appeal_outcome,
    "change.released": on_change_released,
    "change.rejected": on_change_rejected,
    "case.escalated": on_case_escalated,
    "account.flagged": on_account_flagged,
}


# ---- wording -------------------------------------------------------------------------------


def owner_of(conn: sqlite3.Connection, object_id: str) -> str | None:
    kind, key = content.parse_object(object_id)
    if kind == "profile":
        return key
    if kind == "playlist":
        row = conn.execute("SELECT owner_id FROM playlists WHERE id = ?", (int(key),)).fetchone()
        return str(row["owner_id"]) if row else None
    return None


def _object_state(conn: sqlite3.Connection, object_id: str) -> str:
    kind, key = content.parse_object(object_id)
    if kind == "playlist":
        row = conn.execute("SELECT state FROM playlists WHERE id = ?", (int(key),)).fetchone()
    elif kind == "profile":
        row = conn.execute("SELECT profile_state AS state FROM accounts WHERE id = ?", (key,)).fetchone()
    else:
        return "visible"
    return str(row["state"]) if row else "visible"


def describe(conn: sqlite3.Connection, object_id: str, owner_view: bool = True) -> str:
    """'your playlist “Road trip”', or 'the playlist “Road trip”' for someone else."""
    kind, key = content.parse_object(object_id)
    mine = "your" if owner_view else "the"
    if kind == "profile":
        return "your profile" if owner_view else f"the profile of @{key}"
    if kind == "playlist":
        row = conn.execute("SELECT title FROM playlists WHERE id = ?", (int(key),)).fetchone()
        return f"{mine} playlist “{row['title']}”" if row else f"{mine} playlist"
    return object_id


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def most_severe(outcomes: Sequence[Outcome]) -> str:
    return max((o.verdict for o in outcomes), key=SEVERITY.__getitem__, default="allow")
