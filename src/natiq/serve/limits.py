"""Limits that keep one client from exhausting the server.

``BodySizeLimitMiddleware`` answers 413 for request bodies over the limit,
whether announced by ``Content-Length`` or discovered while streaming in.
``AdmissionGate`` bounds the work waiting for the model: ``max_concurrency``
requests run, ``max_queue`` more wait, and the next one gets 429 at once
instead of a timeout.
"""

from __future__ import annotations

import json
import threading

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised from inside ``receive`` so FastAPI's body parsing turns it into a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413, detail=f"request body larger than the server's limit of {limit} bytes"
        )


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
        if declared is not None and declared > self.max_bytes:
            await _send_413(send, self.max_bytes)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        {"detail": f"request body larger than the server's limit of {limit} bytes"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ServerBusy(Exception):
    """Every run slot and queue place is taken; the client should retry later (429)."""


class AdmissionGate:
    """Counts admitted requests (running + waiting) against a fixed capacity. Thread-safe."""

    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency = max_concurrency
        self.capacity = max_concurrency + max_queue
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0

    def admit(self) -> None:
        with self._lock:
            if self._admitted >= self.capacity:
                raise ServerBusy(
                    f"the server is busy ({self.max_concurrency} running, "
                    f"{self.capacity - self.max_concurrency} queued); retry shortly"
                )
            self._admitted += 1

    def started(self) -> None:
        with self._lock:
            self._running += 1

    def finished(self, *, started: bool) -> None:
        with self._lock:
            self._admitted -= 1
            if started:
                self._running -= 1

    @property
    def running(self) -> int:
        return self._running

    @property
    def queued(self) -> int:
        with self._lock:
            return self._admitted - self._running
