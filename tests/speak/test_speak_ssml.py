"""SSML, pauses and the user lexicon through the Synthesizer and `natiq speak`, on the tiny
random Pocket model: real synthesis, silences measured in the output audio."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from natiq.backends.base import SynthesisOptions
from natiq.cli.main import app
from natiq.common.errors import InputTextError, OptionError, SsmlError
from natiq.synthesizer import JoinPolicy, Synthesizer, parse_pauses

RATE = 24000
OPTIONS = SynthesisOptions(seed=0, max_seconds=0.4)


def longest_silence(audio: np.ndarray, threshold: float = 1e-4) -> float:
    """Seconds of the longest run of samples quieter than ``threshold``."""
    quiet = np.concatenate([[0], (np.abs(audio) < threshold).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(quiet))
    runs = edges[1::2] - edges[::2]
    return float(runs.max()) / RATE if runs.size else 0.0


def test_a_break_of_700_ms_is_700_ms_of_silence(synth, voice_wav: Path) -> None:
    result = synth.speak(
        '<speak>مَرْحَبًا <break time="700ms"/> بِكُمْ</speak>', voice=voice_wav, options=OPTIONS
    )
    assert [s.model_text for s in result.sentences] == ["marhabaa.", "bikum."]
    assert longest_silence(result.audio) == pytest.approx(0.7, abs=0.03)
    assert result.audio.size == 2 * round(0.4 * RATE) + round(0.7 * RATE)


def test_a_break_replaces_the_sentence_pause_and_may_open_or_close_the_audio(
    synth, voice_wav: Path
) -> None:
    document = '<speak><break time="250ms"/>جملة أولى. <break time="1s"/> جملة ثانية.<break time="0.5s"/></speak>'
    plan = synth.prepare_text(document)
    assert plan.silences == [0.25, 1.0, 0.5]
    result = synth.speak(plan, voice=voice_wav, options=OPTIONS)
    assert result.audio.size == 2 * round(0.4 * RATE) + round(1.75 * RATE)
    assert not np.any(result.audio[: round(0.25 * RATE)])
    assert not np.any(result.audio[-round(0.5 * RATE) :])


def test_say_as_characters_reads_letter_names(synth) -> None:
    plan = synth.prepare_text('<speak><say-as interpret-as="characters">بكم</say-as></speak>')
    (sentence,) = plan.sentences
    assert sentence.original == "بكم"
    assert sentence.model_text == "baa' kaaf meem."  # بَاء كَاف مِيم in the stock latin scheme


def test_sub_and_phoneme_change_the_model_text(synth) -> None:
    plain = synth.prepare_text("قالت WHO اليوم").sentences[0]
    sub = synth.prepare_text(
        '<speak>قالت <sub alias="مُنَظَّمَة الصِّحَّة">WHO</sub> اليوم</speak>'
    ).sentences[0]
    assert plain.model_text == "qaalt WHO al-yoom."
    assert sub.model_text == "qaalt munazzama as-sihha al-yoom."
    assert sub.original == "قالت WHO اليوم"
    bare = synth.prepare_text("زار محمد").sentences[0]
    phoneme = synth.prepare_text(
        '<speak>زار <phoneme alphabet="buckwalter" ph="maHomuwd">محمد</phoneme></speak>'
    ).sentences[0]
    assert (bare.model_text, phoneme.model_text) == ("zaar mhmd.", "zaar mahmood.")


def test_text_with_angle_brackets_is_plain_text_unless_it_starts_with_speak(synth) -> None:
    plan = synth.prepare_text("السعر < 5 دولارات <speak>")
    assert len(plan.sentences) == 1
    with pytest.raises(SsmlError, match="must start with <speak>"):
        synth.prepare_text("مرحبا", ssml=True)
    with pytest.raises(SsmlError, match="line 1, column 15: mismatched tag"):
        synth.prepare_text("<speak>مرحبا</p>")
    with pytest.raises(InputTextError, match="nothing speakable"):
        synth.prepare_text("<speak><break/></speak>")
    seven_breaks = "".join('نعم <break time="9s"/>' for _ in range(7))
    with pytest.raises(SsmlError, match=r"add up to 63\.0 s; at most 60 s per text"):
        synth.prepare_text(f"<speak>{seven_breaks}</speak>")


def test_clause_pauses_cut_the_sentence_and_put_their_silence_in(synth, voice_wav: Path) -> None:
    text = "ذهب الولد، ثم عاد.\n\nفقرة ثانية"
    default = synth.prepare_text(text)
    assert [s.original for s in default.sentences] == ["ذهب الولد، ثم عاد.", "فقرة ثانية"]
    assert default.silences == [0.0, 0.5, 0.0]  # a paragraph: 0.5 s
    custom = Synthesizer(
        synth.backend, join=JoinPolicy().with_pauses({"comma": 0.3, "paragraph": 0.8})
    )
    plan = custom.prepare_text(text)
    assert [s.original for s in plan.sentences] == ["ذهب الولد،", "ثم عاد.", "فقرة ثانية"]
    assert plan.silences == [0.0, 0.3, 0.8, 0.0]
    result = custom.speak(plan, voice=voice_wav, options=OPTIONS)
    assert result.audio.size == 3 * round(0.4 * RATE) + round(1.1 * RATE)
    assert longest_silence(result.audio) == pytest.approx(0.8, abs=0.03)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["comma"], "write NAME=SECONDS"),
        (["coma=0.2"], "unknown pause"),
        (["comma=-1"], "from 0 to 10"),
        (["paragraph=nan"], "write NAME=SECONDS"),
    ],
)
def test_a_bad_pause_is_an_option_error(flags: list[str], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        JoinPolicy().with_pauses(parse_pauses(flags))


def test_a_lexicon_given_at_load_changes_what_the_model_reads(
    tiny_yaml: Path, tmp_path: Path
) -> None:
    lexicon = tmp_path / "names.tsv"
    lexicon.write_text("محمد\tmaHomuwd\n", encoding="utf-8")
    synth = Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu", lexicon=lexicon)
    assert synth.prepare_text("زار محمد").sentences[0].model_text == "zaar mahmood."
    # the engine's copy over a scheduled backend keeps it
    assert synth.over(synth.backend).prepare_text("زار محمد").sentences[0].model_text == (
        "zaar mahmood."
    )


def test_speak_cli_reads_ssml_and_batch_lines(
    tiny_yaml: Path, voice_wav: Path, tmp_path: Path
) -> None:
    import soundfile as sf

    runner = CliRunner()
    output = tmp_path / "out.wav"
    common = ["--model", str(tiny_yaml), "--voice", str(voice_wav), "--device", "cpu", "--max-seconds", "0.3", "--seed", "0"]  # fmt: skip
    document = '<speak>نعم <break time="400ms"/> لا</speak>'
    args = ["speak", "--ssml", "--text", document, "--output", str(output), *common]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    audio, rate = sf.read(str(output), dtype="float32")
    assert rate == RATE and audio.size == 2 * round(0.3 * RATE) + round(0.4 * RATE)
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        json.dumps(
            {"id": "ok", "text": '<speak>نعم <break time="200ms"/> لا</speak>'}, ensure_ascii=False
        )
        + "\n"
        + json.dumps({"id": "bad", "text": "<speak>نعم</s>"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["speak", "--input-file", str(batch), "--output-dir", str(tmp_path / "out"), *common]
    )
    assert result.exit_code == 0, result.output
    assert sf.info(str(tmp_path / "out" / "ok.wav")).frames == 2 * round(0.3 * RATE) + round(
        0.2 * RATE
    )
    (failure,) = [json.loads(line) for line in (tmp_path / "out" / "failures.jsonl").open()]
    assert (failure["id"], failure["error"]) == ("bad", "SsmlError")
    assert "line 1, column 13: mismatched tag" in failure["message"]


def test_prosody_rate_changes_the_duration_of_its_sentence_only(synth, voice_wav: Path) -> None:
    document = (
        '<speak>نعم <prosody rate="50%">مَرْحَبًا</prosody> <prosody rate="x-fast">لا</prosody></speak>'
    )
    plan = synth.prepare_text(document)
    assert plan.rates == [1.0, 0.5, 1.5]
    result = synth.speak(plan, voice=voice_wav, options=OPTIONS)
    piece = round(0.4 * RATE)
    expected = piece + piece / 0.5 + piece / 1.5
    assert result.audio.size == pytest.approx(expected, rel=0.02)
