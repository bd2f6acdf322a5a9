"""TextFrontend / FrontendConfig: the contract other stages rely on, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from natiq.common.errors import InputTextError, NatiqError
from natiq.text import (
    FRONTEND_FILENAME,
    FrontendConfig,
    FrontendConfigError,
    PreparedText,
    TextFrontend,
    normalize,
)


def test_importing_the_text_front_end_does_not_import_torch_or_numpy() -> None:
    code = "import sys, natiq.text, natiq.cli.text; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_config_round_trips_through_a_dict_and_a_directory(tmp_path: Path) -> None:
    config = FrontendConfig(diacritics="strip", scheme="latin", verbalize=False, fold=True)
    assert FrontendConfig.from_dict(config.to_dict()) == config
    path = config.save(tmp_path)
    assert path.name == FRONTEND_FILENAME
    assert json.loads(path.read_text(encoding="utf-8"))["scheme"] == "latin"
    assert FrontendConfig.load(tmp_path) == config
    assert TextFrontend.from_dir(tmp_path).config == config


def test_config_rejects_unknown_keys_and_bad_values_by_name() -> None:
    with pytest.raises(FrontendConfigError, match=r"unknown front-end config key.*romanise"):
        FrontendConfig.from_dict({"romanise": "latin"})
    with pytest.raises(FrontendConfigError, match="scheme"):
        FrontendConfig(scheme="klingon")
    with pytest.raises(FrontendConfigError, match="diacritics"):
        FrontendConfig(diacritics="some")  # type: ignore[arg-type]
    with pytest.raises(FrontendConfigError, match="fold"):
        FrontendConfig(fold=True)
    with pytest.raises(FrontendConfigError, match="true or false"):
        FrontendConfig.from_dict({"verbalize": "yes"})


def test_loading_a_directory_without_a_config_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FrontendConfigError, match=FRONTEND_FILENAME):
        FrontendConfig.load(tmp_path)
    (tmp_path / FRONTEND_FILENAME).write_text("{broken", encoding="utf-8")
    with pytest.raises(FrontendConfigError, match=":1: invalid JSON"):
        FrontendConfig.load(tmp_path)


def test_prepare_default_keeps_arabic_script_and_reads_numbers() -> None:
    prepared = TextFrontend().prepare("  عِنْدِي ٣ كُتُبٍ؟ ")
    assert prepared == PreparedText(
        original="  عِنْدِي ٣ كُتُبٍ؟ ",
        spoken=normalize("عِنْدِي ثَلَاثَة كُتُبٍ؟"),
        model_text=normalize("عِنْدِي ثَلَاثَة كُتُبٍ?"),
    )


def test_prepare_romanized_text_maps_punctuation_and_ends_a_sentence() -> None:
    frontend = TextFrontend(FrontendConfig(scheme="latin"))
    assert frontend.prepare("مَرْحَبًا بِكُمْ").model_text == "marhaban bikum."
    assert frontend.prepare("هَلْ أَنْتَ بِخَيْرٍ؟").model_text == "hal anta bikhayr?"
    assert frontend.prepare("«نَعَمْ»، شُكْرًا").model_text == '"na\'am", shukraa.'


def test_buckwalter_model_text_keeps_case_and_round_trips() -> None:
    prepared = TextFrontend(FrontendConfig(scheme="buckwalter")).prepare("صَبَاحُ الْخَيْرِ")
    assert prepared.model_text == "SabaAHu Aloxayori."


def test_strip_and_fold_apply_to_the_verbalized_words_too() -> None:
    config = FrontendConfig(diacritics="strip", fold=True, scheme=None)
    assert TextFrontend(config).prepare("أَكَلَ 3 تفاحات").spoken == "اكل ثلاث تفاحات"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \t  ", "empty"),
        ("\u200f\u0640\x00", "empty"),
        ("Hello world", "no Arabic words"),
        ("!!! ...", "no Arabic words"),
        ("\ud800\udfff", "empty"),
    ],
)
def test_unspeakable_input_is_a_clear_input_error(text: str, message: str) -> None:
    with pytest.raises(InputTextError, match=message):
        TextFrontend().prepare(text)


def test_digits_alone_are_speakable_but_not_without_verbalization() -> None:
    assert TextFrontend().prepare("2024").spoken == normalize("أَلْفَان وَأَرْبَعَة وَعِشْرُون")
    with pytest.raises(InputTextError, match="verbalize is off"):
        TextFrontend(FrontendConfig(verbalize=False)).prepare("2024")


def test_control_characters_and_lone_surrogates_are_removed_not_fatal() -> None:
    prepared = TextFrontend(FrontendConfig(scheme="arabizi")).prepare("مَر\x00حَبًا\ud800 \x1b")
    assert prepared.model_text == "mar7abaa."


def test_non_string_input_is_an_input_error() -> None:
    with pytest.raises(InputTextError):
        TextFrontend().prepare(None)  # type: ignore[arg-type]
    assert issubclass(InputTextError, NatiqError)


def test_sentences_drop_pieces_with_nothing_to_say() -> None:
    frontend = TextFrontend()
    assert frontend.sentences("جملة أولى. ... ؟ جملة ثانية!") == ["جملة أولى.", "جملة ثانية!"]


@pytest.mark.slow
def test_a_ten_megabyte_line_is_prepared_in_one_pass() -> None:
    # Every stage is a fixed number of linear scans (no per-word Python loop),
    # so 10 MB on one line takes seconds, not minutes, and no memory blow-up.
    line = "قَالَ الرَّجُلُ إِنَّ عِنْدَهُ كِتَابًا جَمِيلًا\u200f عَنِ الْعَرَبِ، " * 20 + "وَ25 كِتَابًا. "
    text = line * (10_000_000 // len(line) + 1)
    prepared = TextFrontend(FrontendConfig(scheme="arabizi")).prepare(text)
    assert len(text) >= 10_000_000
    assert prepared.model_text.isascii()
    assert prepared.model_text.count("9aalar-rajulu") == text.count("قَالَ")
    assert prepared.model_text.count("wa5amsa wa3ishruun kitaabaa.") == text.count("25")


def test_text_that_romanizes_to_nothing_is_an_input_error() -> None:
    # found by hypothesis: a lone glottal stop has no latin spelling
    frontend = TextFrontend(FrontendConfig(scheme="latin"))
    with pytest.raises(InputTextError, match="latin romanization"):
        frontend.prepare("ءّ")
