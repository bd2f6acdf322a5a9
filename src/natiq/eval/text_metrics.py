"""Character and word error rates for Arabic, with a normalizer that suits it.

Whisper's own ``BasicTextNormalizer`` turns every Arabic diacritic into a
space and so splits words; here the text front-end's ``normalize`` strips
diacritics and tatweel and folds alef/hamza/ya variants, every other hamza
form (ء ؤ ئ) is folded to bare alef too (so the two accepted spellings
مسؤول / مسئول, or يقرأون / يقرؤون, score the same), then punctuation and
symbols are removed and whitespace collapsed. Both the reference and the ASR
hypothesis go through the same function, so diacritic-only differences cost
nothing. Pure Python: no numpy, no models.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_TATWEEL = "\u0640"
_SPACES = re.compile(r"\s+")
# Hamza on the line and on waw/yeh seats; ``normalize(fold=True)`` already maps
# hamza on alef (أ إ), alef madda (آ) and alef wasla (ٱ) to bare alef.
_HAMZA_SEATS = str.maketrans({"\u0621": "\u0627", "\u0624": "\u0627", "\u0626": "\u0627"})


def _is_punctuation_or_symbol(char: str) -> bool:
    return unicodedata.category(char)[0] in ("P", "S")


def normalize_for_scoring(text: str) -> str:
    """Arabic-aware normalization applied to both sides before CER/WER.

    Diacritics and tatweel stripped, letter variants folded (alef forms, ta
    marbuta, alef maqsura as ``natiq.text.normalize(fold=True)`` defines; then
    every hamza form ء ؤ ئ to bare alef, so all hamza spellings agree),
    punctuation and symbols replaced by spaces, whitespace collapsed, Latin
    lower-cased.
    """
    from natiq.text import normalize

    folded = normalize(text, diacritics="strip", fold=True).translate(_HAMZA_SEATS)
    cleaned = "".join(" " if _is_punctuation_or_symbol(c) else c for c in folded)
    cleaned = cleaned.replace(_TATWEEL, "").lower()
    return _SPACES.sub(" ", cleaned).strip()


@dataclass(frozen=True)
class EditCounts:
    """Levenshtein alignment counts of a hypothesis against a reference."""

    substitutions: int
    deletions: int
    insertions: int
    reference_length: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """Errors divided by the reference length (can exceed 1 with insertions).

        An empty reference gives 0.0 for an empty hypothesis and 1.0 otherwise.
        """
        if self.reference_length == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.reference_length


def edit_counts(reference: Sequence[str], hypothesis: Sequence[str]) -> EditCounts:
    """Minimum-edit alignment of two token sequences, with the kind of each edit.

    Among alignments with the fewest edits, ties prefer substitutions, then
    deletions, then insertions (the usual convention of CER tools).
    """
    rows, cols = len(reference), len(hypothesis)
    # Each cell holds (total, substitutions, deletions, insertions).
    previous = [(j, 0, 0, j) for j in range(cols + 1)]
    for i in range(1, rows + 1):
        current = [(i, 0, i, 0)]
        for j in range(1, cols + 1):
            diagonal = previous[j - 1]
            if reference[i - 1] == hypothesis[j - 1]:
                current.append(diagonal)
                continue
            sub = (diagonal[0] + 1, diagonal[1] + 1, diagonal[2], diagonal[3])
            up = previous[j]
            dele = (up[0] + 1, up[1], up[2] + 1, up[3])
            left = current[j - 1]
            ins = (left[0] + 1, left[1], left[2], left[3] + 1)
            current.append(min(sub, dele, ins, key=lambda cell: cell[0]))
        previous = current
    _, substitutions, deletions, insertions = previous[cols]
    return EditCounts(substitutions, deletions, insertions, rows)


def character_edits(reference: str, hypothesis: str, *, normalize: bool = True) -> EditCounts:
    """Character-level edits (spaces count as characters, collapsed to one)."""
    if normalize:
        reference, hypothesis = normalize_for_scoring(reference), normalize_for_scoring(hypothesis)
    return edit_counts(list(reference), list(hypothesis))


def word_edits(reference: str, hypothesis: str, *, normalize: bool = True) -> EditCounts:
    """Word-level edits over whitespace-separated words."""
    if normalize:
        reference, hypothesis = normalize_for_scoring(reference), normalize_for_scoring(hypothesis)
    return edit_counts(reference.split(), hypothesis.split())


def cer(reference: str, hypothesis: str, *, normalize: bool = True) -> float:
    """Character error rate of ``hypothesis`` against ``reference``."""
    return character_edits(reference, hypothesis, normalize=normalize).rate


def wer(reference: str, hypothesis: str, *, normalize: bool = True) -> float:
    """Word error rate of ``hypothesis`` against ``reference``."""
    return word_edits(reference, hypothesis, normalize=normalize).rate
