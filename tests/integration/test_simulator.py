"""route_to_department against the real department simulator over real HTTP.

Each test starts its own simulator (uvicorn, free loopback port) and calls the activity as
Temporal would, one call per attempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.departments import DepartmentActivities
from activities.http_errors import DEPARTMENT_REJECTED, DEPARTMENT_UNAVAILABLE
from models.activities import DepartmentAnswer, DepartmentRequest
from models.contract import Department, DepartmentResult
from models.settings import Settings
from simulator.config import SimulatorConfig
from simulator.temporal_signaller import TemporalSignaller
from simulator.testing import RecordingSignaller, RunningSimulator

BILLING, CLINICAL, LEGAL = Department.BILLING, Department.CLINICAL, Department.LEGAL
SUBJECT = "Charged twice for Jane Doe's MRI"
BODY = "Jane Doe (born 1970-01-01) was billed twice on 3 March."

SettingsFor = Callable[..., Settings]
Route = Callable[..., Awaitable[DepartmentAnswer]]
Factory = Callable[..., Awaitable[RunningSimulator]]


def request(department: Department = BILLING, inquiry_id: str = "INQ-7") -> DepartmentRequest:
    return DepartmentRequest(
        workflow_id=f"inquiry-{inquiry_id}",
        inquiry_id=inquiry_id,
        department=department,
        sector="healthcare",
        tier=2,
        urgency="normal",
        compliance_flags=["HIPAA"],
        categories=[department],
        customer_id="CUST-1",
        subject=SUBJECT,
        body=BODY,
    )


@pytest.fixture
def settings_for(monkeypatch: pytest.MonkeyPatch) -> SettingsFor:
    def make(sim: RunningSimulator, **env: str) -> Settings:
        for var in ("BILLING_TOKEN", "CLINICAL_TOKEN", "LEGAL_TOKEN"):
            monkeypatch.delenv(var, raising=False)
        for var, value in {
            **sim.department_env(),
            "DEPARTMENT_HTTP_TIMEOUT": "PT5S",
            **env,
        }.items():
            monkeypatch.setenv(var, value)
        return Settings()

    return make


@pytest.fixture
async def route(
    simulator_server: RunningSimulator, settings_for: SettingsFor
) -> AsyncIterator[Route]:
    """Send a request to `simulator_server` the way one activity attempt does."""
    async with httpx.AsyncClient() as http:
        activities = DepartmentActivities(http, settings_for(simulator_server))

        async def send(req: DepartmentRequest | None = None) -> DepartmentAnswer:
            answer: DepartmentAnswer = await ActivityEnvironment().run(
                activities.route_to_department, req or request()
            )
            return answer

        yield send


async def test_inline_department_answers_completed_with_a_canned_summary(
    route: Route, simulator_server: RunningSimulator
) -> None:
    answer = await route()

    assert answer.status == "completed"
    assert answer.case_ref.startswith("BIL-")
    assert answer.summary and "Invoice INV-" in answer.summary and answer.case_ref in answer.summary
    assert "Jane" not in answer.summary
    (seen,) = simulator_server.desk.requests
    assert seen["headers"]["idempotency-key"] == "inquiry-INQ-7:billing"
    assert seen["json"]["subject"] == SUBJECT
    assert seen["answer_status"] == 200


async def test_legal_finding_reads_as_privileged(route: Route) -> None:
    answer = await route(request(LEGAL))

    assert answer.summary and answer.summary.startswith("PRIVILEGED & CONFIDENTIAL:")


async def test_accepted_case_reports_back_with_exactly_one_signal_after_the_delay(
    route: Route, simulator_server: RunningSimulator, simulator_signaller: RecordingSignaller
) -> None:
    simulator_server.desk.configure(
        CLINICAL, mode="accepted", result_delay_s=0.3, final_status="needs_info"
    )
    answered_at = asyncio.get_running_loop().time()

    answer = await route(request(CLINICAL))

    assert answer.status == "accepted" and answer.summary is None
    (signal,) = await simulator_signaller.wait_for(1)
    await simulator_server.desk.drain()
    assert len(simulator_signaller.sent) == 1
    assert signal.workflow_id == "inquiry-INQ-7"
    result = DepartmentResult.model_validate(signal.payload)
    assert (result.department, result.case_ref, result.status) == (
        CLINICAL,
        answer.case_ref,
        "needs_info",
    )
    assert result.summary
    assert signal.at - answered_at >= 0.3


async def test_repeated_idempotency_key_opens_one_case_and_sends_one_signal(
    route: Route, simulator_server: RunningSimulator, simulator_signaller: RecordingSignaller
) -> None:
    simulator_server.desk.configure(BILLING, mode="accepted", result_delay_s=0.1)

    first = await route()
    second = await route()
    await simulator_server.desk.drain()

    assert second == first
    assert [s.payload["case_ref"] for s in simulator_signaller.sent] == [first.case_ref]
    other = await route(request(inquiry_id="INQ-8"))
    assert other.case_ref != first.case_ref


async def test_a_reopened_inquirys_new_key_opens_a_new_case_signalled_to_its_workflow(
    simulator_server: RunningSimulator, simulator_signaller: RecordingSignaller
) -> None:
    simulator_server.desk.configure(BILLING, mode="accepted", result_delay_s=0)
    url = simulator_server.url(BILLING) + "/cases"
    case = {"inquiry_id": "INQ-7", "department": "billing", "subject": SUBJECT, "body": BODY}
    keys = ["inquiry-INQ-7:billing", "inquiry-INQ-7:billing:reopen-1"]
    async with httpx.AsyncClient() as http:
        answers = [
            (await http.post(url, json=case, headers={"Idempotency-Key": key})).json()
            for key in [*keys, keys[1]]
        ]
    await simulator_server.desk.drain()

    first, reopened, repeated = (a["case_ref"] for a in answers)
    assert first != reopened == repeated
    assert [(s.workflow_id, s.payload["case_ref"]) for s in simulator_signaller.sent] == [
        ("inquiry-INQ-7", first),
        ("inquiry-INQ-7", reopened),
    ]


async def test_transient_faults_are_retryable_and_the_case_opens_once_they_pass(
    route: Route, simulator_server: RunningSimulator
) -> None:
    simulator_server.desk.configure(BILLING, fail_next=[503, 503], retry_after="2")

    for _ in range(2):
        with pytest.raises(ApplicationError) as caught:
            await route()
        assert caught.value.type == DEPARTMENT_UNAVAILABLE
        assert not caught.value.non_retryable
        assert caught.value.next_retry_delay == timedelta(seconds=2)
    answer = await route()

    assert answer.status == "completed"
    assert [r["answer_status"] for r in simulator_server.desk.requests] == [503, 503, 200]


async def test_permanent_refusal_is_not_retryable_and_is_injected_once(
    route: Route, simulator_server: RunningSimulator
) -> None:
    simulator_server.desk.configure(BILLING, fail_next=[400])

    with pytest.raises(ApplicationError) as caught:
        await route()

    assert caught.value.type == DEPARTMENT_REJECTED
    assert caught.value.non_retryable
    assert (await route()).status == "completed"


async def test_missing_bearer_token_is_refused_and_the_configured_one_accepted(
    simulator_factory: Factory, simulator_signaller: RecordingSignaller, settings_for: SettingsFor
) -> None:
    config = SimulatorConfig()
    config.departments[LEGAL] = config.departments[LEGAL].updated({"token": "legal-secret"})
    sim = await simulator_factory(simulator_signaller, config)
    async with httpx.AsyncClient() as http:
        without = DepartmentActivities(http, settings_for(sim))
        with pytest.raises(ApplicationError) as caught:
            await ActivityEnvironment().run(without.route_to_department, request(LEGAL))
        with_token = DepartmentActivities(http, settings_for(sim, LEGAL_TOKEN="legal-secret"))
        answer = await ActivityEnvironment().run(with_token.route_to_department, request(LEGAL))

    assert caught.value.type == DEPARTMENT_REJECTED
    assert caught.value.details == ({"department": "legal", "status_code": 401},)
    assert answer.status == "completed"
    recorded = sim.desk.requests
    assert [(r["answer_status"], r["authorization"]) for r in recorded] == [
        (401, "absent"),
        (200, "present"),
    ]
    assert "legal-secret" not in repr(recorded)


async def test_latency_delays_each_answer_but_departments_answer_in_parallel(
    route: Route, simulator_server: RunningSimulator
) -> None:
    for department in Department:
        simulator_server.desk.configure(department, latency_s=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()

    answers = await asyncio.gather(*(route(request(d)) for d in Department))

    elapsed = loop.time() - started
    assert [a.status for a in answers] == ["completed"] * 3
    assert 0.5 <= elapsed < 1.2  # one after another would take 1.5 s


async def test_requests_outside_the_contract_are_refused_naming_what_is_wrong(
    simulator_server: RunningSimulator,
) -> None:
    url = simulator_server.url(BILLING) + "/cases"
    good = {"inquiry_id": "INQ-1", "department": "billing", "subject": "s", "body": "b"}
    key = {"Idempotency-Key": "inquiry-INQ-1:billing"}
    async with httpx.AsyncClient() as http:
        no_key = await http.post(url, json=good)
        no_subject = await http.post(url, json={**good, "subject": ""}, headers=key)
        wrong_department = await http.post(url, json={**good, "department": "legal"}, headers=key)
        unknown = await http.post(simulator_server.base_url + "/payroll/cases", json=good)

    assert (no_key.status_code, no_key.json()["field"]) == (400, "Idempotency-Key")
    assert (no_subject.status_code, no_subject.json()["field"]) == (400, "subject")
    assert (wrong_department.status_code, wrong_department.json()["field"]) == (400, "department")
    assert unknown.status_code == 404
    assert simulator_server.desk.requests[-1]["answer_status"] == 400


async def test_control_api_changes_behaviour_lists_requests_and_resets(
    simulator_server: RunningSimulator,
) -> None:
    base = simulator_server.base_url
    case = {"inquiry_id": "INQ-1", "department": "legal", "subject": "s", "body": "b"}
    async with httpx.AsyncClient(base_url=base) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        updated = await http.put("/_control/legal", json={"mode": "accepted", "fail_next": [429]})
        refused = await http.put("/_control/legal", json={"mode": "sometimes", "colour": "red"})
        headers = {"Idempotency-Key": "inquiry-INQ-1:legal", "Authorization": "Bearer x"}
        faulted = await http.post("/legal/cases", json=case, headers=headers)
        accepted = await http.post("/legal/cases", json=case, headers=headers)
        listed = (await http.get("/_control/requests")).json()["requests"]
        await http.post("/_control/reset")
        after_reset = (await http.get("/_control/requests")).json()["requests"]
        config_after_reset = (await http.get("/_control/legal")).json()

    assert updated.json()["mode"] == "accepted" and updated.json()["fail_next"] == [429]
    assert refused.status_code == 400 and refused.json()["fields"] == ["colour", "mode"]
    assert faulted.status_code == 429
    assert accepted.status_code == 201 and accepted.json()["status"] == "accepted"
    assert [r["answer_status"] for r in listed] == [429, 201]
    assert listed[1]["authorization"] == "present" and "authorization" not in listed[1]["headers"]
    assert after_reset == []
    assert config_after_reset["mode"] == "inline"


async def test_a_failing_signaller_never_breaks_the_simulator(
    simulator_factory: Factory, settings_for: SettingsFor
) -> None:
    class BrokenSignaller:
        async def department_result(self, workflow_id: str, payload: dict[str, Any]) -> None:
            raise RuntimeError("Temporal is down")

    sim = await simulator_factory(BrokenSignaller(), SimulatorConfig.uniform(mode="accepted"))
    sim.desk.configure(BILLING, result_delay_s=0)
    async with httpx.AsyncClient() as http:
        activities = DepartmentActivities(http, settings_for(sim))
        first = await ActivityEnvironment().run(activities.route_to_department, request())
        await sim.desk.drain()
        later = await ActivityEnvironment().run(
            activities.route_to_department, request(inquiry_id="INQ-9")
        )

    assert (first.status, later.status) == ("accepted", "accepted")


class FlakyClient:
    """Stands in for temporalio.client.Client: fails the first signals, then delivers."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.delivered: list[tuple[str, str, dict[str, Any]]] = []

    def get_workflow_handle(self, workflow_id: str) -> FlakyClient._Handle:
        return FlakyClient._Handle(self, workflow_id)

    class _Handle:
        def __init__(self, client: FlakyClient, workflow_id: str) -> None:
            self.client, self.workflow_id = client, workflow_id

        async def signal(self, name: str, payload: dict[str, Any]) -> None:
            if self.client.failures:
                raise self.client.failures.pop(0)
            self.client.delivered.append((self.workflow_id, name, payload))


PAYLOAD = {"department": "legal", "case_ref": "LGL-000001", "status": "completed", "summary": BODY}


async def test_temporal_signaller_retries_until_the_signal_is_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FlakyClient([RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b""), OSError()])
    signaller = TemporalSignaller.using(client, attempts=3, first_backoff_s=0.01)  # type: ignore[arg-type]

    with caplog.at_level(logging.INFO, logger="simulator"):
        await signaller.department_result("inquiry-INQ-7", PAYLOAD)

    assert client.delivered == [("inquiry-INQ-7", "department_result", PAYLOAD)]
    assert "LGL-000001" in caplog.text and "Jane" not in caplog.text


async def test_temporal_signaller_gives_up_quietly_when_the_workflow_is_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = FlakyClient([RPCError("not found", RPCStatusCode.NOT_FOUND, b"")] * 3)
    signaller = TemporalSignaller.using(client, attempts=3, first_backoff_s=0.01)  # type: ignore[arg-type]

    await signaller.department_result("inquiry-INQ-7", PAYLOAD)

    assert client.delivered == [] and len(client.failures) == 2
