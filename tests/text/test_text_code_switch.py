"""Latin words inside Arabic: passed as English to models that read it, written in Arabic
letters for the others; numbers inside an English run read in English only where a
model reads English; the verbalizer keeps its units, codes and times."""

from __future__ import annotations

import pytest

from natiq.common.errors import InputTextError
from natiq.text import FrontendConfig, TextFrontend, normalize
from natiq.text.code_switch import latin_mode, latin_runs, words_for_numbers
from natiq.text.ipa_arabic import ipa_word_to_arabic
from natiq.text.pieces import Piece


@pytest.mark.parametrize(
    ("setting", "scheme", "mode"),
    [
        ("auto", "latin", "pass"),
        ("auto", "arabizi", "pass"),
        ("auto", "ipa", "pass"),
        ("auto", None, "transliterate"),
        ("auto", "buckwalter", "transliterate"),
        ("pass", None, "pass"),
        ("transliterate", "latin", "transliterate"),
    ],
)
def test_the_mode_follows_what_the_model_can_read(
    setting: str, scheme: str | None, mode: str
) -> None:
    assert latin_mode(setting, scheme) == mode


@pytest.mark.parametrize(
    ("text", "runs"),
    [
        ("اشتريت iPhone 15 Pro أمس", ["iPhone 15 Pro"]),
        ("مرض COVID-19 انتشر", ["COVID-19"]),
        ("نظام Windows 11 و macOS", ["Windows 11", "macOS"]),
        ("ركضت 5 km اليوم", []),  # a unit after a number is the verbalizer's
        ("وصلت 10:30 AM", []),
        ("دفعت 100 USD و USD 5", []),
        ("مثلا e.g. هذا", []),
        ("اشتريت 3 iPhone", ["iPhone"]),  # a number before the word stays Arabic
    ],
)
def test_latin_runs_leave_the_verbalizers_words_alone(text: str, runs: list[str]) -> None:
    assert [text[start:end] for start, end in latin_runs(text)] == runs


@pytest.mark.parametrize(
    ("run", "words"),
    [
        ("iPhone 15", "iPhone fifteen"),
        ("COVID-19", "COVID nineteen"),
        ("S24", "S twenty-four"),
        ("USB 3.0", "USB three point zero"),
        ("Windows 2000", "Windows two thousand"),
        ("Top 1,000", "Top one thousand"),
    ],
)
def test_numbers_inside_an_english_run_are_english_words(run: str, words: str) -> None:
    assert words_for_numbers(run) == words


def test_a_model_that_reads_english_gets_the_run_as_written() -> None:
    prepared = TextFrontend(FrontendConfig(scheme="latin")).prepare("اشتريت iPhone 15 أمس")
    assert prepared.model_text == "ashtreet iPhone fifteen ams."
    assert prepared.spoken == "اشتريت iPhone fifteen أمس"
    arabizi = TextFrontend(FrontendConfig(scheme="arabizi")).prepare("مرض COVID-19 انتشر")
    assert arabizi.model_text == "mrd' COVID nineteen antshr."


def test_the_ipa_scheme_hears_the_english_run_in_english() -> None:
    prepared = TextFrontend(FrontendConfig(scheme="ipa")).prepare("أحب Python كثيرا")
    assert "pˈaɪθən" in prepared.model_text


def test_an_arabic_script_model_gets_latin_words_in_arabic_letters() -> None:
    frontend = TextFrontend(FrontendConfig())
    assert frontend.prepare("أحب Python كثيرا").model_text == normalize("أحب بَايْثَنْ كثيرا")
    # numbers stay Arabic numbers and acronyms stay the verbalizer's
    prepared = frontend.prepare("اشتريت iPhone 15 و PDF")
    assert prepared.spoken == normalize("اشتريت آيْفُونْ خَمْسَةَ عَشَرَ وبِي دِي إِف")
    buckwalter = TextFrontend(FrontendConfig(scheme="buckwalter")).prepare("أحب Python")
    assert buckwalter.model_text == ">Hb baAyovano."  # no backslash-escaped Latin letters


def test_latin_text_without_arabic_is_still_not_arabic() -> None:
    for scheme in (None, "latin"):
        with pytest.raises(InputTextError, match="no Arabic words"):
            TextFrontend(FrontendConfig(scheme=scheme)).prepare("Hello world")


def test_a_language_span_is_foreign_as_a_whole() -> None:
    pieces = [Piece("قال "), Piece("good morning 2 you", lang="en"), Piece("، ثم ذهب.")]
    latin = TextFrontend(FrontendConfig(scheme="latin")).prepare_pieces(pieces)
    assert latin.model_text == "qaal good morning two you, thm dhhb."
    arabic = TextFrontend(FrontendConfig()).prepare_pieces(pieces)
    assert arabic.spoken == normalize("قال غُدْ مُورْنِنْغْ تُو يُو، ثم ذهب.")
    french = TextFrontend(FrontendConfig(scheme="latin")).prepare_pieces(
        [Piece("قال "), Piece("bonjour 2", lang="fr")]
    )
    assert french.model_text == "qaal bonjour deux."
    # a "foreign" span that holds Arabic letters is read as Arabic
    template = TextFrontend(FrontendConfig(scheme="latin")).prepare_pieces(
        [Piece("مَرْحَبًا بِكُمْ", lang="en-US")]
    )
    assert template.model_text == "marhaban bikum."


@pytest.mark.parametrize(
    ("ipa", "arabic"),
    [
        ("pˈaɪθən", "بَايْثَنْ"),
        ("ɡˈuːɡəl", "غُوغَلْ"),
        ("tˈɛslə", "تِسْلَا"),  # a final short vowel is written long
        ("ˈiːzi", "إِيزِي"),  # an initial vowel sits on a hamza seat
        ("nˈoʊkiə", "نُوكِيَا"),  # a vowel after a vowel sits on ي
        ("kəmpjˈuːɾɚ", "كَمْبْيُوتَرْ"),  # ɾ -> ت, ɚ -> َرْ
        ("tʃˈæt", "تْشَتْ"),
        ("ˈaɪ", "آيْ"),
        ("bɔ̃ʒˈuʁ", "بُنْجُرْ"),  # a nasal vowel adds ن
    ],
)
def test_ipa_is_written_with_the_nearest_arabic_letters(ipa: str, arabic: str) -> None:
    assert ipa_word_to_arabic(ipa) == normalize(arabic)
