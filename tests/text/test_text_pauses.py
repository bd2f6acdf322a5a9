"""Plain text cut where a listener hears a pause, each chunk with the boundary after it."""

from __future__ import annotations

import pytest

from natiq.text.pauses import final_boundary, split_at_pauses

TEXT = (
    "جملة أولى. هل أنت هنا؟ نعم، أنا هنا: قال د. محمد!\nسطر ثان\n\nفقرة ثانية، وفيها 1,000 و10:30"
)


def chunks(text: str, **kwargs) -> list[tuple[str, str | None]]:
    return [(chunk.text, chunk.boundary) for chunk in split_at_pauses(text, **kwargs)]


def test_sentences_lines_and_paragraphs_end_with_their_boundary() -> None:
    assert chunks(TEXT) == [
        ("جملة أولى.", "sentence"),
        ("هل أنت هنا؟", "question"),
        ("نعم، أنا هنا: قال د. محمد!", "exclamation"),  # د. is an abbreviation
        ("سطر ثان", "paragraph"),
        ("فقرة ثانية، وفيها 1,000 و10:30", None),
    ]


def test_clause_marks_cut_only_when_asked_and_never_inside_numbers() -> None:
    assert chunks(TEXT, clauses={"comma", "colon"}) == [
        ("جملة أولى.", "sentence"),
        ("هل أنت هنا؟", "question"),
        ("نعم،", "comma"),
        ("أنا هنا:", "colon"),
        ("قال د. محمد!", "exclamation"),
        ("سطر ثان", "paragraph"),
        ("فقرة ثانية،", "comma"),
        ("وفيها 1,000 و10:30", None),
    ]
    assert chunks("أولا؛ ثانيا", clauses={"semicolon"}) == [("أولا؛", "semicolon"), ("ثانيا", None)]
    with pytest.raises(ValueError, match="comma, semicolon, colon"):
        split_at_pauses(TEXT, clauses={"sentence"})


def test_a_line_break_ends_a_sentence_even_after_an_uncut_comma() -> None:
    assert chunks("أولا،\nثانيا") == [("أولا،", "sentence"), ("ثانيا", None)]


@pytest.mark.parametrize(
    ("text", "boundary"),
    [
        ("قال.", "sentence"),
        ("قال…", "sentence"),
        ("قال؟", "question"),
        ('قال: "نعم!"', "exclamation"),  # closing quotes looked through
        ("قال»", None),
        ("قال،", "comma"),
        ("قال د.", None),
    ],
)
def test_the_last_mark_names_the_boundary(text: str, boundary: str | None) -> None:
    assert final_boundary(text) == boundary
