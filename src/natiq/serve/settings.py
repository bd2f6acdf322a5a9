"""Everything the server can be told, in one frozen dataclass.

Every ``natiq serve`` flag maps to exactly one field here, and the defaults
live only here. The API key itself is never a field (it would end up in
process listings and logs): the server reads it from ``api_key_file``.
"""

from __future__ import annotations

import ipaddress
import logging
import stat
from dataclasses import dataclass
from pathlib import Path

from natiq.common.errors import NatiqError
from natiq.synthesizer import JoinPolicy, parse_pauses

log = logging.getLogger("natiq.serve")

MIB = 1024 * 1024
GIB = 1024 * MIB
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "pocket"
    model: str | None = None
    checkpoint: str | None = None
    device: str = "auto"
    api_key_file: Path | None = None
    insecure: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_auth_failures: int = 20
    max_concurrency: int = 1
    # streams one model steps together (a backend that batches, Pocket); None: --max-concurrency
    max_batch: int | None = None
    max_queue: int = 8
    data_dir: Path = Path("natiq-serve-data")
    max_text_chars: int = 2000
    max_model_chars: int = 6000
    max_upload_bytes: int = 10 * MIB
    max_upload_seconds: float = 30.0
    min_upload_seconds: float = 0.5
    max_body_bytes: int = 12 * MIB
    max_voices: int = 1000
    max_batch_items: int = 200
    max_jobs: int = 20
    max_queued_items: int = 2000
    max_jobs_bytes: int = 2 * GIB
    job_retention_hours: float = 24.0
    max_seconds: float | None = None
    lexicon: Path | None = None
    pauses: tuple[str, ...] = ()
    wyoming: str | None = None
    http: bool = True
    timings_model: str = "packaged:base"

    def __post_init__(self) -> None:
        positive = {
            "--max-concurrency": self.max_concurrency,
            "--max-text-chars": self.max_text_chars,
            "--max-batch-items": self.max_batch_items,
            "--max-jobs": self.max_jobs,
            "--max-queued-items": self.max_queued_items,
            "--max-voices": self.max_voices,
            "--max-auth-failures": self.max_auth_failures,
        }
        for flag, value in positive.items():
            if value < 1:
                raise NatiqError(f"{flag} must be at least 1")
        if self.max_batch is not None and self.max_batch < 1:
            raise NatiqError("--max-batch must be at least 1")
        if self.max_queue < 0:
            raise NatiqError("--max-queue must be 0 or more")
        if self.max_model_chars < self.max_text_chars:
            raise NatiqError(
                "--max-model-chars must be at least --max-text-chars (verbalization only lengthens text)"
            )
        if self.max_upload_bytes < 1024:
            raise NatiqError("--max-upload-bytes must be at least 1024")
        if self.max_body_bytes < self.max_upload_bytes:
            raise NatiqError(
                "--max-body-bytes must be at least --max-upload-bytes (an upload travels in the body)"
            )
        if not 0 < self.min_upload_seconds < self.max_upload_seconds:
            raise NatiqError("upload duration limits must satisfy 0 < min < max")
        if self.max_seconds is not None and not 0 < self.max_seconds < float("inf"):
            raise NatiqError("--max-seconds must be a positive number")
        if self.max_queued_items < self.max_batch_items:
            raise NatiqError("--max-queued-items must be at least --max-batch-items")
        if self.job_retention_hours <= 0:
            raise NatiqError("--job-retention-hours must be positive")
        if not self.http and self.wyoming is None:
            raise NatiqError("--no-http needs --wyoming: the server would have nothing to serve")
        self.join_policy()  # a bad --pause fails before the model loads

    def join_policy(self) -> JoinPolicy:
        """The silences between sentences (``--pause NAME=SECONDS``) on top of the defaults."""
        return JoinPolicy().with_pauses(parse_pauses(self.pauses))

    def backend_load_options(self) -> dict[str, int]:
        """``max_batch`` for the backend's ``load``: ``--max-concurrency`` unless given.

        Left out for a backend that does not batch streams unless it was given
        explicitly (then that backend refuses it with an ``OptionError``).
        """
        if self.max_batch is not None:
            return {"max_batch": self.max_batch}
        from natiq.backends.registry import backend_class

        if "max_batch" in backend_class(self.backend).load_options:
            return {"max_batch": self.max_concurrency}
        return {}

    @property
    def host_names(self) -> frozenset[str]:
        """Host header names this server answers: loopback, the bind address, and ``allowed_hosts``."""
        names = {name.lower() for name in LOOPBACK_NAMES + self.allowed_hosts}
        if self.host not in ("0.0.0.0", "::", ""):
            names.add(self.host.lower())
        return frozenset(names)

    def check_exposure(self, has_key: bool) -> None:
        """Refuse to listen beyond loopback without a key, unless the operator said ``--insecure``."""
        if has_key:
            return
        if not is_loopback(self.host) and not self.insecure:
            raise NatiqError(
                f"refusing to listen on {self.host} without an API key: anyone who can reach "
                "this address could use the server. Give --api-key-file, or --insecure if a "
                "proxy in front authenticates"
            )
        log.warning(
            "NO API KEY: every route is open to any program on %s. Give --api-key-file to require a key.",
            "this machine" if is_loopback(self.host) else f"the network ({self.host})",
        )

    def read_api_key(self) -> str | None:
        """The configured key (UTF-8 file, BOM and surrounding whitespace removed), or ``None``."""
        if self.api_key_file is None:
            return None
        path = Path(self.api_key_file)
        try:
            raw = path.read_bytes()
            mode = path.stat().st_mode
        except OSError as exc:
            raise NatiqError(f"{path}: cannot read the API key file ({exc.strerror})") from None
        try:
            key = raw.decode("utf-8-sig").strip()
        except UnicodeDecodeError:
            raise NatiqError(f"{path}: the API key file is not UTF-8 text") from None
        if len(key) < 8 or any(ch.isspace() for ch in key):
            raise NatiqError(
                f"{path}: the API key must be one line of at least 8 characters without spaces"
            )
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "the API key file %s can be read by other users (mode %o); run: chmod 600 %s",
                path,
                stat.S_IMODE(mode),
                path,
            )
        return key
