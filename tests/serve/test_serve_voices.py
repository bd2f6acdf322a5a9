"""Voice uploads and the voice store: header checks before decoding (no
decompression bombs), an index in memory, names that cannot hijack ids or
preset names, and a cap on how many voices are kept."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from natiq.common.errors import AudioInputError, InputTextError
from natiq.serve.state import DEFAULT_VOICE_NAMES
from natiq.serve.voices import UploadLimits, VoiceStore, VoiceStoreFull, decode_upload

LIMITS = UploadLimits(max_bytes=2_000_000, min_seconds=0.5, max_seconds=10.0)


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV")
    return buffer.getvalue()


def silent_flac(seconds: int, rate: int = 16000) -> bytes:
    """A FLAC of ``seconds`` of silence: a few KB for minutes."""
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(rate * seconds, dtype=np.int16), rate, format="FLAC")
    return buffer.getvalue()


def test_decode_upload_accepts_speech_and_mixes_stereo_to_mono(espeak_wav):
    speech, rate = sf.read(io.BytesIO(espeak_wav("السلام عليكم ورحمة الله")), dtype="float32")
    stereo = np.stack([speech, speech * 0.5], axis=1)
    samples, got_rate = decode_upload(wav_bytes(stereo, rate), LIMITS)
    assert got_rate == rate
    assert samples.shape == speech.shape
    np.testing.assert_allclose(samples, speech * 0.75, atol=1e-4)  # 16-bit wav round trip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"RIFF\x00\x00not really audio at all" * 10, "not readable audio"),
        (wav_bytes(np.full(1600, 0.2, dtype=np.float32)), "lasts 0.10 s"),
        (wav_bytes(np.zeros(32000, dtype=np.float32)), "silent"),
        (wav_bytes(np.full(16000 * 11, 0.1, dtype=np.float32)), "between 0.5 and 10 s"),
        (wav_bytes(np.full((16000, 9), 0.1, dtype=np.float32)), "9 channels"),
        (wav_bytes(np.full(4000, 0.1, dtype=np.float32), rate=4000), "4000 Hz"),
    ],
)
def test_decode_upload_rejects_unusable_clips_with_the_reason(data, message):
    with pytest.raises(AudioInputError, match=message):
        decode_upload(data, LIMITS)


def test_unreadable_upload_error_names_no_object_or_path():
    with pytest.raises(AudioInputError) as refused:
        decode_upload(b"RIFF\x00\x00not really audio at all" * 10, LIMITS)
    assert str(refused.value) == (
        "the uploaded voice file is not readable audio (wav, flac, ogg or mp3)"
    )


def test_a_compressed_hour_long_clip_is_refused_from_its_header_before_decoding():
    bomb = silent_flac(600)  # 10 minutes in ~30 KB; decoded it would be 38 MB of float32
    assert len(bomb) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(AudioInputError, match=r"lasts 600\.00 s"):
            decode_upload(bomb, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the samples were never decoded


def test_voice_store_keeps_clips_under_its_own_ids(tmp_path, espeak_wav):
    store = VoiceStore(tmp_path, LIMITS)
    voice = store.add(espeak_wav("مرحبا بكم في هذا البرنامج"), name="layla", text="مرحبا بكم")
    assert voice.id.startswith("v_") and len(voice.id) == 18
    assert store.get(voice.id) == voice
    assert store.find("layla") == voice
    assert [v.id for v in store.list()] == [voice.id]
    prompt = store.prompt(voice)
    assert prompt.audio == tmp_path / voice.id / "reference.wav" and prompt.text == "مرحبا بكم"
    assert sf.info(str(prompt.audio)).channels == 1
    with pytest.raises(InputTextError, match="exists already"):
        store.add(espeak_wav("مرحبا"), name="layla", text=None)
    assert store.delete(voice.id)
    assert store.get(voice.id) is None and not (tmp_path / voice.id).exists()
    assert store.find("layla") is None


def test_voice_lookups_are_answered_from_memory(tmp_path, espeak_wav):
    store = VoiceStore(tmp_path / "voices", LIMITS)
    voice = store.add(espeak_wav("مرحبا بكم"), name="layla", text=None)
    reopened = VoiceStore(tmp_path / "voices", LIMITS)  # the index is read once at start
    assert reopened.find("layla") == voice and reopened.find(voice.id) == voice
    (tmp_path / "voices").rename(tmp_path / "moved")  # no disk behind it any more
    assert reopened.find("layla") == voice
    assert reopened.find("alloy") is None and reopened.find("v_0123456789abcdef") is None


@pytest.mark.parametrize(
    "hostile", ["../etc", "v_../../x", "/etc/passwd", "v_0123456789abcdeg", "..", ""]
)
def test_voice_store_never_turns_a_client_string_into_a_path(tmp_path, hostile):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "voice.json").write_text("{}")
    store = VoiceStore(tmp_path / "voices", LIMITS)
    assert store.get(hostile) is None
    assert store.find(hostile) is None
    assert store.delete(hostile) is False
    assert outside.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x", "voice name has"),
        ("layla\n", "voice name has"),  # a trailing newline passed a `$` pattern
        (" layla", "voice name has"),
        ("x" * 65, "voice name has"),
        ("alloy", "already means"),
        ("Default", "already means"),
        ("v_0123456789abcdef", "already means"),
    ],
)
def test_voice_names_are_full_matched_and_cannot_take_reserved_words_or_ids(
    tmp_path, name, message
):
    store = VoiceStore(tmp_path, LIMITS, reserved_names=DEFAULT_VOICE_NAMES)
    with pytest.raises(InputTextError, match=message):
        store.add(b"never decoded", name=name, text=None)
    store.check_name("ليلى 2-b_")  # Arabic letters, digits, space, - and _ are fine


def test_the_voice_store_refuses_voices_beyond_its_cap(tmp_path, espeak_wav):
    store = VoiceStore(tmp_path, LIMITS, max_voices=1)
    store.add(espeak_wav("مرحبا"), name=None, text=None)
    with pytest.raises(VoiceStoreFull, match="at most 1 voices"):
        store.add(espeak_wav("مرحبا"), name=None, text=None)


def test_voice_routes_answer_413_over_the_byte_limit_and_507_when_full(make_api, clip_bytes):
    api = make_api(max_voices=1)  # the fixture's own voice fills it
    too_big = api.client.post(
        "/v1/voices", files={"file": ("a.wav", b"\0" * (api.settings.max_upload_bytes + 1))}
    )
    assert too_big.status_code == 413 and "1000000 bytes" in too_big.json()["detail"]
    full = api.client.post("/v1/voices", files={"file": ("a.wav", clip_bytes)})
    assert full.status_code == 507 and "at most 1 voices" in full.json()["detail"]
    preset = api.client.post(
        "/v1/voices", files={"file": ("a.wav", clip_bytes)}, data={"name": "alloy"}
    )
    assert preset.status_code == 422 and "already means" in preset.json()["detail"]
