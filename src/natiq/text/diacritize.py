"""Automatic diacritization that only fills the marks the input lacks.

The model is ``arabic-diacritizer`` (MIT, BiLSTM, weights inside its PyPI
wheel, so it works offline). It is imported and loaded lazily, once per
process, on the first call: it pulls in torch, which ``import natiq.text`` must
not. The model sees the undiacritized letters; its marks are then merged back
letter by letter: a letter that already carried a mark in the input keeps the
input's marks, a bare letter takes the model's.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from natiq.common.errors import ModelLoadError
from natiq.text import chars as C
from natiq.text.normalize import normalize, shadda_first, strip_diacritics

_MODEL: Any = None
_LOCK = threading.Lock()
_CLUSTER = re.compile("(.)([\u064b-\u0652\u0670]*)", re.DOTALL)
# The model works best on sentence-sized pieces; keep each call bounded.
MAX_CHUNK_CHARS = 300


def _load_model() -> Any:
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            try:
                from diacritize import Diacritizer
            except ImportError as exc:
                raise ModelLoadError(
                    "automatic diacritization needs the 'arabic-diacritizer' package "
                    f"(pip install arabic-diacritizer): {exc}"
                ) from None
            try:
                _MODEL = Diacritizer.from_pretrained()
            except (OSError, RuntimeError) as exc:
                raise ModelLoadError(
                    f"could not load the arabic-diacritizer weights shipped in its wheel ({exc}); "
                    "reinstall it with `pip install --force-reinstall arabic-diacritizer`"
                ) from None
    return _MODEL


def merge_diacritics(original: str, predicted: str) -> str:
    """Keep ``original``'s marks where it has any; take ``predicted``'s on bare letters.

    Both strings must have the same undiacritized letters; if they do not (the
    model rewrote something), ``original`` is returned unchanged.
    """
    if strip_diacritics(original) != strip_diacritics(predicted):
        return original
    ours = _CLUSTER.findall(original)
    theirs = _CLUSTER.findall(predicted)
    merged = []
    for (base, marks), (_, predicted_marks) in zip(ours, theirs, strict=True):
        if not marks and base in C.LETTERS:
            marks = predicted_marks
        merged.append(base + marks)
    return shadda_first("".join(merged))


def _predict(text: str) -> str:
    model = _load_model()
    bare = strip_diacritics(text)
    predicted = normalize(model.diacritize(bare))
    if strip_diacritics(predicted) == bare:
        return predicted
    # The model sometimes changes spacing or drops characters: retry per word.
    words = bare.split(" ")
    out = []
    for word in words:
        guess = normalize(model.diacritize(word)) if any(ch in C.LETTERS for ch in word) else word
        out.append(guess if strip_diacritics(guess) == word else word)
    return " ".join(out)


def diacritize(text: str) -> str:
    """Normalize ``text`` and fill in missing diacritics with the offline model."""
    text = normalize(text)
    if not any(ch in C.LETTERS for ch in text):
        return text
    return " ".join(
        merge_diacritics(chunk, _predict(chunk)) if any(ch in C.LETTERS for ch in chunk) else chunk
        for chunk in _chunks(text)
    )


def _chunks(text: str) -> list[str]:
    """Sentence-sized runs of words (normalized text is single-spaced)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for word in text.split(" "):
        current.append(word)
        size += len(word) + 1
        if size >= MAX_CHUNK_CHARS or word.endswith((".", "!", "?", "؟")):
            chunks.append(" ".join(current))
            current, size = [], 0
    if current:
        chunks.append(" ".join(current))
    return chunks
