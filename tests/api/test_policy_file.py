"""A server running an operator's own policy file: shadow rules are recorded, not enforced."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support import Server, running_server, uid
from tutela.policy import default_policy_path

SHADOW = """
  - id: trial-hold-all-tags
    description: Being trialled; measured in shadow before it is enforced.
    when: size(change.tags) > 0
    verdict: hold
    category: grooming
    severity: medium
    message: held for review
    followups: [open_case]
    shadow: true
"""


@pytest.fixture(scope="module")
def shadow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("shadow")
    policy = Path(tmp) / "policy.yaml"
    policy.write_text(default_policy_path().read_text() + SHADOW)
    with running_server(f"sqlite:///{tmp}/t.db", TUTELA_POLICY=str(policy)) as s:
        yield s


def test_shadow_rules_fire_into_the_record_only(shadow_server: Server) -> None:
    api = shadow_server.client()
    a, b, pid = uid("a"), uid("b"), uid("p")
    api.account(a)
    api.account(b)
    api.playlist(pid, a)
    d = api.decide(a, pid, tags=[b])
    assert d["verdict"] == "allow" and d["reasons"] == []
    explained = shadow_server.client("moderator").http.get(f"/v1/decisions/{d['id']}").json()
    assert [s["rule"] for s in explained["shadow"]] == ["trial-hold-all-tags"]
    assert explained["shadow"][0]["verdict"] == "hold"
    assert explained["followups"] == []  # a shadow rule's follow-ups are not carried out
