"""normalize(): canonical Unicode, invisible characters, digits, diacritics, folding."""

from __future__ import annotations

import pytest

from natiq.text import fold_letters, normalize, strip_diacritics

CASES: list[tuple[str, str]] = [
    ("مرحـــبا", "مرحبا"),  # tatweel
    ("مر\u200fحبا\u200e", "مرحبا"),  # RLM / LRM
    ("مر\u200dحب\u200cا", "مرحبا"),  # ZWJ / ZWNJ
    ("\u061cمرحبا", "مرحبا"),  # Arabic letter mark
    ("\ufeffمرحبا", "مرحبا"),  # BOM
    ("\u202bمرحبا\u202c", "مرحبا"),  # bidi embedding
    ("ﻻ", "لا"),  # lam-alef ligature
    ("ﷺ", "صلى الله عليه وسلم"),
    ("ﷲ", "الله"),
    ("﷽", "بسم الله الرحمن الرحيم"),
    ("ﺑﺴﻢ", "بسم"),  # presentation forms
    ("١٢٣٤٥٦٧٨٩٠", "1234567890"),
    ("۱۲۳۴۵۶۷۸۹۰", "1234567890"),
    ("٣٫١٤", "3.14"),
    ("٥٠٪", "50%"),
    ("  مرحبا \t\n  بكم  ", "مرحبا بكم"),
    ("مرحبا\u00a0بكم", "مرحبا بكم"),
    ("\u0627\u0654", "أ"),  # NFC composition
    ("\u0627\u0653", "آ"),
    ("م\u064f\u062d\u064e\u0645\u064e\u0651\u062f", "م\u064f\u062d\u064e\u0645\u0651\u064e\u062f"),
    ("ذَٰلِكَ", "ذَٰلِكَ"),
    (
        "\u0631\u064e\u0651\u062d\u0650\u064a\u0645\u0650 \u06dd",
        "\u0631\u0651\u064e\u062d\u0650\u064a\u0645\u0650.",
    ),  # ayah end: a stop
    ("الرحيم ۝١ الحمد ١٢۝", "الرحيم. الحمد."),  # the verse number goes with it
    ("\x1b[31mنص\x1b[0m \x1b]8;;http://x\x1b\\رابط\x1b]8;;\x1b\\", "نص رابط"),  # ANSI CSI, OSC
    ("رقم 3\ufe0f\u20e3 👍🏽 👨\u200d👩\u200d👧 🇸🇦 ✅ هنا", "رقم هنا"),  # emoji sequences
    ("قَالُوا۟", "قَالُوا"),  # Quranic small high rounded zero
    ("مرحبا\x00\x07", "مرحبا"),  # control characters
    ("a\ud800b", "ab"),  # lone surrogate
    ("a\ufffdb", "ab"),  # replacement character from bad bytes
    ("کتاب", "كتاب"),  # Persian keheh
    ("علی", "علي"),  # Farsi yeh
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_cleans_and_canonicalizes(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_strip_removes_every_harakah() -> None:
    assert normalize("مُحَمَّدٌ رَسُولُ اللَّهِ", diacritics="strip") == "محمد رسول الله"
    assert strip_diacritics("هَٰذَا") == "هذا"


def test_fold_is_one_flag_away_and_needs_strip() -> None:
    assert (
        normalize("أَحْمَد إِلى مَدْرَسَة عَلَى آخِر", diacritics="strip", fold=True)
        == "احمد الي مدرسه علي اخر"
    )
    assert fold_letters("ٱلأمة") == "الامه"
    with pytest.raises(ValueError, match="strip"):
        normalize("نص", fold=True)


def test_bad_mode_is_rejected() -> None:
    with pytest.raises(ValueError):
        normalize("نص", diacritics="maybe")  # type: ignore[arg-type]


def test_ascii_text_only_gets_whitespace_and_controls_fixed() -> None:
    assert normalize("  Hello\x00   world ") == "Hello world"
