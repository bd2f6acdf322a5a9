"""The server's parts that need no model: formats, uploads, voices, batch parsing
and resuming, limits, API key and metrics."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from natiq.common.errors import AudioInputError, DataFormatError, InputTextError
from natiq.serve import audio_formats
from natiq.serve.auth import ApiKeyMiddleware
from natiq.serve.jobs import BatchLimits, JobStore, parse_batch
from natiq.serve.limits import AdmissionGate, BodySizeLimitMiddleware, ServerBusy
from natiq.serve.metrics import Metrics
from natiq.serve.settings import ServeSettings
from natiq.serve.voices import UploadLimits, VoiceStore, decode_upload

LIMITS = UploadLimits(max_bytes=2_000_000, min_seconds=0.5, max_seconds=10.0)
BATCH = BatchLimits(max_items=3, max_text_chars=50, formats=("wav", "pcm", "flac"))


def espeak_wav(text: str) -> bytes:
    """Real Arabic speech from espeak-ng, as wav bytes."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    return subprocess.run(
        ["espeak-ng", "-v", "ar", "--stdout", text], check=True, capture_output=True
    ).stdout


def wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV")
    return buffer.getvalue()


# ----- audio formats
def test_streamed_wav_header_is_read_to_the_end_of_the_data():
    tone = (0.3 * np.sin(np.arange(4800) / 7)).astype(np.float32)
    data = (
        audio_formats.wav_header(24000)
        + audio_formats.pcm16(tone[:2000])
        + audio_formats.pcm16(tone[2000:])
    )
    decoded, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 24000
    assert decoded.shape == (4800,)
    assert np.max(np.abs(decoded - tone)) < 1e-3


@pytest.mark.parametrize("fmt", [f for f in audio_formats.available_formats() if f != "pcm"])
def test_whole_file_formats_decode_to_the_same_length(fmt):
    tone = (0.3 * np.sin(np.arange(24000) / 9)).astype(np.float32)
    decoded, rate = sf.read(io.BytesIO(audio_formats.encode(tone, 24000, fmt)), dtype="float32")
    assert rate == 24000
    assert abs(decoded.shape[0] - 24000) < 2400  # mp3 pads a frame or two


def test_pcm_is_raw_little_endian_int16_and_clipped():
    raw = audio_formats.encode(np.array([0.0, 0.5, 2.0, -2.0], dtype=np.float32), 24000, "pcm")
    assert np.frombuffer(raw, "<i2").tolist() == [0, 16384, 32767, -32767]


# ----- uploads and voices
def test_decode_upload_accepts_speech_and_mixes_stereo_to_mono():
    speech, rate = sf.read(io.BytesIO(espeak_wav("السلام عليكم ورحمة الله")), dtype="float32")
    stereo = np.stack([speech, speech], axis=1)
    samples, got_rate = decode_upload(wav_bytes(stereo, rate), LIMITS)
    assert got_rate == rate
    assert samples.ndim == 1 and samples.size == speech.size


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"RIFF\x00\x00not really audio at all" * 10, "not readable audio"),
        (wav_bytes(np.full(1600, 0.2, dtype=np.float32)), "lasts 0.10 s"),
        (wav_bytes(np.zeros(32000, dtype=np.float32)), "silent"),
        (wav_bytes(np.full(16000 * 11, 0.1, dtype=np.float32)), "between 0.5 and 10 s"),
    ],
)
def test_decode_upload_rejects_unusable_clips_with_the_reason(data, message):
    with pytest.raises(AudioInputError, match=message):
        decode_upload(data, LIMITS)


def test_decode_upload_rejects_files_over_the_byte_limit():
    with pytest.raises(AudioInputError, match="the limit is 1000"):
        decode_upload(b"x" * 1001, UploadLimits(max_bytes=1000, min_seconds=0.5, max_seconds=10))


def test_voice_store_keeps_clips_under_its_own_ids(tmp_path):
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


def test_voice_names_are_restricted():
    with pytest.raises(InputTextError, match="voice name"):
        VoiceStore(Path("/nonexistent-never-created"), LIMITS).add(b"", name="../x", text=None)


# ----- batch parsing
def test_parse_batch_normalizes_items():
    body = '{"input": "مرحبا"}\n\n{"input": "أهلا", "voice": "v1", "response_format": "flac", "id": "a"}\n'
    items = parse_batch(body.encode(), BATCH)
    assert items == [
        {"index": 0, "id": None, "text": "مرحبا", "voice": None, "response_format": "wav"},
        {"index": 1, "id": "a", "text": "أهلا", "voice": "v1", "response_format": "flac"},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b'{"input": "a"}\n{"input": ', "batch:2: invalid JSON"),
        (b'{"input": "a"}\n[1]', "batch:2: expected a JSON object"),
        (b'{"input": "a", "speed": 2}', "batch:1: unknown field 'speed'"),
        (b'{"voice": "v1"}', "batch:1: missing field"),
        (b'{"input": "   "}', "batch:1: 'input': must not be empty"),
        (b'{"text": "a", "id": "../x"}', "batch:1: 'id': '../x' is not a safe file name"),
        (b'{"text": "a", "id": "x"}\n{"text": "b", "id": "x"}', "batch:2: duplicate id 'x'"),
        ('{"input": "' + "ب" * 51 + '"}', "batch:1: 'text' has 51 characters; the limit is 50"),
        (b'{"input": "a", "response_format": "ogg"}', "batch:1: 'response_format' must be one of"),
        (b'{"input": "a"}\n' * 4, "more than 3 items"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_parse_batch_names_the_line_of_each_problem(body, message):
    data = body.encode() if isinstance(body, str) else body
    with pytest.raises(DataFormatError, match=message):
        parse_batch(data, BATCH)


# ----- batch jobs survive a stop and resume where they were
def _wait_completed(store: JobStore, job_id: str, seconds: float = 30.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = store.status(job_id)
        if status["status"] == "completed":
            return status
        time.sleep(0.05)
    raise AssertionError(f"job not completed: {store.status(job_id)}")


def test_job_resumes_after_a_stop_and_skips_finished_items(tmp_path):
    calls: list[str] = []
    first: JobStore

    def render_then_stop(item):
        calls.append(item["text"])
        if len(calls) == 2:
            first._stop.set()  # the server goes away after this item
        return espeak_wav(item["text"]), {"duration": 1.0}

    first = JobStore(tmp_path, render_then_stop)
    items = parse_batch("\n".join(f'{{"input": "جملة رقم {i}"}}' for i in range(3)).encode(), BATCH)
    job = first.submit(items)
    first.start()
    first._thread.join(30)  # the worker ends by itself once it sees the stop
    assert calls == ["جملة رقم 0", "جملة رقم 1"]
    assert first.status(job["id"])["status"] == "running"

    resumed_calls: list[str] = []

    def render(item):
        resumed_calls.append(item["text"])
        if item["index"] == 2:
            raise InputTextError("nothing speakable")
        return espeak_wav(item["text"]), {"duration": 1.0}

    second = JobStore(tmp_path, render)
    second.start()
    try:
        status = _wait_completed(second, job["id"])
    finally:
        second.stop()
    assert second.resumed == [job["id"]]
    assert resumed_calls == ["جملة رقم 2"]
    assert (status["completed"], status["failed"]) == (2, 1)
    assert status["results"][2] == {
        "index": 2,
        "id": None,
        "response_format": "wav",
        "status": "error",
        "error": "nothing speakable",
    }
    path, fmt = second.result_file(job["id"], 0)
    assert fmt == "wav" and sf.info(str(path)).duration > 0.3
    assert second.result_file(job["id"], 2) is None
    assert second.result_file("../" + job["id"], 0) is None


def test_completed_jobs_are_not_run_again_after_restart(tmp_path):
    store = JobStore(tmp_path, lambda item: (b"RIFF", {}))
    job = store.submit(parse_batch(b'{"input": "a", "response_format": "pcm"}', BATCH))
    store.start()
    _wait_completed(store, job["id"])
    store.stop()
    again = JobStore(tmp_path, lambda item: pytest.fail("a completed job ran again"))
    again.start()
    again.stop()
    assert again.resumed == []
    assert again.counts() == {"queued": 0, "running": 0, "completed": 1}


# ----- limits
def test_admission_gate_refuses_beyond_running_plus_queue():
    gate = AdmissionGate(max_concurrency=1, max_queue=1)
    gate.admit()
    gate.started()
    gate.admit()
    assert (gate.running, gate.queued) == (1, 1)
    with pytest.raises(ServerBusy, match="busy"):
        gate.admit()
    gate.finished(started=True)
    gate.admit()
    assert gate.queued == 2


def _echo_app(api_key: str | None = None, max_body: int = 100) -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"size": len(await request.body())}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body)
    if api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    return TestClient(app)


def test_body_limit_answers_413_for_declared_and_streamed_bodies():
    client = _echo_app()
    assert client.post("/echo", content=b"x" * 100).json() == {"size": 100}
    response = client.post("/echo", content=b"x" * 101)
    assert response.status_code == 413 and "limit of 100 bytes" in response.json()["detail"]
    streamed = client.post("/echo", content=iter([b"x" * 60, b"x" * 60]))
    assert streamed.status_code == 413


def test_api_key_is_required_everywhere_but_health():
    client = _echo_app(api_key="secret-key-123")
    assert client.get("/health").status_code == 200
    missing = client.post("/echo", content=b"hi")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert (
        client.post("/echo", content=b"hi", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    ok = client.post("/echo", content=b"hi", headers={"Authorization": "Bearer secret-key-123"})
    assert ok.json() == {"size": 2}


def test_settings_read_the_key_file_and_reject_bad_ones(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("  abcdefgh12\n")
    assert ServeSettings(api_key_file=key_file).read_api_key() == "abcdefgh12"
    key_file.write_text("short")
    with pytest.raises(Exception, match="at least 8 characters"):
        ServeSettings(api_key_file=key_file).read_api_key()
    with pytest.raises(Exception, match="cannot read the API key file"):
        ServeSettings(api_key_file=tmp_path / "missing").read_api_key()
    with pytest.raises(Exception, match="max-concurrency"):
        ServeSettings(max_concurrency=0)


# ----- metrics
def test_metrics_render_prometheus_text_with_cumulative_buckets():
    metrics = Metrics()
    metrics.record_request("/v1/audio/speech", "POST", 200, 0.07)
    metrics.record_request("/v1/audio/speech", "POST", 200, 0.3)
    metrics.record_synthesis(audio_s=2.0, total_s=0.5, first_chunk_s=0.04)
    depth = {"": 3}
    metrics.gauge("natiq_queue_depth", "Waiting.", lambda: depth)
    threads = [threading.Thread(target=metrics.record_busy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = metrics.render()
    assert 'natiq_requests_total{route="/v1/audio/speech",method="POST",status="200"} 2' in text
    assert 'natiq_request_duration_seconds_bucket{route="/v1/audio/speech",le="0.05"} 0' in text
    assert 'natiq_request_duration_seconds_bucket{route="/v1/audio/speech",le="0.1"} 1' in text
    assert 'natiq_request_duration_seconds_bucket{route="/v1/audio/speech",le="+Inf"} 2' in text
    assert (
        'natiq_synthesis_rtf_bucket{le="0.2"} 0' in text
        and 'natiq_synthesis_rtf_bucket{le="0.3"} 1' in text
    )
    assert "natiq_audio_seconds_total 2.000" in text
    assert "natiq_rejected_busy_total 4" in text
    assert "# TYPE natiq_queue_depth gauge\nnatiq_queue_depth 3" in text
