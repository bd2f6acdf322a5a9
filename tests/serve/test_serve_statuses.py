"""Malformed requests get the right status, never a server error or a dropped
socket: non-finite numbers, deep nesting, binary WebSocket frames, line
separators inside batch strings, oversized uploads, ``HEAD /``."""

from __future__ import annotations

import json

import pytest

WS_URL = "ws://127.0.0.1:8000/v1/stream"
JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"input": "\xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7", "speed": NaN}',
        b'{"input": "x", "speed": Infinity}',
        b'{"input": "x", "speed": -Infinity}',
        b"[" * 100_000,
        b'{"input": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"input": "\\ud800"}',
    ],
    ids=["nan", "infinity", "minus-infinity", "deep-100000", "deep-5000", "lone-surrogate"],
)
def test_non_finite_numbers_and_deep_nesting_in_json_get_422(api, body):
    response = api.client.post("/v1/audio/speech", content=body, headers=JSON)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["type"] == "json_invalid" and error["msg"].startswith("JSON decode error: ")


def test_non_finite_numbers_and_deep_nesting_in_a_batch_get_422_naming_the_line(api):
    nan = api.client.post("/v1/batch", content=b'{"input": "x"}\n{"input": "x", "id": NaN}')
    assert nan.status_code == 422 and nan.json()["detail"].startswith("batch:2: invalid JSON")
    deep = api.client.post("/v1/batch", content=b"[" * 100_000)
    assert deep.status_code == 422
    assert "recursion limit exceeded" in deep.json()["detail"]


def test_a_json_string_holding_line_separators_stays_one_batch_item(api):
    line = json.dumps({"input": "مرحبا\u2028بكم\u0085", "voice": "espeak"}, ensure_ascii=False)
    submitted = api.client.post("/v1/batch", content=line.encode())
    assert submitted.status_code == 202 and submitted.json()["total"] == 1


def test_bad_websocket_messages_get_an_error_and_the_socket_stays_open(api, api_key):
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        for message in ('{"text": "x", "voice": NaN}', "[" * 100_000, '{"text": 1}', "nope"):
            socket.send_text(message)
            error = socket.receive_json()
            assert error["type"] == "error" and error["status"] == 422, message[:20]
        socket.send_text(json.dumps({"text": "مرحبا", "voice": api.voice_id}))
        assert socket.receive_json()["type"] == "start"


def test_a_binary_websocket_frame_gets_a_close_frame(api, api_key):
    with api.client.websocket_connect(
        WS_URL, subprotocols=["natiq", f"bearer.{api_key}"], headers={"Authorization": ""}
    ) as socket:
        socket.send_bytes(b"\x00\x01binary")
        closed = socket.receive()
    assert closed == {
        "type": "websocket.close",
        "code": 1003,
        "reason": "send JSON text messages, not binary",
    }


def test_an_upload_over_the_byte_limit_gets_413(api):
    oversized = b"\0" * (api.settings.max_upload_bytes + 1)
    tts = api.client.post(
        "/tts", data={"text": "مرحبا"}, files={"voice_wav": ("big.wav", oversized)}
    )
    assert tts.status_code == 413 and "limit of 1000000 bytes" in tts.json()["detail"]


def test_head_of_the_page_answers_200(api):
    head = api.client.head("/", headers={"Authorization": ""})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "text/html; charset=utf-8"
