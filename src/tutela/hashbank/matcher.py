"""Matching an image's hashes against the enabled banks, following the store as it changes.

Each process holds one `BankMatcher`: a PDQ index (tutela.hashbank.index, radius 31) and
exact tables for MD5 and SHA-256 over the live entries of enabled banks. It loads everything
once, then follows the store incrementally: `refresh` reads only the entry rows whose
`changed_at` moved since it last looked (additions, tombstones, and the touch that enabling or
disabling a bank gives its entries), and applies them to the index without a rebuild. The
read overlaps the previous one by OVERLAP, so a row committed late by a transaction that
stamped it earlier is still seen; applying a row twice changes nothing.

How fresh a match is: a bank change made through this process is applied at once; one made by
another process (another server, `tutela banks import`) is seen within REFRESH_EVERY.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tutela.hashbank.index import PDQIndex
from tutela.model import ImageFacts
from tutela.store.tables import bank_entries, banks

RADIUS = 31  # PDQ: Meta's recommended match distance for 256-bit hashes
MIN_QUALITY = 50  # PDQ hashes of lower quality (flat, featureless images) are not matched
REFRESH_EVERY = 1.0  # seconds between looks at the store
OVERLAP = dt.timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class EntryInfo:
    id: int
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
        self._watermark: dt.datetime | None = None
        self._last_refresh = 0.0
        self._lock = threading.Lock()  # one refresher at a time; matching reads without it

    def __len__(self) -> int:
        return len(self.info)

    def refresh(self, conn: Connection, force: bool = False) -> int:
        """Apply the store's bank changes since the last look; returns how many rows were read.
        Cheap when nothing changed (one indexed query), and skipped within REFRESH_EVERY."""
        now = time.monotonic()
        if not force and now - self._last_refresh < REFRESH_EVERY:
            return 0
        with self._lock:
            self._last_refresh = now
            bank_rows = {r.id: r for r in conn.execute(select(banks))}
            q = select(bank_entries).order_by(bank_entries.c.changed_at, bank_entries.c.id)
            if self._watermark is not None:
                q = q.where(bank_entries.c.changed_at >= self._watermark - OVERLAP)
            rows = list(conn.execute(q))
            self._apply(rows, bank_rows)
            if rows:
                newest = max(r.changed_at for r in rows)
                self._watermark = newest if self._watermark is None else max(self._watermark, newest)
            elif self._watermark is None:
                self._watermark = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            return len(rows)

    def _apply(self, rows: Iterable[Any], bank_rows: dict[int, Any]) -> None:
        add_ids: list[int] = []
        add_hashes: list[str] = []
        remove_ids: list[int] = []
        for r in rows:
            bank: Any = bank_rows.get(r.bank_id)
            live = r.removed_at is None and bank is not None and bool(bank.enabled)
            entry_id = int(r.id)
            known = entry_id in self.info
            if live and not known:
                info = EntryInfo(
                    entry_id, bank.name, bank.kind, tuple(sorted({*bank.labels, *r.labels})), r.signal_type, r.value, r.source
                )
                self.info[entry_id] = info
                if info.signal_type == "pdq":
                    add_ids.append(entry_id)
                    add_hashes.append(info.value)
                else:
                    self.exact.setdefault((info.signal_type, info.value), set()).add(entry_id)
            elif not live and known:
                info = self.info.pop(entry_id)
                if info.signal_type == "pdq":
                    remove_ids.append(entry_id)
                else:
                    self.exact.get((info.signal_type, info.value), set()).discard(entry_id)
        if remove_ids:
            self.index.remove(remove_ids)
        if add_ids:
            self.index.add(add_ids, add_hashes)

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
