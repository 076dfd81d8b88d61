"""Webhook signatures: what a receiver checks."""

import time

import pytest

from tutela.actions.signing import SignatureError, sign, verify

BODY = b'{"id":"whd_1","type":"action.taken","data":{"action":"hide"}}'


def test_a_signed_body_verifies() -> None:
    header = sign(["s3cret"], BODY)
    assert verify("s3cret", header, BODY) == int(header.split(",")[0][2:])


@pytest.mark.parametrize(
    ("secret", "body", "needle"),
    [("other", BODY, "no signature matches"), ("s3cret", BODY + b" ", "no signature matches")],
    ids=["wrong secret", "changed body"],
)
def test_a_wrong_secret_or_a_changed_body_is_refused(secret: str, body: bytes, needle: str) -> None:
    with pytest.raises(SignatureError, match=needle):
        verify(secret, sign(["s3cret"], BODY), body)


def test_an_old_signature_is_refused_as_a_replay() -> None:
    old = sign(["s3cret"], BODY, timestamp=int(time.time()) - 600)
    with pytest.raises(SignatureError, match="outside the 300 s window"):
        verify("s3cret", old, BODY)
    assert verify("s3cret", old, BODY, tolerance=900)


@pytest.mark.parametrize("header", [None, "", "v1=abc", "t=notanumber,v1=abc", "t=1"])
def test_a_missing_or_malformed_header_is_refused(header: str | None) -> None:
    with pytest.raises(SignatureError):
        verify("s3cret", header, BODY)


def test_during_a_rotation_either_secret_verifies() -> None:
    header = sign(["new", "old"], BODY)
    assert verify("new", header, BODY)
    assert verify("old", header, BODY)
