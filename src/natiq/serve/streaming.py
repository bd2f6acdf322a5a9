"""Audio out: streamed HTTP responses and the WebSocket protocol.

Both wait for the first chunk before answering, so that a bad voice or an
unspeakable text becomes a status code (or an error message on the socket)
rather than a stream that breaks after its headers.

HTTP audio (``audio_response``): every format is encoded while the model
speaks (``audio_formats.Encoder``), on a thread for the compressed ones.
``stream_format: "sse"`` sends the same bytes as OpenAI's server-sent events:
``data: {"type": "speech.audio.delta", "audio": "<base64>"}`` per piece, then
``data: {"type": "speech.audio.done", "usage": {...}}``; decoded and joined,
the deltas are the file ``stream_format: "audio"`` would have sent.

WebSocket protocol (``/v1/stream``), any number of requests per connection:
client sends a text message ``{"text": ..., "voice": ..., "speed": 1.0,
"timings": false}`` (only ``text`` is required); server sends ``{"type":
"start", "sample_rate": N, "format": "pcm_s16le"}``, binary PCM16 chunks as
they are generated, with ``timings`` a ``{"type": "word", "text", "start",
"end"}`` message per word after the audio of its sentence, then ``{"type":
"end", "chunks": N, "timings": {...}}``, or ``{"type": "error", "status": S,
"detail": ...}`` instead (with ``"code": "timings_unavailable"`` when the word
timing model cannot load: the same request without timings still works). A
binary message from the client closes the socket with code 1003 (only text is
understood); a message over the size limit is closed by the server (1009).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from fastapi import HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from natiq.backends.base import VoicePrompt
from natiq.common.errors import NatiqError, TimingsUnavailableError
from natiq.data.tempo import require_stretch
from natiq.serve import audio_formats, strict_json
from natiq.serve.engine import AudioStream
from natiq.serve.limits import ServerBusy
from natiq.serve.state import ServerState, error_status

UNSUPPORTED_DATA = 1003


async def start_stream(
    state: ServerState,
    text: str,
    voice: VoicePrompt | None,
    *,
    speed: float = 1.0,
    timings: bool = False,
) -> tuple[AudioStream, np.ndarray | None]:
    """Plan (off the event loop), admit, start, and wait for the first chunk, so that
    errors become a status code, not a broken stream."""
    require_stretch(speed)  # a speed this server cannot make is a 422, before any work
    plan = await asyncio.to_thread(state.engine.plan, text)
    stream = state.engine.open_stream(plan, voice, speed=speed, timings=timings)
    try:
        first = await stream.__anext__()
    except StopAsyncIteration:
        first = None
    except BaseException:
        stream.close()
        raise
    return stream, first


async def encoded(
    state: ServerState, stream: AudioStream, first: np.ndarray | None, fmt: str
) -> AsyncIterator[bytes]:
    """The bytes of one ``fmt`` file as the chunks arrive; the stream is closed at the end."""
    encoder = audio_formats.Encoder(fmt, state.engine.sample_rate)
    cheap = fmt in ("wav", "pcm")  # PCM conversion is quick enough for the event loop

    async def add(chunk: np.ndarray) -> bytes:
        return encoder.add(chunk) if cheap else await asyncio.to_thread(encoder.add, chunk)

    try:
        if first is not None and (data := await add(first)):
            yield data
        async for chunk in stream:
            if data := await add(chunk):
                yield data
        if data := (encoder.finish() if cheap else await asyncio.to_thread(encoder.finish)):
            yield data
    finally:
        stream.close()


def audio_response(
    state: ServerState, stream: AudioStream, first: np.ndarray | None, fmt: str
) -> StreamingResponse:
    headers = {"X-Sample-Rate": str(state.engine.sample_rate)}
    if fmt == "wav":
        headers["Content-Disposition"] = 'inline; filename="speech.wav"'
    return StreamingResponse(
        encoded(state, stream, first, fmt),
        media_type=audio_formats.MEDIA_TYPES[fmt],
        headers=headers,
    )


def sse_response(
    state: ServerState,
    stream: AudioStream,
    first: np.ndarray | None,
    fmt: str,
    input_tokens: int,
) -> StreamingResponse:
    """OpenAI's ``stream_format: "sse"``. ``usage`` counts the input's characters
    (``input_tokens``) and the 80 ms frames of audio made (``output_tokens``)."""

    async def events() -> AsyncIterator[str]:
        async for data in encoded(state, stream, first, fmt):
            delta = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()}
            yield f"data: {json.dumps(delta)}\n\n"
        audio_s = stream.timings.audio_s if stream.timings else 0.0
        output_tokens = math.ceil(audio_s / 0.08)
        usage = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        yield f"data: {json.dumps({'type': 'speech.audio.done', 'usage': usage})}\n\n"

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Sample-Rate": str(state.engine.sample_rate)},
    )


async def _send_words(websocket: WebSocket, stream: AudioStream) -> None:
    for word in stream.take_words():
        await websocket.send_text(json.dumps(word, ensure_ascii=False))


async def _ws_error(
    websocket: WebSocket, status: int, detail: str, code: str | None = None
) -> None:
    event: dict[str, Any] = {"type": "error", "status": status, "detail": detail}
    if code is not None:  # what a client can act on without reading the text
        event["code"] = code
    await websocket.send_text(json.dumps(event, ensure_ascii=False))


def _error_code(exc: NatiqError) -> str | None:
    return "timings_unavailable" if isinstance(exc, TimingsUnavailableError) else None


async def serve_ws(state: ServerState, websocket: WebSocket) -> None:
    """The whole connection: accept, then answer one request per text message."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol="natiq" if "natiq" in offered else None)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await websocket.close(
                    code=UNSUPPORTED_DATA, reason="send JSON text messages, not binary"
                )
                return
            await serve_ws_request(state, websocket, message["text"])
    except (WebSocketDisconnect, OSError):  # the client went away (mid-answer, too)
        return


async def serve_ws_request(state: ServerState, websocket: WebSocket, message: str) -> None:
    """One request on the socket: JSON in; a start message, binary PCM16 chunks, an end message out."""
    start = time.perf_counter()
    status = 200
    try:
        try:
            request = strict_json.loads(message)
            text = request["text"]
            voice_ref = request.get("voice")
            speed = request.get("speed", 1.0)
            timed = request.get("timings", False)
            if (
                not isinstance(text, str)
                or (voice_ref is not None and not isinstance(voice_ref, str))
                or isinstance(speed, bool)
                or not isinstance(speed, int | float)
                or not isinstance(timed, bool)
            ):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            status = 422
            await _ws_error(
                websocket,
                422,
                'send a JSON object {"text": "...", "voice": "<voice id or name>", '
                '"speed": 0.25-4.0, "timings": true|false} (only "text" is required)',
            )
            return
        try:
            state.check_text(text)
            voice = state.resolve_voice(voice_ref)
            stream, first = await start_stream(state, text, voice, speed=speed, timings=timed)
        except HTTPException as exc:
            status = exc.status_code
            await _ws_error(websocket, status, str(exc.detail))
            return
        except ServerBusy as exc:
            status = 429
            state.metrics.record_busy()
            await _ws_error(websocket, 429, str(exc))
            return
        except NatiqError as exc:
            status = error_status(exc)
            await _ws_error(websocket, status, str(exc), _error_code(exc))
            return
        chunks = 0
        try:
            await websocket.send_text(
                json.dumps(
                    {
                        "type": "start",
                        "sample_rate": state.engine.sample_rate,
                        "format": "pcm_s16le",
                    }
                )
            )
            if first is not None:
                await websocket.send_bytes(audio_formats.pcm16(first))
                chunks += 1
            async for chunk in stream:
                await _send_words(websocket, stream)  # words of the sentences already sent
                await websocket.send_bytes(audio_formats.pcm16(chunk))
                chunks += 1
            await _send_words(websocket, stream)
        except NatiqError as exc:
            status = error_status(exc)
            await _ws_error(websocket, status, str(exc), _error_code(exc))
            return
        finally:
            stream.close()
        timings = stream.timings.as_dict() if stream.timings else {}
        await websocket.send_text(json.dumps({"type": "end", "chunks": chunks, "timings": timings}))
    finally:
        with contextlib.suppress(Exception):
            state.metrics.record_request("/v1/stream", "WS", status, time.perf_counter() - start)
