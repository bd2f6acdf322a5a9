"""Which diacritics can stand where: find and repair marks no Arabic word can carry.

A statistical diacritizer guesses one mark per letter and sometimes guesses
what the writing system does not allow: tanween in the middle of a word
("مرحبا" -> maranhabanan), a vowel on a long alef, a shadda on the first letter
of a word. ``make_possible`` repairs such marks with the smallest change (a
tanween becomes its short vowel, other impossible marks are dropped) and
``impossible_marks`` lists them, for tests and benchmarks. Both work on
normalized text (shadda written before the vowel).

The rules, for each letter of a word (a run of Arabic letters and their marks):

- marks only on letters (none after a space, a digit or punctuation);
- at most one of vowel / tanween / sukun, at most one shadda, never shadda
  with sukun, at most one dagger alef;
- tanween only on the last letter, or on the letter before a final ا or ى;
  never after the article with an assimilated sun letter (الشَّمْسٌ);
- no shadda and no sukun on the first letter of a word;
- no mark on a word-initial alef that starts the article (ال), none on a long
  alef inside a word (only fathatan on a final اً), no sukun on ى, no shadda on ة.
"""

from __future__ import annotations

import re

from natiq.text import chars as C

_CLUSTER = re.compile("(.)([\u064b-\u0652\u0670]*)", re.DOTALL)
_VOWELS = frozenset(C.SHORT_VOWELS)
_TANWEEN = {C.FATHATAN: C.FATHA, C.DAMMATAN: C.DAMMA, C.KASRATAN: C.KASRA}
_LETTERS = C.LETTERS | C.EXTRA_LETTERS
_PREFIXES = frozenset("وفبكل")


def _words(clusters: list[tuple[str, str]]) -> list[list[int]]:
    """Indices of the clusters of each word (runs of Arabic letters)."""
    words: list[list[int]] = []
    current: list[int] = []
    for index, (base, _) in enumerate(clusters):
        if base in _LETTERS:
            current.append(index)
        elif current:
            words.append(current)
            current = []
    if current:
        words.append(current)
    return words


def _is_article_alef(word: list[int], position: int, clusters: list[tuple[str, str]]) -> bool:
    """The alef at ``position`` of ``word`` starts the article (ال, وَال, بِال ...)."""
    if clusters[word[position]][0] != C.ALEF or position + 1 >= len(word):
        return False
    if clusters[word[position + 1]][0] != C.LAM:
        return False
    return position == 0 or (position == 1 and clusters[word[0]][0] in _PREFIXES)


def _has_sun_article(word: list[int], clusters: list[tuple[str, str]]) -> bool:
    """ال + a sun letter written with shadda: certainly the article (no tanween possible)."""
    bases = [clusters[index][0] for index in word]
    start = 1 if len(bases) > 3 and bases[0] in _PREFIXES and bases[1] == C.ALEF else 0
    if bases[start : start + 2] != [C.ALEF, C.LAM] or len(bases) < start + 4:
        return False
    return bases[start + 2] in C.SUN_LETTERS and C.SHADDA in clusters[word[start + 2]][1]


def _allowed(marks: str, *, first: bool, tanween_ok: bool, base: str, article: bool) -> str:
    """The marks of one letter with every impossible one repaired."""
    if not marks:
        return marks
    if article:
        return ""
    shadda = C.SHADDA in marks and not first and base != C.TEH_MARBUTA
    dagger = C.DAGGER_ALEF in marks
    vowel = ""
    for mark in marks:
        if mark in _TANWEEN:
            vowel = mark if tanween_ok else _TANWEEN[mark]
            break
        if mark in _VOWELS or (mark == C.SUKUN and not shadda and not first):
            vowel = mark
            break
    if base == C.ALEF:
        return C.FATHATAN if vowel == C.FATHATAN and tanween_ok else ""
    if base == C.ALEF_MAKSURA and vowel == C.SUKUN:
        vowel = ""
    return (C.SHADDA if shadda else "") + vowel + (C.DAGGER_ALEF if dagger else "")


def _repair(text: str) -> list[tuple[str, str, str]]:
    """(base, marks as written, marks allowed) for every character cluster of ``text``."""
    clusters = _CLUSTER.findall(text)
    allowed = [(base, marks, "" if base not in _LETTERS else marks) for base, marks in clusters]
    for word in _words(clusters):
        sun_article = _has_sun_article(word, clusters)
        last = len(word) - 1
        for position, index in enumerate(word):
            base, marks = clusters[index]
            following = clusters[word[position + 1]][0] if position < last else ""
            tanween_ok = not sun_article and (
                position == last or (position == last - 1 and following in (C.ALEF, C.ALEF_MAKSURA))
            )
            if base == C.ALEF and position != last:
                tanween_ok = False
            fixed = _allowed(
                marks,
                first=position == 0,
                tanween_ok=tanween_ok,
                base=base,
                article=_is_article_alef(word, position, clusters),
            )
            allowed[index] = (base, marks, fixed)
    return allowed


def make_possible(text: str) -> str:
    """``text`` with every impossible mark repaired (see the module docstring); idempotent."""
    return "".join(base + fixed for base, _, fixed in _repair(text))


def impossible_marks(text: str) -> list[str]:
    """A description of each cluster whose marks break a rule (empty when all are possible)."""
    return [
        f"{base}{marks!r} -> {base}{fixed!r}"
        for base, marks, fixed in _repair(text)
        if marks != fixed
    ]
