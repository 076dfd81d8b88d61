"""Policies are refused at load, with every problem and its line."""

from __future__ import annotations

import textwrap

import pytest

from tutela.policy import PolicyError, default_policy_path, parse_policy


def rule(**overrides: object) -> str:
    base = {
        "id": "r1",
        "when": "owner.protected",
        "verdict": "block",
        "category": "stranger_contact",
        "severity": "high",
        "message": "no",
    }
    base.update(overrides)
    lines = "\n".join(f"    {k}: {v}" for k, v in base.items() if v is not None)
    return "  - " + lines.lstrip()


def policy(*rules: str) -> str:
    return "policy: p\nversion: 1\nrules:\n" + "\n".join(rules) + "\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as e:
        parse_policy(text, "p.yaml")
    return [str(p) for p in e.value.problems]


def test_default_policy_loads_with_a_content_version() -> None:
    p = parse_policy(default_policy_path().read_text(), "default.yaml")
    assert p.name == "default-child-safety"
    assert p.version.startswith("default-child-safety@6+") and len(p.version.split("+")[1]) == 12
    other = parse_policy(default_policy_path().read_text() + "\n# edited\n", "default.yaml")
    assert other.version != p.version, "a changed file must get a different recorded version"


def test_a_valid_rule_loads() -> None:
    p = parse_policy(policy(rule()), "p.yaml")
    assert [r.id for r in p.rules] == ["r1"] and p.rules[0].line == 4


def test_unknown_key_with_suggestion_and_line() -> None:
    text = policy(rule(verdcit="block", verdict=None))
    found = problems(text)
    assert "line 9: unknown key 'verdcit' in rule 'r1'; did you mean 'verdict'?" in found
    assert "line 4: rule 'r1' is missing the required key 'verdict'" in found


def test_unknown_field_in_condition_is_named_with_the_right_one() -> None:
    found = problems(policy(rule(when="actor.agee.band == 'child'")))
    assert found == ["line 5: when of rule 'r1': actor has no field 'agee'; did you mean 'age'?"]


def test_unknown_field_of_a_comprehension_variable() -> None:
    found = problems(policy(rule(when="signals.exists(s, s.lable == 'contact.stranger')")))
    assert found == ["line 5: when of rule 'r1': s has no field 'lable'; did you mean 'label'?"]


def test_map_keys_must_be_tested_with_has() -> None:
    [found] = problems(policy(rule(when="signals.exists(s, s.evidence.role == 'owner')")))
    assert found.startswith("line 5: when of rule 'r1' fails on inputs of the right types:")
    ok = "signals.exists(s, has(s.evidence.role) && s.evidence.role == 'owner')"
    assert parse_policy(policy(rule(when=ok))).rules


@pytest.mark.parametrize("when", ["viewer.protected", "viewer.exists(v, v.protected)", "size(viewer) > 0"])
def test_unknown_input_name(when: str) -> None:
    [found] = problems(policy(rule(when=when)))
    assert "unknown name 'viewer'" in found and found.startswith("line 5:")


def test_cel_syntax_error() -> None:
    [found] = problems(policy(rule(when="owner.protected &&")))
    assert found.startswith("line 5: when of rule 'r1' is not valid CEL:")


def test_type_error_found_before_any_change_is_seen() -> None:
    [found] = problems(policy(rule(when="owner.age.band > 3")))
    assert found.startswith("line 5: when of rule 'r1' fails on inputs of the right types:")


def test_condition_must_be_boolean_and_evidence_a_list() -> None:
    found = problems(policy(rule(when="owner.age.band", evidence="owner.id")))
    assert "line 5: when of rule 'r1' must be true or false, not str" in found
    assert "line 10: evidence of rule 'r1' must give a list, not str" in found


def test_bad_enums_and_duplicate_ids_are_all_reported() -> None:
    text = policy(rule(verdict="deny", severity="extreme"), rule(followups="[open_ticket]"))
    found = problems(text)
    assert any(f.startswith("line 6: verdict 'deny' is not one of: allow, allow_with_warning, hold, block") for f in found)
    assert any(f.startswith("line 8: severity 'extreme' is not one of") for f in found)
    assert any("followup 'open_ticket' is not one of" in f for f in found)
    assert any("rule id 'r1' is already used by the rule on line 4" in f for f in found)


def test_not_yaml_at_all() -> None:
    [found] = problems("policy: p\nrules: [\n")
    assert found.startswith("line ") and "not valid YAML" in found


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "42\n"])
def test_not_a_mapping(text: str) -> None:
    assert problems(text)


def test_top_level_problems() -> None:
    found = problems("policy: p\nrulez: []\n")
    assert "line 2: unknown key 'rulez' in the policy; did you mean 'rules'?" in found
    assert "line 1: the policy is missing the required key 'version'" in found


def test_strings_in_conditions_are_not_mistaken_for_fields() -> None:
    text = policy(rule(when='change.text == "actor.agee" && change.field in ["title", "a.b"]'))
    assert parse_policy(text).rules[0].id == "r1"


def test_multiline_conditions_report_the_key_line() -> None:
    text = textwrap.dedent(
        """\
        policy: p
        version: 1
        rules:
          - id: r1
            verdict: block
            category: other
            severity: low
            message: m
            when: >
              owner.protected
              && actor.is_ownr
        """
    )
    assert problems(text) == ["line 9: when of rule 'r1': actor has no field 'is_ownr'; did you mean 'is_owner'?"]


def test_macros_on_computed_lists_are_accepted() -> None:
    for when in ("signals.map(s, s.score).exists(x, x > 0.5)", "tagged.filter(t, t.protected).all(p, p.minor)"):
        assert parse_policy(policy(rule(when=when))).rules
