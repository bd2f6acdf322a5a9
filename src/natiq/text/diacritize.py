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

_MODELS: dict[bool, Any] = {}
_LOCK = threading.Lock()
_CLUSTER = re.compile("(.)([\u064b-\u0652\u0670]*)", re.DOTALL)
# The model works best on sentence-sized pieces; keep each call bounded.
MAX_CHUNK_CHARS = 300


def _load_model(word_cache: bool = True) -> Any:
    """The arabic-diacritizer pipeline, loaded once per process (and per cache choice)."""
    with _LOCK:
        if word_cache not in _MODELS:
            try:
                from diacritize import Diacritizer
            except ImportError as exc:
                raise ModelLoadError(
                    "automatic diacritization needs the 'arabic-diacritizer' package "
                    f"(pip install arabic-diacritizer): {exc}"
                ) from None
            try:
                _MODELS[word_cache] = Diacritizer.from_pretrained(no_cache=not word_cache)
            except (OSError, RuntimeError, ValueError) as exc:
                raise ModelLoadError(
                    f"could not load the arabic-diacritizer weights shipped in its wheel ({exc}); "
                    "reinstall it with `pip install --force-reinstall arabic-diacritizer`"
                ) from None
    return _MODELS[word_cache]


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


def _predict(text: str, word_cache: bool) -> str:
    model = _load_model(word_cache)
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


def diacritize(text: str, *, word_cache: bool = True) -> str:
    """Normalize ``text`` and fill in missing diacritics with the offline model.

    ``word_cache=False`` skips the package's 30 MB word cache (faster to load,
    less accurate; see docs/text-frontend.md for both error rates).
    """
    text = normalize(text)
    if not any(ch in C.LETTERS for ch in text):
        return text
    return " ".join(
        merge_diacritics(chunk, _predict(chunk, word_cache))
        if any(ch in C.LETTERS for ch in chunk)
        else chunk
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


def _letters_with_marks(text: str) -> list[tuple[str, str, bool]]:
    """(letter, its marks, is the last letter of a word) for every Arabic letter."""
    clusters = [(base, marks) for base, marks in _CLUSTER.findall(shadda_first(text))]
    out = []
    for index, (base, marks) in enumerate(clusters):
        if base not in C.LETTERS:
            continue
        following = clusters[index + 1][0] if index + 1 < len(clusters) else " "
        out.append((base, marks, following not in C.LETTERS))
    return out


def diacritic_error_rate(
    reference: str, hypothesis: str, *, skip_word_endings: bool = False
) -> float:
    """Share of Arabic letters whose marks differ between two spellings of the same letters.

    Every letter counts (a letter correctly left bare is correct). With
    ``skip_word_endings`` the last letter of each word, which carries the case
    ending, is left out ("DER without case endings").
    """
    ours, theirs = _letters_with_marks(reference), _letters_with_marks(hypothesis)
    if [letter for letter, _, _ in ours] != [letter for letter, _, _ in theirs]:
        raise ValueError("reference and hypothesis must have the same letters")
    pairs = [
        (a, b)
        for (_, a, end), (_, b, _) in zip(ours, theirs, strict=True)
        if not (skip_word_endings and end)
    ]
    if not pairs:
        return 0.0
    return sum(a != b for a, b in pairs) / len(pairs)
