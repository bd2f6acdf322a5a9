"""One JSON parser for everything a client sends: bodies, batch lines, WebSocket messages.

Python's ``json`` accepts ``NaN`` and ``Infinity`` (which no JSON encoder can
send back, so an error message echoing them crashed), lone surrogate escapes,
and recurses once per nesting level (``[`` x 100000 raised ``RecursionError``).
pydantic-core's parser refuses non-finite numbers and lone surrogates and
stops at a fixed nesting depth, with a message that says where. Every refusal
is an ordinary invalid-JSON error (422), never a server error.

``StrictJSONRoute`` makes FastAPI parse request bodies with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import pydantic_core
from fastapi import Request, Response
from fastapi.routing import APIRoute


def loads(data: str | bytes) -> Any:
    """Parse JSON; raises ``ValueError`` with the reason (non-finite numbers and deep nesting included)."""
    try:
        return pydantic_core.from_json(data, allow_inf_nan=False)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = loads(body)
            except ValueError as exc:
                # FastAPI answers json.JSONDecodeError with its usual 422 "json_invalid"
                raise json.JSONDecodeError(str(exc), "", 0) from None
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
