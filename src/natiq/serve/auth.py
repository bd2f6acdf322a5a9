"""Optional Bearer API key, checked before any route runs, with a cap on wrong guesses.

When a key is configured every route needs it except ``/health`` and the
static web page (``/`` and ``/static/...``): a browser cannot send a Bearer
header when it navigates, and the page holds no data - it asks the user for
the key and sends it with every API call it makes.

Browsers cannot set headers on a WebSocket either, so ``/v1/stream`` also
accepts the key as one subprotocol ``bearer.<key>`` (next to ``natiq``), the
way Kubernetes does; keys in URLs would end up in access logs. A request
offering several different keys is refused and each counts as a wrong guess
(one WebSocket handshake could otherwise try hundreds).

Keys are compared as bytes (the header's raw bytes against the key file's
UTF-8), in constant time. Each client address may fail ``max_failures`` times;
the allowance refills over ``FAILURE_WINDOW_S``; while it is used up that
client gets 429 even with the right key, so guessing stays slow.
"""

from __future__ import annotations

import hmac
import json
import threading
import time

from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
SUBPROTOCOL_PREFIX = "bearer."
FAILURE_WINDOW_S = 60.0


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value
    return None


def presented_keys(scope: Scope) -> list[bytes]:
    """Every key the client offered: the Bearer header and, on WebSockets, ``bearer.`` subprotocols."""
    keys = []
    authorization = header(scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(b" ")
        if scheme.lower() == b"bearer" and token.strip():
            keys.append(token.strip())
    if scope["type"] == "websocket":
        for protocol in scope.get("subprotocols", []):
            if protocol.startswith(SUBPROTOCOL_PREFIX):
                keys.append(protocol[len(SUBPROTOCOL_PREFIX) :].encode("utf-8", "surrogateescape"))
    return keys


class FailureLimiter:
    """A token bucket of wrong guesses per client address. Thread-safe."""

    def __init__(self, max_failures: int, window_s: float = FAILURE_WINDOW_S) -> None:
        self.max_failures = max_failures
        self.rate = max_failures / window_s
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (allowance, at)

    def _allowance(self, client: str, now: float) -> float:
        allowance, at = self._buckets.get(client, (float(self.max_failures), now))
        return min(float(self.max_failures), allowance + (now - at) * self.rate)

    def blocked(self, client: str) -> bool:
        with self._lock:
            return self._allowance(client, time.monotonic()) < 1.0

    def failed(self, client: str, count: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            self._buckets[client] = (max(0.0, self._allowance(client, now) - count), now)
            if len(self._buckets) > 10_000:  # forget the oldest entries, never grow unbounded
                for stale in sorted(self._buckets, key=lambda c: self._buckets[c][1])[:5000]:
                    del self._buckets[stale]


async def send_json(send: Send, status: int, detail: str, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ApiKeyMiddleware:
    """Reject requests without the right key: HTTP 401 (429 after too many wrong guesses),
    or a WebSocket closed before accept."""

    def __init__(self, app: ASGIApp, api_key: str, max_failures: int) -> None:
        self.app = app
        self._key = api_key.encode("utf-8")
        self.limiter = FailureLimiter(max_failures)

    def _matches(self, keys: set[bytes]) -> bool:
        return any(hmac.compare_digest(key, self._key) for key in keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        keys = set(presented_keys(scope))
        if self.limiter.blocked(client):
            refusal, status = "too many wrong API keys from this address; wait a minute", 429
        elif len(keys) > 1:
            self.limiter.failed(client, len(keys))
            refusal, status = "offer one API key, not several", 401
        elif self._matches(keys):
            await self.app(scope, receive, send)
            return
        else:
            if keys:
                self.limiter.failed(client, len(keys))
            refusal, status = "missing or wrong API key: send 'Authorization: Bearer <key>'", 401
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[:120]})
            return
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else [(b"retry-after", b"60")]
        await send_json(send, status, refusal, extra)
