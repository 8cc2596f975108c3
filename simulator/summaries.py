"""Canned case references and findings, one voice per department.

Deterministic and free of anything the request carried: the only variable part is the case
reference the simulator made up. Legal's finding reads as privileged advice on purpose, so the
compliance checks downstream have something real to catch.
"""

from __future__ import annotations

import zlib

from models.contract import Department
from simulator.config import FinalStatus

CASE_PREFIX = {
    Department.BILLING: "BIL",
    Department.CLINICAL: "CLN",
    Department.LEGAL: "LGL",
}

_COMPLETED = {
    Department.BILLING: (
        "Invoice INV-{number} reviewed under case {case_ref}: a duplicate charge of EUR 49.90 "
        "was confirmed and refunded to the original payment method; the refund shows within "
        "5 business days."
    ),
    Department.CLINICAL: (
        "Clinical records reviewed under case {case_ref}: the requested records for encounter "
        "ENC-{number} are complete and were released to the treating clinician; no correction "
        "was needed."
    ),
    Department.LEGAL: (
        "PRIVILEGED & CONFIDENTIAL: counsel's assessment under case {case_ref} (matter "
        "MAT-{number}): the claim has limited merit; we recommend a goodwill gesture without "
        "admission of liability, and no statement on the merits to the customer."
    ),
}

_FAILED = (
    "Case {case_ref} could not be completed: the {department} system could not act on the "
    "request; please review it manually."
)
_NEEDS_INFO = (
    "Case {case_ref} needs more information before the {department} team can act: please "
    "supply the reference number and the date concerned."
)


def case_ref(department: Department, sequence: int) -> str:
    return f"{CASE_PREFIX[department]}-{sequence:06d}"


def summary(department: Department, status: FinalStatus, case_ref: str) -> str:
    number = zlib.crc32(case_ref.encode()) % 900000 + 100000
    template = {
        "completed": _COMPLETED[department],
        "failed": _FAILED,
        "needs_info": _NEEDS_INFO,
    }[status]
    return template.format(case_ref=case_ref, department=department.value, number=number)
