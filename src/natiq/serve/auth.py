"""Optional Bearer API key, checked before any route runs.

When a key is configured every route needs it except ``/health`` and the
static web page (``/`` and ``/static/...``): a browser cannot send a Bearer
header when it navigates, and the page holds no data - it asks the user for
the key and sends it with every API call it makes.

Browsers cannot set headers on a WebSocket either, so ``/v1/stream`` also
accepts the key as a subprotocol ``bearer.<key>`` (next to ``natiq``), the way
Kubernetes does; keys in URLs would end up in access logs.
"""

from __future__ import annotations

import hmac
import json

from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_PATHS = frozenset({"/health", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
SUBPROTOCOL_PREFIX = "bearer."


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def presented_keys(scope: Scope) -> list[str]:
    """Every key the client offered: the Bearer header and, on WebSockets, ``bearer.`` subprotocols."""
    keys = []
    authorization = _header(scope, b"authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            keys.append(token.strip())
    if scope["type"] == "websocket":
        for protocol in scope.get("subprotocols", []):
            if protocol.startswith(SUBPROTOCOL_PREFIX):
                keys.append(protocol[len(SUBPROTOCOL_PREFIX) :])
    return keys


class ApiKeyMiddleware:
    """Reject requests without the right key: HTTP 401, or a WebSocket closed before accept."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode("utf-8")

    def _authorized(self, scope: Scope) -> bool:
        return any(
            hmac.compare_digest(key.encode("utf-8"), self._key) for key in presented_keys(scope)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] not in ("http", "websocket")
            or is_public(scope["path"])
            or self._authorized(scope)
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": 1008, "reason": "missing or wrong API key"}
            )
            return
        body = json.dumps(
            {"detail": "missing or wrong API key: send 'Authorization: Bearer <key>'"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
