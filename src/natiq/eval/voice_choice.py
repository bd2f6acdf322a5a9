"""Which training clip becomes a model's default voice: a documented, repeatable rule.

A fine-tuned single-speaker model should speak in its speaker's voice when no
reference clip is given. The rule (``choose_voice_clip``):

1. the training speaker: ``speaker`` if set, else the speaker with the most
   ``train`` clips (ties: the first name in sorted order);
2. candidates: that speaker's ``train`` clips lasting ``min_seconds`` to
   ``max_seconds`` (Pocket TTS clones best from 3-10 s); at most
   ``max_candidates`` of them, taken in the order of a hash of their id (a
   fixed, unbiased sample of a large corpus);
3. clean clips: candidates whose SNR (``natiq.eval.quality.estimate_snr_db``)
   is at least ``min_snr_db``;
4. the chosen clip: the clean clip whose speaker embedding
   (``natiq.eval.speaker``, resemblyzer by default) is nearest (cosine) to
   the mean embedding of the clean clips — the most typical recording of the
   voice, not an outlier. Ties go to the smaller id.

When a step leaves nothing (no clip in the duration range, none clean), it is
relaxed — all of the speaker's clips, all candidates — and the relaxation is
recorded in ``notes``. This module only chooses; writing the voice into an
export is the backend's (``natiq.backends.pocket.default_voice``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from natiq.common.errors import AudioInputError, DataFormatError
from natiq.data.audio import load_audio
from natiq.data.manifest import UtteranceRecord
from natiq.data.splits import id_hash
from natiq.eval.speaker import DEFAULT_SPEAKER_MODEL, SPEAKER_SAMPLE_RATE

RULE = (
    "the training speaker's train clip nearest (cosine) to the mean speaker embedding "
    "of its clean clips (SNR >= min_snr_db, min_seconds..max_seconds long)"
)


class VoiceChoiceConfig(BaseModel):
    """Settings of the default-voice rule (the recipe's ``export.voice_choice``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speaker: str | None = Field(None, description="speaker id (default: the most frequent one)")
    min_seconds: float = Field(3.0, gt=0, description="shortest candidate clip")
    max_seconds: float = Field(12.0, gt=0, description="longest candidate clip")
    min_snr_db: float = Field(25.0, description="SNR a clip needs to count as clean")
    max_candidates: int = Field(200, ge=1, description="clips examined at most")
    speaker_model: str = Field(DEFAULT_SPEAKER_MODEL, description="speaker embedding model")


@dataclass(frozen=True)
class Candidate:
    record: UtteranceRecord
    seconds: float
    snr_db: float | None
    similarity: float | None = None


@dataclass
class VoiceChoice:
    """The chosen clip and why."""

    record: UtteranceRecord
    speaker: str
    snr_db: float | None
    similarity_to_mean: float
    candidates: int
    clean: int
    notes: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """JSON facts for ``default_voice.json`` (no absolute paths)."""
        return {
            "rule": RULE,
            "clip_id": self.record.id,
            "speaker": self.speaker,
            "text": self.record.text,
            "snr_db": None if self.snr_db is None else round(self.snr_db, 2),
            "similarity_to_mean": round(self.similarity_to_mean, 4),
            "candidates": self.candidates,
            "clean": self.clean,
            "notes": self.notes,
        }


def training_speaker(records: Sequence[UtteranceRecord], wanted: str | None = None) -> str:
    """``wanted`` (checked), else the speaker with the most clips (ties: sorted first)."""
    counts = Counter(record.speaker for record in records)
    if not counts:
        raise DataFormatError("no training clips to choose a default voice from")
    if wanted is not None:
        if wanted not in counts:
            raise DataFormatError(
                f"speaker {wanted!r} has no training clip (speakers: {', '.join(sorted(counts))})"
            )
        return wanted
    top = max(counts.values())
    return sorted(name for name, count in counts.items() if count == top)[0]


def _seconds(record: UtteranceRecord) -> float:
    if record.duration is not None:
        return float(record.duration)
    import soundfile as sf

    info = sf.info(str(record.audio))
    return info.frames / float(info.samplerate)


def candidate_clips(
    records: Sequence[UtteranceRecord], config: VoiceChoiceConfig
) -> tuple[str, list[tuple[UtteranceRecord, float]], list[str]]:
    """Steps 1-2 of the rule: the speaker, its candidate clips with durations, and notes."""
    train = [r for r in records if r.split == "train"] or list(records)
    notes: list[str] = []
    speaker = training_speaker(train, config.speaker)
    clips = [(r, _seconds(r)) for r in train if r.speaker == speaker]
    fitting = [(r, s) for r, s in clips if config.min_seconds <= s <= config.max_seconds]
    if not fitting:
        notes.append(
            f"no clip of {speaker} lasts {config.min_seconds:g}-{config.max_seconds:g} s: "
            "all its clips were candidates"
        )
        fitting = clips
    fitting.sort(key=lambda item: (id_hash(item[0].id), item[0].id))
    return speaker, fitting[: config.max_candidates], notes


def choose_voice_clip(
    records: Sequence[UtteranceRecord],
    config: VoiceChoiceConfig | None = None,
    *,
    encoder: Any = None,
    vad: Any = None,
) -> VoiceChoice:
    """Apply the rule (module docstring) to a manifest's records; models load when not given."""
    from natiq.eval.quality import estimate_snr_db

    config = config or VoiceChoiceConfig()
    speaker, clips, notes = candidate_clips(records, config)
    if encoder is None:
        from natiq.eval.speaker import load_speaker_encoder

        encoder = load_speaker_encoder(config.speaker_model, device="cpu")
    if vad is None:
        from natiq.eval.quality import VoiceActivityDetector

        vad = VoiceActivityDetector()

    scored: list[tuple[Candidate, np.ndarray]] = []
    for record, seconds in clips:
        try:
            samples, _ = load_audio(record.audio, SPEAKER_SAMPLE_RATE)
            snr = estimate_snr_db(samples, vad.detect(samples))
            embedding = np.asarray(encoder.embed(samples), dtype=np.float64)
        except AudioInputError as exc:
            notes.append(f"{record.id} skipped: {exc}")
            continue
        scored.append((Candidate(record, seconds, snr), embedding))
    if not scored:
        raise AudioInputError(
            f"none of speaker {speaker}'s clips could be read or embedded; "
            "give the default voice yourself (--default-voice REF.wav)"
        )
    clean = [(c, e) for c, e in scored if c.snr_db is not None and c.snr_db >= config.min_snr_db]
    if not clean:
        notes.append(f"no candidate reaches {config.min_snr_db:g} dB SNR: all were compared")
        clean = scored
    chosen, similarity = nearest_to_mean(clean)
    return VoiceChoice(
        record=chosen.record,
        speaker=speaker,
        snr_db=chosen.snr_db,
        similarity_to_mean=similarity,
        candidates=len(scored),
        clean=len(clean),
        notes=notes,
    )


def nearest_to_mean(scored: Sequence[tuple[Candidate, np.ndarray]]) -> tuple[Candidate, float]:
    """The candidate whose unit embedding has the highest cosine to the mean unit embedding.

    Ties (equal to 1e-9) go to the smaller id.
    """
    ordered = sorted(scored, key=lambda item: item[0].record.id)
    units = np.stack([e / np.linalg.norm(e) for _, e in ordered])
    mean = units.mean(axis=0)
    similarities = units @ (mean / np.linalg.norm(mean))
    best = 0
    for index in range(1, len(ordered)):
        if similarities[index] > similarities[best] + 1e-9:
            best = index
    return ordered[best][0], float(similarities[best])
