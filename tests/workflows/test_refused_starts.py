"""Runs that must not go ahead: an intake that breaks the contract, and an inquiry id that has
run before. Both fail at once, say why without personal data, and leave nothing behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests import support
from tests.workflows import drive
from tests.workflows.world import World

INTAKE = support.intake()
PERSONAL = [INTAKE["customer"]["name"], INTAKE["customer"]["email"], INTAKE["subject"]]


def without_customer_id() -> dict[str, Any]:
    return support.intake(
        customer={k: v for k, v in INTAKE["customer"].items() if k != "customer_id"}
    )


@pytest.mark.parametrize(
    ("intake", "named"),
    [
        pytest.param(without_customer_id(), "customer.customer_id", id="missing-customer-id"),
        pytest.param(support.intake(sector="Jordan Example's clinic"), "sector", id="bad-sector"),
        pytest.param(
            support.intake(diagnosis="Jordan Example has diabetes"),
            "payload: 1 unknown field",
            id="extra-field",
        ),
        pytest.param(
            support.intake(**{"Jordan Example has diabetes": True}),
            "payload: 1 unknown field",
            id="personal-data-in-a-key",
        ),
        pytest.param("Jordan Example, jordan@example.test", "a JSON object", id="not-an-object"),
    ],
)
async def test_invalid_intake_fails_the_run_naming_the_field_and_no_personal_data(
    world: World, intake: Any, named: str
) -> None:
    handle = await world.start(intake)

    error = await drive.failure(handle)

    assert error.type == "InvalidIntake"
    assert named in error.message
    assert not [value for value in PERSONAL + ["Jordan", "diabetes"] if value in error.message]
    assert world.calls == []


async def test_an_intake_received_in_the_future_is_refused(world: World) -> None:
    """Its SLA clocks would start in the future and never run out."""
    intake = support.intake()
    later = (await world.now()) + timedelta(days=1)
    intake["received_at"] = later.isoformat()
    handle = await world.start(intake, received_now=False)

    error = await drive.failure(handle)

    assert error.type == "InvalidIntake"
    assert "received_at: later than the inquiry was taken in" in error.message
    assert world.calls == []


async def test_inquiry_id_that_ran_before_is_refused_without_a_message(world: World) -> None:
    world.first_run_id = "first-run-of-this-inquiry"
    handle = await world.start(support.intake())

    error = await drive.failure(handle)

    assert error.type == "InquiryAlreadyExists"
    assert "first-run-of-this-inquiry" in error.message
    assert world.calls == ["take_in"]
    assert world.messages == []
