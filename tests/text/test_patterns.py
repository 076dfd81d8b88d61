import pytest

from tutela.text import normalise
from tutela.text.patterns import claimed_ages, contact_details


@pytest.mark.parametrize(
    ("text", "kind", "shown"),
    [
        ("mail me: Bob.Smith@gmail.com", "email", "Bob.Smith@gmail.com"),
        ("bob at gmail dot com", "email", "bob at gmail dot com"),
        ("ring 07700 900123 x", "phone", "07700 900123"),
        ("+44 7700 900 123", "phone", "+44 7700 900 123"),
        ("follow @jake_22", "handle", "@jake_22"),
    ],
)
def test_contact_details(text: str, kind: str, shown: str) -> None:
    found = [(f.kind, text[f.span[0] : f.span[1]]) for f in contact_details(normalise(text))]
    assert (kind, shown) in found


@pytest.mark.parametrize("text", ["top 40 hits of 2012", "track 12 of 14", "1999", "call me maybe", "5 stars"])
def test_not_contact_details(text: str) -> None:
    assert contact_details(normalise(text)) == []


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("im 12", 12),
        ("I'm 11 too", 11),
        ("13 yo girl", 13),
        ("14m here", 14),
        ("i am thirteen", 13),
        ("age 10", 10),
        ("im 25", 25),
    ],
)
def test_claimed_ages(text: str, age: int) -> None:
    assert [int(f.value) for f in claimed_ages(normalise(text))] == [age]


@pytest.mark.parametrize("text", ["im 5 mins away", "22", "1989 (Taylor's Version)", "i'm 100% sure", "top 12 songs"])
def test_not_claimed_ages(text: str) -> None:
    assert claimed_ages(normalise(text)) == []
