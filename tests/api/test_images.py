"""Images through a running server: hash banks, text in images, bad uploads; both databases.

"Known abuse" here is a benign stand-in (scikit-image's sample photos) placed in a test
block-list bank, exactly as real deployments test their hash lists.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from image.benign_images import jpeg, noise, photo, png, text_image
from support import Api, Server, tutela, uid

BANK_REFRESH = 1.2  # seconds: the server looks at the banks at most once a second


def check_image(api: Api, actor: str, obj: str, data: bytes, multipart: bool = False, **extra: object) -> httpx.Response:
    change = {"change_id": extra.pop("change_id", uid("chg")), "actor": actor, "object": obj, "field": "cover", **extra}
    if multipart:
        import json

        return api.http.post(
            "/v1/checks", files={"change": (None, json.dumps(change)), "image": ("cover.jpg", data, "image/jpeg")}
        )
    return api.http.post("/v1/checks", json={**change, "image": {"base64": base64.b64encode(data).decode()}})


@pytest.fixture(scope="module")
def banked(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, bytes]]:
    """A csam-labelled test block-list holding the PDQ of a stand-in photo, an allow-list
    holding another photo that is also on the block-list, through the CLI as an operator would."""
    folder = tmp_path_factory.mktemp("banks")
    images = {
        "blocked": jpeg(photo("coffee")),
        "allowed": jpeg(photo("chelsea")),
        "other": jpeg(photo("rocket")),
        "ncii": jpeg(photo("astronaut")),
        "takedown": jpeg(photo("motorcycle_left")),
    }
    hashes = {}
    for name, data in images.items():
        path = folder / f"{name}.jpg"
        path.write_bytes(data)
        line = tutela(server.env, "hash", str(path)).stdout.strip()
        hashes[name] = dict(part.split("=", 1) for part in line.split("\t")[1:])
    block, allow = uid("test-csam").lower(), uid("test-allow").lower()
    tutela(server.env, "banks", "create", block, "--kind", "blocklist", "--label", "csam", "--description", "test stand-ins")
    tutela(server.env, "banks", "create", allow, "--kind", "allowlist", "--description", "known fine")
    blocklist = folder / "block.csv"
    blocklist.write_text(f"pdq,{hashes['blocked']['pdq']}\npdq,{hashes['allowed']['pdq']}\n")
    tutela(server.env, "banks", "import", block, str(blocklist), "--format", "csv")
    allowlist = folder / "allow.txt"
    allowlist.write_text(hashes["allowed"]["md5"] + "\n")
    tutela(server.env, "banks", "import", allow, str(allowlist), "--format", "hashes", "--signal-type", "md5")
    # An HMA "simple" export (simple.HASH_PDQ.te): indicator, indicator id, descriptor id, added on, labels.
    hma, own = uid("test-ncii").lower(), uid("test-own").lower()
    tutela(server.env, "banks", "create", hma, "--kind", "blocklist", "--description", "an HMA list")
    te = folder / "simple.HASH_PDQ.te"
    te.write_text(f"{hashes['ncii']['pdq']},1001,2001,2026-11-01,ncii\n")
    tutela(server.env, "banks", "import", hma, str(te), "--format", "te-simple")
    tutela(server.env, "banks", "create", own, "--kind", "blocklist", "--label", "own-takedowns")
    sha = folder / "own.txt"
    sha.write_text(hashes["takedown"]["sha256"] + "\n")
    tutela(server.env, "banks", "import", own, str(sha), "--format", "hashes", "--signal-type", "sha256")
    stats = tutela(server.env, "banks", "stats").stdout
    assert hma in stats and own in stats
    time.sleep(BANK_REFRESH)
    yield {**images, "block_bank": block.encode()}


def setup_child_playlist(api: Api) -> tuple[str, str, str]:
    kid, friend, pl = uid("kid"), uid("friend"), uid("pl")
    api.account(kid, "child")
    api.account(friend, "adult")
    api.connect(kid, friend, "friend")
    api.playlist(pl, kid)
    return kid, friend, pl


def test_a_cover_in_the_csam_bank_is_refused_preserved_and_reported(api: Api, banked: dict[str, bytes]) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    d = check_image(api, owner, pl, banked["blocked"]).json()
    assert d["verdict"] == "block", d
    [reason] = [r for r in d["reasons"] if r["rule"] == "known-csam-image"]
    assert reason["severity"] == "critical"
    assert {"open_case", "preserve_evidence", "report_authority"} <= set(reason["followups"])
    explained = api.http.get(f"/v1/decisions/{d['id']}").json()
    assert explained["change"]["image"]["pdq_quality"] >= 50 and len(explained["change"]["image"]["sha256"]) == 64
    assert "base64" not in str(explained)  # the image itself is never stored
    [signal] = [s for s in explained["signals"] if s["label"] == "hashbank.csam"]
    assert signal["evidence"]["matches"][0]["bank"] == banked["block_bank"].decode()


def test_re_encoded_resized_and_mirrored_copies_still_match(api: Api, banked: dict[str, bytes]) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    original = Image.open(io.BytesIO(banked["blocked"]))
    copies = [
        jpeg(original, quality=55),
        png(original.resize((original.width // 2, original.height // 2))),
        jpeg(original.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
    ]
    for data in copies:
        d = check_image(api, owner, pl, data, multipart=True).json()
        assert d["verdict"] == "block" and d["reasons"][0]["rule"] == "known-csam-image", d


def test_an_allow_list_wins_over_a_block_list(api: Api, banked: dict[str, bytes]) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    d = check_image(api, owner, pl, banked["allowed"]).json()
    assert d["verdict"] == "allow", d
    explained = api.http.get(f"/v1/decisions/{d['id']}").json()
    [signal] = [s for s in explained["signals"] if s["label"] == "hashbank.allowlisted"]
    assert signal["evidence"]["overrode"], "the block-list match it overrode is shown"


def test_an_hma_list_labelled_ncii_and_the_platforms_own_takedowns_are_refused(api: Api, banked: dict[str, bytes]) -> None:
    owner = uid("adult")
    api.account(owner, "adult")
    profile = uid("prof")
    r = api.http.put(f"/v1/objects/{profile}", json={"kind": "profile", "owner": owner})
    assert r.status_code in (200, 201), r.text
    ncii = check_image(api, owner, profile, banked["ncii"], field="image").json()
    assert ncii["verdict"] == "block" and ncii["reasons"][0]["rule"] == "known-ncii-image", ncii
    assert "preserve_evidence" in ncii["reasons"][0]["followups"]
    own = check_image(api, owner, profile, banked["takedown"], field="image").json()
    assert own["verdict"] == "block" and own["reasons"][0]["rule"] == "known-blocked-image", own


def test_an_ordinary_cover_is_published(api: Api, banked: dict[str, bytes]) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    assert check_image(api, owner, pl, banked["other"]).json()["verdict"] == "allow"


def test_text_written_on_a_cover_goes_through_the_text_rules(api: Api) -> None:
    _, friend, pl = setup_child_playlist(api)
    cover = jpeg(text_image(["add me on snap"], background=noise((900, 300), seed=5, low=170)))
    d = check_image(api, friend, pl, cover).json()
    assert d["verdict"] == "hold", d  # from her friend: held for a moderator (a stranger is refused)
    assert d["reasons"][0]["rule"] == "contact-exchange-by-connection"
    explained = api.http.get(f"/v1/decisions/{d['id']}").json()
    ocr = [s for s in explained["signals"] if s["evidence"].get("source") == "ocr"]
    assert ocr and "snap" in ocr[0]["evidence"]["ocr_text"].lower()


def test_the_same_change_id_with_the_same_image_replays_and_with_another_conflicts(api: Api, banked: dict[str, bytes]) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    cid = uid("chg")
    first = check_image(api, owner, pl, banked["other"], change_id=cid)
    again = check_image(api, owner, pl, banked["other"], change_id=cid, multipart=True)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = check_image(api, owner, pl, banked["blocked"], change_id=cid)
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("data", "status", "slug"),
    [
        (b"", 422, "image-empty"),
        (b"not an image at all", 415, "image-unsupported-format"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", 415, "image-unsupported-format"),
        (jpeg(photo("coffee"))[:3000], 422, "image-corrupt"),
    ],
)
def test_bad_uploads_get_a_clear_4xx(api: Api, data: bytes, status: int, slug: str) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    r = check_image(api, owner, pl, data, multipart=True)
    assert r.status_code == status, r.text
    assert r.json()["type"] == f"urn:tutela:problem:{slug}"
    assert api.http.get(f"/v1/objects/{pl}").status_code == 200


def test_malformed_base64_and_mismatched_fields(api: Api) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    bad = api.http.post(
        "/v1/checks", json={"change_id": uid("c"), "actor": owner, "object": pl, "field": "cover", "image": {"base64": "@@@"}}
    )
    assert bad.status_code == 422 and "base64" in bad.json()["detail"]
    on_text = check_image(api, owner, pl, jpeg(photo("rocket")), field="title")
    assert on_text.status_code == 422 and "takes no image" in on_text.json()["detail"]
    no_change = api.http.post("/v1/checks", files={"image": ("x.jpg", b"123", "image/jpeg")})
    assert no_change.status_code == 422


def test_a_decompression_bomb_is_refused_before_it_is_decoded(api: Api, tmp_path: Path) -> None:
    owner, pl = uid("adult"), uid("pl")
    api.account(owner, "adult")
    api.playlist(pl, owner)
    bomb = png(Image.new("L", (12_000, 12_000), 0))  # 144 megapixels in a few hundred kilobytes
    r = check_image(api, owner, pl, bomb)
    assert r.status_code == 413, r.text
    assert r.json()["type"] in ("urn:tutela:problem:image-decompression-bomb", "urn:tutela:problem:image-too-many-pixels")
