"""``<say-as interpret-as=...>``: read a piece of text the way the writer says.

Each reading returns diacritized Arabic words, built from the verbalizer's own
pieces (``numbers``, ``dates``, ``quantities``, ``verbalize``), so a number
read through SSML sounds exactly like the same number found in plain text.
A content that cannot be read as asked is an ``SsmlError`` naming it.

- ``characters`` / ``spell-out``: letter by letter. Arabic letters by their
  names (ب -> بَاء, ة -> تَاء مَرْبُوطَة, أ -> هَمْزَة عَلَى أَلِف), Latin letters by their
  Arabic names (B -> بِي), digits by theirs; marks, spaces and punctuation are
  not read.
- ``cardinal``: a number (sign, thousands commas and decimals allowed);
  ``ordinal``: a positive integer, as the definite ordinal (5 -> الْخَامِس).
  ``format="feminine"`` gives the feminine forms.
- ``digits``: digit by digit.
- ``date``: numbers separated by ``/ - .`` in the order ``format`` gives
  (``dmy`` default, ``mdy``, ``ymd``, ``dm``, ``md``, ``y``); a date written
  with a month name is read by the verbalizer's date rules. A year in
  1300-1500 or a ``هـ`` suffix gives Hijri months, as in plain text.
- ``time``: ``H:MM`` or ``H:MM:SS`` with an optional AM/PM or ص/م.
- ``telephone``: digit by digit in the written groups, + read زَائِد.
- ``currency``: an amount with its symbol or code (``$5``, ``5.50 USD``,
  ``100 ريال سعودي``), or a bare amount with the ISO code in ``format``.
"""

from __future__ import annotations

import calendar
import re

from natiq.common.errors import SsmlError
from natiq.text import chars as C
from natiq.text import dates as D
from natiq.text import lexicon as L
from natiq.text import numbers as N
from natiq.text import quantities as Q
from natiq.text.normalize import normalize
from natiq.text.verbalize import verbalize

INTERPRETATIONS = (
    "characters",
    "spell-out",
    "cardinal",
    "ordinal",
    "digits",
    "date",
    "time",
    "telephone",
    "currency",
)
DATE_FORMATS = ("dmy", "mdy", "ymd", "dm", "md", "y")

ARABIC_LETTER_NAMES: dict[str, str] = {
    "ا": "أَلِف",
    "ب": "بَاء",
    "ت": "تَاء",
    "ث": "ثَاء",
    "ج": "جِيم",
    "ح": "حَاء",
    "خ": "خَاء",
    "د": "دَال",
    "ذ": "ذَال",
    "ر": "رَاء",
    "ز": "زَاي",
    "س": "سِين",
    "ش": "شِين",
    "ص": "صَاد",
    "ض": "ضَاد",
    "ط": "طَاء",
    "ظ": "ظَاء",
    "ع": "عَيْن",
    "غ": "غَيْن",
    "ف": "فَاء",
    "ق": "قَاف",
    "ك": "كَاف",
    "ل": "لَام",
    "م": "مِيم",
    "ن": "نُون",
    "ه": "هَاء",
    "و": "وَاو",
    "ي": "يَاء",
    "ء": "هَمْزَة",
    "أ": "هَمْزَة عَلَى أَلِف",
    "إ": "هَمْزَة تَحْتَ أَلِف",
    "آ": "أَلِف مَدّ",
    "ٱ": "أَلِف وَصْل",
    "ؤ": "هَمْزَة عَلَى وَاو",
    "ئ": "هَمْزَة عَلَى يَاء",
    "ة": "تَاء مَرْبُوطَة",
    "ى": "أَلِف مَقْصُورَة",
}

_NUMBER = re.compile(r"[-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
_DATE_PARTS = re.compile(r"\d+")
_DATE_SHAPE = re.compile(r"\d+(?:\s*[/.\-]\s*\d+){0,2}(?:\s*(?:هـ|ه|م))?")
_TIME_SHAPE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*\S+)?")


def say_as(content: str, interpret_as: str, *, format: str | None = None) -> str:
    """The Arabic words for ``content`` read as ``interpret_as`` (see the module docstring)."""
    text = normalize(content)
    if not text:
        raise SsmlError(f'<say-as interpret-as="{interpret_as}"> is empty: put the text inside it')
    if interpret_as in ("characters", "spell-out"):
        return normalize(spell_out(text))
    reader = _READERS.get(interpret_as)
    if reader is None:
        raise SsmlError(
            f"<say-as interpret-as={interpret_as!r}> is not supported; natiq reads "
            + ", ".join(INTERPRETATIONS)
        )
    return normalize(reader(text, format))


def spell_out(text: str) -> str:
    """Letter names of ``text`` (Arabic and Latin letters, digits)."""
    names = []
    for char in text:
        if char in ARABIC_LETTER_NAMES:
            names.append(ARABIC_LETTER_NAMES[char])
        elif char.upper() in L.LETTER_NAMES and char.isascii():
            names.append(L.LETTER_NAMES[char.upper()])
        elif "0" <= char <= "9":
            names.append(N.DIGIT_NAMES[ord(char) - 48])
    if not names:
        raise SsmlError(f"nothing to spell in {text!r}: no letters or digits")
    return " ".join(names)


def _gender(format: str | None, interpret_as: str) -> N.Gender:
    if format in (None, "masculine", "m"):
        return "m"
    if format in ("feminine", "f"):
        return "f"
    raise SsmlError(
        f'<say-as interpret-as="{interpret_as}" format={format!r}>: format is "masculine" or "feminine"'
    )


def _cardinal(text: str, format: str | None) -> str:
    gender = _gender(format, "cardinal")
    if not _NUMBER.fullmatch(text):
        raise SsmlError(
            f'<say-as interpret-as="cardinal">: {text!r} is not a number (e.g. 1250 or -3.5)'
        )
    negative = text[0] in "-−"
    spoken = Q.spell(text.lstrip("-−").replace(",", ""), gender=gender)
    return ("سَالِب " if negative else "") + spoken


def _ordinal(text: str, format: str | None) -> str:
    gender = _gender(format, "ordinal")
    if not text.isdigit() or int(text) == 0 or len(text) > N.MAX_DIGITS:
        raise SsmlError(f'<say-as interpret-as="ordinal">: {text!r} is not a positive whole number')
    return N.ordinal(int(text), gender=gender, case="nom")


def _digits(text: str, format: str | None) -> str:
    if not any(char.isdigit() for char in text) or re.search(r"[^\d\s\-.]", text):
        raise SsmlError(f'<say-as interpret-as="digits">: {text!r} must hold digits only')
    return N.digits(text)


def _telephone(text: str, format: str | None) -> str:
    if not re.fullmatch(r"\+?[\d\s\-().]+", text) or not any(char.isdigit() for char in text):
        raise SsmlError(
            f'<say-as interpret-as="telephone">: {text!r} must hold digits, spaces, - ( ) and a leading +'
        )
    groups = [group for group in re.split(r"[\s\-().]+", text) if any(c.isdigit() for c in group)]
    plus = "زَائِد " if text.startswith("+") else ""
    return plus + "، ".join(N.digits(group) for group in groups)


def _date(text: str, format: str | None) -> str:
    order = format or "dmy"
    if order not in DATE_FORMATS:
        raise SsmlError(
            f'<say-as interpret-as="date" format={order!r}>: format is one of {", ".join(DATE_FORMATS)}'
        )
    if not _DATE_SHAPE.fullmatch(text):
        return _verbalized(text, "date", "a date such as 12/05/2024 or 5 مايو 2024")
    era = D.HIJRI if text.endswith(("هـ", "ه")) else D.GREGORIAN if text.endswith("م") else None
    numbers = [int(part) for part in _DATE_PARTS.findall(text)]
    if len(numbers) != len(order):
        raise SsmlError(
            f'<say-as interpret-as="date" format="{order}">: {text!r} has {len(numbers)} number(s), '
            f"the format {len(order)}"
        )
    parts = dict(zip(order, numbers, strict=True))
    year = parts.get("y")
    if order == "y":
        spoken = D.year_words(numbers[0])
        return spoken + (" " + era if era else "")
    month = D.numeric_month(parts["m"], year, era)
    valid = month is not None and parts["d"] <= _days_in(month, year)
    spoken_date = D.spell_date(parts["d"], month, year, era) if valid and month else None
    if spoken_date is None:
        raise SsmlError(
            f'<say-as interpret-as="date" format="{order}">: {text!r} is not a valid date'
        )
    return spoken_date


def _days_in(month: D.Month, year: int | None) -> int:
    """Days of ``month`` (a Hijri month has at most 30; February 29 only in a leap year)."""
    if month.hijri:
        return 30
    if month.number == 2:
        leap = year is None or calendar.isleap(year)
        return 29 if leap else 28
    return calendar.monthrange(2001, month.number)[1]


def _time(text: str, format: str | None) -> str:
    if not _TIME_SHAPE.fullmatch(text):
        raise SsmlError(
            f'<say-as interpret-as="time">: {text!r} is not a time such as 10:30 or 9:05 PM'
        )
    return _verbalized(text, "time", "a time such as 10:30 or 9:05 PM")


def _currency(text: str, format: str | None) -> str:
    if format is not None:
        if format not in L.CURRENCIES or not _NUMBER.fullmatch(text):
            raise SsmlError(
                f'<say-as interpret-as="currency" format={format!r}>: format is a currency code '
                "(USD, EUR, SAR, ...) and the content a bare amount"
            )
        text = f"{text} {format}"
    return _verbalized(text, "currency", "an amount with its currency, such as $5 or 5.50 USD")


def _verbalized(text: str, interpret_as: str, example: str) -> str:
    """The verbalizer's reading of ``text``; an error unless one reading covers all of it."""
    result = verbalize(text)
    covered = (
        len(result.spans) == 1 and result.spans[0].start == 0 and result.spans[0].end == len(text)
    )
    spoken = result.spans[0].spoken if covered else ""
    if not covered or not any(C.is_arabic_letter(char) for char in spoken):
        raise SsmlError(
            f'<say-as interpret-as="{interpret_as}">: cannot read {text!r} as {example}'
        )
    return spoken


_READERS = {
    "cardinal": _cardinal,
    "ordinal": _ordinal,
    "digits": _digits,
    "date": _date,
    "time": _time,
    "telephone": _telephone,
    "currency": _currency,
}
