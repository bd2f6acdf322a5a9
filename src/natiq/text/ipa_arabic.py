"""Foreign words written in Arabic letters, from their IPA (for Arabic-script models).

A model that reads only Arabic script cannot read "Python"; an Arabic writer
would write بَايْثَن. The spelling of English (or French, ...) says little
about its sounds, so the word is first phonemized by espeak-ng in its own
language (``natiq.text.ipa.phonemize``) and the phonemes are then written
with the Arabic letter closest to each sound, fully diacritized:

- consonants: p b -> ب, t ɾ -> ت, g -> غ (غوغل), v -> ف, tʃ -> تش, dʒ ʒ -> ج,
  ŋ -> نغ, θ ð ʃ h x ... -> ث ذ ش ه خ, a nasal vowel adds ن; a consonant before another consonant or
  at the end takes sukun;
- short vowels -> fatha (a æ ʌ ə ɐ ɒ), kasra (i ɪ e ɛ), damma (u ʊ o ɔ);
  long vowels and diphthongs add their letter: iː -> ِي, uː oʊ ɔː -> ُو, ɑː -> َا,
  aɪ -> َايْ, aʊ -> َاوْ, eɪ -> ِي; r-coloured vowels add ر (ɜː -> ِرْ, ɚ -> َرْ);
- a vowel that starts a word sits on أ/إ (آ for a long a); a vowel after
  another vowel sits on ي, و or ء; a short vowel that ends a word is written
  long (Tesla -> تِسْلَا), as Arabic writes loanwords.

Pure Python apart from the espeak-ng call; no model.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from natiq.text import chars as C
from natiq.text.ipa import phonemize
from natiq.text.normalize import normalize

FATHA, DAMMA, KASRA, SUKUN = C.FATHA, C.DAMMA, C.KASRA, C.SUKUN
_LONG_OF = {FATHA: C.ALEF, KASRA: C.YEH, DAMMA: C.WAW}

CONSONANTS: dict[str, str] = {
    "p": "ب",
    "b": "ب",
    "t": "ت",
    "ɾ": "ت",
    "d": "د",
    "k": "ك",
    "c": "ك",
    "q": "ق",
    "ɡ": "غ",
    "g": "غ",
    "f": "ف",
    "v": "ف",
    "θ": "ث",
    "ð": "ذ",
    "s": "س",
    "z": "ز",
    "ʃ": "ش",
    "ç": "ش",
    "ʒ": "ج",
    "h": "ه",
    "x": "خ",
    "χ": "خ",
    "ħ": "ح",
    "ʕ": "ع",
    "tʃ": "تش",
    "dʒ": "ج",
    "ts": "تس",
    "m": "م",
    "n": "ن",
    "ɲ": "ني",
    "ŋ": "نغ",
    "l": "ل",
    "ɫ": "ل",
    "ʎ": "لي",
    "ɹ": "ر",
    "r": "ر",
    "ʀ": "ر",
    "ʁ": "ر",
    "w": "و",
    "ɥ": "و",
    "j": "ي",
    "ʔ": "ء",
}

# vowel -> (short mark, long letter or "", consonant that follows it or "")
VOWELS: dict[str, tuple[str, str, str]] = {
    "aɪ": (FATHA, C.ALEF, C.YEH),
    "aʊ": (FATHA, C.ALEF, C.WAW),
    "eɪ": (KASRA, C.YEH, ""),
    "oʊ": (DAMMA, C.WAW, ""),
    "əʊ": (DAMMA, C.WAW, ""),
    "ɔɪ": (DAMMA, C.WAW, C.YEH),
    "iː": (KASRA, C.YEH, ""),
    "eː": (KASRA, C.YEH, ""),
    "uː": (DAMMA, C.WAW, ""),
    "oː": (DAMMA, C.WAW, ""),
    "ɔː": (DAMMA, C.WAW, ""),
    "ɑː": (FATHA, C.ALEF, ""),
    "aː": (FATHA, C.ALEF, ""),
    "ɜː": (KASRA, "", C.REH),
    "ɝ": (KASRA, "", C.REH),
    "ɚ": (FATHA, "", C.REH),
    "ɑ": (FATHA, C.ALEF, ""),
    "a": (FATHA, "", ""),
    "æ": (FATHA, "", ""),
    "ɐ": (FATHA, "", ""),
    "ʌ": (FATHA, "", ""),
    "ə": (FATHA, "", ""),
    "ɒ": (FATHA, "", ""),
    "œ": (FATHA, "", ""),
    "i": (KASRA, "", ""),
    "ɪ": (KASRA, "", ""),
    "ᵻ": (KASRA, "", ""),
    "ɨ": (KASRA, "", ""),
    "e": (KASRA, "", ""),
    "ɛ": (KASRA, "", ""),
    "y": (KASRA, "", ""),
    "ø": (KASRA, "", ""),
    "u": (DAMMA, "", ""),
    "ʊ": (DAMMA, "", ""),
    "o": (DAMMA, "", ""),
    "ɔ": (DAMMA, "", ""),
}
_SYMBOLS = sorted([*CONSONANTS, *VOWELS], key=len, reverse=True)
_IGNORED = frozenset("ˈˌ-‿'|.")


def ipa_word_to_arabic(word: str) -> str:
    """One IPA word (espeak-ng's notation) as diacritized Arabic letters."""
    letters: list[list[str]] = []  # [letter, mark]; mark None = not decided yet

    def consonant(written: str) -> None:
        for letter in written[:-1]:
            letters.append([letter, SUKUN])
        letters.append([written[-1], None])

    def vowel(mark: str, long: str, after: str) -> None:
        if letters and letters[-1][1] is None:
            letters[-1][1] = mark
        elif not letters:
            if mark == FATHA and long == C.ALEF:
                letters.append([C.ALEF_MADDA, ""])
                long = ""
            else:
                letters.append([C.ALEF_HAMZA_BELOW if mark == KASRA else C.ALEF_HAMZA_ABOVE, mark])
        else:
            previous = letters[-1]
            carrier = (
                C.YEH
                if previous[0] == C.YEH or previous[1] == KASRA
                else C.WAW
                if previous[0] == C.WAW or previous[1] == DAMMA
                else C.HAMZA
            )
            letters.append([carrier, mark])
        if long:
            letters.append([long, ""])
        if after:
            consonant(after)

    word = word.replace("\u0303", "n")  # a nasal vowel (French on, in) is written with ن
    text = "".join(char for char in word if not unicodedata.combining(char))
    index = 0
    while index < len(text):
        if text[index] in _IGNORED or text[index] == "ː":
            index += 1
            continue
        symbol = next((s for s in _SYMBOLS if text.startswith(s, index)), None)
        if symbol is None:  # a sign espeak-ng rarely prints: skip it
            index += 1
            continue
        index += len(symbol)
        if symbol in CONSONANTS:
            consonant(CONSONANTS[symbol])
        else:
            vowel(*VOWELS[symbol])
    if not letters:
        return ""
    last = letters[-1]
    if last[1] in _LONG_OF:
        letters.append([_LONG_OF[last[1]], ""])  # a final short vowel is written long
    return normalize(
        "".join(letter + (SUKUN if mark is None else mark) for letter, mark in letters)
    )


@lru_cache(maxsize=4096)
def transliterate(text: str, *, voice: str = "en-us", join_words: bool = False) -> str:
    """``text`` in language ``voice`` (an espeak-ng voice) written in Arabic letters.

    ``join_words`` writes the result as one word (espeak-ng splits some single
    words, such as iPhone -> "aɪ foʊn").
    """
    words = [ipa_word_to_arabic(part) for part in phonemize(text, voice=voice).split()]
    return ("" if join_words else " ").join(word for word in words if word)
