"""Audio out: streamed HTTP responses and the WebSocket protocol.

Both wait for the first chunk before answering, so that a bad voice or an
unspeakable text becomes a status code (or an error message on the socket)
rather than a stream that breaks after its headers.

WebSocket protocol (``/v1/stream``), any number of requests per connection:
client sends a text message ``{"text": ..., "voice": ...}``; server sends
``{"type": "start", "sample_rate": N, "format": "pcm_s16le"}``, binary PCM16
chunks as they are generated, then ``{"type": "end", "chunks": N, "timings":
{...}}``, or ``{"type": "error", "status": S, "detail": ...}`` instead. A
binary message from the client closes the socket with code 1003 (only text
is understood); a message over the size limit is closed by the server (1009).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator

import numpy as np
from fastapi import HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from natiq.backends.base import VoicePrompt
from natiq.common.errors import NatiqError
from natiq.serve import audio_formats, strict_json
from natiq.serve.engine import AudioStream
from natiq.serve.limits import ServerBusy
from natiq.serve.state import ServerState, error_status

UNSUPPORTED_DATA = 1003


async def start_stream(
    state: ServerState, text: str, voice: VoicePrompt | None
) -> tuple[AudioStream, np.ndarray | None]:
    """Plan (off the event loop), admit, start, and wait for the first chunk, so that
    errors become a status code, not a broken stream."""
    plan = await asyncio.to_thread(state.engine.plan, text)
    stream = state.engine.open_stream(plan, voice)
    try:
        first = await stream.__anext__()
    except StopAsyncIteration:
        first = None
    except BaseException:
        stream.close()
        raise
    return stream, first


def audio_response(
    state: ServerState, stream: AudioStream, first: np.ndarray | None, fmt: str
) -> StreamingResponse:
    rate = state.engine.sample_rate

    async def body() -> AsyncIterator[bytes]:
        try:
            if fmt in audio_formats.STREAMABLE:
                if fmt == "wav":
                    yield audio_formats.wav_header(rate)
                if first is not None:
                    yield audio_formats.pcm16(first)
                async for chunk in stream:
                    yield audio_formats.pcm16(chunk)
            else:
                parts = [] if first is None else [first]
                parts += [chunk async for chunk in stream]
                audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
                yield await asyncio.to_thread(audio_formats.encode, audio, rate, fmt)
        finally:
            stream.close()

    headers = {"X-Sample-Rate": str(rate)}
    if fmt == "wav":
        headers["Content-Disposition"] = 'inline; filename="speech.wav"'
    return StreamingResponse(body(), media_type=audio_formats.MEDIA_TYPES[fmt], headers=headers)


async def _ws_error(websocket: WebSocket, status: int, detail: str) -> None:
    await websocket.send_text(
        json.dumps({"type": "error", "status": status, "detail": detail}, ensure_ascii=False)
    )


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
            if not isinstance(text, str) or (
                voice_ref is not None and not isinstance(voice_ref, str)
            ):
                raise TypeError
        except (ValueError, KeyError, TypeError, AttributeError):
            status = 422
            await _ws_error(
                websocket, 422, 'send a JSON object {"text": "...", "voice": "<voice id or name>"}'
            )
            return
        try:
            state.check_text(text)
            voice = state.resolve_voice(voice_ref)
            stream, first = await start_stream(state, text, voice)
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
            await _ws_error(websocket, status, str(exc))
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
                await websocket.send_bytes(audio_formats.pcm16(chunk))
                chunks += 1
        except NatiqError as exc:
            status = error_status(exc)
            await _ws_error(websocket, status, str(exc))
            return
        finally:
            stream.close()
        timings = stream.timings.as_dict() if stream.timings else {}
        await websocket.send_text(json.dumps({"type": "end", "chunks": chunks, "timings": timings}))
    finally:
        with contextlib.suppress(Exception):
            state.metrics.record_request("/v1/stream", "WS", status, time.perf_counter() - start)
