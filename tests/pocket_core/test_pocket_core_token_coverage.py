"""Romanized training first measures how much of the corpus the base tokenizer cannot read.

An English-only tokenizer (the situation of the released model) misses Buckwalter's
symbols: the report names them per scheme and the chosen scheme is refused above the limit.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def english_only(tiny_yaml: Path, tmp_path_factory: pytest.TempPathFactory):
    """The tiny model with a 256-piece tokenizer trained on lower-case Latin words only."""
    from natiq.backends.pocket.model_setup import configure_text_prep, install_tokenizer
    from natiq.backends.pocket.tiny import load_tiny_tts, train_sentencepiece

    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lines = [
        " ".join("".join(rng.choice(letters) for _ in range(rng.randint(2, 7))) for _ in range(6))
        + rng.choice(".,?!")
        for _ in range(600)
    ]
    path = tmp_path_factory.mktemp("english_only") / "english.model"
    path.write_bytes(train_sentencepiece(lines, 256))
    tts = load_tiny_tts(tiny_yaml)
    install_tokenizer(tts, path, native=False)
    configure_text_prep(tts)
    return tts


def _texts() -> list[str]:
    from natiq.common.files import read_jsonl
    from natiq.data.mini_corpus import mini_corpus_manifest

    return [row["text"] for _, row in read_jsonl(mini_corpus_manifest())]


def test_the_report_names_unknown_characters_per_scheme(english_only) -> None:
    from natiq.backends.pocket.token_coverage import coverage_report

    report = {item.scheme: item for item in coverage_report(english_only, _texts(), SCHEMES)}
    buckwalter = report["buckwalter"]
    assert {"<", "~", "$", "A"} <= set(buckwalter.unknown_chars)  # symbols and capitals
    assert buckwalter.unknown_rate > 0.1 and buckwalter.texts == 20
    assert set(report["latin"].unknown_chars) <= {"'", "-"}
    assert report["latin"].unknown_rate < buckwalter.unknown_rate
    assert "unknown characters:" in buckwalter.line()


SCHEMES = ("buckwalter", "arabizi", "latin")


def test_a_scheme_over_the_limit_is_refused_with_a_better_choice(english_only) -> None:
    from natiq.backends.pocket.token_coverage import check_coverage, coverage_report
    from natiq.common.errors import DataFormatError

    report = coverage_report(english_only, _texts(), SCHEMES)
    with pytest.raises(DataFormatError, match=r"cannot read .*buckwalter.*--scheme latin.*native"):
        check_coverage(report, "buckwalter", 0.01)
    check_coverage(report, "buckwalter", 1.0)  # a documented opt-out


def test_the_tiny_test_tokenizer_reads_every_buckwalter_symbol(tiny_yaml: Path) -> None:
    from natiq.backends.pocket.model_setup import configure_text_prep
    from natiq.backends.pocket.tiny import load_tiny_tts
    from natiq.backends.pocket.token_coverage import coverage_report

    tts = load_tiny_tts(tiny_yaml)
    configure_text_prep(tts)
    (buckwalter,) = coverage_report(tts, _texts(), ("buckwalter",))
    assert buckwalter.unknown == 0
