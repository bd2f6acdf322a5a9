"""The hand-checked verbalization set of issue 11: exact match by category.

``data/verbalize_cases.tsv`` (compared without diacritics) and
``data/verbalize_cases_diacritized.tsv`` (mark for mark) are realistic inputs
written for this project; ``benchmarks/text_frontend.py --verbalize`` prints
the same figures.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from natiq.common.errors import DataFormatError
from natiq.eval.verbalization import Case, CategoryScore, load_cases, overall, score

DATA = Path(__file__).parent / "data"
CATEGORIES = {
    "cardinal",
    "ordinal",
    "date_gregorian",
    "date_hijri",
    "currency",
    "unit",
    "fraction",
    "mixed_script",
    "basic",
}


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(DATA / "verbalize_cases.tsv")


def _misses(scores: dict[str, CategoryScore]) -> str:
    lines = [f"{s.category}: {s.correct}/{s.total}" for s in scores.values()]
    for entry in scores.values():
        lines += [f"  {w!r}\n    expected {e!r}\n    got      {g!r}" for w, e, g in entry.misses]
    return "\n".join(lines)


def test_the_set_is_large_distinct_and_covers_every_category(cases: list[Case]) -> None:
    counts = Counter(case.category for case in cases)
    assert len(cases) >= 300
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 30
    assert len({case.written for case in cases}) == len(cases)


def test_exact_match_is_at_least_98_percent_and_95_in_every_category(cases: list[Case]) -> None:
    scores = score(cases)
    assert overall(scores).accuracy >= 0.98, _misses(scores)
    assert min(entry.accuracy for entry in scores.values()) >= 0.95, _misses(scores)


def test_diacritized_subset_matches_mark_for_mark() -> None:
    subset = load_cases(DATA / "verbalize_cases_diacritized.tsv")
    assert len(subset) >= 50
    scores = score(subset, diacritics=True)
    assert overall(scores).accuracy >= 0.98, _misses(scores)
    assert min(entry.accuracy for entry in scores.values()) >= 0.95, _misses(scores)


def test_a_malformed_case_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "cases.tsv"
    path.write_text("# comment\ncardinal\t3 كتب\tثلاثة كتب\nbroken line\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"cases.tsv:3: expected category"):
        load_cases(path)
