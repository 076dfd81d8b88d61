"""Prometheus metrics, served at /metrics."""

from prometheus_client import Counter, Histogram

CHECKS = Counter("tutela_checks_total", "Changes checked, by verdict", ["verdict"])
CHECK_SECONDS = Histogram(
    "tutela_check_seconds",
    "Time to decide one change, from parsed request to committed decision",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
RULE_ERRORS = Counter("tutela_rule_errors_total", "Rule evaluations that failed (counted as not fired)", ["rule"])
REPORTS = Counter("tutela_reports_total", "Reports received, by category and interim measure taken", ["category", "interim"])
CASE_DECISIONS = Counter("tutela_case_decisions_total", "Moderator decisions on cases, by action", ["action"])
PROBLEMS = Counter("tutela_problems_total", "Error responses, by status and problem type", ["status", "type"])
