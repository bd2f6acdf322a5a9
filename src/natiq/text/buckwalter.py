"""Buckwalter transliteration, exactly reversible against ``normalize``.

Standard Buckwalter (Tim Buckwalter's 2002 table, with the usual extensions
for ٱ ``{``, dagger alef `````, پ ``P``, چ ``J``, ڤ ``V``, گ ``G``) maps each
Arabic letter or mark to one ASCII character. Input that already contains
ASCII would collide with those symbols, so natiq adds one escape:

* Any character of the input that is itself a Buckwalter symbol (for instance
  the Latin letters ``A b t H`` ..., ``'``, ``>``, ``|``, ``~``) or the escape
  character ``\\`` is written as ``\\`` followed by that character.
* Everything else (spaces, digits, other punctuation, non-Arabic scripts,
  Arabic characters outside the table such as ، or ؟) passes through unchanged.

``from_buckwalter`` reads ``\\x`` as the literal ``x``, so
``from_buckwalter(to_buckwalter(x)) == normalize(x)`` for every string ``x``.
The output is case-sensitive: capitals are distinct phonemes (H ح, S ص, ...).
"""

from __future__ import annotations

import codecs
import re

from natiq.text.normalize import normalize

ESCAPE = "\\"

#: Arabic character -> Buckwalter symbol.
ARABIC_TO_BW: dict[str, str] = {
    "\u0621": "'",
    "\u0622": "|",
    "\u0623": ">",
    "\u0624": "&",
    "\u0625": "<",
    "\u0626": "}",
    "\u0627": "A",
    "\u0628": "b",
    "\u0629": "p",
    "\u062a": "t",
    "\u062b": "v",
    "\u062c": "j",
    "\u062d": "H",
    "\u062e": "x",
    "\u062f": "d",
    "\u0630": "*",
    "\u0631": "r",
    "\u0632": "z",
    "\u0633": "s",
    "\u0634": "$",
    "\u0635": "S",
    "\u0636": "D",
    "\u0637": "T",
    "\u0638": "Z",
    "\u0639": "E",
    "\u063a": "g",
    "\u0640": "_",
    "\u0641": "f",
    "\u0642": "q",
    "\u0643": "k",
    "\u0644": "l",
    "\u0645": "m",
    "\u0646": "n",
    "\u0647": "h",
    "\u0648": "w",
    "\u0649": "Y",
    "\u064a": "y",
    "\u064b": "F",
    "\u064c": "N",
    "\u064d": "K",
    "\u064e": "a",
    "\u064f": "u",
    "\u0650": "i",
    "\u0651": "~",
    "\u0652": "o",
    "\u0670": "`",
    "\u0671": "{",
    "\u067e": "P",
    "\u0686": "J",
    "\u06a4": "V",
    "\u06af": "G",
}
BW_TO_ARABIC: dict[str, str] = {bw: ar for ar, bw in ARABIC_TO_BW.items()}

_FORWARD = str.maketrans(
    {**ARABIC_TO_BW, **{bw: ESCAPE + bw for bw in BW_TO_ARABIC}, ESCAPE: ESCAPE + ESCAPE}
)
_BACKWARD = str.maketrans(BW_TO_ARABIC)
_ESCAPED = re.compile(r"(\\.)", re.DOTALL)


# Fast path: an 8-bit charmap codec (C code) does the per-character work.
# Bytes 0x00-0x7F decode to the Arabic letter whose Buckwalter symbol they are,
# or to themselves for other ASCII; bytes from 0x80 stand for characters whose
# output is not one byte (escaped ASCII symbols, common Arabic punctuation) and
# are replaced afterwards. Text with anything else takes the translate path.
_PASSTHROUGH = "\u060c\u061b\u061f\u066d«»…—–“”‘’"


def _build_codec() -> tuple[object, str, dict[str, str]]:
    decoding = ["\ufffe"] * 256
    for code in range(128):
        char = chr(code)
        if char not in BW_TO_ARABIC and char != ESCAPE:
            decoding[code] = char
    for arabic, symbol in ARABIC_TO_BW.items():
        decoding[ord(symbol)] = arabic
    specials: dict[str, str] = {}
    escaped = [*BW_TO_ARABIC, ESCAPE]
    for index, char in enumerate([*escaped, *_PASSTHROUGH]):
        decoding[0x80 + index] = char
        specials[chr(0x80 + index)] = ESCAPE + char if char in escaped else char
    table = "".join(decoding)
    return codecs.charmap_build(table), table, specials


_ENCODING_MAP, _DECODING_TABLE, _SPECIALS = _build_codec()
_SPECIAL_BYTE = re.compile("[\x80-\xff]")


def to_buckwalter(text: str) -> str:
    """Transliterate already-normalized text (no normalization here)."""
    try:
        data = codecs.charmap_encode(text, "strict", _ENCODING_MAP)[0]
    except UnicodeEncodeError:  # a character outside the table: the general path
        return text.translate(_FORWARD)
    out = data.decode("latin-1")
    if out.isascii():
        return out
    # one pass: a replacement may itself be a Latin-1 character (« »)
    return _SPECIAL_BYTE.sub(lambda match: _SPECIALS[match.group(0)], out)


def from_buckwalter(text: str) -> str:
    """Read Buckwalter (with natiq's ``\\`` escapes) back into Arabic script."""
    if ESCAPE not in text:
        if text.isascii():
            return codecs.charmap_decode(text.encode("ascii"), "strict", _DECODING_TABLE)[0]
        return text.translate(_BACKWARD)
    parts = _ESCAPED.split(text)
    # split() with one capturing group alternates plain text and escapes; a
    # plain part holds a backslash only as its very last character.
    return "".join(
        part[1] if index % 2 else part.translate(_BACKWARD) for index, part in enumerate(parts)
    )


def romanize_buckwalter(text: str) -> str:
    """``normalize`` (diacritics kept) then transliterate."""
    return to_buckwalter(normalize(text))
