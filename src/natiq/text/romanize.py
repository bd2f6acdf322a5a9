"""The registry of romanization schemes: one name, one way to spell Arabic in ASCII.

``SCHEMES`` maps a scheme name to a ``Scheme`` record; ``romanize`` and
``deromanize`` look the name up there, so a checkpoint's ``natiq_frontend.json``
only needs to store the name. Only ``buckwalter`` is reversible; it spells what
is written, while ``arabizi``, ``latin`` and ``ipa`` spell what is read
(``natiq.text.reading``: hamzat al-wasl, pausal forms when ``pausal``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from natiq.common.errors import InputTextError
from natiq.text.buckwalter import from_buckwalter, romanize_buckwalter, to_buckwalter
from natiq.text.config import FrontendConfigError
from natiq.text.ipa import ipa_from_normalized, romanize_ipa
from natiq.text.phonetic import ARABIZI, LATIN, PhoneticRomanizer, romanize_arabizi, romanize_latin


class Speller(Protocol):
    def __call__(self, text: str, *, pausal: bool = True) -> str: ...


def _buckwalter(text: str, *, pausal: bool = True) -> str:
    return romanize_buckwalter(text)  # a transliteration: what is written, never pausal


def _buckwalter_normalized(text: str, *, pausal: bool = True) -> str:
    return to_buckwalter(text)


@dataclass(frozen=True)
class Scheme:
    name: str
    #: normalize then spell; ``pausal`` applies pausal forms (phonetic schemes only)
    romanize: Speller
    deromanize: Callable[[str], str] | None
    #: True when capital letters are distinct symbols (a TTS must not re-case them).
    case_sensitive: bool
    ascii_only: bool
    description: str
    #: the same spelling for text that is already ``normalize``d (skips a pass)
    from_normalized: Speller


SCHEMES: dict[str, Scheme] = {
    "buckwalter": Scheme(
        "buckwalter",
        _buckwalter,
        from_buckwalter,
        case_sensitive=True,
        ascii_only=False,
        description="Buckwalter transliteration, one symbol per letter/mark, exactly reversible",
        from_normalized=_buckwalter_normalized,
    ),
    "arabizi": Scheme(
        "arabizi",
        romanize_arabizi,
        None,
        case_sensitive=False,
        ascii_only=True,
        description="chat alphabet (2 3 5 6 7 9), vowels from diacritics, shadda doubled",
        from_normalized=PhoneticRomanizer(ARABIZI),
    ),
    "latin": Scheme(
        "latin",
        romanize_latin,
        None,
        case_sensitive=False,
        ascii_only=True,
        description="digit-free phonetic ASCII for English tokenizers (marhaban bikum)",
        from_normalized=PhoneticRomanizer(LATIN),
    ),
    "ipa": Scheme(
        "ipa",
        romanize_ipa,
        None,
        case_sensitive=True,
        ascii_only=False,
        description="IPA phonemes from espeak-ng's Arabic voice (needs espeak-ng)",
        from_normalized=ipa_from_normalized,
    ),
}


def get_scheme(name: str) -> Scheme:
    """The registered scheme ``name``; a clear error listing the known ones otherwise."""
    try:
        return SCHEMES[name]
    except KeyError:
        known = ", ".join(sorted(SCHEMES))
        raise FrontendConfigError(
            f"unknown romanization scheme {name!r}; known schemes: {known}"
        ) from None


def romanize(text: str, scheme: str, *, pausal: bool = True) -> str:
    """Normalize ``text`` (diacritics kept) and spell it in ``scheme``.

    ``pausal`` (phonetic schemes only) reads the last word before a pause as in
    speech (no case ending); ``False`` keeps every case ending.
    """
    return get_scheme(scheme).romanize(text, pausal=pausal)


def deromanize(text: str, scheme: str) -> str:
    """Back to Arabic script; only reversible schemes (``buckwalter``) support this."""
    found = get_scheme(scheme)
    if found.deromanize is None:
        reversible = ", ".join(name for name, s in SCHEMES.items() if s.deromanize is not None)
        raise InputTextError(f"scheme {scheme!r} is one-way; reversible schemes: {reversible}")
    return found.deromanize(text)
