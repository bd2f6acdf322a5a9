"""Hand-checked verbalizations: numbers, money, dates, times, phones, acronyms."""

from __future__ import annotations

import pytest

from natiq.text import cardinal, count, normalize, ordinal, verbalize
from natiq.text.lexicon import DOLLAR

CASES: list[tuple[str, str]] = [
    ("0", "صِفْر"),
    ("1", "وَاحِد"),
    ("2", "اثْنَان"),
    ("7", "سَبْعَة"),
    ("11", "أَحَدَ عَشَرَ"),
    ("12", "اثْنَا عَشَرَ"),
    ("19", "تِسْعَةَ عَشَرَ"),
    ("20", "عِشْرُون"),
    ("21", "وَاحِد وَعِشْرُون"),
    ("99", "تِسْعَة وَتِسْعُون"),
    ("100", "مِئَة"),
    ("105", "مِئَة وَخَمْسَة"),
    ("200", "مِئَتَان"),
    ("999", "تِسْعُمِئَة وَتِسْعَة وَتِسْعُون"),
    ("1000", "أَلْف"),
    ("2000", "أَلْفَان"),
    ("3000", "ثَلَاثَة آلَاف"),
    ("11000", "أَحَدَ عَشَرَ أَلْفًا"),
    ("100000", "مِئَة أَلْف"),
    ("1,000,000", "مِلْيُون"),
    ("5000000", "خَمْسَة مَلَايِين"),
    ("2500000", "مِلْيُونَان وَخَمْسُمِئَة أَلْف"),
    ("1000000000", "مِلْيَار"),
    ("1000000000000", "تِرِلْيُون"),
    ("-7", "سَالِب سَبْعَة"),
    ("3.5", "ثَلَاثَة فَاصِلَة خَمْسَة"),
    ("0.05", "صِفْر فَاصِلَة صِفْر خَمْسَة"),
    ("25%", "خَمْسَة وَعِشْرُون بِالْمِئَة"),
    ("١٢٣", "مِئَة وَثَلَاثَة وَعِشْرُون"),
    ("۴۵", "خَمْسَة وَأَرْبَعُون"),
    ("٣٫٥", "ثَلَاثَة فَاصِلَة خَمْسَة"),
    ("3 كتب", "ثَلَاثَة كُتُب"),
    ("11 كتابا", "أَحَدَ عَشَرَ كِتَابًا"),
    ("3 سيارات", "ثَلَاث سَيَّارَات"),
    ("12 سيارة", "اثْنَتَا عَشْرَةَ سَيَّارَةً"),
    ("و11 كتابا", "وأَحَدَ عَشَرَ كِتَابًا"),
    ("$5", "خَمْسَة دُولَارَات"),
    ("1,250.50 AED", "أَلْف وَمِئَتَان وَخَمْسُون دِرْهَمًا إِمَارَاتِيًّا وَخَمْسُون فِلْسًا"),
    ("50 ر.س", "خَمْسُون رِيَالًا سُعُودِيًّا"),
    ("€2", "اثْنَان يُورُو"),
    ("£1", "جُنَيْه إِسْتِرْلِينِيّ وَاحِد"),
    ("10 KWD", "عَشَرَة دَنَانِير كُوَيْتِيَّة"),
    ("0.250 KWD", "مِئَتَان وَخَمْسُون فِلْسًا"),
    ("200 دولار", "مِئَتَا دُولَار"),
    ("08:30", "السَّاعَة الثَّامِنَة وَالنِّصْف"),
    ("الساعة 10:15", "الساعة الْعَاشِرَة وَالرُّبْع"),
    ("14:05", "السَّاعَة الثَّانِيَة وَخَمْس دَقَائِق مَسَاءً"),
    ("12/05/2024", "الثَّانِي عَشَرَ مِنْ مَايُو عَام أَلْفَيْن وَأَرْبَعَة وَعِشْرِين"),
    ("2023-01-01", "الْأَوَّل مِنْ يَنَايِر عَام أَلْفَيْن وَثَلَاثَة وَعِشْرِين"),
    ("5 مايو", "الْخَامِس مِنْ مَايُو"),
    ("عام 1990", "عام أَلْف وَتِسْعِمِئَة وَتِسْعِين"),
    ("1445هـ", "أَلْف وَأَرْبَعِمِئَة وَخَمْسَة وَأَرْبَعِين هِجْرِيًّا"),
    ("منذ 20 عاما", "منذ عِشْرِين عَامًا"),
    ("0501234567", "صِفْر خَمْسَة صِفْر وَاحِد اثْنَان ثَلَاثَة أَرْبَعَة خَمْسَة سِتَّة سَبْعَة"),
    (
        "+971 4 123 4567",
        "زَائِد تِسْعَة سَبْعَة وَاحِد، أَرْبَعَة، وَاحِد اثْنَان ثَلَاثَة، أَرْبَعَة خَمْسَة سِتَّة سَبْعَة",
    ),
    ("10-20", "عَشَرَة إِلَى عِشْرِين"),
    ("القرن الـ21", "القرن الْحَادِي وَالْعِشْرُون"),
    ("في القرن الـ21", "في القرن الْحَادِي وَالْعِشْرِين"),
    ("الـ3", "الثَّالِث"),
    ("5 كم", "خَمْسَة كِيلُومِتْرَات"),
    ("BBC", "بِي بِي سِي"),
    ("NASA", "نَاسَا"),
    ("د. أحمد", "الدُّكْتُور أحمد"),
    ("v2.1.0", "اثْنَان نُقْطَة وَاحِد نُقْطَة صِفْر"),
    ("رقم 33", "رقم ثَلَاثَة وَثَلَاثُون"),
    ("الساعة 5 مساء", "الساعة الْخَامِسَة مساء"),
]


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize(("written", "spoken"), CASES)
def test_verbalize_reads_as_a_reader_would(written: str, spoken: str) -> None:
    assert verbalize(written).spoken == normalize(spoken)


def test_verbalize_keeps_the_original_beside_the_spoken_form() -> None:
    result = verbalize("دفعت 25 دولار يوم 12/05/2024")
    assert result.original == "دفعت 25 دولار يوم 12/05/2024"
    assert [span.original for span in result.spans] == ["25 دولار", "12/05/2024"]
    for span in result.spans:
        assert result.original[span.start : span.end] == span.original
        assert span.spoken in result.spoken


def test_verbalize_strips_its_own_diacritics_when_asked() -> None:
    assert verbalize("3 كتب", diacritics="strip").spoken == "ثلاثة كتب"


def test_text_without_numbers_is_returned_unchanged() -> None:
    text = "ذَهَبَ الْوَلَدُ إِلَى الْمَدْرَسَةِ."
    assert verbalize(text).spoken == text
    assert verbalize(text).spans == ()


def test_impossible_dates_and_times_are_read_as_plain_numbers() -> None:
    assert verbalize("32/13/2024").spoken == normalize(
        "اثْنَان وَثَلَاثُون ثَلَاثَةَ عَشَرَ أَلْفَان وَأَرْبَعَة وَعِشْرُون"
    )
    assert verbalize("25:60").spoken == normalize("خَمْسَة وَعِشْرُون سِتُّون")


def test_numbers_beyond_trillions_are_read_digit_by_digit() -> None:
    assert verbalize("12345678901234567").spoken.startswith("وَاحِد اثْنَان ثَلَاثَة")


def test_cardinal_reaches_beyond_a_trillion_with_correct_agreement() -> None:
    assert cardinal(123_456_789_012) == (
        "مِئَة وَثَلَاثَة وَعِشْرُون مِلْيَارًا وَأَرْبَعُمِئَة وَسِتَّة وَخَمْسُون مِلْيُونًا وَسَبْعُمِئَة وَتِسْعَة وَثَمَانُون أَلْفًا وَاثْنَا عَشَرَ"
    )
    assert cardinal(3, gender="f") == "ثَلَاث"
    assert cardinal(22, case="gen") == "اثْنَيْن وَعِشْرِين"
    with pytest.raises(ValueError):
        cardinal(-1)


def test_counted_noun_forms_follow_the_number() -> None:
    assert count(1, DOLLAR) == "دُولَار وَاحِد"
    assert count(2, DOLLAR) == "دُولَارَان"
    assert count(7, DOLLAR) == "سَبْعَة دُولَارَات"
    assert count(15, DOLLAR) == "خَمْسَةَ عَشَرَ دُولَارًا"
    assert count(100, DOLLAR) == "مِئَة دُولَار"
    assert count(2000, DOLLAR) == "أَلْفَا دُولَار"
    assert count(103, DOLLAR) == "مِئَة وَثَلَاثَة دُولَارَات"


def test_ordinals_agree_in_gender() -> None:
    assert ordinal(1) == "الْأَوَّل"
    assert ordinal(1, gender="f") == "الْأُولَى"
    assert ordinal(11) == "الْحَادِي عَشَرَ"
    assert normalize(ordinal(15, gender="f")) == normalize("الْخَامِسَةَ عَشْرَةَ")
    assert ordinal(25) == "الْخَامِس وَالْعِشْرِين"
