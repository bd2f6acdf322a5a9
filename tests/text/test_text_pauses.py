"""Plain text cut where a listener hears a pause, each chunk with the boundary after it;
and one plain sentence prepared the same by ``prepare`` and ``prepare_pieces``."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from natiq.common.errors import InputTextError
from natiq.text import FrontendConfig, TextFrontend
from natiq.text.pauses import final_boundary, split_at_pauses
from natiq.text.pieces import Piece

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


ARABIC_TEXT = st.text(
    alphabet=st.sampled_from(
        "".join(chr(c) for c in range(0x0621, 0x0653)) + "،؛؟!?.,:;-()…0123456789٣ \u0640\u200f\n"
    ),
    max_size=50,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ARABIC_TEXT, st.sampled_from([None, "buckwalter", "latin"]))
def test_prepare_of_plain_text_equals_prepare_pieces_of_one_piece(text: str, scheme) -> None:
    # prepare() has a fast path for text without Latin letters or a lexicon
    frontend = TextFrontend(FrontendConfig(scheme=scheme))
    outcomes = []
    for prepare in (frontend.prepare, lambda t: frontend.prepare_pieces([Piece(t)], original=t)):
        try:
            outcomes.append(prepare(text))
        except InputTextError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
