"""The diacritizer never emits impossible marks, and reads short inputs from its word table."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from natiq.text import diacritize, normalize, romanize, strip_diacritics
from natiq.text.marks import impossible_marks, make_possible
from natiq.text.vocalizations import (
    Vocalizations,
    build_vocalizations,
    shipped_vocalizations,
    without_case_ending,
)

LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويىةءأإآؤئ"
MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670"
short_marked_text = st.text(alphabet=st.sampled_from(LETTERS + MARKS + "  ،."), max_size=24)


def check_repair(text: str) -> None:
    text = normalize(text)
    repaired = make_possible(text)
    assert impossible_marks(repaired) == []
    assert make_possible(repaired) == repaired
    assert strip_diacritics(repaired) == strip_diacritics(text)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(short_marked_text)
def test_repaired_text_has_no_impossible_marks(text: str) -> None:
    check_repair(text)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_ten_thousand_random_short_inputs_repair_to_possible_marks(seed: int) -> None:
    # 20 seeds x 500 inputs: 10,000 inputs without hypothesis' per-draw cost
    rng = random.Random(seed)
    alphabet = LETTERS + MARKS * 3 + "  "
    for _ in range(500):
        check_repair("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))


@pytest.mark.parametrize(
    ("written", "possible"),
    [
        ("مًرْحَبًا", "مَرْحَبًا"),  # tanween inside a word becomes its short vowel
        ("كِتَابًا", "كِتَابًا"),  # ... but stays before a final alef
        ("هُدًى", "هُدًى"),
        ("مَدْرَسَةٌ", "مَدْرَسَةٌ"),
        ("الشَّمْسٌ", "الشَّمْسُ"),  # no tanween after the assimilated article
        ("اَلْكِتَابُ", "الْكِتَابُ"),  # no mark on the alef of the article
        ("وَاَلْقَمَرُ", "وَالْقَمَرُ"),
        ("كِتَاَبٌ", "كِتَابٌ"),  # no vowel on a long alef
        ("كِتَابَاً", "كِتَابَاً"),  # fathatan on a final alef is fine
        ("بَّيْتٌ", "بَيْتٌ"),  # no shadda on the first letter
        ("مْنْ", "منْ"),  # no sukun on the first letter
        ("قَّْلَمَُ", "قَلَمَ"),  # one vowel per letter, no shadda with sukun
        ("عَلَىْ", "عَلَى"),  # no sukun on alef maqsura
        ("3َ مَرْحَبًا", "3 مَرْحَبًا"),  # no marks on a digit
    ],
)
def test_impossible_marks_are_repaired(written: str, possible: str) -> None:
    assert make_possible(normalize(written)) == normalize(possible)
    assert (impossible_marks(normalize(written)) == []) == (written == possible)


def test_a_word_takes_its_most_frequent_vocalization_without_case_ending() -> None:
    table = build_vocalizations(["ذَهَبَ الْوَلَدُ", "رَأَيْتُ الْوَلَدَ", "الْوُلْدُ", "ذَهَبَ"])
    assert table["الولد"] == (normalize("الْوَلَد"), 2)
    assert table["ذهب"] == (normalize("ذَهَب"), 2)
    assert without_case_ending(normalize("كِتَابًا")) == normalize("كِتَابًا")
    assert without_case_ending(normalize("كِتَابٌ")) == normalize("كِتَاب")
    assert without_case_ending(normalize("إِنَّ")) == normalize("إِنّ")
    assert without_case_ending(normalize("مِنْ")) == normalize("مِنْ")


def test_a_missing_hamza_seat_still_finds_the_word_and_keeps_its_letters() -> None:
    words = Vocalizations.from_table({"أحمد": normalize("أَحْمَد")})
    assert words.vocalize("احمد") == normalize("اَحْمَد")
    assert words.vocalize("أحمد") == normalize("أَحْمَد")
    assert words.vocalize("محمد") is None


def test_the_shipped_table_reads_common_words() -> None:
    words = shipped_vocalizations()
    assert len(words) > 10_000
    assert words.vocalize("مرحبا") == normalize("مَرْحَبًا")
    assert words.vocalize("كتاب") == normalize("كِتَاب")


def test_short_known_inputs_need_no_model_and_read_in_pause() -> None:
    code = (
        "import sys; from natiq.text import diacritize, romanize; "
        "out = diacritize('مرحبا'); print(romanize(out, 'latin'), 'torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["marhabaa", "False"]


@pytest.mark.slow
def test_the_model_fallback_on_short_inputs_emits_no_impossible_marks() -> None:
    inputs = ["مرحبا جزيلا", "كمبيوتر", "هاتف ذكي جديد", "استراتيجية", "تلفزيون", "مستشفيات"]
    for text in inputs:
        out = diacritize(text, word_cache=False)
        assert strip_diacritics(out) == text
        assert impossible_marks(out) == []
        assert romanize(out, "latin").isascii()


@pytest.mark.parametrize(
    ("guess", "right"),
    [
        ("الَّمَدَّرَسَة", "الْمَدَّرَسَة"),  # the lam of the article before a moon letter: sukun
        ("الَصَّبَّاح", "الصَّبَّاح"),  # before a sun letter: silent lam, shadda
        ("وَالَّقَمَر", "وَالْقَمَر"),
        ("لَلرَجُل", "لِلرَّجُل"),
        ("كِتَاب", "كِتَاب"),
    ],
)
def test_the_article_of_a_guessed_word_is_made_right(guess: str, right: str) -> None:
    from natiq.text.diacritize import with_article_marks

    assert with_article_marks(normalize(guess)) == normalize(right)
