"""Numbers and other non-words to the Arabic words a listener should hear.

The text is scanned once, left to right, by one regex whose alternatives are
ordered so that the most specific reading wins where several could start at
the same place: a phone number before a quantity, a date before a range, a
currency before a plain number. Each match is replaced by diacritized words
(``numbers`` spells them, ``lexicon`` names the things counted) and recorded as
a ``Span`` so that subtitles can show the original digits beside the speech.

Arabic-Indic and Persian digits are folded character for character, so the
spans' offsets are offsets into the caller's own string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from natiq.text import lexicon as L
from natiq.text import numbers as N
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
_NOUN = _alternation(list(L.NOUNS))
_MONTH = _alternation(list(L.MONTH_NAMES))
_AMPM = _alternation(sorted(L.AM | L.PM))
_PHONE_WORDS = (
    "رقم|الرقم|رقمي|هاتف|الهاتف|هاتفي|جوال|الجوال|جوالي|موبايل|الموبايل|فاكس|الفاكس"
    "|تلفون|التلفون|واتساب|اتصل على|اتصلوا على|اتصل ب|الاتصال على"
)
_ABBR = _alternation(list(L.ABBREVIATIONS))


def _after_any(prefixes: list[str]) -> str:
    """Fixed-width lookbehinds, one per prefix: "preceded by one of these"."""
    return "(?:" + "|".join(f"(?<={re.escape(prefix)})" for prefix in prefixes) + ")"


_PHONE_PREFIXES = [
    w + sep for w in _PHONE_WORDS.split("|") for sep in (" ", ":", ": ", " : ", " هو ")
]
_ORDINAL_PREFIXES = ["الـ ", "الـ", "ال"]
_ARABIC_CURRENCY_PREFIXES = sorted(
    (key + sep for key in L.CURRENCIES if "." in key and not key.isascii() for sep in (" ", "")),
    key=len,
    reverse=True,
)
# Every alternative starts at a digit, a sign, a currency symbol, a capital or
# "v"; words that come before a number (phone context, the article of an
# ordinal, ر.س) are checked with lookbehinds. With the gate in front, the
# engine rejects every other position after one character test, which keeps
# the scan near 1 µs per character slower than pure C instead of 2 µs.
_GATE = "(?=[0-9+\\-−$€£¥₺₹A-Zv&=×÷@])"
_PATTERN = re.compile(
    _GATE
    + "(?:"
    + "|".join(
        [
            rf"{_after_any(_PHONE_PREFIXES)}(?P<pnum>\+?\d[\d \-]{{3,20}}\d)(?!\d)",
            r"(?<![\d+])(?P<phone>(?:\+|00)\d[\d \-()]{6,18}\d|0\d{1,2}[ \-]?\d{3}[ \-]?\d{4})(?!\d)",
            r"(?<!\d)(?P<d1>\d{1,2})(?P<sep>[/.\-])(?P<m1>\d{1,2})(?P=sep)(?P<y1>\d{4})(?!\d)",
            r"(?<!\d)(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})(?!\d)",
            rf"(?<!\d)(?P<d3>\d{{1,2}})\s+(?P<mname>{_MONTH}){_WORD_END}(?:\s+(?P<y3>\d{{4}})(?!\d))?",
            rf"(?<!\d)(?P<hh>\d{{1,2}}):(?P<mm>\d{{2}})(?::(?P<ss>\d{{2}}))?(?!\d)(?:\s?(?P<ampm>{_AMPM})(?![\w\u064b-\u0652]))?",
            r"(?<![\w.])(?P<ver>v\d+(?:\.\d+)+|\d+(?:\.\d+){2,})(?![\d.]\d)",
            rf"(?P<cpre>{_CUR})\s?(?P<camt>{_NUM})",
            rf"{_after_any(_ARABIC_CURRENCY_PREFIXES)}(?P<camt2>{_NUM})",
            rf"{_after_any(_ORDINAL_PREFIXES)}(?P<ordn>\d+)(?!\d)",
            rf"(?<!\d)(?P<r1>{_NUM})\s?[-–]\s?(?P<r2>{_NUM})(?:\s?(?P<rsuf>%|{_CUR}|{_UNIT}){_WORD_END})?",
            rf"(?P<neg>(?<![\w)])[-−](?=\d))?(?<![\d])(?P<num>{_NUM})"
            rf"(?:\s?(?P<suf>%|{_CUR}|{_UNIT}|هـ){_WORD_END}|\s(?P<noun>{_NOUN}){_WORD_END})?",
            r"(?P<acr>[A-Z](?<![A-Za-z].)[A-Z]{1,5})(?![A-Za-z])",
            r"(?P<sym>[&+=×÷@])(?<=\s.)(?=\s)",
        ]
    )
    + ")"
)
# Abbreviations start with letters, so they get their own (literal-prefixed) scan.
_ABBR_PATTERN = re.compile(rf"(?P<abbr>{_ABBR})(?![\w\u064b-\u0652])")
# Cheap test for "is there anything to verbalize at all".
_TRIGGER = re.compile(r"[0-9A-Z&+=×÷@$€£¥₺₹]")
_NEXT_WORD = re.compile(r"\s*([\u0621-\u064a\u0671-\u06d3][\u0621-\u0652\u0670-\u06d3]*)")
_PREPOSITIONS = frozenset(
    [
        "في",
        "من",
        "إلى",
        "الى",
        "على",
        "عن",
        "منذ",
        "حتى",
        "بعد",
        "قبل",
        "حوالي",
        "نحو",
        "عام",
        "سنة",
        "لمدة",
        "خلال",
        "بين",
        "مع",
        "ب",
        "ل",
    ]
)
_GENITIVE_TAIL = re.compile(r"(?:^|\s)([\u0621-\u064a]+)\s*$")


def _case_before(text: str, start: int) -> N.Case:
    """Genitive after a preposition or عام/سنة ("منذ 20 عامًا", "عام 2024"), else nominative."""
    match = _GENITIVE_TAIL.search(text[max(0, start - 12) : start])
    if match and match.group(1) in _PREPOSITIONS:
        return "gen"
    return "nom"


def _gender_after(text: str, end: int) -> N.Gender:
    """Feminine if the next word looks feminine (ends in ة or ات), else masculine."""
    match = _NEXT_WORD.match(text, end)
    if match:
        word = strip_diacritics(match.group(1))
        noun = L.NOUNS.get(word)
        if noun is not None:
            return noun.gender
        if word.endswith(("ة", "ات")) and len(word) > 2:
            return "f"
    return "m"


def _parse_number(raw: str) -> tuple[str, str]:
    integer, _, fraction = raw.replace(",", "").partition(".")
    return integer, fraction


def _spell(raw: str, *, gender: N.Gender = "m", case: N.Case = "nom") -> str:
    integer, fraction = _parse_number(raw)
    if len(integer) > 15:
        spoken = N.digits(integer)
        return spoken + (" فَاصِلَة " + N.digits(fraction) if fraction else "")
    return N.decimal(integer, fraction, gender=gender, case=case)


def _counted(raw: str, noun: N.Noun, *, case: N.Case = "nom") -> str:
    integer, fraction = _parse_number(raw)
    if fraction or len(integer) > 15:
        return _spell(raw, gender=noun.gender, case=case) + " " + noun.singular
    return N.count(int(integer), noun, case=case)


def _money(raw: str, currency: L.Currency, *, case: N.Case = "nom") -> str:
    integer, fraction = _parse_number(raw)
    if len(integer) > 15 or (
        fraction and (currency.minor is None or len(fraction) > currency.minor_digits)
    ):
        return _spell(raw, gender=currency.major.gender, case=case) + " " + currency.major.singular
    major = int(integer)
    minor = int(fraction.ljust(currency.minor_digits, "0")) if fraction else 0
    parts = []
    if major or not minor:
        parts.append(N.count(major, currency.major, case=case))
    if minor and currency.minor is not None:
        parts.append(N.count(minor, currency.minor, case=case))
    return (" " + N.AND).join(parts)


def _with_suffix(raw: str, suffix: str, *, case: N.Case, negative: bool = False) -> str:
    sign = "سَالِب " if negative else ""
    if suffix == "%":
        return sign + _spell(raw, case=case) + " بِالْمِئَة"
    if suffix in L.CURRENCIES:
        return sign + _money(raw, L.CURRENCIES[suffix], case=case)
    if suffix == "هـ":
        return sign + _spell(raw, case="gen") + " هِجْرِيًّا"
    if suffix == "م" and re.fullmatch(r"1\d{3}|20\d{2}", raw):
        return sign + _spell(raw, case="gen") + " مِيلَادِيًّا"
    return sign + _counted(raw, L.UNITS[suffix], case=case)


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
    minutes_noun = L.NOUNS["دقيقة"]
    if minute == 15:
        words += " " + N.AND + "الرُّبْع"
    elif minute == 30:
        words += " " + N.AND + "النِّصْف"
    elif minute:
        words += " " + N.AND + N.count(minute, minutes_noun)
    if second:
        words += " " + N.AND + N.count(second, L.NOUNS["ثانية"])
    prefix = "" if _after_hour_word(match.string, match.start()) else "السَّاعَة "
    return prefix + words + (" " + period if period else "")


def _after_hour_word(text: str, start: int) -> bool:
    return strip_diacritics(text[max(0, start - 12) : start]).rstrip().endswith("الساعة")


def _date(day: int, month: int, year: str | None) -> str | None:
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    words = N.ordinal(day) + " مِنْ " + L.MONTHS[month]
    if year:
        words += " عَام " + N.cardinal(int(year), case="gen")
    return words


def _fallback(text: str) -> str:
    """Numbers that matched a pattern but not its meaning (32/13/2024): read each."""
    return " ".join(_spell(number) for number in re.findall(r"\d+", text))


def _replacement(match: re.Match[str]) -> str | None:
    text = match.string
    group = match.lastgroup
    if match["pnum"] is not None:
        number = match["pnum"]
        if sum(ch.isdigit() for ch in number) < 5:
            return _spell(number.replace(" ", "").replace("-", ""))
        return _phone(number)
    if match["phone"] is not None:
        return _phone(match["phone"])
    if match["d1"] is not None:
        return _date(int(match["d1"]), int(match["m1"]), match["y1"])
    if match["y2"] is not None:
        return _date(int(match["d2"]), int(match["m2"]), match["y2"])
    if match["d3"] is not None:
        return _date(int(match["d3"]), L.MONTH_NAMES[match["mname"]], match["y3"])
    if match["hh"] is not None:
        return _time(match)
    if match["ver"] is not None:
        return " نُقْطَة ".join(_spell(part) for part in match["ver"].lstrip("v").split("."))
    if match["camt2"] is not None:
        key = _prefix_before(text, match.start(), _ARABIC_CURRENCY_PREFIXES).strip()
        return _money(match["camt2"], L.CURRENCIES[key], case=_case_before(text, match.start()))
    if match["cpre"] is not None:
        return _money(
            match["camt"], L.CURRENCIES[match["cpre"]], case=_case_before(text, match.start())
        )
    if match["ordn"] is not None:
        value = int(match["ordn"])
        if value == 0:
            return None
        return N.ordinal(value, gender=_gender_after(text, match.end()))
    if match["r1"] is not None:
        case = _case_before(text, match.start())
        first = _spell(match["r1"], case=case)
        suffix = match["rsuf"]
        second = (
            _with_suffix(match["r2"], suffix, case="gen")
            if suffix
            else _spell(match["r2"], case="gen")
        )
        return first + " إِلَى " + second
    if match["num"] is not None:
        case = _case_before(text, match.start())
        negative = match["neg"] is not None
        if match["suf"] is not None:
            return _with_suffix(match["num"], match["suf"].strip(), case=case, negative=negative)
        sign = "سَالِب " if negative else ""
        if match["noun"] is not None:
            return sign + _counted(match["num"], L.NOUNS[match["noun"]], case=case)
        if (
            not negative
            and match["num"].isdigit()
            and 1 <= int(match["num"]) <= 12
            and _after_hour_word(text, match.start())
        ):
            return _HOUR[int(match["num"])]  # "الساعة 5" is the fifth hour: الْخَامِسَة
        return sign + _spell(match["num"], gender=_gender_after(text, match.end()), case=case)
    if match["acr"] is not None:
        acronym = match["acr"]
        return L.ACRONYM_WORDS.get(acronym) or " ".join(L.LETTER_NAMES[ch] for ch in acronym)
    if match["sym"] is not None:
        return L.SYMBOLS[match["sym"]]
    raise AssertionError(f"unhandled verbalizer alternative {group!r}")


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
    finish: Callable[[str], str] = strip_diacritics if diacritics == "strip" else shadda_first
    pieces: list[str] = []
    spans: list[Span] = []
    position = 0
    for match in matches:
        start, end = match.span()
        if match.re is _ABBR_PATTERN:
            spoken = L.ABBREVIATIONS[match["abbr"]]
        else:
            spoken = _replacement(match)
            if spoken is None:
                spoken = _fallback(match.group(0))
            if match["camt2"] is not None:
                start -= len(_prefix_before(work, start, _ARABIC_CURRENCY_PREFIXES))
            elif match["ordn"] is not None:
                start -= len(_prefix_before(work, start, _ORDINAL_PREFIXES))
        if start < position:  # overlaps the previous replacement
            continue
        spoken = finish(spoken)
        before = text[position:start]
        if before and not before[-1].isspace() and not _is_clitic(text, start):
            spoken = " " + spoken
        if end < len(text) and not text[end].isspace() and text[end] not in ".,،؛;:!?؟)»\"'":
            spoken = spoken + " "
        pieces.append(before)
        pieces.append(spoken)
        spans.append(Span(start, end, text[start:end], spoken.strip()))
        position = end
    pieces.append(text[position:])
    return VerbalizedText(text, "".join(pieces), tuple(spans))


def _prefix_before(text: str, start: int, prefixes: list[str]) -> str:
    """The longest of ``prefixes`` that ends at ``start`` ('' if none)."""
    for prefix in sorted(prefixes, key=len, reverse=True):
        if text.startswith(prefix, max(0, start - len(prefix))) and start >= len(prefix):
            return prefix
    return ""
