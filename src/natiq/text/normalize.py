"""Unicode clean-up of Arabic text: the first stage every other stage relies on.

``normalize`` turns whatever a user, a web page or a corpus hands us into one
canonical spelling: NFC; presentation forms and ligatures expanded; tatweel,
bidi controls, zero-width characters, control characters, lone surrogates and
Quranic annotation signs removed; Arabic-Indic and Persian digits made Western;
whitespace collapsed to single spaces; shadda written *before* the short vowel.
It never changes a letter unless ``fold`` asks for it, so romanization schemes
can be exactly reversible against its output. It must stay fast (str.translate
and precompiled regexes only) because it runs on every training transcript.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Literal

from natiq.text import chars as C

DiacriticsMode = Literal["keep", "strip"]


def _presentation_forms() -> dict[int, str]:
    """Compatibility decompositions of Arabic presentation forms and small/full-width signs."""
    table: dict[int, str] = {}
    ranges = [(0xFB50, 0xFDFF), (0xFE70, 0xFEFF), (0xFE50, 0xFE6F), (0xFF01, 0xFF5E)]
    for start, end in ranges:
        for code in range(start, end + 1):
            char = chr(code)
            expanded = unicodedata.normalize("NFKC", char)
            if expanded == char:
                continue
            # Isolated harakat forms (U+FE70...) decompose to "space + mark": keep the mark.
            if expanded.startswith(" ") and all(unicodedata.combining(c) for c in expanded[1:]):
                expanded = expanded[1:]
            table[code] = expanded
    # BISMILLAH AR-RAHMAN AR-RAHEEM has no decomposition in Unicode.
    table[0xFDFD] = "بسم الله الرحمن الرحيم"
    return table


def _build_clean_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict(_presentation_forms())
    deleted = [
        *range(0x00, 0x09),
        0x0B,
        0x0C,
        *range(0x0E, 0x20),
        *range(0x7F, 0x85),
        *range(0x86, 0xA0),
        0x00AD,  # soft hyphen
        0x0640,  # tatweel
        0x061C,  # Arabic letter mark
        0x180E,
        *range(0x200B, 0x2010),  # ZWSP, ZWNJ, ZWJ, LRM, RLM
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2060, 0x2065),  # word joiner, invisible operators
        *range(0x2066, 0x206A),  # bidi isolates
        0xFEFF,  # BOM / zero-width no-break space
        0xFFFD,  # replacement character (what undecodable bytes became)
        0xFFFE,
        0xFFFF,
        *range(0xD800, 0xE000),  # lone surrogates (only reachable from broken decoding)
        # Quranic annotation signs: honorifics, small high letters, pause and
        # recitation marks, end of ayah, sajdah, and the extended Quranic block.
        *range(0x0610, 0x0618),
        *range(0x0656, 0x0660),
        *range(0x06D6, 0x06EE),
        *range(0x08D3, 0x08F0),
        *range(0x08F3, 0x0900),
    ]
    for code in deleted:
        table[code] = None
    for code in (0x09, 0x0A, 0x0D, 0x85, 0x2028, 0x2029):
        table[code] = " "
    table.update(
        {
            0x0618: C.FATHA,  # small fatha
            0x0619: C.DAMMA,  # small damma
            0x061A: C.KASRA,  # small kasra
            0x08F0: C.FATHATAN,  # open tanween forms
            0x08F1: C.DAMMATAN,
            0x08F2: C.KASRATAN,
            0x06A9: C.KAF,  # Persian keheh
            0x06CC: C.YEH,  # Farsi yeh
            0x06D4: ".",  # Arabic full stop
            ord(C.ARABIC_DECIMAL): ".",
            ord(C.ARABIC_THOUSANDS): ",",
            ord(C.ARABIC_PERCENT): "%",
        }
    )
    for index, digit in enumerate(C.ARABIC_INDIC_DIGITS):
        table[ord(digit)] = str(index)
    for index, digit in enumerate(C.PERSIAN_DIGITS):
        table[ord(digit)] = str(index)
    return table


_CLEAN = _build_clean_table()


def _char_class(codes: list[int]) -> str:
    """A regex character class matching exactly ``codes`` (written as ranges)."""
    codes = sorted(codes)
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
        start = prev = code
    return "[" + "".join(parts) + "]"


# str.translate looks every character up in a dict (~3M chars/s); regex
# deletion and str.replace run in C at 10-50x that. So: delete with one regex,
# fold the ten digits of each script with str.replace, and leave translate for
# the rare characters (presentation forms, odd spaces) only when present.
_DELETED = [code for code, value in _CLEAN.items() if value is None]
_DELETE = re.compile(_char_class(_DELETED))
_DIGIT_PAIRS = [
    (chr(code), value)
    for code, value in _CLEAN.items()
    if value is not None
    and chr(code)
    in (
        C.ARABIC_INDIC_DIGITS
        + C.PERSIAN_DIGITS
        + C.ARABIC_DECIMAL
        + C.ARABIC_THOUSANDS
        + C.ARABIC_PERCENT
    )
]
_DIGITS = re.compile(_char_class([ord(pair[0]) for pair in _DIGIT_PAIRS]))
# Emoji and the pieces of emoji sequences (skin tones, flags, tags, variation
# selectors, the keycap mark; ZWJ is deleted above): never spoken, removed.
_EMOJI = [
    *range(0x2300, 0x27C0),
    *range(0x2B00, 0x2C00),
    *range(0xFE00, 0xFE10),
    0x20E3,
]
_RARE: dict[int, str | None] = {
    code: value
    for code, value in _CLEAN.items()
    if value is not None and chr(code) not in dict(_DIGIT_PAIRS)
}
_RARE.update(dict.fromkeys(_EMOJI))
# Emoji beyond U+FFFF (pictographs, flags, tags) get their own pattern: astral
# ranges in ``_NEEDS_RARE`` would make every scan of it twice as slow.
_ASTRAL_EMOJI = re.compile("[\U0001f000-\U0001faff\U000e0000-\U000e007f]+")


def _may_hold_astral(text: str) -> bool:
    """False only when ``text`` surely has no character beyond U+FFFF, in O(1).

    CPython stores a string with 1, 2 or 4 bytes per character, 4 only when
    one of them is beyond U+FFFF (PEP 393), so the size of a long string tells.
    """
    return len(text) < 256 or sys.getsizeof(text) > 3 * len(text) + 128


_NEEDS_RARE = re.compile(_char_class(list(_RARE)))
_OTHER_SPACE = re.compile(r"[^\S ]")
# Strip also drops a stray combining madda/hamza (U+0653-5) that NFC could not
# compose, so that folding stays idempotent.
_STRIP = re.compile(f"[{C.DIACRITICS}\u0653-\u0655]")
_FOLD = str.maketrans(
    {
        C.ALEF_HAMZA_ABOVE: C.ALEF,
        C.ALEF_HAMZA_BELOW: C.ALEF,
        C.ALEF_MADDA: C.ALEF,
        C.ALEF_WASLA: C.ALEF,
        C.ALEF_MAKSURA: C.YEH,
        C.TEH_MARBUTA: C.HEH,
    }
)
# NFC orders marks by combining class, which puts fatha/damma/kasra/tanween
# (27-32) before shadda (33); speech tools and our schemes want shadda first.
_SHADDA_AFTER_VOWEL = re.compile("([\u064b-\u0650]+)\u0651")
_VOWEL_SHADDA_PAIRS = [(mark + C.SHADDA, C.SHADDA + mark) for mark in C.TANWEEN + C.SHORT_VOWELS]


# Terminal escape sequences (ANSI CSI such as "\x1b[31m", OSC titles and
# links, two-character escapes, and the 8-bit CSI): removed whole, so that their
# parameters ("31m") are not read as text.
_TERMINAL_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?|\x1b[ -/]*[0-~]?"
)
# A keycap emoji takes its digit with it ("3️⃣" is a picture, not a number); the
# other emoji code points are deleted with the rare characters (``_RARE``).
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")
# The end-of-ayah sign and the verse number written with it are one unit: not
# read, but a stop ("۝١٢" / "١٢۝" become a full stop, so the verse ends in pause).
_VERSE_DIGITS = "0-9\u0660-\u0669\u06f0-\u06f9"
_VERSE_END = re.compile(
    f"\\s*\u06dd\\s*[{_VERSE_DIGITS}]+|\\s*[{_VERSE_DIGITS}]+\\s*\u06dd|\\s*\u06dd"
)
# NFC reorders a run of combining marks by insertion (quadratic time): a run
# longer than any real letter carries (a letter has at most 4 marks even in
# Quranic text) is cut to its first MAX_MARK_RUN marks first.
MAX_MARK_RUN = 8


def _combining_class(low: int, high: int) -> str:
    return _char_class([c for c in range(low, high) if unicodedata.combining(chr(c))])


_LONG_MARK_RUN = re.compile(_combining_class(0x0300, 0x10000) + f"{{{MAX_MARK_RUN + 1},}}")
_LONG_ASTRAL_MARK_RUN = re.compile(_combining_class(0x10000, 0x110000) + f"{{{MAX_MARK_RUN + 1},}}")


def _cut_mark_runs(text: str) -> str:
    """Cut every run of combining marks to MAX_MARK_RUN (see ``_LONG_MARK_RUN``)."""
    for pattern in (_LONG_MARK_RUN, _LONG_ASTRAL_MARK_RUN):
        if pattern is _LONG_ASTRAL_MARK_RUN and text.isascii():
            break
        if pattern.search(text) is not None:
            text = pattern.sub(lambda match: match.group()[:MAX_MARK_RUN], text)
    return text


def remove_sequences(text: str) -> str:
    """Drop terminal escape sequences and keycaps; a verse-end sign and its number end a sentence."""
    if "\x1b" in text or "\x9b" in text:
        text = _TERMINAL_ESCAPE.sub("", text)
    if "\u06dd" in text:
        text = _VERSE_END.sub(". ", text)
    if "\u20e3" in text:
        text = _KEYCAP.sub("", text)
    if _may_hold_astral(text):
        text = _ASTRAL_EMOJI.sub("", text)
    return text


def fold_digits(text: str) -> str:
    """Arabic-Indic and Persian digits (and ٫ ٬ ٪) to ASCII, one character for one."""
    if _DIGITS.search(text) is not None:
        for digit, ascii_digit in _DIGIT_PAIRS:
            text = text.replace(digit, ascii_digit)
    return text


def clean(text: str) -> str:
    """Remove invisible/control/annotation characters and expand compatibility forms.

    Does not touch letters or diacritics; whitespace is *not* collapsed.
    """
    if not text.isascii() or "\x1b" in text:
        text = remove_sequences(text)
    if _DELETE.search(text) is not None:
        text = _DELETE.sub("", text)
    text = fold_digits(text)
    if _NEEDS_RARE.search(text) is not None:
        text = text.translate(_RARE)
    return text


def shadda_first(text: str) -> str:
    """Put shadda before the short vowel or tanween on the same letter."""
    if C.SHADDA not in text:
        return text
    for pair, swapped in _VOWEL_SHADDA_PAIRS:
        text = text.replace(pair, swapped)
    if _SHADDA_AFTER_VOWEL.search(text):  # two or more marks before the shadda
        text = _SHADDA_AFTER_VOWEL.sub("\u0651\\1", text)
    return text


def strip_diacritics(text: str) -> str:
    """Remove tanween, short vowels, shadda, sukun and dagger alef."""
    return _STRIP.sub("", text)


def fold_letters(text: str) -> str:
    """Fold hamza-carrying alefs to bare alef, alef maqsura to yeh, ta marbuta to heh."""
    return text.translate(_FOLD)


def collapse_whitespace(text: str) -> str:
    """Single spaces between words, none at the ends (every Unicode space counts)."""
    if (
        "  " not in text
        and not text.startswith(" ")
        and not text.endswith(" ")
        and _OTHER_SPACE.search(text) is None
    ):
        return text
    return " ".join(text.split())


def normalize(text: str, *, diacritics: DiacriticsMode = "keep", fold: bool = False) -> str:
    """Return the canonical form of ``text`` (see the module docstring).

    ``diacritics="strip"`` removes all harakat; ``fold=True`` (only allowed with
    ``diacritics="strip"``, because folding destroys what the marks describe)
    also folds alef/hamza forms, alef maqsura and ta marbuta. Idempotent.
    """
    if diacritics not in ("keep", "strip"):
        raise ValueError(f"diacritics must be 'keep' or 'strip', not {diacritics!r}")
    if fold and diacritics == "keep":
        raise ValueError(
            "fold=True needs diacritics='strip' (folding would corrupt diacritized words)"
        )
    text = clean(text)
    if not text.isascii():
        if C.SHADDA in text:
            # Our own shadda-first order is not NFC, and NFC on non-NFC text takes
            # its slow path (~50x slower); undo our order cheaply first.
            for swapped, pair in _VOWEL_SHADDA_PAIRS:
                text = text.replace(pair, swapped)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", _cut_mark_runs(text))
        text = _STRIP.sub("", text) if diacritics == "strip" else shadda_first(text)
        if fold:
            text = text.translate(_FOLD)
    return collapse_whitespace(text)
