"""Loading a policy file, and refusing it with line-precise problems when it is wrong.

A policy file is YAML:

    policy: default-child-safety
    version: 1
    description: ...
    rules:
      - id: stranger-edits-protected-object
        when: owner.protected && !actor.is_owner && !owner.connected_to_actor
        verdict: block
        category: stranger_contact
        severity: high
        message: Only people this account is connected with can change it.
        followups: [record_contact]
        evidence: signals.filter(s, s.label == "contact.stranger")
        shadow: false

Every problem found is reported, each with its line, not just the first.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TypeVar

import cel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from tutela.cases.rules import Casework
from tutela.model import Category, Followup, Severity, Verdict
from tutela.policy.engine import Policy, Rule
from tutela.policy.inputs import INPUTS, Type, probe_contexts

TOP_KEYS = {"policy": True, "version": True, "description": False, "rules": True, "casework": False}
RULE_KEYS = {
    "id": True,
    "when": True,
    "verdict": True,
    "category": True,
    "severity": True,
    "message": True,
    "description": False,
    "followups": False,
    "evidence": False,
    "shadow": False,
}
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
E = TypeVar("E", bound=StrEnum)
MACROS = {"all", "exists", "exists_one", "map", "filter"}


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; 0 when the problem is about the whole file
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class PolicyError(ValueError):
    """The policy file cannot be used. `problems` lists every reason, each with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        body = "\n".join(f"  {source}:{p.line}: {p.message}" if p.line else f"  {source}: {p.message}" for p in problems)
        super().__init__(f"policy {source} has {len(problems)} problem(s):\n{body}")


def default_policy_path() -> Path:
    return Path(str(resources.files("tutela.policy").joinpath("default.yaml")))


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(str(p), [Problem(0, f"cannot read the file: {e}")]) from e
    return parse_policy(text, str(p))


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        doc = YAML(typ="rt").load(text)
    except MarkedYAMLError as e:
        line = e.problem_mark.line + 1 if e.problem_mark else 0
        raise PolicyError(source, [Problem(line, f"not valid YAML: {e.problem}")]) from e
    problems: list[Problem] = []
    if not isinstance(doc, CommentedMap):
        raise PolicyError(source, [Problem(1, "the file must be a mapping with policy, version and rules")])
    _check_keys(doc, TOP_KEYS, "the policy", 1, problems)
    name = str(doc.get("policy", ""))
    version = str(doc.get("version", ""))
    rules_node = doc.get("rules")
    rules: list[Rule] = []
    if "rules" in doc and not isinstance(rules_node, list):
        problems.append(Problem(_line(doc, "rules"), "rules must be a list of rules"))
    seen: dict[str, int] = {}
    for i, node in enumerate(rules_node if isinstance(rules_node, list) else []):
        line = rules_node.lc.item(i)[0] + 1
        if not isinstance(node, CommentedMap):
            problems.append(Problem(line, "each rule must be a mapping with id, when, verdict, ..."))
            continue
        rid = str(node.get("id", ""))
        if rid in seen:
            problems.append(Problem(line, f"rule id {rid!r} is already used by the rule on line {seen[rid]}"))
        seen.setdefault(rid, line)
        rule = _parse_rule(node, line, problems)
        if rule is not None:
            rules.append(rule)
    casework = Casework()
    try:
        casework = Casework.parse(doc.get("casework"))
    except ValueError as e:
        problems.append(Problem(_line(doc, "casework"), str(e)))
    if problems:
        raise PolicyError(source, problems)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Policy(name=name, version=f"{name}@{version}+{digest}", source=source, rules=rules, casework=casework)


def _line(node: CommentedMap, key: str) -> int:
    try:
        return int(node.lc.key(key)[0]) + 1
    except (KeyError, TypeError):
        return int(node.lc.line) + 1


def _check_keys(node: CommentedMap, allowed: dict[str, bool], what: str, line: int, problems: list[Problem]) -> None:
    for key in node:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(allowed)}"
            problems.append(Problem(_line(node, key), f"unknown key {key!r} in {what}{also}"))
    for key, required in allowed.items():
        if required and key not in node:
            problems.append(Problem(line, f"{what} is missing the required key {key!r}"))


def _enum(node: CommentedMap, key: str, enum: type[E], problems: list[Problem]) -> E | None:
    value = node.get(key)
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        problems.append(Problem(_line(node, key), f"{key} {value!r} is not one of: {choices}"))
        return None


def _parse_rule(node: CommentedMap, line: int, problems: list[Problem]) -> Rule | None:
    before = len(problems)
    rid = str(node.get("id", ""))
    what = f"rule {rid!r}" if rid else "a rule"
    _check_keys(node, RULE_KEYS, what, line, problems)
    if "id" in node and not RULE_ID.match(rid):
        problems.append(Problem(_line(node, "id"), f"rule id {rid!r} must be lower-case letters, digits and dashes"))
    verdict = _enum(node, "verdict", Verdict, problems) if "verdict" in node else None
    category = _enum(node, "category", Category, problems) if "category" in node else None
    severity = _enum(node, "severity", Severity, problems) if "severity" in node else None
    followups: list[Followup] = []
    raw_followups = node.get("followups", [])
    if not isinstance(raw_followups, list):
        problems.append(Problem(_line(node, "followups"), "followups must be a list"))
    else:
        for f in raw_followups:
            try:
                followups.append(Followup(f))
            except ValueError:
                choices = ", ".join(x.value for x in Followup)
                problems.append(Problem(_line(node, "followups"), f"followup {f!r} is not one of: {choices}"))
    shadow = node.get("shadow", False)
    if not isinstance(shadow, bool):
        problems.append(Problem(_line(node, "shadow"), "shadow must be true or false"))
    for key in ("message", "description"):
        if key in node and not isinstance(node[key], str):
            problems.append(Problem(_line(node, key), f"{key} must be text"))
    when = _compile(node, "when", "bool", what, problems) if "when" in node else None
    evidence = _compile(node, "evidence", "list", what, problems) if "evidence" in node else None
    if len(problems) > before or when is None or verdict is None or category is None or severity is None:
        return None
    return Rule(
        id=rid,
        description=str(node.get("description", "")),
        when=when,
        verdict=verdict,
        category=category,
        severity=severity,
        message=str(node["message"]),
        followups=tuple(followups),
        evidence=evidence,
        shadow=bool(shadow),
        line=line,
    )


def _compile(node: CommentedMap, key: str, result: str, what: str, problems: list[Problem]) -> cel.Program | None:
    source = node[key]
    line = _line(node, key)
    if not isinstance(source, str) or not source.strip():
        problems.append(Problem(line, f"{key} of {what} must be a CEL expression"))
        return None
    try:
        program = cel.compile(source)
    except ValueError as e:
        problems.append(Problem(line, f"{key} of {what} is not valid CEL: {_first_line(e)}"))
        return None
    path_problems = check_paths(source)
    for message in path_problems:
        problems.append(Problem(line, f"{key} of {what}: {message}"))
    if path_problems:
        return None
    for probe in probe_contexts():
        try:
            value = program.execute(cel.Context(probe))
        except Exception as e:
            problems.append(Problem(line, f"{key} of {what} fails on inputs of the right types: {_first_line(e)}"))
            return None
        if result == "bool" and not isinstance(value, bool):
            problems.append(Problem(line, f"{key} of {what} must be true or false, not {type(value).__name__}"))
            return None
        if result == "list" and not isinstance(value, list):
            problems.append(Problem(line, f"{key} of {what} must give a list, not {type(value).__name__}"))
            return None
    return program


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


_STRING = re.compile(
    r"""[rRbB]{0,2}(""" r'"""(?:\\.|[^\\])*?"""' r"""|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')"""
)
_CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)(\s*\()?")
_BINDING = re.compile(r"([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*\.\s*(?:" + "|".join(MACROS) + r")\s*\(\s*([A-Za-z_]\w*)\s*,")
_ANY_BINDING = re.compile(r"\.\s*(?:" + "|".join(MACROS) + r")\s*\(\s*([A-Za-z_]\w*)\s*,")
_WORDS = {"true", "false", "null", "in"}


def check_paths(source: str) -> list[str]:
    """Check every field a CEL expression reads against INPUTS: `actor.agee.band` is caught
    here, at load, with the names that would have been right."""
    code = _STRING.sub('""', source)
    # Every comprehension variable, whatever its list; typed where the list is an input path.
    bound: dict[str, Type | None] = {m.group(1): None for m in _ANY_BINDING.finditer(code)}
    for m in _BINDING.finditer(code):
        t = _resolve(_segments(m.group(1)), bound)
        bound[m.group(2)] = t.item if isinstance(t, Type) and t.kind == "list" else None
    problems: list[str] = []
    for m in _CHAIN.finditer(code):
        segments = _segments(m.group(1))
        if m.group(2):  # a call: the last segment is a function or method name
            if len(segments) == 1:
                continue  # a global function such as size(...) or has(...)
            segments = segments[:-1]
        if segments[0] in _WORDS:
            continue
        root = segments[0]
        if root not in INPUTS and root not in bound:
            known = ", ".join(INPUTS)
            problems.append(f"unknown name {root!r}; the inputs are {known}")
            continue
        err = _resolve(segments, bound)
        if isinstance(err, str):
            problems.append(err)
    return problems


def _segments(chain: str) -> list[str]:
    return [s.strip() for s in chain.split(".")]


def _resolve(segments: list[str], bound: dict[str, Type | None]) -> Type | str | None:
    root = segments[0]
    t: Type | None = INPUTS.get(root) if root in INPUTS else bound.get(root)
    path = root
    for seg in segments[1:]:
        if t is None or t.kind == "map":
            return None  # dynamic: nothing more to check
        if t.kind != "struct":
            return f"{path} is a {t.describe()}; it has no field {seg!r}"
        if seg not in t.fields:
            hint = difflib.get_close_matches(seg, t.fields, n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else f"; its fields are {', '.join(t.fields)}"
            return f"{path} has no field {seg!r}{also}"
        t = t.fields[seg]
        path = f"{path}.{seg}"
    return t
