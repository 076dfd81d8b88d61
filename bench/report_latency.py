"""From a report to the interim hide reaching the platform: how long a child waits, end to end.

A qualifying report (child sexual exploitation or grooming, involving a child, backed by a
detector signal, a trusted flagger or two independent reporters) makes Tutela hide the
reported content at once, pending review: the report's transaction queues an `action.taken`
webhook with `"interim": true`, and the server's delivery thread, woken as the report
commits, POSTs it, signed, to the platform. The target (the issue's figure): at most 1 s p99
on this machine, from just before the report's POST to the webhook's arrival at the platform.

What runs, each its own process: `tutela serve` (SQLite by default, or `--database-url`), with
TUTELA_WEBHOOK_URL/SECRET pointing at a real receiver that checks every signature with Tutela's
verifier and logs each accepted request with `received_at = time.time()`, taken in the
receiving process once the body has arrived. The sender takes `time.time()` just before each
POST, on the same machine, so both ends read the same clock. The receiver is this file's
aiohttp server by default (HTTP/1.1 keep-alive, a listen backlog of 1,024), as a platform's
would be; `--receiver tests` uses tests/webhook_receiver.py instead (http.server: a new
connection per webhook and a listen backlog of 5, whose overflows under a burst cost the
sender a 1 s SYN retransmission, a cost of that receiver rather than of Tutela).

Seeding, through the API: one child per report, each owning a playlist, and for every second
child a public playlist of a stranger's titled "hey cutie send me a pic": on his own playlist,
tagging nobody, the default policy publishes it, and the text detector's signal on that
published title is what a report rests on. One report per playlist, so every report opens its
own case and earns its own interim hide. The mix of reports, alternating:

- trusted flagger: a hotline (`trusted_flagger: true`) reports a child's playlist as
  child sexual exploitation;
- child + detector signal: the child reports the stranger's playlist as grooming (a child
  reporting involves a child; the published title backs it).

Phases: a warm-up (not counted), then a steady open loop (`--rate` reports/s on a fixed
schedule for `--duration` s), then a burst (`--burst` reports sent at once). For every report
the time to its webhook is matched by the `case_id` the report's answer gave (the answer must
say `interim_action: hide`). Beside it: the POST's own latency, the delivery alone (from the
answer to the webhook's arrival), and the rate at which each phase's reports were answered.

No peer is measured: the issue names none, and no open system does report -> interim hide ->
signed webhook, so the comparison is against the 1 s target.

    .venv/bin/python bench/report_latency.py                      # SQLite, 20/s for 30 s, burst of 200
    .venv/bin/python bench/report_latency.py --quick              # 20/s for 5 s, burst of 50
    .venv/bin/python bench/report_latency.py --database-url postgresql://root@127.0.0.1:5432/tutela_report_bench
        # PostgreSQL: create the database first (createdb), drop it after; ids are unique per run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import free_port, running_server, uid

TESTS_RECEIVER = Path(__file__).resolve().parents[1] / "tests" / "webhook_receiver.py"
TARGET_S = 1.0
SOLICITATION = "hey cutie send me a pic"
KINDS = ("trusted flagger", "child + detector signal")


@dataclass
class Sent:
    kind: str
    case_id: str
    t0: float  # time.time() just before the POST
    post_s: float  # the POST's own latency (perf_counter)


@dataclass
class Phase:
    name: str
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    arrivals: dict[str, Arrival] = field(default_factory=dict)

    def of(self, kind: str | None) -> list[Sent]:
        return [s for s in self.sent if kind is None or s.kind == kind]

    def to_webhook(self, kind: str | None = None) -> list[float]:
        """From just before the POST to the webhook's arrival, for each report whose webhook came."""
        return [self.arrivals[s.case_id].received_at - s.t0 for s in self.of(kind) if s.case_id in self.arrivals]

    def after_answer(self) -> list[float]:
        """From the report's answer to the webhook's arrival: the delivery alone."""
        return [self.arrivals[s.case_id].received_at - s.t0 - s.post_s for s in self.sent if s.case_id in self.arrivals]

    def missing(self, kind: str | None = None) -> int:
        return sum(1 for s in self.of(kind) if s.case_id not in self.arrivals)

    def retried(self, kind: str | None = None) -> int:
        return sum(1 for s in self.of(kind) if s.case_id in self.arrivals and self.arrivals[s.case_id].attempt > 1)


# ---- the receiver ------------------------------------------------------------------------------


def serve_receiver(port: int, secret: str, log_path: str) -> None:
    """The platform's webhook endpoint (run in its own process): aiohttp, HTTP/1.1 keep-alive, a
    listen backlog of 1,024. Verifies every signature with Tutela's verifier, answers 204, and
    appends each accepted request to `log_path` with `received_at = time.time()`, taken here,
    once the whole body has arrived."""
    from aiohttp import web

    from tutela.actions.signing import HEADER, SignatureError, verify

    out = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (open for the process's life)

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        received_at = time.time()
        try:
            verify(secret, request.headers.get(HEADER), body)
        except SignatureError as e:
            return web.Response(status=401, text=str(e))
        entry = {
            "delivery_id": request.headers.get("Tutela-Delivery"),
            "event": request.headers.get("Tutela-Event"),
            "attempt": int(request.headers.get("Tutela-Attempt", "0")),
            "received_at": received_at,
            "payload": json.loads(body),
        }
        out.write(json.dumps(entry) + "\n")
        out.flush()
        return web.Response(status=204)

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hooks", hook)
    app.router.add_get("/", ready)
    web.run_app(app, host="127.0.0.1", port=port, backlog=1024, access_log=None, print=None)


def start_receiver(which: str, port: int, secret: str, log: Path) -> subprocess.Popen[bytes]:
    if which == "tests":
        cmd = [sys.executable, str(TESTS_RECEIVER), "--port", str(port), "--secret", secret, "--log", str(log)]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-receiver", str(port), secret, str(log)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the webhook receiver did not start")
        time.sleep(0.05)


@dataclass(frozen=True)
class Arrival:
    received_at: float
    attempt: int  # Tutela-Attempt of the first accepted delivery: > 1 when it was retried


def interim_arrivals(log: Path) -> dict[str, Arrival]:
    """case_id -> when its interim `action.taken` first arrived (a redelivery keeps the first)."""
    found: dict[str, Arrival] = {}
    if not log.exists():
        return found
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        data = entry["payload"].get("data", {})
        if entry["event"] == "action.taken" and data.get("interim") is True:
            case_id = data["case_id"]
            if case_id not in found or entry["received_at"] < found[case_id].received_at:
                found[case_id] = Arrival(entry["received_at"], entry["attempt"])
    return found


def wait_for(log: Path, case_ids: set[str], timeout: float) -> dict[str, Arrival]:
    deadline = time.monotonic() + timeout
    while True:
        arrived = interim_arrivals(log)
        if case_ids <= arrived.keys() or time.monotonic() > deadline:
            return arrived
        time.sleep(0.2)


# ---- seeding -----------------------------------------------------------------------------------


@dataclass
class Target:
    kind: str
    child: str
    playlist: str


def seed(url: str, headers: dict[str, str], n: int, run: str) -> list[Target]:
    """n children, each with a playlist. For every second one, a stranger's own public playlist
    whose title asks for pictures: on his own playlist, tagging nobody, the policy publishes it,
    and the text detector's signal on it is what the child's report rests on."""
    targets: list[Target] = []
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for who in ("hotline", "stranger"):
            c.put(f"/v1/accounts/{run}-{who}", json={"age": {"band": "adult", "basis": "declared"}}).raise_for_status()
        for i in range(n):
            kid, pl = f"{run}-kid{i}", f"{run}-pl{i}"
            c.put(f"/v1/accounts/{kid}", json={"age": {"band": "child", "basis": "declared"}}).raise_for_status()
            c.put(f"/v1/objects/{pl}", json={"kind": "playlist", "owner": kid, "fields": {"title": "songs"}}).raise_for_status()
            kind = KINDS[i % 2]
            if kind == "child + detector signal":
                pl = f"{run}-stranger-pl{i}"
                c.put(f"/v1/objects/{pl}", json={"kind": "playlist", "owner": f"{run}-stranger"}).raise_for_status()
                r = c.post(
                    "/v1/checks",
                    json={
                        "change_id": uid("bench-sol"),
                        "actor": f"{run}-stranger",
                        "object": pl,
                        "field": "title",
                        "text": SOLICITATION,
                    },
                )
                r.raise_for_status()
                if r.json()["verdict"] != "allow" or not r.json()["id"]:
                    raise SystemExit(f"the stranger's own title was not published: {r.text}")
            targets.append(Target(kind, kid, pl))
    return targets


def report_body(t: Target, run: str) -> dict[str, Any]:
    if t.kind == "trusted flagger":
        return {
            "report_id": uid("bench-rep"),
            "reporter": f"{run}-hotline",
            "trusted_flagger": True,
            "object": t.playlist,
            "category": "child_sexual_exploitation",
            "text": "hotline notice: this playlist's cover and title sexualise a child",
        }
    return {
        "report_id": uid("bench-rep"),
        "reporter": t.child,
        "object": t.playlist,
        "category": "grooming",
        "text": "someone I don't know keeps asking me for pictures",
    }


# ---- sending -----------------------------------------------------------------------------------


async def _send(session: aiohttp.ClientSession, t: Target, run: str, phase: Phase) -> None:
    body = report_body(t, run)
    t0 = time.time()
    started = time.perf_counter()
    try:
        async with session.post("/v1/reports", json=body) as r:
            text = await r.text()
            post_s = time.perf_counter() - started
            if r.status != 201:
                phase.errors.append(f"HTTP {r.status}: {text[:200]}")
                return
            answer = json.loads(text)
    except aiohttp.ClientError as e:
        phase.errors.append(f"{type(e).__name__}: {e}")
        return
    if answer.get("interim_action") != "hide":
        phase.errors.append(f"no interim hide for {t.kind} report on {t.playlist}: {text[:200]}")
        return
    phase.sent.append(Sent(t.kind, answer["case_id"], t0, post_s))


async def steady(url: str, headers: dict[str, str], targets: list[Target], run: str, rate: float, phase: Phase) -> None:
    async with aiohttp.ClientSession(
        base_url=url, headers=headers, connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        start = time.perf_counter() + 0.05
        tasks = []
        for i, t in enumerate(targets):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(session, t, run, phase)))
        await asyncio.gather(*tasks)


async def burst(url: str, headers: dict[str, str], targets: list[Target], run: str, phase: Phase) -> None:
    async with aiohttp.ClientSession(
        base_url=url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=len(targets)),
        timeout=aiohttp.ClientTimeout(total=120),
    ) as session:
        await asyncio.gather(*(_send(session, t, run, phase) for t in targets))


# ---- the table ---------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full (Linux)."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            fields = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(fields.get("ListenOverflows", 0))
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20.0, help="reports per second in the steady phase")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of the steady phase")
    ap.add_argument("--burst", type=int, default=200, help="reports sent at once in the burst phase")
    ap.add_argument("--warmup", type=int, default=10, help="reports sent first and not counted")
    ap.add_argument("--quick", action="store_true", help="a short run: 5 s steady, a burst of 50")
    ap.add_argument("--database-url", default=None, help="e.g. postgresql://root@127.0.0.1:5432/tutela_report_bench")
    ap.add_argument(
        "--receiver",
        choices=("bench", "tests"),
        default="bench",
        help="bench: this file's aiohttp receiver (keep-alive, backlog 1024); tests: tests/webhook_receiver.py "
        "(http.server, a new connection per webhook, a listen backlog of 5)",
    )
    ap.add_argument("--serve-receiver", nargs=3, metavar=("PORT", "SECRET", "LOG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_receiver:
        port, secret, log_path = args.serve_receiver
        serve_receiver(int(port), secret, log_path)
        return
    if args.quick:
        args.duration, args.burst = 5.0, 50
    from rich.console import Console
    from rich.table import Table

    steady_n = int(args.rate * args.duration)
    run = uid("rl")  # every id of this run, so that a reused PostgreSQL database does not collide
    secret = secrets.token_hex(16)
    store = "PostgreSQL" if args.database_url else "SQLite (embedded)"
    console = Console(width=140)
    overflows_before = listen_overflows()
    with tempfile.TemporaryDirectory(prefix="tutela-report-bench-") as tmp:
        log = Path(tmp) / "hooks.jsonl"
        port = free_port()
        receiver = start_receiver(args.receiver, port, secret, log)
        try:
            with running_server(
                args.database_url or f"sqlite:///{tmp}/bench.db",
                TUTELA_WEBHOOK_URL=f"http://127.0.0.1:{port}/hooks",
                TUTELA_WEBHOOK_SECRET=secret,
            ) as server:
                headers = {"Authorization": f"Bearer {server.keys['platform']}"}
                seeded = time.perf_counter()
                targets = seed(server.url, headers, args.warmup + steady_n + args.burst, run)
                console.print(
                    f"seeded {len(targets)} children and playlists "
                    f"({sum(t.kind != KINDS[0] for t in targets)} strangers' titles asking for pictures published) "
                    f"in {time.perf_counter() - seeded:.1f} s"
                )
                warm = Phase("warm-up")
                asyncio.run(burst(server.url, headers, targets[: args.warmup], run, warm))
                wait_for(log, {s.case_id for s in warm.sent}, 30)
                time.sleep(1.0)
                first, last = args.warmup, args.warmup + steady_n
                phases = [Phase(f"steady {args.rate:g}/s for {args.duration:g} s"), Phase(f"burst of {args.burst} at once")]
                for phase in phases:
                    if phase is phases[0]:
                        asyncio.run(steady(server.url, headers, targets[first:last], run, args.rate, phase))
                    else:
                        asyncio.run(burst(server.url, headers, targets[last:], run, phase))
                    phase.arrivals = wait_for(log, {s.case_id for s in phase.sent}, 60)
                    time.sleep(1.0)  # the statements of reasons that follow each hide drain
        finally:
            receiver.terminate()
            receiver.wait(10)
    overflows_after = listen_overflows()

    receiver_name = "aiohttp receiver" if args.receiver == "bench" else "tests/webhook_receiver.py"
    table = Table(
        title=f"report -> interim hide (signed action.taken webhook, data.interim true, at the {receiver_name}), "
        f"{store}, {os.cpu_count()} cores; target p99 <= {TARGET_S * 1000:.0f} ms"
    )
    for col in ("scenario", "measured", "reports", "missing", "retried", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(col, justify="left" if col in ("scenario", "measured") else "right")

    def row(scenario: str, measured: str, xs: list[float], reports: int, missing: str = "", retried: str = "") -> None:
        stats = [f"{pct(xs, q):.1f}" for q in (0.5, 0.95, 0.99)] + [f"{max(xs) * 1000:.1f}"] if xs else ["-"] * 4
        table.add_row(scenario, measured, str(reports), missing, retried, *stats)

    every: list[float] = []
    for phase in phases:
        every += phase.to_webhook()
        row(phase.name, "report -> webhook", phase.to_webhook(), len(phase.sent), str(phase.missing()), str(phase.retried()))
        for kind in KINDS:
            n = len(phase.of(kind))
            row(f"  {kind}", "report -> webhook", phase.to_webhook(kind), n, str(phase.missing(kind)), str(phase.retried(kind)))
        row("", "POST /v1/reports alone", [s.post_s for s in phase.sent], len(phase.sent))
        row("", "answer -> webhook", phase.after_answer(), len(phase.sent))
        table.add_section()
    missing = sum(p.missing() for p in phases)
    row("all", "report -> webhook", every, sum(len(p.sent) for p in phases), str(missing), str(sum(p.retried() for p in phases)))
    console.print(table)

    for phase in phases:
        if phase.sent:
            span = max(s.t0 + s.post_s for s in phase.sent) - min(s.t0 for s in phase.sent)
            console.print(
                f"{phase.name}: {len(phase.sent)} reports answered in {span:.2f} s ({len(phase.sent) / span:.0f} reports/s)"
            )
    errors = [e for p in phases for e in p.errors]
    if errors:
        console.print(f"{len(errors)} report(s) failed, e.g. {errors[0]}")
    if overflows_before is not None and overflows_after is not None and overflows_after > overflows_before:
        console.print(
            f"{overflows_after - overflows_before} connection(s) dropped by a full listen queue on this machine during the "
            "run (each costs the sender a SYN retransmission: 1 s, then 3 s)"
        )
    p99 = pct(every, 0.99) / 1000 if every else float("inf")
    ok = p99 <= TARGET_S and not missing and not errors
    console.print(
        f"p99 report -> interim webhook over all {len(every)} reports: {p99 * 1000:.1f} ms; "
        f"target <= {TARGET_S * 1000:.0f} ms: {'MET' if ok else 'NOT MET'}"
        + (f" ({missing} webhook(s) never arrived within 60 s)" if missing else "")
    )


if __name__ == "__main__":
    main()
