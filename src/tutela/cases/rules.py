"""The rules of casework, kept pure: service levels and deadlines, priority, when a report
earns interim protection, how much a reporter's word weighs, and strike thresholds.

The numbers a platform tunes live in the policy file's `casework:` section (see
docs/cases.md); `Casework.parse` reads it and the defaults below apply where it is silent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tutela.model import Action, ReportCategory

# ---- service levels --------------------------------------------------------------------------

DEFAULT_SERVICE_LEVELS: dict[str, dt.timedelta] = {
    ReportCategory.CHILD_SEXUAL_EXPLOITATION.value: dt.timedelta(hours=1),
    ReportCategory.GROOMING.value: dt.timedelta(hours=4),
    ReportCategory.SEXUAL_CONTENT.value: dt.timedelta(hours=24),
    ReportCategory.HARASSMENT.value: dt.timedelta(hours=24),
    ReportCategory.SPAM.value: dt.timedelta(hours=72),
    ReportCategory.OTHER.value: dt.timedelta(hours=24),
    "appeal": dt.timedelta(hours=24),
}

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: object) -> dt.timedelta:
    """'90s', '15m', '4h', '2d' (or a number of seconds)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return dt.timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 4h or 2d")
    return dt.timedelta(**{_UNIT[m.group(2)]: int(m.group(1))})


def describe(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class StrikeThreshold:
    count: int
    action: Action  # suspend or terminate
    duration: dt.timedelta | None = None  # for suspend


@dataclass(frozen=True)
class Casework:
    service_levels: Mapping[str, dt.timedelta] = field(default_factory=lambda: dict(DEFAULT_SERVICE_LEVELS))
    strike_window: dt.timedelta = dt.timedelta(days=180)
    strike_thresholds: tuple[StrikeThreshold, ...] = (
        StrikeThreshold(3, Action.SUSPEND, dt.timedelta(days=7)),
        StrikeThreshold(5, Action.TERMINATE),
    )

    def service_level(self, category: ReportCategory | str) -> dt.timedelta:
        return self.service_levels[str(category)]

    def threshold_reached(self, strikes_before: int, strikes_after: int) -> StrikeThreshold | None:
        """The most severe threshold crossed by going from `strikes_before` to `strikes_after`."""
        crossed = [t for t in self.strike_thresholds if strikes_before < t.count <= strikes_after]
        return max(crossed, key=lambda t: t.count) if crossed else None

    @classmethod
    def parse(cls, node: Any) -> Casework:
        """Read the policy's `casework:` mapping; raise ValueError naming what is wrong."""
        if node is None:
            return cls()
        if not isinstance(node, Mapping):
            raise ValueError("casework must be a mapping with service_levels and strikes")
        unknown = set(node) - {"service_levels", "strikes"}
        if unknown:
            raise ValueError(f"unknown key(s) in casework: {', '.join(sorted(map(str, unknown)))}")
        levels = dict(DEFAULT_SERVICE_LEVELS)
        for key, value in (node.get("service_levels") or {}).items():
            if key not in levels:
                raise ValueError(f"casework.service_levels: unknown category {key!r}; known: {', '.join(levels)}")
            levels[key] = parse_duration(value)
        window, thresholds = cls().strike_window, cls().strike_thresholds
        strikes = node.get("strikes")
        if strikes is not None:
            if not isinstance(strikes, Mapping) or set(strikes) - {"window", "thresholds"}:
                raise ValueError("casework.strikes must be a mapping with window and thresholds")
            if "window" in strikes:
                window = parse_duration(strikes["window"])
            parsed = []
            for item in strikes.get("thresholds") or []:
                if not isinstance(item, Mapping) or not isinstance(item.get("count"), int) or item["count"] < 1:
                    raise ValueError("each casework.strikes.thresholds item needs a count (a whole number >= 1)")
                try:
                    action = Action(str(item.get("action")))
                except ValueError:
                    raise ValueError(
                        f"strike threshold action {item.get('action')!r}: use suspend, restrict_contact or terminate"
                    ) from None
                if action not in (Action.SUSPEND, Action.TERMINATE, Action.RESTRICT_CONTACT):
                    raise ValueError(f"strike threshold action {action.value!r}: use suspend, restrict_contact or terminate")
                duration = parse_duration(item["duration"]) if "duration" in item else None
                if action is Action.SUSPEND and duration is None:
                    raise ValueError("a suspend threshold needs a duration, e.g. duration: 7d")
                parsed.append(StrikeThreshold(item["count"], action, duration))
            if "thresholds" in strikes:
                thresholds = tuple(sorted(parsed, key=lambda t: t.count))
        return cls(levels, window, thresholds)


# ---- reporters -------------------------------------------------------------------------------

DISCREDITED_AFTER = 3  # rejected reports before a reporter's weight can fall below the floor
WEIGHT_FLOOR = 0.3


def reporter_weight(upheld: int, rejected: int) -> float:
    """How much a reporter's word counts, from their track record (DSA Art. 23): starts at 0.5
    for a newcomer, rises with reports that were upheld, falls with reports that were not."""
    return (upheld + 1) / (upheld + rejected + 2)


def counts_as_independent(upheld: int, rejected: int) -> bool:
    """A reporter whose reports are repeatedly rejected no longer adds backing on their own."""
    return not (rejected >= DISCREDITED_AFTER and reporter_weight(upheld, rejected) < WEIGHT_FLOOR)


# ---- priority and interim protection ---------------------------------------------------------

_CATEGORY_POINTS = {
    ReportCategory.CHILD_SEXUAL_EXPLOITATION: 100,
    ReportCategory.GROOMING: 80,
    ReportCategory.SEXUAL_CONTENT: 50,
    ReportCategory.HARASSMENT: 40,
    ReportCategory.OTHER: 20,
    ReportCategory.SPAM: 10,
}


@dataclass(frozen=True)
class CaseFacts:
    """What the priority and the interim measure are computed from."""

    category: ReportCategory
    child_involved: bool
    signal_score: float  # the strongest relevant detector signal, 0 when none
    trusted: bool  # a trusted flagger reported it
    independent_reporters: int  # distinct reporters who count (anonymous counts once)
    reporter_weight: float  # the sum of their weights

    @property
    def backed(self) -> bool:
        return self.signal_score > 0


def priority(f: CaseFacts) -> int:
    """Higher first. The category sets the base (child exploitation 100, grooming 80, sexual
    content 50, ...); a child involved (+40), a detector signal (up to +20), a trusted flagger
    (+30) and independent reporters (up to +30) add to it, so a well-backed grooming case that
    involves a child can pass a bare, unbacked exploitation report: likelihood and harm to a
    child weigh with severity (Ofcom ICU C5's prioritisation factors)."""
    points = _CATEGORY_POINTS[f.category]
    points += 40 if f.child_involved else 0
    points += round(20 * min(1.0, f.signal_score))
    points += 30 if f.trusted else 0
    points += min(30, round(10 * f.reporter_weight))
    return points


def interim_protection(f: CaseFacts) -> bool:
    """Whether reported content is hidden at once, pending review (docs/cases.md).

    Only for child sexual exploitation and grooming that involve a child, and only when
    something beyond one person's word backs it: a detector signal, a trusted flagger, or two
    independent reporters. A single unbacked report never hides anything, so mass-reporting
    a rival cannot take their content down.
    """
    if not (f.category.csea and f.child_involved):
        return False
    return f.backed or f.trusted or f.independent_reporters >= 2
