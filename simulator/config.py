"""How each simulated department behaves, set from the environment and changed at run time.

Environment (read by `python -m simulator` only): `SIMULATOR_MODE` (`inline` | `accepted`,
default `inline`), `SIMULATOR_LATENCY_S` (default 0), `SIMULATOR_RESULT_DELAY_S` (default 2),
`SIMULATOR_FINAL_STATUS` (default `completed`) for every department, and
`SIMULATOR_BILLING_TOKEN`, `SIMULATOR_CLINICAL_TOKEN`, `SIMULATOR_LEGAL_TOKEN` to demand a bearer
token from callers of that department.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from models.contract import Department

Mode = Literal["inline", "accepted"]
FinalStatus = Literal["completed", "failed", "needs_info"]
FaultCode = Annotated[int, Field(ge=400, le=599)]

_ENV_FIELDS = {
    "mode": "SIMULATOR_MODE",
    "latency_s": "SIMULATOR_LATENCY_S",
    "result_delay_s": "SIMULATOR_RESULT_DELAY_S",
    "final_status": "SIMULATOR_FINAL_STATUS",
}


class DepartmentConfig(BaseModel):
    """One department's behaviour. `PUT /_control/{department}` takes any subset of it."""

    model_config = ConfigDict(extra="forbid")

    # inline: answer 200 `completed` with a summary; accepted: answer 201 `accepted`, then signal.
    mode: Mode = "inline"
    latency_s: float = Field(default=0.0, ge=0, le=600)
    result_delay_s: float = Field(default=2.0, ge=0, le=86400)
    final_status: FinalStatus = "completed"
    # Status codes answered to the next requests, one each, before normal service resumes.
    fail_next: list[FaultCode] = Field(default_factory=list)
    retry_after: str | None = None
    token: SecretStr | None = None

    def updated(self, changes: Mapping[str, Any]) -> DepartmentConfig:
        """A copy with `changes` applied, all validated together; raises ValidationError."""
        return DepartmentConfig.model_validate({**self.model_dump(), **changes})

    def public(self) -> dict[str, Any]:
        """What the control API shows: everything but the token's value."""
        shown = self.model_dump(exclude={"token"})
        shown["token_set"] = self.token is not None
        return shown


class SimulatorConfig(BaseModel):
    departments: dict[Department, DepartmentConfig] = Field(
        default_factory=lambda: {d: DepartmentConfig() for d in Department}
    )

    @classmethod
    def uniform(cls, **settings: Any) -> SimulatorConfig:
        """Every department configured alike, e.g. `SimulatorConfig.uniform(mode="accepted")`."""
        return cls(departments={d: DepartmentConfig.model_validate(settings) for d in Department})

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SimulatorConfig:
        shared = {f: environ[var] for f, var in _ENV_FIELDS.items() if environ.get(var)}
        departments: dict[Department, DepartmentConfig] = {}
        for department in Department:
            token_var = f"SIMULATOR_{department.value.upper()}_TOKEN"
            settings: dict[str, Any] = dict(shared)
            if environ.get(token_var):
                settings["token"] = environ[token_var]
            try:
                departments[department] = DepartmentConfig.model_validate(settings)
            except ValidationError as exc:
                names = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
                variables = sorted(_ENV_FIELDS.get(n, token_var) for n in names)
                raise ValueError(f"invalid simulator setting: {', '.join(variables)}") from None
        return cls(departments=departments)
