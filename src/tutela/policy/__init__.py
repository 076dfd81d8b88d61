"""Rules as data: YAML files whose conditions are CEL expressions over typed inputs."""

from tutela.policy.engine import Evaluation, Policy, Rule, RuleError
from tutela.policy.loader import PolicyError, Problem, default_policy_path, load_policy, parse_policy

__all__ = [
    "Evaluation",
    "Policy",
    "PolicyError",
    "Problem",
    "Rule",
    "RuleError",
    "default_policy_path",
    "load_policy",
    "parse_policy",
]
