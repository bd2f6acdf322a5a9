"""What every route shares: settings, the speech engine, the stores, metrics.

``ServerState`` also holds the two decisions several routes make the same
way: whether a text is acceptable, and which voice a client's voice string
means (a stored id or name, or the model's default voice).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.common.errors import ModelLoadError, NatiqError
from natiq.serve import audio_formats
from natiq.serve.engine import SpeechEngine
from natiq.serve.jobs import BatchLimits, JobStore
from natiq.serve.metrics import Metrics
from natiq.serve.settings import ServeSettings
from natiq.serve.voices import UploadLimits, VoiceStore

log = logging.getLogger("natiq.serve")

# OpenAI's preset voice names: clients send one of them by default, so they
# select this server's default voice unless a stored voice has that name.
OPENAI_VOICES = frozenset(
    [
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
        "fable",
        "onyx",
        "nova",
    ]
)
DEFAULT_VOICE_NAMES = OPENAI_VOICES | {"default"}


def error_status(exc: NatiqError) -> int:
    """HTTP status of a natiq error: a missing model file is the server's problem (503), the rest the input's (422)."""
    return 503 if isinstance(exc, ModelLoadError) else 422


class ServerState:
    """What the routes share: settings, engine, stores, metrics."""

    def __init__(self, settings: ServeSettings, synthesizer: Any) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.engine = SpeechEngine(
            synthesizer,
            max_concurrency=settings.max_concurrency,
            max_queue=settings.max_queue,
            metrics=self.metrics,
        )
        data_dir = Path(settings.data_dir)
        self.voices = VoiceStore(
            data_dir / "voices",
            UploadLimits(
                settings.max_upload_bytes, settings.min_upload_seconds, settings.max_upload_seconds
            ),
        )
        self.tmp_dir = data_dir / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():  # one-off uploads of a server that was killed
            leftover.unlink(missing_ok=True)
        self.formats = audio_formats.available_formats()
        self.batch_limits = BatchLimits(
            settings.max_batch_items, settings.max_text_chars, self.formats
        )
        self.jobs = JobStore(data_dir / "jobs", self._render_batch_item)
        self.options = (
            SynthesisOptions(max_seconds=settings.max_seconds) if settings.max_seconds else None
        )
        self.default_voice_error = self._probe_default_voice(synthesizer)
        self.metrics.gauge(
            "natiq_queue_depth",
            "Admitted requests waiting for a synthesis thread.",
            lambda: {"": self.engine.gate.queued},
        )
        self.metrics.gauge(
            "natiq_running_syntheses",
            "Syntheses running now.",
            lambda: {"": self.engine.gate.running},
        )
        self.metrics.gauge(
            "natiq_batch_jobs",
            "Batch jobs on disk by status.",
            lambda: {f'status="{k}"': v for k, v in self.jobs.counts().items()},
        )

    @staticmethod
    def _probe_default_voice(synthesizer: Any) -> str | None:
        """``None`` when the model has a default voice, else the reason it has none."""
        try:
            synthesizer.prepare_voice(None)
        except NatiqError as exc:
            log.warning("no default voice: %s", exc)
            return str(exc)
        return None

    def check_text(self, text: str) -> str:
        if len(text) > self.settings.max_text_chars:
            raise HTTPException(
                status_code=422,
                detail=f"the text has {len(text)} characters; this server's limit is {self.settings.max_text_chars}",
            )
        if not text.strip():
            raise HTTPException(
                status_code=422, detail="the text is empty; give some Arabic text to speak"
            )
        return text

    def resolve_voice(self, ref: str | None) -> VoicePrompt | None:
        """A stored voice by id or name; ``None`` (default voice) for no voice or an OpenAI preset name."""
        if ref is not None and ref.strip():
            voice = self.voices.find(ref)
            if voice is not None:
                return self.voices.prompt(voice)
            if ref not in DEFAULT_VOICE_NAMES:
                raise HTTPException(
                    status_code=422,
                    detail=f"unknown voice {ref[:80]!r}: use an id or name from GET /v1/voices, or upload one with POST /v1/voices",
                )
        if self.default_voice_error is not None:
            raise HTTPException(
                status_code=422,
                detail="this server's model has no default voice; choose a voice from GET /v1/voices "
                f"or upload one with POST /v1/voices ({self.default_voice_error})",
            )
        return None

    def _render_batch_item(self, item: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        try:
            voice = self.resolve_voice(item.get("voice"))
        except HTTPException as exc:
            raise NatiqError(str(exc.detail)) from None
        audio, timings = self.engine.synthesize_blocking(item["text"], voice, self.options)
        data = audio_formats.encode(audio, self.engine.sample_rate, item["response_format"])
        return data, {"duration": round(timings.audio_s, 3), "rtf": round(timings.rtf, 4)}
