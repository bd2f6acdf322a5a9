"""Arabic number words with the agreement a reader expects, fully diacritized.

``cardinal(n, gender=..., case=...)`` spells integers up to 10^15 - 1,
``count(n, noun)`` spells "n nouns" with the counted-noun rules of Modern
Standard Arabic (1: noun + واحد, 2: the noun's dual, 3-10: the number with
the *opposite* gender of the noun's singular + genitive plural, 11-99: number
+ accusative singular, round hundreds/thousands: number + genitive singular,
with a dual number word in the construct state: مِئَتَا دُولَار), ``ordinal(n)``
the definite ordinals ("the n-th", agreeing with the noun they describe),
``definite_cardinal`` the numbers with the article ("الأربع والعشرين ساعة")
and ``fraction`` the fraction words (ثُلُث, ثَلَاثَة أَرْبَاع).

Words carry their internal diacritics but end in the pausal form (no final
case vowel), because the case of a number depends on syntax this stage does
not parse; the endings that are letters - duals (ـَان/ـَيْن) and the tens
(ـُون/ـِين) - follow ``case``: "nom" or "gen" (genitive *or* accusative; the
two share these endings). Pure data + small functions; ``natiq.text.verbalize``
finds numbers in text and decides gender and case from the words around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Gender = Literal["m", "f"]
Case = Literal["nom", "gen"]

ZERO = "صِفْر"
DIGIT_NAMES = ["صِفْر", "وَاحِد", "اثْنَان", "ثَلَاثَة", "أَرْبَعَة", "خَمْسَة", "سِتَّة", "سَبْعَة", "ثَمَانِيَة", "تِسْعَة"]

# 1-10 with a masculine counted noun (and when counting abstractly): 3-10 take ة.
_ONES_M = ["", "وَاحِد", "اثْنَان", "ثَلَاثَة", "أَرْبَعَة", "خَمْسَة", "سِتَّة", "سَبْعَة", "ثَمَانِيَة", "تِسْعَة", "عَشَرَة"]
_ONES_F = ["", "وَاحِدَة", "اثْنَتَان", "ثَلَاث", "أَرْبَع", "خَمْس", "سِتّ", "سَبْع", "ثَمَانِي", "تِسْع", "عَشْر"]
_TWO_GEN = {"m": "اثْنَيْن", "f": "اثْنَتَيْن"}
_TEENS_M = [
    "",
    "أَحَدَ عَشَرَ",
    "اثْنَا عَشَرَ",
    "ثَلَاثَةَ عَشَرَ",
    "أَرْبَعَةَ عَشَرَ",
    "خَمْسَةَ عَشَرَ",
    "سِتَّةَ عَشَرَ",
    "سَبْعَةَ عَشَرَ",
    "ثَمَانِيَةَ عَشَرَ",
    "تِسْعَةَ عَشَرَ",
]
_TEENS_F = [
    "",
    "إِحْدَى عَشْرَةَ",
    "اثْنَتَا عَشْرَةَ",
    "ثَلَاثَ عَشْرَةَ",
    "أَرْبَعَ عَشْرَةَ",
    "خَمْسَ عَشْرَةَ",
    "سِتَّ عَشْرَةَ",
    "سَبْعَ عَشْرَةَ",
    "ثَمَانِيَ عَشْرَةَ",
    "تِسْعَ عَشْرَةَ",
]
_TWELVE_GEN = {"m": "اثْنَيْ عَشَرَ", "f": "اثْنَتَيْ عَشْرَةَ"}
_TENS_NOM = ["", "", "عِشْرُون", "ثَلَاثُون", "أَرْبَعُون", "خَمْسُون", "سِتُّون", "سَبْعُون", "ثَمَانُون", "تِسْعُون"]
_TENS_GEN = ["", "", "عِشْرِين", "ثَلَاثِين", "أَرْبَعِين", "خَمْسِين", "سِتِّين", "سَبْعِين", "ثَمَانِين", "تِسْعِين"]
_HUNDREDS_NOM = [
    "",
    "مِئَة",
    "مِئَتَان",
    "ثَلَاثُمِئَة",
    "أَرْبَعُمِئَة",
    "خَمْسُمِئَة",
    "سِتُّمِئَة",
    "سَبْعُمِئَة",
    "ثَمَانِمِئَة",
    "تِسْعُمِئَة",
]
_HUNDREDS_GEN = [
    "",
    "مِئَة",
    "مِئَتَيْن",
    "ثَلَاثِمِئَة",
    "أَرْبَعِمِئَة",
    "خَمْسِمِئَة",
    "سِتِّمِئَة",
    "سَبْعِمِئَة",
    "ثَمَانِمِئَة",
    "تِسْعِمِئَة",
]

AND = "وَ"
_SUN_LETTERS = frozenset("تثدذرزسشصضطظلن")
_MARKS = frozenset("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670")


@dataclass(frozen=True)
class Noun:
    """The forms of a counted noun (pausal, diacritized)."""

    singular: str
    dual: str  # nominative
    dual_gen: str
    plural: str  # after 3-10 (genitive plural)
    accusative: str  # singular accusative with tanween, after 11-99
    gender: Gender = "m"
    #: a number word (أَلْف, مِلْيُون): "1 مليون" is مِلْيُون, not مِلْيُون وَاحِد
    scale: bool = False

    def construct_dual(self, case: Case) -> str:
        """The dual before a genitive noun: مِلْيُونَا نَسَمَة, ثُلُثَيْ الْعَمَل (the ن drops)."""
        dual = self.dual if case == "nom" else self.dual_gen
        head, space, rest = dual.partition(" ")
        if head.endswith("ن"):
            head = head[:-1]
        return head + space + rest


def dual_genitive(dual: str) -> str:
    """The genitive/accusative of a dual phrase: every word's final ـان becomes ـيْن."""
    words = []
    for word in dual.split(" "):
        if word.endswith("آن"):  # خَطَآن -> خَطَأَيْن
            word = word[:-2] + "أَيْن"
        elif word.endswith("َان"):
            word = word[:-3] + "َيْن"
        elif word.endswith("ان"):
            word = word[:-2] + "يْن"
        words.append(word)
    return " ".join(words)


SCALES = [
    Noun("أَلْف", "أَلْفَان", "أَلْفَيْن", "آلَاف", "أَلْفًا", "m", True),
    Noun("مِلْيُون", "مِلْيُونَان", "مِلْيُونَيْن", "مَلَايِين", "مِلْيُونًا", "m", True),
    Noun("مِلْيَار", "مِلْيَارَان", "مِلْيَارَيْن", "مِلْيَارَات", "مِلْيَارًا", "m", True),
    Noun("تِرِلْيُون", "تِرِلْيُونَان", "تِرِلْيُونَيْن", "تِرِلْيُونَات", "تِرِلْيُونًا", "m", True),
]
MAX_CARDINAL = 1000 ** (len(SCALES) + 1) - 1
#: digit strings longer than this are read digit by digit (never converted to int)
MAX_DIGITS = len(str(MAX_CARDINAL))
_CONSTRUCT = {
    "مِئَتَان": "مِئَتَا",
    "مِئَتَيْن": "مِئَتَيْ",
    **{scale.dual: scale.construct_dual("nom") for scale in SCALES},
    **{scale.dual_gen: scale.construct_dual("gen") for scale in SCALES},
}


def _join(parts: list[str]) -> str:
    return (" " + AND).join(part for part in parts if part)


def _below_hundred(n: int, gender: Gender, case: Case) -> str:
    if n <= 10:
        if n == 2 and case == "gen":
            return _TWO_GEN[gender]
        return (_ONES_M if gender == "m" else _ONES_F)[n]
    if n < 20:
        if n == 12 and case == "gen":
            return _TWELVE_GEN[gender]
        return (_TEENS_M if gender == "m" else _TEENS_F)[n - 10]
    tens = (_TENS_NOM if case == "nom" else _TENS_GEN)[n // 10]
    unit = n % 10
    if unit == 0:
        return tens
    if unit == 1:
        unit_word = "وَاحِد" if gender == "m" else "إِحْدَى"
    else:
        unit_word = _below_hundred(unit, gender, case)
    return unit_word + " " + AND + tens


def _below_thousand(n: int, gender: Gender, case: Case) -> str:
    hundreds = (_HUNDREDS_NOM if case == "nom" else _HUNDREDS_GEN)[n // 100]
    rest = _below_hundred(n % 100, gender, case) if n % 100 else ""
    return _join([hundreds, rest])


@lru_cache(maxsize=4096)
def cardinal(n: int, *, gender: Gender = "m", case: Case = "nom") -> str:
    """Spell a non-negative integer (< 10^15). ``gender`` is the counted noun's gender."""
    if n < 0:
        raise ValueError("cardinal() takes a non-negative integer; use verbalize_number for signs")
    if n > MAX_CARDINAL:
        raise ValueError(f"cardinal() spells integers up to {MAX_CARDINAL}")
    if n == 0:
        return ZERO
    parts: list[str] = []
    for index in range(len(SCALES), 0, -1):
        group = (n // 1000**index) % 1000
        if group:
            parts.append(count(group, SCALES[index - 1], case=case, with_one=False))
    if n % 1000:
        parts.append(_below_thousand(n % 1000, gender, case))
    return _join(parts)


def _construct(words: str) -> str:
    """Put a final dual (200, 2000, ...) into the construct state before a noun."""
    for dual, construct in _CONSTRUCT.items():
        if words.endswith(dual):
            return words[: -len(dual)] + construct
    return words


def count(
    n: int, noun: Noun, *, case: Case = "nom", with_one: bool = True, construct: bool = False
) -> str:
    """Spell "n nouns" with the counted-noun rules (see the module docstring).

    ``with_one`` adds وَاحِد/وَاحِدَة after a single noun ("دُولَار وَاحِد");
    scale words (أَلْف, مِلْيُون) never take it. ``construct`` says the phrase
    is followed by a genitive noun ("مِلْيُونَا نَسَمَة", "أَحَدَ عَشَرَ مِلْيُون دُولَار"):
    a dual loses its ن and the accusative after 11-99 loses its tanween.
    """
    if n == 0:
        return ZERO + " " + noun.singular
    if n == 1:
        if not with_one or noun.scale:
            return noun.singular
        return noun.singular + " " + ("وَاحِد" if noun.gender == "m" else "وَاحِدَة")
    if n == 2:
        if construct:
            return noun.construct_dual(case)
        return noun.dual if case == "nom" else noun.dual_gen
    number = cardinal(n, gender=noun.gender, case=case)
    rest = n % 100
    if 3 <= rest <= 10 or n <= 10:
        return number + " " + noun.plural
    if 11 <= rest <= 99:
        return number + " " + (noun.singular if construct else noun.accusative)
    return _construct(number) + " " + noun.singular


def with_article(word: str) -> str:
    """``word`` with the definite article, diacritized (الثَّلَاثَة, الْأَرْبَع, الِاثْنَان)."""
    first = word[0]
    if first == "ا":  # hamzat al-wasl: the lam takes a kasra
        return "الِ" + word
    if first in _SUN_LETTERS:
        rest = word[1:]
        if rest[:1] == "\u0651":  # already doubled
            return "ال" + word
        return "ال" + first + "\u0651" + rest
    return "الْ" + word


def definite(words: str) -> str:
    """A spelled number with the article on each of its parts: الْأَرْبَع وَالْعِشْرِين."""
    parts = words.split(" " + AND)
    return (" " + AND).join(with_article(part) for part in parts)


def definite_cardinal(n: int, *, gender: Gender = "m", case: Case = "nom") -> str:
    """``cardinal`` with the article: "خلال الـ24 ساعة" -> الْأَرْبَع وَالْعِشْرِين."""
    return definite(cardinal(n, gender=gender, case=case))


_ORDINALS_M = [
    "",
    "الْأَوَّل",
    "الثَّانِي",
    "الثَّالِث",
    "الرَّابِع",
    "الْخَامِس",
    "السَّادِس",
    "السَّابِع",
    "الثَّامِن",
    "التَّاسِع",
    "الْعَاشِر",
]
_ORDINALS_F = [
    "",
    "الْأُولَى",
    "الثَّانِيَة",
    "الثَّالِثَة",
    "الرَّابِعَة",
    "الْخَامِسَة",
    "السَّادِسَة",
    "السَّابِعَة",
    "الثَّامِنَة",
    "التَّاسِعَة",
    "الْعَاشِرَة",
]


@lru_cache(maxsize=4096)
def ordinal(n: int, *, gender: Gender = "m", case: Case = "gen") -> str:
    """Definite ordinal ("the n-th") agreeing with its noun's gender.

    ``case`` only changes the tens (الْخَامِس وَالْعِشْرُون / وَالْعِشْرِين); from 100
    on the round part is a definite cardinal: الْمِئَة وَالْخَامِسَة.
    """
    if n <= 0:
        raise ValueError("ordinal() takes a positive integer")
    table = _ORDINALS_M if gender == "m" else _ORDINALS_F
    if n <= 10:
        return table[n]
    if n < 20:
        unit = n - 10
        if gender == "m":
            first = "الْحَادِي" if unit == 1 else table[unit]
            return first + " عَشَرَ" if first.endswith("ِي") else first + "َ عَشَرَ"
        first = "الْحَادِيَة" if unit == 1 else table[unit]
        return first + "َ عَشْرَةَ"
    if n < 100:
        unit = n % 10
        tens = with_article((_TENS_NOM if case == "nom" else _TENS_GEN)[n // 10])
        if unit == 0:
            return tens
        first = ("الْحَادِي" if gender == "m" else "الْحَادِيَة") if unit == 1 else table[unit]
        return first + " " + AND + tens
    round_part = definite_cardinal(n - n % 100, gender=gender, case=case)
    if n % 100 == 0:
        return round_part
    return round_part + " " + AND + ordinal(n % 100, gender=gender, case=case)


# Fractions with a denominator of 2-10: (singular, dual, plural) of the part's name.
_FRACTIONS = {
    2: ("نِصْف", "نِصْفَان", "أَنْصَاف"),
    3: ("ثُلُث", "ثُلُثَان", "أَثْلَاث"),
    4: ("رُبْع", "رُبْعَان", "أَرْبَاع"),
    5: ("خُمُس", "خُمُسَان", "أَخْمَاس"),
    6: ("سُدُس", "سُدُسَان", "أَسْدَاس"),
    7: ("سُبُع", "سُبُعَان", "أَسْبَاع"),
    8: ("ثُمُن", "ثُمُنَان", "أَثْمَان"),
    9: ("تُسُع", "تُسُعَان", "أَتْسَاع"),
    10: ("عُشْر", "عُشْرَان", "أَعْشَار"),
}
FRACTION_DENOMINATORS = frozenset(_FRACTIONS)


def fraction(
    numerator: int, denominator: int, *, case: Case = "nom", construct: bool = False
) -> str:
    """A proper fraction with a denominator of 2-10 in words: 3/4 -> ثَلَاثَة أَرْبَاع.

    The part's name is a masculine noun counted like any other (1: رُبْع, 2: the
    dual ثُلُثَان, 3-9: ثَلَاثَة أَرْبَاع); ``construct`` before a genitive noun
    (ثُلُثَا السُّكَّان).
    """
    if denominator not in _FRACTIONS or not 0 < numerator < denominator:
        raise ValueError(
            f"fraction() spells n/d with d in 2..10 and 0 < n < d, not {numerator}/{denominator}"
        )
    singular, dual, plural = _FRACTIONS[denominator]
    part = Noun(singular, dual, dual_genitive(dual), plural, singular + "ًا")
    return count(numerator, part, case=case, with_one=False, construct=construct)


def digits(text: str) -> str:
    """Read a string of digits one by one ("0501" -> صِفْر خَمْسَة صِفْر وَاحِد)."""
    return " ".join(DIGIT_NAMES[ord(ch) - 48] for ch in text if "0" <= ch <= "9")


def decimal(integer_part: str, fraction: str, *, gender: Gender = "m", case: Case = "nom") -> str:
    """``3.05`` -> ثَلَاثَة فَاصِلَة صِفْر خَمْسَة (leading zeros of the fraction are read).

    Parts longer than ``MAX_DIGITS`` digits are read digit by digit.
    """
    if len(integer_part) > MAX_DIGITS:
        whole = digits(integer_part)
    else:
        whole = cardinal(int(integer_part), gender=gender, case=case)
    if not fraction:
        return whole
    tail = fraction.lstrip("0")
    words = [ZERO] * (len(fraction) - len(tail))
    if tail:
        words.append(cardinal(int(tail), case=case) if len(tail) <= MAX_DIGITS else digits(tail))
    return whole + " فَاصِلَة " + " ".join(words)
