"""Numbers and other non-words to the Arabic words a listener should hear.

The text is scanned once, left to right, by one regex whose alternatives are
ordered so that the most specific reading wins where several could start at
the same place: a phone number before a quantity, a date before a range, a
currency before a plain number. Each match is then read with the words around
it: the noun after a number decides its gender and the noun's form
(``quantities``: "3 حسابات" -> ثَلَاثَة حِسَابَات, "2 مفتاح" -> مِفْتَاحَان, "200 كم"
-> مِئَتَا كِيلُومِتْر), the noun before an ordinal decides the ordinal's gender
(``context``: "الطبعة الـ2" -> الطبعة الثَّانِيَة), a preposition or verb before it
the case; dates are spelled by ``dates``, number words by ``numbers``.
Each reading is recorded as a ``Span`` (which may cover the counted noun too)
so that subtitles can show the original beside the speech.

Arabic-Indic and Persian digits are folded character for character, so the
spans' offsets are offsets into the caller's own string. Digit strings longer
than ``numbers.MAX_DIGITS`` are read digit by digit (never converted to int),
so any input is read in time linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from natiq.text import context as C
from natiq.text import dates as D
from natiq.text import lexicon as L
from natiq.text import nouns
from natiq.text import numbers as N
from natiq.text import quantities as Q
from natiq.text.normalize import fold_digits, shadda_first, strip_diacritics


@dataclass(frozen=True)
class Span:
    """``original[start:end]`` is read as ``spoken``."""

    start: int
    end: int
    original: str
    spoken: str


@dataclass(frozen=True)
class VerbalizedText:
    """The text as written (for subtitles) and as it should be spoken."""

    original: str
    spoken: str
    spans: tuple[Span, ...] = ()


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_WORD_END = r"(?![\w\u064b-\u0652])"
_INT = r"\d{1,3}(?:,\d{3})+(?!\d)|\d+"
_NUM = rf"(?:{_INT})(?:\.\d+)?"
_CUR = _alternation(list(L.CURRENCIES))
_UNIT = _alternation(list(L.UNITS))
_AMPM = _alternation(sorted(L.AM | L.PM))
_PHONE_WORDS = (
    "رقم|الرقم|رقمي|هاتف|الهاتف|هاتفي|جوال|الجوال|جوالي|موبايل|الموبايل|فاكس|الفاكس"
    "|تلفون|التلفون|واتساب|اتصل على|اتصلوا على|اتصل ب|الاتصال على"
)
_ABBR = _alternation(list(L.ABBREVIATIONS))
_VULGAR = {
    "½": (1, 2),
    "⅓": (1, 3),
    "⅔": (2, 3),
    "¼": (1, 4),
    "¾": (3, 4),
    "⅕": (1, 5),
    "⅖": (2, 5),
    "⅗": (3, 5),
    "⅘": (4, 5),
    "⅙": (1, 6),
    "⅚": (5, 6),
    "⅛": (1, 8),
    "⅜": (3, 8),
    "⅝": (5, 8),
    "⅞": (7, 8),
}


def _after_any(prefixes: list[str]) -> str:
    """Fixed-width lookbehinds, one per prefix: "preceded by one of these"."""
    return "(?:" + "|".join(f"(?<={re.escape(prefix)})" for prefix in prefixes) + ")"


_PHONE_PREFIXES = [
    w + sep for w in _PHONE_WORDS.split("|") for sep in (" ", ":", ": ", " : ", " هو ")
]
# "الـ2" (normalization leaves "ال2"), "الـ 2", "للـ3"; "ال" must begin a word (checked in Python).
_ORDINAL_PREFIXES = ["الـ ", "الـ", "ال ", "ال", "لل"]
_ARABIC_CURRENCY_PREFIXES = sorted(
    (key + sep for key in L.CURRENCIES if "." in key and not key.isascii() for sep in (" ", "")),
    key=len,
    reverse=True,
)
# Every alternative starts at a digit, a sign, a currency symbol, a capital,
# "v" or a fraction sign; words that come before a number (phone context, the
# article of an ordinal, ر.س) are checked with lookbehinds. With the gate in
# front, the engine rejects every other position after one character test.
_NUMBER = (
    rf"(?P<neg>(?<![\w)])[-−](?=\d))?(?<![\d])(?P<num>{_NUM})"
    rf"(?:\s?(?P<suf>%|{_CUR}|{_UNIT}){_WORD_END})?"
)
_NUMBER_PATTERN = re.compile(_NUMBER)
_GATE = "(?=[0-9+\\-−$€£¥₺₹A-Zv&=×÷@" + "".join(_VULGAR) + "])"
_PATTERN = re.compile(
    _GATE
    + "(?:"
    + "|".join(
        [
            rf"{_after_any(_PHONE_PREFIXES)}(?P<pnum>\+?\d[\d \-]{{3,20}}\d)(?!\d)",
            r"(?<![\d+])(?P<phone>(?:\+|00)\d[\d \-()]{6,18}\d|0\d{1,2}[ \-]?\d{3}[ \-]?\d{4})(?!\d)",
            r"(?<![\d.])(?P<d1>\d{1,2})(?P<sep>[/.\-])(?P<m1>\d{1,2})(?P=sep)(?P<y1>\d{4})(?![\d])(?!\.\d)",
            r"(?<![\d.])(?P<y2>\d{4})(?P<sep2>[/.\-])(?P<m2>\d{1,2})(?P=sep2)(?P<d2>\d{1,2})(?![\d])(?!\.\d)",
            rf"(?<![\d.,])(?<!ال)(?<!ال )(?P<d3>\d{{1,2}})\s+(?:من\s+)?(?P<mname>{D.NAME_PATTERN}){_WORD_END}"
            r"(?:\s+(?P<y3>\d{3,4})(?![\d.,]\d))?",
            rf"(?<!\d)(?P<hh>\d{{1,2}}):(?P<mm>\d{{2}})(?::(?P<ss>\d{{2}}))?(?!\d)(?:\s?(?P<ampm>{_AMPM})(?![\w\u064b-\u0652]))?",
            r"(?<![\w.])(?P<ver>v\d+(?:\.\d+)+|\d+(?:\.\d+){2,})(?![\d.]\d)",
            r"(?<![\d/.,])(?P<fn>\d+(?:\.\d+)?)/(?P<fd>\d+)(?![\d/]|[.,]\d)",
            rf"(?<![\d.,])(?:(?P<vw>\d+)\s?)?(?P<vf>[{''.join(_VULGAR)}])",
            rf"(?P<cpre>{_CUR})\s?(?P<camt>{_NUM})",
            rf"{_after_any(_ARABIC_CURRENCY_PREFIXES)}(?P<camt2>{_NUM})",
            rf"{_after_any(_ORDINAL_PREFIXES)}(?P<ordn>\d+)(?![\d.,]\d|\d)",
            r"(?<![\d.,/])(?P<hy>\d{1,4})\s?(?:هـ|ه)(?![\w\u064b-\u0652])",
            r"(?<![\d.,/])(?P<gy>\d{3,4})\s?م(?![\w\u064b-\u0652])",
            rf"(?<!\d)(?P<r1>{_NUM})\s?[-–]\s?(?P<r2>{_NUM})(?:\s?(?P<rsuf>%|{_CUR}|{_UNIT}){_WORD_END})?",
            _NUMBER,
            r"(?P<acr>[A-Z](?<![A-Za-z].)(?:[A-Z]{1,5}(?![A-Za-z])|(?=\d)))(?:-(?=\d))?",
            r"(?P<sym>[&+=×÷@])(?<=\s.)(?=\s)",
        ]
    )
    + ")"
)
# Abbreviations start with letters, so they get their own (literal-prefixed) scan.
_ABBR_PATTERN = re.compile(rf"(?P<abbr>{_ABBR})(?![\w\u064b-\u0652])")
# Cheap test for "is there anything to verbalize at all".
_TRIGGER = re.compile("[0-9A-Z&+=×÷@$€£¥₺₹" + "".join(_VULGAR) + "]")

_LENGTH_WORDS = C.WORDS["length_words"]
_FUNCTION_WORDS = C.WORDS["function_words"]
_YEAR_WORDS = C.WORDS["year_words"]

_Reading = tuple[str, int, int]  # spoken words, start, end (the span may grow around the match)


def _plain_gender(text: str, end: int) -> N.Gender:
    """Gender of a bare number: that of the word after it (the fallback rules)."""
    following = Q.next_word(text, end)
    return nouns.guess_gender(following[0]) if following else "m"


def _month_before(words: list[str]) -> bool:
    if not words:
        return False
    if D.find_month(words[0]) is not None:
        return True
    return len(words) > 1 and D.find_month(words[1] + " " + words[0]) is not None


def _ordinal_reading(value: int, text: str, start: int, end: int) -> _Reading:
    """ "الـN": an ordinal agreeing with the noun before it, or - before a counted
    noun ("خلال الـ24 ساعة") - a definite cardinal agreeing with that noun."""
    following = Q.next_word(text, end)
    noun = nouns.find(following[0]) if following else None
    if noun is not None and value > 1:
        case = C.case_before(text, start)
        return N.definite_cardinal(value, gender=noun.gender, case=case), start, end
    words = C.words_before(text, start, limit=1)
    gender = C.head_gender(words[0]) if words else "m"
    return N.ordinal(value, gender=gender, case=C.head_case(text, start)), start, end


def _fraction_reading(match: re.Match[str]) -> _Reading | None:
    text, start, end = match.string, match.start(), match.end()
    top, bottom = match["fn"], match["fd"]
    words = C.words_before(text, start)
    numerator, denominator = Q.small_int(top), Q.small_int(bottom)
    if denominator == 0:
        return None
    if numerator is not None and denominator is not None:
        date_like = 1 <= numerator <= 31 and 1 <= denominator <= 12
        if date_like and (C.any_of(words[:1], C.DATE_WORDS) or numerator > denominator):
            spoken = D.spell_date(numerator, D.GREGORIAN_MONTHS[denominator])
            return (spoken, start, end) if spoken else None
    case = C.case_of(words)
    following = Q.next_word(text, end)
    definite_after = following is not None and strip_diacritics(following[0]).startswith("ال")
    if (
        numerator is not None
        and denominator in N.FRACTION_DENOMINATORS
        and 0 < numerator < denominator
        and not C.any_of(words, C.RATING_WORDS)
        and (denominator < 10 or numerator == 1 or definite_after)
    ):
        construct = following is not None and not (
            following[0] in C.PREPOSITIONS or following[0] in _FUNCTION_WORDS
        )
        return N.fraction(numerator, denominator, case=case, construct=construct), start, end
    rating = (
        C.any_of(words, C.RATING_WORDS)
        or numerator is None
        or denominator in (10, 20, 100)
        or (numerator is not None and denominator is not None and numerator <= denominator)
    )
    link = " مِنْ " if rating else " عَلَى "
    return Q.spell(top, case=case) + link + Q.spell(bottom, case="gen"), start, end


def _vulgar_reading(match: re.Match[str]) -> _Reading:
    text, start, end = match.string, match.start(), match.end()
    numerator, denominator = _VULGAR[match["vf"]]
    case = C.case_before(text, start)
    following = Q.next_word(text, end)
    whole = match["vw"]
    if whole is None:
        construct = following is not None and following[0] not in C.PREPOSITIONS
        return N.fraction(numerator, denominator, case=case, construct=construct), start, end
    part = N.AND + N.fraction(numerator, denominator, case=case)
    noun = nouns.find(following[0]) if following else None
    value = Q.small_int(whole)
    if noun is not None and value:
        return N.count(value, noun, case=case, with_one=False) + " " + part, start, following[1]  # type: ignore[index]
    return Q.spell(whole, case=case) + " " + part, start, end


def _number_reading(match: re.Match[str]) -> _Reading | None:
    """A number with no pattern of its own: read with the words around it."""
    text, start, end = match.string, match.start(), match.end()
    raw = match["num"]
    negative = match["neg"] is not None
    sign = "سَالِب " if negative else ""
    words = C.words_before(text, start)
    case = C.case_before(text, start, words)
    value = Q.small_int(raw)
    suffix = match["suf"]
    if suffix is not None:
        suffix = suffix.strip()
        if (
            suffix in ("م", "ص")
            and value is not None
            and _after_hour_word(words)
            and 1 <= value <= 12
        ):
            period = "مَسَاءً" if suffix == "م" else "صَبَاحًا"
            return _HOUR[value] + " " + period, start, end
        return sign + Q.with_suffix(match["num"], suffix, case=case), start, end
    if not negative and value is not None:
        if 1 <= value <= 12 and _after_hour_word(words):
            return _HOUR[value], start, end  # "الساعة 5" is the fifth hour: الْخَامِسَة
        head = C.ordinal_head(words[0]) if words and 1 <= value <= 99 else None
        if head is not None and not Q.counted_noun_after(text, end):
            return N.ordinal(value, gender=head, case=C.case_of(words[1:])), start, end
        if words and len(raw) >= 3 and (words[0] in _YEAR_WORDS or _month_before(words)):
            return Q.spell(raw, case="gen"), start, end
    following = Q.next_word(text, end)
    if following is None:
        return sign + Q.spell(raw, case=case), start, end
    reading = Q.with_following_word(raw, value, following, text, case)
    if reading is not None:
        spoken, new_end = reading
        return sign + spoken, start, new_end
    gender = nouns.guess_gender(following[0])
    return sign + Q.spell(raw, gender=gender, case=case), start, end


def _year_with_era(match: re.Match[str]) -> _Reading:
    """ "1445هـ" -> ... هِجْرِيًّا; "1990م" -> ... مِيلَادِيًّا unless the م is metres."""
    text, start, end = match.string, match.start(), match.end()
    if match["hy"] is not None:
        return D.year_words(int(match["hy"])) + " " + D.HIJRI, start, end
    raw = match["gy"]
    words = C.words_before(text, start)
    after_year_word = bool(words) and words[0] in _YEAR_WORDS
    plausible = after_year_word or 1000 <= int(raw) <= 2100
    if plausible and not C.any_of(words[:2], _LENGTH_WORDS):
        return D.year_words(int(raw)) + " " + D.GREGORIAN, start, end
    return Q.counted(raw, L.UNITS["م"], case=C.case_of(words)), start, end


_HOUR = ["", *[N.ordinal(h, gender="f") for h in range(1, 13)]]


def _time(match: re.Match[str]) -> str | None:
    hour, minute = int(match["hh"]), int(match["mm"])
    second = int(match["ss"]) if match["ss"] else 0
    if hour > 24 or minute > 59 or second > 59:
        return None
    period = ""
    ampm = match["ampm"]
    if ampm in L.AM:
        period = "صَبَاحًا"
    elif ampm in L.PM or (hour > 12 and hour != 24):
        period = "مَسَاءً"
    elif hour in (0, 24):
        period = "لَيْلًا"
    words = _HOUR[hour % 12 or 12]
    if minute == 15:
        words += " " + N.AND + "الرُّبْع"
    elif minute == 30:
        words += " " + N.AND + "النِّصْف"
    elif minute:
        words += " " + N.AND + N.count(minute, nouns.entry("دقيقة"))
    if second:
        words += " " + N.AND + N.count(second, nouns.entry("ثانية"))
    before = C.words_before(match.string, match.start(), limit=1)
    prefix = "" if _after_hour_word(before) else "السَّاعَة "
    return prefix + words + (" " + period if period else "")


def _after_hour_word(words: list[str]) -> bool:
    return bool(words) and words[0].endswith("الساعة")


_ERA = re.compile(r"\s?(هـ|ه|م)(?![\w\u064b-\u0652])")


def _era_after(text: str, end: int) -> tuple[str | None, int]:
    """A هـ/ه/م right after a date's year: its era and where the date then ends."""
    suffix = _ERA.match(text, end)
    if suffix is None:
        return None, end
    return (D.GREGORIAN if suffix.group(1) == "م" else D.HIJRI), suffix.end()


def _numeric_date(match: re.Match[str]) -> _Reading | None:
    if match["d1"] is not None:
        day, month, year = int(match["d1"]), int(match["m1"]), int(match["y1"])
    else:
        day, month, year = int(match["d2"]), int(match["m2"]), int(match["y2"])
    era, end = _era_after(match.string, match.end())
    found = D.numeric_month(month, year, era)
    spoken = D.spell_date(day, found, year, era) if found else None
    return (spoken, match.start(), end) if spoken else None


def _named_date(match: re.Match[str]) -> _Reading | None:
    month = D.find_month(match["mname"])
    if month is None:
        return None
    year = int(match["y3"]) if match["y3"] else None
    era, end = _era_after(match.string, match.end()) if year is not None else (None, match.end())
    spoken = D.spell_date(int(match["d3"]), month, year, era)
    return (spoken, match.start(), end) if spoken else None


def _fallback(text: str) -> str:
    """Numbers that matched a pattern but not its meaning (32/13/2024): read each."""
    return " ".join(Q.spell(number) for number in re.findall(r"\d+", text))


def _phone_after_word(match: re.Match[str]) -> _Reading:
    number = match["pnum"]
    if sum(ch.isdigit() for ch in number) < 5:  # "رقم 33" is a quantity
        return Q.spell(number.replace(" ", "").replace("-", "")), *match.span()
    return _phone(number), *match.span()


def _version(match: re.Match[str]) -> _Reading:
    parts = match["ver"].lstrip("v").split(".")
    return " نُقْطَة ".join(Q.spell(part) for part in parts), *match.span()


def _currency_abbreviation_first(match: re.Match[str]) -> _Reading:
    """ "ر.س 50": the Arabic abbreviation before the amount joins the span."""
    text, start = match.string, match.start()
    key = _prefix_before(text, start, _ARABIC_CURRENCY_PREFIXES)
    spoken = Q.money(match["camt2"], L.CURRENCIES[key.strip()], case=C.case_before(text, start))
    return spoken, start - len(key), match.end()


def _acronym(match: re.Match[str]) -> _Reading:
    acronym = match["acr"].rstrip("-")
    spoken = L.ACRONYM_WORDS.get(acronym) or " ".join(L.LETTER_NAMES[ch] for ch in acronym)
    return spoken, *match.span()


def _clock(match: re.Match[str]) -> _Reading | None:
    spoken = _time(match)
    return (spoken, *match.span()) if spoken else None


# The last group each alternative of ``_PATTERN`` closes -> the function that reads it.
_HANDLERS: dict[str, Callable[[re.Match[str]], _Reading | None]] = {
    "pnum": _phone_after_word,
    "phone": lambda match: (_phone(match["phone"]), *match.span()),
    "y1": lambda match: _numeric_date(match),
    "d2": lambda match: _numeric_date(match),
    "mname": lambda match: _named_date(match),
    "y3": lambda match: _named_date(match),
    "mm": _clock,
    "ss": _clock,
    "ampm": _clock,
    "ver": _version,
    "fd": lambda match: _fraction_reading(match),
    "vf": lambda match: _vulgar_reading(match),
    "camt": lambda match: _currency_first(match),
    "camt2": _currency_abbreviation_first,
    "ordn": lambda match: _ordinal_match(match),
    "hy": lambda match: _year_with_era(match),
    "gy": lambda match: _year_with_era(match),
    "r2": lambda match: _range(match),
    "rsuf": lambda match: _range(match),
    "num": lambda match: _number_reading(match),
    "suf": lambda match: _number_reading(match),
    "acr": _acronym,
    "sym": lambda match: (L.SYMBOLS[match["sym"]], *match.span()),
}


def _currency_first(match: re.Match[str]) -> _Reading:
    """ "$5", "USD 100", "$5 مليون" (the scale word comes before the currency's name)."""
    text, start, end = match.string, match.start(), match.end()
    currency = L.CURRENCIES[match["cpre"]]
    case = C.case_before(text, start)
    following = Q.next_word(text, end)
    scale = nouns.find(following[0]) if following else None
    if scale is not None and scale.scale:
        spoken = Q.counted(match["camt"], scale, case=case, construct=True)
        return spoken + " " + currency.major.singular, start, following[1]  # type: ignore[index]
    return Q.money(match["camt"], currency, case=case), start, end


def _ordinal_match(match: re.Match[str]) -> _Reading | None:
    text, start, end = match.string, match.start(), match.end()
    prefix = _prefix_before(text, start, _ORDINAL_PREFIXES)
    article = start - len(prefix)
    if article > 0 and text[article - 1].isalpha():
        # "سؤال 5", "مال5": the letters are the end of a word, not the article;
        # only a one-letter clitic (بال, وال) may stand before it.
        clitic_start = article - 1
        if text[clitic_start] not in "وفبك" or (
            clitic_start > 0 and text[clitic_start - 1].isalpha()
        ):
            return _number_reading(_NUMBER_PATTERN.match(text, start))  # type: ignore[arg-type]
    value = Q.small_int(match["ordn"])
    if not value:
        return None
    spoken, _, _ = _ordinal_reading(value, text, article, end)
    if prefix == "لل":  # ل + الـ: keep the written lam, drop the article's alef
        return spoken[1:], start - 1, end
    return spoken, article, end


def _range(match: re.Match[str]) -> _Reading:
    text, start, end = match.string, match.start(), match.end()
    case = C.case_before(text, start)
    suffix = match["rsuf"]
    if suffix:
        gender = (
            (L.UNITS[suffix] if suffix in L.UNITS else L.CURRENCIES[suffix].major).gender
            if suffix != "%"
            else "m"
        )
        first = Q.spell(match["r1"], gender=gender, case=case)
        return first + " إِلَى " + Q.with_suffix(match["r2"], suffix, case="gen"), start, end
    following = Q.next_word(text, end)
    noun = nouns.find(following[0]) if following else None
    gender = noun.gender if noun else _plain_gender(text, end)
    first = Q.spell(match["r1"], gender=gender, case=case)
    return first + " إِلَى " + Q.spell(match["r2"], gender=gender, case="gen"), start, end


def _phone(number: str) -> str:
    """Digit by digit, one comma-separated group per written group."""
    plus = "زَائِد " if number.lstrip().startswith("+") else ""
    groups = [g for g in re.split(r"[ \-()]+", number) if any(ch.isdigit() for ch in g)]
    return plus + "، ".join(N.digits(group) for group in groups)


_CLITICS = frozenset("وفبلك")


def _is_clitic(text: str, start: int) -> bool:
    """True if a one-letter prefix (و ف ب ل ك, maybe with its vowel) stands right before ``start``."""
    if start and text[start - 1] in "\u064e\u0650":
        start -= 1
    if start == 0 or text[start - 1] not in _CLITICS:
        return False
    return start == 1 or not text[start - 2].isalpha()


def _detached_clitic(before: str) -> bool:
    """True if ``before`` ends in a lone ب/ل/ك/و/ف and a space ("ل 45", from "لـ 45")."""
    return (
        len(before) >= 2
        and before[-1] == " "
        and before[-2] in _CLITICS
        and (len(before) == 2 or not before[-3].isalpha())
    )


def verbalize(text: str, *, diacritics: Literal["keep", "strip"] = "keep") -> VerbalizedText:
    """Spell out numbers, dates, times, currencies, units, acronyms and abbreviations.

    Text that is not one of those is returned untouched (no normalization here).
    """
    work = fold_digits(text)
    matches = list(_ABBR_PATTERN.finditer(work)) if "." in work or "لخ" in work else []
    matches = [
        m
        for m in matches
        if m.start() == 0 or not (work[m.start() - 1].isalnum() or work[m.start() - 1] == ".")
    ]
    if _TRIGGER.search(work) is not None:
        matches.extend(_PATTERN.finditer(work))
        matches.sort(key=lambda m: m.start())
    if not matches:
        return VerbalizedText(text, text)
    finish: Callable[[str], str] = strip_diacritics if diacritics == "strip" else _shadda_first
    pieces: list[str] = []
    spans: list[Span] = []
    position = 0
    for match in matches:
        if match.re is _ABBR_PATTERN:
            reading: _Reading | None = (L.ABBREVIATIONS[match["abbr"]], *match.span())
        else:
            reading = _HANDLERS[match.lastgroup](match)  # type: ignore[index]
            if reading is None:
                reading = (_fallback(match.group(0)), *match.span())
        spoken, start, end = reading
        if start < position:  # overlaps the previous replacement
            continue
        spoken = finish(spoken)
        before = text[position:start]
        if _detached_clitic(before):
            before = before[:-1]
        elif (
            start
            and not text[start - 1].isspace()
            and not _is_clitic(text, start)
            and (before or not (pieces and pieces[-1].endswith(" ")))
        ):
            spoken = " " + spoken
        if end < len(text) and not text[end].isspace() and text[end] not in ".,،؛;:!?؟)»\"'":
            spoken = spoken + " "
        pieces.append(before)
        pieces.append(spoken)
        spans.append(Span(start, end, text[start:end], spoken.strip()))
        position = end
    pieces.append(text[position:])
    return VerbalizedText(text, "".join(pieces), tuple(spans))


# Readings repeat (the same years, the same counts): order their marks once.
_shadda_first = lru_cache(maxsize=4096)(shadda_first)


def _prefix_before(text: str, start: int, prefixes: list[str]) -> str:
    """The longest of ``prefixes`` (listed longest first) that ends at ``start`` ('' if none)."""
    for prefix in prefixes:
        if start >= len(prefix) and text.startswith(prefix, start - len(prefix)):
            return prefix
    return ""
