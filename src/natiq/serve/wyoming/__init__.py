"""natiq over the Wyoming protocol, the way Home Assistant and Rhasspy talk to local TTS engines.

``natiq serve --wyoming tcp://HOST:PORT`` adds a Wyoming server next to the
HTTP one (``--no-http``: instead of it). Both share one ``ServerState``: the
same model and engine, voice store, limits, default voice and metrics.
Modules: ``address`` (where it may listen), ``events`` (bounded event
reading), ``info`` (``describe``), ``handler`` (one connection), ``server``
(the listener and its lifetime).
"""

from natiq.serve.wyoming.address import WyomingAddress
from natiq.serve.wyoming.server import WyomingServer, serve_without_http

__all__ = ["WyomingAddress", "WyomingServer", "serve_without_http"]
