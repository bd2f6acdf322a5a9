"""Why ``prepare`` refuses an utterance.

A rejected item is never fatal: the runner catches ``ItemRejected``, writes
``{"id", "reason", "detail"}`` to ``rejects.jsonl`` and goes on. The reasons
are a closed set so summaries and tests can count them.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """The closed set of rejection reasons written to ``rejects.jsonl``."""

    UNREADABLE_AUDIO = "unreadable_audio"
    EMPTY_TEXT = "empty_text"
    NO_ARABIC_LETTERS = "no_arabic_letters"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    SILENT = "silent"
    CLIPPED = "clipped"
    DUPLICATE_ID = "duplicate_id"


class ItemRejected(Exception):
    """One utterance cannot be used; carries a ``Reason`` and a human-readable detail."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
