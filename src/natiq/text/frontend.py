"""``TextFrontend``: raw text in, the exact string a TTS model reads out.

One object applies a ``FrontendConfig`` in a fixed order: normalize ->
user lexicon -> Latin words (``code_switch``) -> verbalize -> (diacritize) ->
normalize again (fold/strip apply to the new words too) -> map punctuation ->
romanize -> make sure a romanized text ends a sentence. Training and inference
both go through ``prepare``, which is what makes "the text front-end settings
travel inside the checkpoint" true.

``prepare_pieces`` prepares one sentence given as several ``Piece`` s (SSML,
English runs): ``spoken`` pieces skip the steps up to diacritization,
``model`` pieces skip every step and reach the model as written; the other
pieces are romanized together, so a sentence of one plain piece is prepared
exactly as ``prepare`` prepares its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from natiq.common.errors import InputTextError
from natiq.text import chars as C
from natiq.text import code_switch
from natiq.text.config import FrontendConfig
from natiq.text.normalize import collapse_whitespace, normalize
from natiq.text.pieces import Piece
from natiq.text.punctuation import ends_sentence, map_punctuation, split_sentences
from natiq.text.romanize import get_scheme
from natiq.text.user_lexicon import Lexicon
from natiq.text.verbalize import verbalize


@dataclass(frozen=True)
class PreparedText:
    """``original`` as given; ``spoken`` the normalized, verbalized Arabic a
    listener hears (use it as the ASR reference); ``model_text`` what the
    model's tokenizer sees (Arabic script or a romanization)."""

    original: str
    spoken: str
    model_text: str


_ARABIC_LETTER = re.compile("[" + "".join(sorted(C.LETTERS | C.EXTRA_LETTERS)) + "]")


def has_arabic_letter(text: str) -> bool:
    return _ARABIC_LETTER.search(text) is not None


class _Unit(NamedTuple):
    """One prepared run of a sentence: what is said, and the model's text if fixed."""

    spoken: str
    model: str | None = None
    space_before: bool = False
    space_after: bool = False


class TextFrontend:
    """Prepare text exactly as a given ``FrontendConfig`` says."""

    def __init__(self, config: FrontendConfig | None = None) -> None:
        self.config = config or FrontendConfig()
        self.lexicon = Lexicon(self.config.lexicon)
        self.latin_mode = code_switch.latin_mode(self.config.latin, self.config.scheme)

    @classmethod
    def from_dir(cls, path: str | Path) -> TextFrontend:
        """The front-end saved in a checkpoint/export directory (``natiq_frontend.json``)."""
        return cls(FrontendConfig.load(path))

    def __repr__(self) -> str:
        return f"TextFrontend({self.config!r})"

    def spoken(self, text: str) -> str:
        """Normalized and verbalized Arabic (no punctuation mapping, no romanization)."""
        return self._spoken(self._units((Piece(_checked(text)),)), text)

    def prepare(self, text: str) -> PreparedText:
        """Run the whole front-end; raises ``InputTextError`` if nothing is speakable."""
        text = _checked(text)
        if code_switch.has_latin_letter(text) or len(self.lexicon):
            return self.prepare_pieces((Piece(text),), original=text)
        # the common case (one run, no Latin letters, no lexicon): prepare_pieces' steps
        # without its per-piece book-keeping, which costs ~15% on short sentences
        config = self.config
        words = self._words(normalize(text, diacritics=config.diacritics, fold=config.fold))
        units = [_Unit(words)]
        return self._prepared(text, self._spoken(units, text), self._romanized(words))

    def prepare_pieces(
        self, pieces: Sequence[Piece], *, original: str | None = None
    ) -> PreparedText:
        """Prepare one sentence given as ``pieces``; ``original`` is what the user wrote."""
        if original is None:
            original = "".join(piece.original for piece in pieces)
        units = self._units(pieces)
        return self._prepared(original, self._spoken(units, original), self._model_text(units))

    def _prepared(self, original: str, spoken: str, model_text: str) -> PreparedText:
        """The last checks and the final full stop of a romanized ``model_text``."""
        if self.config.scheme is not None:
            if not any(char.isalnum() for char in model_text):
                # e.g. a lone hamza seat that the latin scheme does not write
                raise InputTextError(
                    f"nothing speakable is left of {_preview(original)!r} after "
                    f"{self.config.scheme} romanization"
                )
            # Pocket TTS treats text without a final . ! ? as unfinished; a clause
            # mark left at the end (a sentence cut at a comma) becomes the full stop.
            if model_text and not ends_sentence(model_text):
                model_text = model_text.rstrip(",;:").rstrip() + "."
        return PreparedText(original=original, spoken=spoken, model_text=model_text)

    def _units(self, pieces: Sequence[Piece]) -> list[_Unit]:
        """Each piece through the steps its kind needs, up to ``spoken`` (and fixed model text)."""
        config = self.config
        latin = any(code_switch.has_latin_letter(piece.text) for piece in pieces)
        # Latin words are handled only in text that has Arabic letters
        arabic = latin and any(
            _ARABIC_LETTER.search(piece.text) for piece in pieces if piece.kind != "model"
        )
        units: list[_Unit] = []
        for piece in pieces:
            before, after = piece.text[:1].isspace(), piece.text[-1:].isspace()
            if piece.kind == "model":
                said = normalize(piece.said or piece.text)
                units.append(_Unit(said, normalize(piece.text), before, after))
                continue
            text = normalize(piece.text, diacritics=config.diacritics, fold=config.fold)
            if piece.kind == "spoken":
                units.append(_Unit(text, None, before, after))
                continue
            text = self.lexicon.apply(text)
            # a span marked as another language that holds Arabic letters is read as
            # Arabic (an xml:lang="en-US" copied from a template must not make it English)
            foreign = (
                piece.lang is not None
                and not code_switch.is_arabic_language(piece.lang)
                and not _ARABIC_LETTER.search(text)
            )
            if foreign:
                units.append(self._foreign(text, piece.lang or "en", before, after))
            elif arabic and self.latin_mode == "pass":
                units.extend(self._with_latin_runs(text, before, after))
            else:
                if arabic:
                    text = code_switch.transliterate_latin(text)
                units.append(_Unit(self._words(text), None, before, after))
        return units

    def _words(self, text: str) -> str:
        """Verbalize, (diacritize) and normalize normalized text."""
        config = self.config
        if not text:
            return text
        if config.verbalize:
            text = verbalize(text, diacritics=config.diacritics).spoken
        if config.diacritize == "auto" and config.diacritics == "keep":
            from natiq.text.diacritize import diacritize

            text = diacritize(text)
        return normalize(text, diacritics=config.diacritics, fold=config.fold)

    def _with_latin_runs(self, text: str, before: bool, after: bool) -> list[_Unit]:
        """``pass`` mode: the Latin runs of ``text`` reach the model as written."""
        units: list[_Unit] = []
        position = 0
        for start, end in code_switch.latin_runs(text):
            spaced_before = start > 0 and text[start - 1].isspace()
            if text[position:start].strip():
                units.append(_Unit(self._words(text[position:start]), None, before, spaced_before))
            spaced_after = end < len(text) and text[end].isspace()
            units.append(self._foreign(text[start:end], "en", spaced_before, spaced_after))
            before = spaced_after
            position = end
        if text[position:].strip() or not units:
            units.append(_Unit(self._words(text[position:]), None, before, after))
        else:
            last = units[-1]
            units[-1] = _Unit(last.spoken, last.model, last.space_before, after)
        return units

    def _foreign(self, text: str, lang: str, before: bool, after: bool) -> _Unit:
        """A run in another language: as written (with its numbers in words) or in Arabic letters."""
        voice = code_switch.espeak_voice(lang)
        if self.latin_mode == "transliterate":
            from natiq.text.ipa_arabic import transliterate

            arabic = transliterate(text, voice=voice)
            spoken = normalize(arabic, diacritics=self.config.diacritics, fold=self.config.fold)
            return _Unit(spoken, None, before, after)
        said = code_switch.words_for_numbers(text.strip(), lang=lang.split("-")[0].lower())
        if self.config.scheme == "ipa":
            from natiq.text.ipa import phonemize

            return _Unit(said, phonemize(text, voice=voice), before, after)
        return _Unit(said, said, before, after)

    def _spoken(self, units: list[_Unit], original: str) -> str:
        spoken = _join([unit.spoken for unit in units], units)
        if not spoken:
            raise InputTextError(
                "the text is empty (or only whitespace/invisible characters): nothing to say"
            )
        if not has_arabic_letter(spoken) and not any(unit.model for unit in units):
            hint = "" if self.config.verbalize else " (verbalize is off, so digits are not read)"
            raise InputTextError(
                f"no Arabic words to speak in {_preview(original)!r}{hint}: natiq reads Arabic text, "
                "numbers, dates, currencies and acronyms"
            )
        return spoken

    def _model_text(self, units: list[_Unit]) -> str:
        """Punctuation mapped and romanized run by run; fixed model text kept between them."""
        if len(units) == 1 and units[0].model is None:  # plain text: one run
            return self._romanized(units[0].spoken)
        texts: list[str] = []
        index = 0
        while index < len(units):
            if units[index].model is not None:
                texts.append(units[index].model or "")
                index += 1
                continue
            end = index
            while end < len(units) and units[end].model is None:
                end += 1
            group = units[index:end]
            texts.append(self._romanized(_join([unit.spoken for unit in group], group)))
            index = end
        return _join(texts, _boundaries(units))

    def _romanized(self, spoken: str) -> str:
        model_text = map_punctuation(spoken) if self.config.map_punctuation else spoken
        if self.config.scheme is not None and model_text:
            # spoken is already normalized; mapping punctuation keeps it so.
            scheme = get_scheme(self.config.scheme)
            model_text = scheme.from_normalized(model_text, pausal=self.config.pausal).strip()
        return model_text

    def sentences(self, text: str, *, max_chars: int | None = None) -> list[str]:
        """Split raw text into sentences that each contain something to say."""
        if not isinstance(text, str):
            raise InputTextError(f"text must be a string, not {type(text).__name__}")
        pieces = split_sentences(text, max_chars=max_chars)
        return [piece for piece in pieces if any(char.isalnum() for char in piece)]


def _checked(text: str) -> str:
    if not isinstance(text, str):
        raise InputTextError(f"text must be a string, not {type(text).__name__}")
    return text


def _join(texts: list[str], units: Sequence[_Unit]) -> str:
    """Join the runs of one sentence, with a space where the written text had one."""
    if len(texts) == 1:
        return texts[0]
    out = ""
    for index, (text, unit) in enumerate(zip(texts, units, strict=True)):
        if not text:
            continue
        spaced = index and (unit.space_before or units[index - 1].space_after)
        out += (" " if spaced and out else "") + text
    return collapse_whitespace(out)


def _boundaries(units: list[_Unit]) -> list[_Unit]:
    """One unit per group of ``_model_text`` with the spacing of its first and last unit."""
    out: list[_Unit] = []
    index = 0
    while index < len(units):
        end = index + 1
        if units[index].model is None:
            while end < len(units) and units[end].model is None:
                end += 1
        out.append(_Unit("", None, units[index].space_before, units[end - 1].space_after))
        index = end
    return out


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
