"""Words the verbalizer needs: currencies, units, counted nouns, months,
abbreviations, Latin letter names and acronyms (all diacritized).

Pure data. Keys are written as they appear in text (undiacritized, or Latin);
values are ``numbers.Noun`` records or diacritized Arabic.
"""

from __future__ import annotations

from dataclasses import dataclass

from natiq.text.numbers import Gender, Noun


def dual_genitive(dual: str) -> str:
    """The genitive/accusative of a dual phrase: every word's final ـان becomes ـيْن."""
    return " ".join(word[:-2] + "يْن" if word.endswith("ان") else word for word in dual.split(" "))


def _noun(singular: str, dual: str, plural: str, accusative: str, gender: Gender = "m") -> Noun:
    return Noun(singular, dual, dual_genitive(dual), plural, accusative, gender)


def _invariant(word: str) -> Noun:
    """A loanword with no dual or plural (يُورُو, غِيغَابَايْت): "2" is said as a number."""
    return Noun(word, "اثْنَان " + word, "اثْنَيْن " + word, word, word, "m")


@dataclass(frozen=True)
class Currency:
    major: Noun
    minor: Noun | None
    minor_digits: int  # how many decimal places the minor unit has (2 = cents)


DOLLAR = _noun("دُولَار", "دُولَارَان", "دُولَارَات", "دُولَارًا")
CENT = _noun("سِنْت", "سِنْتَان", "سِنْتَات", "سِنْتًا")
EURO = _invariant("يُورُو")
FILS = _noun("فِلْس", "فِلْسَان", "فُلُوس", "فِلْسًا")
HALALA = _noun("هَلَلَة", "هَلَلَتَان", "هَلَلَات", "هَلَلَةً", "f")
DIRHAM = _noun("دِرْهَم", "دِرْهَمَان", "دَرَاهِم", "دِرْهَمًا")
PIASTRE = _noun("قِرْش", "قِرْشَان", "قُرُوش", "قِرْشًا")
BAISA = _noun("بَيْسَة", "بَيْسَتَان", "بَيْسَات", "بَيْسَةً", "f")
PENNY = _noun("بِنْس", "بِنْسَان", "بِنْسَات", "بِنْسًا")
MILLIME = _noun("مِلِّيم", "مِلِّيمَان", "مِلِّيمَات", "مِلِّيمًا")
CENTIME = _noun("سَنْتِيم", "سَنْتِيمَان", "سَنْتِيمَات", "سَنْتِيمًا")


def _adjectival(noun: str, adj: str, gender: Gender = "m") -> Noun:
    """A currency named by noun + nisba adjective (ريال سعودي), agreeing in every form."""
    forms = {
        "m": {
            "riyal": ("رِيَال", "رِيَالَان", "رِيَالَات", "رِيَالًا"),
            "dinar": ("دِينَار", "دِينَارَان", "دَنَانِير", "دِينَارًا"),
            "pound": ("جُنَيْه", "جُنَيْهَان", "جُنَيْهَات", "جُنَيْهًا"),
            "dirham": ("دِرْهَم", "دِرْهَمَان", "دَرَاهِم", "دِرْهَمًا"),
        },
        "f": {
            "lira": ("لِيرَة", "لِيرَتَان", "لِيرَات", "لِيرَةً"),
            "rupee": ("رُوبِيَّة", "رُوبِيَّتَان", "رُوبِيَّات", "رُوبِيَّةً"),
        },
    }[gender][noun]
    # ``adj`` is a masculine nisba ending in ـِيّ (سُعُودِيّ); its forms add endings
    # after the shadda. Non-human plurals take the feminine singular adjective.
    base = adj.removesuffix("ّ")
    if gender == "m":
        singular_adj, dual_adj, accusative_adj = adj, base + "َّان", base + "ًّا"
    else:
        singular_adj, dual_adj, accusative_adj = base + "َّة", base + "َّتَان", base + "َّةً"
    plural_adj = base + "َّة"
    dual = f"{forms[1]} {dual_adj}"
    return Noun(
        f"{forms[0]} {singular_adj}",
        dual,
        dual_genitive(dual),
        f"{forms[2]} {plural_adj}",
        f"{forms[3]} {accusative_adj}",
        gender,
    )


SAUDI_RIYAL = _adjectival("riyal", "سُعُودِيّ")
QATARI_RIYAL = _adjectival("riyal", "قَطَرِيّ")
OMANI_RIYAL = _adjectival("riyal", "عُمَانِيّ")
KUWAITI_DINAR = _adjectival("dinar", "كُوَيْتِيّ")
BAHRAINI_DINAR = _adjectival("dinar", "بَحْرَيْنِيّ")
JORDANIAN_DINAR = _adjectival("dinar", "أُرْدُنِيّ")
TUNISIAN_DINAR = _adjectival("dinar", "تُونِسِيّ")
IRAQI_DINAR = _adjectival("dinar", "عِرَاقِيّ")
EGYPTIAN_POUND = _adjectival("pound", "مِصْرِيّ")
STERLING = _adjectival("pound", "إِسْتِرْلِينِيّ")
EMIRATI_DIRHAM = _adjectival("dirham", "إِمَارَاتِيّ")
MOROCCAN_DIRHAM = _adjectival("dirham", "مَغْرِبِيّ")
LEBANESE_LIRA = _adjectival("lira", "لُبْنَانِيّ", "f")
TURKISH_LIRA = _adjectival("lira", "تُرْكِيّ", "f")
INDIAN_RUPEE = _adjectival("rupee", "هِنْدِيّ", "f")
YEN = _noun("يِن", "يِنَّان", "يِنَّات", "يِنًّا")
YUAN = _noun("يُوَان", "يُوَانَان", "يُوَانَات", "يُوَانًا")

CURRENCIES: dict[str, Currency] = {}


def _register(keys: tuple[str, ...], currency: Currency) -> None:
    for key in keys:
        CURRENCIES[key] = currency


_register(("$", "USD", "US$", "دولار"), Currency(DOLLAR, CENT, 2))
_register(("€", "EUR", "يورو"), Currency(EURO, CENT, 2))
_register(("£", "GBP", "جنيه إسترليني"), Currency(STERLING, PENNY, 2))
_register(("¥", "JPY", "ين"), Currency(YEN, None, 0))
_register(("CNY", "RMB", "يوان"), Currency(YUAN, None, 2))
_register(("AED", "د.إ", "درهم إماراتي"), Currency(EMIRATI_DIRHAM, FILS, 2))
_register(("درهم",), Currency(DIRHAM, FILS, 2))
_register(("SAR", "ر.س", "ريال سعودي", "ريال"), Currency(SAUDI_RIYAL, HALALA, 2))
_register(("QAR", "ر.ق", "ريال قطري"), Currency(QATARI_RIYAL, DIRHAM, 2))
_register(("OMR", "ر.ع", "ريال عماني"), Currency(OMANI_RIYAL, BAISA, 3))
_register(("KWD", "د.ك", "دينار كويتي"), Currency(KUWAITI_DINAR, FILS, 3))
_register(("BHD", "د.ب", "دينار بحريني"), Currency(BAHRAINI_DINAR, FILS, 3))
_register(("JOD", "د.أ", "دينار أردني"), Currency(JORDANIAN_DINAR, FILS, 3))
_register(("TND", "د.ت", "دينار تونسي"), Currency(TUNISIAN_DINAR, MILLIME, 3))
_register(("IQD", "د.ع", "دينار عراقي"), Currency(IRAQI_DINAR, FILS, 3))
_register(("EGP", "ج.م", "جنيه مصري", "جنيه"), Currency(EGYPTIAN_POUND, PIASTRE, 2))
_register(("MAD", "د.م", "درهم مغربي"), Currency(MOROCCAN_DIRHAM, CENTIME, 2))
_register(("LBP", "ل.ل", "ليرة لبنانية"), Currency(LEBANESE_LIRA, PIASTRE, 2))
_register(("TRY", "ليرة تركية", "₺"), Currency(TURKISH_LIRA, PIASTRE, 2))
_register(("INR", "₹", "روبية"), Currency(INDIAN_RUPEE, BAISA, 2))

#: Units written after a number, Latin or Arabic abbreviations.
UNITS: dict[str, Noun] = {}
_KM = _noun("كِيلُومِتْر", "كِيلُومِتْرَان", "كِيلُومِتْرَات", "كِيلُومِتْرًا")
_M = _noun("مِتْر", "مِتْرَان", "أَمْتَار", "مِتْرًا")
_CM = _noun("سَنْتِيمِتْر", "سَنْتِيمِتْرَان", "سَنْتِيمِتْرَات", "سَنْتِيمِتْرًا")
_MM = _noun("مِلِّيمِتْر", "مِلِّيمِتْرَان", "مِلِّيمِتْرَات", "مِلِّيمِتْرًا")
_KG = _noun("كِيلُوغْرَام", "كِيلُوغْرَامَان", "كِيلُوغْرَامَات", "كِيلُوغْرَامًا")
_G = _noun("غْرَام", "غْرَامَان", "غْرَامَات", "غْرَامًا")
_L = _noun("لِتْر", "لِتْرَان", "لِتْرَات", "لِتْرًا")
_ML = _noun("مِلِّيلِتْر", "مِلِّيلِتْرَان", "مِلِّيلِتْرَات", "مِلِّيلِتْرًا")
_GB = _invariant("غِيغَابَايْت")
_MB = _invariant("مِيغَابَايْت")
_KB = _invariant("كِيلُوبَايْت")
_TB = _invariant("تِيرَابَايْت")
_KMH = _noun(
    "كِيلُومِتْر فِي السَّاعَة", "كِيلُومِتْرَان فِي السَّاعَة", "كِيلُومِتْرَات فِي السَّاعَة", "كِيلُومِتْرًا فِي السَّاعَة"
)
_DEGREE = _noun("دَرَجَة", "دَرَجَتَان", "دَرَجَات", "دَرَجَةً", "f")
_FAHRENHEIT = _noun("دَرَجَة فَهْرَنْهَايْت", "دَرَجَتَا فَهْرَنْهَايْت", "دَرَجَات فَهْرَنْهَايْت", "دَرَجَةً فَهْرَنْهَايْت", "f")
_CELSIUS = _noun("دَرَجَة مِئَوِيَّة", "دَرَجَتَان مِئَوِيَّتَان", "دَرَجَات مِئَوِيَّة", "دَرَجَةً مِئَوِيَّةً", "f")
_KM2 = _noun("كِيلُومِتْر مُرَبَّع", "كِيلُومِتْرَان مُرَبَّعَان", "كِيلُومِتْرَات مُرَبَّعَة", "كِيلُومِتْرًا مُرَبَّعًا")
_M2 = _noun("مِتْر مُرَبَّع", "مِتْرَان مُرَبَّعَان", "أَمْتَار مُرَبَّعَة", "مِتْرًا مُرَبَّعًا")
_KW = _invariant("كِيلُووَاط")
_MW = _invariant("مِيغَاوَاط")
_HZ = _invariant("هِرْتْز")
for keys, unit in (
    (("km", "كم"), _KM),
    (("m", "م"), _M),
    (("cm", "سم"), _CM),
    (("mm", "مم", "ملم"), _MM),
    (("kg", "كغ", "كجم"), _KG),
    (("g", "غ", "جم"), _G),
    (("l", "L", "ل"), _L),
    (("ml", "مل"), _ML),
    (("GB",), _GB),
    (("MB",), _MB),
    (("KB",), _KB),
    (("TB",), _TB),
    (("km/h", "كم/س"), _KMH),
    (("°C", "°", "ºC"), _CELSIUS),
    (("°F", "ºF"), _FAHRENHEIT),
    (("km²", "km2", "كم²", "كم2"), _KM2),
    (("m²", "m2", "م²", "م2"), _M2),
    (("kW",), _KW),
    (("MW",), _MW),
    (("Hz",), _HZ),
):
    for key in keys:
        UNITS[key] = unit
DEGREE = _DEGREE

#: Counted nouns recognised after a number (any listed form), to choose the
#: number's gender and the noun's form: "3 كتاب" -> ثَلَاثَة كُتُب.
NOUNS: dict[str, Noun] = {}
for forms, noun in (
    (("كتاب", "كتب", "كتابا"), _noun("كِتَاب", "كِتَابَان", "كُتُب", "كِتَابًا")),
    (("سيارة", "سيارات"), _noun("سَيَّارَة", "سَيَّارَتَان", "سَيَّارَات", "سَيَّارَةً", "f")),
    (("طالب", "طلاب", "طالبا"), _noun("طَالِب", "طَالِبَان", "طُلَّاب", "طَالِبًا")),
    (("طالبة", "طالبات"), _noun("طَالِبَة", "طَالِبَتَان", "طَالِبَات", "طَالِبَةً", "f")),
    (("يوم", "أيام", "يوما"), _noun("يَوْم", "يَوْمَان", "أَيَّام", "يَوْمًا")),
    (("ساعة", "ساعات"), _noun("سَاعَة", "سَاعَتَان", "سَاعَات", "سَاعَةً", "f")),
    (("دقيقة", "دقائق"), _noun("دَقِيقَة", "دَقِيقَتَان", "دَقَائِق", "دَقِيقَةً", "f")),
    (("ثانية", "ثوان", "ثواني"), _noun("ثَانِيَة", "ثَانِيَتَان", "ثَوَانٍ", "ثَانِيَةً", "f")),
    (("سنة", "سنوات", "سنين"), _noun("سَنَة", "سَنَتَان", "سَنَوَات", "سَنَةً", "f")),
    (("عام", "أعوام", "عاما"), _noun("عَام", "عَامَان", "أَعْوَام", "عَامًا")),
    (("شهر", "أشهر", "شهور", "شهرا"), _noun("شَهْر", "شَهْرَان", "أَشْهُر", "شَهْرًا")),
    (("أسبوع", "أسابيع", "أسبوعا"), _noun("أُسْبُوع", "أُسْبُوعَان", "أَسَابِيع", "أُسْبُوعًا")),
    (("مرة", "مرات"), _noun("مَرَّة", "مَرَّتَان", "مَرَّات", "مَرَّةً", "f")),
    (("رجل", "رجال", "رجلا"), _noun("رَجُل", "رَجُلَان", "رِجَال", "رَجُلًا")),
    (("امرأة", "نساء"), _noun("امْرَأَة", "امْرَأَتَان", "نِسَاء", "امْرَأَةً", "f")),
    (("ولد", "أولاد", "ولدا"), _noun("وَلَد", "وَلَدَان", "أَوْلَاد", "وَلَدًا")),
    (("بنت", "بنات"), _noun("بِنْت", "بِنْتَان", "بَنَات", "بِنْتًا", "f")),
    (("شخص", "أشخاص", "شخصا"), _noun("شَخْص", "شَخْصَان", "أَشْخَاص", "شَخْصًا")),
    (("صفحة", "صفحات"), _noun("صَفْحَة", "صَفْحَتَان", "صَفَحَات", "صَفْحَةً", "f")),
    (("مدينة", "مدن"), _noun("مَدِينَة", "مَدِينَتَان", "مُدُن", "مَدِينَةً", "f")),
    (("دولة", "دول"), _noun("دَوْلَة", "دَوْلَتَان", "دُوَل", "دَوْلَةً", "f")),
    (("مليون",), _noun("مِلْيُون", "مِلْيُونَان", "مَلَايِين", "مِلْيُونًا")),
    (("مليار",), _noun("مِلْيَار", "مِلْيَارَان", "مِلْيَارَات", "مِلْيَارًا")),
    (("ألف", "آلاف", "ألفا"), _noun("أَلْف", "أَلْفَان", "آلَاف", "أَلْفًا")),
):
    for form in forms:
        NOUNS[form] = noun

MONTHS = [
    "",
    "يَنَايِر",
    "فِبْرَايِر",
    "مَارِس",
    "أَبْرِيل",
    "مَايُو",
    "يُونْيُو",
    "يُولْيُو",
    "أُغُسْطُس",
    "سِبْتَمْبِر",
    "أُكْتُوبَر",
    "نُوفَمْبِر",
    "دِيسَمْبِر",
]
MONTH_NAMES: dict[str, int] = {
    name: index
    for index, names in enumerate(
        [
            (),
            ("يناير", "كانون الثاني"),
            ("فبراير", "شباط"),
            ("مارس", "آذار"),
            ("أبريل", "إبريل", "نيسان"),
            ("مايو", "أيار"),
            ("يونيو", "حزيران"),
            ("يوليو", "تموز"),
            ("أغسطس", "آب"),
            ("سبتمبر", "أيلول"),
            ("أكتوبر", "تشرين الأول"),
            ("نوفمبر", "تشرين الثاني"),
            ("ديسمبر", "كانون الأول"),
        ]
    )
    for name in names
}

#: Abbreviations read as words wherever they stand alone.
ABBREVIATIONS: dict[str, str] = {
    "أ.د.": "الْأُسْتَاذ الدُّكْتُور",
    "أ.د": "الْأُسْتَاذ الدُّكْتُور",
    "د.": "الدُّكْتُور",
    "أ.": "الْأُسْتَاذ",
    "ص.ب.": "صُنْدُوق بَرِيد",
    "ص.ب": "صُنْدُوق بَرِيد",
    "ق.م.": "قَبْل الْمِيلَاد",
    "ق.م": "قَبْل الْمِيلَاد",
    "إلخ": "إِلَى آخِرِه",
    "الخ": "إِلَى آخِرِه",
    "No.": "رَقْم",
    "Nos.": "أَرْقَام",
    "vs": "ضِدّ",
    "vs.": "ضِدّ",
    "etc.": "إِلَى آخِرِه",
    "etc": "إِلَى آخِرِه",
    "e.g.": "عَلَى سَبِيل الْمِثَال",
    "i.e.": "أَيْ",
    "Dr.": "الدُّكْتُور",
}

#: Symbols read as words when they stand between spaces or numbers.
SYMBOLS: dict[str, str] = {
    "&": "وَ",
    "+": "زَائِد",
    "=": "يُسَاوِي",
    "×": "ضَرْب",
    "÷": "عَلَى",
    "@": "آت",
}

LETTER_NAMES: dict[str, str] = {
    "A": "إِيه",
    "B": "بِي",
    "C": "سِي",
    "D": "دِي",
    "E": "إِي",
    "F": "إِف",
    "G": "جِي",
    "H": "إِتْش",
    "I": "آي",
    "J": "جِيه",
    "K": "كِيه",
    "L": "إِل",
    "M": "إِم",
    "N": "إِن",
    "O": "أُو",
    "P": "بِي",
    "Q": "كِيو",
    "R": "آر",
    "S": "إِس",
    "T": "تِي",
    "U": "يُو",
    "V": "فِي",
    "W": "دَبْلِيُو",
    "X": "إِكْس",
    "Y": "وَاي",
    "Z": "زِد",
}

#: Acronyms said as words rather than letter by letter.
ACRONYM_WORDS: dict[str, str] = {
    "NASA": "نَاسَا",
    "UNESCO": "الْيُونِسْكُو",
    "UNICEF": "الْيُونِيسِف",
    "OPEC": "أُوبِك",
    "NATO": "النَّاتُو",
    "FIFA": "الْفِيفَا",
    "AIDS": "الْإِيدْز",
    "COVID": "كُوفِيد",
    "AM": "صَبَاحًا",
    "PM": "مَسَاءً",
}

AM = {"ص", "صباحا", "صباحاً", "AM", "am", "a.m."}
PM = {"م", "مساء", "مساءً", "مساءا", "PM", "pm", "p.m."}
