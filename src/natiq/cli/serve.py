"""``natiq serve``: run the speech server (FastAPI under uvicorn).

A thin layer: flags become one ``ServeSettings`` field each, the model is
loaded before the port opens (so a bad ``--model`` fails here with a clear
message), then ``natiq.serve.app.create_app`` does the rest.
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
            help="File holding the API key; then every route but /health needs 'Authorization: Bearer <key>'."
        ),
    ] = _D.api_key_file,
    max_concurrency: Annotated[
        int, typer.Option(help="Syntheses running at once.")
    ] = _D.max_concurrency,
    max_queue: Annotated[
        int, typer.Option(help="Requests allowed to wait; one more gets 429.")
    ] = _D.max_queue,
    data_dir: Annotated[
        Path, typer.Option(help="Where voices and batch jobs are kept.")
    ] = _D.data_dir,
    max_text_chars: Annotated[
        int, typer.Option(help="Longest text accepted per request.")
    ] = _D.max_text_chars,
    max_upload_bytes: Annotated[
        int, typer.Option(help="Largest voice upload in bytes.")
    ] = _D.max_upload_bytes,
    max_upload_seconds: Annotated[
        float, typer.Option(help="Longest voice clip in seconds.")
    ] = _D.max_upload_seconds,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body in bytes (413 above).")
    ] = _D.max_body_bytes,
    max_batch_items: Annotated[
        int, typer.Option(help="Most lines in one batch job.")
    ] = _D.max_batch_items,
    max_seconds: Annotated[
        float | None,
        typer.Option(help="Cap on the audio generated per sentence, in seconds (any backend)."),
    ] = _D.max_seconds,
) -> None:
    """Run the speech server: REST, WebSocket streaming, batch jobs and a web page."""
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
        max_concurrency=max_concurrency,
        max_queue=max_queue,
        data_dir=data_dir,
        max_text_chars=max_text_chars,
        max_upload_bytes=max_upload_bytes,
        max_upload_seconds=max_upload_seconds,
        max_body_bytes=max_body_bytes,
        max_batch_items=max_batch_items,
        max_seconds=max_seconds,
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings.read_api_key()  # fail before loading the model when the key file is wrong
    typer.echo(f"loading the {backend} model ...", err=True)
    limit_threads()  # NATIQ_NUM_THREADS, when set
    application = create_app(settings)
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
