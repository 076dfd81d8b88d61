"""Identifiers Tutela mints: a prefix, then 26 characters that sort by creation time.

The layout is a ULID (48 bits of milliseconds, 80 random bits, Crockford base32), minted
monotonically within a process: two ids made in the same millisecond still sort in the order
they were made, so ordering by id is ordering by creation.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_lock = threading.Lock()
_last = 0


def new_id(prefix: str) -> str:
    global _last
    with _lock:
        value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
        if value <= _last:
            value = _last + 1
        _last = value
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"
