"""Exact-match accuracy of the number verbalizer on hand-checked cases, by category.

A case file is UTF-8 TSV: ``category<TAB>written<TAB>expected``; lines starting
with ``#`` and blank lines are comments. Each written text goes through the
front-end's own order (``normalize`` then ``verbalize``) and is compared with
the expected text after ``normalize`` on both sides. With ``diacritics=False``
the marks are stripped from both (the expected texts are then written without
them: what is checked is the words and their forms - ثلاثة/ثلاث, كتابان/كتابين,
مئتا/مئتان - not the vocalization); with ``diacritics=True`` they are compared
mark for mark. Used by ``tests/text/test_text_verbalize_eval.py`` and
``benchmarks/text_frontend.py --verbalize``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from natiq.common.errors import DataFormatError
from natiq.text import normalize, verbalize


@dataclass(frozen=True)
class Case:
    category: str
    written: str
    expected: str


@dataclass
class CategoryScore:
    category: str
    correct: int = 0
    total: int = 0
    #: (written, expected, got) for every miss
    misses: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_cases(path: str | Path) -> list[Case]:
    """Read a case file; a malformed line is a ``DataFormatError`` naming it."""
    cases = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not all(fields):
            raise DataFormatError(
                f"{path}:{number}: expected category<TAB>written<TAB>expected, got {line!r}"
            )
        cases.append(Case(*fields))
    return cases


def spoken(written: str, *, diacritics: bool) -> str:
    """What the front-end says for ``written``, normalized for comparison."""
    mode = "keep" if diacritics else "strip"
    return normalize(verbalize(normalize(written)).spoken, diacritics=mode)


def score(cases: list[Case], *, diacritics: bool = False) -> dict[str, CategoryScore]:
    """Exact match per category (in the order categories first appear)."""
    mode = "keep" if diacritics else "strip"
    scores: dict[str, CategoryScore] = {}
    for case in cases:
        entry = scores.setdefault(case.category, CategoryScore(case.category))
        got = spoken(case.written, diacritics=diacritics)
        entry.total += 1
        if got == normalize(case.expected, diacritics=mode):
            entry.correct += 1
        else:
            entry.misses.append((case.written, case.expected, got))
    return scores


def overall(scores: dict[str, CategoryScore]) -> CategoryScore:
    """All categories together."""
    total = CategoryScore("overall")
    for entry in scores.values():
        total.correct += entry.correct
        total.total += entry.total
        total.misses.extend(entry.misses)
    return total
