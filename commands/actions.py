"""Staff and customer actions, each sent as the contract's signal."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from temporalio.client import Client

from commands.common import (
    emit,
    validate,
)
from models.contract import (
    SIGNAL_PAYLOADS,
    workflow_id_for,
)


def signal_command(name: str, build: Callable[[argparse.Namespace], dict[str, Any]]) -> Any:
    async def send(client: Client, args: argparse.Namespace, out: TextIO) -> None:
        payload = validate(SIGNAL_PAYLOADS[name], build(args))
        handle = client.get_workflow_handle(workflow_id_for(args.inquiry_id))
        await handle.signal(name, payload.model_dump(mode="json", exclude_none=True))
        emit(
            out,
            {
                "workflow_id": handle.id,
                "signal": name,
                "sent": True,
                "note": "see `status` for whether the workflow accepted it",
            },
        )

    return send
