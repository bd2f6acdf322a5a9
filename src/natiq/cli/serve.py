"""``natiq serve``: run the speech server (FastAPI under uvicorn).

A thin layer: flags become one ``ServeSettings`` field each, the model is
loaded before the port opens (so a bad ``--model`` fails here with a clear
message), then ``natiq.serve.app.create_app`` does the rest. Without an API
key the server warns loudly, and refuses a non-loopback ``--host`` unless
``--insecure`` is given. ``--wyoming`` adds a Wyoming server (Home Assistant)
over the same model; with ``--no-http`` it runs alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from natiq.serve.settings import ServeSettings

_D = ServeSettings()  # the defaults live in ServeSettings only


def serve(
    host: Annotated[
        str, typer.Option(help="Interface to listen on (keep 127.0.0.1 unless behind a proxy).")
    ] = _D.host,
    port: Annotated[int, typer.Option(help="TCP port.")] = _D.port,
    backend: Annotated[str, typer.Option(help="Speech backend: pocket or higgs.")] = _D.backend,
    model: Annotated[
        str | None, typer.Option(help="Base model: a name, a YAML/config path or an hf:// id.")
    ] = _D.model,
    checkpoint: Annotated[
        str | None, typer.Option(help="A natiq checkpoint, export or adapter directory.")
    ] = _D.checkpoint,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = _D.device,
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the API key (UTF-8, chmod 600); then every route but /health and the page needs 'Authorization: Bearer <key>'."
        ),
    ] = _D.api_key_file,
    insecure: Annotated[
        bool,
        typer.Option(
            help="Allow listening on a non-loopback address without an API key (a proxy authenticates)."
        ),
    ] = _D.insecure,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Another Host name to answer (repeatable; loopback names and the --host address always are; '*' for any)."
        ),
    ] = None,
    allowed_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="Another browser origin allowed to POST and open the WebSocket, e.g. https://app.example (repeatable)."
        ),
    ] = None,
    max_auth_failures: Annotated[
        int, typer.Option(help="Wrong API keys allowed per client address per minute (429 after).")
    ] = _D.max_auth_failures,
    max_concurrency: Annotated[
        int, typer.Option(help="Syntheses running at once.")
    ] = _D.max_concurrency,
    max_batch: Annotated[
        int | None,
        typer.Option(
            help="Streams the model steps together in one batched loop (Pocket); "
            "default: --max-concurrency; 1: one stream at a time."
        ),
    ] = _D.max_batch,
    max_queue: Annotated[
        int, typer.Option(help="Requests allowed to wait; one more gets 429.")
    ] = _D.max_queue,
    data_dir: Annotated[
        Path, typer.Option(help="Where voices and batch jobs are kept.")
    ] = _D.data_dir,
    max_text_chars: Annotated[
        int, typer.Option(help="Longest text accepted per request.")
    ] = _D.max_text_chars,
    max_model_chars: Annotated[
        int,
        typer.Option(
            help="Most characters the model reads per request, counted after numbers and abbreviations are spelled out."
        ),
    ] = _D.max_model_chars,
    max_upload_bytes: Annotated[
        int, typer.Option(help="Largest voice upload in bytes.")
    ] = _D.max_upload_bytes,
    max_upload_seconds: Annotated[
        float, typer.Option(help="Longest voice clip in seconds.")
    ] = _D.max_upload_seconds,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body in bytes (413 above).")
    ] = _D.max_body_bytes,
    max_voices: Annotated[
        int, typer.Option(help="Most stored voices (507 above).")
    ] = _D.max_voices,
    max_batch_items: Annotated[
        int, typer.Option(help="Most lines in one batch job.")
    ] = _D.max_batch_items,
    max_jobs: Annotated[
        int, typer.Option(help="Most unfinished batch jobs at once (429 above).")
    ] = _D.max_jobs,
    max_queued_items: Annotated[
        int, typer.Option(help="Most batch items waiting over all jobs (429 above).")
    ] = _D.max_queued_items,
    max_jobs_bytes: Annotated[
        int, typer.Option(help="Disk space for batch jobs in bytes; no new job above it (507).")
    ] = _D.max_jobs_bytes,
    job_retention_hours: Annotated[
        float, typer.Option(help="Finished batch jobs are deleted this long after they finish.")
    ] = _D.job_retention_hours,
    max_seconds: Annotated[
        float | None,
        typer.Option(
            help="Cap on the audio generated per piece of text, in seconds (any backend)."
        ),
    ] = _D.max_seconds,
    lexicon: Annotated[
        Path | None,
        typer.Option(
            help="Pronunciation lexicon TSV (written form<TAB>diacritized Arabic or Buckwalter), added to the model's."
        ),
    ] = _D.lexicon,
    pause: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=SECONDS silence after sentence, question, exclamation, comma, semicolon, colon or paragraph (repeatable)."
        ),
    ] = None,
    wyoming: Annotated[
        str | None,
        typer.Option(
            help="Also speak the Wyoming protocol (Home Assistant, Rhasspy) at tcp://HOST:PORT or unix://PATH; it has no authentication, so a non-loopback HOST needs --insecure."
        ),
    ] = _D.wyoming,
    http: Annotated[
        bool,
        typer.Option(help="Serve HTTP; --no-http with --wyoming serves Wyoming only."),
    ] = _D.http,
    timings_model: Annotated[
        str,
        typer.Option(
            help="Whisper model that aligns word timings (WebSocket and batch 'timings'); loaded at the first request that asks."
        ),
    ] = _D.timings_model,
) -> None:
    """Run the speech server: REST, WebSocket streaming, batch jobs, a web page, and Wyoming (--wyoming)."""
    import logging

    import uvicorn

    from natiq.common.runtime import limit_threads
    from natiq.serve.app import create_app

    settings = ServeSettings(
        host=host,
        port=port,
        backend=backend,
        model=model,
        checkpoint=checkpoint,
        device=device,
        api_key_file=api_key_file,
        insecure=insecure,
        allowed_hosts=tuple(allowed_host or ()),
        allowed_origins=tuple(allowed_origin or ()),
        max_auth_failures=max_auth_failures,
        max_concurrency=max_concurrency,
        max_batch=max_batch,
        max_queue=max_queue,
        data_dir=data_dir,
        max_text_chars=max_text_chars,
        max_model_chars=max_model_chars,
        max_upload_bytes=max_upload_bytes,
        max_upload_seconds=max_upload_seconds,
        max_body_bytes=max_body_bytes,
        max_voices=max_voices,
        max_batch_items=max_batch_items,
        max_jobs=max_jobs,
        max_queued_items=max_queued_items,
        max_jobs_bytes=max_jobs_bytes,
        job_retention_hours=job_retention_hours,
        max_seconds=max_seconds,
        lexicon=lexicon,
        pauses=tuple(pause or ()),
        wyoming=wyoming,
        http=http,
        timings_model=timings_model,
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    limit_threads()  # NATIQ_NUM_THREADS, when set
    # the key file and the exposure are checked before the model loads
    application = create_app(settings)
    if not settings.http:
        import asyncio

        from natiq.serve.wyoming import serve_without_http

        asyncio.run(serve_without_http(application))
        return
    uvicorn.run(
        application,
        host=host,
        port=port,
        ws_max_size=256 * 1024,
        log_level="info",
        timeout_graceful_shutdown=5,
    )


def register(app: typer.Typer) -> None:
    """Attach ``natiq serve`` to the root CLI."""
    app.command("serve")(serve)
