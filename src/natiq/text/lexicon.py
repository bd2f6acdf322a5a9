"""Words the verbalizer needs: currencies, units, abbreviations, Latin letter
names and acronyms (all diacritized).

Pure data. Keys are written as they appear in text (undiacritized, or Latin);
values are ``numbers.Noun`` records or diacritized Arabic. Currencies written
with Arabic words after an amount ("3 دنانير كويتية") are found by
``find_currency``, which knows every form of the currency's noun and of its
nationality adjective; counted nouns are in ``natiq.text.nouns``.
"""

from __future__ import annotations

from dataclasses import dataclass

from natiq.text import nouns
from natiq.text.numbers import Gender, Noun, dual_genitive


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
RIYAL = _noun("رِيَال", "رِيَالَان", "رِيَالَات", "رِيَالًا")
DINAR = _noun("دِينَار", "دِينَارَان", "دَنَانِير", "دِينَارًا")
POUND = _noun("جُنَيْه", "جُنَيْهَان", "جُنَيْهَات", "جُنَيْهًا")
LIRA = _noun("لِيرَة", "لِيرَتَان", "لِيرَات", "لِيرَةً", "f")
RUPEE = _noun("رُوبِيَّة", "رُوبِيَّتَان", "رُوبِيَّات", "رُوبِيَّةً", "f")
FRANC = _noun("فَرَنْك", "فَرَنْكَان", "فَرَنْكَات", "فَرَنْكًا")
YEN = _noun("يِن", "يِنَّان", "يِنَّات", "يِنًّا")
YUAN = _noun("يُوَان", "يُوَانَان", "يُوَانَات", "يُوَانًا")


def _adjectival(base: Noun, adj: str) -> Noun:
    """A currency named by noun + nisba adjective (ريال سعودي), agreeing in every form.

    ``adj`` is the masculine nisba ending in ـِيّ (سُعُودِيّ); its forms add endings
    after the shadda. Non-human plurals take the feminine singular adjective.
    """
    stem = adj.removesuffix("ّ")
    if base.gender == "m":
        singular_adj, dual_adj, accusative_adj = adj, stem + "َّان", stem + "ًّا"
    else:
        singular_adj, dual_adj, accusative_adj = stem + "َّة", stem + "َّتَان", stem + "َّةً"
    dual = f"{base.dual} {dual_adj}"
    return Noun(
        f"{base.singular} {singular_adj}",
        dual,
        dual_genitive(dual),
        f"{base.plural} {stem}َّة",
        f"{base.accusative} {accusative_adj}",
        base.gender,
    )


SAUDI_RIYAL = _adjectival(RIYAL, "سُعُودِيّ")
QATARI_RIYAL = _adjectival(RIYAL, "قَطَرِيّ")
OMANI_RIYAL = _adjectival(RIYAL, "عُمَانِيّ")
YEMENI_RIYAL = _adjectival(RIYAL, "يَمَنِيّ")
KUWAITI_DINAR = _adjectival(DINAR, "كُوَيْتِيّ")
BAHRAINI_DINAR = _adjectival(DINAR, "بَحْرَيْنِيّ")
JORDANIAN_DINAR = _adjectival(DINAR, "أُرْدُنِيّ")
TUNISIAN_DINAR = _adjectival(DINAR, "تُونِسِيّ")
IRAQI_DINAR = _adjectival(DINAR, "عِرَاقِيّ")
LIBYAN_DINAR = _adjectival(DINAR, "لِيبِيّ")
ALGERIAN_DINAR = _adjectival(DINAR, "جَزَائِرِيّ")
EGYPTIAN_POUND = _adjectival(POUND, "مِصْرِيّ")
SUDANESE_POUND = _adjectival(POUND, "سُودَانِيّ")
STERLING = _adjectival(POUND, "إِسْتِرْلِينِيّ")
EMIRATI_DIRHAM = _adjectival(DIRHAM, "إِمَارَاتِيّ")
MOROCCAN_DIRHAM = _adjectival(DIRHAM, "مَغْرِبِيّ")
LEBANESE_LIRA = _adjectival(LIRA, "لُبْنَانِيّ")
SYRIAN_LIRA = _adjectival(LIRA, "سُورِيّ")
TURKISH_LIRA = _adjectival(LIRA, "تُرْكِيّ")
INDIAN_RUPEE = _adjectival(RUPEE, "هِنْدِيّ")
US_DOLLAR = _adjectival(DOLLAR, "أَمْرِيكِيّ")
CANADIAN_DOLLAR = _adjectival(DOLLAR, "كَنَدِيّ")
AUSTRALIAN_DOLLAR = _adjectival(DOLLAR, "أُسْتُرَالِيّ")
SWISS_FRANC = _adjectival(FRANC, "سُوِيسْرِيّ")

USD = Currency(DOLLAR, CENT, 2)
SAR = Currency(SAUDI_RIYAL, HALALA, 2)

#: Symbols, ISO codes and Arabic abbreviations, written before or after an amount.
CURRENCIES: dict[str, Currency] = {}


def _register(keys: tuple[str, ...], currency: Currency) -> None:
    for key in keys:
        CURRENCIES[key] = currency


_register(("$", "USD", "US$"), USD)
_register(("€", "EUR"), Currency(EURO, CENT, 2))
_register(("£", "GBP"), Currency(STERLING, PENNY, 2))
_register(("¥", "JPY"), Currency(YEN, None, 0))
_register(("CNY", "RMB"), Currency(YUAN, None, 2))
_register(("AED", "د.إ"), Currency(EMIRATI_DIRHAM, FILS, 2))
_register(("SAR", "ر.س"), SAR)
_register(("QAR", "ر.ق"), Currency(QATARI_RIYAL, DIRHAM, 2))
_register(("OMR", "ر.ع"), Currency(OMANI_RIYAL, BAISA, 3))
_register(("KWD", "د.ك"), Currency(KUWAITI_DINAR, FILS, 3))
_register(("BHD", "د.ب"), Currency(BAHRAINI_DINAR, FILS, 3))
_register(("JOD", "د.أ"), Currency(JORDANIAN_DINAR, FILS, 3))
_register(("TND", "د.ت"), Currency(TUNISIAN_DINAR, MILLIME, 3))
_register(("IQD", "د.ع"), Currency(IRAQI_DINAR, FILS, 3))
_register(("LYD", "د.ل"), Currency(LIBYAN_DINAR, DIRHAM, 3))
_register(("DZD", "د.ج"), Currency(ALGERIAN_DINAR, CENTIME, 2))
_register(("EGP", "ج.م"), Currency(EGYPTIAN_POUND, PIASTRE, 2))
_register(("SDG",), Currency(SUDANESE_POUND, PIASTRE, 2))
_register(("MAD", "د.م"), Currency(MOROCCAN_DIRHAM, CENTIME, 2))
_register(("LBP", "ل.ل"), Currency(LEBANESE_LIRA, PIASTRE, 2))
_register(("SYP", "ل.س"), Currency(SYRIAN_LIRA, PIASTRE, 2))
_register(("TRY", "₺"), Currency(TURKISH_LIRA, PIASTRE, 2))
_register(("INR", "₹"), Currency(INDIAN_RUPEE, BAISA, 2))
_register(("YER",), Currency(YEMENI_RIYAL, FILS, 2))
_register(("CAD",), Currency(CANADIAN_DOLLAR, CENT, 2))
_register(("AUD",), Currency(AUSTRALIAN_DOLLAR, CENT, 2))
_register(("CHF",), Currency(SWISS_FRANC, CENTIME, 2))

# Currencies written with Arabic words: the noun (any form) + an optional
# nationality adjective (any form). A noun without an adjective is read as
# written (ريال stays ريال; no country is added).
_NAMED: dict[tuple[Noun, str | None], Currency] = {
    (DOLLAR, None): USD,
    (DOLLAR, "أمريكي"): Currency(US_DOLLAR, CENT, 2),
    (DOLLAR, "أميركي"): Currency(US_DOLLAR, CENT, 2),
    (DOLLAR, "كندي"): CURRENCIES["CAD"],
    (DOLLAR, "أسترالي"): CURRENCIES["AUD"],
    (EURO, None): CURRENCIES["EUR"],
    (YEN, None): CURRENCIES["JPY"],
    (YUAN, None): CURRENCIES["CNY"],
    (RIYAL, None): Currency(RIYAL, None, 2),
    (RIYAL, "سعودي"): SAR,
    (RIYAL, "قطري"): CURRENCIES["QAR"],
    (RIYAL, "عماني"): CURRENCIES["OMR"],
    (RIYAL, "يمني"): CURRENCIES["YER"],
    (DINAR, None): Currency(DINAR, None, 3),
    (DINAR, "كويتي"): CURRENCIES["KWD"],
    (DINAR, "بحريني"): CURRENCIES["BHD"],
    (DINAR, "أردني"): CURRENCIES["JOD"],
    (DINAR, "تونسي"): CURRENCIES["TND"],
    (DINAR, "عراقي"): CURRENCIES["IQD"],
    (DINAR, "ليبي"): CURRENCIES["LYD"],
    (DINAR, "جزائري"): CURRENCIES["DZD"],
    (POUND, None): Currency(POUND, PIASTRE, 2),
    (POUND, "مصري"): CURRENCIES["EGP"],
    (POUND, "سوداني"): CURRENCIES["SDG"],
    (POUND, "إسترليني"): CURRENCIES["GBP"],
    (POUND, "استرليني"): CURRENCIES["GBP"],
    (DIRHAM, None): Currency(DIRHAM, None, 2),
    (DIRHAM, "إماراتي"): CURRENCIES["AED"],
    (DIRHAM, "مغربي"): CURRENCIES["MAD"],
    (LIRA, None): Currency(LIRA, PIASTRE, 2),
    (LIRA, "لبناني"): CURRENCIES["LBP"],
    (LIRA, "سوري"): CURRENCIES["SYP"],
    (LIRA, "تركي"): CURRENCIES["TRY"],
    (RUPEE, None): Currency(RUPEE, None, 2),
    (RUPEE, "هندي"): CURRENCIES["INR"],
    (FRANC, None): Currency(FRANC, CENTIME, 2),
    (FRANC, "سويسري"): CURRENCIES["CHF"],
}


def _forms(noun: Noun) -> set[str]:
    return {
        nouns.fold(form)
        for form in (noun.singular, noun.dual, noun.dual_gen, noun.plural, noun.accusative)
    }


_CURRENCY_NOUNS: dict[str, Noun] = {
    form: noun for noun, _ in _NAMED for form in _forms(noun) if " " not in form
}
# Every written form of a nationality adjective -> its masculine singular.
_NATIONALITIES: dict[str, str] = {
    nouns.fold(stem + ending): stem
    for _, stem in _NAMED
    if stem is not None
    for ending in ("", "ة", "ا", "ان", "ين", "تان", "تين")
}


def is_currency_word(word: str) -> bool:
    """True if ``word`` is a form of a currency's name (ريالات, دينارا, يورو)."""
    return nouns.fold(word) in _CURRENCY_NOUNS


def find_currency(first: str, second: str | None) -> tuple[Currency, int] | None:
    """The currency named by the word(s) after an amount and how many words name it.

    "ريالا سعوديا" -> (Saudi riyal, 2); "دنانير" -> (dinar, 1); "كتاب" -> None.
    """
    noun = _CURRENCY_NOUNS.get(nouns.fold(first))
    if noun is None:
        return None
    if second is not None:
        stem = _NATIONALITIES.get(nouns.fold(second))
        if stem is not None and (noun, stem) in _NAMED:
            return _NAMED[(noun, stem)], 2
    return _NAMED[(noun, None)], 1


#: Units written after a number, Latin or Arabic abbreviations.
UNITS: dict[str, Noun] = {}
_KM = nouns.entry("كيلومتر")
_M = nouns.entry("متر")
_CM = nouns.entry("سنتيمتر")
_MM = nouns.entry("مليمتر")
_KG = nouns.entry("كيلوغرام")
_G = nouns.entry("غرام")
_MG = nouns.entry("مليغرام")
_L = nouns.entry("لتر")
_ML = nouns.entry("مليلتر")
_HA = nouns.entry("هكتار")
_GB = _invariant("غِيغَابَايْت")
_MB = _invariant("مِيغَابَايْت")
_KB = _invariant("كِيلُوبَايْت")
_TB = _invariant("تِيرَابَايْت")
_KMH = _noun(
    "كِيلُومِتْر فِي السَّاعَة", "كِيلُومِتْرَان فِي السَّاعَة", "كِيلُومِتْرَات فِي السَّاعَة", "كِيلُومِتْرًا فِي السَّاعَة"
)
_MPS = _noun("مِتْر فِي الثَّانِيَة", "مِتْرَان فِي الثَّانِيَة", "أَمْتَار فِي الثَّانِيَة", "مِتْرًا فِي الثَّانِيَة")
_DEGREE = nouns.entry("درجة")
_FAHRENHEIT = _noun("دَرَجَة فَهْرَنْهَايْت", "دَرَجَتَا فَهْرَنْهَايْت", "دَرَجَات فَهْرَنْهَايْت", "دَرَجَةً فَهْرَنْهَايْت", "f")
_CELSIUS = _noun("دَرَجَة مِئَوِيَّة", "دَرَجَتَان مِئَوِيَّتَان", "دَرَجَات مِئَوِيَّة", "دَرَجَةً مِئَوِيَّةً", "f")
_KM2 = _noun("كِيلُومِتْر مُرَبَّع", "كِيلُومِتْرَان مُرَبَّعَان", "كِيلُومِتْرَات مُرَبَّعَة", "كِيلُومِتْرًا مُرَبَّعًا")
_M2 = _noun("مِتْر مُرَبَّع", "مِتْرَان مُرَبَّعَان", "أَمْتَار مُرَبَّعَة", "مِتْرًا مُرَبَّعًا")
_M3 = _noun("مِتْر مُكَعَّب", "مِتْرَان مُكَعَّبَان", "أَمْتَار مُكَعَّبَة", "مِتْرًا مُكَعَّبًا")
_W = _invariant("وَاط")
_KW = _invariant("كِيلُووَاط")
_MW = _invariant("مِيغَاوَاط")
_KWH = _invariant("كِيلُووَاط سَاعَة")
_V = _invariant("فُولْت")
_MAH = _invariant("مِلِّي أَمْبِير سَاعَة")
_HZ = _invariant("هِرْتْز")
_MHZ = _invariant("مِيغَاهِرْتْز")
_GHZ = _invariant("غِيغَاهِرْتْز")
_MBPS = _invariant("مِيغَابِت فِي الثَّانِيَة")
_DB = _invariant("دِيسِيبِل")
_KCAL = _noun("سُعْرَة حَرَارِيَّة", "سُعْرَتَان حَرَارِيَّتَان", "سُعُرَات حَرَارِيَّة", "سُعْرَةً حَرَارِيَّةً", "f")
for keys, unit in (
    (("km", "كم", "كلم"), _KM),
    (("m", "م"), _M),
    (("cm", "سم"), _CM),
    (("mm", "مم", "ملم"), _MM),
    (("kg", "كغ", "كجم", "كلغ"), _KG),
    (("g", "غ", "جم", "غم"), _G),
    (("mg", "ملغ", "مغ", "ملجم"), _MG),
    (("l", "L", "ل"), _L),
    (("ml", "mL", "مل"), _ML),
    (("ha",), _HA),
    (("GB",), _GB),
    (("MB",), _MB),
    (("KB",), _KB),
    (("TB",), _TB),
    (("km/h", "كم/س", "كم/ساعة", "كم/سا"), _KMH),
    (("m/s", "م/ث"), _MPS),
    (("°C", "ºC", "°م", "م°"), _CELSIUS),
    (("°", "º"), _DEGREE),
    (("°F", "ºF"), _FAHRENHEIT),
    (("km²", "km2", "كم²", "كم2"), _KM2),
    (("m²", "m2", "م²", "م2"), _M2),
    (("m³", "m3", "م³", "م3"), _M3),
    (("W",), _W),
    (("kW",), _KW),
    (("MW",), _MW),
    (("kWh",), _KWH),
    (("V",), _V),
    (("mAh",), _MAH),
    (("Hz",), _HZ),
    (("MHz",), _MHZ),
    (("GHz",), _GHZ),
    (("Mbps", "Mb/s"), _MBPS),
    (("dB",), _DB),
    (("kcal",), _KCAL),
):
    for key in keys:
        UNITS[key] = unit

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
