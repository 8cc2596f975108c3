"""The codec server: the Temporal UI and CLI decode (and the CLI encodes) through it.

Temporal's remote codec protocol: `POST .../encode` and `POST .../decode` with a JSON body of
`Payloads` (protobuf JSON), answered in kind. On top of it:

- only a signed-in operator of the roster gets an answer: a bearer token (`temporal
  --codec-auth "Bearer <token>"`) or the session cookie from `/login` (the UI, with "include
  cross-origin credentials"); anyone else gets 401 and no plaintext;
- the namespace in `X-Namespace` must be one of the operator's;
- CORS answers only the configured UI origin;
- every request that decoded or encoded an inquiry's payloads is written to that inquiry's audit
  trail: who, when, how many payloads, with which data keys;
- `/encode` encrypts with the data key of the inquiry named by `X-Inquiry-Id` (the CLI's
  `--codec-header X-Inquiry-Id=INQ-1`), so an intake started through the CLI can be erased too;
  without it, the shared key (not erasable per inquiry).

A payload whose key was erased stays encrypted in the answer; the others are decoded.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

from google.protobuf import json_format
from sqlalchemy import Engine, select
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from activities.roster import Roster
from activities.store import find_inquiry, record_events
from encryption.access import SESSION_SECONDS, OperatorTokens, Sessions
from encryption.codec import EncryptionCodec, Undecodable, key_ids
from encryption.data_keys import DATA_KEY, SHARED_SCOPE, DataKeyErased, DataKeys
from models.activities import AuditEvent
from models.contract import Stage, workflow_id_for

log = logging.getLogger("regulated_inquiries.codec_server")

COOKIE = "ri_codec_session"
MAX_BODY_BYTES = 8 * 1024 * 1024
INQUIRY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
ALLOWED_HEADERS = "content-type, x-namespace, authorization, x-inquiry-id"


@dataclass(frozen=True)
class Caller:
    operator_id: str
    namespaces: frozenset[str]


class CodecAudit:
    """Writes one audit row per inquiry whose payloads a request decoded or encoded."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self, action: str, caller: Caller, namespace: str, keys: list[str], payloads: int
    ) -> None:
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            rows = session.connection().execute(
                select(DATA_KEY.c.key_id, DATA_KEY.c.scope).where(DATA_KEY.c.key_id.in_(keys))
            )
            scopes = {row.key_id: row.scope for row in rows}
            by_scope: dict[str, list[str]] = {}
            for key_id in keys:
                by_scope.setdefault(scopes.get(key_id, SHARED_SCOPE), []).append(key_id)
            events = []
            for scope, scope_keys in sorted(by_scope.items()):
                inquiry_id = scope.removeprefix(workflow_id_for(""))
                found = find_inquiry(session=session, inquiry_id=inquiry_id)
                events.append(
                    AuditEvent(
                        event_key=f"codec:{uuid.uuid4().hex}",
                        inquiry_id=inquiry_id,
                        workflow_id=scope,
                        at=now,
                        actor=caller.operator_id,
                        action=action,
                        stage=Stage(found.stage) if found else Stage.RECEIVED,
                        detail={
                            "payloads": payloads,
                            "keys": sorted(scope_keys),
                            "namespace": namespace,
                            "via": "codec-server",
                        },
                    )
                )
            record_events(session=session, events=events)
            session.commit()


def create_app(
    keys: DataKeys,
    roster: Callable[[], Roster],
    tokens: OperatorTokens,
    *,
    ui_origin: str | None,
    sessions: Sessions | None = None,
) -> Starlette:
    codec = EncryptionCodec(keys)
    audit = CodecAudit(keys.engine)
    sessions = sessions or Sessions()

    def operator(operator_id: str | None) -> Caller | None:
        if operator_id is None:
            return None
        for entry in roster().operators:  # re-read: a removed operator is out at once
            if entry.id == operator_id:
                return Caller(entry.id, frozenset(entry.namespaces))
        return None

    def caller_of(request: Request) -> Caller | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token:
            return operator(tokens.who(token.strip()))
        cookie = request.cookies.get(COOKIE)
        return operator(sessions.verify(cookie)) if cookie else None

    def cors(request: Request, response: Response) -> Response:
        origin = request.headers.get("origin")
        if origin and origin == ui_origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    def refuse(request: Request, status: int, reason: str) -> Response:
        return cors(request, JSONResponse({"error": reason}, status_code=status))

    async def preflight(request: Request) -> Response:
        origin = request.headers.get("origin")
        if not origin or origin != ui_origin:
            return Response(status_code=403)
        response = Response(status_code=204)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return cors(request, response)

    async def convert(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        direction = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        caller = caller_of(request)
        if caller is None:
            log.warning("codec %s refused: not signed in", direction)
            return refuse(request, 401, "sign in: a bearer token or a session from /login")
        namespace = request.headers.get("x-namespace", "")
        if not namespace:
            return refuse(request, 400, "the X-Namespace header is required")
        if namespace not in caller.namespaces:
            log.warning("codec %s refused: %s in namespace %s", direction, caller.operator_id,
                        namespace)  # fmt: skip
            return refuse(request, 403, "this operator may not use this namespace")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return refuse(request, 413, f"at most {MAX_BODY_BYTES} bytes of payloads")
        incoming = Payloads()
        try:
            json_format.Parse(body, incoming)
        except json_format.ParseError:
            return refuse(request, 400, "the body is not Payloads JSON")
        payloads = list(incoming.payloads)
        if direction == "decode":
            result, used = await _decode(codec, payloads)
            action = "payloads_decoded"
        else:
            inquiry_id = request.headers.get("x-inquiry-id")
            if inquiry_id is not None and not INQUIRY_ID.fullmatch(inquiry_id):
                return refuse(request, 400, "X-Inquiry-Id must be 1-64 of [A-Za-z0-9._-]")
            scope = workflow_id_for(inquiry_id) if inquiry_id else SHARED_SCOPE
            try:
                result = await codec.for_scope(scope).encode(payloads)
            except DataKeyErased:
                return refuse(request, 410, "this inquiry was erased")
            used = key_ids(result)
            action = "payloads_encoded"
        if used:
            await asyncio.to_thread(audit.record, action, caller, namespace, used, len(payloads))
        answer = json_format.MessageToJson(Payloads(payloads=result))
        return cors(request, Response(answer, media_type="application/json"))

    async def login_form(request: Request) -> Response:
        return HTMLResponse(_login_page(request.query_params.get("next", ""), None))

    async def login(request: Request) -> Response:
        # A urlencoded form of three fields: parsed here rather than with python-multipart.
        form = {
            k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()
        }
        operator_id, token = form.get("operator", ""), form.get("token", "")
        next_url = form.get("next", "")
        caller = operator(tokens.who(token))
        if caller is None or caller.operator_id != operator_id:
            log.warning("codec sign-in refused")
            return HTMLResponse(_login_page(next_url, "Not signed in."), status_code=401)
        log.info("codec sign-in: %s", caller.operator_id)
        if ui_origin and next_url.startswith(ui_origin):
            response: Response = RedirectResponse(next_url, status_code=303)
        else:
            response = HTMLResponse(f"<p>Signed in as {html.escape(caller.operator_id)}.</p>")
        response.set_cookie(
            COOKIE, sessions.issue(caller.operator_id), max_age=SESSION_SECONDS,
            httponly=True, samesite="lax", path="/",
        )  # fmt: skip
        return response

    async def logout(request: Request) -> Response:
        if cookie := request.cookies.get(COOKIE):
            sessions.revoke(cookie)
        response = HTMLResponse("<p>Signed out.</p>")
        response.delete_cookie(COOKIE, path="/")
        return response

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/login", login_form, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/{prefix:path}/encode", convert, methods=["POST", "OPTIONS"]),
            Route("/{prefix:path}/decode", convert, methods=["POST", "OPTIONS"]),
            Route("/encode", convert, methods=["POST", "OPTIONS"]),
            Route("/decode", convert, methods=["POST", "OPTIONS"]),
        ]
    )


async def _decode(
    codec: EncryptionCodec, payloads: list[Payload]
) -> tuple[list[Payload], list[str]]:
    """Each payload decoded if its key allows; erased or unknown keys leave it as it was."""
    result, used = [], []
    for payload in payloads:
        try:
            [plain] = await codec.decode([payload])
        except (DataKeyErased, Undecodable):
            result.append(payload)
            continue
        result.append(plain)
        used += key_ids([payload])
    return result, sorted(set(used))


def _login_page(next_url: str, error: str | None) -> str:
    notice = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in: inquiry codec server</title></head>
<body>
<h1>Sign in to read decoded inquiries</h1>
<p>Every decode is written to the inquiry's audit trail under your operator id.</p>
{notice}
<form method="post" action="/login">
<input type="hidden" name="next" value="{html.escape(next_url)}">
<label>Operator id <input name="operator" autocomplete="username" required></label>
<label>Token <input name="token" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
</body></html>
"""
