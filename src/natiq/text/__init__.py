"""natiq's Arabic text front-end: pure Python, no torch, no numpy.

Raw text -> ``normalize`` -> ``verbalize`` -> (``diacritize``) ->
``map_punctuation`` -> ``romanize`` -> what a TTS model reads.
``TextFrontend(FrontendConfig(...)).prepare(text)`` runs the whole chain with
the settings a checkpoint was trained with.
"""

from __future__ import annotations

from natiq.text.config import FRONTEND_FILENAME, FrontendConfig, FrontendConfigError
from natiq.text.diacritize import diacritize, merge_diacritics
from natiq.text.frontend import PreparedText, TextFrontend
from natiq.text.ipa import phonemize
from natiq.text.normalize import fold_letters, normalize, strip_diacritics
from natiq.text.numbers import cardinal, count, ordinal
from natiq.text.punctuation import map_punctuation, split_sentences
from natiq.text.romanize import SCHEMES, Scheme, deromanize, get_scheme, romanize
from natiq.text.verbalize import Span, VerbalizedText, verbalize

__all__ = [
    "FRONTEND_FILENAME",
    "SCHEMES",
    "FrontendConfig",
    "FrontendConfigError",
    "PreparedText",
    "Scheme",
    "Span",
    "TextFrontend",
    "VerbalizedText",
    "cardinal",
    "count",
    "deromanize",
    "diacritize",
    "fold_letters",
    "get_scheme",
    "map_punctuation",
    "merge_diacritics",
    "normalize",
    "ordinal",
    "phonemize",
    "romanize",
    "split_sentences",
    "strip_diacritics",
    "verbalize",
]
