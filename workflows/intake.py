"""Decoding what callers send: the workflow input and signal payloads, validated here so that a
bad one is refused with a clear reason instead of failing workflow tasks forever.

Reasons name fields and rules only: pydantic's input values (which may be personal data) never
reach an error message, a log line or the history's failure text.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from models import activities, contract, policy

M = TypeVar("M", bound=BaseModel)

# What the converter and the codec hand over instead of a payload they cannot read (broken JSON,
# forged or misplaced ciphertext): one key, naming why. Refused here like any malformed payload.
UNDECODABLE = "undecodable_payload"


def _field_names(*modules: ModuleType) -> frozenset[str]:
    names: set[str] = set()
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                for name, field in value.model_fields.items():
                    names.update(n for n in (name, field.alias) if n)
    return frozenset(names)


# The names an error may show: the fields of the contract's models, nothing a caller chose.
CONTRACT_FIELDS = _field_names(contract, policy, activities)


class PayloadError(ValueError):
    """A payload that is not one JSON object of the expected shape; the text is safe to show."""


def decode_one(model: type[M], args: Sequence[Any]) -> M:
    if len(args) != 1:
        raise PayloadError(f"expected one JSON object, got {len(args)} arguments")
    (value,) = args
    if isinstance(value, dict) and set(value) == {UNDECODABLE}:
        raise PayloadError(f"undecodable payload ({value[UNDECODABLE]})")
    if not isinstance(value, dict):
        raise PayloadError(f"expected a JSON object, got {_json_type(value)}")
    try:
        return model.model_validate(value)
    except ValidationError as err:
        raise PayloadError(describe(err)) from None


def describe(err: ValidationError) -> str:
    """'customer.customer_id: Field required; sector: Input should be ...', values left out.

    Unknown fields are counted, not named: a key is the caller's text too, and someone who put a
    name or a diagnosis in one would see it repeated ('customer: 1 unknown field')."""
    problems = []
    unknown: dict[str, int] = {}
    for error in err.errors(include_input=False, include_url=False):
        if error["type"] == "extra_forbidden":
            parent = _where(error["loc"][:-1])
            unknown[parent] = unknown.get(parent, 0) + 1
            continue
        message = error["msg"].removeprefix("Value error, ")
        problem = f"{_where(error['loc'])}: {message}"
        if problem not in problems:
            problems.append(problem)
    for parent, count in unknown.items():
        fields = "field" if count == 1 else "fields"
        problems.append(f"{parent}: {count} unknown {fields} (not in the contract)")
    return "; ".join(problems)


def _where(loc: tuple[int | str, ...]) -> str:
    """The path of the contract's own field names: a key the caller chose (in a per-tier map)
    and the validator's internal steps are left out, so no text of the caller's comes back."""
    parts = [str(part) for part in loc if isinstance(part, int) or part in CONTRACT_FIELDS]
    return ".".join(parts) or "payload"


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
