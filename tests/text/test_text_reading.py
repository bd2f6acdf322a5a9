"""Reading rules (hamzat al-wasl, spellings, pausal forms) in every phonetic scheme and entry point."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest
from text_reading_table import READING_TABLE

from natiq.text import FrontendConfig, TextFrontend, deromanize, normalize, romanize
from natiq.text.config import FrontendConfigError
from natiq.text.reading import apply_pausal, read_aloud

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"
)
ROWS = [pytest.param(*row, id=f"{index}") for index, row in enumerate(READING_TABLE)]


def test_the_reading_table_covers_every_rule() -> None:
    assert len(READING_TABLE) >= 80
    assert len({(row[0], row[1]) for row in READING_TABLE}) == len(READING_TABLE)
    joined = " ".join(row[3] for row in READING_TABLE)
    for sign in ("fil-", "bismillaah", "kitaabunil-", "minal-", "madrasah.", "illaa", "ladayy"):
        assert sign in joined


@pytest.mark.parametrize(("arabic", "pausal", "arabizi", "latin", "ipa"), ROWS)
def test_arabizi_reading(arabic: str, pausal: bool, arabizi: str, latin: str, ipa: str) -> None:
    assert romanize(arabic, "arabizi", pausal=pausal) == arabizi


@pytest.mark.parametrize(("arabic", "pausal", "arabizi", "latin", "ipa"), ROWS)
def test_latin_reading(arabic: str, pausal: bool, arabizi: str, latin: str, ipa: str) -> None:
    assert romanize(arabic, "latin", pausal=pausal) == latin


@needs_espeak
@pytest.mark.parametrize(("arabic", "pausal", "arabizi", "latin", "ipa"), ROWS)
def test_ipa_reading(arabic: str, pausal: bool, arabizi: str, latin: str, ipa: str) -> None:
    assert romanize(arabic, "ipa", pausal=pausal) == ipa


@pytest.mark.parametrize(("arabic", "pausal", "arabizi", "latin", "ipa"), ROWS[::7])
def test_prepare_reads_exactly_like_romanize(
    arabic: str, pausal: bool, arabizi: str, latin: str, ipa: str
) -> None:
    config = FrontendConfig(scheme="latin", pausal=pausal, verbalize=False)
    model_text = TextFrontend(config).prepare(arabic).model_text
    assert model_text in (latin, latin + ".")


def test_buckwalter_spells_what_is_written_whatever_pausal_says() -> None:
    text = "فِي الْمَدِينَةِ مَدْرَسَةٌ."
    assert romanize(text, "buckwalter") == romanize(text, "buckwalter", pausal=False)
    assert deromanize(romanize(text, "buckwalter"), "buckwalter") == normalize(text)


def test_pausal_forms_only_touch_the_word_before_a_pause() -> None:
    text = normalize("كِتَابٌ جَدِيدٌ، وَقَلَمٌ")
    assert apply_pausal(text) == normalize("كِتَابٌ جَدِيدْ، وَقَلَمْ")
    assert read_aloud(text, pausal=False) == text


def test_a_config_saved_before_pausal_existed_loads_with_pausal_off(tmp_path: Path) -> None:
    (tmp_path / "natiq_frontend.json").write_text(json.dumps({"scheme": "latin"}), "utf-8")
    old = TextFrontend.from_dir(tmp_path)
    assert old.config.pausal is False
    assert old.prepare("مَدْرَسَةٌ").model_text == "madrasatun."
    assert FrontendConfig(scheme="latin").pausal is True
    new = TextFrontend(FrontendConfig(scheme="latin"))
    new.config.save(tmp_path)
    assert json.loads((tmp_path / "natiq_frontend.json").read_text("utf-8"))["pausal"] is True
    assert TextFrontend.from_dir(tmp_path).prepare("مَدْرَسَةٌ").model_text == "madrasah."


def test_a_phonetic_config_saved_before_the_reading_rules_warns_and_new_ones_record_them(
    tmp_path: Path,
) -> None:
    from natiq.text.config import READING_RULES, ReadingRulesWarning

    (tmp_path / "natiq_frontend.json").write_text(json.dumps({"scheme": "latin"}), "utf-8")
    with pytest.warns(ReadingRulesWarning, match="reading rules v1"):
        old = FrontendConfig.load(tmp_path)
    assert old.reading_rules == 1
    assert FrontendConfig(scheme="latin").to_dict()["reading_rules"] == READING_RULES == 2
    native = tmp_path / "native"
    native.mkdir()
    (native / "natiq_frontend.json").write_text(json.dumps({"scheme": None}), "utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading rules never apply to Arabic script
        assert FrontendConfig.load(native).reading_rules == 1
    with pytest.raises(FrontendConfigError, match="reading_rules"):
        FrontendConfig(reading_rules=3)
