"""Arabic punctuation for Latin tokenizers, and sentence splitting."""

from __future__ import annotations

from natiq.text import map_punctuation, split_sentences


def test_arabic_marks_become_ascii() -> None:
    assert map_punctuation("نعم، «حسنا»؛ هل أتيت؟") == 'نعم, "حسنا"; هل أتيت?'
    assert map_punctuation("انتهى…") == "انتهى..."


def test_sentences_split_on_arabic_and_latin_ends() -> None:
    text = "ذهب الولد. هل رأيته؟ نعم! ثم ماذا…  وأخيرا"
    assert split_sentences(text) == ["ذهب الولد.", "هل رأيته؟", "نعم!", "ثم ماذا…", "وأخيرا"]


def test_line_breaks_end_sentences_and_blank_lines_vanish() -> None:
    assert split_sentences("سطر أول\n\n\nسطر ثان\r\nسطر ثالث") == ["سطر أول", "سطر ثان", "سطر ثالث"]


def test_decimals_initials_and_closing_quotes_do_not_split_wrongly() -> None:
    assert split_sentences("الثمن 3.5 دينار. قال د. أحمد «هذا جيد.» ثم ذهب.") == [
        "الثمن 3.5 دينار.",
        "قال د. أحمد «هذا جيد.»",
        "ثم ذهب.",
    ]


def test_long_sentences_are_cut_at_clauses_then_words() -> None:
    text = "كلمة " * 30 + "، " + "جملة قصيرة."
    parts = split_sentences(text, max_chars=40)
    assert all(len(part) <= 40 for part in parts)
    assert " ".join(parts).split() == text.split()


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n \t ") == []
