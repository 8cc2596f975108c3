"""How workers run the workflows: in Temporal's sandbox, with this package passed through.

The sandbox imports a workflow's modules afresh for every run it starts, so that no run can see
another's module state, and proxies the standard library so that a clock read or I/O in workflow
code fails loudly. Both have a price: every run in the worker's cache holds its own copy of the
package (about 0.25 MiB per cached inquiry, half of what one costs; BENCHMARKS.md), and every run
that starts or comes back into the cache executes it again, pydantic models and all. Temporal's
guidance is to pass through modules "whose calls will be deterministic ... for performance and
behavior reasons", and `workflows/` is that by construction: it keeps no module state, reads
time only through `workflow.now()` and does its I/O only through activities.

What the sandbox would have caught at run time is held by tests instead:
tests/unit/test_runner.py reads every module here and refuses a clock, randomness, I/O, a
`global` or mutable module state; the replay gate (tests/replay/) replays every recorded path;
and the integration suite runs again with no workflow cache, so every task replays its whole
history. Models and activities were passed through already (`imports_passed_through`).

Used alike by the worker, the workflow tests, the replay gate and the benchmark's ceiling: what
is replayed is what runs.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSED_THROUGH = ("workflows",)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH)
    )
