"""Speed, every OpenAI format, SSE and word timings through the server's routes.

The tiny test model always says "مرحبا بكم" in the same number of samples
(the test apps cap a piece at 0.96 s and it reaches the cap), so a speed's
effect is an exact sample count: Rubber Band returns ``round(n / speed)``.
Opus, AAC and the SSE stream are fetched with the official ``openai`` client
and decoded by ffmpeg (PyAV) and by the client's own SSE decoder.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from test_serve_routes import SPEECH, WS_URL, wait_for_job

from natiq.data.tempo import stretch_available
from support.alignment import shared_aligner
from support.audio import decode

TEXT = "مرحبا بكم"
needs_rubberband = pytest.mark.skipif(
    not stretch_available(), reason="the Rubber Band tool is not installed (rubberband-cli)"
)


@pytest.fixture(scope="module")
def timed_api(api, tmp_path_factory):
    """The shared app, with the session's word aligner instead of loading its own."""
    api.state.aligner = shared_aligner(tmp_path_factory)
    return api


@pytest.fixture(scope="module")
def openai_client(api, api_key):
    from openai import OpenAI

    return OpenAI(
        base_url=api.client.base_url.join("/v1"),
        api_key=api_key,
        http_client=api.client,
        max_retries=0,
    )


def pcm_samples(api, **extra) -> int:
    body = {"model": "x", "input": TEXT, "voice": api.voice_id, "response_format": "pcm", **extra}
    response = api.client.post(SPEECH, json=body)
    assert response.status_code == 200, response.text
    return len(response.content) // 2


@needs_rubberband
def test_speed_changes_the_length_by_its_factor(api) -> None:
    normal = pcm_samples(api)
    assert normal > 12_000  # the model spoke for more than half a second
    assert pcm_samples(api, speed=2.0) == round(normal / 2.0)
    assert pcm_samples(api, speed=0.5) == round(normal / 0.5)


@pytest.mark.parametrize(("fmt", "rate"), [("opus", 48000), ("aac", 24000), ("mp3", 24000)])
def test_the_openai_client_gets_compressed_formats_it_can_decode(
    api, openai_client, fmt: str, rate: int
) -> None:
    normal_s = pcm_samples(api) / 24000
    response = openai_client.audio.speech.create(
        model="tts-1", voice=api.voice_id, input=TEXT, response_format=fmt
    )
    assert response.response.headers["content-type"].startswith(
        {"opus": "audio/ogg", "aac": "audio/aac", "mp3": "audio/mpeg"}[fmt]
    )
    # the container its type names: an Ogg page of Opus, an ADTS frame, an MPEG layer III frame
    data = response.content
    if fmt == "opus":
        assert data[:4] == b"OggS" and b"OpusHead" in data[:64]
    elif fmt == "aac":
        assert data[0] == 0xFF and data[1] & 0xF6 == 0xF0  # sync, layer 0
    else:
        if (
            data[:3] == b"ID3"
        ):  # an ID3v2 tag first: skip it (its size is "syncsafe", 7 bits a byte)
            data = data[10 + sum(byte << (7 * (3 - k)) for k, byte in enumerate(data[6:10])) :]
        assert data[0] == 0xFF and data[1] & 0xE6 == 0xE2  # sync, layer III
    audio, decoded_rate = decode(response.content)
    assert decoded_rate == rate
    assert normal_s <= audio.size / rate <= normal_s + 0.15  # codec priming/padding only
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.01


def test_the_openai_client_decodes_an_sse_stream(api, openai_client) -> None:
    from openai._streaming import SSEDecoder

    normal = pcm_samples(api)
    with openai_client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice=api.voice_id, input=TEXT, response_format="pcm",
        stream_format="sse",
    ) as streamed:  # fmt: skip
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = [event.json() for event in SSEDecoder().iter_bytes(streamed.iter_bytes())]
    deltas = [event for event in events if event["type"] == "speech.audio.delta"]
    assert len(deltas) > 1  # several pieces while it is generated
    assert [event["type"] for event in events[len(deltas) :]] == ["speech.audio.done"]
    pcm = b"".join(base64.b64decode(event["audio"]) for event in deltas)
    assert len(pcm) // 2 == normal
    usage = events[-1]["usage"]
    assert usage["input_tokens"] == len(TEXT)
    assert usage["output_tokens"] == round(normal / 24000 / 0.08 + 0.4999)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_an_sse_stream_of_a_file_format_joins_into_that_file(api) -> None:
    response = api.client.post(
        SPEECH,
        json={
            "input": TEXT,
            "voice": api.voice_id,
            "response_format": "opus",
            "stream_format": "sse",
        },
    )
    lines = [line for line in response.text.split("\n\n") if line]
    events = [json.loads(line.removeprefix("data: ")) for line in lines]
    ogg = b"".join(
        base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta"
    )
    audio, rate = decode(ogg)
    assert rate == 48000 and audio.size > 0.5 * rate


@needs_rubberband
def test_the_websocket_sends_word_events_after_their_audio(timed_api, api_key) -> None:
    api = timed_api
    text = "ذهب الطالب إلى المكتبة. ثم عاد!"
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        socket.send_text(
            json.dumps({"text": text, "voice": api.voice_id, "speed": 1.5, "timings": True})
        )
        assert socket.receive_json()["type"] == "start"
        received, samples = [], 0
        while True:
            message = socket.receive()
            if message.get("bytes") is not None:
                samples += len(message["bytes"]) // 2
                received.append(("audio", samples))
                continue
            event = json.loads(message["text"])
            if event["type"] == "end":
                break
            received.append(("word", event))
        socket.send_text(json.dumps({"text": text, "speed": "fast"}))
        bad = socket.receive_json()
    words = [event for kind, event in received if kind == "word"]
    assert [w["text"] for w in words] == ["ذهب", "الطالب", "إلى", "المكتبة", "ثم", "عاد"]
    assert {w["type"] for w in words} == {"word"}
    times = [t for w in words for t in (w["start"], w["end"])]
    assert times == sorted(times) and times[-1] <= samples / 24000
    # the first sentence's words come while the second sentence's audio is still to come
    kinds = [kind for kind, _ in received]
    assert "audio" in kinds[kinds.index("word") :]
    # each word comes after audio that reaches its end: a player can highlight it in time
    heard = 0
    for kind, value in received:
        if kind == "audio":
            heard = value
        else:
            assert value["end"] <= heard / 24000 + 1e-3
    assert event["timings"]["audio_s"] == pytest.approx(samples / 24000, abs=1e-3)
    assert bad["status"] == 422 and '"speed"' in bad["detail"]


@needs_rubberband
def test_a_batch_item_gets_its_speed_and_its_words(timed_api) -> None:
    api = timed_api
    normal = pcm_samples(api)
    lines = [
        json.dumps({"input": TEXT, "voice": "espeak", "speed": 2, "timings": True}),
        json.dumps({"input": TEXT, "voice": "espeak", "response_format": "aac"}),
    ]
    submitted = api.client.post("/v1/batch", content="\n".join(lines).encode())
    assert submitted.status_code == 202, submitted.text
    status = wait_for_job(api.client, submitted.json()["id"])
    first, second = status["results"]
    assert first["status"] == "ok" and second["status"] == "ok"
    assert first["duration"] == round(round(normal / 2) / 24000, 3)
    assert [w["text"] for w in first["words"]] == ["مرحبا", "بكم"]
    assert 0 <= first["words"][0]["start"] <= first["words"][1]["end"] <= first["duration"]
    assert "words" not in second
    aac, rate = decode(api.client.get(second["url"]).content)
    assert rate == 24000 and aac.size >= normal
    refused = api.client.post("/v1/batch", content=b'{"input": "a", "speed": 9}')
    assert refused.status_code == 422 and "speed" in refused.text


def _ws_request(socket, body: dict) -> tuple[int, dict]:
    """Send one request; (PCM samples received, the closing event)."""
    socket.send_text(json.dumps(body))
    samples = 0
    while True:
        message = socket.receive()
        if message.get("bytes") is not None:
            samples += len(message["bytes"]) // 2
            continue
        event = json.loads(message["text"])
        if event["type"] in ("end", "error"):
            return samples, event


def test_a_timing_model_that_cannot_load_refuses_timings_not_speech(
    make_api, api_key, tmp_path
) -> None:
    missing = tmp_path / "no-whisper-here"
    api = make_api(timings_model=str(missing))
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        _, refused = _ws_request(socket, {"text": TEXT, "voice": api.voice_id, "timings": True})
        loads = api.state._aligner_error
        _, again = _ws_request(socket, {"text": TEXT, "voice": api.voice_id, "timings": True})
        samples, end = _ws_request(socket, {"text": TEXT, "voice": api.voice_id})
    # a code the page acts on (it asks again without timings), and a reason that names the model
    assert refused["status"] == 503 and refused["code"] == "timings_unavailable"
    assert str(missing) in refused["detail"] and "without timings" in refused["detail"]
    # the failure is remembered: the second request gets the same answer without a new load
    assert again == refused and api.state._aligner_error is loads and api.state.aligner is None
    # the same connection still speaks when timings are not asked for
    assert end["type"] == "end" and samples == round(end["timings"]["audio_s"] * 24000)
    assert samples > 12_000
