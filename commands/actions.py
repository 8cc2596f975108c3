"""Staff and customer actions, each sent as the contract's Update of the same name, so the
caller learns at once whether it counted (the signals stay, for clients that want no answer).
Each carries its sender's assertion (commands/signing.py)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from temporalio.client import Client, WorkflowUpdateFailedError

from commands.common import ActionRefused, CommandError, emit, validate
from commands.signing import with_proof
from models.contract import SIGNAL_PAYLOADS, workflow_id_for
from models.status import ActionVerdict


def signal_command(name: str, build: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
    async def send(client: Client, args: argparse.Namespace, out: TextIO) -> None:
        payload = validate(SIGNAL_PAYLOADS[name], build(args))
        body = await with_proof(
            client, name, payload, args.inquiry_id, given=args.assertion, unsigned=args.unsigned
        )
        handle = client.get_workflow_handle(workflow_id_for(args.inquiry_id))
        try:
            verdict = await handle.execute_update(name, body, result_type=ActionVerdict)
        except WorkflowUpdateFailedError as err:
            raise CommandError(f"the inquiry did not take {name}: {err.cause}") from None
        emit(out, {"workflow_id": handle.id, "action": name, **verdict.model_dump(mode="json")})
        if not verdict.accepted:
            raise ActionRefused(f"{name} refused: {verdict.reason}")

    send.signs = True  # type: ignore[attr-defined]
    return send
