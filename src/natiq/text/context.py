"""What the few words around a number say about how to read it.

The verbalizer does not parse sentences. It looks at up to three words before a
number (never across punctuation or another number) and decides:

- the case of the number's variable endings (duals, the tens): oblique
  (genitive/accusative) after a preposition (في 20 -> فِي عِشْرِين), after an
  indefinite noun of measure that governs it in a construct (بنسبة, بسرعة,
  بمبلغ, عام, سنة) and after a transitive verb of measure or counting within
  three words (بلغ عدد السكان 20 مليونا, اشتريت 2 كتاب); nominative otherwise,
  and always after هناك/لدي/عنده, which announce a delayed subject.
- the head noun an ordinal describes ("الطبعة الـ2": the word before).
- rating context ("تقييم 4/5") and date context ("يوم 3/4").

Every lookup is a set membership on a short window, so verbalization stays
linear in the length of the text.
"""

from __future__ import annotations

import re

from natiq.text.normalize import strip_diacritics
from natiq.text.numbers import Case

PREPOSITIONS = frozenset(
    [
        "في",
        "من",
        "إلى",
        "الى",
        "على",
        "عن",
        "منذ",
        "مذ",
        "حتى",
        "بعد",
        "قبل",
        "حوالي",
        "حوالى",
        "نحو",
        "لمدة",
        "خلال",
        "بين",
        "مع",
        "عبر",
        "تحت",
        "فوق",
        "دون",
        "بدون",
        "سوى",
        "قرابة",
        "زهاء",
        "عند",
        "ب",
        "ل",
        "ك",
    ]
)
# An indefinite noun right before a number governs it as the second term of a
# construct ("بنسبة 25%" = بِنِسْبَةِ خَمْسَةٍ وَعِشْرِينَ). Checked with و/ب/ل/ك removed.
GOVERNING_NOUNS = frozenset(
    [
        "عام",
        "سنة",
        "عامي",
        "سنتي",
        "مبلغ",
        "قيمة",
        "سعر",
        "تكلفة",
        "كلفة",
        "سرعة",
        "ارتفاع",
        "عمق",
        "طول",
        "عرض",
        "وزن",
        "مساحة",
        "حجم",
        "سعة",
        "قدرة",
        "نسبة",
        "معدل",
        "متوسط",
        "مسافة",
        "مدة",
        "عدد",
        "مجموع",
        "إجمالي",
        "حدود",
        "عمر",
        "سن",
        "درجة",
        "حرارة",
        "مطلع",
        "بداية",
        "نهاية",
        "أوائل",
        "أواخر",
        "منتصف",
    ]
)
# Verbs whose object or measure is often a number ("بلغ عدد السكان 20 مليونا",
# "اشتريت 2 كتاب", "كان عمره 20 عاما"); passive-looking forms (قتل, أصيب) and
# intransitives are deliberately absent: the number after them is a subject.
TRANSITIVE_VERBS = frozenset(
    [
        "بلغ",
        "بلغت",
        "يبلغ",
        "تبلغ",
        "بلغا",
        "بلغنا",
        "تجاوز",
        "تجاوزت",
        "يتجاوز",
        "تتجاوز",
        "تخطى",
        "تخطت",
        "يتخطى",
        "يتخطى",
        "سجل",
        "سجلت",
        "يسجل",
        "تسجل",
        "سجلنا",
        "حقق",
        "حققت",
        "يحقق",
        "تحقق",
        "أحرز",
        "أحرزت",
        "يحرز",
        "ضم",
        "ضمت",
        "يضم",
        "تضم",
        "تضمن",
        "يتضمن",
        "تتضمن",
        "استغرق",
        "استغرقت",
        "يستغرق",
        "تستغرق",
        "يبعد",
        "تبعد",
        "يساوي",
        "تساوي",
        "يعادل",
        "تعادل",
        "يقارب",
        "تقارب",
        "قارب",
        "يكلف",
        "تكلف",
        "كلف",
        "كلفت",
        "كلفني",
        "كلفتني",
        "دفع",
        "دفعت",
        "يدفع",
        "تدفع",
        "ندفع",
        "أدفع",
        "دفعنا",
        "ادفع",
        "اشترى",
        "اشتريت",
        "اشترت",
        "يشتري",
        "تشتري",
        "نشتري",
        "أشتري",
        "اشترينا",
        "اشتر",
        "باع",
        "باعت",
        "بعت",
        "يبيع",
        "تبيع",
        "ربح",
        "ربحت",
        "يربح",
        "خسر",
        "خسرت",
        "يخسر",
        "أنفق",
        "أنفقت",
        "ينفق",
        "جمع",
        "جمعت",
        "يجمع",
        "قرأ",
        "قرأت",
        "يقرأ",
        "كتبت",
        "نشر",
        "نشرت",
        "ينشر",
        "ترجم",
        "ترجمت",
        "أرسل",
        "أرسلت",
        "يرسل",
        "استقبل",
        "استقبلت",
        "يستقبل",
        "تستقبل",
        "قطع",
        "قطعت",
        "يقطع",
        "مشى",
        "مشيت",
        "يمشي",
        "ركض",
        "ركضت",
        "انتظر",
        "انتظرت",
        "ينتظر",
        "أمضى",
        "أمضيت",
        "يمضي",
        "قضى",
        "قضيت",
        "يقضي",
        "عاش",
        "عاشت",
        "أنجز",
        "أنجزت",
        "أنجزنا",
        "ينجز",
        "أكمل",
        "أكملت",
        "يكمل",
        "أتم",
        "أتمت",
        "يتم",
        "أحتاج",
        "نحتاج",
        "تحتاج",
        "يحتاج",
        "يتطلب",
        "تتطلب",
        "اشرب",
        "أضف",
        "أضيفي",
        "خذ",
        "تناول",
        "شربت",
        "أكلت",
        "يملك",
        "تملك",
        "أملك",
        "نملك",
        "يمتلك",
        "تمتلك",
        "خصص",
        "خصصت",
        "رصد",
        "رصدت",
        "منح",
        "منحت",
        "أعطى",
        "أعطيت",
        "نال",
        "نالت",
        "حصد",
        "حصدت",
        "أنتج",
        "أنتجت",
        "ينتج",
        "تنتج",
        "وزعت",
        "وزع",
        "زرت",
        "زرنا",
        "شاهدت",
        "رأيت",
        "التقطت",
        "حملت",
        "حمل",
        "أطلق",
        "أطلقت",
        "شن",
        "شنت",
        "نفذ",
        "نفذت",
        "أضاف",
        "أضافت",
        "يضيف",
        "يستوعب",
        "تستوعب",
        "يستهلك",
        "تستهلك",
        "استضاف",
        "استضافت",
        "يستضيف",
        "تستضيف",
        "حجزت",
        "طلبت",
        "سحبت",
        "حولت",
        "يتقاضى",
        "تقاضى",
        "يوفر",
        "توفر",
        "وفر",
        "كان",
        "كانت",
        "يكون",
        "تكون",
        "أصبح",
        "أصبحت",
        "يصبح",
        "تصبح",
        "صار",
        "صارت",
        "ليس",
        "ليست",
        "ظل",
        "ظلت",
    ]
)
# Words that announce a delayed subject: the number after them is nominative.
SUBJECT_MARKERS = frozenset(
    [
        "هناك",
        "هنالك",
        "لدي",
        "لديه",
        "لديها",
        "لدينا",
        "لديهم",
        "لديك",
        "لدى",
        "عندي",
        "عنده",
        "عندها",
        "عندنا",
        "عندهم",
        "عندك",
    ]
)
# "تقييم 4/5", "حصل على 18/20": a slash is "out of".
RATING_WORDS = frozenset(
    [
        "تقييم",
        "التقييم",
        "تقييمه",
        "تقييمها",
        "تقييمي",
        "علامة",
        "العلامة",
        "علامته",
        "علامتي",
        "نتيجة",
        "النتيجة",
        "نتيجته",
        "نتيجتي",
        "معدل",
        "المعدل",
        "معدله",
        "معدلي",
        "درجة",
        "الدرجة",
        "درجته",
        "درجتي",
        "حصل",
        "حصلت",
        "نال",
        "نالت",
        "أعطى",
        "أعطيت",
        "أعطيته",
        "منح",
        "منحت",
        "منحته",
        "قيم",
        "قيمت",
        "قيمته",
    ]
)
# "يوم 3/4", "بتاريخ 12/7": a slash is a day and a month.
DATE_WORDS = frozenset(
    ["يوم", "اليوم", "بتاريخ", "تاريخ", "التاريخ", "الموافق", "ليلة", "صباح", "مساء"]
)

_TOKEN = re.compile(r"[\u0621-\u063a\u0641-\u064a\u0671-\u06d3\u064b-\u0652\u0670]+|\S")
_WINDOW = 80
_CONJUNCTIONS = frozenset("وف")


def words_before(text: str, start: int, limit: int = 3) -> list[str]:
    """Up to ``limit`` words before ``start`` (nearest first, without diacritics),
    stopping at punctuation, digits or anything that is not an Arabic word.
    A lone و/ف (a conjunction written apart or glued to the number) is skipped."""
    tokens = _TOKEN.findall(text, max(0, start - _WINDOW), start)
    words: list[str] = []
    for token in reversed(tokens):
        if not ("\u0621" <= token[0] <= "\u06d3"):
            break
        word = strip_diacritics(token)
        if word in _CONJUNCTIONS and not words:
            continue
        words.append(word)
        if len(words) == limit:
            break
    return words


def _without_clitics(word: str) -> str:
    for prefix in ("وب", "ول", "فب", "و", "ف", "ب", "ل", "ك"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


_SUBJECT_SUFFIXES = ("تما", "تم", "نا", "وا", "ت")


def _is_transitive_verb(word: str) -> bool:
    """A listed verb, maybe with و/ف before it or a subject suffix (انتظرنا, دفعوا)."""
    if word[:1] in _CONJUNCTIONS and len(word) > 3:
        word_without = word[1:]
        if _is_transitive_verb(word_without):
            return True
    if word in TRANSITIVE_VERBS:
        return True
    return any(
        word.endswith(suffix) and word[: -len(suffix)] in TRANSITIVE_VERBS
        for suffix in _SUBJECT_SUFFIXES
    )


def case_of(words: list[str]) -> Case:
    """The case of a number preceded by ``words`` (nearest first; see the module docstring)."""
    if not words:
        return "nom"
    first = words[0]
    if (
        first in PREPOSITIONS
        or first in GOVERNING_NOUNS
        or _without_clitics(first) in GOVERNING_NOUNS
    ):
        return "gen"
    for word in words:
        if word in SUBJECT_MARKERS or word in PREPOSITIONS:
            return "nom"
        if _is_transitive_verb(word):
            return "gen"
    return "nom"


def case_before(text: str, start: int) -> Case:
    """The case of the number that starts at ``start``."""
    return case_of(words_before(text, start))


def any_of(words: list[str], vocabulary: frozenset[str]) -> bool:
    """True if one of ``words`` (or it without a و/ب/ل/ك prefix) is in ``vocabulary``."""
    return any(word in vocabulary or _without_clitics(word) in vocabulary for word in words)
