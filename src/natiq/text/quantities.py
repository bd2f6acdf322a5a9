"""A number read with what it counts: "3 حسابات", "2 مليون نسمة", "50 ريالا سعوديا".

``with_following_word`` looks at the word after a number: a currency's name
(any form, with its nationality adjective), a counted noun from the lexicon
(``nouns``; the number takes the gender of its singular and the noun the form
the count needs), a scale word (أَلْف, مِلْيُون: in the construct state before
the noun it counts), or - for 1 and 2 - an unknown noun (put first, or made
dual). ``counted``, ``money`` and ``with_suffix`` spell a number with a noun,
a currency or a unit it is already known to go with. Digit strings longer than
``numbers.MAX_DIGITS`` are read digit by digit, never converted to int.
"""

from __future__ import annotations

import re

from natiq.text import context as C
from natiq.text import lexicon as L
from natiq.text import nouns
from natiq.text import numbers as N
from natiq.text.normalize import strip_diacritics

_LETTERS = "\u0621-\u063a\u0641-\u064a\u0671-\u06d3"
_NEXT_WORD = re.compile(rf" ?([{_LETTERS}][{_LETTERS}\u064b-\u0652\u0670]*)")


def small_int(raw: str) -> int | None:
    """The value of a plain digit string, or None if it is too long to spell."""
    return int(raw) if raw.isdigit() and len(raw) <= N.MAX_DIGITS else None


def _parse_number(raw: str) -> tuple[str, str]:
    integer, _, fraction = raw.replace(",", "").partition(".")
    return integer, fraction


def spell(raw: str, *, gender: N.Gender = "m", case: N.Case = "nom") -> str:
    """A written number ("1,250.5") in words, with no noun."""
    integer, fraction = _parse_number(raw)
    return N.decimal(integer, fraction, gender=gender, case=case)


def counted(raw: str, noun: N.Noun, *, case: N.Case = "nom", construct: bool = False) -> str:
    """The number with its counted noun; a decimal is said as an abstract number
    before the singular (6.7 بوصة -> سِتَّة فَاصِلَة سَبْعَة بُوصَة), as is a number
    too long to spell."""
    integer, fraction = _parse_number(raw)
    if fraction or len(integer) > N.MAX_DIGITS:
        return spell(raw, case=case) + " " + noun.singular
    return N.count(int(integer), noun, case=case, construct=construct)


def money(raw: str, currency: L.Currency, *, case: N.Case = "nom") -> str:
    """An amount in a currency: the major unit counted, then the minor unit
    (1,250.50 AED -> ... دِرْهَمًا إِمَارَاتِيًّا وَخَمْسُون فِلْسًا)."""
    integer, fraction = _parse_number(raw)
    if len(integer) > N.MAX_DIGITS or (
        fraction and (currency.minor is None or len(fraction) > currency.minor_digits)
    ):
        return spell(raw, gender=currency.major.gender, case=case) + " " + currency.major.singular
    major = int(integer)
    minor = int(fraction.ljust(currency.minor_digits, "0")) if fraction else 0
    parts = []
    if major or not minor:
        parts.append(N.count(major, currency.major, case=case))
    if minor and currency.minor is not None:
        parts.append(N.count(minor, currency.minor, case=case))
    return (" " + N.AND).join(parts)


def next_word(text: str, end: int) -> tuple[str, int] | None:
    """The Arabic word right after ``end`` (one optional space) and where it ends."""
    match = _NEXT_WORD.match(text, end)
    return (match.group(1), match.end()) if match else None


def _is_counted_noun(word: str) -> bool:
    """True if ``word`` (not in the lexicon) may be the noun a 1 or 2 counts."""
    plain = strip_diacritics(word)
    return (
        len(plain) >= 2
        and not plain.startswith("ال")
        and not plain.endswith("ا")
        and plain not in C.WORDS["function_words"]
        and plain not in C.PREPOSITIONS
        and plain not in C.TRANSITIVE_VERBS
        and plain not in C.SUBJECT_MARKERS
    )


def _scale_words(raw: str, scale: N.Noun, text: str, scale_end: int, case: N.Case) -> str:
    """A scale word (2 مليون نسمة) is in the construct state before a noun it counts."""
    after = next_word(text, scale_end)
    construct = after is not None and (
        nouns.find(after[0]) is not None or L.find_currency(after[0], None) is not None
    )
    return counted(raw, scale, case=case, construct=construct)


def _keep_written(phrase: str, written: list[str]) -> str:
    """Keep the writer's own diacritics ("3 كُتُبٍ": the case ending) on a noun that
    is already in the form the count needs; other forms are replaced by ours."""
    marked = [(word, strip_diacritics(word)) for word in written]
    marked = [(word, plain) for word, plain in marked if plain != word]
    if not marked:  # undiacritized: ours carries the vowels
        return phrase
    tokens = phrase.split(" ")
    for word, plain in marked:
        for index, token in enumerate(tokens):
            if strip_diacritics(token) == plain:
                tokens[index] = word
                break
    return " ".join(tokens)


def with_following_word(
    raw: str, value: int | None, following: tuple[str, int], text: str, case: N.Case
) -> tuple[str, int] | None:
    """A number read together with the word after it: a currency, a counted noun
    from the lexicon, or (for 1 and 2) an unknown noun. None if the next word is
    none of those; the second value is where the reading ends."""
    word, word_end = following
    if L.is_currency_word(word):
        second = next_word(text, word_end)
        found, length = L.find_currency(word, second[0] if second else None)  # type: ignore[misc]
        if length == 2:
            written, word_end = [word, second[0]], second[1]  # type: ignore[index]
        else:
            written = [word]
        return _keep_written(money(raw, found, case=case), written), word_end
    noun = nouns.find(word)
    if noun is not None and nouns.is_dual(word, noun) and value != 2:
        return None  # "20 حربين" does not count wars; the dual is its own count
    if noun is not None:
        if noun.scale:
            return _keep_written(_scale_words(raw, noun, text, word_end, case), [word]), word_end
        return _keep_written(counted(raw, noun, case=case), [word]), word_end
    if value not in (1, 2) or not _is_counted_noun(word):
        return None
    base = word.rstrip("\u064b\u064c\u064d\u064e\u064f\u0650\u0652")
    if value == 1:
        one = "وَاحِد" if nouns.guess_gender(word) == "m" else "وَاحِدَة"
        return base + " " + one, word_end
    dual = nouns.guess_dual(word, case)
    return (dual, word_end) if dual is not None else None


def counted_noun_after(text: str, end: int) -> bool:
    """True if the word after ``end`` is a lexicon noun a number could count."""
    following = next_word(text, end)
    if following is None:
        return False
    noun = nouns.find(following[0])
    return noun is not None and not nouns.is_dual(following[0], noun)


def with_suffix(raw: str, suffix: str, *, case: N.Case) -> str:
    """A number with %, a currency symbol/code or a unit abbreviation after it."""
    if suffix == "%":
        return spell(raw, case=case) + " بِالْمِئَة"
    if suffix in L.CURRENCIES:
        return money(raw, L.CURRENCIES[suffix], case=case)
    return counted(raw, L.UNITS[suffix], case=case)
