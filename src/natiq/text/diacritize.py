"""Automatic diacritization that only fills the marks the input lacks.

The model is ``arabic-diacritizer`` (MIT, BiLSTM, weights inside its PyPI
wheel, so it works offline). It is imported and loaded lazily, once per
process, on the first call: it pulls in torch, which ``import natiq.text`` must
not. The model sees the undiacritized letters; its marks are then merged back
letter by letter: a letter that already carried a mark in the input keeps the
input's marks, a bare letter takes the model's.

Short inputs (one to three words, where the model has no context) take each
known word's most frequent vocalization instead (``natiq.text.vocalizations``),
without a case ending: they are read in pause. Only unknown words go to the
model, and lose their case ending too. Every result finally goes through
``make_possible``, so no impossible mark (tanween inside a word, a vowel on a
long alef ...) ever comes out.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from natiq.common.errors import ModelLoadError
from natiq.text import chars as C
from natiq.text.marks import make_possible
from natiq.text.normalize import normalize, shadda_first, strip_diacritics
from natiq.text.vocalizations import shipped_vocalizations, split_marks, without_case_ending

_MODELS: dict[bool, Any] = {}
_LOCK = threading.Lock()
_CLUSTER = re.compile("(.)([\u064b-\u0652\u0670]*)", re.DOTALL)
# The model works best on sentence-sized pieces; keep each call bounded.
MAX_CHUNK_CHARS = 300
#: Inputs of at most this many words use the word table, not the model's guess.
SHORT_INPUT_WORDS = 3
# One-letter prefixes tried when a word is not in the table as written (the
# rest is looked up whole, so وال... finds ال...); لل is لِ + the article.
_PREFIXES = {"و": "وَ", "ف": "فَ", "ب": "بِ", "ل": "لِ", "ك": "كَ"}


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


def _has_letter(text: str) -> bool:
    return any(ch in C.LETTERS for ch in text)


def _letter_core(token: str) -> tuple[int, int]:
    """Start and end of the Arabic letters (and marks) inside ``token``."""
    start, end = 0, len(token)
    while start < end and token[start] not in C.LETTERS:
        start += 1
    while end > start and token[end - 1] not in C.LETTERS and token[end - 1] not in C.DIACRITIC_SET:
        end -= 1
    return start, end


def _with_case_ending(known: str, guess: str) -> str:
    """``known`` (a table entry, no case ending) with the case ending of the model's ``guess``.

    A sukun at the end of ``known`` belongs to the word (مِنْ) and wins.
    """
    ours, theirs = split_marks(known), split_marks(guess)
    if len(ours) != len(theirs) or C.SUKUN in ours[-1][1]:
        return known
    last = len(ours) - 1
    if ours[-1][0] in (C.ALEF, C.ALEF_MAKSURA) and C.FATHATAN in theirs[-2][1]:
        last -= 1  # كِتَابًا: the ending sits before the final alef
    ending = "".join(mark for mark in theirs[last][1] if mark != C.SHADDA)
    shadda = C.SHADDA if C.SHADDA in ours[last][1] else ""
    ours[last] = (ours[last][0], shadda + ending)
    return "".join(letter + marks for letter, marks in ours)


def with_article_marks(word: str) -> str:
    """The article's marks made right: a bare alef, sukun on the lam before a moon
    letter, the lam silent and a shadda on a sun letter (الْقَمَر, الشَّمْس, وَالْ, بِالْ,
    لِلْ). The model, alone with one word, often puts a shadda or vowel on the lam."""
    pairs = split_marks(word)
    letters = "".join(letter for letter, _ in pairs)
    if letters.startswith("لل") and len(letters) >= 4:
        pairs[0] = (C.LAM, C.KASRA)
        lam = 1
    elif letters.startswith("ال") and len(letters) >= 4:
        lam = 1
    elif letters[:1] in _PREFIXES and letters[1:3] == "ال" and len(letters) >= 5:
        pairs[0] = (letters[0], _PREFIXES[letters[0]][1:])
        lam = 2
    else:
        return word
    if lam == 2 or not letters.startswith("لل"):
        pairs[lam - 1] = (C.ALEF, "")
    first, marks = pairs[lam + 1]
    marks = marks.replace(C.SHADDA, "").replace(C.SUKUN, "")
    if first in C.SUN_LETTERS:
        pairs[lam] = (C.LAM, "")
        pairs[lam + 1] = (first, C.SHADDA + marks)
    else:
        pairs[lam] = (C.LAM, C.SUKUN)
        pairs[lam + 1] = (first, marks)
    return "".join(letter + marks for letter, marks in pairs)


def _vocalize_word(word: str) -> str | None:
    """A word from the table, directly or after a one-letter prefix (لل: لِ + the article)."""
    table = shipped_vocalizations()
    found = table.vocalize(word)
    if found is not None or len(word) < 4:  # a prefix leaves a stem of 3+ letters
        return found
    if word.startswith("لل"):
        definite = table.vocalize(C.ALEF + word[1:])
        return None if definite is None else _PREFIXES["ل"] + definite[1:]
    if word[0] in _PREFIXES:
        rest = table.vocalize(word[1:])
        return None if rest is None else _PREFIXES[word[0]] + rest
    return None


def _predict_short(text: str, word_cache: bool) -> str:
    """Marks for a short input: the word table where it knows the word, else the model.

    A lone word is read in pause, so it gets no case ending (and no model call
    when the table knows it); two or three words take their case endings from
    the model, which sees them together.
    """
    tokens = strip_diacritics(text).split(" ")
    known: list[str | None] = []  # the vocalized letters of each token the table knows
    for token in tokens:
        start, end = _letter_core(token)
        known.append(_vocalize_word(token[start:end]) if end > start else None)
    words = sum(1 for token in tokens if _has_letter(token))
    out = []
    pairs = list(zip(known, tokens, strict=True))
    if words == 1 and all(core is not None or not _has_letter(t) for core, t in pairs):
        for core, token in pairs:
            start, end = _letter_core(token)
            out.append(token if core is None else token[:start] + core + token[end:])
        return " ".join(out)
    guessed = _predict(text, word_cache).split(" ")
    for core, guess in zip(known, guessed, strict=True):
        start, end = _letter_core(guess)
        if end == start:
            out.append(guess)
            continue
        if core is None:
            core = with_article_marks(guess[start:end])
            core = without_case_ending(core) if words == 1 else core
        elif words > 1:
            core = _with_case_ending(core, guess[start:end])
        out.append(guess[:start] + core + guess[end:])
    return " ".join(out)


def diacritize(text: str, *, word_cache: bool = True) -> str:
    """Normalize ``text`` and fill in missing diacritics (model, or word table for short inputs).

    ``word_cache=False`` skips the package's 30 MB word cache (faster to load,
    less accurate; see docs/text-frontend.md for both error rates).
    """
    text = normalize(text)
    if not _has_letter(text):
        return text
    out = []
    for chunk in _chunks(text):
        if not _has_letter(chunk):
            out.append(chunk)
            continue
        words = sum(1 for token in chunk.split(" ") if _has_letter(token))
        predict = _predict_short if words <= SHORT_INPUT_WORDS else _predict
        out.append(make_possible(merge_diacritics(chunk, predict(chunk, word_cache))))
    return " ".join(out)


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
