"""The user's pronunciation lexicon: "always read this written word like that".

A lexicon file is UTF-8 TSV, one entry per line, ``#`` starts a comment line::

    # written form<TAB>pronunciation
    الرياض	الرِّيَاض
    iPhone	آيْفُون
    ابن سينا	{bonu siynaA        <- Buckwalter is accepted too

The pronunciation is diacritized Arabic, or Buckwalter (an ASCII field with no
Arabic letter is read as Buckwalter). ``Lexicon.apply`` runs on normalized text
*before* verbalization and diacritization, so an entry wins over both: the
diacritizer only fills marks on letters the entry left bare, and a written form
with digits ("5G") is replaced before the verbalizer reads the digits.

Matching is by whole words. Both sides are compared without diacritics and
with the hamza forms of alef, alef maqsura and ta marbuta folded (أحمد, احمد
and أَحْمَد are one key), Latin letters without case. An Arabic word is also
found behind the one-letter clitics و ف (and), ب ل ك (prepositions) and the
article ال, in that order (وبالكتاب = و + ب + ال + كتاب); للـ stands for ل + ال.
The written prefix is kept and the entry's pronunciation follows it. A word
that matches an entry exactly is never split, so a word that only looks like
prefix + entry (كلام for an entry لام) is protected by an entry of its own.
A written form of several words matches the same words with the same
separators. Pronoun suffixes are not looked through.

Pure Python: no model, no torch. The entries are stored in the front-end config
(``FrontendConfig.lexicon``), so a checkpoint trained with a lexicon carries it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from natiq.common.errors import DataFormatError
from natiq.text import chars as C
from natiq.text.buckwalter import from_buckwalter
from natiq.text.config import FrontendConfig
from natiq.text.normalize import fold_letters, normalize, strip_diacritics

Pairs = tuple[tuple[str, str], ...]

# A word: letters and digits of any script with the Arabic marks written on them.
WORD = re.compile(r"(?:[^\W_]|[\u064b-\u065f\u0670])+")
# (conjunction, preposition, article) prefixes, shortest first.
_CONJUNCTIONS = ("", "و", "ف")
_PREPOSITIONS = ("", "ب", "ل", "ك")
_ARTICLES = ("", "ال")
MIN_STEM_LETTERS = 2


@dataclass(frozen=True)
class _Entry:
    separators: tuple[str, ...]
    spoken: str


def pronunciation(value: str, *, where: str = "") -> str:
    """A pronunciation field as normalized, diacritized Arabic (Buckwalter is converted)."""
    value = normalize(value)
    if not any(C.is_arabic_letter(char) for char in value):
        value = normalize(from_buckwalter(value))
    leftover = sorted({char for char in value if char.isascii() and char.isalnum()})
    if leftover or not any(C.is_arabic_letter(char) for char in value):
        shown = "".join(leftover) or value
        raise DataFormatError(
            f"{where}pronunciation {value!r} is neither Arabic nor Buckwalter "
            f"(characters {shown!r} are not Buckwalter symbols); write the word in Arabic "
            "letters with its diacritics, or in Buckwalter (e.g. muHam~ad)"
        )
    return value


def key_of(word: str) -> str:
    """The matching key of one written word: no marks, hamza/ى/ة folded, Latin case-folded."""
    return fold_letters(strip_diacritics(word)).casefold()


def parse_lexicon(text: str, *, source: str = "<lexicon>") -> Pairs:
    """Entries of a TSV lexicon (see the module docstring); errors name ``source`` and the line."""
    pairs: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}: "
        fields = line.split("\t")
        if len(fields) != 2 or not all(field.strip() for field in fields):
            raise DataFormatError(
                f"{where}expected two tab-separated fields (written form, pronunciation), "
                f"found {len(fields)}: {line[:80]!r}"
            )
        written = normalize(fields[0])
        check_written_form(written, where=where)
        spoken = pronunciation(fields[1], where=where)
        key = " ".join(key_of(word) for word in WORD.findall(written))
        if key in pairs and pairs[key][1] != spoken:
            raise DataFormatError(
                f"{where}{written!r} is already in the lexicon as {pairs[key][0]!r} "
                f"with another pronunciation ({pairs[key][1]!r}); keep one"
            )
        pairs[key] = (written, spoken)
    return tuple(pairs.values())


def check_written_form(written: str, *, where: str = "") -> None:
    """A written form must start and end with a letter or digit (``WORD``)."""
    words = list(WORD.finditer(written))
    if not words or words[0].start() != 0 or words[-1].end() != len(written):
        raise DataFormatError(
            f"{where}written form {written!r} must start and end with a letter or digit "
            "(forms such as 'C++' or '.NET' cannot be matched as whole words)"
        )


def read_lexicon(path: str | Path) -> Pairs:
    """Read a lexicon TSV file (UTF-8)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFormatError(f"{source}: no such lexicon file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{source}: cannot read the lexicon ({exc})") from None
    return parse_lexicon(text, source=str(source))


def merge_lexicons(base: Iterable[tuple[str, str]], extra: Iterable[tuple[str, str]]) -> Pairs:
    """``base`` with ``extra``'s entries added; an entry of ``extra`` replaces one with the same key."""
    merged: dict[str, tuple[str, str]] = {}
    for written, spoken in [*base, *extra]:
        merged[" ".join(key_of(word) for word in WORD.findall(written))] = (written, spoken)
    return tuple(merged.values())


def with_lexicon(config: FrontendConfig, pairs: Iterable[tuple[str, str]]) -> FrontendConfig:
    """``config`` with ``pairs`` added to its lexicon (an entry with the same key is replaced)."""
    pairs = tuple(pairs)
    if not pairs:
        return config
    return dataclasses.replace(config, lexicon=merge_lexicons(config.lexicon, pairs))


def same_entries(first: Iterable[tuple[str, str]], second: Iterable[tuple[str, str]]) -> bool:
    """True when two lexicons map the same keys to the same pronunciations."""
    return dict(first) == dict(second)


def lexicon_sha256(pairs: Pairs) -> str:
    """A fingerprint of the entries (order-independent), for reports and model cards."""
    lines = sorted(f"{written}\t{spoken}" for written, spoken in pairs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


class Lexicon:
    """Compiled entries; ``apply`` replaces every matching word of normalized text."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self.longest = 0
        for written, spoken in pairs:
            written = normalize(written)
            check_written_form(written)
            words = list(WORD.finditer(written))
            keys = tuple(key_of(word.group()) for word in words)
            separators = tuple(
                written[left.end() : right.start()] for left, right in pairwise(words)
            )
            self._entries[keys] = _Entry(separators, pronunciation(spoken))
            self.longest = max(self.longest, len(keys))

    def __len__(self) -> int:
        return len(self._entries)

    def apply(self, text: str) -> str:
        """``text`` (normalized) with every entry's written form replaced by its pronunciation."""
        if not self._entries:
            return text
        words = list(WORD.finditer(text))
        keys = [key_of(word.group()) for word in words]
        out: list[str] = []
        position = index = 0
        while index < len(words):
            found = self._match(text, words, keys, index)
            if found is None:
                index += 1
                continue
            count, replacement = found
            out.append(text[position : words[index].start()])
            out.append(replacement)
            position = words[index + count - 1].end()
            index += count
        out.append(text[position:])
        return "".join(out)

    def _match(
        self, text: str, words: list[re.Match[str]], keys: list[str], index: int
    ) -> tuple[int, str] | None:
        """(number of words, replacement) of the longest entry starting at word ``index``."""
        for count in range(min(self.longest, len(words) - index), 0, -1):
            span = words[index : index + count]
            separators = tuple(text[left.end() : right.start()] for left, right in pairwise(span))
            rest = tuple(keys[index + 1 : index + count])
            for prefix, stem, elided in _splits(span[0].group()):
                entry = self._entries.get((stem, *rest))
                if entry is not None and entry.separators == separators:
                    spoken = entry.spoken
                    if elided:  # لل + الكتاب: the article's alef is not written
                        spoken = _drop_first_letter(spoken)
                    return count, prefix + spoken
        return None


def _splits(word: str) -> list[tuple[str, str, bool]]:
    """(written prefix, key of the rest, article alef elided) for each way to read ``word``.

    The whole word comes first, then clitic prefixes from the shortest.
    """
    clusters = re.findall(r".[\u064b-\u065f\u0670]*", word)
    letters = "".join(cluster[0] for cluster in clusters)
    out = [("", key_of(word), False)]
    if not any(C.is_arabic_letter(char) for char in letters):
        return out
    for conjunction in _CONJUNCTIONS:
        for preposition in _PREPOSITIONS:
            for article in _ARTICLES:
                written = conjunction + preposition + article
                if written and letters.startswith(written):
                    stem_letters = letters[len(written) :]
                    if len(stem_letters) >= MIN_STEM_LETTERS:
                        prefix = "".join(clusters[: len(written)])
                        out.append((prefix, key_of(stem_letters), False))
            if preposition == "ل" and letters.startswith(conjunction + "لل"):
                # لل = ل + ال: the entry may be written with its article or without
                start = len(conjunction) + 1
                if len(letters) - start >= MIN_STEM_LETTERS:
                    out.append(("".join(clusters[:start]), key_of("ا" + letters[start:]), True))
                if len(letters) - start - 1 >= MIN_STEM_LETTERS:
                    prefix = "".join(clusters[: start + 1])
                    out.append((prefix, key_of(letters[start + 1 :]), False))
    return out


def _drop_first_letter(spoken: str) -> str:
    """``spoken`` without its first letter and that letter's marks (the article's alef)."""
    return re.sub(r"^.[\u064b-\u065f\u0670]*", "", spoken, count=1)
