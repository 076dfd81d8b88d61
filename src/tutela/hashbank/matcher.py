"""Matching an image's hashes against the enabled banks, following the store as it changes.

Each process holds one `BankMatcher`: a PDQ index (tutela.hashbank.index, radius 31) and
exact tables for MD5 and SHA-256 over the live entries of enabled banks.

How it follows the store: every change to a bank (entries added or removed, enabled or
disabled) sets the bank's `updated_at` in the same transaction (tutela.hashbank.banks).
`refresh` reads the small `banks` table and, for each bank whose `updated_at` moved since it
last looked, reads that bank's live entries and applies the difference to the index (adds and
removals, no rebuild). A bank that did not change is not read, and nothing depends on when a
transaction commits: a long import is seen when it commits, whatever time it stamped.

`refresh` runs off the check path: the service calls it from a background thread every
REFRESH_EVERY (tutela.api.app), so a bank change made anywhere (another server, `tutela banks
import`) is matched within about a second, and a check never waits for a bank to load.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tutela.hashbank.index import PDQIndex
from tutela.model import ImageFacts
from tutela.store.db import Database
from tutela.store.tables import bank_entries, banks

log = logging.getLogger("tutela.hashbank")

RADIUS = 31  # PDQ: Meta's recommended match distance for 256-bit hashes
MIN_QUALITY = 50  # PDQ hashes of lower quality (flat, featureless images) are not matched
REFRESH_EVERY = 1.0  # seconds between looks at the store


@dataclass(frozen=True, slots=True)
class EntryInfo:
    id: int
    bank_id: int
    bank: str
    kind: str  # blocklist or allowlist
    labels: tuple[str, ...]  # the bank's and the entry's
    signal_type: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class BankMatch:
    entry: EntryInfo
    signal_type: str  # what matched: pdq, md5 or sha256
    distance: int  # Hamming distance for PDQ; 0 for exact hashes
    variant: int  # which dihedral variant of the image matched (0: as uploaded)

    def as_evidence(self) -> dict[str, object]:
        return {
            "bank": self.entry.bank,
            "kind": self.entry.kind,
            "labels": list(self.entry.labels),
            "entry": self.entry.id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "variant": self.variant,
            "source": self.entry.source,
        }


class BankMatcher:
    def __init__(self, radius: int = RADIUS) -> None:
        self.radius = radius
        self.index = PDQIndex(radius)
        self.exact: dict[tuple[str, str], set[int]] = {}
        self.info: dict[int, EntryInfo] = {}
        self._seen: dict[int, dt.datetime] = {}  # bank id -> the updated_at its entries were read at
        self._lock = threading.Lock()  # one refresher at a time; matching reads without it

    def __len__(self) -> int:
        return len(self.info)

    def refresh(self, conn: Connection) -> int:
        """Apply the changes of every bank changed since the last look; returns how many banks
        were read again. Cheap when nothing changed: one read of the banks table."""
        with self._lock:
            changed = [b for b in conn.execute(select(banks)) if self._seen.get(b.id) != b.updated_at]
            for bank in changed:
                rows = (
                    conn.execute(
                        select(bank_entries).where(bank_entries.c.bank_id == bank.id, bank_entries.c.removed_at.is_(None))
                    ).all()
                    if bank.enabled
                    else []
                )
                self._replace(bank, rows)
                self._seen[bank.id] = bank.updated_at
            return len(changed)

    def _replace(self, bank: Any, rows: Sequence[Any]) -> None:
        """Make the bank's entries in the index exactly `rows`."""
        live = {int(r.id): r for r in rows}
        gone = [i for i, e in self.info.items() if e.bank_id == bank.id and i not in live]
        remove_pdq = []
        for entry_id in gone:
            info = self.info.pop(entry_id)
            if info.signal_type == "pdq":
                remove_pdq.append(entry_id)
            else:
                self.exact.get((info.signal_type, info.value), set()).discard(entry_id)
        if remove_pdq:
            self.index.remove(remove_pdq)
        add_ids: list[int] = []
        add_hashes: list[str] = []
        for entry_id, r in live.items():
            if entry_id in self.info:
                continue
            info = EntryInfo(
                entry_id,
                bank.id,
                bank.name,
                bank.kind,
                tuple(sorted({*bank.labels, *r.labels})),
                r.signal_type,
                r.value,
                r.source,
            )
            self.info[entry_id] = info
            if info.signal_type == "pdq":
                add_ids.append(entry_id)
                add_hashes.append(info.value)
            else:
                self.exact.setdefault((info.signal_type, info.value), set()).add(entry_id)
        if add_ids:
            self.index.add(add_ids, add_hashes)

    def follow(self, db: Database, stop: threading.Event) -> threading.Thread:
        """Refresh every REFRESH_EVERY in a background thread until `stop` is set. A failed
        refresh is logged and retried: matching goes on with what was last loaded."""

        def loop() -> None:
            while not stop.wait(REFRESH_EVERY):
                try:
                    with db.read() as conn:
                        self.refresh(conn)
                except Exception:
                    log.exception("reading the hash banks failed; matching continues on the banks as last read, retrying")

        thread = threading.Thread(target=loop, name="tutela-banks", daemon=True)
        thread.start()
        return thread

    def match(self, facts: ImageFacts) -> list[BankMatch]:
        """Every live entry of an enabled bank that the image matches: MD5 or SHA-256 equal, or
        PDQ within the radius of the image's hash or of one of its rotations and flips (when the
        image's PDQ quality is at least MIN_QUALITY). Nearest first."""
        found: dict[int, BankMatch] = {}
        for signal_type, value in (("md5", facts.md5), ("sha256", facts.sha256)):
            for entry_id in tuple(self.exact.get((signal_type, value), ())):
                info = self.info.get(entry_id)
                if info is not None:
                    found[entry_id] = BankMatch(info, signal_type, 0, 0)
        if facts.pdq and facts.pdq_quality >= MIN_QUALITY:
            variants = facts.pdq_dihedral or (facts.pdq,)
            for variant, results in enumerate(self.index.search_many(list(variants))):
                for entry_id, distance in results:
                    info = self.info.get(entry_id)
                    if info is None:
                        continue
                    best = found.get(entry_id)
                    if best is None or distance < best.distance:
                        found[entry_id] = BankMatch(info, "pdq", distance, variant)
        return sorted(found.values(), key=lambda m: (m.distance, m.entry.id))
