"""The most frequent vocalization of each written word: the diacritizer's short-input fallback.

A sentence-level diacritizer needs context; on one to three words it guesses
(about half of the letters of a lone word get a wrong mark). A word seen many
times in a diacritized corpus is better served by its most frequent spelling
there. ``build_vocalizations`` counts, for each undiacritized word, the
vocalizations of its letters, the last one's vowel left out (the case ending
depends on the sentence; short inputs are read in pause, so it is left bare),
and keeps the most frequent. ``Vocalizations.vocalize`` returns a word's entry with the
input's own letters.

The shipped table (``data/vocalizations.tsv.gz``) is built by
``scripts/build_vocalizations.py`` from the Tanzil Quran text (simple edition,
CC BY 3.0, see the notice at the top of the file); surahs whose number is a
multiple of 10 are left out of it so that they can serve as held-out
evaluation text (``benchmarks/text_frontend.py --der``). Hadith collections are
never used.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files

from natiq.text import chars as C
from natiq.text.normalize import normalize, strip_diacritics

_CASE_MARKS = frozenset(C.TANWEEN + C.SHORT_VOWELS)
_ALEF_FORMS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا"})
DATA_FILE = "data/vocalizations.tsv.gz"


def without_case_ending(word: str) -> str:
    """``word`` (normalized, diacritized) without the vowel or tanween of its last letter.

    Shadda and sukun stay: they belong to the word (إِنَّ, مِنْ). Fathatan before a
    final ا or ى stays too: read in pause it is a long a either way (كِتَابًا).
    """
    end = len(word)
    while end and word[end - 1] in C.DIACRITIC_SET:
        end -= 1
    if end == 0:
        return word
    return word[:end] + "".join(mark for mark in word[end:] if mark not in _CASE_MARKS)


def split_marks(word: str) -> list[tuple[str, str]]:
    """(letter, its marks) for each letter of a normalized word."""
    pairs: list[tuple[str, str]] = []
    for char in word:
        if char in C.DIACRITIC_SET and pairs:
            pairs[-1] = (pairs[-1][0], pairs[-1][1] + char)
        else:
            pairs.append((char, ""))
    return pairs


def build_vocalizations(lines: Iterable[str], *, min_count: int = 1) -> dict[str, tuple[str, int]]:
    """bare word -> (most frequent vocalization without its case ending, its count).

    Words written without any mark do not vote.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for line in lines:
        for word in normalize(line).split(" "):
            if not word or not all(ch in C.LETTERS or ch in C.DIACRITIC_SET for ch in word):
                continue
            bare = strip_diacritics(word)
            if len(bare) < 2 or bare == word:
                continue
            counts[bare][without_case_ending(word)] += 1
    table: dict[str, tuple[str, int]] = {}
    for bare, variants in counts.items():
        best, count = variants.most_common(1)[0]
        if count >= min_count:
            table[bare] = (best, count)
    return table


@dataclass(frozen=True)
class Vocalizations:
    """A word -> vocalization table with lookups that tolerate missing hamza seats."""

    table: dict[str, str]
    folded: dict[str, str]

    @classmethod
    def from_table(cls, table: dict[str, str]) -> Vocalizations:
        folded: dict[str, str] = {}
        for bare, vocalized in table.items():
            folded.setdefault(bare.translate(_ALEF_FORMS), vocalized)
        return cls(table, folded)

    def __len__(self) -> int:
        return len(self.table)

    def vocalize(self, word: str) -> str | None:
        """The vocalization of the bare ``word`` with its own letters, or None if unknown."""
        entry = self.table.get(word)
        if entry is None:
            entry = self.folded.get(word.translate(_ALEF_FORMS))
            if entry is None:
                return None
        marks = split_marks(entry)
        if len(marks) != len(word):
            return None
        return "".join(letter + mark for letter, (_, mark) in zip(word, marks, strict=True))


_LOCK = threading.Lock()
_SHIPPED: list[Vocalizations] = []


def shipped_vocalizations() -> Vocalizations:
    """The table shipped with natiq (loaded once per process, on first use)."""
    with _LOCK:
        if not _SHIPPED:
            raw = files("natiq.text").joinpath(DATA_FILE).read_bytes()
            table: dict[str, str] = {}
            for line in gzip.decompress(raw).decode("utf-8").splitlines():
                if line and not line.startswith("#"):
                    bare, vocalized, _count = line.split("\t")
                    table[bare] = vocalized
            _SHIPPED.append(Vocalizations.from_table(table))
    return _SHIPPED[0]
