"""The Synthesizer over a tiny random Pocket model: audio, streaming, long text, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from natiq.backends.base import SynthesisOptions
from natiq.common.errors import (
    AudioInputError,
    CheckpointMismatchError,
    InputTextError,
    NatiqError,
    OptionError,
)

ARABIC_TEXT = "مَرْحَبًا بِكُمْ"


def test_speak_returns_24k_float_audio_with_timings(synth, voice_wav: Path) -> None:
    result = synth.speak(ARABIC_TEXT, voice=voice_wav, options=SynthesisOptions(seed=1))
    assert result.sample_rate == 24000
    assert result.audio.dtype == np.float32 and result.audio.ndim == 1
    assert result.audio.size >= 6 * 1920  # pocket never stops before 6 frames
    assert np.all(np.isfinite(result.audio))
    timings = result.timings
    assert 0 < timings["first_chunk_s"] <= timings["total_s"]
    assert timings["audio_s"] == pytest.approx(result.audio.size / 24000)
    assert timings["rtf"] == pytest.approx(timings["total_s"] / timings["audio_s"])
    assert len(result.sentences) == 1
    assert result.sentences[0].model_text.isascii()  # stock front-end: latin romanization


def test_stream_yields_several_chunks_equal_to_speak(synth, voice_wav: Path) -> None:
    options = SynthesisOptions(seed=7, max_seconds=0.96)
    chunks = list(synth.stream(ARABIC_TEXT, voice=voice_wav, options=options))
    whole = synth.speak(ARABIC_TEXT, voice=voice_wav, options=options).audio
    assert len(chunks) > 1
    # Mimi decodes as many queued frames per call as the generator has made, so
    # chunk boundaries vary between runs; the samples agree to float rounding.
    np.testing.assert_allclose(np.concatenate(chunks), whole, atol=1e-5)


def test_max_seconds_bounds_each_sentence(synth, voice_wav: Path) -> None:
    result = synth.speak(
        ARABIC_TEXT, voice=voice_wav, options=SynthesisOptions(seed=0, max_seconds=0.5)
    )
    assert result.audio.size == 12000  # a sample count, not a whole number of 1920-sample frames


def test_long_text_is_split_into_sentences_joined_by_pauses(synth, voice_wav: Path) -> None:
    text = "ذَهَبَ الْوَلَدُ إِلَى الْمَدْرَسَةِ. قَرَأَ كِتَابًا جَمِيلًا؟ ثُمَّ عَادَ إِلَى الْبَيْتِ!"
    options = SynthesisOptions(seed=3, max_seconds=0.64)
    result = synth.speak(text, voice=voice_wav, options=options)
    assert len(result.sentences) == 3
    pause = round(synth.join.pause_s * 24000)
    assert result.audio.size == 3 * 8 * 1920 + 2 * pause
    first_pause = result.audio[8 * 1920 : 8 * 1920 + pause]
    assert np.all(first_pause == 0)
    # the fade-out ends each sentence on silence, so the join has no click
    assert abs(result.audio[8 * 1920 - 1]) < 1e-6


def test_sentence_without_speakable_content_is_skipped(synth, voice_wav: Path) -> None:
    result = synth.speak(
        f"{ARABIC_TEXT}. ... !!!",
        voice=voice_wav,
        options=SynthesisOptions(seed=0, max_seconds=0.48),
    )
    assert len(result.sentences) == 1


def test_voice_is_prepared_once_and_cached(synth, voice_wav: Path) -> None:
    assert synth.prepare_voice(voice_wav) is synth.prepare_voice(str(voice_wav))


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_an_input_error(synth, voice_wav: Path, text: str) -> None:
    with pytest.raises(InputTextError, match="empty"):
        synth.speak(text, voice=voice_wav)


@pytest.mark.parametrize("text", ["!!! ... ؟؟", "—  ***  —"])
def test_text_with_nothing_speakable_is_an_input_error(synth, voice_wav: Path, text: str) -> None:
    with pytest.raises(InputTextError):
        synth.speak(text, voice=voice_wav)


def test_silent_voice_file_is_refused(synth, tmp_path: Path) -> None:
    import soundfile as sf

    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(48000, dtype=np.float32), 24000)
    with pytest.raises(AudioInputError, match="silent"):
        synth.speak(ARABIC_TEXT, voice=silent)


def test_unreadable_voice_file_is_refused(synth, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"this is not audio")
    with pytest.raises(AudioInputError, match=r"broken\.wav"):
        synth.speak(ARABIC_TEXT, voice=broken)


def test_missing_default_voice_offline_asks_for_voice(synth) -> None:
    with pytest.raises(NatiqError, match="--voice"):
        synth.speak(ARABIC_TEXT)


def test_unsupported_sampling_option_is_refused_before_any_work(synth) -> None:
    with pytest.raises(OptionError, match=r"^the pocket backend does not support .* top_k \("):
        synth.speak(ARABIC_TEXT, voice="/nonexistent.wav", options=SynthesisOptions(top_k=5))


def test_scheme_is_free_for_a_model_that_records_none(tiny_yaml: Path) -> None:
    from natiq.synthesizer import Synthesizer

    synth = Synthesizer.load("pocket", model=str(tiny_yaml), device="cpu", scheme="buckwalter")
    assert synth.frontend.config.scheme == "buckwalter"


@pytest.fixture(scope="module")
def export_dir(tiny_yaml: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model laid out as a natiq export dir: YAML + weights + recorded front-end."""
    import shutil

    from natiq.text import FrontendConfig

    folder = tmp_path_factory.mktemp("export")
    for path in tiny_yaml.parent.iterdir():
        shutil.copy(path, folder / path.name)
    FrontendConfig(scheme="buckwalter").save(folder)
    return folder


def test_checkpoint_front_end_is_used(export_dir: Path, voice_wav: Path) -> None:
    from natiq.synthesizer import Synthesizer

    synth = Synthesizer.load("pocket", checkpoint=export_dir, device="cpu")
    result = synth.speak(
        ARABIC_TEXT, voice=voice_wav, options=SynthesisOptions(seed=0, max_seconds=0.48)
    )
    assert synth.frontend.config.scheme == "buckwalter"
    assert result.sentences[0].model_text.startswith("mar")


def test_scheme_contradicting_the_checkpoint_is_refused(export_dir: Path) -> None:
    from natiq.synthesizer import Synthesizer

    with pytest.raises(CheckpointMismatchError, match="scheme"):
        Synthesizer.load("pocket", checkpoint=export_dir, device="cpu", scheme="arabizi")


def test_checkpoint_from_another_base_is_refused(export_dir: Path, other_tiny_yaml: Path) -> None:
    from natiq.synthesizer import Synthesizer

    with pytest.raises(CheckpointMismatchError, match="base"):
        Synthesizer.load("pocket", checkpoint=export_dir, model=str(other_tiny_yaml), device="cpu")


def test_stream_to_file_is_readable_while_generating(
    synth, voice_wav: Path, tmp_path: Path
) -> None:
    import soundfile as sf

    from natiq.speak.jobs import stream_to_file

    output = tmp_path / "live.wav"
    seen: list[int] = []
    timings = stream_to_file(
        synth,
        ARABIC_TEXT,
        output,
        voice=voice_wav,
        options=SynthesisOptions(seed=2, max_seconds=0.80),
        on_first_chunk=lambda _: seen.append(sf.info(str(output)).frames),
    )
    final = sf.info(str(output)).frames
    assert 0 < seen[0] < final == 10 * 1920
    assert 0 < timings["first_chunk_s"] < timings["total_s"]
