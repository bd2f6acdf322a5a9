"""Phonetic ASCII romanizations of Arabic: ``arabizi`` and ``latin``.

These are what a Latin-trained TTS tokenizer (Pocket TTS) reads. Unlike
Buckwalter they spell *sounds*: vowels come from the diacritics, shadda doubles
the consonant, tanween is read ``-an/-un/-in``, ta marbuta is ``t`` before a
vowel and ``a`` at a pause, the article assimilates to sun letters
(``الشَّمْس`` -> ``ash-shams``), hamza seats become a glottal stop plus the
vowel they imply, long vowels are doubled. Undiacritized input still gives a
readable consonant skeleton with long vowels.

``arabizi`` uses chat-alphabet digits for sounds Latin lacks (2 ء, 3 ع, 3' غ,
5 خ, 6 ط, 6' ظ, 7 ح, 9 ق) and ``s'``/``d'`` for ص/ض. ``latin`` is digit-free
(ح h, خ kh, ع and ء ', ...) with English-style long vowels ``aa ee oo``.

Both are one-way, deterministic and always pure ASCII. The work is done by a
fixed sequence of whole-text regex passes and one final ``str.translate``, so
the cost per character stays small; per-word Python loops would be 10x slower.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass

from natiq.text import chars as C
from natiq.text.normalize import normalize
from natiq.text.reading import JOIN, read_aloud

#: Private-use placeholders that never survive the final translate.
SILENT_ONSET = "\ue000"  # a word-initial hamza seat: no glottal stop written
GLOTTAL = "\x01"  # latin's ' for ع/ء (dropped at the start of a word); never in normalized text

_LETTER = "\u0621-\u063a\u0641-\u064a\u0671-\u06d3\ue000"
_WORD_CHAR = _LETTER + "\u064b-\u0652\u0670"
_ANY_LETTER = re.compile(f"[{_LETTER}]")
_MARK = "[\u064b-\u0652\u0670]"
_VOWEL = "[\u064b-\u0650]"

# Each pattern starts with a literal character or class (and checks "start of
# word" with a two-character lookbehind after it), so the regex engine can skip
# ahead to candidate positions instead of trying every character.
_WORD_START = f"(?<![{_WORD_CHAR}].)"
_WORD_END = f"(?![{_WORD_CHAR}])"
_ALLAH_BODY = "(?P<allah>لّ?َ?لّ?َ?[ٰا]?ه(?P<case>[َُِ]?)ْ?" + _WORD_END + ")"
_ARTICLE_TAIL = f"َ?ل(?P<sukun>ْ?)(?:(?P<sun>[{C.SUN_LETTERS}])(?P<shadda>ّ?)|(?=[{_LETTER}]))"
_ALLAH_OR_ARTICLE = f"(?:{_ALLAH_BODY}|{_ARTICLE_TAIL})"
# Allah and the article, bare, joined to the previous word by an elided wasl,
# or after a one-letter prefix (one regex scan for both words).
_ARTICLES = [
    re.compile(JOIN + "(?P<joined>)" + _ALLAH_OR_ARTICLE),
    re.compile("[اٱ]" + _WORD_START + _ALLAH_OR_ARTICLE),
    re.compile("(?P<pre>[وفبك])" + _WORD_START + "(?P<vowel>[َُِ]?)[اٱ]" + _ALLAH_OR_ARTICLE),
]
# li- + article or Allah: the wasl alef is not written (لِلرَّجُلِ, لِلَّهِ).
_LIL_ARTICLE = re.compile(
    "(?P<li>ل)"
    + _WORD_START
    + "ِ?(?:(?P<allah>لّ?َ?[ٰا]?ه(?P<case>[َُِ]?)ْ?"
    + _WORD_END
    + f")|ل(?P<sukun>ْ?)(?:(?P<sun>[{C.SUN_LETTERS}])(?P<shadda>ّ?)|(?=[{_LETTER}])))"
)


def _hamza_seat_passes() -> list[tuple[str, re.Pattern[str], str]]:
    """Rewrite hamza seats as (onset + vowel) in Arabic script, with literal replacements.

    At the start of a word the onset is silent (أَحْمَد -> ahmad); inside a word
    it is the glottal stop ء. A seat without a vowel mark gets the vowel it
    implies (أ a, إ i, ؤ u, ئ i); آ is a glottal stop + long a.
    """
    passes = []
    for seat, vowel in (("آ", None), *_SEAT_VOWEL.items()):
        for onset, position in ((SILENT_ONSET, _WORD_START), (C.HAMZA, "")):
            if vowel is None:
                passes.append((seat, re.compile(seat + position), onset + C.ALEF))
                continue
            passes.append((seat, re.compile(seat + position + "(?=[\u064b-\u0652])"), onset))
            passes.append((seat, re.compile(seat + position), onset + vowel))
    return passes


_WASLA_AFTER_VOWEL = re.compile("\u0671(?<=[\u064b-\u0650]\u0671)")
# A word-initial bare alef is hamzat al-wasl: with a vowel mark it only carries
# that vowel (اِثْنَان -> ithnaan); before a consonant with sukun it is read "i"
# (اسْم -> ism, اثْنَان -> ithnaan).
_WASL_VOWELLED = re.compile("[اٱ]" + _WORD_START + "(?=[\u064e-\u0650])")
_WASL_BEFORE_SUKUN = re.compile("[اٱ]" + _WORD_START + f"(?=[{_LETTER}]\u0652)")
# Any other word-initial alef is a hamza written without its seat: a short a.
_INITIAL_ALEF = re.compile("ا" + _WORD_START)
# The silent alef after the plural waw of undiacritized verbs (كتبوا).
_SILENT_ALEF_AFTER_WAW = re.compile(f"وا(?<=[{_LETTER}]وا)(?![{_WORD_CHAR}])")
# A fatha before a long alef is part of the long vowel (done in the final spelling).
_FATHA_BEFORE_LONG_A = [("َا", "ا"), ("َى", "ى"), ("ىٰ", "ى"), ("اٰ", "ا")]
_TEH_MARBUTA_VOWELLED = re.compile(f"ة(?={_VOWEL})")
_UU_ALEF = re.compile(f"ُوا(?![{_WORD_CHAR}])")
_UU = re.compile("ُو(?![\u064b-\u0652])")
_II = re.compile("ِي(?![\u064b-\u0652])")
_AW = re.compile("َو(?:ْ|(?![\u064b-\u0651]))")
_AY = re.compile("َي(?:ْ|(?![\u064b-\u0651]))")
_BARE_WAW = re.compile(f"و(?<=[{_LETTER}].)(?!{_MARK})")
_BARE_YEH = re.compile(f"ي(?<=[{_LETTER}].)(?!{_MARK})")
# latin drops ع/ء at the start of a word before a vowel ("'ali" -> "ali").
_GLOTTAL_AT_WORD_START = re.compile(f"(?<![A-Za-z0-9{GLOTTAL}]){GLOTTAL}+(?=[aeiou])")

_PREFIX_VOWEL = {"و": C.FATHA, "ف": C.FATHA, "ك": C.FATHA, "ب": C.KASRA, "ل": C.KASRA}
_SEAT_VOWEL = {"أ": C.FATHA, "إ": C.KASRA, "ؤ": C.DAMMA, "ئ": C.KASRA}
_HAMZA_SEATS = _hamza_seat_passes()
_SEAT_LETTERS = "أإآؤئ"
_SHADDA = re.compile(f"[{_LETTER}]ّ")
# "Xّ" -> "XX" by dict lookup (a "\\1\\1" template is expanded in Python per match)
_DOUBLED = {
    chr(code) + C.SHADDA: chr(code) * 2
    for code in [*range(0x0621, 0x063B), *range(0x0641, 0x064B), *range(0x0671, 0x06D4), 0xE000]
}
_WORD_CHARS = frozenset(
    chr(c) for c in [*range(0x0621, 0x063B), *range(0x0641, 0x0653), 0x0670, *range(0x0671, 0x06D4)]
) | {SILENT_ONSET}


@dataclass(frozen=True)
class PhoneticScheme:
    """Spelling choices of one phonetic romanization."""

    name: str
    consonants: dict[str, str]
    long_a: str
    long_i: str
    long_u: str
    glottal_start_dropped: bool  # latin writes ع/ء as ' but not at the start of a word


_COMMON_CONSONANTS = {
    "ب": "b",
    "ت": "t",
    "ث": "th",
    "ج": "j",
    "د": "d",
    "ذ": "dh",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ف": "f",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "و": "w",
    "ي": "y",
    "پ": "p",
    "چ": "ch",
    "ڤ": "v",
    "گ": "g",
    "ژ": "zh",
}

ARABIZI = PhoneticScheme(
    name="arabizi",
    consonants={
        **_COMMON_CONSONANTS,
        "ء": "2",
        "ح": "7",
        "خ": "5",
        "ص": "s'",
        "ض": "d'",
        "ط": "6",
        "ظ": "6'",
        "ع": "3",
        "غ": "3'",
        "ق": "9",
    },
    long_a="aa",
    long_i="ii",
    long_u="uu",
    glottal_start_dropped=False,
)

LATIN = PhoneticScheme(
    name="latin",
    consonants={
        **_COMMON_CONSONANTS,
        "ء": GLOTTAL,
        "ح": "h",
        "خ": "kh",
        "ص": "s",
        "ض": "d",
        "ط": "t",
        "ظ": "z",
        "ع": GLOTTAL,
        "غ": "gh",
        "ق": "q",
    },
    long_a="aa",
    long_i="ee",
    long_u="oo",
    glottal_start_dropped=True,
)


def _final_table(scheme: PhoneticScheme) -> dict[int, str | None]:
    table: dict[str, str | None] = dict(scheme.consonants)
    table.update(
        {
            C.ALEF: scheme.long_a,
            C.ALEF_MAKSURA: scheme.long_a,
            C.DAGGER_ALEF: scheme.long_a,
            C.ALEF_WASLA: "i",
            C.TEH_MARBUTA: "a",
            C.FATHA: "a",
            C.DAMMA: "u",
            C.KASRA: "i",
            C.FATHATAN: "an",
            C.DAMMATAN: "un",
            C.KASRATAN: "in",
            C.SUKUN: "",
            C.SHADDA: "",
            C.MADDA_ABOVE: "",
            C.HAMZA_ABOVE: "",
            C.HAMZA_BELOW: "",
            SILENT_ONSET: "",
            JOIN: "",
            # the hamza seats are rewritten earlier; these only catch leftovers
            "أ": "a",
            "إ": "i",
            "آ": scheme.long_a,
            "ؤ": "u",
            "ئ": "i",
            C.ARABIC_COMMA: ",",
            C.ARABIC_SEMICOLON: ";",
            C.ARABIC_QUESTION: "?",
            "«": '"',
            "»": '"',
            "\u066d": "*",
        }
    )
    return str.maketrans(table)


class _ByteSpeller:
    """The final letter-to-ASCII step, done by C codecs instead of ``str.translate``.

    ``str.translate`` looks each character up in a dict (about 100 ns per
    character); here an 8-bit charmap codec turns every mapped character into
    its own byte, ``bytes.translate`` spells the one-letter outputs, and a few
    ``bytes.replace`` calls the longer ones ("sh", "aa", ...). Returns None for
    text with characters outside the table, which then takes the general path.
    """

    def __init__(self, table: dict[int, str | None], merges: list[tuple[str, str]]) -> None:
        if len(table) > 128:
            raise ValueError("a byte speller handles at most 128 mapped characters")
        decoding = [chr(code) for code in range(128)] + ["\ufffe"] * 128
        byte_table = bytearray(range(256))
        self._delete = bytearray()
        self._long: list[tuple[bytes, bytes]] = []
        for index, (code, out) in enumerate(sorted(table.items())):
            byte = 0x80 + index
            decoding[byte] = chr(code)
            if not out:
                self._delete.append(byte)
            elif len(out) == 1:
                byte_table[byte] = ord(out)
            else:
                self._long.append((bytes([byte]), out.encode("ascii")))
        self._encoding_map = codecs.charmap_build("".join(decoding))
        self._byte_table = bytes(byte_table)
        # character pairs spelled as one (fatha + long alef): replaced on bytes,
        # which is about twice as fast as on str
        self.merges = merges
        self._byte_merges = [(self._encode(pair), self._encode(single)) for pair, single in merges]

    def _encode(self, text: str) -> bytes:
        return codecs.charmap_encode(text, "strict", self._encoding_map)[0]

    def __call__(self, text: str) -> str | None:
        try:
            data = self._encode(text)
        except UnicodeEncodeError:
            return None
        for pair, single in self._byte_merges:
            if pair in data:
                data = data.replace(pair, single)
        data = data.translate(self._byte_table, self._delete)
        for byte, out in self._long:
            if byte in data:
                data = data.replace(byte, out)
        return data.decode("ascii")


class PhoneticRomanizer:
    """Compiled passes of one ``PhoneticScheme``; call it on normalized text."""

    def __init__(self, scheme: PhoneticScheme) -> None:
        self.scheme = scheme
        self._cons = scheme.consonants
        self._table = _final_table(scheme)
        self._speller = _ByteSpeller(self._table, _FATHA_BEFORE_LONG_A)
        self._long_vowels: list[tuple[re.Pattern[str], str]] = [
            (_UU_ALEF, scheme.long_u),
            (_UU, scheme.long_u),
            (_II, scheme.long_i),
            (_AW, "aw"),
            (_AY, "ay"),
            (_BARE_WAW, scheme.long_u),
            (_BARE_YEH, scheme.long_i),
        ]

    def __call__(self, text: str, *, pausal: bool = True) -> str:
        """Spell normalized ``text``; ``pausal`` reads the last word before a pause in pause."""
        if _ANY_LETTER.search(text) is None:
            return self._finish(text)
        text = read_aloud(text, pausal=pausal)
        if "ل" in text:
            for pattern in _ARTICLES:
                text = pattern.sub(self._article, text)
            text = _LIL_ARTICLE.sub(self._article, text)
        if any(seat in text for seat in _SEAT_LETTERS):
            for seat, pattern, replacement in _HAMZA_SEATS:
                if seat in text:
                    text = pattern.sub(replacement, text)
        if C.ALEF_WASLA in text:
            text = _WASLA_AFTER_VOWEL.sub("", text)
        text = _WASL_VOWELLED.sub(SILENT_ONSET, text)
        text = _WASL_BEFORE_SUKUN.sub("i", text)
        if C.ALEF in text:
            text = _INITIAL_ALEF.sub("a", text)
            text = _SILENT_ALEF_AFTER_WAW.sub("و", text)
        if C.TEH_MARBUTA in text:
            # before a vowel it is read t; the rest are pausal and become "a"
            # in the final translate (a fatha or sukun written on them is dropped).
            text = _TEH_MARBUTA_VOWELLED.sub("t", text)
            text = text.replace(C.FATHA + C.TEH_MARBUTA, C.TEH_MARBUTA)
            text = text.replace(C.TEH_MARBUTA + C.SUKUN, C.TEH_MARBUTA)
        for tanween_alef in ("ًا", "اً", "ًى"):
            if tanween_alef in text:
                text = text.replace(tanween_alef, "an")
        if C.SHADDA in text:
            text = text.replace("وّ", "wو").replace("يّ", "yي")
            text = _SHADDA.sub(lambda match: _DOUBLED[match.group()], text)
        for pattern, repl in self._long_vowels:
            text = pattern.sub(repl, text)
        spelled = self._speller(text)
        if spelled is None:
            for pair, single in _FATHA_BEFORE_LONG_A:
                text = text.replace(pair, single)
            spelled = text.translate(self._table)
        return self._finish(spelled)

    def _finish(self, text: str) -> str:
        if self.scheme.glottal_start_dropped and GLOTTAL in text:
            text = _GLOTTAL_AT_WORD_START.sub("", text).replace(GLOTTAL, "'")
        if not text.isascii():
            text = text.translate(self._table)
            decomposed = unicodedata.normalize("NFKD", text)
            text = decomposed.encode("ascii", "ignore").decode("ascii")
        return text

    def _prefix(self, letter: str | None, vowel: str) -> str:
        if not letter:
            return "a"
        return (
            self._cons[letter]
            + {C.FATHA: "a", C.DAMMA: "u", C.KASRA: "i"}[vowel or _PREFIX_VOWEL[letter]]
        )

    def _allah(self, match: re.Match[str]) -> str:
        groups = match.groupdict()
        if groups.get("joined") is not None:
            start = ""
        elif groups.get("li"):
            start = "li"
        else:
            start = self._prefix(groups.get("pre"), groups.get("vowel") or "")
        ending = {C.FATHA: "a", C.DAMMA: "u", C.KASRA: "i"}.get(groups["case"], "")
        return start + "ll" + self.scheme.long_a + "h" + ending

    def _article(self, match: re.Match[str]) -> str:
        groups = match.groupdict()
        if groups["allah"] is not None:
            return self._allah(match)
        if groups.get("li"):
            return "li" + (groups["sun"] + "-" + groups["sun"] if groups["sun"] else "l-")
        letter, vowel = groups.get("pre"), groups.get("vowel") or ""
        sukun, sun, shadda = groups["sukun"], groups["sun"], groups["shadda"]
        if letter and not (sukun or shadda) and _has_marks(match.string, match.end()):
            # "وَالِد" is wa-alid, not wa + al-: a diacritized word whose lam has
            # no sukun and whose next letter has no shadda is not the article.
            return match.group(0)
        start = "" if groups.get("joined") is not None else self._prefix(letter, vowel)
        if sun:
            return start + sun + "-" + sun
        return start + "l-"


def _has_marks(text: str, position: int) -> bool:
    """True if the word that continues at ``position`` carries any diacritic."""
    for char in text[position : position + 12]:
        if char in C.DIACRITIC_SET:
            return True
        if char not in _WORD_CHARS:
            return False
    return False


_ROMANIZERS = {scheme.name: PhoneticRomanizer(scheme) for scheme in (ARABIZI, LATIN)}


def romanize_arabizi(text: str, *, pausal: bool = True) -> str:
    """``normalize`` (diacritics kept) then spell with the chat alphabet."""
    return _ROMANIZERS["arabizi"](normalize(text), pausal=pausal)


def romanize_latin(text: str, *, pausal: bool = True) -> str:
    """``normalize`` (diacritics kept) then spell digit-free, English-readable ASCII."""
    return _ROMANIZERS["latin"](normalize(text), pausal=pausal)
