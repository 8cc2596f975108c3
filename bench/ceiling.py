"""The ceiling: only the steps an inquiry cannot do without, on no-op activities.

Start, one triage activity, three department activities in parallel, the stage made visible for
reviewers (one search attribute upsert), an approval signal, a communicate activity, the survey
timer, a survey-send activity, a survey-answer signal. The benchmark runs it on the same server,
through the same data converter and with the same worker settings as the real inquiry, so the
gap between the two is what the inquiry's own work costs.

`python -m bench.ceiling` runs a worker for it until SIGINT or SIGTERM, configured like
`worker.py` (TEMPORAL_ADDRESS, INQUIRY_MAX_CACHED_WORKFLOWS and the key store for the codec).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from pydantic import TypeAdapter

    import clients
    from models.settings import Settings
    from workflows.runner import workflow_runner
    from workflows.visibility import STAGE

QUEUE = "ceiling"
DEPARTMENTS = ("billing", "clinical", "legal")
STEP = timedelta(seconds=30)
DURATION = TypeAdapter(timedelta)  # ISO 8601, as the intake's policy overrides are written


@activity.defn(name="ceiling_triage")
async def triage(intake: dict[str, Any]) -> dict[str, Any]:
    return {"tier": 1, "categories": ["billing"]}


@activity.defn(name="ceiling_department")
async def department(name: str) -> dict[str, Any]:
    return {"department": name, "status": "completed"}


@activity.defn(name="ceiling_communicate")
async def communicate(inquiry_id: str) -> str:
    return f"{inquiry_id}:resolution"


@activity.defn(name="ceiling_send_survey")
async def send_survey(inquiry_id: str) -> str:
    return f"{inquiry_id}:survey"


ACTIVITIES = (triage, department, communicate, send_survey)


@workflow.defn(name="CeilingInquiry")
class CeilingInquiry:
    def __init__(self) -> None:
        self.stage = "received"
        self.survey: dict[str, Any] | None = None
        self.approved = self.answered = False

    @workflow.run
    async def run(self, intake: dict[str, Any]) -> dict[str, Any]:
        inquiry_id = intake["inquiry_id"]
        await workflow.execute_activity(triage, intake, start_to_close_timeout=STEP)
        self.stage = "routing"
        await asyncio.gather(
            *(
                workflow.execute_activity(department, name, start_to_close_timeout=STEP)
                for name in DEPARTMENTS
            )
        )
        self.stage = "awaiting_compliance"
        workflow.upsert_search_attributes([STAGE.value_set(self.stage)])
        await workflow.wait_condition(lambda: self.approved)
        self.stage = "communicating"
        await workflow.execute_activity(communicate, inquiry_id, start_to_close_timeout=STEP)
        self.stage = "follow_up"
        await workflow.sleep(DURATION.validate_python(intake["policy"]["survey_delay"]))
        ref = await workflow.execute_activity(send_survey, inquiry_id, start_to_close_timeout=STEP)
        self.survey = {"sent_at": workflow.now().isoformat(), "survey_ref": ref}
        await workflow.wait_condition(lambda: self.answered)
        self.stage = "closed"
        return {"stage": self.stage}

    @workflow.signal
    def compliance_decision(self, decision: dict[str, Any]) -> None:
        self.approved = self.stage == "awaiting_compliance" and decision["decision"] == "approve"

    @workflow.signal
    def survey_response(self, answer: dict[str, Any]) -> None:
        self.answered = self.survey is not None

    @workflow.query
    def status(self) -> dict[str, Any]:
        return {"stage": self.stage, "survey": self.survey}


async def serve(client: Client, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=QUEUE,
        workflows=[CeilingInquiry],
        activities=list(ACTIVITIES),
        max_cached_workflows=settings.max_cached_workflows,
        workflow_runner=workflow_runner(),  # the inquiry's worker settings, to the letter
    )
    async with worker:
        logging.getLogger("bench.ceiling").info("worker polling task queue %r", QUEUE)
        await stop.wait()


async def main() -> None:
    settings = Settings()
    async with clients.data_keys(settings) as keys:
        await serve(await clients.connect(keys), settings)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(main())
