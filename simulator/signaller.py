"""The simulator's one way back into Temporal, injected so tests can watch what it sends."""

from __future__ import annotations

from typing import Any, Protocol


class Signaller(Protocol):
    async def department_result(self, workflow_id: str, payload: dict[str, Any]) -> None:
        """Deliver the `department_result` signal; must not raise for delivery failures."""
        ...
