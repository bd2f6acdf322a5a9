"""The Wyoming listener: started and stopped with the HTTP application, or alone.

``WyomingServer`` listens on a ``WyomingAddress`` and gives every connection
a ``ConnectionHandler`` over the HTTP server's own ``ServerState`` (engine,
voice store, limits, metrics), so both protocols share one model, one
admission queue and one set of voices. ``create_app`` starts it in the
application's lifespan, after the batch worker, and stops it before the
engine shuts down; ``serve_without_http`` runs that same lifespan without
uvicorn (``natiq serve --no-http``) until SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from fastapi import FastAPI

from natiq.serve.state import ServerState
from natiq.serve.wyoming.address import WyomingAddress
from natiq.serve.wyoming.events import LINE_LIMIT
from natiq.serve.wyoming.handler import ConnectionHandler

log = logging.getLogger("natiq.serve")
STOP_TIMEOUT_S = 5.0


class WyomingServer:
    def __init__(self, state: ServerState, address: WyomingAddress) -> None:
        self.state = state
        self.address = address
        self.port: int | None = None  # the TCP port bound (the system's choice for port 0)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task, ConnectionHandler] = {}

    @property
    def where(self) -> str:
        if self.address.path is not None:
            return f"unix://{self.address.path}"
        return f"tcp://{self.address.host}:{self.port}"

    async def start(self) -> None:
        if self.address.path is not None:
            Path(self.address.path).unlink(missing_ok=True)  # left by a server that was killed
            self._server = await asyncio.start_unix_server(
                self._connected, path=self.address.path, limit=LINE_LIMIT
            )
        else:
            self._server = await asyncio.start_server(
                self._connected, self.address.host, self.address.port, limit=LINE_LIMIT
            )
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("Wyoming (Home Assistant) server listening on %s", self.where)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handler = ConnectionHandler(self.state, reader, writer)
        self._connections[task] = handler
        try:
            await handler.run()
        finally:
            self._connections.pop(task, None)

    async def stop(self) -> None:
        """Stop listening, stop every connection's synthesis and close it."""
        if self._server is None:
            return
        self._server.close()
        connections = dict(self._connections)
        for handler in connections.values():
            with contextlib.suppress(Exception):
                await handler.stop()
        if connections:
            await asyncio.wait(connections, timeout=STOP_TIMEOUT_S)
        self._server = None
        if self.address.path is not None:
            Path(self.address.path).unlink(missing_ok=True)


async def serve_without_http(app: FastAPI) -> None:
    """Run ``app``'s lifespan (its Wyoming server, batch worker, engine) until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with app.router.lifespan_context(app):
            await stopping.wait()
            log.info("stopping the Wyoming server")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
