"""The two maintained CEL implementations for Python, side by side, on Tutela's own rules.

Evaluates every condition of the packaged default policy, plus three rules of the shape the
text and image detectors will add, over the inputs of a realistic change (an adult tagging
three accounts on a child's playlist, four signals). Each engine compiles once and is timed on
evaluation only, the way the service uses it.

    .venv/bin/python bench/cel_engines.py
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import cel
import celpy
from rich.console import Console
from rich.table import Table

from tutela.policy import default_policy_path, load_policy
from tutela.policy.inputs import probe_contexts

EXTRA_RULES = [
    'signals.exists(s, s.category == "solicitation" && s.score >= 0.8) && owner.protected',
    'tagged.exists(t, t.protected && !t.connected_to_actor) && change.field in ["title", "description"]',
    'actor.age.band in ["adult", "unknown"] && signals.exists(s, s.label == "text.self_claimed_age")',
]


def realistic_inputs() -> dict[str, Any]:
    ctx = probe_contexts()[1]
    party = ctx["actor"]
    ctx["actor"] = {
        **party,
        "id": "adult-1",
        "is_actor": True,
        "connected_to_actor": True,
        "age": {"band": "adult", "basis": "declared", "confidence": 0.5},
    }
    ctx["owner"] = {
        **party,
        "id": "kid-1",
        "is_owner": True,
        "protected": True,
        "minor": True,
        "age": {"band": "child", "basis": "declared", "confidence": 0.9},
    }
    ctx["tagged"] = [{**ctx["owner"], "id": f"t{i}", "is_owner": False} for i in range(3)]
    signal = ctx["signals"][0]
    ctx["signals"] = [
        {**signal, "label": label, "category": cat, "score": score, "evidence": {"role": "owner"}}
        for label, cat, score in [
            ("contact.stranger", "stranger_contact", 1.0),
            ("text.image_request", "solicitation", 0.93),
            ("text.contact_exchange", "grooming", 0.71),
            ("text.self_claimed_age", "impersonation", 0.88),
        ]
    ]
    ctx["change"] = {**ctx["change"], "field": "title", "text": "send a pic", "tags": ["t0", "t1", "t2"]}
    return ctx


def time_per_call(fn: Any, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def main() -> None:
    policy = load_policy(default_policy_path())
    sources = [r.when.source for r in policy.rules] + EXTRA_RULES
    inputs = realistic_inputs()

    rust = [cel.compile(s) for s in sources]
    env = celpy.Environment()
    pure = [env.program(env.compile(s)) for s in sources]

    def run_rust() -> list[Any]:
        ctx = cel.Context(inputs)
        return [p.execute(ctx) for p in rust]

    def run_pure() -> list[Any]:
        activation = celpy.json_to_cel(inputs)
        return [p.evaluate(activation) for p in pure]

    assert [bool(x) for x in run_rust()] == [bool(x) for x in run_pure()], "the engines disagree"
    table = Table(title=f"{len(sources)} CEL conditions over one change's inputs (compile once, evaluate many)")
    for col in ("engine", "version", "evaluations", "mean µs", "p50 µs", "p99 µs"):
        table.add_column(col, justify="left" if col in ("engine", "version") else "right")
    from importlib.metadata import version

    for name, dist, fn, rounds in (
        ("common-expression-language (Rust)", "common-expression-language", run_rust, 5000),
        ("cel-python (pure Python)", "cel-python", run_pure, 300),
    ):
        fn()
        samples = sorted(time_per_call(fn, rounds))
        table.add_row(
            name,
            version(dist),
            str(rounds),
            f"{statistics.mean(samples) * 1e6:.0f}",
            f"{samples[len(samples) // 2] * 1e6:.0f}",
            f"{samples[int(len(samples) * 0.99)] * 1e6:.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
