"""Every OpenAI ``response_format``, whole and streamed, decoded by ffmpeg (PyAV).

A 440 Hz tone goes in; what comes out must decode to the same length (the
lossy codecs add at most their priming and a last frame) and the same pitch,
and a streamed encoder must hand out audio before it is finished.
"""

from __future__ import annotations

import numpy as np
import pytest

from natiq.serve import audio_formats
from support.audio import decode, dominant_hz

RATE = 24000
TONE = (0.3 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
COMPRESSED = ["mp3", "opus", "aac", "flac"]


def test_every_openai_format_is_available() -> None:
    assert audio_formats.available_formats() == ("wav", "pcm", "flac", "mp3", "opus", "aac")


@pytest.mark.parametrize("fmt", ["wav", *COMPRESSED])
def test_a_whole_file_decodes_to_the_same_tone(fmt: str) -> None:
    decoded, rate = decode(audio_formats.encode(TONE, RATE, fmt))
    seconds = decoded.size / rate
    assert 1.0 <= seconds < 1.1  # priming and padding of a frame or two, never less audio
    assert dominant_hz(decoded, rate) == pytest.approx(440, abs=3)
    assert rate == (48000 if fmt == "opus" else RATE)  # Opus always decodes at 48 kHz


@pytest.mark.parametrize("fmt", ["wav", "pcm", *COMPRESSED])
def test_a_streamed_file_hands_out_audio_before_it_is_finished(fmt: str) -> None:
    encoder = audio_formats.Encoder(fmt, RATE)
    pieces = [encoder.add(chunk) for chunk in np.array_split(TONE, 10)]
    before_finish = sum(len(piece) for piece in pieces[:5])  # after the first 0.5 s
    assert before_finish > 1000  # more than headers: compressed audio of the first frames
    data = b"".join(pieces) + encoder.finish()
    if fmt == "pcm":
        decoded = np.frombuffer(data, "<i2").astype(np.float32) / 32767
        rate = RATE
    else:
        decoded, rate = decode(data)
    assert 1.0 <= decoded.size / rate < 1.1
    assert dominant_hz(decoded, rate) == pytest.approx(440, abs=3)


def test_a_streamed_wav_with_no_audio_is_still_a_header() -> None:
    encoder = audio_formats.Encoder("wav", RATE)
    assert encoder.finish() == audio_formats.wav_header(RATE)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audio format 'ogg'"):
        audio_formats.Encoder("ogg", RATE)
