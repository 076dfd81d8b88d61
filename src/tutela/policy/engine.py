"""Evaluating a loaded policy over one change's inputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cel

from tutela.cases.rules import Casework
from tutela.model import Category, Followup, RuleHit, Severity, Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    when: cel.Program
    verdict: Verdict
    category: Category
    severity: Severity
    message: str
    followups: tuple[Followup, ...]
    evidence: cel.Program | None
    shadow: bool
    line: int  # 1-based line of the rule in its file


@dataclass(frozen=True)
class RuleError:
    """A rule that could not be evaluated on this change. It counts as not fired, is recorded
    on the decision and counted in `tutela_rule_errors_total`, so an operator sees it."""

    rule: str
    error: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "error": self.error}


@dataclass(frozen=True)
class Evaluation:
    verdict: Verdict
    hits: tuple[RuleHit, ...]  # enforced rules that fired, most severe verdict first
    shadow_hits: tuple[RuleHit, ...]  # shadow rules that fired: recorded, never enforced
    errors: tuple[RuleError, ...]

    @property
    def followups(self) -> tuple[Followup, ...]:
        return tuple(dict.fromkeys(f for h in self.hits for f in h.followups))


@dataclass(frozen=True)
class Policy:
    name: str
    version: str  # "name@version+sha256prefix": what every decision records
    source: str  # the file it came from
    rules: Sequence[Rule]
    casework: Casework = field(default_factory=Casework)  # service levels and strikes (tutela.cases)

    def evaluate(self, inputs: dict[str, Any]) -> Evaluation:
        context = cel.Context(inputs)
        hits: list[RuleHit] = []
        shadow: list[RuleHit] = []
        errors: list[RuleError] = []
        for rule in self.rules:
            try:
                fired = rule.when.execute(context)
                if not isinstance(fired, bool):
                    raise TypeError(f"condition returned {type(fired).__name__}, not bool")
            except Exception as e:  # a rule's runtime error must not fail the check
                log.warning("rule %s failed to evaluate: %s", rule.id, e)
                errors.append(RuleError(rule.id, f"{type(e).__name__}: {e}"))
                continue
            if not fired:
                continue
            evidence: Any = []
            if rule.evidence is not None:
                try:
                    evidence = rule.evidence.execute(context)
                except Exception as e:  # the rule fired: a broken evidence list must not undo that
                    log.warning("evidence of rule %s failed to evaluate: %s", rule.id, e)
                    errors.append(RuleError(rule.id, f"evidence: {type(e).__name__}: {e}"))
            hit = RuleHit(
                rule=rule.id,
                verdict=rule.verdict,
                category=rule.category,
                severity=rule.severity,
                message=rule.message,
                followups=rule.followups,
                evidence=tuple(evidence) if isinstance(evidence, list) else (evidence,),
                shadow=rule.shadow,
            )
            (shadow if rule.shadow else hits).append(hit)
        hits.sort(key=lambda h: (-h.verdict.rank, -h.severity.rank))
        verdict = hits[0].verdict if hits else Verdict.ALLOW
        return Evaluation(verdict, tuple(hits), tuple(shadow), tuple(errors))
