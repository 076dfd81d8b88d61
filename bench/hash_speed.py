"""Speed of hashing an upload, end to end on one core: bytes in, PDQ + MD5 + SHA-256 out.

Tutela's path is `tutela.image.analyse`: the safe decode (limits, format sniffing, EXIF) at
PDQ_SIDE (512 px), which a JPEG's decoder does at reduced scale (Image.draft), then PDQ, MD5 and
SHA-256; with and without the 8 dihedral PDQ variants. Beside it, the same bytes hashed the
naive way (a full-resolution Pillow decode, then pdqhash.compute, MD5 and SHA-256) and by
python-threatexchange's `pdq_from_bytes` (PDQ only, also at full resolution). The last column is how many
bits each PDQ hash is from the naive full-resolution one: what the speed costs in accuracy.

Inputs: two JPEGs (quality 90) made from scikit-image's bundled astronaut photo, upscaled to
1024x1024 and 4000x3000. Each row is ~200 runs (fewer for the slow full-resolution rows,
capped at about 20 s), after one warm-up. Threads are limited to one and the process is
pinned to one core.

    .venv/bin/python bench/hash_speed.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy loads

import hashlib  # noqa: E402
import io  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pdqhash  # noqa: E402
from PIL import Image  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from skimage import data as samples  # noqa: E402
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes  # noqa: E402

from tutela.image import analyse, hamming, pdq_hex  # noqa: E402

RUNS = 200
ROW_BUDGET_S = 20.0


def make_jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.fromarray(samples.astronaut()).resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=90)
    return out.getvalue()


def naive(data: bytes) -> str:
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(image.convert("RGB"))
    bits, _quality = pdqhash.compute(pixels)
    hashlib.md5(data, usedforsecurity=False).hexdigest()
    hashlib.sha256(data).hexdigest()
    return pdq_hex(bits)


def timed(fn: Callable[[bytes], str], data: bytes) -> tuple[list[float], str]:
    result = fn(data)  # warm-up, and the hash for the accuracy column
    times: list[float] = []
    budget_end = time.perf_counter() + ROW_BUDGET_S
    while len(times) < RUNS and (len(times) < 20 or time.perf_counter() < budget_end):
        started = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - started)
    return sorted(times), result


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    systems: dict[str, Callable[[bytes], str]] = {
        "tutela analyse (PDQ, MD5, SHA-256)": lambda d: analyse(d, dihedral=False).hashes.pdq,
        "tutela analyse + 8 dihedral PDQ": lambda d: analyse(d).hashes.pdq,
        "naive full-res decode + pdqhash": naive,
        "threatexchange pdq_from_bytes (PDQ only)": lambda d: pdq_from_bytes(d)[0],
    }
    table = Table(title="Hashing an upload end to end, one core (target: PDQ of a 1024x1024 JPEG <= 10 ms at p50)")
    for column in ("image", "system", "runs", "p50 ms", "p99 ms", "bits from full-res"):
        table.add_column(column, justify="left" if column in ("image", "system") else "right")
    for size in ((1024, 1024), (4000, 3000)):
        data = make_jpeg(size)
        reference = naive(data)
        for i, (name, fn) in enumerate(systems.items()):
            times, pdq = timed(fn, data)
            table.add_row(
                f"{size[0]}x{size[1]}, {len(data) // 1024:,} KB" if i == 0 else "",
                name,
                str(len(times)),
                f"{times[len(times) // 2] * 1e3:.1f}",
                f"{times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3:.1f}",
                str(hamming(pdq, reference)),
            )
        table.add_section()
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
