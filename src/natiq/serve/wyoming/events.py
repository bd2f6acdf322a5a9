"""Reading Wyoming events from a client with a bound on their size.

A Wyoming event is one JSON header line, then ``data_length`` bytes of JSON
data and ``payload_length`` bytes of payload that the header announces. The
``wyoming`` library reads whatever length a client announces; a server
exposed to programs it does not control reads at most ``max_bytes`` per event
instead (``--max-body-bytes``, the HTTP server's body limit), and the header
line itself is bounded by the stream reader's line limit.

A header or data that is not valid JSON is consumed whole, so the next line
starts the next event: the client gets an error and may go on
(``BadEvent``). An event that is too large, or a header line that overruns
the line limit, leaves the stream at no known event boundary: the connection
must end (``EventTooLarge``).
"""

from __future__ import annotations

import asyncio
import json

from wyoming.event import Event

LINE_LIMIT = 64 * 1024


class BadEvent(ValueError):
    """An event that is not valid Wyoming JSON; the connection can continue."""


class EventTooLarge(ValueError):
    """An event over the size limit; the connection cannot continue."""


async def read_event(reader: asyncio.StreamReader, max_bytes: int) -> Event | None:
    """The next event, or ``None`` when the client closed its side."""
    try:
        line = await reader.readline()
    except ValueError:  # asyncio's LimitOverrunError, rewrapped by readline
        raise EventTooLarge(
            f"an event header is longer than {LINE_LIMIT} bytes; send the data as data_length bytes"
        ) from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        return None  # the client closed in the middle of a header
    data_length, payload_length, header = _header(line)
    if data_length + payload_length > max_bytes:
        raise EventTooLarge(
            f"an event of {data_length + payload_length} bytes is over this server's limit of {max_bytes}"
        )
    try:
        data_bytes = await reader.readexactly(data_length) if data_length else b""
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # the client closed in the middle of an event
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise BadEvent('an event\'s "data" must be a JSON object')
    if data_bytes:
        extra = _json_object(data_bytes, "an event's data")
        data = {**data, **extra}
    return Event(type=header["type"], data=data, payload=payload)


def _header(line: bytes) -> tuple[int, int, dict]:
    header = _json_object(line, "an event header")
    if not isinstance(header.get("type"), str):
        raise BadEvent('an event header needs a "type" string')
    lengths = []
    for key in ("data_length", "payload_length"):
        value = header.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise EventTooLarge(f'an event header\'s "{key}" must be a whole number of bytes')
        lengths.append(value)
    return lengths[0], lengths[1], header


def _json_object(raw: bytes, what: str) -> dict:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadEvent(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadEvent(f"{what} must be a JSON object")
    return value
