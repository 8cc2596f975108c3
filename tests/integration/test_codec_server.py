"""The codec server over real HTTP, as the Temporal UI and CLI call it: who gets plaintext, what
the audit trail records, and what a browser on another origin is told."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import WorkflowSerializationContext

from activities.roster import Roster, load_roster
from activities.store import list_audit
from encryption import DataKeys, EncryptionCodec, LocalMasterKeys
from encryption.access import OperatorTokens, add_token
from encryption.server import create_app
from simulator.testing import serve_asgi

ROOT = Path(__file__).resolve().parents[2]
UI = "http://127.0.0.1:8233"
SECRET = "Canary-diagnosis-7d1e"


@dataclass
class Codec:
    url: str
    token: str
    keys: DataKeys
    roster: list[Roster]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Namespace": "default", **extra}


@pytest.fixture
async def codec(db_engine: Engine, tmp_path: Path) -> AsyncIterator[Codec]:
    keys = DataKeys(db_engine, LocalMasterKeys({"k1": os.urandom(32)}, "k1"))
    roster = [load_roster(ROOT / "config" / "roster.toml")]
    tokens = tmp_path / "tokens.json"
    token = add_token(tokens, "operator.oona")
    add_token(tokens, "agent.ana")  # a token, but not an operator on the roster
    app = create_app(keys, lambda: roster[0], OperatorTokens.load(tokens), ui_origin=UI)
    async with serve_asgi(app) as url:
        yield Codec(url, token, keys, roster)


async def sealed(keys: DataKeys, workflow_id: str, value: Any) -> dict[str, Any]:
    codec = EncryptionCodec(keys).with_context(
        WorkflowSerializationContext(namespace="default", workflow_id=workflow_id)
    )
    plain = Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value).encode())
    return json_format.MessageToDict(Payloads(payloads=await codec.encode([plain])))


def values(body: dict[str, Any]) -> list[Any]:
    payloads = json_format.ParseDict(body, Payloads()).payloads
    return [
        json.loads(p.data) if p.metadata["encoding"] == b"json/plain" else None for p in payloads
    ]


async def test_without_valid_credentials_the_answer_is_401_and_holds_no_plaintext(
    codec: Codec,
) -> None:
    body = await sealed(codec.keys, "inquiry-INQ-1", {"body": SECRET})
    async with httpx.AsyncClient(base_url=codec.url) as http:
        for headers in (
            {"X-Namespace": "default"},
            {"X-Namespace": "default", "Authorization": "Bearer not-a-token"},
        ):
            answer = await http.post("/decode", json=body, headers=headers)
            assert answer.status_code == 401
            assert SECRET not in answer.text


async def test_an_operator_decodes_and_the_inquiry_audit_trail_says_who_and_how_much(
    codec: Codec, db_engine: Engine
) -> None:
    body = await sealed(codec.keys, "inquiry-INQ-2", {"body": SECRET})
    async with httpx.AsyncClient(base_url=codec.url) as http:
        answer = await http.post("/decode", json=body, headers=codec.headers())

    assert answer.status_code == 200
    assert values(answer.json()) == [{"body": SECRET}]
    with Session(db_engine) as session:
        [row] = list_audit(session=session, inquiry_id="INQ-2")
    assert (row.action, row.actor) == ("payloads_decoded", "operator.oona")
    assert row.detail["payloads"] == 1 and len(row.detail["keys"]) == 1
    assert SECRET not in json.dumps(row.detail)


async def test_someone_with_a_token_but_no_operator_role_or_namespace_is_refused(
    codec: Codec,
) -> None:
    body = await sealed(codec.keys, "inquiry-INQ-3", {"body": SECRET})
    async with httpx.AsyncClient(base_url=codec.url) as http:
        other_ns = await http.post(
            "/decode", json=body, headers=codec.headers(**{"X-Namespace": "prod"})
        )
        no_ns = await http.post(
            "/decode", json=body, headers={"Authorization": f"Bearer {codec.token}"}
        )
        codec.roster[0] = codec.roster[0].model_copy(update={"operators": []})
        removed = await http.post("/decode", json=body, headers=codec.headers())

    assert (other_ns.status_code, no_ns.status_code, removed.status_code) == (403, 400, 401)
    assert all(SECRET not in a.text for a in (other_ns, no_ns, removed))


async def test_cors_answers_the_ui_origin_only(codec: Codec) -> None:
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type,x-namespace"}  # fmt: skip
    async with httpx.AsyncClient(base_url=codec.url) as http:
        ui = await http.options("/decode", headers={"Origin": UI, **ask})
        evil = await http.options("/decode", headers={"Origin": "http://evil.test", **ask})
        body = await sealed(codec.keys, "inquiry-INQ-4", {"body": SECRET})
        cross = await http.post(
            "/decode", json=body, headers=codec.headers(Origin="http://evil.test")
        )

    assert ui.status_code == 204
    assert ui.headers["access-control-allow-origin"] == UI
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    assert "access-control-allow-origin" not in cross.headers  # a browser would not show it


async def test_a_browser_signs_in_for_a_session_that_decodes(codec: Codec) -> None:
    body = await sealed(codec.keys, "inquiry-INQ-5", {"body": SECRET})
    async with httpx.AsyncClient(base_url=codec.url) as http:
        wrong = await http.post("/login", data={"operator": "operator.oona", "token": "guess"})
        assert wrong.status_code == 401 and "ri_codec_session" not in wrong.cookies
        signed = await http.post(
            "/login", data={"operator": "operator.oona", "token": codec.token, "next": UI}
        )
        assert signed.status_code == 303 and signed.headers["location"] == UI
        answer = await http.post("/decode", json=body, headers={"X-Namespace": "default"})
        kept = http.cookies["ri_codec_session"]  # a copy someone kept
        http.cookies.clear()
        http.cookies.set("ri_codec_session", kept)
        copy = await http.post("/decode", json=body, headers={"X-Namespace": "default"})
        await http.post("/logout")
        http.cookies.clear()
        http.cookies.set("ri_codec_session", kept)
        after = await http.post("/decode", json=body, headers={"X-Namespace": "default"})

    assert values(answer.json()) == [{"body": SECRET}]
    assert copy.status_code == 200
    assert after.status_code == 401, "a copy of a signed-out session still decodes"


async def test_the_cli_encodes_under_the_inquiry_it_names_and_erased_data_stays_sealed(
    codec: Codec,
) -> None:
    plain = json_format.MessageToDict(
        Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"intake"')])
    )
    async with httpx.AsyncClient(base_url=codec.url) as http:
        bad = await http.post(
            "/encode", json=plain, headers=codec.headers(**{"X-Inquiry-Id": "a b"})
        )
        encoded = await http.post(
            "/encode", json=plain, headers=codec.headers(**{"X-Inquiry-Id": "INQ-6"})
        )
        own = (await codec.keys.for_scope("inquiry-INQ-6")).key_id
        [payload] = json_format.ParseDict(encoded.json(), Payloads()).payloads
        assert payload.metadata["encryption-key-id"].decode() == own

        codec.keys.erase(["inquiry-INQ-6"])
        after = await http.post("/decode", json=encoded.json(), headers=codec.headers())

    assert bad.status_code == 400
    assert values(after.json()) == [None]  # still ciphertext, never an error page
