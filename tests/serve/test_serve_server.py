"""End to end against a real ``natiq serve`` process with the tiny model:
real clients (openai, httpx, websockets) over loopback."""

from __future__ import annotations

import asyncio
import io
import json
import re
import time

import httpx
import numpy as np
import pytest
import soundfile as sf
import websockets

pytestmark = pytest.mark.slow

# pocket-tts speaks at least 6 frames (0.48 s); the server caps a sentence at --max-seconds 0.96
MIN_S, MAX_S = 6 * 0.08, 0.96


def seconds_of(content: bytes) -> float:
    audio, rate = sf.read(io.BytesIO(content))
    return audio.shape[0] / rate


def test_health_is_open_and_everything_else_needs_the_key(server, auth):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["auth"] is True and health["sample_rate"] == 24000
    assert httpx.get(server.url + "/").status_code == 200  # the page asks for the key itself
    for method, path in [
        ("GET", "/v1/voices"),
        ("GET", "/metrics"),
        ("POST", "/v1/audio/speech"),
        ("POST", "/v1/batch"),
    ]:
        response = httpx.request(method, server.url + path)
        assert response.status_code == 401, path
        assert "API key" in response.json()["detail"]
    wrong = httpx.get(server.url + "/v1/voices", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(server.url + "/v1/voices", headers=auth).status_code == 200


def test_openai_client_gets_a_valid_wav(server, voice_id, api_key):
    from openai import OpenAI

    client = OpenAI(base_url=server.url + "/v1", api_key=api_key, max_retries=0, timeout=120)
    response = client.audio.speech.create(
        model="natiq-tiny", voice=voice_id, input="السلام عليكم", response_format="wav"
    )
    audio, rate = sf.read(io.BytesIO(response.content), dtype="float32")
    assert rate == 24000
    assert audio.ndim == 1 and MIN_S <= audio.size / rate <= MAX_S
    assert np.isfinite(audio).all()
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice={"id": voice_id}, input="مرحبا", response_format="flac"
    ) as streamed:
        flac = b"".join(streamed.iter_bytes())
    assert sf.info(io.BytesIO(flac)).format == "FLAC"


def test_oversized_and_invalid_inputs_get_clear_413_and_422(server, auth, voice_id):
    long_text = httpx.post(
        server.url + "/v1/audio/speech",
        headers=auth,
        json={"model": "x", "input": "ب" * 301, "voice": voice_id},
    )
    assert long_text.status_code == 422
    assert long_text.json()["detail"] == "the text has 301 characters; this server's limit is 300"
    too_big = httpx.post(server.url + "/v1/batch", headers=auth, content=b"x" * 1_100_001)
    assert too_big.status_code == 413 and "1100000 bytes" in too_big.json()["detail"]
    unknown_voice = httpx.post(
        server.url + "/v1/audio/speech",
        headers=auth,
        json={"model": "x", "input": "مرحبا", "voice": "../../etc/passwd"},
    )
    assert unknown_voice.status_code == 422 and "unknown voice" in unknown_voice.json()["detail"]
    no_voice = httpx.post(
        server.url + "/v1/audio/speech", headers=auth, json={"model": "x", "input": "مرحبا"}
    )
    assert no_voice.status_code == 422 and "no default voice" in no_voice.json()["detail"]
    not_audio = httpx.post(
        server.url + "/v1/voices",
        headers=auth,
        files={"file": ("x.wav", b"RIFF...." * 100, "audio/wav")},
    )
    assert not_audio.status_code == 422 and "not readable audio" in not_audio.json()["detail"]
    speed = httpx.post(
        server.url + "/v1/audio/speech",
        headers=auth,
        json={"model": "x", "input": "مرحبا", "voice": voice_id, "speed": 1.5},
    )
    assert speed.status_code == 422 and "speed" in speed.json()["detail"]


def test_pocket_tts_form_api_takes_a_voice_id_or_an_upload(server, auth, voice_id, voice_clip):
    by_id = httpx.post(
        server.url + "/tts",
        headers=auth,
        data={"text": "مرحبا", "voice_url": voice_id},
        timeout=120,
    )
    assert by_id.status_code == 200 and by_id.headers["content-type"] == "audio/wav"
    assert MIN_S <= seconds_of(by_id.content) <= MAX_S
    with open(voice_clip, "rb") as handle:
        upload = httpx.post(
            server.url + "/tts",
            headers=auth,
            data={"text": "مرحبا"},
            files={"voice_wav": ("ref.wav", handle, "audio/wav")},
            timeout=120,
        )
    assert upload.status_code == 200 and MIN_S <= seconds_of(upload.content) <= MAX_S
    url = httpx.post(
        server.url + "/tts",
        headers=auth,
        data={"text": "مرحبا", "voice_url": "https://example.com/v.wav"},
    )
    assert url.status_code == 422 and "unknown voice" in url.json()["detail"]


def test_websocket_streams_several_chunks_then_timings(server, voice_id, api_key):
    async def talk() -> tuple[list[bytes], dict, dict]:
        async with websockets.connect(
            server.url.replace("http", "ws") + "/v1/stream",
            subprotocols=["natiq", f"bearer.{api_key}"],
        ) as socket:
            await socket.send(json.dumps({"text": "السلام عليكم. كيف حالك؟", "voice": voice_id}))
            start = json.loads(await socket.recv())
            chunks: list[bytes] = []
            while True:
                message = await socket.recv()
                if isinstance(message, bytes):
                    chunks.append(message)
                    continue
                end = json.loads(message)
                break
            await socket.send(json.dumps({"text": "", "voice": voice_id}))
            error = json.loads(await socket.recv())
            return chunks, {"start": start, "end": end}, error

    chunks, messages, error = asyncio.run(talk())
    assert messages["start"] == {"type": "start", "sample_rate": 24000, "format": "pcm_s16le"}
    assert len(chunks) > 1
    end = messages["end"]
    assert end["type"] == "end" and end["chunks"] == len(chunks)
    samples = sum(len(chunk) for chunk in chunks) // 2
    assert end["timings"]["audio_s"] == pytest.approx(samples / 24000, abs=1e-3)
    assert 0 < end["timings"]["first_chunk_s"] <= end["timings"]["total_s"]
    assert error["type"] == "error" and error["status"] == 422


def test_websocket_without_the_key_is_refused(server):
    async def connect() -> None:
        async with websockets.connect(server.url.replace("http", "ws") + "/v1/stream"):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(connect())
    assert refused.value.response.status_code == 403


def test_a_full_queue_answers_429_at_once_not_a_timeout(server, auth, voice_id):
    # the server runs 1 synthesis and queues 4: of 8 simultaneous requests 3 must be refused
    async def burst() -> list[int]:
        body = {"model": "x", "input": "السلام عليكم", "voice": voice_id, "response_format": "pcm"}
        async with httpx.AsyncClient(headers=auth, timeout=120) as client:
            responses = await asyncio.gather(
                *(client.post(server.url + "/v1/audio/speech", json=body) for _ in range(8))
            )
        for response in responses:
            if response.status_code == 429:
                assert response.headers["retry-after"] == "1"
                assert "busy" in response.json()["detail"]
        return [response.status_code for response in responses]

    statuses = asyncio.run(burst())
    assert sorted(set(statuses)) == [200, 429]
    assert statuses.count(200) >= 5


def test_voices_can_be_listed_and_deleted(server, auth, voice_clip):
    with open(voice_clip, "rb") as handle:
        created = httpx.post(
            server.url + "/v1/voices", headers=auth, files={"file": ("a.wav", handle)}
        ).json()
    listed = httpx.get(server.url + "/v1/voices", headers=auth).json()
    assert created["id"] in [voice["id"] for voice in listed["voices"]]
    assert listed["default_voice"] is False
    assert httpx.delete(server.url + f"/v1/voices/{created['id']}", headers=auth).status_code == 204
    assert httpx.delete(server.url + f"/v1/voices/{created['id']}", headers=auth).status_code == 404


def test_metrics_report_requests_rtf_and_queue(server, auth, voice_id):
    assert httpx.get(server.url + "/v1/voices").status_code == 401  # counted under its route
    speech = {"model": "x", "input": "مرحبا", "voice": voice_id, "response_format": "pcm"}
    assert (
        httpx.post(
            server.url + "/v1/audio/speech", headers=auth, json=speech, timeout=120
        ).status_code
        == 200
    )
    text = httpx.get(server.url + "/metrics", headers=auth).text
    assert "# TYPE natiq_requests_total counter" in text
    assert 'route="/v1/voices",method="GET",status="401"' in text
    rtf_count = re.search(r"^natiq_synthesis_rtf_count (\d+)$", text, re.MULTILINE)
    assert rtf_count and int(rtf_count.group(1)) >= 1
    assert re.search(
        r'^natiq_request_duration_seconds_count\{route="/v1/audio/speech"\} [1-9]',
        text,
        re.MULTILINE,
    )
    assert "natiq_queue_depth 0" in text
    assert 'natiq_batch_jobs{status="completed"}' in text


def test_batch_job_survives_a_server_restart(server, auth, voice_id):
    lines = [
        json.dumps({"input": f"الجملة رقم {i}", "voice": voice_id, "id": f"s{i}"}) for i in range(4)
    ]
    lines.append(json.dumps({"input": "مرحبا", "voice": "missing-voice"}))
    submitted = httpx.post(
        server.url + "/v1/batch", headers=auth, content="\n".join(lines).encode()
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    before = httpx.get(server.url + f"/v1/batch/{job_id}", headers=auth).json()
    server.stop(kill=True)  # a crash, not a clean shutdown
    log_before = len(server.log_path.read_text(errors="replace"))
    server.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = httpx.get(server.url + f"/v1/batch/{job_id}", headers=auth).json()
        if status["status"] == "completed":
            break
        time.sleep(0.2)
    assert status["status"] == "completed", status
    if (
        before["completed"] + before["failed"] <= before["total"] - 2
    ):  # surely unfinished at the kill
        restarted_log = server.log_path.read_text(errors="replace")[log_before:]
        assert f"resuming 1 unfinished batch job(s): {job_id}" in restarted_log
    assert (status["total"], status["completed"], status["failed"]) == (5, 4, 1)
    assert "unknown voice" in status["results"][4]["error"]
    first = httpx.get(server.url + status["results"][0]["url"], headers=auth)
    assert first.status_code == 200 and MIN_S <= seconds_of(first.content) <= MAX_S
    assert httpx.get(server.url + f"/v1/batch/{job_id}/results/4", headers=auth).status_code == 404
    assert httpx.get(server.url + "/v1/batch/job_0000000000000000", headers=auth).status_code == 404
