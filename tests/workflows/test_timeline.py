"""The `status` query's timeline: the audit trail, event for event, in words an operator reads."""

from __future__ import annotations

from models.contract import Stage
from tests import support
from tests.workflows import drive
from tests.workflows.world import AGENT, MANAGER, OWNER, REVIEWER, World, routine

NOTE = "Customer said the second charge left her account overdrawn"


async def test_the_status_timeline_tells_the_audit_trail_event_for_event(world: World) -> None:
    world.triage = routine()
    handle = await world.start(support.billing_only())
    await drive.wait_for_stage(handle, Stage.FOLLOW_UP)
    await handle.signal("add_note", {"author_id": OWNER, "text": NOTE, "kind": "sentiment"})
    await handle.signal("compliance_decision", {"reviewer_id": REVIEWER, "decision": "approve"})
    reassign = {"owner_id": AGENT, "by": MANAGER, "reason": "holiday cover"}
    await handle.signal("reassign_owner", reassign)
    await drive.wait_for(handle, lambda s: s.owner == AGENT, "the roster-checked new owner")
    await handle.signal("withdraw", {"by": AGENT, "reason": "customer withdrew by phone"})
    assert (await handle.result()).stage == Stage.WITHDRAWN

    timeline = (await drive.status(handle)).timeline
    documented = world.events
    assert len(timeline) == len(documented) > 10
    assert [(e.seq, e.at, e.actor, e.action) for e in timeline] == [
        (int(a.event_key.rsplit(":", 1)[1]), a.at, a.actor, a.action) for a in documented
    ]
    unphrased = [e.action for e in timeline if e.text == e.action.replace("_", " ")]
    assert unphrased == []
    said = [(e.actor, e.text) for e in timeline]
    assert ("intake", "inquiry received by portal") == said[0]
    assert (OWNER, "sentiment added (text in the audit trail)") in said
    assert ("system", "stage follow_up → withdrawn") == said[-1]
    assert (MANAGER, f"owner now {AGENT} (care): holiday cover") in said
    released = "draft v1 released by policy: routine: routine.commerce; no sensitivity signal"
    assert any(who == "system" and text.startswith(released) for who, text in said)
    assert (REVIEWER, "compliance_decision refused: no draft awaits a compliance decision") in said
    assert not any(NOTE in text for _, text in said)
