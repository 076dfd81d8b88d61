"""PDQIndex returns exactly what brute force returns, follows adds and removals at once, and
stays exact while readers search and a writer changes it (merges included)."""

from __future__ import annotations

import threading
import time

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tutela.hashbank.index as index_module
from tutela.hashbank.index import FANOUT, TIER_BASE, PDQIndex, bits_to_hex, hex_to_bits

Codes = npt.NDArray[np.uint8]
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"  # threatexchange's PdqSignal example


def random_codes(rng: np.random.Generator, n: int) -> Codes:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def at_distance(rng: np.random.Generator, code: Codes, k: int) -> Codes:
    """`code` with exactly k of its 256 bits flipped."""
    bits = np.unpackbits(code)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def brute(model: dict[int, Codes], query: Codes, radius: int) -> list[tuple[int, int]]:
    """Hamming distance by numpy popcount over every stored hash."""
    if not model:
        return []
    ids = np.fromiter(model, dtype=np.int64, count=len(model))
    codes = np.stack([model[i] for i in model])
    dist = np.unpackbits(codes ^ query, axis=1).sum(axis=1)
    hit = dist <= radius
    return sorted(zip(ids[hit].tolist(), dist[hit].tolist(), strict=True), key=lambda p: (p[1], p[0]))


def wait_for_merges(index: PDQIndex, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while index._merger is not None:
        assert time.monotonic() < deadline, "background merges did not finish"
        time.sleep(0.01)


def test_hex_and_bytes_round_trip_big_endian_like_meta_pdq() -> None:
    bits = hex_to_bits(BRIDGE)
    assert bits.dtype == np.uint8 and bits.shape == (32,)
    assert bits[0] == 0xF8 and bits[-1] == 0x22  # first hex pair is the first byte
    assert bits_to_hex(bits) == BRIDGE
    assert bits_to_hex(hex_to_bits(BRIDGE.upper())) == BRIDGE
    assert hex_to_bits("80" + "00" * 31)[0] == 0x80


@pytest.mark.parametrize(
    "bad", ["", BRIDGE[:-1], BRIDGE + "0", "g" + BRIDGE[1:], " " + BRIDGE[1:], BRIDGE[:32] + " " + BRIDGE[33:]]
)
def test_hex_to_bits_refuses_anything_but_64_hex_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        hex_to_bits(bad)


def test_bits_to_hex_refuses_wrong_shapes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        bits_to_hex(np.zeros(31, dtype=np.uint8))
    with pytest.raises(ValueError, match="32 bytes"):
        bits_to_hex(np.zeros(32, dtype=np.int64))


def test_planted_hashes_at_the_edge_of_the_radius() -> None:
    rng = np.random.default_rng(7)
    stored = random_codes(rng, 20_000)
    query = random_codes(rng, 1)[0]
    planted = {100_000 + k: at_distance(rng, query, k) for k in (0, 1, 15, 30, 31, 32)}
    index = PDQIndex()
    index.add(np.arange(len(stored)), stored)
    index.add(list(planted), np.stack(list(planted.values())))
    found = index.search(query)
    assert [(i - 100_000, d) for i, d in found] == [(0, 0), (1, 1), (15, 15), (30, 30), (31, 31)]
    model = {i: stored[i] for i in range(len(stored))} | planted
    assert found == brute(model, query, 31)
    assert PDQIndex(radius=32).search(query) == []  # empty index
    wider = PDQIndex(radius=32)
    wider.add(list(planted), np.stack(list(planted.values())))
    assert [d for _, d in wider.search(query)] == [0, 1, 15, 30, 31, 32]
    narrow = PDQIndex(radius=0)
    narrow.add(list(planted), np.stack(list(planted.values())))
    assert narrow.search(bits_to_hex(query)) == [(100_000, 0)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    radius=st.integers(0, 256),
    batches=st.integers(1, 6),
    nq=st.integers(1, 8),
)
def test_exact_against_brute_force(seed: int, n: int, radius: int, batches: int, nq: int) -> None:
    rng = np.random.default_rng(seed)
    codes = random_codes(rng, n)
    ids = rng.choice(10**12, size=n, replace=False).astype(np.int64) - 10**11  # negative ids too
    queries = random_codes(rng, nq)
    for q in range(nq):  # plant neighbours around the radius so matches are not all-or-nothing
        if n:
            for k in {max(0, radius - 1), radius, min(256, radius + 1)}:
                codes[rng.integers(n)] = at_distance(rng, queries[q], k)
    index = PDQIndex(radius)
    for part in np.array_split(np.arange(n), batches):
        index.add(ids[part], codes[part])
    model = {int(i): c for i, c in zip(ids, codes, strict=True)}
    assert len(index) == n
    assert index.search_many(queries) == [brute(model, q, radius) for q in queries]


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(st.integers(0, 60), min_size=1, max_size=25, unique=True)),
        st.tuples(st.just("remove"), st.lists(st.integers(0, 70), max_size=25)),
        st.tuples(st.just("compact"), st.just([])),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), ops=OPS)
def test_adds_removals_and_merges_are_visible_to_the_next_search(seed: int, ops: list[tuple[str, list[int]]]) -> None:
    """Against a dict model: re-adding a live id replaces its hash, a removed id never comes
    back unless added again, and compaction changes no result."""
    rng = np.random.default_rng(seed)
    centre = random_codes(rng, 1)[0]
    index = PDQIndex(radius=31)
    model: dict[int, Codes] = {}
    for op, ids in ops:
        if op == "add":
            # Hashes spread around one centre, so searching it finds some within 31 and some not.
            new = np.stack([at_distance(rng, centre, int(rng.integers(0, 45))) for _ in ids])
            index.add(ids, new)
            model.update(zip(ids, new, strict=True))
        elif op == "remove":
            live = sum(1 for i in set(ids) if i in model)
            assert index.remove(ids) == live
            for i in ids:
                model.pop(i, None)
        else:
            index.compact()
            assert len(index._segments) <= 1
        assert len(index) == len(model)
        assert index.search(centre) == brute(model, centre, 31)
    wait_for_merges(index)
    assert index.search(centre) == brute(model, centre, 31)


def test_readding_an_id_replaces_its_hash_and_removing_it_then_adding_it_back_works() -> None:
    rng = np.random.default_rng(3)
    a, b = random_codes(rng, 2)
    index = PDQIndex()
    index.add([1], [bits_to_hex(a)])
    index.add([1], [bits_to_hex(b)])
    assert len(index) == 1
    assert index.search(a) == [] and index.search(b) == [(1, 0)]
    assert index.remove([1, 1, 2]) == 1
    assert index.search(b) == [] and len(index) == 0
    assert index.remove([1]) == 0
    index.add([1], a.reshape(1, 32))
    assert index.search(a) == [(1, 0)] and index.search(b) == []


def test_accepts_arrays_lists_of_arrays_and_hex_and_refuses_the_rest() -> None:
    rng = np.random.default_rng(4)
    codes = random_codes(rng, 3)
    index = PDQIndex()
    index.add(np.array([10, 11, 12], dtype=np.uint32), list(codes))
    as_hex = [bits_to_hex(c) for c in codes]
    expected = [[(10 + i, 0)] for i in range(3)]
    assert index.search_many(codes) == expected
    assert index.search_many(as_hex) == expected
    assert index.search_many([c for c in codes]) == expected
    assert index.search_many([]) == []
    with pytest.raises(ValueError, match="hash 1 is not a PDQ hash"):
        index.add([1, 2], [as_hex[0], "nothex"])
    with pytest.raises(ValueError, match="2 ids but 1 hashes"):
        index.add([1, 2], [as_hex[0]])
    with pytest.raises(ValueError, match="id 5 appears more than once"):
        index.add([5, 5], [as_hex[0], as_hex[1]])
    with pytest.raises(ValueError, match=r"shape \(n, 32\)"):
        index.add([1], codes[:, :16])
    with pytest.raises(ValueError, match="integers"):
        index.add([1.5], codes[:1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="sequence of hashes"):
        index.search_many(as_hex[0])
    with pytest.raises(ValueError, match="search takes one PDQ hash"):
        index.search(codes)
    assert len(index) == 3  # nothing was half-added


@pytest.mark.parametrize("radius", [-1, 257, True, 3.0])
def test_radius_must_be_a_number_of_bits(radius: object) -> None:
    with pytest.raises(ValueError, match="radius"):
        PDQIndex(radius)  # type: ignore[arg-type]


def test_background_merges_bound_the_segments_and_drop_removed_entries() -> None:
    rng = np.random.default_rng(5)
    index = PDQIndex()
    model: dict[int, Codes] = {}
    centre = random_codes(rng, 1)[0]
    for batch in range(120):
        ids = list(range(batch * 100, batch * 100 + 100))
        codes = random_codes(rng, 100)
        codes[:3] = [at_distance(rng, centre, k) for k in (5, 31, 32)]
        index.add(ids, codes)
        model.update(zip(ids, codes, strict=True))
    wait_for_merges(index)
    sizes = sorted((len(s) for s in index._segments), reverse=True)
    assert len(sizes) < 2 * FANOUT, sizes  # 12,000 entries in 120 adds end up in a few segments
    assert index.search(centre) == brute(model, centre, 31)
    gone = list(range(0, 12_000, 2))  # half of everything: every segment passes the dead threshold
    assert index.remove(gone) == 6_000
    for i in gone:
        del model[i]
    wait_for_merges(index)
    assert all(s.dead == 0 for s in index._segments)
    assert sum(len(s) for s in index._segments) == len(index) == 6_000
    assert index.search(centre) == brute(model, centre, 31)
    assert index.memory_bytes() == pytest.approx(6_000 * 41, rel=0.05)


def test_changes_made_while_a_merge_runs_are_carried_into_the_merged_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(9)
    index = PDQIndex()
    codes = random_codes(rng, 300)
    for part in range(3):
        index.add(range(part * 100, part * 100 + 100), codes[part * 100 : part * 100 + 100])
    moved = random_codes(rng, 1)
    real_build = index_module._build
    during: list[bool] = []

    def build_while_the_writer_changes_things(ids: npt.NDArray[np.int64], c: Codes) -> index_module._Segment:
        segment = real_build(ids, c)
        if len(ids) == 300 and not during:  # the merge's build, outside the writer lock
            during.append(True)
            assert index.remove([5, 150]) == 2
            index.add([250], moved)  # replaces 250, which the merge has already copied
        return segment

    monkeypatch.setattr(index_module, "_build", build_while_the_writer_changes_things)
    index.compact()
    assert during
    assert len(index) == 298
    assert index.search(codes[5]) == [] and index.search(codes[150]) == []
    assert index.search(codes[250]) == [] and index.search(moved[0]) == [(250, 0)]
    assert index.search(codes[7]) == [(7, 0)]
    assert sum(s.live for s in index._segments) == 298


def test_memory_is_about_41_bytes_per_entry() -> None:
    index = PDQIndex()
    index.add(np.arange(50_000), random_codes(np.random.default_rng(6), 50_000))
    assert 50_000 * 41 <= index.memory_bytes() <= 50_000 * 41 + 10_000
    assert TIER_BASE < 50_000


def test_concurrent_readers_never_see_removed_ids_nor_miss_stable_ones() -> None:
    """Readers search without pause while a writer adds batches (which starts merges) and
    removes some of what it added the step before. Every result must hold every stable entry planted near the
    query, and no entry removed before the search began."""
    rng = np.random.default_rng(8)
    queries = random_codes(rng, 4)
    index = PDQIndex()
    stable = random_codes(rng, 20_000)
    expected: list[set[int]] = []
    for q in range(len(queries)):
        near = list(range(q * 10, q * 10 + 10))
        for i in near:
            stable[i] = at_distance(rng, queries[q], int(rng.integers(0, 32)))
        expected.append(set(near))
    index.add(np.arange(len(stable)), stable)

    removed: set[int] = set()
    removed_lock = threading.Lock()
    stop = threading.Event()
    failures: list[str] = []
    searches = [0]

    def reader() -> None:
        try:
            while not stop.is_set():
                with removed_lock:
                    gone = set(removed)
                results = index.search_many(queries)
                searches[0] += 1
                for q, found in enumerate(results):
                    ids = {i for i, _ in found}
                    if not expected[q] <= ids:
                        failures.append(f"query {q} missed stable ids {sorted(expected[q] - ids)}")
                    if ids & gone:
                        failures.append(f"query {q} returned removed ids {sorted(ids & gone)}")
        except Exception as e:  # a crash in a reader fails the test
            failures.append(repr(e))

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    batches = 0
    previous: list[int] = []
    try:
        next_id = 1_000_000
        started = time.monotonic()
        while batches < 60 or (searches[0] < 300 and time.monotonic() - started < 10):
            ids = list(range(next_id, next_id + 300))
            next_id += 300
            codes = random_codes(rng, 300)
            for j in range(0, 300, 30):  # some of each batch near the queries, so removed ones would show
                codes[j] = at_distance(rng, queries[j % len(queries)], int(rng.integers(0, 32)))
            index.add(ids, codes)
            # Remove from the batch before, which a background merge is likely copying right now.
            victims = previous[::2]
            index.remove(victims)
            with removed_lock:
                removed.update(victims)
            previous = ids
            batches += 1
            time.sleep(0.002)  # let the readers interleave with every step
    finally:
        stop.set()
        for t in readers:
            t.join()
    wait_for_merges(index)
    assert not failures, failures[:5]
    assert searches[0] >= 100
    assert len(index) == 20_000 + batches * 300 - (batches - 1) * 150
    assert len(index._segments) < batches / 4  # merges ran (and were swapped in) while readers searched


@pytest.mark.parametrize("radius", [0, 1, 15, 31, 32, 47, 48, 64])
def test_multi_index_hashing_on_large_segments_is_exactly_the_flat_scan(monkeypatch: pytest.MonkeyPatch, radius: int) -> None:
    import tutela.hashbank.index as ix

    monkeypatch.setattr(ix, "MIH_MIN", 1_000)  # the tables are built for segments this large
    rng = np.random.default_rng(radius)
    codes = rng.integers(0, 256, (5_000, 32), dtype=np.uint8)
    queries = []
    for k in range(40):  # near-duplicates at every distance around the radius, and random hashes
        q = np.unpackbits(codes[int(rng.integers(len(codes)))].copy())
        q[rng.choice(256, min(256, k), replace=False)] ^= 1
        queries.append(np.packbits(q))
    queries += list(rng.integers(0, 256, (10, 32), dtype=np.uint8))
    index = ix.PDQIndex(radius)
    index.add(np.arange(len(codes)) * 3, codes)
    assert index._segments[0].tables is not None
    index.remove([0, 3, 6])
    distances = np.bitwise_count((codes[None, :, :] ^ np.stack(queries)[:, None, :]).view(np.uint64)).sum(-1)
    for q, found in zip(range(len(queries)), index.search_many(np.stack(queries)), strict=True):
        expected = sorted(
            ((int(i) * 3, int(distances[q, i])) for i in np.nonzero(distances[q] <= radius)[0] if i > 2),
            key=lambda p: (p[1], p[0]),
        )
        assert found == expected
