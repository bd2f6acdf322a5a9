"""How diacritized Arabic is read aloud: the rules between the spelling and the sounds.

Written Arabic spells every word as if it stood alone; read aloud, words run
together and stop differently. This module rewrites normalized Arabic script
into a spelling of what is actually said, still in Arabic script, so that every
phonetic scheme (``arabizi``, ``latin`` and espeak-ng's ``ipa``) reads the same
thing. Buckwalter never goes through it: it transliterates what is written.

Rules, in the order they run:

1. Spelling: the undiacritized relative pronouns (الذي ...) get their shadda;
   ى carrying a vowel or shadda is a consonant y (لَدَىَّ -> لَدَيَّ); a shadda or
   vowel written on a long alef belongs to the letter before it (إِلاَّ -> إِلَّا);
   a shadda on the first letter of a word (Uthmani idgham, هُدًى لِّلْمُتَّقِينَ)
   assimilates the previous word's tanwin or final consonant.
2. Hamzat al-wasl: after a prefix's vowel the wasl alef is silent (بِاسْمِ ->
   bismi); across words, after a word that ends in a vowel, the wasl
   alef is silent and a final long vowel shortens (فِي الْمَدِينَةِ -> fil-madeenati);
   tanwin and a final sukun take a helping vowel first (كِتَابٌ الْ -> kitaabunil-,
   مِنْ الْ -> minal-). The article and Allah are joined to the previous word
   with ``JOIN``; other wasl words keep their space (قَالَ ابْنُهُ -> qaala bnuhu).
3. Pausal forms (waqf), only with ``pausal=True``: the last word before
   ``. ! ? , ; : … ، ؛ ؟`` or the end of the text loses its case vowel and
   tanween; fathatan on alef is a long a; ta marbuta is h (مَدْرَسَةٌ. -> madrasah).

Everything is a whole-text regex or ``str.replace`` pass guarded by a cheap
substring test, plus one short Python step per pause, so the cost stays linear
and small. Text whose words carry no marks keeps its spelling except where a
rule needs no marks to be sure (a final long vowel before the article).
"""

from __future__ import annotations

import re

from natiq.text import chars as C
from natiq.text.normalize import shadda_first

#: Joins the article or Allah to the word before it after an elided wasl alef.
#: A private-use character: never in normalized text, removed by every scheme.
JOIN = "\ue001"

_LETTER = "\u0621-\u063a\u0641-\u064a\u0671-\u06d3"
_MARK = "\u064b-\u0652\u0670"
_WORD_CHAR = _LETTER + _MARK
_WORD_END = f"(?![{_WORD_CHAR}])"

# -- 1. spelling --------------------------------------------------------------

# Undiacritized relative pronouns look like article + sun letter (الذي is not
# adh-dhii); they are spelled with one lam + shadda.
_RELATIVES = {
    word: shadda_first(spelled)
    for word, spelled in {
        "الذي": "ال\u064e\u0651ذِي",
        "التي": "ال\u064e\u0651تِي",
        "الذين": "ال\u064e\u0651ذِينَ",
        "اللذان": "الل\u064e\u0651ذَانِ",
        "اللتان": "الل\u064e\u0651تَانِ",
    }.items()
}
_RELATIVE = re.compile("ال(?:" + "|".join(word[2:] for word in _RELATIVES) + f"){_WORD_END}")
# ى with a vowel or shadda is the old spelling of a final consonant ي.
_YEH_MAKSURA_VOWELLED = re.compile("ى(?=[\u064e-\u0651])")
# A shadda or short vowel written after a long alef (the lam-alef ligature
# puts it there) belongs to the letter before the alef.
_MARK_ON_ALEF = re.compile(f"([{_LETTER}])ا(\u0651?[\u064e-\u0650]|\u0651)")
_ALEF_WITH_MARK = re.compile("ا[\u064e-\u0651]")  # one scan instead of four ``in`` tests
_MARK_ON_ALEF_AFTER_MARK = re.compile(f"(?<=[{_MARK}])ا(?:\u0651?[\u064e-\u0650]|\u0651)")
# Uthmani idgham: a shadda on the first letter of a word (after a space).
_SHADDA_AFTER_SPACE = re.compile(f" ([{_LETTER}])\u0651")
_TANWEEN_VOWEL = {C.FATHATAN: C.FATHA, C.DAMMATAN: C.DAMMA, C.KASRATAN: C.KASRA}

# A fatha before a dagger alef is part of its long a (espeak-ng reads two vowels).
_FATHA_DAGGER = C.FATHA + C.DAGGER_ALEF

# -- 2. hamzat al-wasl (after a prefix, and across words) ----------------------

# After a prefix's vowel the wasl alef is silent (بِاسْمِ -> bismi, وَاسْتَمَعَ ->
# wastama3a); a long aa is never followed by a consonant with sukun inside a word.
# The article after a prefix (بِالْ) is left to each scheme.
_WASL_AFTER_PREFIX = re.compile(f"ا(?<=[\u064e-\u0650]ا)(?=[^ل{_MARK}]\u0652[{_LETTER}])")

# A wasl word after a space: the article or Allah ("ال..."), a wasl alef before a
# consonant with sukun, or the wasla sign ٱ itself.
_WASL_START = re.compile(f" (?:(?P<article>[اٱ])(?=ل)|ٱ|ا(?=[{_LETTER}]\u0652))")
# The most common case, a short vowel before the space, needs no look at the
# word: two C-level passes do it before the general loop.
_AFTER_SHORT_VOWEL = [
    (re.compile(" (?<=[\u064e-\u0650] )[اٱ](?=ل)"), JOIN),
    (re.compile(f" (?<=[\u064e-\u0650] )(?:ٱ|ا(?=[{_LETTER}]\u0652))"), " "),
]
_LETTERS = C.LETTERS
_WORD_CHARS = C.LETTERS | C.DIACRITIC_SET
_HELPING = C.FATHA + "ن" + C.KASRA
_SHORT_VOWELS = frozenset(C.SHORT_VOWELS)


def _wasl_ending(tail: str) -> tuple[int, str] | None:
    """How a word ending in ``tail`` runs into a wasl: (characters to cut, new ending) or None.

    ``tail`` is the last five characters before the space (padded with spaces).
    Tanwin sounds its nun with a helping kasra (كِتَابٌ -> كِتَابُنِ); a long vowel
    shortens (فِي -> فِ, also undiacritized في); a sukun takes a helping vowel (a
    after مِنْ, u after the plural pronouns ـهُمْ ـكُمْ ـتُمْ, i otherwise); a short
    vowel already runs on. A bare consonant (undiacritized) gives no answer.
    """
    last, before, third = tail[4], tail[3], tail[2]
    if last in _TANWEEN_VOWEL:
        cut = 2 if before == C.ALEF and last == C.FATHATAN else 1
        return cut, _TANWEEN_VOWEL[last] + "ن" + C.KASRA
    if last in _SHORT_VOWELS:
        return 0, ""
    if last == C.ALEF or last == C.ALEF_MAKSURA:
        if before == C.FATHATAN:
            return 2, _HELPING
        if before == C.FATHA:
            return 2, C.FATHA
        if before == C.WAW and third == C.DAMMA:
            return 3, C.DAMMA
        if before == C.WAW and third in _LETTERS:
            return 2, C.DAMMA
        return (1, C.FATHA) if before in _LETTERS else None
    if last == C.YEH or last == C.WAW:
        vowel = C.KASRA if last == C.YEH else C.DAMMA
        if before == vowel:
            return 2, vowel
        return (1, vowel) if before in _LETTERS else None
    if last == C.SUKUN and before in _LETTERS:
        if tail[1:] == "مِنْ" and tail[0] not in _WORD_CHARS:
            return 1, C.FATHA
        if before == "م" and third in (C.DAMMA, C.KASRA) and tail[1] in "هكت":
            return 1, C.DAMMA
        return 1, C.KASRA
    return None


def elide_wasl(text: str) -> str:
    """Hamzat al-wasl after a word that ends in a vowel (or can take one): the alef is silent.

    The article and Allah are joined to that word with ``JOIN``; other wasl
    words keep their space and lose their alef (قَالَ ابْنُهُ -> قَالَ بْنُهُ).
    """
    for pattern, replacement in _AFTER_SHORT_VOWEL:
        text = pattern.sub(replacement, text)
    pieces: list[str] = []
    start = 0
    for match in _WASL_START.finditer(text):
        space = match.start()
        change = _wasl_ending(text[max(start, space - 5) : space].rjust(5))
        if change is None:
            continue
        cut, ending = space - change[0], change[1]
        if cut < start:
            continue
        pieces.append(text[start:cut])
        pieces.append(ending + (JOIN if match.group("article") else " "))
        start = match.end()
    if not pieces:
        return text
    pieces.append(text[start:])
    return "".join(pieces)


# -- 3. pausal forms ------------------------------------------------------------

PAUSE_MARKS = ".!?,;:\u2026\u060c\u061b\u061f"
_PAUSE = re.compile(f"[{re.escape(PAUSE_MARKS)}]")
_CLOSING = " \"')]}»”’"
_CASE_MARKS = frozenset("\u064c\u064d\u064e\u064f\u0650")
_MARKS = frozenset(C.DIACRITICS)


def _pausal_word_end(text: str, end: int) -> tuple[int, str] | None:
    """Where the word ending at ``end`` starts to change in pause, and what it becomes."""
    index = end
    while index > 0 and text[index - 1] in _MARKS:
        index -= 1
    if index == 0:
        return None
    letter, marks = text[index - 1], text[index:end]
    if letter == C.TEH_MARBUTA:
        before = text[index - 2] if index >= 2 else ""
        vowel = "" if before in (C.FATHA, C.ALEF) else C.FATHA
        return index - 1, vowel + C.HEH + C.SUKUN
    if letter in (C.ALEF, C.ALEF_MAKSURA) and index >= 2:
        if marks == C.FATHATAN:  # كِتَاباً
            return index, ""
        if not marks and text[index - 2] == C.FATHATAN:  # كِتَابًا, هُدًى
            return index - 2, C.FATHA + letter
        return None
    kept = marks.replace(C.FATHATAN, "")
    if kept == marks and not _CASE_MARKS.intersection(marks):
        return None
    kept = "".join(mark for mark in kept if mark not in _CASE_MARKS)
    return index, kept + (C.SUKUN if C.SUKUN not in kept else "")


def apply_pausal(text: str) -> str:
    """Pausal forms on the last word before every pause mark and at the end of ``text``."""
    pieces: list[str] = []
    start = 0
    closing = _CLOSING
    for end in [match.start() for match in _PAUSE.finditer(text)] + [len(text)]:
        word_end = end
        while word_end > start and text[word_end - 1] in closing:
            word_end -= 1
        if word_end == start:
            continue
        change = _pausal_word_end(text, word_end)
        if change is None or change[0] < start:
            continue
        pieces.append(text[start : change[0]])
        pieces.append(change[1])
        start = word_end
    if not pieces:
        return text
    pieces.append(text[start:])
    return "".join(pieces)


# -- the whole reading ------------------------------------------------------------


def assimilate_initial_shadda(text: str) -> str:
    """Read a shadda on the first letter of a word as Uthmani idgham.

    After tanwin or a final consonant (sukun, or a bare nun) the previous word's
    ending becomes that letter (هُدًى لِّلْ -> هُدَلْ لِلْ, مِن رَّبِّهِمْ -> مِرْ رَبِّهِمْ);
    after a vowel, or at the start of the text, the shadda is only dropped.
    """
    if len(text) > 1 and text[1] == C.SHADDA:
        text = text[0] + text[2:]
    pieces: list[str] = []
    start = 0
    for match in _SHADDA_AFTER_SPACE.finditer(text):
        space, letter = match.start(), match.group(1)
        last = text[space - 1] if space > start else ""
        before = text[space - 2] if space - 1 > start else ""
        geminate = letter + C.SUKUN + " " + letter
        if last in "اى" and before == C.FATHATAN:  # هُدًى لِّ
            cut, replacement = space - 2, C.FATHA + geminate
        elif last in _TANWEEN_VOWEL:  # رَسُولٌ مِّنْ
            cut = space - 2 if before == C.ALEF else space - 1
            replacement = _TANWEEN_VOWEL[last] + geminate
        elif (last == C.SUKUN and before in C.LETTERS) or last == C.NOON:
            cut = space - 2 if last == C.SUKUN else space - 1
            replacement = geminate
        else:
            cut, replacement = space, " " + letter
        pieces.append(text[start:cut])
        pieces.append(replacement)
        start = match.end()
    pieces.append(text[start:])
    return "".join(pieces)


def _relative(match: re.Match[str]) -> str:
    text, start = match.string, match.start()
    spelled = _RELATIVES[match.group(0)]
    if start == 0 or text[start - 1] not in _WORD_CHARS:
        return spelled
    if text[start - 1] in "وف" and (start == 1 or text[start - 2] not in _WORD_CHARS):
        return C.FATHA + spelled[1:]  # after و/ف the wasl alef is silent: والتي -> wallatii
    return match.group(0)


def read_aloud(text: str, *, pausal: bool = True) -> str:
    """Rewrite normalized Arabic as it is read (see the module docstring); may contain ``JOIN``."""
    if "ال" in text and ("لذ" in text or "لت" in text):
        text = _RELATIVE.sub(_relative, text)
    if "ى" in text:
        text = _YEH_MAKSURA_VOWELLED.sub("ي", text)
    if C.SHADDA in text:
        text = assimilate_initial_shadda(text)
    if _ALEF_WITH_MARK.search(text) is not None:
        text = _MARK_ON_ALEF.sub(r"\1\2ا", text)
        text = _MARK_ON_ALEF_AFTER_MARK.sub("ا", text)
    if _FATHA_DAGGER in text:
        text = text.replace(_FATHA_DAGGER, C.DAGGER_ALEF)
    if C.ALEF in text:
        text = _WASL_AFTER_PREFIX.sub("", text)
    if " ا" in text or " ٱ" in text:
        text = elide_wasl(text)
    if pausal:
        text = apply_pausal(text)
    return text
