"""``split_for_model``: pieces of bounded length, cut where a reader would pause,
and anywhere (but never inside a letter's diacritics) when there is no pause."""

from __future__ import annotations

import pytest

from natiq.text.chunking import split_for_model


def test_short_text_is_one_piece():
    assert split_for_model("  marhaban bikum.  ", 50) == ["marhaban bikum."]
    assert split_for_model("   ", 50) == []


def test_a_sentence_end_in_the_second_half_of_the_window_wins_over_later_spaces():
    text = "aaaa bbbb cccc. dddd eeee ffff gggg"
    assert split_for_model(text, 20) == ["aaaa bbbb cccc.", "dddd eeee ffff gggg"]


def test_a_clause_mark_wins_over_spaces_and_an_early_mark_is_ignored():
    assert split_for_model("aa, bbbb cccc، dddd eeee", 16) == ["aa, bbbb cccc،", "dddd eeee"]


def test_without_marks_the_last_space_in_the_window_is_used():
    text = "one two three four five six seven"
    pieces = split_for_model(text, 10)
    assert pieces == ["one two", "three four", "five six", "seven"]
    assert all(len(piece) <= 10 for piece in pieces)


def test_text_without_any_space_is_cut_anywhere_and_nothing_is_lost():
    text = "mrhba" * 50
    pieces = split_for_model(text, 40)
    assert [len(piece) for piece in pieces] == [40] * 6 + [10]
    assert "".join(pieces) == text


def test_a_cut_never_separates_a_letter_from_its_diacritics():
    text = "كَتَبَ" * 20  # letter + fatha pairs, no space
    pieces = split_for_model(text, 7)
    assert "".join(pieces) == text
    assert all(len(piece) <= 7 for piece in pieces)
    assert all(not ("\u064b" <= piece[0] <= "\u0652") for piece in pieces)


@pytest.mark.parametrize("limit", [0, -3])
def test_the_limit_must_be_positive(limit):
    with pytest.raises(ValueError, match="positive"):
        split_for_model("text", limit)
