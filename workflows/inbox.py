"""The inbox: every action (a signal, or the Update of the same name) is decoded on arrival and
applied by one task, one at a time, in the order they came: its actor checked (an activity,
workflows/acting.py), then the rules (workflows/signals.py). A refusal is recorded, never raised.

A signal's handler only posts, so a flood of signals never holds up continue-as-new: what is
still queued then is part of the case (`case.inbox`) and the next run applies it first. An
Update's handler waits for its verdict; the inbox serves Updates before the run continues.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from models.activities import ActorCheck
    from models.contract import SIGNAL_PAYLOADS

from workflows import acting, steps
from workflows.case import TERMINAL, Case, Queued
from workflows.intake import PayloadError, decode_one
from workflows.signals import RULES, actor_of

# Queued signals carried across continue-as-new beyond this many bytes are served first instead:
# the next run's input must stay well within Temporal's 2 MiB payload limit.
CARRY_BUDGET = 256 * 1024
CLOSED = "inquiry is closed"
BATCH = 100  # actions verified in one activity


class Inbox:
    def __init__(self, case: Case) -> None:
        self.case = case
        self.busy = False  # an action is being checked or applied
        self.closed = False  # the inquiry has ended and nothing more is applied
        self.waiting: dict[int, asyncio.Future[str | None]] = {}
        self.queued_bytes = sum(_size(q) for q in case.inbox)

    def post(self, name: str, args: Sequence[Any]) -> tuple[int | None, str | None]:
        """Queue an action (a malformed one too, so its refusal keeps its place in the order):
        its ticket, or the reason it was refused at once (the inquiry has ended)."""
        case = self.case
        body: dict[str, Any] | None = None
        malformed: str | None = None
        try:
            body = decode_one(SIGNAL_PAYLOADS[name], args).model_dump(
                mode="json", exclude_unset=True
            )
        except PayloadError as err:
            malformed = f"malformed payload: {err}"
        if self.closed:
            case.refuse(name, malformed or CLOSED, workflow.now())
            return None, malformed or CLOSED
        case.posted += 1
        queued = Queued(ticket=case.posted, name=name, payload=body, malformed=malformed)
        case.inbox.append(queued)
        self.queued_bytes += _size(queued)
        return case.posted, None

    async def ask(self, name: str, args: Sequence[Any]) -> str | None:
        """Queue an action and wait for it to be applied: the reason it was refused, or None."""
        ticket, refusal = self.post(name, args)
        if ticket is None:
            return refusal
        verdict: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.waiting[ticket] = verdict
        return await verdict

    @property
    def settled_for_continuing(self) -> bool:
        """Nothing in flight, no Update waiting, and what is queued small enough to carry."""
        return not self.busy and not self.waiting and self.queued_bytes <= CARRY_BUDGET

    async def serve(self, finished: Callable[[], bool]) -> None:
        """Apply what is queued, in order, until `finished()` and nothing is left. While the run
        is continuing as new, only what must be served before it goes (see above) is."""
        case = self.case

        def ready() -> bool:
            return bool(case.inbox) and not (case.continuing and self.settled_for_continuing)

        while True:
            await workflow.wait_condition(lambda: ready() or (finished() and not case.inbox))
            if not case.inbox:
                self.closed = True
                return
            batch = case.inbox[:BATCH]
            self.busy = True
            actions = [_decoded(q) for q in batch]
            checks = await self._checks(actions)
            del case.inbox[: len(batch)]
            for queued, action, check in zip(batch, actions, checks, strict=True):
                self.queued_bytes -= _size(queued)
                if action is None:
                    reason: str | None = queued.malformed
                    case.refuse(queued.name, queued.malformed or "", workflow.now())
                else:
                    reason = self._apply(*action, check)
                verdict = self.waiting.pop(queued.ticket, None)
                if verdict is not None:
                    verdict.set_result(reason)
            self.busy = False

    async def _checks(
        self, actions: Sequence[tuple[str, BaseModel] | None]
    ) -> list[ActorCheck | None]:
        """The actor's check of each action that needs one, all in one activity."""
        case = self.case
        wanted = [
            (i, action)
            for i, action in enumerate(actions)
            if action is not None
            and case.stage not in TERMINAL
            and acting.needs_identity(action[0])
        ]
        checks: list[ActorCheck | None] = [None] * len(actions)
        if wanted:
            try:
                found = await acting.verify(case, [action for _, action in wanted])
            except ActivityError as err:
                cause = steps.cause_of(err)
                failed = ActorCheck(refusal=f"the actor could not be checked ({cause})")
                found = [failed] * len(wanted)
            for (i, _), check in zip(wanted, found, strict=True):
                checks[i] = check
        return checks

    def _apply(self, name: str, payload: BaseModel, check: ActorCheck | None) -> str | None:
        case = self.case
        now = workflow.now()
        if case.stage in TERMINAL:
            reason: str | None = CLOSED
        else:
            if check is not None:
                acting.checked(case, check)
            reason = acting.refusal(case, name, check) if check is not None else None
            if reason is None:
                reason = RULES[name](case, payload, check or acting.UNCHECKED, now)
        if reason is not None:
            case.refuse(name, reason, now, actor_of(payload))
        elif check is not None:
            acting.accepted(case, name, payload, check, now)
        return reason


def _decoded(queued: Queued) -> tuple[str, BaseModel] | None:
    if queued.payload is None:
        return None
    return queued.name, SIGNAL_PAYLOADS[queued.name].model_validate(queued.payload)


def _size(queued: Queued) -> int:
    return len(json.dumps(queued.payload, separators=(",", ":"))) + len(queued.malformed or "")
