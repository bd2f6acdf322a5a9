"""Per-epoch variation of a training text: diacritization level and final punctuation.

A corpus like ClArTTS is fully diacritized, but users type plain Arabic. If a
native-script model only ever reads full diacritization it never learns to
read plain text, so each example draws a level (EgyPocket-TTS' mix, 55/30/15 %
by default):

- ``plain``: every mark removed;
- ``partial``: each word keeps its marks with a probability drawn per example;
- ``full``: every word keeps its marks.

A word that keeps its marks may keep only a random subset of them (per
letter), so that a single mark a user writes to fix one reading is in
distribution too. Independently, the sentence-final punctuation is dropped
from a share of examples (pocket-tts' robustness recipe), so unpunctuated
input is in distribution as well.

Only Arabic marks are touched: a romanized text has none and passes through
unchanged. Pure functions of the text and a ``random.Random``; no torch.
"""

from __future__ import annotations

import random
import re
from typing import Literal

from natiq.backends.pocket.recipe import DiacritizationMix
from natiq.text.chars import DIACRITIC_SET

Level = Literal["plain", "partial", "full"]
LEVELS: tuple[Level, ...] = ("plain", "partial", "full")
# Sentence-final marks pocket-tts' text preparation knows, plus weak ones it would turn into "."
_FINAL_PUNCTUATION = re.compile(r"[\s.!?\u2026,;:\u060c\u061b\u061f\u06d4]+$")
_WORD = re.compile(r"\S+")
_MARK = re.compile("[" + "".join(sorted(DIACRITIC_SET)) + "]")


def has_marks(text: str) -> bool:
    """True when ``text`` carries at least one Arabic diacritic."""
    return _MARK.search(text) is not None


def strip_marks(text: str) -> str:
    """``text`` without its Arabic diacritics."""
    return _MARK.sub("", text)


def draw_level(mix: DiacritizationMix, rng: random.Random) -> Level:
    """One of plain / partial / full with the mix's probabilities."""
    draw = rng.random()
    if draw < mix.plain:
        return "plain"
    return "partial" if draw < mix.plain + mix.partial else "full"


def vary_diacritics(text: str, mix: DiacritizationMix, rng: random.Random) -> tuple[Level, str]:
    """Draw a level and return ``(level, text at that level)``; see the module docstring."""
    level = draw_level(mix, rng)
    if level == "plain":
        return level, strip_marks(text)
    share = rng.uniform(*mix.partial_words) if level == "partial" else 1.0

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if not has_marks(token):
            return token
        if level == "partial" and rng.random() >= share:
            return strip_marks(token)
        if rng.random() < mix.sparse_words:
            return _keep_some_marks(token, rng.uniform(*mix.sparse_keep), rng)
        return token

    return level, _WORD.sub(word, text)


def drop_final_punctuation(text: str) -> str:
    """``text`` without its sentence-final punctuation (unchanged if nothing else is left)."""
    return _FINAL_PUNCTUATION.sub("", text) or text


def _keep_some_marks(word: str, keep: float, rng: random.Random) -> str:
    """Keep each letter's marks (all of them or none) with probability ``keep``."""
    out: list[str] = []
    keeping = True
    for char in word:
        if char in DIACRITIC_SET:
            if keeping:
                out.append(char)
            continue
        keeping = rng.random() < keep
        out.append(char)
    return "".join(out)
