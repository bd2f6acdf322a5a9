"""Counted nouns: their gender and forms, so that "3 حسابات" and "7 مدن" are read right.

The gender of a counted noun decides the number's form (ثَلَاثَة حِسَابَات but
سَبْع مُدُن), and it cannot be read off the plural: masculine nouns take ـات
(حِسَاب -> حِسَابَات) and feminine nouns take broken plurals (مَدِينَة -> مُدُن).
So the gender comes from a hand-written lexicon (``data/nouns.tsv``: singular,
plural, gender, irregular forms) that recognises every written form of a noun
(singular, dual, plural, accusative, with or without diacritics, with the
hamza/alef-maqsura/ta-marbuta spellings folded).

For a word not in the lexicon, the documented fallback (``guess_gender``):
feminine if it ends in ة, or in ات unless the stem is a masculine verbal noun
(اجتماعات, تعديلات: begins with ا/إ/ت, has at least five letters, and a long
vowel before its last letter); masculine otherwise. ``guess_dual`` forms the
dual of an unknown singular (مفتاح -> مفتاحان) unless it looks like a plural.
Pure data + lookups; no number spelling here (that is ``numbers``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib.resources import files

from natiq.text.normalize import strip_diacritics
from natiq.text.numbers import Case, Gender, Noun, dual_genitive

_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي", "ة": "ه"})
_FATHATAN = "\u064b"
_TRAILING_MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0652"


@lru_cache(maxsize=8192)
def fold(word: str) -> str:
    """The undiacritized, hamza/alef-maqsura/ta-marbuta-folded spelling used as a lookup key."""
    return strip_diacritics(word).translate(_FOLD)


def _default_dual(singular: str) -> str:
    if singular.endswith("ة"):
        return singular[:-1] + "تَان"
    return singular + "َان"


def _default_accusative(singular: str) -> str:
    if singular.endswith("ة"):
        return singular + _FATHATAN
    if singular.endswith("اء"):
        return singular + _FATHATAN
    return singular + _FATHATAN + "ا"


def _parse_line(line: str) -> tuple[Noun, list[str]]:
    fields = line.split("\t")
    if len(fields) < 3 or fields[2] not in ("m", "f"):
        raise ValueError(f"nouns.tsv: malformed line {line!r}")
    singular, plural, gender = fields[0], fields[1], fields[2]
    extras: dict[str, str] = {}
    for item in fields[3].split(";") if len(fields) > 3 and fields[3] else []:
        key, _, value = item.partition("=")
        extras[key] = value
    dual = extras.get("dual") or _default_dual(singular)
    noun = Noun(
        singular=singular,
        dual=dual,
        dual_gen=dual_genitive(dual),
        plural=plural,
        accusative=extras.get("acc") or _default_accusative(singular),
        gender=gender,  # type: ignore[arg-type]
        scale="scale" in extras,
    )
    # In order of priority: where two nouns share a spelling (كتاب is the singular
    # "book" and the plural "writers"), the singular reading wins.
    forms = [singular, dual, noun.dual_gen, noun.accusative, plural]
    forms += [form for form in extras.get("forms", "").split(",") if form]
    return noun, forms


@cache
def lexicon() -> dict[str, Noun]:
    """Every written form (folded, see ``fold``) -> its ``Noun``."""
    text = files("natiq.text").joinpath("data/nouns.tsv").read_text(encoding="utf-8")
    entries = [
        _parse_line(line.rstrip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    ]
    table: dict[str, Noun] = {}
    for priority in range(max(len(forms) for _, forms in entries)):
        for noun, forms in entries:
            if priority < len(forms):
                table.setdefault(fold(forms[priority]), noun)
    return table


def find(word: str) -> Noun | None:
    """The lexicon entry of a written noun form (diacritics and spelling variants allowed)."""
    return lexicon().get(fold(word))


def is_dual(word: str, noun: Noun) -> bool:
    """True if ``word`` is written as ``noun``'s dual (كتابان, سيارتين)."""
    return _duals().get(fold(word)) is noun


@cache
def _duals() -> dict[str, Noun]:
    """The folded dual forms of every lexicon noun -> the noun."""
    return {
        fold(form): noun for noun in set(lexicon().values()) for form in (noun.dual, noun.dual_gen)
    }


def entry(singular: str) -> Noun:
    """The lexicon entry of a noun the code itself needs (a KeyError names a missing one)."""
    noun = find(singular)
    if noun is None:
        raise KeyError(f"{singular!r} is not in natiq/text/data/nouns.tsv")
    return noun


_CLITICS = (
    "وبال",
    "وال",
    "بال",
    "فال",
    "كال",
    "لل",
    "ال",
    "وب",
    "ول",
    "فب",
    "و",
    "ف",
    "ب",
    "ل",
    "ك",
)
_SUFFIXES = ("هما", "كما", "هم", "هن", "كم", "كن", "نا", "ها", "ه", "ك", "ي")


def head_noun(word: str) -> Noun | None:
    """The noun inside a word with clitics, article or a possessive suffix.

    "بالذكرى" -> ذِكْرَى, "طبعتها" -> طَبْعَة, "للمرة" -> مَرَّة.
    """
    plain = strip_diacritics(word)
    candidates = [plain]
    for prefix in _CLITICS:
        if plain.startswith(prefix) and len(plain) - len(prefix) >= 2:
            candidates.append(plain[len(prefix) :])
    for candidate in list(candidates):
        for suffix in _SUFFIXES:
            if candidate.endswith(suffix) and len(candidate) - len(suffix) >= 2:
                stem = candidate[: -len(suffix)]
                candidates.append(stem[:-1] + "ة" if stem.endswith("ت") else stem)
    for candidate in candidates:
        noun = find(candidate)
        if noun is not None:
            return noun
    return None


def _masculine_verbal_noun(stem: str) -> bool:
    """اجتماع, امتحان, استثمار, إجراء, تعديل: masculine singulars that pluralise in ـات."""
    return len(stem) >= 5 and stem[0] in "اإت" and stem[-2] in "اي"


def guess_gender(word: str) -> Gender:
    """Gender of a word not in the lexicon (the documented fallback; see the module docstring)."""
    plain = strip_diacritics(word)
    noun = find(plain)
    if noun is not None:
        return noun.gender
    if len(plain) > 2 and plain.endswith("ات"):
        return "m" if _masculine_verbal_noun(plain[:-2]) else "f"
    if len(plain) > 1 and plain.endswith("ة"):
        return "f"
    return "m"


def looks_plural(word: str) -> bool:
    """True for sound plurals (ـات, ـون, ـين) and the broken-plural shapes أفعال and
    مفاعيل/فعاليل; such a word has no dual of its own."""
    plain = strip_diacritics(word)
    if plain.endswith("ات") and len(plain) > 3:
        return True
    if plain.endswith(("ون", "ين")) and len(plain) >= 5:
        return not (len(plain) == 5 and plain[0] == "ت")  # مهندسين, آخرين; not تمرين, تأمين
    if len(plain) == 5 and plain[0] in "أا" and plain[3] == "ا":  # أقلام, أفلام
        return True
    return len(plain) >= 5 and plain[2] == "ا" and plain[-2] in "يا" and plain[-1] != "ة"  # مفاتيح


def guess_dual(word: str, case: Case) -> str | None:
    """The dual of a singular noun not in the lexicon (مفتاح -> مفتاحان), or None if
    the word looks like a plural (then the caller says the number instead)."""
    base = word.rstrip(_TRAILING_MARKS)
    plain = strip_diacritics(base)
    if len(plain) < 2 or looks_plural(plain) or plain.endswith(("ى", "ا", "ي")):
        return None
    ending = "ان" if case == "nom" else "ين"
    if plain != base:  # the writer's word carries marks: so does its ending
        ending = "َان" if case == "nom" else "َيْن"
    if base.endswith("ة"):
        return base[:-1] + "ت" + ending
    return base + ending
