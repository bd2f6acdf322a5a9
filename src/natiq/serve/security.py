"""Browser-facing protections of a server that usually runs on localhost.

A web page the user visits can send requests to ``127.0.0.1`` (simple POSTs,
multipart forms and WebSockets need no CORS preflight) or, through DNS
rebinding, read its answers under its own host name. Two checks close that:

- ``HostOriginMiddleware``: the ``Host`` header must name this server
  (loopback names, the bind address, or ``--allowed-host``), which defeats
  DNS rebinding; requests that change state (every method but GET/HEAD/
  OPTIONS) and WebSocket handshakes that carry an ``Origin`` must come from
  the server's own origin or an ``--allowed-origin``. Clients that are not
  browsers send no ``Origin`` and are unaffected.
- ``SecurityHeadersMiddleware``: every answer says ``nosniff``, no referrer,
  no framing; the web page gets a Content Security Policy that allows only its
  own scripts, styles and API.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from natiq.serve.auth import header, send_json

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; media-src 'self' blob:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# Swagger UI (/docs) loads its script and style from a CDN and runs one inline script.
DOCS_POLICY = "frame-ancestors 'none'"
COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def host_name(value: str) -> str:
    """The name part of a Host header or URL netloc (``[::1]:8000`` -> ``::1``), lower case."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class HostOriginMiddleware:
    def __init__(
        self, app: ASGIApp, allowed_hosts: frozenset[str], allowed_origins: tuple[str, ...]
    ) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = allowed_hosts
        self.allowed_origins = frozenset(origin.rstrip("/").lower() for origin in allowed_origins)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        raw_host = header(scope, b"host")
        host = raw_host.decode("latin-1") if raw_host else ""
        if not host:
            return 400, "a Host header is required"
        if not self.any_host and host_name(host) not in self.allowed_hosts:
            shown = host_name(host)[:100]
            return 400, (
                f"this server does not answer to the host name {shown!r}; start it with "
                f"--allowed-host {shown} to accept it"
            )
        if scope["type"] == "http" and scope["method"] in SAFE_METHODS:
            return None
        raw_origin = header(scope, b"origin")
        if raw_origin is None:
            return None  # not a browser
        origin = raw_origin.decode("latin-1").rstrip("/").lower()
        if origin in self.allowed_origins or "*" in self.allowed_origins:
            return None
        if origin != "null" and urlsplit(origin).netloc == host.lower():
            return None  # the server's own page
        return 403, (
            f"cross-origin request from {origin[:100]!r} refused; start the server with "
            "--allowed-origin ORIGIN to accept a page served elsewhere"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal[1][:120]})
        else:
            await send_json(send, *refusal)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"].startswith("/docs") else PAGE_POLICY
        extra = [*COMMON_HEADERS, (b"content-security-policy", policy.encode())]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                added = [(key, value) for key, value in extra if key not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_headers)
