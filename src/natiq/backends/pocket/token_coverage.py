"""How much of a romanized corpus the base model's tokenizer cannot read.

Romanized mode keeps the English tokenizer and text embedding. A character the
tokenizer never saw becomes its ``<unk>`` piece: every such character, whatever
sound it stands for, reaches the model as the same embedding row. Buckwalter
writes hamza seats, alef madda/wasla, shadda and some consonants with
``< > | { } ~ $ * &`` and ``'``, which an English vocabulary may well lack;
Arabizi uses digits and ``'``; the ``latin`` scheme uses plain letters and an
apostrophe. Before a romanized run trains, ``coverage_report`` measures, on
the corpus itself, the share of pieces that are ``<unk>`` (and of byte-fallback
pieces) for every scheme, and ``check_coverage`` refuses the chosen scheme above
a threshold (``--max-unknown-token-rate``, 1% by default: at 1% about one
sound in every eight words is read as noise).

Works on any SentencePiece-based pocket-tts tokenizer; does not train anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from natiq.common.errors import DataFormatError, InputTextError

# Texts per scheme the report looks at (the corpus' first ones: enough for a rate).
REPORT_TEXTS = 500


@dataclass
class Coverage:
    """Pieces of one scheme's romanized texts, and those the tokenizer could not read."""

    scheme: str
    texts: int = 0
    pieces: int = 0
    unknown: int = 0
    byte_pieces: int = 0
    unknown_chars: Counter[str] = field(default_factory=Counter)

    @property
    def unknown_rate(self) -> float:
        return self.unknown / self.pieces if self.pieces else 0.0

    @property
    def byte_rate(self) -> float:
        return self.byte_pieces / self.pieces if self.pieces else 0.0

    def line(self) -> str:
        chars = " ".join(char for char, _ in self.unknown_chars.most_common(12))
        shown = f"; unknown characters: {chars}" if chars else ""
        return (
            f"{self.scheme}: {100 * self.unknown_rate:.2f}% of {self.pieces} pieces unknown, "
            f"{100 * self.byte_rate:.2f}% byte pieces ({self.texts} texts){shown}"
        )


def measure(tts: Any, scheme: str, model_texts: Sequence[str]) -> Coverage:
    """Coverage of ``model_texts`` (already romanized) by ``tts``' tokenizer, as inference prepares them."""
    from pocket_tts.models.text_chunking import prepare_text_prompt

    processor = _processor(tts)
    unk = processor.unk_id()
    result = Coverage(scheme=scheme)
    for text in model_texts:
        prepared, _ = prepare_text_prompt(
            text,
            tts.pad_with_spaces_for_short_inputs,
            tts.remove_semicolons,
            tts.append_terminal_punctuation,
            tts.capitalize_first_letter,
            tts.replace_characters,
        )
        ids = processor.encode(prepared)
        result.texts += 1
        result.pieces += len(ids)
        for piece_id in ids:
            if piece_id == unk:
                result.unknown += 1
            elif processor.is_byte(piece_id):
                result.byte_pieces += 1
        if unk in ids:
            result.unknown_chars.update(
                char for char in set(prepared) if not char.isspace() and _unknown(processor, char)
            )
    return result


def coverage_report(
    tts: Any, texts: Sequence[str], schemes: Sequence[str], *, limit: int = REPORT_TEXTS
) -> list[Coverage]:
    """One ``Coverage`` per scheme on the first ``limit`` texts (raw Arabic) of the corpus."""
    from natiq.text import FrontendConfig, TextFrontend

    report = []
    for scheme in schemes:
        frontend = TextFrontend(FrontendConfig(scheme=scheme))
        model_texts = []
        for text in texts[:limit]:
            try:
                model_texts.append(frontend.prepare(text).model_text)
            except InputTextError:
                continue  # the dataset reports unreadable texts
        report.append(measure(tts, scheme, model_texts))
    return report


def check_coverage(report: Sequence[Coverage], scheme: str, max_rate: float) -> None:
    """Raise ``DataFormatError`` when ``scheme``'s unknown-piece rate is above ``max_rate``."""
    chosen = next(item for item in report if item.scheme == scheme)
    if chosen.unknown_rate <= max_rate:
        return
    best = min(report, key=lambda item: item.unknown_rate)
    hint = (
        f" --scheme {best.scheme} reads it with {100 * best.unknown_rate:.2f}% unknown;"
        if best.scheme != scheme
        else ""
    )
    raise DataFormatError(
        f"the base tokenizer cannot read {100 * chosen.unknown_rate:.2f}% of the {scheme} "
        f"romanization of this corpus (more than --max-unknown-token-rate "
        f"{100 * max_rate:.2f}%): {chosen.line()}.{hint} or train with --text-mode native "
        "(a tokenizer of the corpus' own text)"
    )


def _processor(tts: Any) -> Any:
    tokenizer = tts.flow_lm.conditioner.tokenizer
    processor = getattr(tokenizer, "sp", None)
    if processor is None:
        raise DataFormatError("the unknown-token report needs a SentencePiece tokenizer")
    return processor


def _unknown(processor: Any, char: str) -> bool:
    return processor.unk_id() in processor.encode(char)
