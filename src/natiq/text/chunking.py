"""Cut prepared text into pieces short enough for a model to read in one go.

Verbalization can make a short input long ("ﷺ" becomes four words, a digit a
word), and text without punctuation gives a sentence splitter nothing to cut
at. A model asked to read thousands of characters at once spends time and
memory that grow faster than the length (attention over the whole prompt), so
the ``Synthesizer`` gives each backend at most ``max_chars`` characters at a
time, cut here.

A cut prefers, within the allowed window, the last sentence end, then the last
clause mark, then the last space; text with none of them is cut anywhere, but
never between a letter and the combining marks (diacritics) that follow it.
This module is pure: it never imports a model.
"""

from __future__ import annotations

import unicodedata

SENTENCE_MARKS = frozenset(".!?…؟۔")
CLAUSE_MARKS = frozenset(",،;؛:")


def split_for_model(text: str, max_chars: int) -> list[str]:
    """``text`` as pieces of at most ``max_chars`` characters (stripped, none empty), in order."""
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > max_chars:
        cut = _best_cut(rest, max_chars)
        piece = rest[:cut].strip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _best_cut(text: str, max_chars: int) -> int:
    """Where to end the next piece: an index in ``1..max_chars``."""
    sentence = clause = space = 0
    for index in range(1, max_chars + 1):
        before, after = text[index - 1], text[index]
        if before in SENTENCE_MARKS and after.isspace():
            sentence = index
        elif before in CLAUSE_MARKS and after.isspace():
            clause = index
        elif after.isspace():
            space = index
    # a mark too early would leave a tiny piece: use it only in the window's second half
    for candidate in (sentence, clause):
        if candidate >= max_chars // 2:
            return candidate
    best = max(sentence, clause, space)
    if best:
        return best
    cut = max_chars
    while cut > 1 and unicodedata.combining(text[cut]):
        cut -= 1
    return cut
