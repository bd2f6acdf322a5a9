"""Where the Wyoming server listens, and whether it may listen there.

``--wyoming`` takes ``tcp://HOST:PORT`` (Home Assistant connects over TCP;
port 0 lets the system choose) or ``unix://PATH``. The Wyoming protocol has
no authentication at all, so the HTTP server's API key cannot protect it: a
non-loopback TCP address is refused unless the operator says ``--insecure``
(only trusted machines can reach it: a firewall, a private network). A Unix
socket is reachable only through the file system and is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from natiq.common.errors import NatiqError
from natiq.serve.settings import is_loopback

USAGE = "give --wyoming as tcp://HOST:PORT (e.g. tcp://127.0.0.1:10200) or unix://PATH"


@dataclass(frozen=True)
class WyomingAddress:
    """A parsed ``--wyoming`` value: ``host``/``port`` for TCP, ``path`` for a Unix socket."""

    uri: str
    host: str | None = None
    port: int | None = None
    path: str | None = None

    @classmethod
    def parse(cls, uri: str) -> WyomingAddress:
        """The address in ``uri``; ``NatiqError`` naming the expected form otherwise."""
        parts = urlsplit(uri.strip())
        if parts.scheme == "unix":
            path = parts.netloc + parts.path
            if not path:
                raise NatiqError(f"--wyoming {uri!r} names no socket path; {USAGE}")
            return cls(uri=uri, path=path)
        if parts.scheme != "tcp":
            raise NatiqError(f"--wyoming {uri!r}: unknown scheme; {USAGE}")
        try:
            port = parts.port
        except ValueError:
            raise NatiqError(f"--wyoming {uri!r}: the port must be 0-65535; {USAGE}") from None
        if not parts.hostname or port is None or parts.path not in ("", "/"):
            raise NatiqError(f"--wyoming {uri!r} needs a host and a port; {USAGE}")
        return cls(uri=uri, host=parts.hostname, port=port)

    def check_exposure(self, insecure: bool) -> None:
        """Refuse a non-loopback TCP address unless ``insecure``: Wyoming has no authentication."""
        if self.host is None or is_loopback(self.host) or insecure:
            return
        raise NatiqError(
            f"refusing to serve Wyoming on {self.host}: the Wyoming protocol has no "
            "authentication, so anyone who can reach this address could use the server "
            "(an API key protects only the HTTP routes). Give --insecure if only trusted "
            "machines can reach it (a firewall, a private network), or listen on 127.0.0.1"
        )
