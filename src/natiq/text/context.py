"""What the few words around a number say about how to read it.

The verbalizer does not parse sentences. It looks at up to three words before a
number (never across punctuation or another number) and decides:

- the case of the number's variable endings (duals, the tens): oblique
  (genitive/accusative) after a preposition (في 20 -> فِي عِشْرِين), after an
  indefinite noun of measure that governs it in a construct (بنسبة, بسرعة,
  بمبلغ, عام, سنة) and after a transitive verb of measure or counting within
  three words (بلغ عدد السكان 20 مليونا, اشتريت 2 كتاب); nominative otherwise,
  and always after هناك/لدي/عنده, which announce a delayed subject.
- the head noun an ordinal describes ("الطبعة الـ2": the word before).
- rating context ("تقييم 4/5") and date context ("يوم 3/4").

Every lookup is a set membership on a short window, so verbalization stays
linear in the length of the text.
"""

from __future__ import annotations

import re
from importlib.resources import files

from natiq.text import nouns
from natiq.text.normalize import strip_diacritics
from natiq.text.numbers import Case, Gender


def _word_lists() -> dict[str, frozenset[str]]:
    """``data/context_words.tsv``: name -> the words listed under it."""
    text = files("natiq.text").joinpath("data/context_words.tsv").read_text(encoding="utf-8")
    lists: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, words = line.partition("\t")
            lists.setdefault(name, set()).update(words.split())
    return {name: frozenset(words) for name, words in lists.items()}


WORDS = _word_lists()
PREPOSITIONS = WORDS["prepositions"]
GOVERNING_NOUNS = WORDS["governing_nouns"]
TRANSITIVE_VERBS = WORDS["transitive_verbs"]
SUBJECT_MARKERS = WORDS["subject_markers"]
RATING_WORDS = WORDS["rating_words"]
DATE_WORDS = WORDS["date_words"]

_ARABIC_WORD = re.compile(r"[\u0621-\u063a\u0641-\u064a\u0671-\u06d3]+")
_ARABIC_TAIL = re.compile(
    r"(?<=[^\u0621-\u063a\u0641-\u064a\u0671-\u06d3\d])[\u0621-\u063a\u0641-\u064a\u0671-\u06d3]+$"
)
_WINDOW = 48
_CONJUNCTIONS = frozenset("وف")


def words_before(text: str, start: int, limit: int = 3) -> list[str]:
    """Up to ``limit`` words before ``start`` (nearest first, without diacritics),
    stopping at punctuation, digits or anything that is not an Arabic word.
    A lone و/ف (a conjunction written apart or glued to the number) is skipped."""
    pieces = strip_diacritics(text[max(0, start - _WINDOW) : start]).split()
    words: list[str] = []
    for piece in reversed(pieces):
        if _ARABIC_WORD.fullmatch(piece) is None:
            tail = _ARABIC_TAIL.search(piece)  # "«السعر": the word, then stop
            if tail is not None and len(words) < limit:
                words.append(tail.group(0))
            break
        if piece in _CONJUNCTIONS and not words:
            continue
        words.append(piece)
        if len(words) == limit:
            break
    return words


def _without_clitics(word: str) -> str:
    if word[:1] not in "وفبلك":
        return word
    for prefix in ("وب", "ول", "فب", "و", "ف", "ب", "ل", "ك"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


# Every written form of a listed verb: with و/ف before it and a subject suffix
# after it (انتظرنا, فدفعوا), so that a lookup is one set membership.
_VERB_FORMS = frozenset(
    conjunction + verb + suffix
    for verb in TRANSITIVE_VERBS
    for conjunction in ("", "و", "ف")
    for suffix in ("", "ت", "نا", "وا", "تم", "تما")
)


def case_of(words: list[str]) -> Case:
    """The case of a number preceded by ``words`` (nearest first; see the module docstring)."""
    if not words:
        return "nom"
    first = words[0]
    if (
        first in PREPOSITIONS
        or first in GOVERNING_NOUNS
        or _without_clitics(first) in GOVERNING_NOUNS
    ):
        return "gen"
    for word in words:
        if word in SUBJECT_MARKERS or word in PREPOSITIONS:
            return "nom"
        if word in _VERB_FORMS:
            return "gen"
    return "nom"


# "4 مدارس و2": a number joined by و to an earlier number and its noun.
_COORDINATED = re.compile(r"(\d[\d,.]*)\s?[\u0621-\u064a\u064b-\u0652]+\s+و\s?$")


def case_before(text: str, start: int, words: list[str] | None = None, *, depth: int = 0) -> Case:
    """The case of the number that starts at ``start`` (``words``: its
    ``words_before``, if already known); a number coordinated with an earlier
    counted number ("يضم الحي 4 مدارس و2 مستشفى") shares its case."""
    if words is None:
        words = words_before(text, start)
    joined = text[start - 1 : start] == "و" or text[start - 2 : start] == "و "
    if joined and depth < 3 and len(words) <= 1:
        coordinated = _COORDINATED.search(text, max(0, start - _WINDOW), start)
        if coordinated is not None:
            return case_before(text, coordinated.start(1), depth=depth + 1)
    return case_of(words)


def any_of(words: list[str], vocabulary: frozenset[str]) -> bool:
    """True if one of ``words`` (or it without a و/ب/ل/ك prefix) is in ``vocabulary``."""
    return any(word in vocabulary or _without_clitics(word) in vocabulary for word in words)


# Definite nouns after which a bare number is an ordinal ("القرن 19", "الدقيقة 90").
ORDINAL_HEADS: dict[str, Gender] = {
    **dict.fromkeys(WORDS["ordinal_heads_m"], "m"),
    **dict.fromkeys(WORDS["ordinal_heads_f"], "f"),
}


_ARTICLES = ("وبال", "وال", "بال", "فال", "كال", "لل", "ال")


def ordinal_head(word: str) -> Gender | None:
    """The gender of ``word`` if it is a definite ordinal head ("القرن", "بالدورة")."""
    if not word.startswith(_ARTICLES):
        return None
    stem = word
    for prefix in _ARTICLES:
        if stem.startswith(prefix):
            stem = stem[len(prefix) :]
            break
    else:
        return None
    return ORDINAL_HEADS.get(stem) or ORDINAL_HEADS.get(stem.replace("ة", "ه"))


def head_gender(word: str) -> Gender:
    """The gender of the noun an ordinal describes (the word before it)."""
    if word in PREPOSITIONS or word in WORDS["function_words"]:
        return "m"
    gender = ordinal_head(word)
    if gender is not None:
        return gender
    noun = nouns.head_noun(word)
    if noun is not None:
        return noun.gender
    stem = word
    for prefix in ("وبال", "وال", "بال", "فال", "كال", "لل", "ال"):
        if stem.startswith(prefix):
            stem = stem[len(prefix) :]
            break
    return nouns.guess_gender(stem)


_POSSESSIVE = ("ه", "ها", "هم", "هما", "هن", "ي", "نا", "ك", "كم")


def head_case(text: str, start: int) -> Case:
    """The case of an ordinal: that of its head noun, the word before ``start``.

    A head with a preposition glued to it is genitive (بالذكرى, لعامه, بعيدها), and
    so is a possessed head after such a word (بعيد ميلاده: the ordinal describes
    the first noun of the construct)."""
    words = words_before(text, start, limit=4)
    if not words:
        return "nom"
    head = words[0]
    if head.startswith(("بال", "لل", "كال", "وبال")):
        return "gen"
    possessed = head.endswith(_POSSESSIVE) and len(head) >= 4
    if possessed and head[0] in "بلك" and len(head) >= 5:
        return "gen"
    if possessed and len(words) > 1 and words[1][0] in "بلك" and len(words[1]) >= 4:
        return "gen"
    return case_of(words[1:])
