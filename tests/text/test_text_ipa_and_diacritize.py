"""espeak-ng phonemes and the offline diacritizer (real tools, no stand-ins)."""

from __future__ import annotations

import shutil

import pytest

from natiq.common.errors import ModelLoadError
from natiq.text import (
    diacritize,
    merge_diacritics,
    normalize,
    phonemize,
    romanize,
    strip_diacritics,
)
from natiq.text import ipa as ipa_module

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)


@needs_espeak
def test_phonemize_reads_arabic_with_espeak() -> None:
    phonemes = phonemize("مَرْحَبًا بِكُمْ")
    assert "ħ" in phonemes and "b" in phonemes
    assert "\n" not in phonemes


@needs_espeak
def test_shadda_written_after_the_vowel_is_still_a_geminate() -> None:
    nfc_order = "\u0645\u064f\u062d\u064e\u0645\u064e\u0651\u062f"  # م ُ ح َ م َ ّ د
    assert phonemize(nfc_order) == phonemize(normalize(nfc_order))
    assert "mm" in phonemize(nfc_order)


@needs_espeak
def test_ipa_scheme_is_in_the_registry() -> None:
    assert romanize("كِتَابٌ", "ipa", pausal=False) == phonemize("كِتَابٌ")
    assert romanize("كِتَابٌ", "ipa") == phonemize("كِتَابْ")
    assert phonemize("") == ""


def test_missing_espeak_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ipa_module.shutil, "which", lambda name: None)
    with pytest.raises(ipa_module.PhonemizerUnavailableError, match="apt-get install espeak-ng"):
        phonemize("نص")


def test_merge_keeps_the_marks_already_written_and_fills_the_rest() -> None:
    written = "كَتب الولدُ"
    predicted = "كُتِبَ الْوَلَدِ"
    assert merge_diacritics(written, predicted) == normalize("كَتِبَ الْوَلَدُ")


def test_merge_refuses_a_prediction_with_other_letters() -> None:
    assert merge_diacritics("كتب", "كَاتَبَ") == "كتب"


@pytest.mark.slow
def test_diacritize_fills_missing_marks_with_the_offline_model() -> None:
    try:
        out = diacritize("ذهب الولدُ إلى المدرسة، وقال: 3 كتب!", word_cache=False)
    except ModelLoadError as exc:  # pragma: no cover - the wheel is pinned in requirements
        pytest.fail(str(exc))
    assert strip_diacritics(out) == "ذهب الولد إلى المدرسة، وقال: 3 كتب!"
    assert "الْوَلَدُ" in out or "الوَلَدُ" in out  # the written damma survived
    assert sum(ch in "\u064e\u064f\u0650\u0652" for ch in out) >= 10


def test_diacritic_error_rate_counts_letters_with_different_marks() -> None:
    from natiq.text.diacritize import diacritic_error_rate

    reference = "كَتَبَ الْوَلَدُ"
    assert diacritic_error_rate(reference, reference) == 0.0
    # one of 8 letters differs (the case ending of الولد)
    assert diacritic_error_rate(reference, "كَتَبَ الْوَلَدَ") == pytest.approx(1 / 8)
    assert diacritic_error_rate(reference, "كَتَبَ الْوَلَدَ", skip_word_endings=True) == 0.0
    with pytest.raises(ValueError):
        diacritic_error_rate("كتب", "كتاب")
