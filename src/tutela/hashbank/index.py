"""Exact PDQ matching: every stored hash within a Hamming radius of a query, kept up to date
while it serves.

PDQ hashes are 256 bits. Two images are "the same picture" when their hashes differ in at most
31 bits (Meta's recommended radius). A bank can hold millions of hashes, it changes while the
service runs (entries are added and removed every few seconds), and a miss is the expensive
error: a known abuse image that is not matched is not stopped. So the index must be exact
(every stored hash within the radius is returned, never a sample), and a change must never stall
matching.

**The index type, chosen from measurements.** One core, random hashes, radius 31, p50 / p99 of
one lookup; half the queries are planted within distance 31 of a stored hash. Measured on this
project's 2-core machine while another engineer's jobs kept both cores busy (load average 2.4
to 5), so latencies are inflated and noisy; memory is exact. First the faiss candidates, bare
(a scratch run of the same method at 1M, and IndexBinaryFlat at 10M):

| faiss index, radius 31 | 1M: memory | 1M: p50 / p99 | 10M: memory | 10M: p50 |
|---|---|---|---|---|
| IndexBinaryFlat (brute force) | 32 MB | 1.7 / 4.1 ms | 320 MB | 43 ms |
| IndexBinaryMultiHash 16 x 16 bits, nflip 1 | 352 MB | 1.5 / 2.0 ms | ~3.5 GB (extrapolated) | - |
| IndexBinaryMultiHash 12 x 21 bits, nflip 2 | 940 MB | 0.9 / 3.9 ms | ~9 GB (extrapolated) | - |
| IndexBinaryMultiHash 11 x 23 bits, nflip 2 | 989 MB | 0.5 / 0.8 ms | ~10 GB (extrapolated) | - |
| IndexBinaryHash 8 bits, nflip 8 (the only exact setting) | 49 MB | 1.8 / 4.2 ms | - | - |

- **IndexBinaryMultiHash** (multi-index hashing) is exact for a radius search when `nflip` is
  chosen by the pigeonhole bound: with b substrings, a hash within distance r differs from the
  query in at most floor(r / b) bits of at least one substring. It is the fastest per query,
  but each of its b tables keeps every entry's id in a `std::unordered_map` of vectors: at
  least 8 bytes per entry per table, about 320 bytes per entry measured with 16 tables. That is
  2 to 6 times the 150 MB budget at 1M, and no table count that keeps it exact fits 10M in 1 GB.
  It has no `remove_ids` either.
- **IndexBinaryHash** (one table on a prefix of b bits) is exact only when it flips all b bits,
  which visits every bucket: a brute-force scan with extra steps.
- **IndexBinaryFlat** holds 32 bytes per hash and compares them all with 64-bit popcounts. It is
  exact by construction, the smallest, built at memory-copy speed, and appends in O(added).

So the index is **IndexBinaryFlat** (with tables of our own on large segments, below), without faiss's IDMap wrappers (IndexBinaryIDMap2's
`rev_map` costs tens of bytes per entry, and its `remove_ids` compacts the whole index in place
while readers may be scanning it). Ids live in our own sorted int64 arrays: 41 bytes per entry
in all. Then the whole `PDQIndex` beside python-threatexchange's own indexes
(`.venv/bin/python bench/bank_match.py`, load average 5.0 at the start, 3.4 at the end; every
peer returned exactly our matches):

| hashes | system | build | memory (RSS growth) | p50 / p99 |
|---|---|---|---|---|
| 10k | PDQIndex | 0.001 s | 0.4 MB (1 MB) | 0.03 / 0.09 ms |
| 10k | threatexchange PDQIndex (MultiHash 16 x 16) | 0.14 s | (22 MB) | 0.06 / 0.19 ms |
| 10k | threatexchange PDQIndex2 (IndexFlatL2) | 0.12 s | (15 MB) | 0.63 / 4.8 ms |
| 1M | PDQIndex | 0.18 s | 41 MB (50 MB) | 2.0 / 7.1 ms |
| 1M | threatexchange PDQIndex | 12.4 s | (699 MB) | 1.2 / 5.7 ms |
| 1M | threatexchange PDQIndex2 | 13.1 s | (1,234 MB) | 196 / 210 ms |
| 10M | PDQIndex | 2.4 s | 410 MB (411 MB) | 68 / 108 ms (43 ms p50 in a later pass) |
| 10M | threatexchange PDQIndex | 72 s | (5,415 MB) | 6.1 / 11 ms |
| 10M | threatexchange PDQIndex2 | not run: 1 KB per hash as float32, 10 GB | | |

Changes without a rebuild, median of 5 rounds: adding 1,000 hashes to the 1M index takes 0.19
ms (target 100 ms) and removing 1,000 takes 0.6 ms (the first removal in a process takes 10 to
15 ms: numpy's one-off set-up of `np.unique`); lookups after them are as fast as before.

Against the targets, flat only: at 1M, 2.0 ms p50 and 41 MB; at 10M, 410 MB but 43 to 68 ms
p50 against 25 ms. That miss is the scan's nature: it reads all 320 MB per query, and this
machine's memory bus moves 320 MB in about 21 ms even for a bare numpy sum. The faiss index
that avoids the scan (MultiHash) needs 3.5 to 5.4 GB.

**So large segments add multi-index hashing of our own** (`_Tables`, from 262,144 entries): 16
sorted tables of uint32 positions, one per 16-bit substring, 64 bytes per entry. A query
probes 16 x 17 buckets (exact at radius 31 by the pigeonhole bound) and compares only those
candidates in full, about 41,000 at 10M. Measured (`bench/bank_match.py --sizes 1m,10m
--queries 300`, load 1.4 to 2.7, every peer returned exactly our matches):

| hashes | system | build | memory | p50 / p99 |
|---|---|---|---|---|
| 1M | PDQIndex with tables | 0.57 s | 113 MB | 1.07 / 1.50 ms |
| 1M | threatexchange PDQIndex | 11.8 s | (699 MB) | 1.46 / 9.7 ms |
| 10M | PDQIndex with tables | 15.1 s | 1,058 MB (1,009 MiB) | 18.1 / 58.9 ms |
| 10M | threatexchange PDQIndex | 105 s | (5,416 MB) | 7.0 / 51.6 ms |

At 10M that is under the 25 ms target, and 5 times smaller than threatexchange's index, but
1,058 MB is 6% over 10^9 bytes (under 1 GiB). Small segments (new additions) stay flat: a
scan of a few thousand hashes is cheaper than 272 bucket probes.

**How it changes without stalling matching.** The index is a tuple of immutable *segments*,
each one IndexBinaryFlat plus its ids (sorted, so an id is found by binary search) and a
per-entry `alive` flag.

- `add` builds a new segment from the added hashes alone (O(added), outside any lock that
  readers take) and publishes a new tuple. An id that is already live is replaced: its old
  entry is marked dead after the new one is visible, so a reader never misses both.
- `remove` marks entries dead (a tombstone per entry, not per id, so an id removed and added
  again is not hidden). Searches drop dead entries from their results.
- A background thread merges segments (size-tiered: when 4 segments of a similar size exist,
  they become one; a segment a quarter dead is rewritten without its dead entries). It builds
  the merged segment without holding any lock, then swaps it in under the writer lock after
  carrying over removals that happened meanwhile. Readers keep the tuple they started with,
  so a merge never blocks or disturbs a search. `compact()` merges everything now.

**Locking.** Readers (`search`, `search_many`, `len`, `memory_bytes`) take no lock: they read
the current tuple of segments once (an atomic reference read) and search it; faiss releases the
GIL while it scans, so readers run in parallel with each other and with a merge. Writers
(`add`, `remove`, and a merge's start and final swap) serialise on one `threading.Lock`, held
for time proportional to the change, not to the index: `add` and `remove` publish a tuple and
flip `alive` flags; a merge notes where each segment's removal log ends, and at its swap
replays only the removals logged since. One writer and many readers is the intended use;
several writers are safe too, they queue. A search that starts after `remove` returns never returns the
removed entries.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from typing import Any, Final, TypeAlias, cast

import faiss
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

PDQ_BITS: Final = 256
PDQ_BYTES: Final = PDQ_BITS // 8
PDQ_HEX_LENGTH: Final = PDQ_BYTES * 2
DEFAULT_RADIUS: Final = 31  # Meta's recommended PDQ match distance (threatexchange PDQ_CONFIDENT_MATCH_THRESHOLD)

# Merge policy. Segments below TIER_BASE live entries share the lowest tier; each tier above
# holds segments FANOUT times larger. FANOUT segments in one tier are merged into one, so every
# entry is copied about log4(n / TIER_BASE) times over its life and a search visits at most
# about 3 segments per tier (fewer than 30 at 10M).
TIER_BASE: Final = 4096
FANOUT: Final = 4
MAX_DEAD_FRACTION: Final = 0.25  # a segment this dead is rewritten: dead entries still cost scan time
_SEGMENT_OVERHEAD: Final = 512  # bytes: the faiss object, numpy headers and the Python object of a segment
MIH_MIN: Final = 262_144  # segments this large also get multi-index hashing tables (see _Tables)
SUBSTRINGS: Final = 16  # 16-bit substrings of the 256-bit hash, one table each

Codes: TypeAlias = npt.NDArray[np.uint8]
Ids: TypeAlias = npt.NDArray[np.int64]
HashesIn: TypeAlias = npt.NDArray[np.uint8] | Sequence[str] | Sequence[npt.NDArray[np.uint8]]

_HEX = re.compile(r"[0-9a-fA-F]{64}")


def hex_to_bits(value: str) -> Codes:
    """A PDQ hash written as 64 hex digits (as Meta's tools write it) as its 32 bytes, first
    byte first: the form the index stores and compares."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise ValueError(f"not a PDQ hash: {value!r:.80}; expected 64 hexadecimal digits (256 bits)")
    return np.frombuffer(bytes.fromhex(value), dtype=np.uint8).copy()


def bits_to_hex(bits: npt.NDArray[np.uint8]) -> str:
    """The 64 lower-case hex digits of a PDQ hash held as 32 bytes (the inverse of hex_to_bits)."""
    arr = np.asarray(bits)
    if arr.dtype != np.uint8 or arr.shape != (PDQ_BYTES,):
        raise ValueError(f"a PDQ hash is 32 bytes (uint8, shape (32,)); got dtype {arr.dtype}, shape {arr.shape}")
    return arr.tobytes().hex()


def _hex_list_to_codes(values: Sequence[str]) -> Codes:
    """Many hex hashes at once: one join and one bytes.fromhex, about 12 times faster than
    parsing them one by one (200k hashes in 40 ms). A bad hash is looked for, and named, only
    when the batch does not parse."""
    n = len(values)
    if all(isinstance(v, str) and len(v) == PDQ_HEX_LENGTH for v in values):
        try:
            raw = bytes.fromhex("".join(values))
        except ValueError:
            raw = b""
        if len(raw) == n * PDQ_BYTES:  # bytes.fromhex skips spaces, so a short result means a bad hash
            return np.frombuffer(raw, dtype=np.uint8).reshape(n, PDQ_BYTES).copy()
    for i, v in enumerate(values):
        if not isinstance(v, str) or not _HEX.fullmatch(v):
            raise ValueError(f"hash {i} is not a PDQ hash: {v!r:.80}; expected 64 hexadecimal digits (256 bits)")
    raise AssertionError("unreachable: every hash was valid but the batch did not parse")


def _as_codes(hashes: HashesIn) -> Codes:
    """Hashes in any of the accepted forms as a C-contiguous (n, 32) uint8 array: an (n, 32)
    uint8 array, a sequence of (32,) uint8 arrays, or a sequence of 64-hex-digit strings."""
    if isinstance(hashes, np.ndarray):
        if hashes.dtype != np.uint8 or hashes.ndim != 2 or hashes.shape[1] != PDQ_BYTES:
            raise ValueError(
                f"PDQ hashes as an array must be uint8 of shape (n, 32); got dtype {hashes.dtype}, shape {hashes.shape}"
            )
        return np.ascontiguousarray(hashes)
    if isinstance(hashes, str | bytes):
        raise TypeError("pass a sequence of hashes, not one string: search(hash) takes a single hash")
    if len(hashes) == 0:
        return np.empty((0, PDQ_BYTES), dtype=np.uint8)
    if all(isinstance(h, str) for h in hashes):
        return _hex_list_to_codes(hashes)  # type: ignore[arg-type]
    rows: list[Codes] = []
    for i, h in enumerate(hashes):
        if isinstance(h, str):
            rows.append(hex_to_bits(h))
            continue
        arr = np.asarray(h)
        if arr.dtype != np.uint8 or arr.shape != (PDQ_BYTES,):
            raise ValueError(f"hash {i} is not a PDQ hash: expected 32 uint8 bytes or 64 hex digits, got {type(h).__name__}")
        rows.append(arr)
    return np.ascontiguousarray(np.stack(rows))


def _as_ids(ids: Sequence[int] | npt.NDArray[np.integer]) -> Ids:
    arr = np.asarray(ids)
    if arr.ndim != 1:
        raise ValueError(f"ids must be a flat sequence of integers; got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be integers; got {arr.dtype}")
    if arr.dtype == np.uint64 and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError("ids must fit in a signed 64-bit integer")
    return arr.astype(np.int64, copy=False)


class _Tables:
    """Multi-index hashing over one segment's codes: exact radius search without a full scan.

    Cut every 256-bit hash into 16 substrings of 16 bits. If a stored hash is within distance r
    of a query, the r differing bits fall in 16 substrings, so at least one substring differs
    in at most floor(r / 16) bits (at r = 31: at most 1). So every match is among the entries
    whose substring t equals the query's substring t with at most floor(r / 16) bits flipped, for
    some t: 16 x 17 buckets at r = 31. Each table is the segment's positions sorted by one
    substring (uint32), with where each of the 65,536 keys starts: 64 bytes per entry in all.
    The candidates (about n / 65,536 x 272: 41,000 at 10M) are then compared in full, so the
    result is exactly the flat scan's. Measured at 10M (bench/bank_match.py): see the module
    docstring."""

    __slots__ = ("order", "starts")

    def __init__(self, codes: Codes) -> None:
        keys = codes.view(np.uint16)
        self.order = np.empty((SUBSTRINGS, len(codes)), dtype=np.uint32)
        self.starts = np.zeros((SUBSTRINGS, 65_537), dtype=np.int64)
        for t in range(SUBSTRINGS):
            column = keys[:, t]
            self.order[t] = np.argsort(column, kind="stable")
            np.cumsum(np.bincount(column, minlength=65_536), out=self.starts[t, 1:])

    @property
    def nbytes(self) -> int:
        return int(self.order.nbytes + self.starts.nbytes)

    def candidates(self, query: Codes, flips: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint32]:
        keys = query.view(np.uint16)
        parts = []
        for t in range(SUBSTRINGS):
            probes = keys[t] ^ flips
            for a, b in zip(self.starts[t, probes].tolist(), self.starts[t, probes.astype(np.int64) + 1].tolist(), strict=True):
                if b > a:
                    parts.append(self.order[t, a:b])
        if not parts:
            return np.empty(0, dtype=np.uint32)
        return np.unique(np.concatenate(parts))


def _flips(radius: int) -> npt.NDArray[np.uint16] | None:
    """The keys to XOR a query's substring with: every pattern of at most floor(radius / 16)
    flipped bits; None when that is more than 2 (then a flat scan is cheaper)."""
    most = radius // SUBSTRINGS
    if most > 2:
        return None
    out = [0]
    if most >= 1:
        out += [1 << b for b in range(16)]
    if most >= 2:
        out += [(1 << a) | (1 << b) for a in range(16) for b in range(a + 1, 16)]
    return np.array(out, dtype=np.uint16)


class _Segment:
    """One immutable IndexBinaryFlat with its ids, sorted, and a mutable per-entry alive flag.

    Only the writer (under the index's writer lock) clears `alive` flags, counts `dead` and
    appends to `killed` (the positions it cleared, in order, so a merge can replay the removals
    made while it ran without comparing whole flag arrays); readers only read them. Codes are
    never changed after construction, so searching a segment from many threads is safe."""

    __slots__ = ("alive", "codes", "dead", "ids", "index", "killed", "tables")

    def __init__(self, ids: Ids, codes: Codes) -> None:
        self.ids = ids  # sorted ascending, unique
        self.index = faiss.IndexBinaryFlat(PDQ_BITS)
        self.index.add(codes)
        # A view of faiss's own copy of the codes (for merging), rather than a second copy.
        self.codes: Codes = faiss.rev_swig_ptr(cast(Any, self.index).xb.data(), len(ids) * PDQ_BYTES).reshape(len(ids), PDQ_BYTES)
        self.alive = np.ones(len(ids), dtype=np.bool_)
        self.dead = 0
        self.killed: list[npt.NDArray[np.int32]] = []
        self.tables = _Tables(self.codes) if len(ids) >= MIH_MIN else None

    def range_search(self, queries: Codes, radius: int) -> tuple[Any, Any, Any]:
        """faiss's range_search contract (lims, distances, positions; distance <= radius), by
        multi-index hashing on a large segment, or faiss's flat scan."""
        flips = _flips(radius) if self.tables is not None else None
        if self.tables is None or flips is None:
            return self.index.range_search(queries, radius + 1)  # faiss keeps distance < radius + 1
        lims = [0]
        dists: list[npt.NDArray[np.int64]] = []
        positions: list[npt.NDArray[np.int64]] = []
        for q in queries:
            cand = self.tables.candidates(q, flips).astype(np.int64)
            d = np.bitwise_count((self.codes[cand] ^ q).view(np.uint64)).sum(axis=1, dtype=np.int64)
            near = d <= radius
            positions.append(cand[near])
            dists.append(d[near])
            lims.append(lims[-1] + int(near.sum()))
        empty = np.empty(0, dtype=np.int64)
        return (
            np.array(lims, dtype=np.int64),
            np.concatenate(dists) if dists else empty,
            np.concatenate(positions) if positions else empty,
        )

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def live(self) -> int:
        return len(self.ids) - self.dead

    @property
    def nbytes(self) -> int:
        killed = sum(k.nbytes for k in self.killed)
        tables = self.tables.nbytes if self.tables is not None else 0
        return len(self.ids) * PDQ_BYTES + self.ids.nbytes + self.alive.nbytes + killed + tables + _SEGMENT_OVERHEAD

    def kill(self, ids: Ids) -> int:
        """Mark the live entries with these ids dead; returns how many there were. Writer only."""
        if not len(ids) or not len(self.ids):
            return 0
        pos = np.searchsorted(self.ids, ids)
        inside = pos < len(self.ids)
        pos = pos[inside]
        pos = pos[self.ids[pos] == ids[inside]]
        pos = pos[self.alive[pos]]
        if len(pos):
            self.alive[pos] = False
            self.dead += len(pos)
            self.killed.append(pos.astype(np.int32))
        return len(pos)


def _tier(live: int) -> int:
    tier, size = 0, TIER_BASE
    while live >= size:
        tier, size = tier + 1, size * FANOUT
    return tier


def _plan(segments: tuple[_Segment, ...]) -> tuple[_Segment, ...] | None:
    """Which segments to merge next, if any: FANOUT segments of one size tier (smallest tier
    first), else the first segment that is at least MAX_DEAD_FRACTION dead."""
    tiers: dict[int, list[_Segment]] = {}
    for seg in segments:
        if seg.live == 0:
            return (seg,)
        tiers.setdefault(_tier(seg.live), []).append(seg)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= FANOUT:
            return tuple(tiers[tier])
    for seg in segments:
        if seg.dead and seg.dead >= MAX_DEAD_FRACTION * len(seg):
            return (seg,)
    return None


def _build(ids: Ids, codes: Codes) -> _Segment:
    if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        order = np.argsort(ids, kind="stable")
        ids, codes = ids[order], codes[order]
    return _Segment(np.ascontiguousarray(ids), np.ascontiguousarray(codes))


class PDQIndex:
    """Exact radius search over PDQ hashes, each stored under an integer id.

    >>> index = PDQIndex()
    >>> index.add([7], ["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"])
    >>> index.search("f8f8f0cee0f4a84f06370a2a038f63f0b36e26d596621e1d33e6b39c4e9c9b22")
    [(7, 2)]

    Readers take no lock; writers share one. See the module docstring for the design."""

    def __init__(self, radius: int = DEFAULT_RADIUS) -> None:
        if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= PDQ_BITS:
            raise ValueError(f"radius must be an integer number of bits from 0 to {PDQ_BITS}; got {radius!r}")
        self._radius = radius
        self._segments: tuple[_Segment, ...] = ()
        self._live = 0
        self._write_lock = threading.Lock()  # add, remove, and a merge's swap
        self._merge_lock = threading.Lock()  # one merge at a time (background thread or compact())
        self._merger: threading.Thread | None = None  # guarded by _write_lock

    @property
    def radius(self) -> int:
        """The largest Hamming distance (in bits) that counts as a match."""
        return self._radius

    def __len__(self) -> int:
        """Live entries: added and not removed."""
        return self._live

    def memory_bytes(self) -> int:
        """What the index holds: 32 bytes of hash, 8 of id and 1 alive flag per entry (dead
        entries included until a merge drops them), plus a small fixed cost per segment. A merge
        in progress holds a copy of the segments it merges on top of this, briefly."""
        return sum(seg.nbytes for seg in self._segments)

    def add(self, ids: Sequence[int] | npt.NDArray[np.integer], hashes: HashesIn) -> None:
        """Store hashes under ids. An id that is already live is replaced (its old hash stops
        matching). Visible to every search that starts after this returns. Costs O(added): the
        rest of the index is not touched."""
        id_arr = _as_ids(ids)
        codes = _as_codes(hashes)
        if len(id_arr) != len(codes):
            raise ValueError(f"add got {len(id_arr)} ids but {len(codes)} hashes; pass one id per hash")
        if not len(id_arr):
            return
        uniq, counts = np.unique(id_arr, return_counts=True)
        if len(uniq) != len(id_arr):
            raise ValueError(f"id {int(uniq[np.argmax(counts > 1)])} appears more than once in one add; pass each id once")
        segment = _build(id_arr, codes)
        with self._write_lock:
            earlier = self._segments
            self._segments = (*earlier, segment)  # visible first, then the replaced entries die
            replaced = sum(seg.kill(segment.ids) for seg in earlier)
            self._live += len(segment) - replaced
            self._start_merger_if_needed()

    def remove(self, ids: Sequence[int] | npt.NDArray[np.integer]) -> int:
        """Stop matching these ids; returns how many were live (unknown ids are ignored).
        No search that starts after this returns will return them."""
        id_arr = np.unique(_as_ids(ids))
        if not len(id_arr):
            return 0
        with self._write_lock:
            removed = sum(seg.kill(id_arr) for seg in self._segments)
            self._live -= removed
            self._start_merger_if_needed()
        return removed

    def search(self, hash: str | npt.NDArray[np.uint8]) -> list[tuple[int, int]]:
        """Every live (id, distance) within the radius of one hash (64 hex digits or 32 bytes),
        nearest first (ties by id)."""
        if isinstance(hash, str):
            return self.search_many([hash])[0]
        arr = np.asarray(hash)
        if arr.dtype != np.uint8 or arr.shape != (PDQ_BYTES,):
            raise ValueError(
                f"search takes one PDQ hash: 64 hex digits or 32 uint8 bytes; got dtype {arr.dtype}, shape {arr.shape}"
            )
        return self.search_many(arr.reshape(1, PDQ_BYTES))[0]

    def search_many(self, hashes: HashesIn) -> list[list[tuple[int, int]]]:
        """search() for many hashes in one pass over each segment: one result list per query,
        in the order given."""
        queries = _as_codes(hashes)
        results: list[list[tuple[int, int]]] = [[] for _ in range(len(queries))]
        if not len(queries):
            return results
        for seg in self._segments:  # one atomic read of the tuple; a concurrent swap does not affect this search
            lims, dist, pos = seg.range_search(queries, self._radius)
            if not len(pos):
                continue
            keep = seg.alive[pos]
            if not keep.any():
                continue
            which = np.repeat(np.arange(len(queries)), np.diff(lims).astype(np.int64))[keep]
            found_ids = seg.ids[pos[keep]].tolist()
            found_dist = dist[keep].astype(np.int64).tolist()
            for q, i, d in zip(which.tolist(), found_ids, found_dist, strict=True):
                results[q].append((i, d))
        for r in results:
            r.sort(key=lambda pair: (pair[1], pair[0]))
        return results

    def compact(self) -> None:
        """Merge every segment into one and drop dead entries, now, in the calling thread.
        Searches continue meanwhile on the segments as they were. Useful after a bulk load or a
        large removal; the background merges make it unnecessary otherwise."""
        with self._merge_lock:
            segments = self._segments
            if len(segments) > 1 or any(seg.dead for seg in segments):
                self._merge(segments)

    # Merging -----------------------------------------------------------------------------

    def _start_merger_if_needed(self) -> None:
        """Called with the writer lock held, so a merger that is about to stop (it checks under
        the same lock) cannot miss the work this write created."""
        if self._merger is None and _plan(self._segments) is not None:
            self._merger = threading.Thread(target=self._merge_loop, name="pdq-index-merge", daemon=True)
            self._merger.start()

    def _merge_loop(self) -> None:
        try:
            while True:
                with self._merge_lock:
                    plan = _plan(self._segments)
                    if plan is not None:
                        self._merge(plan)
                        continue
                with self._write_lock:
                    if _plan(self._segments) is None:
                        self._merger = None
                        return
        except Exception:
            # Matching stays exact without merges (only slower as segments accumulate); the next
            # write starts a new merger.
            log.exception("PDQ index merge failed; matching continues, exact, on the unmerged segments")
            with self._write_lock:
                self._merger = None

    def _merge(self, sources: tuple[_Segment, ...]) -> None:
        """Replace `sources` by one segment of their live entries. Called with the merge lock
        held. The copy and the new faiss index are built without the writer lock. Removals made
        meanwhile are replayed on the merged segment under it, at the swap: every removal logged
        after the mark taken here. A removal that lands between the mark and the copy of the
        flags is replayed too, harmlessly (the merged segment does not hold that entry)."""
        with self._write_lock:
            marks = [len(seg.killed) for seg in sources]
        alive = [seg.alive.copy() for seg in sources]
        ids = np.concatenate([seg.ids[a] for seg, a in zip(sources, alive, strict=True)])
        codes = np.concatenate([seg.codes[a] for seg, a in zip(sources, alive, strict=True)])
        merged = _build(ids, codes) if len(ids) else None
        del alive, ids, codes
        with self._write_lock:
            if merged is not None:
                for seg, mark in zip(sources, marks, strict=True):
                    if len(seg.killed) > mark:
                        merged.kill(np.unique(seg.ids[np.concatenate(seg.killed[mark:])]))
            replaced = {id(seg) for seg in sources}
            rest = tuple(seg for seg in self._segments if id(seg) not in replaced)
            self._segments = (merged, *rest) if merged is not None and merged.live else rest
