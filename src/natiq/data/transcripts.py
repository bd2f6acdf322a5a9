"""Transcript handling for ``prepare``: read, run the text front-end, check.

All text work is delegated to ``natiq.text`` (this module never normalizes by
itself). A transcript goes through ``TextFrontend(config)`` with the
``FrontendConfig`` that ``prepare`` records in ``prepare_config.json``:
``text`` is its ``spoken`` form (normalized, verbalized Arabic, diacritics
kept or stripped) and ``text_romanized`` its ``model_text`` when a scheme is
asked for. So a trainer that saves that config as ``natiq_frontend.json``
gets exactly the text inference will produce.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from natiq.data.rejects import ItemRejected, Reason

if TYPE_CHECKING:
    from natiq.text import FrontendConfig, TextFrontend

TranscriptFormat = Literal["arabic", "buckwalter"]
TRANSCRIPT_FORMATS = ("arabic", "buckwalter")


@dataclass(frozen=True)
class TextOptions:
    """How ``prepare`` turns ``text_raw`` into ``text`` (and ``text_romanized``)."""

    diacritics: Literal["keep", "strip"] = "keep"
    romanize: str | None = None
    transcript_format: TranscriptFormat = "arabic"
    diacritize: Literal["auto", "off"] = "off"

    def frontend_config(self) -> FrontendConfig:
        """The front-end settings these options stand for (front-end defaults otherwise)."""
        from natiq.text import FrontendConfig

        return FrontendConfig(
            diacritics=self.diacritics, diacritize=self.diacritize, scheme=self.romanize
        )


@dataclass(frozen=True)
class Transcript:
    raw: str
    text: str
    romanized: str | None


def validate_text_options(options: TextOptions) -> None:
    """Fail early (before any audio is touched) on an unknown scheme or format."""
    from natiq.common.errors import DataFormatError
    from natiq.text import FrontendConfigError

    if options.transcript_format not in TRANSCRIPT_FORMATS:
        raise DataFormatError(
            f"unknown transcript format {options.transcript_format!r}; use one of {TRANSCRIPT_FORMATS}"
        )
    try:
        options.frontend_config()
    except FrontendConfigError as exc:
        raise DataFormatError(str(exc)) from None


def has_arabic_letter(text: str) -> bool:
    from natiq.text.chars import is_arabic_letter

    return any(is_arabic_letter(char) for char in text)


@cache
def _frontend(options: TextOptions) -> TextFrontend:
    from natiq.text import TextFrontend

    return TextFrontend(options.frontend_config())


def prepare_transcript(raw: str, options: TextOptions) -> Transcript:
    """Run one corpus transcript through the front-end or raise ``ItemRejected``."""
    from natiq.common.errors import InputTextError
    from natiq.text import deromanize, normalize

    if not raw or not raw.strip():
        raise ItemRejected(Reason.EMPTY_TEXT, "the transcript is empty")
    arabic = deromanize(raw, "buckwalter") if options.transcript_format == "buckwalter" else raw
    normalized = normalize(arabic)
    if not normalized:
        raise ItemRejected(Reason.EMPTY_TEXT, "nothing is left after normalization")
    if not has_arabic_letter(normalized):
        raise ItemRejected(Reason.NO_ARABIC_LETTERS, f"no Arabic letter in {normalized[:40]!r}")
    frontend = _frontend(options)
    try:
        prepared = frontend.prepare(arabic)
    except InputTextError as exc:
        raise ItemRejected(Reason.NO_ARABIC_LETTERS, str(exc)) from None
    romanized = prepared.model_text if options.romanize is not None else None
    return Transcript(raw=raw, text=prepared.spoken, romanized=romanized)
