"""Evaluation: precedence of verdicts, shadow rules, evidence, and rules that fail at runtime."""

from __future__ import annotations

from typing import Any

from tutela.model import Followup, Verdict
from tutela.policy import parse_policy
from tutela.policy.inputs import probe_contexts

POLICY = """\
policy: engine-test
version: 7
rules:
  - id: warn-long
    when: size(change.text) > 5
    verdict: allow_with_warning
    category: other
    severity: low
    message: long
  - id: hold-tagged
    when: size(tagged) > 0
    verdict: hold
    category: grooming
    severity: medium
    message: held
    followups: [open_case]
  - id: block-word
    when: change.text.contains("forbidden")
    verdict: block
    category: other
    severity: high
    message: blocked
    followups: [open_case, notify]
    evidence: '[change.text]'
  - id: shadow-everything
    when: "true"
    verdict: block
    category: other
    severity: critical
    message: shadow
    shadow: true
  - id: fails-at-runtime
    when: size(signals) / (2 - size(signals)) > 0
    verdict: block
    category: other
    severity: low
    message: never
"""


def inputs(text: str = "", tagged: int = 0, signals: int = 0) -> dict[str, Any]:
    ctx = probe_contexts()[1]
    ctx["change"]["text"] = text
    ctx["tagged"] = ctx["tagged"] * tagged
    ctx["signals"] = [{**ctx["signals"][0], "evidence": {}}] * signals
    return ctx


def test_no_rule_fired_means_allow() -> None:
    ev = parse_policy(POLICY).evaluate(inputs("hi"))
    assert ev.verdict is Verdict.ALLOW and ev.hits == () and ev.followups == ()


def test_most_severe_enforced_verdict_wins_and_followups_merge() -> None:
    ev = parse_policy(POLICY).evaluate(inputs("forbidden words", tagged=1))
    assert ev.verdict is Verdict.BLOCK
    assert [h.rule for h in ev.hits] == ["block-word", "hold-tagged", "warn-long"]
    assert ev.followups == (Followup.OPEN_CASE, Followup.NOTIFY)
    assert ev.hits[0].evidence == ("forbidden words",)


def test_shadow_rules_are_recorded_never_enforced() -> None:
    ev = parse_policy(POLICY).evaluate(inputs("hi"))
    assert ev.verdict is Verdict.ALLOW
    assert [h.rule for h in ev.shadow_hits] == ["shadow-everything"] and ev.shadow_hits[0].shadow


def test_a_rule_failing_at_runtime_is_recorded_and_does_not_fire() -> None:
    ev = parse_policy(POLICY).evaluate(inputs("hi", signals=2))
    assert ev.verdict is Verdict.ALLOW
    assert [e.rule for e in ev.errors] == ["fails-at-runtime"]
    assert "divide" in ev.errors[0].error.lower() or "zero" in ev.errors[0].error.lower()


def test_a_broken_evidence_list_does_not_undo_a_rule_that_fired() -> None:
    text = POLICY.replace("evidence: '[change.text]'", "evidence: '[change.text, size(signals) / (2 - size(signals))]'")
    ev = parse_policy(text).evaluate(inputs("forbidden", signals=2))
    assert ev.verdict is Verdict.BLOCK and "block-word" in [h.rule for h in ev.hits]
    assert any(e.rule == "block-word" and e.error.startswith("evidence:") for e in ev.errors)
