"""Named Arabic code points and character classes shared by the text stages.

One place that says which code points are letters, which are diacritics and
which are punctuation, so that normalization, romanization and verbalization
can never disagree about them. Pure data: no logic beyond building sets.
"""

from __future__ import annotations

HAMZA = "\u0621"  # ء
ALEF_MADDA = "\u0622"  # آ
ALEF_HAMZA_ABOVE = "\u0623"  # أ
WAW_HAMZA = "\u0624"  # ؤ
ALEF_HAMZA_BELOW = "\u0625"  # إ
YEH_HAMZA = "\u0626"  # ئ
ALEF = "\u0627"  # ا
BEH = "\u0628"
TEH_MARBUTA = "\u0629"  # ة
TEH = "\u062a"
THEH = "\u062b"
JEEM = "\u062c"
HAH = "\u062d"
KHAH = "\u062e"
DAL = "\u062f"
THAL = "\u0630"
REH = "\u0631"
ZAIN = "\u0632"
SEEN = "\u0633"
SHEEN = "\u0634"
SAD = "\u0635"
DAD = "\u0636"
TAH = "\u0637"
ZAH = "\u0638"
AIN = "\u0639"
GHAIN = "\u063a"
TATWEEL = "\u0640"
FEH = "\u0641"
QAF = "\u0642"
KAF = "\u0643"
LAM = "\u0644"
MEEM = "\u0645"
NOON = "\u0646"
HEH = "\u0647"
WAW = "\u0648"
ALEF_MAKSURA = "\u0649"  # ى
YEH = "\u064a"
ALEF_WASLA = "\u0671"  # ٱ

FATHATAN = "\u064b"
DAMMATAN = "\u064c"
KASRATAN = "\u064d"
FATHA = "\u064e"
DAMMA = "\u064f"
KASRA = "\u0650"
SHADDA = "\u0651"
SUKUN = "\u0652"
MADDA_ABOVE = "\u0653"
HAMZA_ABOVE = "\u0654"
HAMZA_BELOW = "\u0655"
DAGGER_ALEF = "\u0670"  # superscript alef

#: The 28 letters of the alphabet plus hamza and its seats, ta marbuta, alef
#: maqsura and alef wasla.
LETTERS = frozenset(chr(c) for c in range(0x0621, 0x063B)) | frozenset(
    chr(c) for c in range(0x0641, 0x064B)
)
LETTERS = LETTERS | {ALEF_WASLA}

#: Letters used for other languages written in Arabic script (Persian, Urdu, ...).
EXTRA_LETTERS = frozenset("\u067e\u0686\u06a4\u06af\u06a9\u06cc\u0698")  # پ چ ڤ گ ک ی ژ

SHORT_VOWELS = FATHA + DAMMA + KASRA
TANWEEN = FATHATAN + DAMMATAN + KASRATAN
#: Marks written on a letter: tanween, short vowels, shadda, sukun, dagger alef.
DIACRITICS = TANWEEN + SHORT_VOWELS + SHADDA + SUKUN + DAGGER_ALEF
DIACRITIC_SET = frozenset(DIACRITICS)

#: The sun letters assimilate the lam of the article (ال + ش -> ash-sh...).
SUN_LETTERS = (
    TEH + THEH + DAL + THAL + REH + ZAIN + SEEN + SHEEN + SAD + DAD + TAH + ZAH + LAM + NOON
)
MOON_LETTERS = "".join(sorted(set(map(chr, range(0x0621, 0x063B))) - set(SUN_LETTERS)))

ARABIC_COMMA = "\u060c"  # ،
ARABIC_SEMICOLON = "\u061b"  # ؛
ARABIC_QUESTION = "\u061f"  # ؟
ARABIC_FULL_STOP = "\u06d4"  # ۔
ARABIC_PERCENT = "\u066a"  # ٪
ARABIC_DECIMAL = "\u066b"  # ٫
ARABIC_THOUSANDS = "\u066c"  # ٬

ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"


def is_arabic_letter(char: str) -> bool:
    """True for a letter of the Arabic alphabet (not a mark, digit or sign)."""
    return char in LETTERS or char in EXTRA_LETTERS
