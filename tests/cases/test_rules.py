"""The pure rules of casework: service levels, priority, interim protection, reporter weight,
strike thresholds, and reading the policy's casework section."""

import datetime as dt

import pytest

from tutela.cases.rules import (
    CaseFacts,
    Casework,
    counts_as_independent,
    interim_protection,
    parse_duration,
    priority,
    reporter_weight,
)
from tutela.model import Action, ReportCategory
from tutela.policy import PolicyError
from tutela.policy.loader import parse_policy

CSE = ReportCategory.CHILD_SEXUAL_EXPLOITATION


def facts(category=CSE, child=True, score=0.0, trusted=False, reporters=1, weight=0.5) -> CaseFacts:
    return CaseFacts(category, child, score, trusted, reporters, weight)


def test_a_single_unbacked_report_never_hides() -> None:
    assert not interim_protection(facts(reporters=1))


@pytest.mark.parametrize(
    "backing",
    [dict(score=0.9), dict(trusted=True), dict(reporters=2, weight=1.0)],
    ids=["detector signal", "trusted flagger", "two independent reporters"],
)
def test_backed_child_exploitation_involving_a_child_hides(backing: dict) -> None:
    assert interim_protection(facts(**backing))
    assert interim_protection(facts(category=ReportCategory.GROOMING, **backing))


@pytest.mark.parametrize("category", [c for c in ReportCategory if not c.csea])
def test_other_categories_never_hide_pending_review(category: ReportCategory) -> None:
    assert not interim_protection(facts(category=category, score=1.0, trusted=True, reporters=5))


def test_no_child_involved_no_interim_hide() -> None:
    assert not interim_protection(facts(child=False, score=1.0, trusted=True, reporters=3))


def test_priority_puts_severity_first_then_children_signals_and_reporters() -> None:
    cse, grooming = priority(facts()), priority(facts(category=ReportCategory.GROOMING))
    spam = priority(facts(category=ReportCategory.SPAM, trusted=True, reporters=10, weight=10, score=1.0))
    assert cse > grooming > priority(facts(category=ReportCategory.SEXUAL_CONTENT))
    assert cse > spam, "a pile of spam reports must not outrank child exploitation"
    assert priority(facts(child=True)) > priority(facts(child=False))
    assert priority(facts(score=0.9)) > priority(facts())
    assert priority(facts(trusted=True)) > priority(facts())
    assert priority(facts(reporters=3, weight=1.5)) > priority(facts())


def test_reporter_weight_follows_the_track_record() -> None:
    newcomer = reporter_weight(0, 0)
    assert newcomer == 0.5
    assert reporter_weight(5, 0) > newcomer > reporter_weight(0, 5)
    assert counts_as_independent(0, 2), "two mistakes are not a pattern"
    assert not counts_as_independent(0, 5), "repeatedly wrong reporters lose weight (DSA Art. 23)"
    assert counts_as_independent(10, 5), "a mostly right reporter still counts"


def test_durations() -> None:
    assert parse_duration("90s") == dt.timedelta(seconds=90)
    assert parse_duration("4h") == dt.timedelta(hours=4)
    assert parse_duration("2d") == dt.timedelta(days=2)
    assert parse_duration(30) == dt.timedelta(seconds=30)
    for bad in ("", "4", "h", "-1h", "0m", "4 weeks", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_default_service_levels_and_strikes() -> None:
    cw = Casework()
    assert cw.service_level(CSE) == dt.timedelta(hours=1)
    assert cw.service_level(ReportCategory.GROOMING) == dt.timedelta(hours=4)
    assert cw.service_level(ReportCategory.OTHER) == dt.timedelta(hours=24)
    assert cw.threshold_reached(1, 2) is None
    third = cw.threshold_reached(2, 3)
    assert third is not None and third.action is Action.SUSPEND and third.duration == dt.timedelta(days=7)
    fifth = cw.threshold_reached(4, 5)
    assert fifth is not None and fifth.action is Action.TERMINATE


POLICY = """\
policy: p
version: 1
rules:
  - id: r
    when: "true"
    verdict: allow
    category: other
    severity: low
    message: ok
"""


def test_the_policy_file_sets_service_levels_and_strikes() -> None:
    policy = parse_policy(
        POLICY
        + """\
casework:
  service_levels:
    grooming: 30m
    appeal: 2d
  strikes:
    window: 90d
    thresholds:
      - {count: 2, action: restrict_contact}
      - {count: 4, action: terminate}
"""
    )
    cw = policy.casework
    assert cw.service_level(ReportCategory.GROOMING) == dt.timedelta(minutes=30)
    assert cw.service_level(CSE) == dt.timedelta(hours=1), "unset categories keep their default"
    assert cw.service_level("appeal") == dt.timedelta(days=2)
    assert cw.strike_window == dt.timedelta(days=90)
    assert [t.action for t in cw.strike_thresholds] == [Action.RESTRICT_CONTACT, Action.TERMINATE]


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ("casework:\n  service_levels:\n    shoplifting: 1h\n", "unknown category 'shoplifting'"),
        ("casework:\n  service_levels:\n    grooming: soon\n", "not a duration"),
        ("casework:\n  strikes:\n    thresholds:\n      - {count: 3, action: suspend}\n", "needs a duration"),
        ("casework:\n  strikes:\n    thresholds:\n      - {count: 3, action: warn}\n", "use suspend"),
        ("casework:\n  deadlines: {}\n", "unknown key"),
    ],
)
def test_a_wrong_casework_section_is_refused_with_its_line(section: str, needle: str) -> None:
    with pytest.raises(PolicyError) as e:
        parse_policy(POLICY + section)
    assert needle in str(e.value)
    assert e.value.problems[0].line == POLICY.count("\n") + 1
