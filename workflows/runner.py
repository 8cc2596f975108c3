"""How workers run the workflows: in Temporal's sandbox, with the case file and the pure modules
it is built from passed through.

The sandbox imports a workflow's modules afresh for every run it starts, so that no run can see
another's module state. These modules hold none: models, rules and views, functions of their
arguments (no clock, no I/O, no `workflow.*` call; tests/unit/test_runner.py checks), which
Temporal's guidance says to pass through "for performance and behavior reasons". Imported once
per worker, they are no longer rebuilt (their pydantic models most of all) each time a run starts
or comes back into the cache, nor kept once per cached run. What calls `workflow.*` stays in the
sandbox, where its restrictions apply.

Used alike by the worker, the workflow tests and the replay gate: what is replayed is what runs.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PURE = (
    "workflows.case",
    "workflows.clocks",
    "workflows.disclosure",
    "workflows.drafting",
    "workflows.intake",
    "workflows.messages",
    "workflows.policies",
    "workflows.release",
    "workflows.requests",
    "workflows.signals",
    "workflows.sla",
    "workflows.timeline",
    "workflows.views",
    "workflows.visibility",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PURE)
    )
