import datetime

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
        # number words, bios and greetings
        ("fourteen btw", 14),
        ("14 boy london", 14),
        ("13 | swiftie", 13),
        ("f12 hi", 12),
        ("12 hbu", 12),
        # school years: the youngest age of the year (UK year 7 is 11, US 6th grade is 11)
        ("im in year 8", 12),
        ("im a year 9", 13),
        ("yr 8 girl", 12),
        ("im a seventh grader", 12),
        ("im in the 8th grade", 13),
        ("im in grade 7", 12),
        ("p7 here", 11),
        ("middle schooler here", 11),
        ("just a preteen lol", 12),
        # turning points
        ("i just turned 12", 12),
        ("its my 11th birthday today", 11),
        ("nearly 13", 13),
        ("me and my cousin are both 11", 11),
        ("im under 13", 12),
    ],
)
def test_claimed_ages(text: str, age: int) -> None:
    assert [int(f.value) for f in claimed_ages(normalise(text))] == [age]


def test_claimed_ages_from_a_year() -> None:
    """Birth and graduation years are read against today's date, so the age stays true."""
    year = datetime.date.today().year
    assert [int(f.value) for f in claimed_ages(normalise(f"i was born in {year - 12}"))] == [12]
    assert [int(f.value) for f in claimed_ages(normalise(f"class of {year + 5}"))] == [13]


@pytest.mark.parametrize(
    "text",
    [
        "im 5 mins away",
        "22",
        "Fifteen",
        "Sixteen Going on Seventeen",
        "5,6,7,8 - Steps",
        "1989 (Taylor's Version)",
        "i'm 100% sure",
        "top 12 songs",
        # music exams, school trips and other people's ages are not claims
        "grade 8 piano",
        "i swim 12 lengths",
        "year 9 music trip forms due friday",
        "year 13 leavers",
        "my son just started middle school",
        "you're officially a teenager!",
        "Twelve Days of Christmas",
    ],
)
def test_not_claimed_ages(text: str) -> None:
    assert claimed_ages(normalise(text)) == []
