"""What a phrase list cannot hold: contact details and self-claimed ages, found by pattern in
the normalised forms, with the original characters as evidence."""

from __future__ import annotations

import re
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
# "im 12", "i am 12", "12 yo", "12 years old", "12m", "13 f here", "age 12"
AGE = re.compile(
    r"\b(?:(?:i\s?a?m|i'm|im|iam)\s(?:only\s|just\s)?(\d{1,2})\b(?!\s?(?:min|mins|minutes|hours|h|days|%|pounds|lbs|kg|k|am|pm))"
    r"|(\d{1,2})\s?(?:yo|y/o|y\.o\.|yrs? old|years? old|year old)\b"
    r"|(\d{1,2})\s?(?:m|f)\b(?=\s|$|\W)"
    r"|\bage\s?(\d{1,2})\b)"
)
NUMBER_WORDS = {
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
}
AGE_WORDS = re.compile(r"\b(?:i\s?a?m|i'm|im)\s(" + "|".join(NUMBER_WORDS) + r")\b")


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
    out: dict[tuple[int, int], Found] = {}
    for form in normalised.forms:
        if form.name not in ("plain", "algospeak"):
            continue
        for m in AGE.finditer(form.text):
            number = next(g for g in m.groups() if g is not None)
            start = m.start(m.lastindex or 0)
            span = form.source(m.start(), m.end())
            if 5 <= int(number) <= 99 and start >= 0:
                out.setdefault(span, Found("age", number, span))
        for m in AGE_WORDS.finditer(form.text):
            span = form.source(m.start(), m.end())
            out.setdefault(span, Found("age", str(NUMBER_WORDS[m.group(1)]), span))
    return list(out.values())
