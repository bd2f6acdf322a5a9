"""The evaluate stage's parts: the test list, expected durations, the runaway rule, figures per set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from natiq.common.errors import DataFormatError
from natiq.recipe.evaluate import (
    TEST_SENTENCES,
    EvalUtterance,
    RunawayBounds,
    expected_duration,
    figures_by_set,
    judge,
    letters,
    read_test_sentences,
    speaking_rate,
)
from natiq.text import FrontendConfig, TextFrontend

CATEGORIES = {
    "numbers", "dates", "names", "questions", "long", "undiacritized",
    "diacritized", "currency_units", "mixed", "msa",
}  # fmt: skip
DIACRITICS = set(chr(c) for c in range(0x064B, 0x0653))


def test_the_test_list_has_100_speakable_sentences_in_ten_categories() -> None:
    sentences = read_test_sentences()
    assert len(sentences) == 100 and len({s.id for s in sentences}) == 100
    assert {s.category for s in sentences} == CATEGORIES
    assert all(sum(s.category == c for s in sentences) == 10 for c in CATEGORIES)
    frontend = TextFrontend(FrontendConfig())
    for sentence in sentences:
        spoken = frontend.spoken(sentence.text)
        assert not any(ch.isdigit() for ch in spoken), (sentence.id, spoken)
    by_category = {c: [s.text for s in sentences if s.category == c] for c in CATEGORIES}
    assert all(any(ch.isdigit() for ch in text) for text in by_category["numbers"])
    assert all(not DIACRITICS & set(text) for text in by_category["undiacritized"])
    assert all(len(DIACRITICS & set(text)) >= 3 for text in by_category["diacritized"])
    assert all(text.endswith("؟") for text in by_category["questions"])
    assert all(len(text.split()) >= 20 for text in by_category["long"])
    assert read_test_sentences(limit=3) == sentences[:3]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a1\tnumbers\n", "each row is id<TAB>category<TAB>text"),
        ("a1\tx\tنص\na1\ty\tنص آخر\n", "duplicate id 'a1'"),
        ("# only a comment\n", "no test sentences"),
    ],
)
def test_a_malformed_test_list_names_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "list.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        read_test_sentences(path)
    assert TEST_SENTENCES.is_file()


def test_expected_duration_is_the_recording_else_letters_at_the_speaking_rate() -> None:
    recorded = EvalUtterance("val-1", "held_out", "held_out", "نص", target_seconds=3.5)
    assert expected_duration(recorded, "نص", rate=10.0) == (3.5, "recording")
    written = EvalUtterance("test-1", "test", "msa", "مَرْحَبًا بِكُمْ")
    assert letters("مَرْحَبًا بِكُمْ") == 8  # diacritics and the space do not count
    assert expected_duration(written, "مَرْحَبًا بِكُمْ", rate=16.0) == (0.5, "speaking rate")


def test_speaking_rate_is_letters_per_second_of_the_train_split(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "audio": "a.wav", "text": "كتب", "speaker": "s", "duration": 1.0},
        {"id": "b", "audio": "b.wav", "text": "كتب الولد", "speaker": "s", "duration": 2.0},
        {"id": "c", "audio": "c.wav", "text": "طويل جدا جدا", "speaker": "s",
         "duration": 9.0, "split": "val"},
    ]  # fmt: skip
    manifest = tmp_path / "metadata.jsonl"
    manifest.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert speaking_rate(manifest) == pytest.approx((3 + 8) / 3.0)


def test_the_runaway_rule() -> None:
    bounds = RunawayBounds(min_ratio=0.5, max_ratio=2.0, cap_factor=3.0, cap_pad_s=1.0)
    assert judge(2.0, 2.0, bounds).runaway is False
    assert judge(3.9, 2.0, bounds).runaway is False  # ratio 1.95
    assert judge(4.2, 2.0, bounds).runaway is True  # ratio 2.1: too long
    assert judge(0.9, 2.0, bounds).runaway is True  # ratio 0.45: stopped early
    capped = judge(7.0, 2.0, bounds)  # the cap is 3 x 2 + 1 = 7 s
    assert (capped.cap_s, capped.hit_cap, capped.runaway) == (7.0, True, True)
    assert judge(6.0, 2.0, bounds).hit_cap is False
    with pytest.raises(ValueError, match=r"cap_factor .* must be at least max_ratio"):
        RunawayBounds(max_ratio=3.0, cap_factor=2.5)


def _result(uid: str, errors: int, chars: int, **extra: float) -> dict:
    return {"id": uid, "status": "ok", "error": None, "cer": errors / chars,
            "char_errors": errors, "char_count": chars, "wer": 0.5, "word_errors": 1,
            "word_count": 2, **extra}  # fmt: skip


def _generated(uid: str, kind: str, category: str, runaway: bool) -> dict:
    return {"id": uid, "set": kind, "category": category, "runaway": runaway, "hit_cap": runaway}


def test_figures_are_corpus_level_per_set_and_per_category() -> None:
    results = [
        _result("val-a", 1, 10, dnsmos_ovrl=3.0),
        _result("test-1", 2, 20, dnsmos_ovrl=2.0),
        _result("test-2", 6, 10, dnsmos_ovrl=4.0),
        _result("test-3", 0, 10, dnsmos_ovrl=3.0),
    ]
    generation = [
        _generated("val-a", "held_out", "held_out", False),
        _generated("test-1", "test", "numbers", True),
        _generated("test-2", "test", "numbers", False),
        _generated("test-3", "test", "dates", False),
    ]
    figures = figures_by_set(results, generation)
    assert figures["held_out"]["corpus_cer"] == pytest.approx(0.1)
    test = figures["test"]
    assert test["count"] == 3 and test["runaway_rate"] == pytest.approx(1 / 3)
    assert test["corpus_cer"] == pytest.approx(8 / 40)  # not the mean of 0.1, 0.6, 0.0
    assert test["cer_mean"] == pytest.approx((0.1 + 0.6 + 0.0) / 3)
    assert test["dnsmos_ovrl_mean"] == pytest.approx(3.0)
    numbers = test["by_category"]["numbers"]
    assert (numbers["count"], numbers["runaway_rate"]) == (2, 0.5)
    assert numbers["corpus_cer"] == pytest.approx(8 / 30)
    assert test["by_category"]["dates"]["corpus_cer"] == 0.0
