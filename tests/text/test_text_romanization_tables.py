"""Table-driven checks of every romanization scheme against hand-checked spellings."""

from __future__ import annotations

import pytest
from text_romanization_table import TABLE

from natiq.text import deromanize, normalize, romanize


def test_tables_are_large_enough() -> None:
    assert len(TABLE) >= 60
    assert len({row[0] for row in TABLE}) == len(TABLE)


@pytest.mark.parametrize(("arabic", "expected"), [(row[0], row[1]) for row in TABLE])
def test_buckwalter_spelling(arabic: str, expected: str) -> None:
    assert romanize(arabic, "buckwalter") == expected
    assert deromanize(expected, "buckwalter") == normalize(arabic)


@pytest.mark.parametrize(("arabic", "expected"), [(row[0], row[2]) for row in TABLE])
def test_arabizi_spelling(arabic: str, expected: str) -> None:
    assert romanize(arabic, "arabizi", pausal=False) == expected


@pytest.mark.parametrize(("arabic", "expected"), [(row[0], row[3]) for row in TABLE])
def test_latin_spelling(arabic: str, expected: str) -> None:
    assert romanize(arabic, "latin", pausal=False) == expected
