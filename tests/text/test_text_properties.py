"""Property-based checks over generated Arabic mixed with punctuation, digits and Latin."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from natiq.common.errors import InputTextError
from natiq.text import FrontendConfig, TextFrontend, deromanize, normalize, romanize
from natiq.text.buckwalter import ARABIC_TO_BW

ARABIC = "".join(chr(c) for c in range(0x0621, 0x064B)) + "ٱپچڤگ"
MARKS = "".join(chr(c) for c in range(0x064B, 0x0653)) + "\u0670\u0653\u0654\u0655"
PUNCT = "،؛؟«»!?.,:;-\"'()…"
DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹"
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
BW_SYMBOLS = "".join(ARABIC_TO_BW.values()) + "\\"
ODD = "\u0640\u200f\u200e\u200d\u200c\ufeff\u061c\x00\x07\t\n ﻻﷺ\u06dd\u06e1\u00a0é中😀\x1b[]\u20e3\ufe0f🏽\u2028"

mixed_text = st.text(
    alphabet=st.sampled_from(ARABIC + MARKS + PUNCT + DIGITS + LATIN + BW_SYMBOLS + ODD + "   "),
    max_size=60,
)
any_text = st.one_of(mixed_text, st.text(max_size=40))

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(any_text)
def test_buckwalter_round_trip_is_exact_for_any_string(text: str) -> None:
    assert deromanize(romanize(text, "buckwalter"), "buckwalter") == normalize(text)


@SETTINGS
@given(any_text)
def test_arabizi_output_is_ascii(text: str) -> None:
    out = romanize(text, "arabizi")
    assert out.isascii()
    assert romanize(text, "arabizi") == out  # deterministic


@SETTINGS
@given(any_text)
def test_latin_output_is_ascii_and_digit_free_for_arabic(text: str) -> None:
    out = romanize(text, "latin")
    assert out.isascii()
    arabic_only = "".join(ch for ch in text if ch in ARABIC + MARKS + " ")
    assert not any(ch.isdigit() for ch in romanize(arabic_only, "latin"))


@SETTINGS
@given(any_text)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    stripped = normalize(text, diacritics="strip", fold=True)
    assert normalize(stripped, diacritics="strip", fold=True) == stripped


@SETTINGS
@given(any_text)
def test_normalized_text_has_no_invisible_or_control_characters(text: str) -> None:
    out = normalize(text)
    assert not any(ch in out for ch in "\u0640\u200f\u200e\u200d\u200c\ufeff\u061c\x00\x07\t\n")
    assert "  " not in out and out == out.strip()


numbery_text = st.text(
    alphabet=st.sampled_from(
        ARABIC + MARKS + PUNCT + DIGITS + LATIN + ODD + "   $€£%:/-+=.,ـ" + "دولار"
    ),
    max_size=50,
)


@SETTINGS
@given(numbery_text, st.sampled_from([None, "buckwalter", "arabizi", "latin"]))
def test_prepare_either_succeeds_or_raises_an_input_error(text: str, scheme: str | None) -> None:
    frontend = TextFrontend(FrontendConfig(scheme=scheme))
    try:
        prepared = frontend.prepare(text)
    except InputTextError:
        return
    assert prepared.spoken == normalize(prepared.spoken)
    if scheme in ("arabizi", "latin"):
        assert prepared.model_text.isascii()
    if scheme is not None:
        assert prepared.model_text.rstrip("\"')]»”’ ").endswith((".", "!", "?", "…"))
