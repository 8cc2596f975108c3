"""Pseudonyms for customer ids: what the store keeps to find a customer's inquiries again.

HMAC-SHA256 of the customer id under a secret that lives in the data key table like an inquiry's
key (wrapped by the master key, rewrapped on rotation, so pseudonyms stay stable). The store
never holds the customer id itself; `erase --customer ID` finds the inquiries by recomputing it.
"""

from __future__ import annotations

import hashlib
import hmac

from encryption.data_keys import DataKeys

SCOPE = "-pseudonyms-"
PREFIX = "cust_"


class Pseudonyms:
    def __init__(self, keys: DataKeys) -> None:
        self._keys = keys

    async def of(self, customer_id: str) -> str:
        secret = (await self._keys.for_scope(SCOPE)).secret
        mac = hmac.new(secret, customer_id.encode(), hashlib.sha256).hexdigest()
        return PREFIX + mac[:40]
