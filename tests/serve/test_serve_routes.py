"""Every route in process (FastAPI's TestClient over ``create_app``) with the
tiny model: real synthesis, real clients (openai, httpx), real WebSockets."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
import soundfile as sf

SPEECH = "/v1/audio/speech"
# pocket-tts speaks at least 6 frames (0.48 s); the test apps cap a piece at --max-seconds 0.96
MIN_S, MAX_S = 6 * 0.08, 0.96
WS_URL = "ws://127.0.0.1:8000/v1/stream"  # TestClient names a relative socket URL "testserver"


def seconds_of(content: bytes) -> float:
    audio, rate = sf.read(io.BytesIO(content))
    return audio.shape[0] / rate


def speech_body(voice: str, text: str = "مرحبا", fmt: str = "pcm") -> dict:
    return {"model": "x", "input": text, "voice": voice, "response_format": fmt}


def test_health_is_open_and_everything_else_needs_the_key(api):
    health = api.client.get("/health", headers={"Authorization": ""}).json()
    assert health["status"] == "ok" and health["auth"] is True and health["sample_rate"] == 24000
    assert health["batch"]["last_error"] is None
    assert health["batch"]["worker"] in ("idle", "running")  # other tests' jobs may be running
    assert api.client.get("/", headers={"Authorization": ""}).status_code == 200
    for method, path in [
        ("GET", "/v1/voices"),
        ("GET", "/metrics"),
        ("POST", SPEECH),
        ("POST", "/v1/batch"),
        ("DELETE", "/v1/batch/job_0000000000000000"),
    ]:
        response = api.client.request(method, path, headers={"Authorization": ""})
        assert response.status_code == 401, path
        assert "API key" in response.json()["detail"]
    wrong = api.client.get("/v1/voices", headers={"Authorization": "Bearer nope-nope"})
    assert wrong.status_code == 401
    assert api.client.get("/v1/voices").status_code == 200


def test_openai_client_gets_a_valid_wav(api, api_key):
    from openai import OpenAI

    client = OpenAI(
        base_url=api.client.base_url.join("/v1"),
        api_key=api_key,
        http_client=api.client,
        max_retries=0,
    )
    response = client.audio.speech.create(
        model="natiq-tiny", voice=api.voice_id, input="السلام عليكم", response_format="wav"
    )
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == 24000
    assert MIN_S <= audio.size / rate <= MAX_S and np.isfinite(audio).all()
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice={"id": api.voice_id}, input="مرحبا", response_format="flac"
    ) as streamed:
        flac = b"".join(streamed.iter_bytes())
    assert sf.info(io.BytesIO(flac)).format == "FLAC"


def test_invalid_inputs_get_clear_422(api):
    client = api.client
    long_text = client.post(SPEECH, json=speech_body(api.voice_id, "ب" * 301))
    assert long_text.status_code == 422
    assert long_text.json()["detail"] == "the text has 301 characters; this server's limit is 300"
    unknown = client.post(SPEECH, json=speech_body("../../etc/passwd"))
    assert unknown.status_code == 422 and "unknown voice" in unknown.json()["detail"]
    no_voice = client.post(SPEECH, json={"model": "x", "input": "مرحبا"})
    assert no_voice.status_code == 422 and "no default voice" in no_voice.json()["detail"]
    speed = client.post(SPEECH, json={**speech_body(api.voice_id), "speed": 4.5})
    assert speed.status_code == 422 and speed.json()["detail"][0]["loc"] == ["body", "speed"]
    nothing = client.post(SPEECH, json=speech_body(api.voice_id, "!!! ???"))
    assert nothing.status_code == 422 and "nothing speakable" in nothing.json()["detail"]


def test_pocket_tts_form_api_takes_a_voice_id_or_an_upload(api, clip_bytes):
    by_id = api.client.post("/tts", data={"text": "مرحبا", "voice_url": api.voice_id})
    assert by_id.status_code == 200 and by_id.headers["content-type"] == "audio/wav"
    assert MIN_S <= seconds_of(by_id.content) <= MAX_S
    upload = api.client.post(
        "/tts", data={"text": "مرحبا"}, files={"voice_wav": ("ref.wav", clip_bytes, "audio/wav")}
    )
    assert upload.status_code == 200 and MIN_S <= seconds_of(upload.content) <= MAX_S
    assert list(api.state.tmp_dir.iterdir()) == []  # the one-off upload is gone
    url = api.client.post("/tts", data={"text": "مرحبا", "voice_url": "https://example.com/v.wav"})
    assert url.status_code == 422 and "unknown voice" in url.json()["detail"]


def test_websocket_streams_several_chunks_then_timings(api, api_key):
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        assert socket.accepted_subprotocol == "natiq"
        socket.send_text(json.dumps({"text": "السلام عليكم. كيف حالك؟", "voice": api.voice_id}))
        start = socket.receive_json()
        chunks = []
        while True:
            message = socket.receive()
            if message.get("bytes") is not None:
                chunks.append(message["bytes"])
                continue
            end = json.loads(message["text"])
            break
        socket.send_text(json.dumps({"text": "", "voice": api.voice_id}))
        error = socket.receive_json()
    assert start == {"type": "start", "sample_rate": 24000, "format": "pcm_s16le"}
    assert len(chunks) > 1
    assert end["type"] == "end" and end["chunks"] == len(chunks)
    samples = sum(len(chunk) for chunk in chunks) // 2
    assert end["timings"]["audio_s"] == pytest.approx(samples / 24000, abs=1e-3)
    assert 0 < end["timings"]["first_chunk_s"] <= end["timings"]["total_s"]
    assert error == {
        "type": "error",
        "status": 422,
        "detail": "the text is empty; give some Arabic text to speak",
    }


def test_websocket_without_the_key_is_refused(api):
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.client.websocket_connect(WS_URL, headers={"Authorization": ""}),
    ):
        pass
    assert refused.value.code == 1008


def test_a_full_queue_answers_429_at_once(api):
    gate = api.state.engine.gate
    for _ in range(gate.capacity):  # every running and queued place taken
        gate.admit()
    try:
        started = time.perf_counter()
        busy = api.client.post(SPEECH, json=speech_body(api.voice_id))
        assert time.perf_counter() - started < 5  # refused, not queued
    finally:
        for _ in range(gate.capacity):
            gate.finished(started=False)
    assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
    assert "busy" in busy.json()["detail"]
    assert api.client.post(SPEECH, json=speech_body(api.voice_id)).status_code == 200


def test_voices_can_be_listed_and_deleted(api, clip_bytes):
    created = api.client.post("/v1/voices", files={"file": ("a.wav", clip_bytes)}).json()
    listed = api.client.get("/v1/voices").json()
    assert created["id"] in [voice["id"] for voice in listed["voices"]]
    assert listed["default_voice"] is False
    assert api.client.delete(f"/v1/voices/{created['id']}").status_code == 204
    assert api.client.delete(f"/v1/voices/{created['id']}").status_code == 404


def test_metrics_report_requests_rtf_and_queue(api):
    assert api.client.get("/v1/voices", headers={"Authorization": ""}).status_code == 401
    assert api.client.post(SPEECH, json=speech_body(api.voice_id)).status_code == 200
    text = api.client.get("/metrics").text
    assert "# TYPE natiq_requests_total counter" in text
    assert 'natiq_requests_total{method="GET",route="/v1/voices",status="401"}' in text
    rtf = [line for line in text.splitlines() if line.startswith("natiq_synthesis_rtf_count ")]
    assert rtf and float(rtf[0].split()[1]) >= 1
    assert 'natiq_request_duration_seconds_count{route="/v1/audio/speech"}' in text
    assert "natiq_queue_depth 0.0" in text
    assert 'natiq_batch_jobs{status="queued"}' in text
    assert "natiq_batch_worker_healthy 1.0" in text


def wait_for_job(client, job_id: str, seconds: float = 60.0) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(f"/v1/batch/{job_id}").json()
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job not finished: {status}")


def test_batch_job_runs_every_item_and_serves_the_results(api):
    lines = [
        json.dumps({"input": f"الجملة رقم {i}", "voice": "espeak", "id": f"s{i}"}) for i in range(2)
    ]
    lines.append(json.dumps({"input": "مرحبا", "voice": "missing-voice"}))
    submitted = api.client.post("/v1/batch", content="\n".join(lines).encode())
    assert submitted.status_code == 202, submitted.text
    status = wait_for_job(api.client, submitted.json()["id"])
    assert (status["total"], status["completed"], status["failed"]) == (3, 2, 1)
    assert [r["id"] for r in status["results"]] == ["s0", "s1", None]
    assert "unknown voice" in status["results"][2]["error"]
    first = api.client.get(status["results"][0]["url"])
    assert first.status_code == 200 and MIN_S <= seconds_of(first.content) <= MAX_S
    job_id = status["id"]
    assert api.client.get(f"/v1/batch/{job_id}/results/2").status_code == 404
    assert api.client.get("/v1/batch/job_0000000000000000").status_code == 404
