"""What every route shares: settings, the speech engine, the stores, metrics.

``ServerState`` also holds the decisions several routes make the same way:
whether a text is acceptable, which voice a client's voice string means (a
stored id or name, or the model's default voice), and how a natiq error maps
to a status code.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from natiq.backends.base import SynthesisOptions, VoicePrompt
from natiq.common.errors import (
    InputTextError,
    ModelLoadError,
    NatiqError,
    TimingsUnavailableError,
)
from natiq.serve import audio_formats
from natiq.serve.engine import SpeechEngine
from natiq.serve.jobs import BatchLimits, JobLimits, JobsBusy, JobsStorageFull, JobStore
from natiq.serve.metrics import Metrics
from natiq.serve.settings import ServeSettings
from natiq.serve.voices import UploadLimits, VoiceStore, VoiceStoreFull

log = logging.getLogger("natiq.serve")

# OpenAI's preset voice names: clients send one of them by default, so they
# select this server's default voice; no stored voice may take these names.
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


class UnknownVoice(InputTextError):
    """A voice string that names no stored voice (by id or name) and no default voice (422)."""

    def __init__(self, ref: str) -> None:
        self.ref = ref
        super().__init__(
            f"unknown voice {ref[:80]!r}: use an id or name from GET /v1/voices, or upload one with POST /v1/voices"
        )


def error_status(exc: NatiqError) -> int:
    """HTTP status of a natiq error: the input's fault (422) unless it says otherwise."""
    if isinstance(exc, ModelLoadError):
        return 503
    if isinstance(exc, JobsBusy):
        return 429
    if isinstance(exc, JobsStorageFull | VoiceStoreFull):
        return 507
    return 422


class ServerState:
    """What the routes share: settings, engine, stores, metrics."""

    def __init__(self, settings: ServeSettings, synthesizer: Any) -> None:
        self.settings = settings
        self.metrics = Metrics()
        options = (
            SynthesisOptions(max_seconds=settings.max_seconds) if settings.max_seconds else None
        )
        self.engine = SpeechEngine(
            synthesizer,
            max_concurrency=settings.max_concurrency,
            max_queue=settings.max_queue,
            max_model_chars=settings.max_model_chars,
            metrics=self.metrics,
            options=options,
        )
        data_dir = Path(settings.data_dir)
        self.voices = VoiceStore(
            data_dir / "voices",
            UploadLimits(
                settings.max_upload_bytes, settings.min_upload_seconds, settings.max_upload_seconds
            ),
            max_voices=settings.max_voices,
            reserved_names=DEFAULT_VOICE_NAMES,
        )
        self.tmp_dir = data_dir / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():  # one-off uploads of a server that was killed
            leftover.unlink(missing_ok=True)
        self.formats = audio_formats.available_formats()
        self.engine.word_timer = self.word_timings
        self.aligner: Any = None  # loaded at the first request for word timings
        self._aligner_lock = threading.Lock()
        self._aligner_error: str | None = None  # why the aligner did not load, once it failed
        self.batch_limits = BatchLimits(
            settings.max_batch_items, settings.max_text_chars, self.formats
        )
        self.jobs = JobStore(
            data_dir / "jobs",
            self._render_batch_item,
            JobLimits(
                max_jobs=settings.max_jobs,
                max_queued_items=settings.max_queued_items,
                max_bytes=settings.max_jobs_bytes,
                retention_s=settings.job_retention_hours * 3600.0,
            ),
        )
        self.default_voice_error = self._probe_default_voice(synthesizer)
        self.metrics.gauge(
            "natiq_queue_depth",
            "Admitted requests waiting for a synthesis thread.",
            lambda: self.engine.gate.queued,
        )
        self.metrics.gauge(
            "natiq_running_syntheses", "Syntheses running now.", lambda: self.engine.gate.running
        )
        self.metrics.labelled_gauge(
            "natiq_batch_jobs", "Batch jobs by status.", "status", self.jobs.counts
        )
        self.metrics.gauge(
            "natiq_batch_worker_healthy",
            "1 while the batch worker runs without errors.",
            lambda: float(self.jobs.healthy),
        )
        self.metrics.gauge("natiq_voices", "Stored voices.", lambda: len(self.voices.list()))

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
                raise UnknownVoice(ref)
        if self.default_voice_error is not None:
            raise InputTextError(
                "this server's model has no default voice; choose a voice from GET /v1/voices "
                "or upload one with POST /v1/voices"
            )
        return None

    def word_timings(self, segment: Any) -> list[dict[str, Any]]:
        """The word timings of one spoken sentence as JSON objects (the aligner is loaded once).

        An aligner that cannot load is a ``TimingsUnavailableError`` (WebSocket
        code ``timings_unavailable``: the page then speaks without timings),
        remembered so later requests fail at once instead of loading again.
        """
        with self._aligner_lock:
            if self.aligner is None:
                if self._aligner_error is not None:
                    raise TimingsUnavailableError(self._aligner_error)
                from natiq.eval.alignment import AlignerConfig, WordAligner

                model = self.settings.timings_model
                log.info("loading the word aligner %s ...", model)
                try:
                    self.aligner = WordAligner(AlignerConfig(model=model))
                except (NatiqError, OSError, ValueError) as exc:
                    self._aligner_error = (
                        f"word timings are unavailable on this server: its timing model "
                        f"{model!r} did not load ({exc}); ask again without timings, or "
                        f"start the server with a --timings-model it can load"
                    )
                    log.error("%s", self._aligner_error)
                    raise TimingsUnavailableError(self._aligner_error) from exc
        return [timing.as_dict() for timing in self.aligner.sentence_timings(segment)]

    def _render_batch_item(
        self, item: dict[str, Any], stop: threading.Event
    ) -> tuple[bytes, dict[str, Any]]:
        voice = self.resolve_voice(item.get("voice"))
        text = item["text"] if "text" in item else item["input"]  # "input": jobs stored before
        words: list[dict[str, Any]] = []
        audio, timings = self.engine.synthesize_batch_item(
            text,
            voice,
            stop,
            speed=item.get("speed") or 1.0,
            on_sentence=(lambda s: words.extend(self.word_timings(s)))
            if item.get("timings")
            else None,
        )
        data = audio_formats.encode(audio, self.engine.sample_rate, item["response_format"])
        facts: dict[str, Any] = {
            "duration": round(timings.audio_s, 3),
            "rtf": round(timings.rtf, 4),
        }
        if item.get("timings"):
            facts["words"] = words
        return data, facts
