"""Exact PDQ bank matching at radius 31: Tutela's PDQIndex beside python-threatexchange's own
PDQ indexes, on the same hashes and queries, on one core.

For each size (random 256-bit hashes, seeded): build time; memory (the index's own estimate,
memory_bytes(), and the growth of the process's resident set); p50 and p99 latency of one
lookup, over queries of which half are planted near-duplicates of stored hashes (distance 0 to
31) and half are random; and whether each peer returns exactly the matches Tutela returns.
The peers are threatexchange's `PDQIndex` (what `PdqSignal.get_index_cls()` returns: faiss
IndexBinaryMultiHash, 16 tables of 16 bits) and its newer `PDQIndex2` (faiss IndexFlatL2 over
the 256 bits as floats). Then, on each of Tutela's indexes: adding 1,000 hashes and removing
1,000 without a rebuild, and the lookup latency after (the first round is shown apart: it pays
numpy's one-off set-up of np.unique in a fresh process, about 10 ms).

Every system is built and measured in a fresh process, so one's memory does not count against
another's. OMP_NUM_THREADS=1 and faiss.omp_set_num_threads(1): one core.

    .venv/bin/python bench/bank_match.py                       # 10k, 1M and 10M: about 5 minutes, 6 GB of RAM
    .venv/bin/python bench/bank_match.py --sizes 10k,100k      # a quick run
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before faiss (and numpy's BLAS) start their thread pools

import argparse
import gc
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.table import Table

TARGETS = "targets for Tutela: 1M <= 2 ms per query and <= 150 MB; 10M <= 25 ms and <= 1 GB; adding 1,000 to 1M <= 100 ms"
RADIUS = 31
TUTELA = "tutela PDQIndex (BinaryFlat; MIH tables >= 262k)"
PYTX = "pytx PDQIndex (BinaryMultiHash 16x16)"
PYTX2 = "pytx PDQIndex2 (FlatL2)"
PYTX2_MAX = 1_000_000  # beyond this, PDQIndex2 would need 1 KB per hash as float32 (10 GB at 10M)
PYTX2_QUERIES = 100  # a PDQIndex2 lookup scans 1 KB per stored hash; fewer queries keep the run short

Codes = npt.NDArray[np.uint8]


@dataclass
class Result:
    system: str
    n: int
    build_s: float = 0.0
    index_mb: float | None = None
    rss_mb: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    matches: list[list[tuple[int, int]]] = field(default_factory=list)
    changes: dict[str, float] = field(default_factory=dict)
    error: str = ""


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def flip_bits(rng: np.random.Generator, code: Codes, k: int) -> Codes:
    bits = np.unpackbits(code)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def dataset(n: int, queries: int, seed: int) -> tuple[Codes, Codes]:
    """n stored hashes and the queries: even ones planted within distance 31 of a stored hash."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    qs = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    for i in range(0, queries, 2):
        qs[i] = flip_bits(rng, codes[rng.integers(n)], int(rng.integers(0, RADIUS + 1)))
    return codes, qs


def to_hex(codes: Codes) -> list[str]:
    h = codes.tobytes().hex()
    return [h[i : i + 64] for i in range(0, len(h), 64)]


def timed_queries(
    search: Callable[[str], list[tuple[int, int]]], queries: list[str]
) -> tuple[list[float], list[list[tuple[int, int]]]]:
    search(queries[0])  # warm up
    lat, out = [], []
    for q in queries:
        t0 = time.perf_counter()
        found = search(q)
        lat.append((time.perf_counter() - t0) * 1e3)
        out.append(sorted(found, key=lambda p: (p[1], p[0])))
    return lat, out


def measure(system: str, n: int, queries: int, seed: int) -> Result:
    """Build one system over n hashes and time its lookups. Runs in a fresh process."""
    import faiss

    faiss.omp_set_num_threads(1)
    codes, qs = dataset(n, queries, seed)
    q_hex = to_hex(qs)
    res = Result(system, n)
    if system == TUTELA:
        from tutela.hashbank.index import PDQIndex

        gc.collect()
        before = rss_bytes()
        t0 = time.perf_counter()
        index = PDQIndex(RADIUS)
        index.add(np.arange(n, dtype=np.int64), codes)
        res.build_s = time.perf_counter() - t0
        gc.collect()
        res.rss_mb = (rss_bytes() - before) / 1e6
        res.index_mb = index.memory_bytes() / 1e6
        res.latencies_ms, res.matches = timed_queries(index.search, q_hex)
        res.changes = changes(index, n, q_hex, seed)
        return res

    hexes = to_hex(codes)
    del codes
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    if system == PYTX:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex as TxPDQIndex

        tx: Any = TxPDQIndex.build(zip(hexes, range(n), strict=True))
    else:
        from threatexchange.signal_type.pdq.pdq_index2 import PDQIndex2

        tx = PDQIndex2(entries=zip(hexes, range(n), strict=True))
        q_hex = q_hex[:PYTX2_QUERIES]
    res.build_s = time.perf_counter() - t0
    gc.collect()
    res.rss_mb = (rss_bytes() - before) / 1e6

    def search(q: str) -> list[tuple[int, int]]:
        return [(int(m.metadata), int(m.similarity_info.distance)) for m in tx.query(q)]

    res.latencies_ms, res.matches = timed_queries(search, q_hex)
    return res


def changes(index: Any, n: int, q_hex: list[str], seed: int, rounds: int = 5) -> dict[str, float]:
    """Rounds of adding 1,000 new hashes and removing 1,000 stored ones, each without a
    rebuild; then check they took effect and time lookups again. The first round pays one-off
    costs of a fresh process (numpy's first calls), so it is reported apart from the median."""
    rng = np.random.default_rng(seed + 1)
    gone_all = rng.choice(n, size=min(1000 * rounds, n), replace=False)
    add_ms, remove_ms = [], []
    added: list[tuple[int, Codes]] = []
    for r in range(rounds):
        new_ids = np.arange(n + 1000 * r, n + 1000 * (r + 1), dtype=np.int64)
        new_codes = rng.integers(0, 256, size=(1000, 32), dtype=np.uint8)
        t0 = time.perf_counter()
        index.add(new_ids, new_codes)
        add_ms.append((time.perf_counter() - t0) * 1e3)
        gone = gone_all[1000 * r : 1000 * (r + 1)]
        t0 = time.perf_counter()
        index.remove(gone)
        remove_ms.append((time.perf_counter() - t0) * 1e3)
        added.extend((int(new_ids[i]), new_codes[i]) for i in range(0, 1000, 97))
    assert all(i in {j for j, _ in index.search(code)} for i, code in added), "an added hash is not found"
    assert len(index) == n + 1000 * rounds - len(gone_all), "removals not counted"
    lat, _ = timed_queries(index.search, q_hex[:200])
    return {
        "add_first_ms": add_ms[0],
        "add_ms": float(np.median(add_ms[1:])),
        "remove_first_ms": remove_ms[0],
        "remove_ms": float(np.median(remove_ms[1:])),
        "p50_after_ms": float(np.percentile(lat, 50)),
        "segments": float(len(index._segments)),
    }


def _child(conn: Connection, system: str, n: int, queries: int, seed: int) -> None:
    try:
        conn.send(measure(system, n, queries, seed))
    except BaseException as e:  # the parent reports it in the table
        conn.send(Result(system, n, error=f"{type(e).__name__}: {e}"))


def run(system: str, n: int, queries: int, seed: int, timeout_s: float) -> Result:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, system, n, queries, seed))
    proc.start()
    child.close()
    try:
        if parent.poll(timeout_s):
            result: Result = parent.recv()
            return result
        return Result(system, n, error=f"too slow: not built and queried within {timeout_s / 60:.0f} min")
    except EOFError:
        return Result(system, n, error=f"the process died (exit code {proc.exitcode}; out of memory?)")
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join()


def parse_size(text: str) -> int:
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k" if n % 1_000 == 0 else str(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--sizes", default="10k,1m,10m", help="comma-separated numbers of stored hashes (default: 10k,1m,10m)")
    ap.add_argument("--queries", type=int, default=1000, help="lookups timed per system and size (default 1000)")
    ap.add_argument("--seed", type=int, default=20240501)
    ap.add_argument("--timeout-min", type=float, default=30.0, help="give up on one system at one size after this long")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    console = Console(stderr=True)

    load_before = os.getloadavg()[0]
    table = Table(title=f"Exact PDQ lookups at radius {RADIUS}, one core ({TARGETS})")
    for col in (
        "hashes",
        "system",
        "build s",
        "index MB",
        "RSS Δ MB",
        "p50 ms",
        "p99 ms",
        "queries",
        "matches",
        "same as tutela",
    ):
        table.add_column(col, justify="left" if col in ("hashes", "system", "same as tutela") else "right")
    change_rows: list[tuple[int, dict[str, float]]] = []
    for n in sizes:
        ours: Result | None = None
        for system in (TUTELA, PYTX, PYTX2):
            if system == PYTX2 and n > PYTX2_MAX:
                table.add_row(
                    label(n), system, *["-"] * 7, f"not run: would hold {n * 1024 / 1e9:.0f} GB (1 KB per hash as float32)"
                )
                continue
            console.log(f"{label(n)}: {system} ...")
            r = run(system, n, args.queries, args.seed, args.timeout_min * 60)
            if r.error:
                table.add_row(label(n), system, *["-"] * 7, r.error)
                continue
            if system == TUTELA:
                ours = r
                change_rows.append((n, r.changes))
                same = "(reference)"
            elif ours is None:
                same = "-"
            else:
                same = "yes" if r.matches == ours.matches[: len(r.matches)] else "NO: results differ"
            lat = np.array(r.latencies_ms)
            table.add_row(
                label(n),
                system,
                f"{r.build_s:.3f}",
                f"{r.index_mb:.1f}" if r.index_mb is not None else "-",
                f"{r.rss_mb:.1f}",
                f"{np.percentile(lat, 50):.2f}",
                f"{np.percentile(lat, 99):.2f}",
                str(len(lat)),
                str(sum(len(m) for m in r.matches)),
                same,
            )
    out = Console(width=200)  # wide enough for the table when piped to a file
    table.caption = (
        f"{os.cpu_count()} cores; load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(above 1, other work shared the machine and the latencies are inflated)"
    )
    out.print(table)
    if change_rows:
        changes_table = Table(
            title="Tutela: 5 rounds of adding 1,000 and removing 1,000 without a rebuild "
            "(additions go to a new segment, removals are tombstones; merges run in the background)"
        )
        for col in (
            "hashes",
            "add 1,000 ms (median)",
            "first add ms",
            "remove 1,000 ms (median)",
            "first remove ms",
            "p50 ms after",
            "segments",
        ):
            changes_table.add_column(col, justify="left" if col == "hashes" else "right")
        for n, c in change_rows:
            changes_table.add_row(
                label(n),
                f"{c['add_ms']:.2f}",
                f"{c['add_first_ms']:.2f}",
                f"{c['remove_ms']:.2f}",
                f"{c['remove_first_ms']:.2f}",
                f"{c['p50_after_ms']:.2f}",
                f"{c['segments']:.0f}",
            )
        out.print(changes_table)


if __name__ == "__main__":
    main()
