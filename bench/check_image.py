"""The synchronous check of a 1024x1024 cover, end to end, over HTTP against a running server:
decode, hashes, bank match (10,000 entries), nudity, OCR, policy, and the stored decision.
Then each stage on its own, in process, to show where the time goes.

Images are benign (scikit-image's sample photos, and one with text drawn on it), each sent once
per round with a new change id, so that nothing is cached. One server process, SQLite; the
server's image work runs in its thread pool, and each model is given one thread.

    .venv/bin/python bench/check_image.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "tests")]
from image.benign_images import noise, photo, text_image  # noqa: E402
from support import running_server, tutela, uid  # noqa: E402
from tutela.image import analyse  # noqa: E402
from tutela.image.nudity import default_nudity_classifier  # noqa: E402
from tutela.image.ocr import default_text_reader  # noqa: E402

TARGET_MS = 150


def cover(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=88)
    return buf.getvalue()


def ms(xs: list[float]) -> tuple[str, str]:
    xs = sorted(xs)
    return f"{statistics.median(xs) * 1000:.1f}", f"{xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    covers = {name: cover(photo(name)) for name in ("astronaut", "coffee", "chelsea", "rocket", "motorcycle_left")}
    covers["text"] = cover(
        text_image(["add me on snap"], background=noise((900, 900), seed=3, low=160), size=(900, 900), font_size=70)
    )
    rng = np.random.default_rng(1)
    bank_lines = "\n".join(bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(10_000))

    tmp = Path(f"/tmp/tutela-bench-{uid('img')}")
    tmp.mkdir(parents=True)
    (tmp / "bank.txt").write_text(bank_lines + "\n")
    console = Console()
    with running_server(f"sqlite:///{tmp / 'bench.db'}") as server:
        tutela(server.env, "banks", "create", "bench-bank", "--kind", "blocklist", "--label", "csam")
        tutela(server.env, "banks", "import", "bench-bank", str(tmp / "bank.txt"), "--format", "hashes", "--signal-type", "pdq")
        api = server.client()
        api.account("bench-owner", "child")
        api.account("bench-friend", "adult")
        api.connect("bench-owner", "bench-friend")
        api.playlist("bench-list", "bench-owner")
        time.sleep(1.2)  # the server looks at the banks once a second
        for data in covers.values():  # warm-up: the models load on first use
            api.http.post("/v1/checks", json=_body(data))
        times: dict[str, list[float]] = {name: [] for name in covers}
        verdicts: dict[str, str] = {}
        for _ in range(args.rounds):
            for name, data in covers.items():
                started = time.perf_counter()
                r = api.http.post("/v1/checks", json=_body(data))
                times[name].append(time.perf_counter() - started)
                assert r.status_code == 200, r.text
                verdicts[name] = r.json()["verdict"]
    table = Table(
        title=f"POST /v1/checks with a 1024x1024 JPEG cover, over HTTP ({args.rounds} rounds; target p50 <= {TARGET_MS} ms)"
    )
    for col in ("cover", "verdict", "p50 ms", "p99 ms"):
        table.add_column(col, justify="left" if col in ("cover", "verdict") else "right")
    everything: list[float] = []
    for name, xs in times.items():
        everything += xs
        table.add_row(name, verdicts[name], *ms(xs))
    table.add_row("all", "", *ms(everything))
    console.print(table)

    stages = Table(title="the stages, in process, one thread each (same covers)")
    for col in ("stage", "p50 ms", "p99 ms"):
        stages.add_column(col, justify="left" if col == "stage" else "right")
    nudity, reader = default_nudity_classifier(), default_text_reader()
    analysed = {name: analyse(data) for name, data in covers.items()}
    for stage, fn in (
        ("decode + MD5 + SHA-256 + PDQ (8 variants)", lambda name: analyse(covers[name])),
        ("nudity classifier", lambda name: nudity.detect(analysed[name].decoded.image)),
        ("OCR", lambda name: reader.read(analysed[name].decoded.image)),
    ):
        xs = []
        for _ in range(max(3, args.rounds // 4)):
            for name in covers:
                started = time.perf_counter()
                fn(name)
                xs.append(time.perf_counter() - started)
        stages.add_row(stage, *ms(xs))
    console.print(stages)


def _body(data: bytes) -> dict[str, object]:
    return {
        "change_id": uid("bench"),
        "actor": "bench-friend",
        "object": "bench-list",
        "field": "cover",
        "image": {"base64": base64.b64encode(data).decode()},
    }


if __name__ == "__main__":
    main()
