"""What an operator sees in the Temporal Web UI, in headless Chromium: the list filtered by each
contract search attribute, a workflow's summary and details without personal data, and
reassign / escalate from starter.py showing up there within seconds.

Expected answers come from the inquiries' own `status` query, not from this file: the UI must
agree with what each workflow says of itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle

import starter
from models.status import InquiryStatus
from tests.browser.ui import TemporalUi
from tests.integration.conftest import Stack
from tests.integration.helpers import audit, status_when
from tests.support import billing_only, intake, new_id
from workflows import views

SEEN_WITHIN_S = 15.0  # from the command to the page showing it, on a busy 2-core machine
QUIET_S = 1.5


def legal_intake() -> dict[str, Any]:
    return intake(
        new_id("UI"),
        sector="legal",
        channel="email",
        topics=["legal"],
        subject="Urgent: attorney-client privileged notes",
        body="My attorney-client privileged notes were shared; I will file a lawsuit.",
    )


async def run_starter(stack: Stack, *argv: str) -> str:
    out = StringIO()
    code = await starter.main(list(argv), client=stack.client, out=out)
    assert code == 0, f"starter.py {' '.join(argv)} exited {code}"
    return out.getvalue()


async def start(stack: Stack, payload: dict[str, Any], folder: Path) -> str:
    """Through starter.py, as an intake system does; the workflow id."""
    path = folder / f"{payload['inquiry_id']}.json"
    path.write_text(json.dumps(payload))
    return str(json.loads(await run_starter(stack, "start", str(path)))["workflow_id"])


def attributes(current: InquiryStatus) -> dict[str, Any]:
    """What each contract search attribute should say, by the workflow's own account."""
    return {
        "InquiryStage": current.stage.value,
        "InquiryTier": current.tier,
        "InquiryUrgency": current.urgency.value if current.urgency else None,
        "InquirySector": current.sector.value,
        "InquiryCategories": [c.value for c in current.categories],
        "ComplianceFlags": [f.value for f in current.compliance_flags],
        "InquiryOwner": current.owner,
        "SlaBreached": bool(current.sla_breaches),
    }


def workflow_id(current: InquiryStatus) -> str:
    return f"inquiry-{current.inquiry_id}"


@pytest.fixture(scope="module")
async def inquiries(
    ui_stack: tuple[Stack, str], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, InquiryStatus]:
    """Four inquiries that differ on every attribute, each settled where it stays until the
    last test moves one: their status by name."""
    stack, _ = ui_stack
    folder = tmp_path_factory.mktemp("intakes")
    week_ago = (datetime.now(UTC) - timedelta(days=7)).replace(microsecond=0).isoformat()
    waiting = lambda s: s.stage == "awaiting_compliance"  # noqa: E731
    plan = {
        # tier 2, billing + clinical + legal, HIPAA: waits for a reviewer
        "routine": (intake(new_id("UI")), waiting),
        # tier 3, legal, privileged and urgent: waits for two legal reviewers
        "privileged": (legal_intake(), waiting),
        # tier 1 with no flag: released by policy, surveyed and closed in seconds
        "shop": (billing_only(new_id("UI")), lambda s: s.stage == "closed"),
        # received a week ago: the resolution SLA is breached on arrival; escalated to tier 3
        "late": (
            intake(new_id("UI"), received_at=week_ago),
            lambda s: waiting(s) and s.tier == 3 and bool(s.sla_breaches),
        ),
    }
    started = {name: await start(stack, payload, folder) for name, (payload, _) in plan.items()}
    return {
        name: await settled(stack.client.get_workflow_handle(started[name]), ready)
        for name, (_, ready) in plan.items()
    }


async def settled(
    handle: WorkflowHandle[Any, Any], ready: Callable[[InquiryStatus], bool]
) -> InquiryStatus:
    """The status once `ready` holds and nothing more happens for a while: an escalation,
    say, raises the tier before it names the new owner."""
    current = await status_when(handle, ready, timeout_s=60)
    while True:
        await asyncio.sleep(QUIET_S)
        again = await status_when(handle, ready)
        if len(again.timeline) == len(current.timeline):
            return again
        current = again


FILTERS = [
    ("InquiryStage", '"awaiting_compliance"'),
    ("InquiryTier", "3"),
    ("InquiryUrgency", '"high"'),
    ("InquirySector", '"legal"'),
    ("InquiryCategories", '"clinical"'),
    ("ComplianceFlags", '"HIPAA"'),
    ("InquiryOwner", None),  # the routine inquiry's owner, whoever the roster chose
    ("SlaBreached", "true"),
]


@pytest.mark.parametrize(("name", "value"), FILTERS, ids=[name for name, _ in FILTERS])
async def test_the_list_filtered_by_each_search_attribute_shows_the_right_inquiries(
    ui: TemporalUi, inquiries: dict[str, InquiryStatus], name: str, value: str | None
) -> None:
    said = {workflow_id(current): attributes(current) for current in inquiries.values()}
    if value is None:
        value = json.dumps(attributes(inquiries["routine"])[name])
    wanted = json.loads(value)
    expected = {
        found
        for found, values in said.items()
        if values[name] == wanted or (isinstance(values[name], list) and wanted in values[name])
    }
    assert expected and expected != set(said), f"{name} = {value} must tell the inquiries apart"

    shown = await ui.listed_as(f"{name} = {value}", expected, f"list-{name}")

    assert shown == expected


async def test_the_tier_3_compliance_queue_is_one_filter_and_one_command(
    ui: TemporalUi, ui_stack: tuple[Stack, str], inquiries: dict[str, InquiryStatus]
) -> None:
    stack, _ = ui_stack
    query = 'InquiryStage = "awaiting_compliance" AND InquiryTier = 3'
    expected = {workflow_id(inquiries["privileged"]), workflow_id(inquiries["late"])}

    assert await ui.listed_as(query, expected, "list-tier3-compliance-queue") == expected
    listed = json.loads(
        await run_starter(stack, "list", "--stage", "awaiting_compliance", "--tier", "3", "--json")
    )
    assert {f"inquiry-{row['inquiry_id']}" for row in listed["inquiries"]} == expected


async def test_the_workflow_page_shows_summary_and_details_without_personal_data(
    ui: TemporalUi, inquiries: dict[str, InquiryStatus]
) -> None:
    current = inquiries["routine"]
    shown = await ui.user_metadata(workflow_id(current), "workflow-user-metadata")

    assert shown.summary == views.summary_line(
        sector=current.sector,
        channel=current.channel,
        tier=current.tier,
        categories=current.categories,
        flags=current.compliance_flags,
    )
    assert f"Inquiry {current.inquiry_id}, received" in shown.details
    # The rules that fired stay in `status`: some say how the customer feels.
    assert current.rules_fired
    assert not any(hit.rule_id in shown.details for hit in current.rules_fired)
    assert shown.current_details.startswith(shown.summary)
    assert "Stage awaiting_compliance" in shown.current_details
    assert f"Owner {current.owner}" in shown.current_details
    assert "billing: completed" in shown.current_details
    assert "SLA resolution running, due" in shown.current_details
    assert "**" not in shown.everything  # rendered, not markdown source
    sent = intake()
    customer = sent["customer"]
    personal = [customer["name"], customer["email"], customer["customer_id"], sent["subject"]]
    assert [p for p in personal if p.lower() in shown.everything.lower()] == []


async def test_reassign_and_escalate_from_the_cli_show_in_the_ui_within_seconds(
    ui: TemporalUi, ui_stack: tuple[Stack, str], inquiries: dict[str, InquiryStatus]
) -> None:
    stack, _ = ui_stack
    current = inquiries["routine"]
    wid, inquiry_id = workflow_id(current), current.inquiry_id
    new_owner = "agent.ana" if current.owner != "agent.ana" else "agent.kai"

    asked = datetime.now(UTC)
    await run_starter(stack, "reassign", inquiry_id, "--owner", new_owner, "--by", "operator.oona",
                      "--reason", "holiday cover")  # fmt: skip
    shown = await ui.user_metadata_until(
        wid, lambda m: f"Owner {new_owner}" in m.current_details, "workflow-reassigned"
    )
    assert f"Owner {new_owner}" in shown.current_details
    assert (datetime.now(UTC) - asked).total_seconds() < SEEN_WITHIN_S
    owned = {workflow_id(s) for s in inquiries.values() if s.owner == new_owner} | {wid}
    assert await ui.listed_as(f'InquiryOwner = "{new_owner}"', owned, "list-reassigned") == owned

    asked = datetime.now(UTC)
    await run_starter(stack, "escalate", inquiry_id, "--by", "operator.oona", "--reason", "chased")
    shown = await ui.user_metadata_until(
        wid, lambda m: m.current_details.startswith("Tier 3 ·"), "workflow-escalated"
    )
    assert shown.current_details.startswith("Tier 3 ·")
    assert (datetime.now(UTC) - asked).total_seconds() < SEEN_WITHIN_S
    tier3 = {workflow_id(inquiries["privileged"]), workflow_id(inquiries["late"]), wid}
    assert await ui.listed_as("InquiryTier = 3", tier3, "list-escalated") == tier3


async def test_the_ui_decodes_an_inquiry_for_a_signed_in_operator_only(
    ui_stack: tuple[Stack, str], ui: TemporalUi, stranger_ui: TemporalUi, tmp_path: Path
) -> None:
    stack, _ = ui_stack
    marker = f"Canarybody{new_id('M')}"
    payload = billing_only(new_id("UI")) | {"body": f"{marker}: I was charged twice."}
    workflow_id = await start(stack, payload, tmp_path)

    assert not await stranger_ui.input_shown(workflow_id, marker, "input-not-signed-in")
    assert await ui.input_shown(workflow_id, marker, "input-signed-in")
    decodes = [
        row for row in audit(stack, payload["inquiry_id"]) if row.action == "payloads_decoded"
    ]
    assert decodes and {row.actor for row in decodes} == {stack.codec.operator}
