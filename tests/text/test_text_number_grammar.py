"""Arabic number grammar, rule by rule: gender polarity, duals and the order of
1 and 2, construct forms, ordinals agreeing with their noun, dates, fractions,
the noun lexicon and its documented fallbacks, and numbers too long to spell."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from natiq.cli.main import app
from natiq.text import TextFrontend, normalize, nouns, strip_diacritics, verbalize
from natiq.text import dates as D
from natiq.text import numbers as N


def said(text: str) -> str:
    """The spoken words without diacritics (the front-end's own order)."""
    return normalize(verbalize(normalize(text)).spoken, diacritics="strip")


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("3 حسابات", "ثلاثة حسابات"),  # masculine singular حساب, plural in ـات
        ("3 اجتماعات", "ثلاثة اجتماعات"),
        ("7 مدن", "سبع مدن"),  # feminine singular مدينة, broken plural
        ("5 غرف", "خمس غرف"),
        ("8 طلاب", "ثمانية طلاب"),
        ("8 طالبات", "ثماني طالبات"),
        ("10 أيام", "عشرة أيام"),
        ("10 ليال", "عشر ليال"),
        ("13 سيارة", "ثلاث عشرة سيارة"),
        ("13 كتابا", "ثلاثة عشر كتابا"),
        ("103 كتب", "مئة وثلاثة كتب"),
    ],
)
def test_three_to_ten_take_the_opposite_gender_of_the_singular(written: str, spoken: str) -> None:
    assert said(written) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("1 كتاب", "كتاب واحد"),
        ("1 سيارة", "سيارة واحدة"),
        ("2 كتاب", "كتابان"),
        ("2 سيارات", "سيارتان"),
        ("بعد 2 يوم", "بعد يومين"),
        ("1 مشط", "مشط واحد"),  # not in the lexicon
        ("2 مسمار", "مسماران"),
        ("2 مخطوطة", "مخطوطتان"),
        ("في 2 مسمار", "في مسمارين"),
        ("2 مسامير", "اثنان مسامير"),  # an unknown plural has no dual: the number is said
        ("و2 آخرين", "واثنان آخرين"),
        ("2 تأمين", "تأمينان"),
        ("1 في المئة", "واحد في المئة"),  # not a noun: no reordering
    ],
)
def test_one_and_two_put_the_noun_first_or_make_it_dual(written: str, spoken: str) -> None:
    assert said(written) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("200 كم", "مئتا كيلومتر"),
        ("في 200 كم", "في مئتي كيلومتر"),
        ("2000 نسخة", "ألفا نسخة"),
        ("2 مليون نسمة", "مليونا نسمة"),
        ("2 مليون", "مليونان"),  # nothing counted after it: no construct
        ("11 مليون دولار", "أحد عشر مليون دولار"),
        ("11 مليون", "أحد عشر مليونا"),
        ("يضم الحي 4 مدارس و2 مستشفى", "يضم الحي أربع مدارس ومستشفيين"),  # shares the case of 4
        ("لدي 3 كتب و2 قلم", "لدي ثلاثة كتب وقلمان"),
        ("2/3 السكان", "ثلثا السكان"),
        ("2/3", "ثلثان"),
    ],
)
def test_duals_and_tamyiz_take_the_construct_form_before_a_noun(written: str, spoken: str) -> None:
    assert said(written) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("الطبعة الـ2", "الطبعة الثانية"),
        ("الجولة الـ4", "الجولة الرابعة"),
        ("الفصل الـ2", "الفصل الثاني"),
        ("المرحلة الـ11", "المرحلة الحادية عشرة"),
        ("في طبعتها الـ3", "في طبعتها الثالثة"),
        ("القرن 19", "القرن التاسع عشر"),
        ("في القرن 21", "في القرن الحادي والعشرين"),
        ("القرن 21", "القرن الحادي والعشرون"),
        ("الدقيقة 90", "الدقيقة التسعون"),
        ("الصفحة 20", "الصفحة عشرون"),  # not an ordinal head: a page number stays a number
        ("خلال الـ24 ساعة", "خلال الأربع والعشرين ساعة"),
        ("سؤال 5", "سؤال خمسة"),  # ـال ending a word is not the article
    ],
)
def test_ordinals_agree_with_the_noun_they_describe(written: str, spoken: str) -> None:
    assert said(written) == spoken


def test_ordinal_and_definite_forms_are_diacritized_with_the_article() -> None:
    pairs = [
        (N.ordinal(2, gender="f"), "الثَّانِيَة"),
        (N.ordinal(25, gender="f", case="nom"), "الْخَامِسَة وَالْعِشْرُون"),
        (N.ordinal(150), "الْمِئَة وَالْخَمْسِين"),
        (N.definite_cardinal(3), "الثَّلَاثَة"),
        (N.definite_cardinal(24, gender="f", case="gen"), "الْأَرْبَع وَالْعِشْرِين"),
        (N.with_article("اثْنَان"), "الِاثْنَان"),
    ]
    for got, expected in pairs:
        assert normalize(got) == normalize(expected)


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("5 أيار 2024", "الخامس من أيار عام ألفين وأربعة وعشرين"),
        ("5 ماي", "الخامس من ماي"),
        ("5 جانفي", "الخامس من جانفي"),
        ("5 غشت", "الخامس من غشت"),
        ("5 كانون الثاني", "الخامس من كانون الثاني"),
        ("5 إبريل", "الخامس من إبريل"),
        ("5 ابريل", "الخامس من أبريل"),
        ("9 ذو الحجة", "التاسع من ذي الحجة"),
        ("5/1/2024", "الخامس من يناير عام ألفين وأربعة وعشرين"),
        ("2024/1/5", "الخامس من يناير عام ألفين وأربعة وعشرين"),
        ("5.1.2024", "الخامس من يناير عام ألفين وأربعة وعشرين"),
        ("5/1/1445هـ", "الخامس من محرم عام ألف وأربعمئة وخمسة وأربعين هجريا"),
        ("5/1/1445", "الخامس من محرم عام ألف وأربعمئة وخمسة وأربعين"),
        ("5/1/1990م", "الخامس من يناير عام ألف وتسعمئة وتسعين ميلاديا"),
        ("1445هـ", "ألف وأربعمئة وخمسة وأربعين هجريا"),
        ("1445ه", "ألف وأربعمئة وخمسة وأربعين هجريا"),
        ("32/13/2024", "اثنان وثلاثون ثلاثة عشر ألفان وأربعة وعشرون"),
    ],
)
def test_dates_keep_the_written_month_naming_and_read_the_calendar(
    written: str, spoken: str
) -> None:
    assert said(written) == spoken


def test_the_hijri_suffix_survives_the_front_end_that_removes_tatweel() -> None:
    assert TextFrontend().prepare("عام 1445هـ").spoken.endswith(normalize("هِجْرِيًّا"))
    assert D.numeric_month(9, 1445, None) == D.HIJRI_MONTHS[9]
    assert D.numeric_month(9, 2024, None) == D.GREGORIAN_MONTHS[9]
    assert D.numeric_month(9, 1445, D.GREGORIAN) == D.GREGORIAN_MONTHS[9]


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("3/4", "ثلاثة أرباع"),
        ("1/2 كوب", "نصف كوب"),
        ("2/5", "خمسان"),
        ("في 2/3 الحالات", "في ثلثي الحالات"),
        ("9/10 الناس", "تسعة أعشار الناس"),
        ("9/10", "تسعة من عشرة"),
        ("تقييم 4/5", "تقييم أربعة من خمسة"),
        ("18/20", "ثمانية عشر من عشرين"),
        ("3/16", "ثلاثة من ستة عشر"),
        ("25/7", "الخامس والعشرين من يوليو"),
        ("2¾", "اثنان وثلاثة أرباع"),
        ("2½ ساعة", "ساعتان ونصف"),
        ("5/0", "خمسة صفر"),
    ],
)
def test_fractions_ratings_and_day_month(written: str, spoken: str) -> None:
    assert said(written) == spoken


def test_noun_gender_fallback_for_words_not_in_the_lexicon() -> None:
    assert nouns.find("مشط") is None and nouns.find("تحسينات") is None
    assert nouns.guess_gender("مخطوطة") == "f"
    assert nouns.guess_gender("مخطوطات") == "f"
    assert nouns.guess_gender("تحسينات") == "m"  # تحسين: a masculine verbal noun
    assert nouns.guess_gender("استثمارات") == "m"
    assert nouns.guess_gender("مشط") == "m"
    assert nouns.guess_dual("مشط", "nom") == "مشطان"
    assert nouns.guess_dual("مخطوطة", "gen") == "مخطوطتين"
    assert nouns.guess_dual("مِشْطٌ", "gen") == "مِشْطَيْن"  # a diacritized word keeps its marks
    assert nouns.guess_dual("مسامير", "nom") is None
    assert nouns.guess_dual("أقلام", "nom") is None


def test_lexicon_gender_decides_where_the_plural_misleads() -> None:
    assert nouns.find("حسابات").gender == "m"
    assert nouns.find("مُدُنٍ").gender == "f"  # diacritics are ignored
    assert nouns.find("اسابيع") is nouns.find("أسابيع")  # hamza spelling folded
    assert nouns.find("كتاب").singular == "كِتَاب"  # not the plural of كاتب
    assert nouns.head_noun("بالذكرى").gender == "f"
    assert nouns.head_noun("طبعتها").singular == "طَبْعَة"


# Undiacritized spellings shared by two singulars: the first listed is read.
HOMOGRAPHS = {"رجل"}  # رَجُل (man) and رِجْل (leg, only recognised as أرجل)


def test_every_lexicon_entry_reads_back_as_itself() -> None:
    for noun in set(nouns.lexicon().values()):
        assert noun.gender in ("m", "f")
        assert strip_diacritics(noun.dual).endswith(("ان", "آن")), noun
        assert strip_diacritics(noun.dual_gen).endswith("ين"), noun
        assert nouns.find(noun.singular) is noun or nouns.fold(noun.singular) in HOMOGRAPHS
        assert N.count(2, noun) == noun.dual
        if not noun.scale:
            assert N.count(1, noun).startswith(noun.singular + " وَاحِد")
    assert len(set(nouns.lexicon().values())) >= 300


def test_a_counted_noun_joins_the_span_and_keeps_the_writers_diacritics() -> None:
    result = verbalize("اشتريت 3 كتاب أمس")
    assert [(span.original, span.spoken) for span in result.spans] == [("3 كتاب", "ثَلَاثَة كُتُب")]
    assert verbalize("عِنْدِي 3 كُتُبٍ").spoken == "عِنْدِي ثَلَاثَة كُتُبٍ"


HUGE = "7" * 5000


@pytest.mark.parametrize(
    "text",
    [
        HUGE,
        f"{HUGE} كتاب",
        f"الـ{HUGE}",
        f"${HUGE}",
        f"{HUGE}.5 كم",
        f"{HUGE}-{HUGE}",
        f"{HUGE}%",
        f"-{HUGE}",
    ],
)
def test_numbers_too_long_to_spell_are_read_digit_by_digit(text: str) -> None:
    spoken = strip_diacritics(verbalize(text).spoken)
    assert spoken.count("سبعة") >= 5000
    assert "سبعة سبعة سبعة" in spoken


def test_a_huge_number_costs_only_its_own_line_in_the_cli(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(f"3 كتب\n{HUGE * 20}\n2 كتاب\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["text", "verbalize", "--strip-diacritics", "--file", str(source)]
    )
    assert result.exit_code == 0
    lines = result.stdout.split("\n")
    assert lines[0] == "ثلاثة كتب" and lines[2] == "كتابان" and lines[3] == ""
    assert lines[1].count("سبعة") == 100_000


_PIECES = st.sampled_from(
    ["3", "12", "2024", "1445", "0", "٣", "/", "-", ".", ",", ":", "%", "$", " ", "هـ", "ه", "م",
     "ال", "الـ", "كتاب", "سيارات", "مليون", "ريال", "سعودي", "القرن", "يوم", "في", "ربيع الأول",
     "أيار", "½", "كم", "°C", "USD", "COVID", "S", "و", "ب"]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join))
def test_any_mix_of_numbers_and_words_is_read_with_consistent_spans(text: str) -> None:
    result = verbalize(text)
    position = 0
    for span in result.spans:
        assert position <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == span.original
        assert span.spoken and span.spoken in result.spoken
        position = span.end
