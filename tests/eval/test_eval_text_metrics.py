"""CER/WER and the Arabic scoring normalizer on hand-made cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from natiq.eval.text_metrics import (
    cer,
    character_edits,
    edit_counts,
    normalize_for_scoring,
    wer,
    word_edits,
)


def test_identical_text_has_zero_error_rates():
    text = "ذَهَبَ الطَّالِبُ إِلَى الْمَدْرَسَةِ"
    assert cer(text, text) == 0.0
    assert wer(text, text) == 0.0


@pytest.mark.parametrize(
    ("diacritized", "plain"),
    [
        ("ذَهَبَ الطَّالِبُ إِلَى الْمَدْرَسَةِ", "ذهب الطالب الى المدرسة"),
        ("الْعِلْمُ نُورٌ", "العلم نور"),
        ("كتـــاب", "كتاب"),  # tatweel
        ("أحمد، قال: نعم!", "احمد قال نعم"),  # hamza forms and punctuation
    ],
)
def test_diacritics_tatweel_hamza_and_punctuation_cost_nothing(diacritized: str, plain: str):
    assert cer(diacritized, plain) == 0.0
    assert wer(diacritized, plain) == 0.0


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("مسؤول", "مسئول"),  # hamza on waw / on yeh: both accepted spellings
        ("يقرأون", "يقرؤون"),
        ("شيء", "شيئ"),
        ("هيئة", "هيأة"),
        ("سأل", "سال"),
        ("إسلام آمن", "اسلام امن"),
    ],
)
def test_hamza_seats_are_folded_in_scoring(one: str, other: str):
    assert normalize_for_scoring(one) == normalize_for_scoring(other)
    assert cer(one, other) == 0.0


def test_hamza_folding_leaves_other_letters_apart():
    assert cer("مسؤول", "مسرول") == pytest.approx(1 / 5)
    assert normalize_for_scoring("مسؤول") == "مساول"


def test_normalizer_keeps_words_whole_unlike_whisper():
    assert normalize_for_scoring("الطَّالِبُ  المُجْتَهِدُ.") == "الطالب المجتهد"


def test_one_inserted_letter():
    edits = character_edits("كتب", "كتاب")
    assert (edits.substitutions, edits.deletions, edits.insertions) == (0, 0, 1)
    assert edits.rate == pytest.approx(1 / 3)
    assert wer("كتب", "كتاب") == 1.0


def test_one_deleted_word():
    reference = "ذهب الولد الى المدرسة"  # 21 characters with spaces
    hypothesis = "ذهب الولد المدرسة"
    assert len(reference) == 21
    assert cer(reference, hypothesis) == pytest.approx(4 / 21)
    words = word_edits(reference, hypothesis)
    assert (words.substitutions, words.deletions, words.insertions) == (0, 1, 0)
    assert words.rate == pytest.approx(1 / 4)


def test_substituted_letters_and_words():
    assert cer("سلام", "كلام") == pytest.approx(1 / 4)
    assert wer("قرأ الولد الكتاب", "قرأ البنت الكتاب") == pytest.approx(1 / 3)


def test_insertions_can_push_rates_above_one():
    assert wer("نعم", "نعم نعم نعم") == pytest.approx(2.0)


def test_empty_reference():
    assert cer("", "") == 0.0
    assert cer("", "كلام") == 1.0


def test_edit_counts_prefers_substitution_on_ties():
    counts = edit_counts(list("abc"), list("axc"))
    assert (counts.substitutions, counts.deletions, counts.insertions) == (1, 0, 0)


@given(st.text(alphabet="ابتثج ", max_size=12), st.text(alphabet="ابتثج ", max_size=12))
def test_edit_distance_is_symmetric_and_bounded(a: str, b: str):
    forward = edit_counts(list(a), list(b))
    backward = edit_counts(list(b), list(a))
    assert forward.errors == backward.errors
    assert abs(len(a) - len(b)) <= forward.errors <= max(len(a), len(b))
