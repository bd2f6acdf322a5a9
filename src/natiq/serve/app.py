"""The FastAPI application: routes, error mapping and wiring of the parts.

``create_app(settings, synthesizer=None)`` assembles the voice store, the
batch job store, the speech engine (model calls on worker threads), the
limits, the optional API key, the browser protections and the metrics around
one ``natiq.Synthesizer`` (loaded from ``settings`` when not given). Routes
only translate between HTTP and those parts; none of them runs model code,
decodes or encodes audio, or scans the disk on the event loop.

Error bodies are ``{"detail": ...}`` with a message written for the client:
never a traceback, an object's repr or a path on the server.
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
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    Response,
    StreamingResponse,
)
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from natiq.backends.base import VoicePrompt
from natiq.common.errors import DataFormatError, NatiqError
from natiq.data.audio import save_wav
from natiq.data.tempo import require_stretch
from natiq.serve import audio_formats
from natiq.serve.auth import ApiKeyMiddleware
from natiq.serve.jobs import JOB_ID, parse_batch
from natiq.serve.limits import BodySizeLimitMiddleware, ServerBusy
from natiq.serve.metrics import CONTENT_TYPE, MetricsMiddleware
from natiq.serve.security import HostOriginMiddleware, SecurityHeadersMiddleware
from natiq.serve.settings import ServeSettings
from natiq.serve.state import ServerState, error_status
from natiq.serve.streaming import audio_response, serve_ws, sse_response, start_stream
from natiq.serve.strict_json import StrictJSONRoute
from natiq.serve.voices import decode_upload
from natiq.serve.wyoming import WyomingAddress, WyomingServer

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
        1.0,
        ge=0.25,
        le=4.0,
        description="Tempo (2.0 = twice as fast), pitch kept; silences scale too.",
    )
    stream_format: Literal["audio", "sse"] = "audio"
    instructions: str | None = Field(None, max_length=4096)


def create_app(settings: ServeSettings, synthesizer: Any | None = None) -> FastAPI:
    """Build the application around ``synthesizer`` (loaded from ``settings`` when ``None``)."""
    wyoming_address = WyomingAddress.parse(settings.wyoming) if settings.wyoming else None
    if wyoming_address is not None:
        wyoming_address.check_exposure(settings.insecure)
    api_key = settings.read_api_key()
    if settings.http:
        settings.check_exposure(has_key=api_key is not None)
    if synthesizer is None:
        from natiq import Synthesizer

        log.info("loading the %s model ...", settings.backend)
        synthesizer = Synthesizer.load(
            settings.backend,
            model=settings.model,
            checkpoint=settings.checkpoint,
            device=settings.device,
            join=settings.join_policy(),
            lexicon=settings.lexicon,
            **settings.backend_load_options(),
        )
    state = ServerState(settings, synthesizer)
    wyoming = WyomingServer(state, wyoming_address) if wyoming_address is not None else None

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
            if wyoming is not None:
                await wyoming.start()
            yield
        finally:
            if wyoming is not None:
                await wyoming.stop()
            await asyncio.to_thread(state.jobs.stop)
            state.engine.shutdown()

    app = FastAPI(
        title="natiq speech server",
        version="0.1.0",
        description="Arabic text-to-speech: OpenAI-compatible speech, pocket-tts form API, voices, WebSocket streaming, batch jobs.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.router.route_class = StrictJSONRoute
    app.state.natiq = state
    app.state.wyoming = wyoming
    # the last added runs first: headers on every answer, then metrics, Host/Origin, key, size
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if api_key is not None:
        app.add_middleware(
            ApiKeyMiddleware, api_key=api_key, max_failures=settings.max_auth_failures
        )
    app.add_middleware(
        HostOriginMiddleware,
        allowed_hosts=settings.host_names,
        allowed_origins=settings.allowed_origins,
    )
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, router=app.router)
    app.add_middleware(SecurityHeadersMiddleware)

    @app.exception_handler(NatiqError)
    async def natiq_error(request: Request, exc: NatiqError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=error_status(exc))

    @app.exception_handler(ServerBusy)
    async def busy(request: Request, exc: ServerBusy) -> JSONResponse:
        state.metrics.record_busy()
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": [_public_error(e) for e in exc.errors()]}, status_code=422)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"detail": "internal server error; see the server log"}, status_code=500
        )

    # ----- page, health, metrics
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok" if state.jobs.healthy else "degraded",
            "sample_rate": state.engine.sample_rate,
            "auth": api_key is not None,
            "default_voice": state.default_voice_error is None,
            "formats": list(state.formats),
            "max_text_chars": settings.max_text_chars,
            "batch": state.jobs.health(),
        }

    @app.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE: {}}}})
    async def metrics() -> Response:
        return Response(await asyncio.to_thread(state.metrics.render), media_type=CONTENT_TYPE)

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
        ref = body.voice.id if isinstance(body.voice, VoiceRef) else body.voice
        voice = state.resolve_voice(ref)
        stream, first = await start_stream(state, text, voice, speed=body.speed)
        if body.stream_format == "sse":
            return sse_response(state, stream, first, fmt, input_tokens=len(text))
        return audio_response(state, stream, first, fmt)

    async def _read_upload(upload: UploadFile) -> bytes:
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(
                status_code=413,
                detail=f"the uploaded voice file is larger than this server's limit of {settings.max_upload_bytes} bytes",
            )
        return data

    # ----- pocket-tts form API
    @app.post(
        "/tts",
        response_class=StreamingResponse,
        responses={200: {"content": {"audio/wav": {}}}, 413: {}, 422: {}, 429: {}},
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
            data = await _read_upload(voice_wav)
            temp_path = await asyncio.to_thread(_store_one_off_voice, state, data)
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
    @app.post("/v1/voices", status_code=201, responses={413: {}, 422: {}, 507: {}})
    async def add_voice(
        file: Annotated[
            UploadFile, File(description="Reference clip (wav, flac, ogg, mp3), mono or stereo.")
        ],
        text: Annotated[
            str | None, Form(description="Transcript of the clip (Higgs voice cloning needs it).")
        ] = None,
        name: Annotated[
            str | None,
            Form(
                description="Unique display name (letters, digits, space, - or _); not a preset name."
            ),
        ] = None,
    ) -> dict[str, Any]:
        data = await _read_upload(file)
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
        if not await asyncio.to_thread(state.voices.delete, voice_id):
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
                            "description": 'One JSON object per line: {"text" (or "input"): ..., "voice"?: ..., "response_format"?: ..., "id"?: ...}',
                        }
                    }
                },
            }
        },
        responses={413: {}, 422: {}, 429: {}, 507: {}},
    )
    async def submit_batch(request: Request) -> dict[str, Any]:
        body = await request.body()
        items = await asyncio.to_thread(_validated_batch, state, body)
        job = await asyncio.to_thread(state.jobs.submit, items)
        return _job_view(job)

    @app.get("/v1/batch/{job_id}", responses={404: {}})
    async def batch_status(job_id: str) -> dict[str, Any]:
        job = await asyncio.to_thread(state.jobs.status, job_id)
        if job is None:
            raise HTTPException(status_code=404, detail=f"no batch job {job_id[:80]!r}")
        return _job_view(job)

    @app.delete("/v1/batch/{job_id}", status_code=204, responses={404: {}})
    async def delete_batch(job_id: str) -> Response:
        if not JOB_ID.fullmatch(job_id) or not await asyncio.to_thread(state.jobs.delete, job_id):
            raise HTTPException(status_code=404, detail=f"no batch job {job_id[:80]!r}")
        return Response(status_code=204)

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
        await serve_ws(state, websocket)

    return app


def _public_error(error: dict[str, Any]) -> dict[str, Any]:
    """A validation error without the fields that may hold anything the client sent ("input", "ctx")."""
    message = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")
    if error.get("type") == "json_invalid" and isinstance(reason, str):
        message = f"{message}: {reason[:200]}"
    return {"loc": list(error.get("loc", ())), "msg": message, "type": error.get("type", "")}


def _store_one_off_voice(state: ServerState, data: bytes) -> Path:
    """Decode and check an uploaded clip and keep it as a temporary wav (``/tts`` voice_wav)."""
    samples, rate = decode_upload(data, state.voices.limits)
    with tempfile.NamedTemporaryFile(dir=state.tmp_dir, suffix=".wav", delete=False) as handle:
        path = Path(handle.name)
    save_wav(path, samples, rate)
    return path


def _validated_batch(state: ServerState, body: bytes) -> list[dict[str, Any]]:
    """Parse a batch and measure each item's cost, so a job is refused whole before it runs."""
    items = parse_batch(body, state.batch_limits)
    for item in items:
        try:
            state.engine.plan(item["text"])
            require_stretch(item.get("speed") or 1.0)
        except NatiqError as exc:
            raise DataFormatError(f"batch item {item['index']}: {exc}") from None
    return items


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
