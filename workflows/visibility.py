"""What operators see of an inquiry in the Temporal UI: the contract's search attributes.

Only triage outcomes and staff ids go here, never personal data: Temporal does not encrypt them.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from models.contract import Urgency
from workflows.case import Case

STAGE = SearchAttributeKey.for_keyword("InquiryStage")
TIER = SearchAttributeKey.for_int("InquiryTier")
URGENCY = SearchAttributeKey.for_keyword("InquiryUrgency")
SECTOR = SearchAttributeKey.for_keyword("InquirySector")
CATEGORIES = SearchAttributeKey.for_keyword_list("InquiryCategories")
FLAGS = SearchAttributeKey.for_keyword_list("ComplianceFlags")
OWNER = SearchAttributeKey.for_keyword("InquiryOwner")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")

ALL_KEYS: tuple[SearchAttributeKey[Any], ...] = (
    STAGE,
    TIER,
    URGENCY,
    SECTOR,
    CATEGORIES,
    FLAGS,
    OWNER,
    SLA_BREACHED,
)


def search_attribute_updates(case: Case) -> list[SearchAttributeUpdate[Any]]:
    """The attributes as they should stand now; the workflow upserts the ones that changed."""
    updates: list[SearchAttributeUpdate[Any]] = [
        STAGE.value_set(case.stage.value),
        SECTOR.value_set(case.intake.sector.value),
        SLA_BREACHED.value_set(bool(case.sla.breaches)),
    ]
    if case.tier is not None:
        updates.append(TIER.value_set(case.tier))
    if case.triage is not None:
        updates.append(URGENCY.value_set(visible_urgency(case.triage.urgency).value))
        updates.append(CATEGORIES.value_set([c.value for c in case.triage.categories]))
        updates.append(FLAGS.value_set([f.value for f in case.triage.compliance_flags]))
    if case.owner is not None:
        updates.append(OWNER.value_set(case.owner))
    return updates


def visible_urgency(urgency: Urgency) -> Urgency:
    """The urgency a search attribute may show. Only the self-harm rules raise an inquiry to
    `critical` (config/triage_rules.toml), so in a plaintext, filterable attribute it would list
    those customers: operators see `high` there, the `status` query (encrypted) says `critical`,
    and the tier 3 notice has already told the people who must act at once."""
    return Urgency.HIGH if urgency == Urgency.CRITICAL else urgency


def list_query(
    *,
    stage: str | None = None,
    tier: int | None = None,
    owner: str | None = None,
    flag: str | None = None,
    breached: bool | None = None,
) -> str:
    """A visibility query for inquiries, as typed in the Temporal UI's filter box."""
    clauses = ['WorkflowType = "RegulatedInquiry"']
    for key, value in ((STAGE, stage), (OWNER, owner), (FLAGS, flag)):
        if value is not None:
            clauses.append(f"{key.name} = {_quoted(value)}")
    if tier is not None:
        clauses.append(f"{TIER.name} = {int(tier)}")
    if breached is not None:
        clauses.append(f"{SLA_BREACHED.name} = {'true' if breached else 'false'}")
    return " AND ".join(clauses)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
