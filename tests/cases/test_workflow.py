"""The case workflow's transactions against the store, both databases: deadlines escalate
once, queues put overdue and severe cases first."""

import datetime as dt

from sqlalchemy import select

from support import uid
from tutela.cases import workflow
from tutela.cases.rules import Casework
from tutela.model import Account, AgeBand, AgeBasis, AgeState, ContentObject, ObjectKind, ReportCategory, SubjectKind
from tutela.store import Database, repo
from tutela.store import tables as t

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def report(db: Database, category: ReportCategory, child: bool, at: dt.datetime) -> workflow.Receipt:
    owner = uid("owner")
    obj = uid("pl")
    with db.write() as conn:
        band = AgeBand.CHILD if child else AgeBand.ADULT
        repo.upsert_account(conn, Account(owner, AgeState(band, AgeBasis.DECLARED, 1.0, "test")), at)
        repo.upsert_object(conn, ContentObject(obj, ObjectKind.PLAYLIST, owner), {}, at)
        return workflow.submit_report(
            conn,
            workflow.ReportIn(uid("rep"), "sha", None, False, SubjectKind.OBJECT, obj, category, "", {}),
            Casework(),
            at,
        )


def test_overdue_cases_escalate_once_and_go_first(db: Database) -> None:
    queue = uid("q")  # not a real queue: cases are moved there so other tests' cases stay out of sight
    grooming = report(db, ReportCategory.GROOMING, child=True, at=NOW)
    cse = report(db, ReportCategory.CHILD_SEXUAL_EXPLOITATION, child=True, at=NOW + dt.timedelta(hours=3, minutes=30))
    assert grooming.deadline == NOW + dt.timedelta(hours=4)
    assert cse.deadline == NOW + dt.timedelta(hours=4, minutes=30)
    with db.write() as conn:
        conn.execute(t.cases.update().where(t.cases.c.id.in_([grooming.case_id, cse.case_id])).values(queue=queue))
    with db.read() as conn:
        before = [c["id"] for c in workflow.queue_cases(conn, queue, 10, NOW + dt.timedelta(hours=3, minutes=45))]
    assert before == [cse.case_id, grooming.case_id], "in time, the more severe case goes first"

    late = NOW + dt.timedelta(hours=4, minutes=1)
    with db.write() as conn:
        escalated = workflow.escalate_overdue(conn, late)
    assert grooming.case_id in escalated and cse.case_id not in escalated
    with db.write() as conn:
        assert grooming.case_id not in workflow.escalate_overdue(conn, late + dt.timedelta(minutes=5)), "escalated once"
    with db.read() as conn:
        after = [c["id"] for c in workflow.queue_cases(conn, queue, 10, late)]
        hooks = (
            conn.execute(select(t.webhook_outbox.c.payload).where(t.webhook_outbox.c.event == "case.escalated")).scalars().all()
        )
        case = workflow.get_case(conn, grooming.case_id)
    assert after == [grooming.case_id, cse.case_id], "an overdue case goes before a more severe one in time"
    assert case is not None and case["escalated_at"] == late
    assert any(h["data"]["case_id"] == grooming.case_id and h["data"]["late_seconds"] == 60 for h in hooks)


def test_a_more_severe_report_tightens_the_deadline(db: Database) -> None:
    first = report(db, ReportCategory.OTHER, child=False, at=NOW)
    assert first.deadline == NOW + dt.timedelta(hours=24)
    with db.read() as conn:
        case = workflow.get_case(conn, first.case_id)
    assert case is not None
    later = NOW + dt.timedelta(minutes=10)
    with db.write() as conn:
        receipt = workflow.submit_report(
            conn,
            workflow.ReportIn(
                uid("rep"),
                "sha",
                None,
                True,
                SubjectKind.OBJECT,
                case["subject_id"],
                ReportCategory.CHILD_SEXUAL_EXPLOITATION,
                "",
                {},
            ),
            Casework(),
            later,
        )
    assert receipt.case_id == first.case_id
    assert receipt.deadline == later + dt.timedelta(hours=1)
