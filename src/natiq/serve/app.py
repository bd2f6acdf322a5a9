"""The FastAPI application: routes, error mapping and wiring of the parts.

``create_app(settings, synthesizer=None)`` assembles the voice store, the
batch job store, the speech engine (model calls on worker threads), the
limits, the optional API key and the metrics around one ``natiq.Synthesizer``
(loaded from ``settings`` when not given). Routes only translate between HTTP
and those parts; none of them runs model code on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import (
    FastAPI,
    File,
    Form,
    HTTPException,
    Request,
    UploadFile,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from natiq.backends.base import VoicePrompt
from natiq.common.errors import NatiqError
from natiq.data.audio import save_wav
from natiq.serve import audio_formats
from natiq.serve.auth import ApiKeyMiddleware
from natiq.serve.jobs import parse_batch
from natiq.serve.limits import BodySizeLimitMiddleware, ServerBusy
from natiq.serve.metrics import MetricsMiddleware
from natiq.serve.settings import ServeSettings
from natiq.serve.state import ServerState, error_status
from natiq.serve.streaming import audio_response, serve_ws_request, start_stream
from natiq.serve.voices import decode_upload

log = logging.getLogger("natiq.serve")
STATIC_DIR = Path(__file__).parent / "static"


class VoiceRef(BaseModel):
    id: str = Field(max_length=200)


class SpeechRequest(BaseModel):
    """OpenAI ``audio.speech.create`` body; ``instructions`` is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        "natiq",
        max_length=200,
        description="Accepted for compatibility; the server speaks with its loaded model.",
    )
    input: str = Field(description="Text to speak (Arabic). Longer than the server's limit -> 422.")
    voice: str | VoiceRef | None = Field(
        None,
        description="A voice id or name from /v1/voices, or an OpenAI preset name (= the default voice).",
    )
    response_format: Literal["wav", "pcm", "flac", "mp3", "opus", "aac"] = "mp3"
    speed: float = Field(
        1.0, ge=0.25, le=4.0, description="Only 1.0 is supported by the natiq backends."
    )
    stream_format: Literal["audio", "sse"] = "audio"
    instructions: str | None = Field(None, max_length=4096)


def create_app(settings: ServeSettings, synthesizer: Any | None = None) -> FastAPI:
    """Build the application around ``synthesizer`` (loaded from ``settings`` when ``None``)."""
    if synthesizer is None:
        from natiq import Synthesizer

        synthesizer = Synthesizer.load(
            settings.backend,
            model=settings.model,
            checkpoint=settings.checkpoint,
            device=settings.device,
        )
    api_key = settings.read_api_key()
    state = ServerState(settings, synthesizer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.jobs.start()
        if state.jobs.resumed:
            log.info(
                "resuming %d unfinished batch job(s): %s",
                len(state.jobs.resumed),
                ", ".join(state.jobs.resumed),
            )
        try:
            yield
        finally:
            state.jobs.stop()
            state.engine.shutdown()

    app = FastAPI(
        title="natiq speech server",
        version="0.1.0",
        description="Arabic text-to-speech: OpenAI-compatible speech, pocket-tts form API, voices, WebSocket streaming, batch jobs.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.natiq = state
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=api_key)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, router=app.router)

    @app.exception_handler(NatiqError)
    async def natiq_error(request: Request, exc: NatiqError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc))

    @app.exception_handler(ServerBusy)
    async def busy(request: Request, exc: ServerBusy) -> JSONResponse:
        state.metrics.record_busy()
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "1"})

    # ----- page, health, metrics
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "sample_rate": state.engine.sample_rate,
            "auth": api_key is not None,
            "default_voice": state.default_voice_error is None,
            "formats": list(state.formats),
            "max_text_chars": settings.max_text_chars,
        }

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(
            state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    # ----- OpenAI-compatible speech
    @app.post(
        "/v1/audio/speech",
        response_class=StreamingResponse,
        responses={
            200: {"content": {t: {} for t in audio_formats.MEDIA_TYPES.values()}},
            422: {},
            429: {},
        },
    )
    async def speech(body: SpeechRequest) -> StreamingResponse:
        text = state.check_text(body.input)
        fmt = body.response_format
        if fmt not in state.formats:
            raise HTTPException(
                status_code=422,
                detail=f"response_format {fmt!r} is not available here; use one of {', '.join(state.formats)}",
            )
        if body.stream_format != "audio":
            raise HTTPException(
                status_code=422,
                detail="stream_format 'sse' is not supported; use 'audio' (or the WebSocket /v1/stream)",
            )
        if body.speed != 1.0:
            raise HTTPException(
                status_code=422,
                detail="speed other than 1.0 is not supported by the natiq backends",
            )
        ref = body.voice.id if isinstance(body.voice, VoiceRef) else body.voice
        voice = state.resolve_voice(ref)
        stream, first = await start_stream(state, text, voice)
        return audio_response(state, stream, first, fmt)

    # ----- pocket-tts form API
    @app.post(
        "/tts",
        response_class=StreamingResponse,
        responses={200: {"content": {"audio/wav": {}}}, 422: {}, 429: {}},
    )
    async def tts(
        text: Annotated[str, Form()],
        voice_url: Annotated[
            str | None,
            Form(
                description="A voice id or name known to this server (never a URL or path: nothing is fetched)."
            ),
        ] = None,
        voice_wav: Annotated[UploadFile | None, File()] = None,
    ) -> StreamingResponse:
        text = state.check_text(text)
        if voice_url is not None and voice_wav is not None:
            raise HTTPException(
                status_code=422, detail="give either voice_url or voice_wav, not both"
            )
        temp_path = None
        if voice_wav is not None:
            data = await voice_wav.read(settings.max_upload_bytes + 1)
            samples, rate = decode_upload(data, state.voices.limits)
            with tempfile.NamedTemporaryFile(
                dir=state.tmp_dir, suffix=".wav", delete=False
            ) as handle:
                temp_path = Path(handle.name)
            save_wav(temp_path, samples, rate)
            voice: VoicePrompt | None = VoicePrompt(audio=temp_path)
        else:
            voice = state.resolve_voice(voice_url)
        try:
            stream, first = await start_stream(state, text, voice)
        finally:
            # a prepared voice is cached by the synthesizer, the upload is no longer needed
            if temp_path is not None:
                temp_path.unlink(missing_ok=True)
        return audio_response(state, stream, first, "wav")

    # ----- voices
    @app.post("/v1/voices", status_code=201, responses={413: {}, 422: {}})
    async def add_voice(
        file: Annotated[
            UploadFile, File(description="Reference clip (wav, flac, ogg, mp3), mono or stereo.")
        ],
        text: Annotated[
            str | None, Form(description="Transcript of the clip (Higgs voice cloning needs it).")
        ] = None,
        name: Annotated[
            str | None, Form(description="Unique display name (letters, digits, space, - or _).")
        ] = None,
    ) -> dict[str, Any]:
        data = await file.read(settings.max_upload_bytes + 1)
        voice = await asyncio.to_thread(state.voices.add, data, name=name, text=text)
        return voice.public()

    @app.get("/v1/voices")
    async def list_voices() -> dict[str, Any]:
        return {
            "voices": [voice.public() for voice in state.voices.list()],
            "default_voice": state.default_voice_error is None,
        }

    @app.delete("/v1/voices/{voice_id}", status_code=204, responses={404: {}})
    async def delete_voice(voice_id: str) -> Response:
        if not state.voices.delete(voice_id):
            raise HTTPException(status_code=404, detail=f"no voice with id {voice_id[:80]!r}")
        return Response(status_code=204)

    # ----- batch jobs
    @app.post(
        "/v1/batch",
        status_code=202,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-ndjson": {
                        "schema": {
                            "type": "string",
                            "description": 'One JSON object per line: {"input": ..., "voice"?: ..., "response_format"?: ..., "id"?: ...}',
                        }
                    }
                },
            }
        },
        responses={413: {}, 422: {}},
    )
    async def submit_batch(request: Request) -> dict[str, Any]:
        items = parse_batch(await request.body(), state.batch_limits)
        job = await asyncio.to_thread(state.jobs.submit, items)
        return _job_view(job)

    @app.get("/v1/batch/{job_id}", responses={404: {}})
    async def batch_status(job_id: str) -> dict[str, Any]:
        job = await asyncio.to_thread(state.jobs.status, job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no batch job {job_id[:80]!r}")
        return _job_view(job)

    @app.get("/v1/batch/{job_id}/results/{index}", response_class=FileResponse, responses={404: {}})
    async def batch_result(job_id: str, index: int) -> FileResponse:
        found = await asyncio.to_thread(state.jobs.result_file, job_id, index)
        if found is None:
            raise HTTPException(
                status_code=404, detail=f"no finished result {index} in batch job {job_id[:80]!r}"
            )
        path, fmt = found
        return FileResponse(
            path, media_type=audio_formats.MEDIA_TYPES[fmt], filename=f"{job_id}_{index}.{fmt}"
        )

    # ----- WebSocket streaming
    @app.websocket("/v1/stream")
    async def stream_ws(websocket: WebSocket) -> None:
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept(subprotocol="natiq" if "natiq" in offered else None)
        try:
            while True:
                message = await websocket.receive_text()
                await serve_ws_request(state, websocket, message)
        except WebSocketDisconnect:
            return

    return app


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    view = dict(job)
    view["url"] = f"/v1/batch/{job['id']}"
    view["results"] = [
        {**result, "url": f"/v1/batch/{job['id']}/results/{result['index']}"}
        if result["status"] == "ok"
        else result
        for result in job.get("results", [])
    ]
    return view
