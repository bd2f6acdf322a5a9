"""Where speech pauses: text cut at the boundaries a listener hears as silence.

Plain text is cut into paragraphs (a blank line), sentences (``. ! ? ؟ ۔ …``
or a line break, as ``punctuation.split_sentences`` cuts them) and, when the
caller asks for them, clauses (``، ,`` comma, ``؛ ;`` semicolon, ``:`` colon,
each followed by a space). Each chunk records the boundary that follows it, so
the ``Synthesizer`` can put the silence its ``JoinPolicy`` gives that
boundary between the two chunks. A clause mark is not a cut unless asked: by
default the model reads a comma itself, inside the sentence.

SSML (``natiq.text.ssml``) produces the same structure: a sequence of
``Sentence`` s (each a tuple of ``Piece`` s, the boundary after it and a speaking
rate) and explicit ``Break`` s.

Pure: no model, no audio.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from natiq.text.pieces import Piece
from natiq.text.punctuation import split_sentences

Boundary = Literal[
    "sentence", "question", "exclamation", "comma", "semicolon", "colon", "paragraph"
]
BOUNDARIES: tuple[str, ...] = (
    "sentence",
    "question",
    "exclamation",
    "comma",
    "semicolon",
    "colon",
    "paragraph",
)
CLAUSE_BOUNDARIES = frozenset({"comma", "semicolon", "colon"})
_MARKS: dict[str, Boundary] = {
    ".": "sentence",
    "…": "sentence",
    "۔": "sentence",
    "?": "question",
    "؟": "question",
    "!": "exclamation",
    ",": "comma",
    "،": "comma",
    ";": "semicolon",
    "؛": "semicolon",
    ":": "colon",
}
_PARAGRAPH = re.compile(r"\n[^\S\n]*\n\s*")
_CLOSING = "\"')]»”’"
# a full stop after a lone letter (an initial, an abbreviation such as د.) ends nothing
_INITIAL = re.compile(r"(?:^|\s)\w\.$")


@dataclass(frozen=True)
class Chunk:
    """``text`` and the boundary after it (``None``: the text ends without a mark)."""

    text: str
    boundary: Boundary | None


@dataclass(frozen=True)
class Sentence:
    """One run the model reads in one go, the boundary after it and its speaking rate."""

    pieces: tuple[Piece, ...]
    boundary: Boundary | None = None
    rate: float = 1.0

    @property
    def original(self) -> str:
        """The text as the user wrote it (an SSML alias or phoneme shows its written form)."""
        return "".join(piece.original for piece in self.pieces)


@dataclass(frozen=True)
class Break:
    """An explicit silence (SSML ``<break>``), in seconds; it replaces the boundary's pause."""

    seconds: float


def final_boundary(text: str) -> Boundary | None:
    """The boundary ``text``'s last mark makes (closing quotes/brackets looked through)."""
    stripped = text.rstrip().rstrip(_CLOSING).rstrip()
    if not stripped or stripped[-1] not in _MARKS or _INITIAL.search(stripped):
        return None
    return _MARKS[stripped[-1]]


def split_at_pauses(text: str, *, clauses: Collection[str] = ()) -> list[Chunk]:
    """``text`` as chunks in order, each with the boundary that follows it.

    ``clauses`` names the clause boundaries to cut at (``comma``, ``semicolon``,
    ``colon``). A chunk cut at a line break ends a ``sentence``; the last chunk
    of a paragraph ends a ``paragraph`` (unless it is the last of the text).
    """
    unknown = set(clauses) - CLAUSE_BOUNDARIES
    if unknown:
        raise ValueError(f"clause boundaries are comma, semicolon, colon; not {sorted(unknown)}")
    marks = "".join(mark for mark, kind in _MARKS.items() if kind in clauses)
    clause_cut = re.compile(f"(?<=[{re.escape(marks)}])\\s+") if marks else None
    chunks: list[Chunk] = []
    paragraphs = [part for part in _PARAGRAPH.split(text) if part.strip()]
    for number, paragraph in enumerate(paragraphs):
        sentences = split_sentences(paragraph)
        for index, sentence in enumerate(sentences):
            parts = clause_cut.split(sentence) if clause_cut else [sentence]
            for part_index, part in enumerate(parts):
                last_part = part_index == len(parts) - 1
                boundary = final_boundary(part)
                if boundary in CLAUSE_BOUNDARIES and boundary not in clauses:
                    boundary = None
                if last_part and boundary is None and index < len(sentences) - 1:
                    boundary = "sentence"  # cut at a line break
                if last_part and index == len(sentences) - 1 and number < len(paragraphs) - 1:
                    boundary = "paragraph"
                chunks.append(Chunk(part, boundary))
    return chunks
