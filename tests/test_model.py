import datetime as dt

import pytest

from tutela.model import AgeBand, AgeBasis, AgeState, Severity, Verdict, band_for_birth_date


@pytest.mark.parametrize(
    ("birth", "today", "band"),
    [
        (dt.date(2015, 6, 1), dt.date(2026, 11, 29), AgeBand.CHILD),  # 11
        (dt.date(2013, 11, 29), dt.date(2026, 11, 29), AgeBand.TEEN),  # 13 today
        (dt.date(2013, 11, 30), dt.date(2026, 11, 29), AgeBand.CHILD),  # 13 tomorrow
        (dt.date(2008, 11, 29), dt.date(2026, 11, 29), AgeBand.ADULT),  # 18 today
        (dt.date(2008, 11, 30), dt.date(2026, 11, 29), AgeBand.TEEN),  # 18 tomorrow
        (dt.date(2012, 2, 29), dt.date(2025, 2, 28), AgeBand.CHILD),  # leap day: 13 on 1 March
        (dt.date(2012, 2, 29), dt.date(2025, 3, 1), AgeBand.TEEN),
    ],
)
def test_band_follows_birthdays(birth: dt.date, today: dt.date, band: AgeBand) -> None:
    assert band_for_birth_date(birth, today) is band


def test_age_state_moves_with_time_only_when_a_birth_date_is_known() -> None:
    declared = AgeState(AgeBand.TEEN, AgeBasis.DECLARED, 0.5, "signup", None, dt.date(2008, 12, 1))
    assert declared.current(dt.date(2026, 11, 30)).band is AgeBand.TEEN
    grown = declared.current(dt.date(2026, 12, 1))
    assert grown.band is AgeBand.ADULT
    assert (grown.basis, grown.source, grown.birth_date) == (AgeBasis.DECLARED, "signup", dt.date(2008, 12, 1))
    estimated = AgeState(AgeBand.CHILD, AgeBasis.ESTIMATED)
    assert estimated.current(dt.date(2040, 1, 1)) is estimated


def test_verdicts_and_severities_are_ordered_mildest_first() -> None:
    assert [v.rank for v in (Verdict.ALLOW, Verdict.ALLOW_WITH_WARNING, Verdict.HOLD, Verdict.BLOCK)] == [0, 1, 2, 3]
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank
