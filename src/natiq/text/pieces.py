"""``Piece``: a run of one sentence that the front-end treats in its own way.

Plain text is one ``text`` piece. SSML and mixed Arabic–English text make
several: ``<say-as>`` and ``<phoneme alphabet="buckwalter">`` give Arabic words
that are already as they should be spoken (``spoken``: never verbalized,
diacritized or looked up again), ``<phoneme alphabet="ipa">`` and English words
for a model that reads English give exactly what the model reads (``model``),
and ``<lang>`` marks a ``text`` piece as another language. ``TextFrontend``
prepares a sequence of pieces as one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PieceKind = Literal["text", "spoken", "model"]
PIECE_KINDS = ("text", "spoken", "model")


@dataclass(frozen=True)
class Piece:
    """``text``: raw text (the whole front-end); ``spoken``: Arabic words as said;
    ``model``: the model's own text, untouched.

    ``lang`` (``text`` only) names the language of the run when it is not
    Arabic (a BCP-47 tag such as ``en`` or ``fr-FR``); ``said`` (``model`` only)
    is what a listener hears, for ``PreparedText.spoken`` (default: ``text``);
    ``written`` is what the user wrote, for ``PreparedText.original`` (default:
    ``text``; an SSML ``<sub>`` or ``<say-as>`` shows its content there).
    """

    text: str
    kind: PieceKind = "text"
    lang: str | None = None
    said: str | None = None
    written: str | None = None

    @property
    def original(self) -> str:
        return self.text if self.written is None else self.written

    def __post_init__(self) -> None:
        if self.kind not in PIECE_KINDS:
            raise ValueError(f"a piece's kind is one of {PIECE_KINDS}, not {self.kind!r}")
