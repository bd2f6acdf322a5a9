"""Punctuation for Latin-trained tokenizers, and sentence splitting.

Pocket TTS (and any English-trained tokenizer) does not know ؟ ، ؛ « » as
clause or sentence ends, so ``map_punctuation`` rewrites them to their ASCII
counterparts. ``split_sentences`` cuts long text at sentence ends of either
script (and at line breaks), keeping the punctuation with its sentence.
"""

from __future__ import annotations

import re

_PUNCTUATION = str.maketrans(
    {
        "\u060c": ",",  # ،
        "\u061b": ";",  # ؛
        "\u061f": "?",  # ؟
        "\u06d4": ".",  # ۔
        "\u066d": "*",  # ٭
        "«": '"',
        "»": '"',
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u2026": "...",
        "\u2013": "-",
        "\u2014": " - ",
        "\u00a1": "!",
        "\u00bf": "?",
    }
)

SENTENCE_END = ".!?\u061f\u06d4\u2026"
# A sentence ends at a run of terminal marks (optionally followed by closing
# quotes/brackets) followed by whitespace; or at a line break.
_SENTENCE_BREAK = re.compile(
    r"(?<=[.!?\u061f\u06d4\u2026])[\"'»”’)\]]*\s+|\s*[\r\n\u2028\u2029]+\s*"
)
# A full stop after a lone letter (an initial or an abbreviation such as د.) is not an end.
_NOT_AN_END = re.compile(r"(?:^|\s)\w\.$")


_PUNCTUATION_PAIRS = [(chr(code), value) for code, value in _PUNCTUATION.items()]
_NEEDS_MAPPING = re.compile("[" + "".join(chr(code) for code in _PUNCTUATION) + "]")


def map_punctuation(text: str) -> str:
    """Arabic (and typographic) punctuation to the ASCII marks a Latin tokenizer knows."""
    # str.replace per mark present is ~20x faster than str.translate on Arabic text.
    if _NEEDS_MAPPING.search(text) is None:
        return text
    for mark, replacement in _PUNCTUATION_PAIRS:
        if mark in text:
            text = text.replace(mark, replacement)
    return text


def split_sentences(text: str, *, max_chars: int | None = None) -> list[str]:
    """Split at sentence ends (. ! ? ؟ ۔ … and line breaks); empty pieces are dropped.

    An abbreviation written as one letter and a dot (``د.``) does not end a
    sentence. With ``max_chars``, longer sentences are cut further at clause
    marks (، , ؛ ; :) and, failing that, between words.
    """
    if max_chars is not None:
        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        return [part for piece in split_sentences(text) for part in _split_long(piece, max_chars)]
    pieces: list[str] = []
    start = 0
    pending = ""
    for match in _SENTENCE_BREAK.finditer(text):
        end = match.start()
        closing = match.group(0).rstrip()
        piece = pending + text[start:end] + closing
        start = match.end()
        if "\n" not in match.group(0) and _NOT_AN_END.search(piece.rstrip()):
            pending = piece + " "
            continue
        pending = ""
        if piece.strip():
            pieces.append(piece.strip())
    last = (pending + text[start:]).strip()
    if last:
        pieces.append(last)
    return pieces


def ends_sentence(text: str) -> bool:
    """True if ``text`` already ends with a sentence-final mark (closing quotes allowed)."""
    return text.rstrip("\"')]»”’ ").endswith(tuple(SENTENCE_END))


_CLAUSE_BREAK = re.compile(r"(?<=[,،;؛:])\s+")


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    for clause in _CLAUSE_BREAK.split(sentence):
        if parts and len(parts[-1]) + 1 + len(clause) <= max_chars:
            parts[-1] += " " + clause
        elif len(clause) <= max_chars:
            parts.append(clause)
        else:
            parts.extend(_split_words(clause, max_chars))
    return parts


def _split_words(text: str, max_chars: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > max_chars:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        parts.append(current)
    return parts
