"""The department systems as one ASGI app: billing, clinical and legal side by side.

    POST /{department}/cases       the department API of CONTRACT "Department systems (HTTP)"
    PUT  /_control/{department}    change mode, latency_s, result_delay_s, final_status,
                                   fail_next, retry_after, token (any subset)
    GET  /_control/{department}    that department's current behaviour
    GET  /_control/requests        every request received, with its answer's status
    POST /_control/reset           back to the start: initial behaviour, no cases, no requests
    GET  /health

The control API shows the requests' bodies, so it is for tests and demos on loopback only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from json import JSONDecodeError

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from models.contract import Department
from simulator.config import SimulatorConfig
from simulator.desk import CaseDesk
from simulator.signaller import Signaller


def create_app(config: SimulatorConfig, signaller: Signaller) -> Starlette:
    desk = CaseDesk(config, signaller)

    async def post_case(request: Request) -> Response:
        department = _department(request)
        if department is None:
            return JSONResponse({"error": "unknown department"}, status_code=404)
        try:
            body: object = await request.json()
        except (JSONDecodeError, UnicodeDecodeError):
            body = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await desk.receive(department, headers, body)
        return JSONResponse(reply.body, status_code=reply.status_code, headers=reply.headers)

    async def control_department(request: Request) -> Response:
        department = _department(request)
        if department is None:
            return JSONResponse({"error": "unknown department"}, status_code=404)
        if request.method == "PUT":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise TypeError
                desk.configure(department, **changes)
            except (JSONDecodeError, UnicodeDecodeError, TypeError):
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            except ValidationError as exc:
                fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
                return JSONResponse({"error": "invalid settings", "fields": fields}, 400)
        return JSONResponse(desk.config.departments[department].public())

    async def list_requests(request: Request) -> Response:
        return JSONResponse({"requests": desk.requests})

    async def reset(request: Request) -> Response:
        desk.reset()
        return JSONResponse({"reset": True})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await desk.aclose()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/_control/requests", list_requests, methods=["GET"]),
            Route("/_control/reset", reset, methods=["POST"]),
            Route("/_control/{department}", control_department, methods=["GET", "PUT"]),
            Route("/{department}/cases", post_case, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.desk = desk
    return app


def desk_of(app: Starlette) -> CaseDesk:
    """The control surface of an app made by `create_app`, for in-process tests."""
    desk: CaseDesk = app.state.desk
    return desk


def _department(request: Request) -> Department | None:
    try:
        return Department(request.path_params["department"])
    except ValueError:
        return None
