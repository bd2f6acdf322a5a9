"""``TextFrontend``: raw text in, the exact string a TTS model reads out.

One object applies a ``FrontendConfig`` in a fixed order: normalize ->
verbalize -> (diacritize) -> normalize again (fold/strip apply to the new
words too) -> map punctuation -> romanize -> make sure a romanized text ends a
sentence. Training and inference both go through ``prepare``, which is what
makes "the text front-end settings travel inside the checkpoint" true.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from natiq.common.errors import InputTextError
from natiq.text import chars as C
from natiq.text.config import FrontendConfig
from natiq.text.normalize import normalize
from natiq.text.punctuation import ends_sentence, map_punctuation, split_sentences
from natiq.text.romanize import get_scheme
from natiq.text.verbalize import verbalize


@dataclass(frozen=True)
class PreparedText:
    """``original`` as given; ``spoken`` the normalized, verbalized Arabic a
    listener hears (use it as the ASR reference); ``model_text`` what the
    model's tokenizer sees (Arabic script or a romanization)."""

    original: str
    spoken: str
    model_text: str


def has_arabic_letter(text: str) -> bool:
    return any(C.is_arabic_letter(char) for char in text)


class TextFrontend:
    """Prepare text exactly as a given ``FrontendConfig`` says."""

    def __init__(self, config: FrontendConfig | None = None) -> None:
        self.config = config or FrontendConfig()

    @classmethod
    def from_dir(cls, path: str | Path) -> TextFrontend:
        """The front-end saved in a checkpoint/export directory (``natiq_frontend.json``)."""
        return cls(FrontendConfig.load(path))

    def __repr__(self) -> str:
        return f"TextFrontend({self.config!r})"

    def spoken(self, text: str) -> str:
        """Normalized and verbalized Arabic (no punctuation mapping, no romanization)."""
        config = self.config
        if not isinstance(text, str):
            raise InputTextError(f"text must be a string, not {type(text).__name__}")
        spoken = normalize(text, diacritics=config.diacritics, fold=config.fold)
        if not spoken:
            raise InputTextError(
                "the text is empty (or only whitespace/invisible characters): nothing to say"
            )
        if config.verbalize:
            spoken = verbalize(spoken, diacritics=config.diacritics).spoken
        if config.diacritize == "auto" and config.diacritics == "keep":
            from natiq.text.diacritize import diacritize

            spoken = diacritize(spoken)
        spoken = normalize(spoken, diacritics=config.diacritics, fold=config.fold)
        if not has_arabic_letter(spoken):
            hint = "" if config.verbalize else " (verbalize is off, so digits are not read)"
            raise InputTextError(
                f"no Arabic words to speak in {_preview(text)!r}{hint}: natiq reads Arabic text, "
                "numbers, dates, currencies and acronyms"
            )
        return spoken

    def prepare(self, text: str) -> PreparedText:
        """Run the whole front-end; raises ``InputTextError`` if nothing is speakable."""
        spoken = self.spoken(text)
        model_text = map_punctuation(spoken) if self.config.map_punctuation else spoken
        if self.config.scheme is not None:
            # spoken is already normalized; mapping punctuation keeps it so.
            scheme = get_scheme(self.config.scheme)
            model_text = scheme.from_normalized(model_text, pausal=self.config.pausal).strip()
            if not any(char.isalnum() for char in model_text):
                # e.g. a lone hamza seat that the latin scheme does not write
                raise InputTextError(
                    f"nothing speakable is left of {_preview(text)!r} after "
                    f"{self.config.scheme} romanization"
                )
            # Pocket TTS treats text without a final . ! ? as unfinished.
            if model_text and not ends_sentence(model_text):
                model_text += "."
        return PreparedText(original=text, spoken=spoken, model_text=model_text)

    def sentences(self, text: str, *, max_chars: int | None = None) -> list[str]:
        """Split raw text into sentences that each contain something to say."""
        if not isinstance(text, str):
            raise InputTextError(f"text must be a string, not {type(text).__name__}")
        pieces = split_sentences(text, max_chars=max_chars)
        return [piece for piece in pieces if any(char.isalnum() for char in piece)]


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
