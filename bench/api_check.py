"""Throughput and latency of the synchronous check (`POST /v1/checks`) on a running server.

Starts `tutela serve` on the embedded SQLite store (or the PostgreSQL database named by
--database-url; TUTELA_DATABASE_URL is not read), seeds a world of children, teens, adults and unknown-age accounts with
friendships and playlists, then drives it over loopback from a separate load-generator
process (aiohttp on uvloop; httpx's client spent a whole core at 480/s and measured itself):

  1. closed loop: `--concurrency` clients back to back for `--duration` s: the ceiling;
  2. open loop: `--rate` checks/s on a fixed schedule for `--duration` s. Latency is measured
     from each request's scheduled send time, so a stall cannot hide its own queueing.

The mix per check: 40% an adult retitles their own playlist (allow), 20% a stranger writes a
harmful phrasing into a protected account's playlist (block), 20% a friend writes a benign
text there (allow, contact recorded), 20% an adult retitles their own playlist tagging 1-3
random accounts (mixed verdicts). Texts are drawn from the labelled corpus (data/text/):
4,370 distinct benign titles, names and messages, and 4,352 harmful phrasings and evasions.

    .venv/bin/python bench/api_check.py                 # defaults: rate 500/s, 20 s each
    .venv/bin/python bench/api_check.py --database-url postgresql://root@127.0.0.1/tutela_bench
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from support import running_server  # the same real server the API tests start

BANDS = ["child"] * 3 + ["teen"] * 2 + ["adult"] * 4 + ["unknown"]


def corpus_texts() -> tuple[list[str], list[str]]:
    """Real benign texts (song titles, playlist names, messages) and the harmful phrasings,
    so that the text detector sees thousands of distinct texts, as in real traffic."""
    from tutela.text.corpus import examples

    rows = list(examples())
    benign = [e.text for e in rows if not e.harmful]
    harmful = [e.text for e in rows if e.harmful]
    return benign, harmful


def seed(url: str, headers: dict[str, str], accounts: int, rng: random.Random) -> dict[str, Any]:
    world: dict[str, Any] = {"protected": [], "adults": [], "friends": {}}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for i in range(accounts):
            band = BANDS[i % len(BANDS)]
            aid = f"u{i}"
            c.put(f"/v1/accounts/{aid}", json={"age": {"band": band, "basis": "declared"}}).raise_for_status()
            c.put(
                f"/v1/objects/pl-{aid}", json={"kind": "playlist", "owner": aid, "fields": {"title": "songs"}}
            ).raise_for_status()
            world["adults" if band == "adult" else "protected"].append(aid)
        for kid in world["protected"]:
            friend = rng.choice(world["adults"])
            c.put(f"/v1/accounts/{kid}/connections/{friend}/friend").raise_for_status()
            world["friends"][kid] = friend
    return world


def make_change(rng: random.Random, world: dict[str, Any], change_id: str) -> dict[str, Any]:
    r = rng.random()
    if r < 0.4:
        a = rng.choice(world["adults"])
        return {"change_id": change_id, "actor": a, "object": f"pl-{a}", "field": "title", "text": "Sex on Fire / bangers"}
    if r < 0.6:
        kid = rng.choice(world["protected"])
        stranger = rng.choice([a for a in world["adults"][:50] if a != world["friends"][kid]])
        return {"change_id": change_id, "actor": stranger, "object": f"pl-{kid}", "field": "title", "text": "hey"}
    if r < 0.8:
        kid = rng.choice(world["protected"])
        return {
            "change_id": change_id,
            "actor": world["friends"][kid],
            "object": f"pl-{kid}",
            "field": "description",
            "text": "nice",
        }
    a = rng.choice(world["adults"])
    everyone = world["adults"] + world["protected"]
    tags = rng.sample(everyone, rng.randint(1, 3))
    return {"change_id": change_id, "actor": a, "object": f"pl-{a}", "field": "title", "text": "for you", "tags": tags}


def _session(url: str, headers: dict[str, str], connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def _post(session: aiohttp.ClientSession, body: dict[str, Any]) -> bool:
    try:
        async with session.post("/v1/checks", json=body) as r:
            await r.read()
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def _closed(url: str, headers: dict[str, str], world: dict[str, Any], concurrency: int, duration: float) -> dict[str, Any]:
    rng = random.Random(1)
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + duration
    async with _session(url, headers, concurrency) as session:

        async def worker(w: int) -> None:
            nonlocal errors
            i = 0
            while time.perf_counter() < stop:
                body = make_change(rng, world, f"closed-{os.getpid()}-{w}-{i}")
                i += 1
                t0 = time.perf_counter()
                ok = await _post(session, body)
                lat.append(time.perf_counter() - t0)
                errors += not ok

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {"lat": lat, "errors": errors, "elapsed": elapsed}


async def _open(url: str, headers: dict[str, str], world: dict[str, Any], rate: float, duration: float) -> dict[str, Any]:
    rng = random.Random(2)
    lat: list[float] = []
    errors = 0
    total = int(rate * duration)
    async with _session(url, headers, 256) as session:

        async def one(i: int, scheduled: float) -> None:
            nonlocal errors
            ok = await _post(session, make_change(rng, world, f"open-{os.getpid()}-{i}"))
            lat.append(time.perf_counter() - scheduled)
            errors += not ok

        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"lat": lat, "errors": errors, "elapsed": elapsed}


def _load_process(kind: str, args: tuple[Any, ...], queue: mp.Queue) -> None:  # type: ignore[type-arg]
    import gc

    import uvloop

    # The generator holds thousands of tasks and futures: its own collector pauses would be
    # charged to the server as latency. It lives for one phase, so it runs without one.
    gc.disable()

    try:
        coro = _closed(*args) if kind == "closed" else _open(*args)
        queue.put(uvloop.run(coro))
    except BaseException as e:  # report, never leave the parent waiting
        queue.put({"error": f"{type(e).__name__}: {e}"})
        raise


def run_load(kind: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    p = ctx.Process(target=_load_process, args=(kind, args, queue))
    p.start()
    result: dict[str, Any] = queue.get()
    p.join()
    if "error" in result:
        raise SystemExit(f"the {kind}-loop load generator failed: {result['error']}")
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=500.0, help="open-loop checks per second")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    ap.add_argument("--concurrency", type=int, default=16, help="closed-loop clients")
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table

    rng = random.Random(0)
    with (
        tempfile.TemporaryDirectory(prefix="tutela-bench-") as tmp,
        running_server(args.database_url or f"sqlite:///{tmp}/bench.db") as server,
    ):
        headers = {"Authorization": f"Bearer {server.keys['platform']}"}
        world = seed(server.url, headers, args.accounts, rng)
        world["benign"], world["harmful"] = corpus_texts()
        run_load("closed", server.url, headers, world, 4, 2.0)  # warm-up
        closed = run_load("closed", server.url, headers, world, args.concurrency, args.duration)
        opened = run_load("open", server.url, headers, world, args.rate, args.duration)
        store = "PostgreSQL" if args.database_url else "SQLite (embedded)"

    table = Table(title=f"POST /v1/checks, default policy, {store}, {os.cpu_count()} cores, load from a separate process")
    for col in ("phase", "checks", "errors", "checks/s", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="right" if col != "phase" else "left")
    for name, r in (
        (f"closed loop, {args.concurrency} clients", closed),
        (f"open loop at {args.rate:.0f}/s (target: p99 <= 20 ms)", opened),
    ):
        lat = r["lat"]
        table.add_row(
            name,
            str(len(lat)),
            str(r["errors"]),
            f"{len(lat) / r['elapsed']:.0f}",
            f"{pct(lat, 0.5):.1f}",
            f"{pct(lat, 0.9):.1f}",
            f"{pct(lat, 0.99):.1f}",
            f"{max(lat) * 1000:.1f}",
        )
    Console().print(table)
    print(f"mean closed-loop latency {statistics.mean(closed['lat']) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
