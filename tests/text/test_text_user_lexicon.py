"""The user pronunciation lexicon: reading the TSV, whole-word matching behind clitics,
its place before verbalization, and its effect on what every scheme's model reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from natiq.common.errors import DataFormatError
from natiq.text import FrontendConfig, TextFrontend, normalize
from natiq.text.config import SCHEME_NAMES
from natiq.text.user_lexicon import (
    Lexicon,
    lexicon_sha256,
    merge_lexicons,
    parse_lexicon,
    read_lexicon,
    with_lexicon,
)

RIYADH = normalize("الرِّيَاض")
ENTRIES = parse_lexicon(
    "# written\tsaid\n"
    "الرياض\tالرِّيَاض\n"
    "iPhone\tآيْفُون\n"
    "ابن سينا\t{bonu siynaA\n"
    "كتاب\tkitaAb\n"
    "5G\tفَايْف جِي\n"
)


def test_a_tsv_lexicon_reads_arabic_and_buckwalter_pronunciations(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.tsv"
    path.write_text("\ufeff# comment\n\nمحمد\tmuHam~ad\nعمرو\tعَمْرو\n", encoding="utf-8")
    assert read_lexicon(path) == (
        ("محمد", normalize("مُحَمَّد")),
        ("عمرو", normalize("عَمْرو")),
    )
    assert dict(ENTRIES)["ابن سينا"] == normalize("ٱبْنُ سِينَا")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("محمد\n", "expected two tab-separated fields"),
        ("محمد\tmuHam~ad\tx\n", "found 3"),
        ("محمد\t \n", "expected two tab-separated fields"),
        ("محمد\tMuhammad\n", "'M' are not Buckwalter symbols"),
        ("رقم\t5\n", "neither Arabic nor Buckwalter"),
        ("C++\tسِي بْلَس\n", "must start and end with a letter or digit"),
        ("محمد\tمُحَمَّد\nمُحَمَّد\tمَحْمُود\n", "already in the lexicon"),
    ],
)
def test_a_bad_line_is_an_error_naming_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(DataFormatError, match=message) as raised:
        parse_lexicon(text, source="names.tsv")
    assert str(raised.value).startswith("names.tsv:")


def test_a_missing_lexicon_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such lexicon file"):
        read_lexicon(tmp_path / "absent.tsv")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("سافرت إلى الرياض", f"سافرت إلى {RIYADH}"),
        ("سافرت إلى الرِّيَاضِ", f"سافرت إلى {RIYADH}"),  # diacritics of the input ignored
        ("وبالرياض", f"وب{RIYADH}"),  # و + ب before an entry written with its article
        ("للرياض", "ل" + RIYADH[1:]),  # ل + ال: the article's alef is not written
        ("وللكتاب", "ولل" + normalize("كِتَاب")),  # و + ل + ال + an entry without article
        ("الكتاب والكتابة", "ال" + normalize("كِتَاب") + " والكتابة"),  # whole words only
        ("اشتريت IPHONE و iphone", "اشتريت آيْفُون و آيْفُون"),  # Latin case-insensitive
        ("قرأ ابن سينا وابن  سينا", "قرأ ٱبْنُ سِينَا وٱبْنُ سِينَا"),  # several words, clitic on the first
        ("ابن-سينا", "ابن-سينا"),  # another separator: not the entry
        ("شبكة 5G سريعة", "شبكة فَايْف جِي سريعة"),
    ],
)
def test_entries_match_whole_words_behind_clitics(text: str, expected: str) -> None:
    assert Lexicon(ENTRIES).apply(normalize(text)) == normalize(expected)


def test_an_exact_entry_protects_a_word_that_looks_like_prefix_plus_entry() -> None:
    lam = parse_lexicon("لام\tلَام\n")
    assert Lexicon(lam).apply("كلام") == "ك" + normalize("لَام")
    protected = merge_lexicons(lam, parse_lexicon("كلام\tكَلَام\n"))
    assert Lexicon(protected).apply("كلام") == normalize("كَلَام")


def test_the_lexicon_is_applied_before_the_verbalizer_reads_digits() -> None:
    frontend = TextFrontend(with_lexicon(FrontendConfig(), ENTRIES))
    assert frontend.prepare("شبكة 5G سريعة").spoken == normalize("شبكة فَايْف جِي سريعة")
    # without the entry the verbalizer reads the digit
    assert "خَمْسَة" in TextFrontend().prepare("شبكة 5G سريعة").spoken


def test_the_diacritizer_keeps_the_marks_of_an_entry() -> None:
    from natiq.text.diacritize import diacritize

    entries = parse_lexicon("علم\tعَلَم\n")  # the flag, not the science (عِلْم)
    # what the front-end hands the diacritizer (the lexicon comes first); the model
    # without its word cache, as the other diacritizer tests load it
    filled = diacritize(Lexicon(entries).apply(normalize("رفع العلم")), word_cache=False)
    assert filled.split()[1].endswith(normalize("عَلَم"))


@pytest.mark.parametrize("scheme", [None, *SCHEME_NAMES])
def test_an_entry_changes_the_model_text_of_every_scheme(scheme: str | None) -> None:
    plain = TextFrontend(FrontendConfig(scheme=scheme)).prepare("زرت الرياض")
    config = with_lexicon(FrontendConfig(scheme=scheme), parse_lexicon("الرياض\tAlr~iyaADu\n"))
    with_entry = TextFrontend(config).prepare("زرت الرياض")
    assert with_entry.spoken == normalize("زرت الرِّيَاضُ")
    assert with_entry.model_text != plain.model_text
    expected = {
        None: normalize("زرت الرِّيَاضُ"),
        "buckwalter": "zrt Alr~iyaADu.",
        "latin": "zrt ar-riyaad.",
        "arabizi": "zrt ar-riyaad'.",
    }
    if scheme in expected:
        assert with_entry.model_text == expected[scheme]
    else:  # ipa: espeak-ng now hears the doubled r and the long a
        assert "rː" in with_entry.model_text or "rr" in with_entry.model_text


def test_the_lexicon_travels_in_the_saved_front_end(tmp_path: Path) -> None:
    config = with_lexicon(FrontendConfig(scheme="latin"), ENTRIES)
    config.save(tmp_path)
    loaded = FrontendConfig.load(tmp_path)
    assert loaded == config
    assert TextFrontend(loaded).prepare("زرت الرياض").spoken.endswith(RIYADH)
    assert lexicon_sha256(loaded.lexicon) == lexicon_sha256(tuple(reversed(ENTRIES)))
    # a config saved before lexicons existed loads with none
    assert FrontendConfig.from_dict({"scheme": "latin"}).lexicon == ()


def test_a_config_with_a_lexicon_equals_its_saved_json(tmp_path: Path) -> None:
    import json

    from natiq.text import FrontendConfig

    config = FrontendConfig(lexicon=(("ناطق", "نَاطِق"),))
    config.save(tmp_path)
    saved = json.loads((tmp_path / "natiq_frontend.json").read_text(encoding="utf-8"))
    assert saved == config.to_dict()
    assert FrontendConfig.load(tmp_path) == config
