"""What a phrase list cannot hold: contact details and self-claimed ages, found by pattern in
the normalised forms, with the original characters as evidence."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from tutela.text.normalise import Normalised

_DOMAINS = r"(?:gmail|googlemail|yahoo|hotmail|outlook|live|icloud|aol|proton|protonmail|gmx|mail)"
EMAIL = re.compile(
    r"[a-z0-9][a-z0-9._+-]{0,40}\s?(?:@|\(at\)|\bat\b)\s?"
    + _DOMAINS
    + r"\s?(?:\.|\bdot\b)\s?(?:com|net|org|co\s?\.?\s?uk|de|fr|me)\b"
)
ANY_EMAIL = re.compile(r"\b[a-z0-9][a-z0-9._+-]{0,40}@[a-z0-9-]{1,40}(?:\.[a-z0-9-]{1,20})+\b")
PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d(?:[\s.()-]{0,2}\d){8,13}(?![\w])")
HANDLE = re.compile(r"(?<![\w@])@[a-z0-9_.]{3,30}\b")
NUMBER_WORDS = {
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
# The joined form squeezes doubled letters ("t h i r t e e n" reads "thirten"): both spellings.
NUMBER_WORDS |= {word.replace("ee", "e"): n for word, n in NUMBER_WORDS.items() if "ee" in word}
_N = r"(?P<n>\d{1,2}|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_ORD = r"(?P<ord>\d{1,2}(?:st|nd|rd|th)|" + "|".join(ORDINAL_WORDS) + r")"
_ME = r"\b(?:i\s?a?m|i'm|iam)"  # "im", "i am", "i'm"
_ME_AT = _ME + r"\s(?:(?:only|just|now|nearly|almost|also|actually|really|literally|officially|finally|basically|still)\s)?"
# A bio or greeting that starts with the claim: "14 boy london", "year 8 here", "twelve btw".
_BIO_TAIL = (
    r"(?=\s(?:here|btw|lol|boy|girl|male|female|m|f|student|rn|now|hbu|wbu|almost|nearly|and\sa\shalf"
    r"|as\sof|and\su|and\syou|u\?|you\?|what\sabout|how\sold)\b|\s?[|,/(](?!\s?\d))"
)
_NOT_A_QUANTITY = r"(?!\s?(?:min|mins|minutes|hours|hrs|h|days|%|pounds|lbs|kg|k|am|pm|songs|tracks|times|quid)\b)"


def _n(m: re.Match[str]) -> int:
    n = m.group("n")
    return int(n) if n.isdigit() else NUMBER_WORDS[n]


def _age_born(year: int) -> int:
    return datetime.date.today().year - year


def _age_graduating(year: str) -> int:
    """The age of someone leaving school (at 18) in that year, today."""
    return 18 - (int(year if len(year) == 4 else "20" + year) - datetime.date.today().year)


def _ordinal(m: re.Match[str]) -> int:
    o = m.group("ord")
    return int(o[:-2]) if o[0].isdigit() else ORDINAL_WORDS[o]


def _claim(body: str, *, first_person: str = "") -> re.Pattern[str]:
    """A claim written in the first person ("im " + first_person + body), or a bio or
    greeting that starts with it and goes on as bios do ("year 8 here", "14 boy london")."""
    prefix = r"(?:\bi\s)?" + _ME_AT + first_person + r"|\bi\sjust\sstarted\s"
    return re.compile(r"(?:(?P<me>" + prefix + r")|^)" + body + r"(?(me)|" + _BIO_TAIL + r")")


# Each way of claiming an age, and the age a claim of that shape states. School years give
# the youngest age of the year: UK "year 7" is 11 to 12, US "6th grade" 11 to 12.
AGE_CLAIMS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], int]]] = [
    # "im 12", "i am twelve", "im only 11", "im turning 13"
    (re.compile(_ME_AT + r"(?:turning\s|going\sto\sbe\s|gonna\sbe\s)?" + _N + r"\b" + _NOT_A_QUANTITY), _n),
    # "12 yo", "twelve years old", "13 y/o" ("yo" reads as "years old" in the algospeak form)
    (re.compile(r"\b" + _N + r"\s?(?:yo|y/o|y\.o\.|yrs?\sold|years?\sold|year\sold)\b"), _n),
    # "14m here", "13 f"
    (re.compile(r"\b(?P<n>\d{1,2})\s?(?:m|f)\b(?=\s|$|\W)"), _n),
    # "age 12"
    (re.compile(r"\bage\s?" + _N + r"\b" + _NOT_A_QUANTITY), _n),
    # "14 boy london", "twelve btw", "13 here"
    (re.compile(r"^" + _N + _BIO_TAIL), _n),
    # "im in year 8", "i just started year 7", "year 9 here"
    (
        _claim(r"(?:year|yr)\s?(?P<n>\d{1,2})\b", first_person=r"(?:in\s|starting\s|going\sinto\s|a\s)"),
        lambda m: int(m.group("n")) + 4,
    ),
    # "im in 6th grade", "sixth grader here", "im a seventh grader"
    (
        _claim(_ORD + r"\sgrade(?:r)?\b", first_person=r"(?:in\s|starting\s|going\sinto\s)?(?:the\s|a\s)?"),
        lambda m: _ordinal(m) + 5,
    ),
    # "im a preteen", "just a preteen lol", "preteen here"
    (_claim(r"(?:preteen|pre\steen|tween)\b", first_person=r"(?:a\s)?"), lambda m: 12),
    (re.compile(r"\bjust\sa\s(?:preteen|pre\steen|tween)\b"), lambda m: 12),
    # "im in middle school", "middle schooler here"
    (_claim(r"middle\sschool(?:er)?\b", first_person=r"(?:in\s|at\s|a\s|starting\s)?"), lambda m: 11),
    (_claim(r"(?:primary|elementary)\sschool(?:er)?\b", first_person=r"(?:in\s|at\s|a\s)?"), lambda m: 9),
    # "m13 bored", "f12 hi"
    (re.compile(r"^(?:m|f)\s?(?P<n>\d{1,2})\b"), _n),
    # "i just turned 12", "turned 13 today", "ill be 14 in march", "nearly 13", "were both 13"
    *(
        (re.compile(prefix + _N + r"\b" + _NOT_A_QUANTITY), _n)
        for prefix in (
            r"(?:^|\bi\s)(?:just\s)?turned\s",
            r"\bi'?ll\sbe\s",
            r"^(?:nearly|almost|finally|officially|basically|just)\s",
            r"\b(?:we\s?are|we're|were|we\sr|are\s(?:both|all))\s(?:both\s|all\s)?",
            r"\bmy\sage\sis\s",
            r"^age\s?:\s?",
        )
    ),
    # "its my 12th birthday", "for my 11th bday"
    (re.compile(r"\bmy\s" + _ORD + r"\s(?:birthday|bday|b-day)\b"), _ordinal),
    # "12yrs here"
    (re.compile(r"^" + _N + r"\s?yrs?\b"), _n),
    # "im in grade 7", "im in class 6", "im in 5th class", "p7 here", "im in s1"
    (
        # never bare: "grade 8 piano" is a music exam
        re.compile(
            _ME_AT + r"(?:in\s|starting\s)(?:(?:grade|class)\s?(?P<n>\d{1,2})\b|(?P<ord2>\d{1,2})(?:st|nd|rd|th)\sclass\b)"
        ),
        lambda m: int(m.group("n") or m.group("ord2")) + 5,
    ),
    (_claim(r"p(?P<n>[1-7])\b", first_person=r"(?:in\s|a\s)?"), lambda m: int(m.group("n")) + 4),
    (_claim(r"s(?P<n>[1-6])\b", first_person=r"(?:in\s|a\s)"), lambda m: int(m.group("n")) + 11),
    # "last year of primary", "moving up to secondary in september", "going to big school next year"
    (
        re.compile(
            r"\b(?:(?:last|final)\syear\sof|leaving|moving\sup\sto|off\sto|going\sto|starting)\s"
            r"(?:primary|elementary|secondary|big\sschool|middle\sschool)\b"
        ),
        lambda m: 10,
    ),
    # "finally a teenager", "just became a teen", "im not even a teenager", "im under 13"
    (re.compile(r"(?:^|" + _ME + r"\s)(?:finally|officially|just\sbecame|now)\sa\steen(?:ager)?\b"), lambda m: 13),
    (re.compile(_ME + r"\snot\seven\sa\steen(?:ager)?\b"), lambda m: 12),
    (
        re.compile(r"(?:" + _ME_AT + r"|^)under\s(?P<n>1[0-8])\b|^not\s(?P<n2>1[0-8])\syet\b"),
        lambda m: int(m.group("n") or m.group("n2")) - 1,
    ),
    # "i was born in 2013", "born 2011", "im a 2012 baby", "2013 kid here", "dob 14.03.2013", "class of 2031"
    (re.compile(r"\bborn\s(?:in\s|on\s)?(?:[\w/.]+\s){0,3}?(?P<y>20[0-3]\d)\b"), lambda m: _age_born(int(m.group("y")))),
    (re.compile(r"(?:\ba\s|^)(?P<y>20[0-3]\d)\s(?:baby|kid|gang)\b"), lambda m: _age_born(int(m.group("y")))),
    (
        re.compile(
            r"\b(?:dob|d\.o\.b\.?|date\sof\sbirth|birth\syear|birthday|bday)\b\D{0,12}(?:[\d/.\-]{1,6}\s?)?(?:\w+\s){0,2}?(?P<y>20[0-3]\d)\b"
        ),
        lambda m: _age_born(int(m.group("y"))),
    ),
    (
        re.compile(
            r"\bclass\sof\s'?(?P<y>(?:20)?[2-4]\d)\b|\b(?:graduat\w*|finish\sschool)\s(?:high\sschool\s)?(?:in\s)?(?P<y2>20[2-4]\d)\b"
        ),
        lambda m: _age_graduating(m.group("y") or m.group("y2")),
    ),
]


# Every claim above holds a digit or a word that starts with one of these (number and ordinal
# words, school words): "listen", "message" and "often" do not make a text worth the claims' scan.
_AGE_CUES = re.compile(
    r"\d|\b(?:teen|tween|preteen|twel|elev|ten|nin|eigh|seven|six|fif|four|thir|first|second|year|yr|grade|class"
    r"|school|primar|elementar|born|birth|bday|b-day|dob|d\.o\.b|age)"
)
# "my 12 year old", "for a 13 year old", "her 11th birthday", "my 14 year old self": an age, not a claim.
_ABOUT_SOMEONE_ELSE = re.compile(
    r"(?:\b(?:my|a|an|your|ur|her|his|their|our|the|for|every|any|each|of|with|from|at|until|till|by)|'s)\s$"
)
_PAST_SELF = re.compile(r"\s?(?:self|me)\b")


@dataclass(frozen=True, slots=True)
class Found:
    kind: str  # email, phone, handle, age
    value: str  # the normalised text that matched (for an age: the number)
    span: tuple[int, int]


def contact_details(normalised: Normalised) -> list[Found]:
    out: dict[tuple[str, tuple[int, int]], Found] = {}
    for form in normalised.forms:
        if form.name not in ("plain", "algospeak"):
            continue
        for kind, pattern in (("email", EMAIL), ("email", ANY_EMAIL), ("phone", PHONE), ("handle", HANDLE)):
            for m in pattern.finditer(form.text):
                span = form.source(m.start(), m.end())
                out.setdefault((kind, span), Found(kind, m.group(), span))
    return list(out.values())


def claimed_ages(normalised: Normalised) -> list[Found]:
    """Ages the writer claims for themself, each with the words that state it."""
    out: dict[tuple[int, int], Found] = {}
    for form in normalised.forms:
        if form.name not in ("plain", "joined", "algospeak"):  # leet forms turn digits into letters
            continue
        if not _AGE_CUES.search(form.text):  # most texts: nothing any claim could be made of
            continue
        for pattern, age_of in AGE_CLAIMS:
            for m in pattern.finditer(form.text):
                age = age_of(m)
                if (
                    5 <= age <= 99
                    and not _ABOUT_SOMEONE_ELSE.search(form.text, 0, m.start())
                    and not _PAST_SELF.match(form.text, m.end())
                ):
                    span = form.source(m.start(), m.end())
                    out.setdefault(span, Found("age", str(age), span))
    return list(out.values())
