"""Everything the server can be told, in one frozen dataclass.

Every ``natiq serve`` flag maps to exactly one field here, and the defaults
live only here. The API key itself is never a field (it would end up in
process listings and logs): the server reads it from ``api_key_file``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from natiq.common.errors import NatiqError

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    backend: str = "pocket"
    model: str | None = None
    checkpoint: str | None = None
    device: str = "auto"
    api_key_file: Path | None = None
    max_concurrency: int = 1
    max_queue: int = 8
    data_dir: Path = Path("natiq-serve-data")
    max_text_chars: int = 2000
    max_upload_bytes: int = 10 * MIB
    max_upload_seconds: float = 30.0
    min_upload_seconds: float = 0.5
    max_body_bytes: int = 12 * MIB
    max_batch_items: int = 200
    max_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise NatiqError("--max-concurrency must be at least 1")
        if self.max_queue < 0:
            raise NatiqError("--max-queue must be 0 or more")
        if self.max_text_chars < 1:
            raise NatiqError("--max-text-chars must be at least 1")
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
        if self.max_batch_items < 1:
            raise NatiqError("--max-batch-items must be at least 1")

    def read_api_key(self) -> str | None:
        """The configured key (file contents, surrounding whitespace removed), or ``None``."""
        if self.api_key_file is None:
            return None
        path = Path(self.api_key_file)
        try:
            key = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise NatiqError(f"{path}: cannot read the API key file ({exc.strerror})") from None
        if len(key) < 8 or any(ch.isspace() for ch in key):
            raise NatiqError(
                f"{path}: the API key must be one line of at least 8 characters without spaces"
            )
        return key
