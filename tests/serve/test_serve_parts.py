"""The server's parts that need no model: audio formats, admission, body limit,
settings and metrics."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import soundfile as sf
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from natiq.common.errors import NatiqError
from natiq.serve import audio_formats
from natiq.serve.limits import AdmissionGate, BodySizeLimitMiddleware, ServerBusy
from natiq.serve.metrics import Metrics
from natiq.serve.settings import ServeSettings


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


def test_pcm_is_raw_little_endian_int16_and_clipped():
    raw = audio_formats.encode(np.array([0.0, 0.5, 2.0, -2.0], dtype=np.float32), 24000, "pcm")
    assert np.frombuffer(raw, "<i2").tolist() == [0, 16384, 32767, -32767]


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


def _echo_app(max_body: int = 100) -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        return {"size": len(await request.body())}

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body)
    return TestClient(app)


def test_body_limit_answers_413_for_declared_and_streamed_bodies():
    client = _echo_app()
    assert client.post("/echo", content=b"x" * 100).json() == {"size": 100}
    response = client.post("/echo", content=b"x" * 101)
    assert response.status_code == 413 and "limit of 100 bytes" in response.json()["detail"]
    streamed = client.post("/echo", content=iter([b"x" * 60, b"x" * 60]))
    assert streamed.status_code == 413


def test_settings_read_the_key_file_and_reject_bad_ones(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("  abcdefgh12\n")
    assert ServeSettings(api_key_file=key_file).read_api_key() == "abcdefgh12"
    key_file.write_text("short")
    with pytest.raises(NatiqError, match="at least 8 characters"):
        ServeSettings(api_key_file=key_file).read_api_key()
    key_file.write_bytes(b"\xff\xfe not utf-8 at all")
    with pytest.raises(NatiqError, match="not UTF-8"):
        ServeSettings(api_key_file=key_file).read_api_key()
    with pytest.raises(NatiqError, match="cannot read the API key file"):
        ServeSettings(api_key_file=tmp_path / "missing").read_api_key()
    with pytest.raises(NatiqError, match="max-concurrency"):
        ServeSettings(max_concurrency=0)
    with pytest.raises(NatiqError, match="max-model-chars"):
        ServeSettings(max_text_chars=500, max_model_chars=400)


# ----- metrics
def test_metrics_render_prometheus_text_with_cumulative_buckets():
    metrics = Metrics()
    metrics.record_request("/v1/audio/speech", "POST", 200, 0.07)
    metrics.record_request("/v1/audio/speech", "POST", 200, 0.3)
    metrics.record_synthesis(audio_s=2.0, total_s=0.5, first_chunk_s=0.04)
    depth = [3]
    metrics.gauge("natiq_queue_depth", "Waiting.", lambda: depth[0])
    metrics.labelled_gauge(
        "natiq_batch_jobs", "Jobs.", "status", lambda: {"queued": 2, "failed": 1}
    )
    threads = [threading.Thread(target=metrics.record_busy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    depth[0] = 5  # read at scrape time
    text = metrics.render().decode()
    assert 'natiq_requests_total{method="POST",route="/v1/audio/speech",status="200"} 2.0' in text
    assert 'natiq_request_duration_seconds_bucket{le="0.05",route="/v1/audio/speech"} 0.0' in text
    assert 'natiq_request_duration_seconds_bucket{le="0.1",route="/v1/audio/speech"} 1.0' in text
    assert 'natiq_request_duration_seconds_bucket{le="+Inf",route="/v1/audio/speech"} 2.0' in text
    assert 'natiq_synthesis_rtf_bucket{le="0.2"} 0.0' in text
    assert 'natiq_synthesis_rtf_bucket{le="0.3"} 1.0' in text
    assert "natiq_audio_seconds_total 2.0" in text
    assert "natiq_rejected_busy_total 4.0" in text
    assert "# TYPE natiq_queue_depth gauge\nnatiq_queue_depth 5.0" in text
    assert 'natiq_batch_jobs{status="failed"} 1.0\nnatiq_batch_jobs{status="queued"} 2.0' in text
    assert Metrics().render().count(b"natiq_rejected_busy_total 0.0") == 1  # its own registry
