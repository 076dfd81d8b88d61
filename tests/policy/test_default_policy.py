"""The packaged default policy, through the same path the service takes."""

from pathlib import Path

from tutela.policy import default_policy_path, load_policy
from tutela.policy.testing import load_test_file, run_cases

CASES = Path(__file__).with_name("default_policy.cases.yaml")


def test_every_default_case_passes() -> None:
    world, cases = load_test_file(CASES)
    results = run_cases(load_policy(default_policy_path()), world, cases)
    failed = [f"{r.name}: {'; '.join(r.failures)}" for r in results if not r.passed]
    assert not failed, "\n".join(failed)
    assert len(results) == len(cases) >= 15


def test_the_default_policy_blocks_with_reasons_a_platform_can_show() -> None:
    policy = load_policy(default_policy_path())
    for rule in policy.rules:
        if rule.verdict.value == "block":
            assert rule.message and len(rule.message) < 140
            assert rule.evidence is not None


def test_a_case_with_the_wrong_expectation_fails() -> None:
    world, cases = load_test_file(CASES)
    wrong = [{**cases[0], "expect": {"verdict": "allow", "rules": []}}]
    [result] = run_cases(load_policy(default_policy_path()), world, wrong)
    assert not result.passed
    assert any("verdict block, expected allow" in f for f in result.failures)
