"""Latin-script words inside Arabic text, handled on purpose.

Arabic text quotes English all the time ("اشتريت iPhone 15", "نظام Windows
11"). What the model should receive depends on what it can read, which the
front-end's ``latin`` setting says (``auto`` decides from the scheme):

- ``pass`` (a model built on an English base that reads Latin text: the
  ``latin``, ``arabizi`` and ``ipa`` schemes, or Higgs): each *Latin run* - a
  Latin word and the Latin words and numbers that follow it, separated by a
  space or a hyphen - goes to the model as written, with its numbers as
  English words ("iPhone 15" -> "iPhone fifteen", "COVID-19" -> "COVID
  nineteen", "S24" -> "S twenty-four"). For the ``ipa`` scheme the run is
  phonemized by espeak-ng's English voice instead.
- ``transliterate`` (a model that reads only Arabic script or Buckwalter):
  every Latin word with a lower-case letter is written in Arabic letters from
  its English pronunciation (``natiq.text.ipa_arabic``: Python -> بَايْثَن);
  words in capitals of up to six letters are acronyms and stay for the
  verbalizer, which spells them or reads the known ones (NASA -> نَاسَا), and
  numbers stay Arabic numbers, read as Arabic speakers read them ("iPhone 15"
  -> آيْفُون خَمْسَةَ عَشَرَ).

In both modes, Latin units, currency codes, AM/PM and abbreviations that the
verbalizer reads together with a number ("5 km", "100 USD", "10:30 AM") are
left to it. The rule applies only to text that has Arabic letters: a text with
none stays "no Arabic words". A ``<lang xml:lang="en">`` span of SSML is
foreign as a whole (numbers and capitals included) and goes through the same
two modes with that language's espeak-ng voice.
"""

from __future__ import annotations

import re
from typing import Literal

from natiq.common.errors import InputTextError
from natiq.text import lexicon as L
from natiq.text.ipa_arabic import transliterate
from natiq.text.verbalize import verbalize

LatinMode = Literal["pass", "transliterate"]
#: schemes whose models keep an English base and read English as written
PASSING_SCHEMES = frozenset({"latin", "arabizi", "ipa"})
MAX_ENGLISH_DIGITS = 15

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’.\-][A-Za-z0-9]+)*|\d+(?:[.,]\d+)*")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])-?(?=\d)|(?<=\d)-?(?=[A-Za-z])")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_LANG_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_ACRONYM = re.compile(r"[A-Z]{1,6}")
# Latin words the verbalizer reads with a number next to them.
VERBALIZER_WORDS = frozenset(
    word
    for table in (L.UNITS, L.CURRENCIES, L.ABBREVIATIONS)
    for key in table
    for word in (key, key.rstrip("."))
    if word.isascii() and any(char.isalpha() for char in word)
) | frozenset(word for word in L.AM | L.PM if word.isascii())


def latin_mode(setting: str, scheme: str | None) -> LatinMode:
    """The mode a front-end with ``latin=setting`` and ``scheme`` uses."""
    if setting == "auto":
        return "pass" if scheme in PASSING_SCHEMES else "transliterate"
    if setting not in ("pass", "transliterate"):
        raise ValueError(f"latin must be auto, pass or transliterate, not {setting!r}")
    return setting  # type: ignore[return-value]


_ANY_LATIN = re.compile("[A-Za-z]")


def has_latin_letter(text: str) -> bool:
    return _ANY_LATIN.search(text) is not None


def is_arabic_language(lang: str) -> bool:
    return lang.split("-")[0].lower() == "ar"


def espeak_voice(lang: str) -> str:
    """The espeak-ng voice for a BCP-47 tag (``en`` -> ``en-us``); ``InputTextError`` if malformed."""
    if not _LANG_TAG.fullmatch(lang):
        raise InputTextError(f"{lang!r} is not a language tag (write e.g. 'en', 'en-GB', 'fr')")
    lowered = lang.lower()
    return "en-us" if lowered == "en" else lowered


def _verbalizer_positions(text: str) -> list[tuple[int, int]]:
    """The spans the verbalizer reads (a unit, code or abbreviation inside one belongs to it)."""
    return [(span.start, span.end) for span in verbalize(text).spans]


def _owned(match: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    word = match.group()
    if word not in VERBALIZER_WORDS and word + "." not in VERBALIZER_WORDS:
        return False
    return any(start <= match.start() and match.end() <= end for start, end in spans)


def latin_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every Latin run of ``text`` (see the module docstring)."""
    if not has_latin_letter(text):
        return []
    spans = _verbalizer_positions(text)
    tokens = list(_TOKEN.finditer(text))
    runs: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        first = tokens[index]
        if first.group()[0].isdigit() or _owned(first, spans):
            index += 1
            continue
        end = first.end()
        index += 1
        while index < len(tokens):
            following = tokens[index]
            if text[end : following.start()] not in (" ", "-") or _owned(following, spans):
                break
            end = following.end()
            index += 1
        runs.append((first.start(), end))
    return runs


def words_for_numbers(text: str, *, lang: str = "en") -> str:
    """``text`` with each number written in words of ``lang`` (English if num2words lacks it)."""
    from num2words import num2words

    def spell(number: str) -> str:
        digits = number.replace(",", "") if _THOUSANDS.fullmatch(number) else number
        whole, _, fraction = digits.partition(".") if "," not in digits else (digits, "", "")
        if not whole.isdigit() or len(whole) > MAX_ENGLISH_DIGITS:
            return " ".join(_say(int(d), lang, num2words) for d in digits if d.isdigit())
        words = _say(int(whole), lang, num2words)
        if fraction.isdigit():
            point = _say_point(lang, num2words)
            words += f" {point} " + " ".join(_say(int(d), lang, num2words) for d in fraction)
        return words

    spaced = _LETTER_DIGIT.sub(" ", text)
    return _NUMBER.sub(lambda match: spell(match.group()), spaced)


def _say(value: int, lang: str, num2words: object) -> str:
    try:
        return num2words(value, lang=lang)  # type: ignore[operator]
    except NotImplementedError:
        return num2words(value, lang="en")  # type: ignore[operator]


def _say_point(lang: str, num2words: object) -> str:
    try:
        spoken = num2words(0.5, lang=lang)  # type: ignore[operator]
    except NotImplementedError:
        return "point"
    return spoken.split()[1] if len(spoken.split()) == 3 else "point"


def transliterate_latin(text: str) -> str:
    """Latin words of ``text`` written in Arabic letters (``transliterate`` mode)."""
    if not has_latin_letter(text):
        return text
    spans = _verbalizer_positions(text)
    pieces: list[str] = []
    position = 0
    for token in _TOKEN.finditer(text):
        if token.group()[0].isdigit() or _owned(token, spans):
            continue
        for match in _LATIN_WORD.finditer(text, token.start(), token.end()):
            word = match.group()
            arabic = "" if _ACRONYM.fullmatch(word) else transliterate(word, join_words=True)
            if not arabic:
                continue
            start, end = match.span()
            before = " " if start and text[start - 1].isalnum() else ""
            after = " " if end < len(text) and text[end].isalnum() else ""
            pieces.append(text[position:start] + before + arabic + after)
            position = end
    pieces.append(text[position:])
    return "".join(pieces)
