"""Dates as they are read aloud: the day as an ordinal, the month by name, the year.

"12/05/2024" -> الثَّانِي عَشَرَ مِنْ مَايُو عَام أَلْفَيْن وَأَرْبَعَة وَعِشْرِين. The day is
the masculine ordinal (of يَوْم) in the oblique case, because a date is an
adverb of time or follows a preposition far more often than it is a subject;
the year follows عَام in the genitive.

Month names: a month written as a word is kept in the naming the writer used
- Egyptian/Gulf (يناير), Levantine/Iraqi (كانون الثاني), Moroccan (ماي, غشت,
شتنبر), Algerian/Tunisian (جانفي, جوان, أوت) or Hijri (ربيع الأول) - only its case
follows the مِنْ this stage inserts (ذو الحجة -> ذِي الْحِجَّة). A numeric date has
no written name, so it takes the Egyptian/Gulf Gregorian names, or the Hijri
names when the year carries the Hijri suffix (هـ, or ه: normalization removes
tatweel before verbalization) or lies in 1300-1500, where a modern numeric date
is Hijri.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from natiq.text import numbers as N
from natiq.text.nouns import fold

HIJRI = "هِجْرِيًّا"
GREGORIAN = "مِيلَادِيًّا"
HIJRI_YEARS = range(1300, 1501)


@dataclass(frozen=True)
class Month:
    number: int
    #: diacritized, in the form it takes after مِنْ
    spoken: str
    hijri: bool


def _months(names: list[tuple[str, str]], hijri: bool = False) -> list[tuple[str, Month]]:
    """(written, spoken) pairs in calendar order; several names may share a number."""
    table = []
    for number, (written, spoken) in enumerate(names, start=1):
        for name in written.split("|"):
            table.append((name, Month(number, spoken, hijri)))
    return table


_GREGORIAN = [
    ("يناير", "يَنَايِر"),
    ("فبراير", "فِبْرَايِر"),
    ("مارس", "مَارِس"),
    ("أبريل", "أَبْرِيل"),
    ("مايو", "مَايُو"),
    ("يونيو|يونية", "يُونْيُو"),
    ("يوليو|يولية", "يُولْيُو"),
    ("أغسطس", "أُغُسْطُس"),
    ("سبتمبر", "سِبْتَمْبِر"),
    ("أكتوبر", "أُكْتُوبَر"),
    ("نوفمبر", "نُوفَمْبِر"),
    ("ديسمبر", "دِيسَمْبِر"),
]
_LEVANTINE = [
    ("كانون الثاني", "كَانُون الثَّانِي"),
    ("شباط", "شُبَاط"),
    ("آذار", "آذَار"),
    ("نيسان", "نِيسَان"),
    ("أيار", "أَيَّار"),
    ("حزيران", "حَزِيرَان"),
    ("تموز", "تَمُّوز"),
    ("آب", "آب"),
    ("أيلول", "أَيْلُول"),
    ("تشرين الأول", "تِشْرِين الْأَوَّل"),
    ("تشرين الثاني", "تِشْرِين الثَّانِي"),
    ("كانون الأول", "كَانُون الْأَوَّل"),
]
_MAGHREBI = [
    ("جانفي", "جَانْفِي"),
    ("فيفري", "فِيفْرِي"),
    ("", ""),
    ("أفريل", "أَفْرِيل"),
    ("ماي", "مَاي"),
    ("جوان", "جُوَان"),
    ("جويلية|يوليوز", "جُوِيلِيَة"),
    ("أوت|غشت", "أُوت"),
    ("شتنبر", "شُتَنْبِر"),
    ("", ""),
    ("نونبر", "نُونْبِر"),
    ("دجنبر", "دُجَنْبِر"),
]
_HIJRI = [
    ("محرم|المحرم", "مُحَرَّم"),
    ("صفر", "صَفَر"),
    ("ربيع الأول", "رَبِيع الْأَوَّل"),
    ("ربيع الآخر", "رَبِيع الْآخِر"),
    ("جمادى الأولى", "جُمَادَى الْأُولَى"),
    ("جمادى الآخرة", "جُمَادَى الْآخِرَة"),
    ("رجب", "رَجَب"),
    ("شعبان", "شَعْبَان"),
    ("رمضان", "رَمَضَان"),
    ("شوال", "شَوَّال"),
    ("ذو القعدة|ذي القعدة", "ذِي الْقَعْدَة"),
    ("ذو الحجة|ذي الحجة", "ذِي الْحِجَّة"),
]
# Names that share a number with another spelling but are said differently.
_VARIANTS = [
    ("إبريل", Month(4, "إِبْرِيل", False)),
    ("يوليوز", Month(7, "يُولْيُوز", False)),
    ("غشت", Month(8, "غُشْت", False)),
    ("المحرم", Month(1, "الْمُحَرَّم", True)),
    ("ربيع الثاني", Month(4, "رَبِيع الثَّانِي", True)),
    ("جمادى الأول", Month(5, "جُمَادَى الْأَوَّل", True)),
    ("جمادى الثانية", Month(6, "جُمَادَى الثَّانِيَة", True)),
    ("جمادى الآخر", Month(6, "جُمَادَى الْآخِر", True)),
]

GREGORIAN_MONTHS = [Month(0, "", False)] + [
    Month(i, s, False) for i, (_, s) in enumerate(_GREGORIAN, 1)
]
HIJRI_MONTHS = [Month(0, "", True)] + [Month(i, s, True) for i, (_, s) in enumerate(_HIJRI, 1)]

_NAMES: list[tuple[str, Month]] = [
    *_months(_GREGORIAN),
    *_months(_LEVANTINE),
    *[(name, month) for name, month in _months(_MAGHREBI) if name],
    *_months(_HIJRI, hijri=True),
    *_VARIANTS,  # last: they override the shared spoken form
]
# Exact spellings first (إبريل and أبريل are said differently); folded ones
# fall back to the first listed name.
_EXACT: dict[str, Month] = dict(_NAMES)
_BY_NAME: dict[str, Month] = {}
for _name, _month in _NAMES:
    _BY_NAME.setdefault(fold(_name), _month)
_FOLDINGS = [str.maketrans("أإآ", "ااا"), str.maketrans("ى", "ي"), str.maketrans("ة", "ه")]


def _spellings(name: str) -> set[str]:
    """A name as listed and with any of hamza seats, alef maqsura, ta marbuta folded."""
    variants = {name}
    for table in _FOLDINGS:
        variants |= {variant.translate(table) for variant in variants}
    return variants


#: regex alternation matching a written month name (longest first)
NAME_PATTERN = "|".join(
    re.escape(name)
    for name in sorted(
        {spelling for name, _ in _NAMES for spelling in _spellings(name)}, key=len, reverse=True
    )
)


def find_month(written: str) -> Month | None:
    """The month a written name stands for, in the naming the writer used."""
    return _EXACT.get(written) or _BY_NAME.get(fold(written))


def year_words(year: int) -> str:
    """A year after عَام, سَنَة or a month name: genitive cardinal."""
    return N.cardinal(year, case="gen")


def numeric_month(month: int, year: int | None, era: str | None) -> Month | None:
    """The month of a numeric date, in the calendar its year and suffix say."""
    if not 1 <= month <= 12:
        return None
    hijri = era == HIJRI or (era is None and year is not None and year in HIJRI_YEARS)
    return (HIJRI_MONTHS if hijri else GREGORIAN_MONTHS)[month]


def spell_date(
    day: int, month: Month, year: int | None = None, era: str | None = None
) -> str | None:
    """ "the d-th of <month> [year <y>] [era]", or None for an impossible day."""
    if not 1 <= day <= 31:
        return None
    words = N.ordinal(day, case="gen") + " مِنْ " + month.spoken
    if year is not None:
        words += " عَام " + year_words(year)
    if era:
        words += " " + era
    return words
