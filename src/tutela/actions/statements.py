"""Statements of reasons (DSA Art. 17): what was restricted, why, on what ground, whether it
was automated, and how to appeal. The field names and values follow the EU DSA Transparency
Database (Art. 24(5)), so a platform can forward the statement there as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tutela.model import Action, ReportCategory

_VISIBILITY = {
    Action.HIDE: "DECISION_VISIBILITY_CONTENT_DISABLED",
    Action.REMOVE: "DECISION_VISIBILITY_CONTENT_REMOVED",
    Action.AGE_RESTRICT: "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
}
_ACCOUNT = {
    Action.SUSPEND: "DECISION_ACCOUNT_SUSPENDED",
    Action.TERMINATE: "DECISION_ACCOUNT_TERMINATED",
}
GROOMING_KEYWORD = "KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS"
CSAM_KEYWORD = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
_CATEGORY = {
    ReportCategory.CHILD_SEXUAL_EXPLOITATION: "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    ReportCategory.GROOMING: "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    ReportCategory.SEXUAL_CONTENT: "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT",
    ReportCategory.HARASSMENT: "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    ReportCategory.SPAM: "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    ReportCategory.OTHER: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
}
_LEGAL_GROUND = {
    ReportCategory.CHILD_SEXUAL_EXPLOITATION: "Child sexual abuse and exploitation offences (e.g. Directive 2011/93/EU; "
    "UK Online Safety Act 2023, Schedule 6; 18 U.S.C. 2252, 2422(b))",
    ReportCategory.GROOMING: "Solicitation of children for sexual purposes (Directive 2011/93/EU, Art. 6; "
    "UK Sexual Offences Act 2003, s. 15A)",
}


def statement(
    *,
    statement_id: str,
    action: Action,
    category: ReportCategory,
    account: str,
    subject_kind: str,
    subject_id: str,
    facts: str,
    ground: str,
    source: str,
    automated_detection: bool,
    automated_decision: bool,
    interim: bool,
    until: dt.datetime | None,
    case_id: str,
    now: dt.datetime,
    images: bool = False,
) -> dict[str, Any]:
    """One statement of reasons for `account`, the user the restriction affects."""
    illegal = ground == "illegal"
    body: dict[str, Any] = {
        "id": statement_id,
        "account": account,
        "case_id": case_id,
        "puid": f"{subject_kind}:{subject_id}",
        "action": action.value,
        "interim": interim,
        "decision_visibility": [_VISIBILITY[action]] if action in _VISIBILITY else [],
        "decision_account": _ACCOUNT.get(action),
        "decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION" if action is Action.RESTRICT_CONTACT else None,
        "end_date_account_restriction": until.isoformat() if until else None,
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT" if illegal else "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "illegal_content_legal_ground": _LEGAL_GROUND.get(category) if illegal else None,
        "incompatible_content_ground": None
        if illegal
        else f"The platform's terms of service ({category.value.replace('_', ' ')})",
        "category": _CATEGORY[category],
        "category_specification": _specification(category, images),
        "content_type": _content_type(subject_kind, images),
        "source_type": source,
        "automated_detection": "Yes" if automated_detection else "No",
        "automated_decision": "AUTOMATED_DECISION_FULLY" if automated_decision else "AUTOMATED_DECISION_NOT_AUTOMATED",
        "decision_facts": facts,
        "application_date": now.date().isoformat(),
        "redress": {
            "internal_complaint": "POST /v1/appeals with this case_id; a different moderator reviews it (DSA Art. 20)",
            "out_of_court_settlement": "DSA Art. 21",
            "judicial_redress": "the courts of the user's Member State",
        },
    }
    if interim:
        body["decision_facts"] = f"{facts} This is an interim measure while a moderator reviews the case."
    return body


def _specification(category: ReportCategory, images: bool) -> list[str]:
    """Child sexual exploitation is abuse material when there are images, enticement when it is
    words (a request for pictures); grooming is enticement."""
    if category is ReportCategory.CHILD_SEXUAL_EXPLOITATION:
        return [CSAM_KEYWORD] if images else [GROOMING_KEYWORD]
    if category is ReportCategory.GROOMING:
        return [GROOMING_KEYWORD]
    return []


def _content_type(subject_kind: str, images: bool) -> list[str]:
    if subject_kind != "object":
        return ["CONTENT_TYPE_OTHER"]
    return ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE"] if images else ["CONTENT_TYPE_TEXT"]
