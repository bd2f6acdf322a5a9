"""ChatML voice-cloning samples for Higgs Audio: build them from a manifest; the one reader.

A sample is system prompt, user(reference text), assistant(reference audio),
user(target text) and, for training, assistant(target audio), exactly as in
``docs/architecture.md``. Each target is paired with *other* utterances of
the same speaker; the choice is seeded per target id, so it depends only on
``seed`` and the manifest, not on record order. ``read_chatml`` is the only
reader of the format: training reads strictly, batch cloning leniently (bad
lines are reported with ``file:line`` and the others still speak).
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError
from natiq.common.files import write_jsonl
from natiq.common.rows import Rows, read_rows
from natiq.data.manifest import SPLITS, UtteranceRecord, read_manifest

DEFAULT_SCENE = "Audio is recorded from a quiet room."
TEXT_FIELDS = ("text", "text_raw", "text_romanized")


def system_prompt(scene: str = DEFAULT_SCENE) -> str:
    """Higgs Audio's generation system message with a scene description."""
    return f"Generate audio following instruction.\n\n<|scene_desc_start|>\n{scene}\n<|scene_desc_end|>"


@dataclass(frozen=True)
class ChatMLConfig:
    """What ``natiq data chatml`` builds; each field is one CLI flag."""

    metadata: Path
    output: Path
    pairs_per_utterance: int = 1
    max_ref_seconds: float | None = None
    seed: int = 0
    split: str | None = None
    text_field: str = "text"
    scene: str = DEFAULT_SCENE
    absolute_paths: bool = False


@dataclass
class ChatMLSummary:
    output: Path
    samples: int = 0
    targets: int = 0
    targets_without_reference: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ChatMLSample:
    """One voice-cloning sample as read back from a ChatML file (paths resolved).

    ``line`` is its line in the file and ``where`` its ``file:line``.
    """

    id: str
    speaker: str
    system: str
    ref_text: str
    ref_audio: Path
    target_text: str
    target_audio: Path | None
    ref_duration: float | None = None
    target_duration: float | None = None
    line: int = 0
    where: str = ""


def _text_of(record: UtteranceRecord, text_field: str) -> str:
    value = getattr(record, text_field)
    if value is None:
        raise DataFormatError(
            f"record {record.id!r} has no '{text_field}' (prepare with --romanize?)"
        )
    return str(value)


def _audio_turn(record: UtteranceRecord, base: Path, absolute: bool) -> dict[str, Any]:
    audio = Path(record.audio).resolve()
    url = audio.as_posix() if absolute else Path(os.path.relpath(audio, base)).as_posix()
    return {
        "role": "assistant",
        "content": {"type": "audio", "audio_url": url, "duration": record.duration},
    }


def choose_references(
    target: UtteranceRecord, candidates: list[UtteranceRecord], count: int, seed: int
) -> list[UtteranceRecord]:
    """Up to ``count`` distinct references for ``target``, chosen by a per-target seeded RNG."""
    pool = sorted((c for c in candidates if c.id != target.id), key=lambda c: c.id)
    rng = random.Random(f"{seed}:{target.id}")
    return rng.sample(pool, min(count, len(pool)))


def build_chatml(config: ChatMLConfig) -> ChatMLSummary:
    """Write the ChatML samples of ``config.metadata`` to ``config.output`` (atomically)."""
    if config.pairs_per_utterance < 1:
        raise DataFormatError(
            f"--pairs-per-utterance must be at least 1, got {config.pairs_per_utterance}"
        )
    if config.text_field not in TEXT_FIELDS:
        raise DataFormatError(
            f"--text-field must be one of {TEXT_FIELDS}, got {config.text_field!r}"
        )
    if config.split is not None and config.split not in SPLITS:
        raise DataFormatError(f"--split must be one of {SPLITS}, got {config.split!r}")
    records = read_manifest(config.metadata, split=config.split, require=("duration",))
    by_speaker: dict[str, list[UtteranceRecord]] = defaultdict(list)
    for record in records:
        by_speaker[record.speaker].append(record)
    base = Path(config.output).resolve().parent
    system = system_prompt(config.scene)
    summary = ChatMLSummary(output=Path(config.output))
    samples: list[dict[str, Any]] = []
    for target in sorted(records, key=lambda r: r.id):
        summary.targets += 1
        candidates = [
            r
            for r in by_speaker[target.speaker]
            if config.max_ref_seconds is None or r.duration <= config.max_ref_seconds
        ]
        references = choose_references(target, candidates, config.pairs_per_utterance, config.seed)
        if not references:
            summary.targets_without_reference.append(target.id)
            continue
        for reference in references:
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": _text_of(reference, config.text_field)},
                _audio_turn(reference, base, config.absolute_paths),
                {"role": "user", "content": _text_of(target, config.text_field)},
                _audio_turn(target, base, config.absolute_paths),
            ]
            sample_id = f"{target.id}__ref_{reference.id}"
            samples.append({"id": sample_id, "speaker": target.speaker, "messages": messages})
    summary.samples = write_jsonl(config.output, samples)
    return summary


def _expect_text(messages: list[Any], index: int, role: str) -> str:
    if index >= len(messages):
        raise DataFormatError(f"missing turn {index + 1} ({role} text)")
    turn = messages[index]
    if (
        not isinstance(turn, dict)
        or turn.get("role") != role
        or not isinstance(turn.get("content"), str)
    ):
        raise DataFormatError(f"turn {index + 1} must be a {role} turn with text content")
    return turn["content"]


def _expect_audio(messages: list[Any], index: int, base: Path) -> tuple[Path, float | None]:
    if index >= len(messages):
        raise DataFormatError(f"missing turn {index + 1} (assistant audio)")
    turn = messages[index]
    content = turn.get("content") if isinstance(turn, dict) else None
    if (
        not isinstance(turn, dict)
        or turn.get("role") != "assistant"
        or not isinstance(content, dict)
        or content.get("type") != "audio"
        or not isinstance(content.get("audio_url"), str)
    ):
        raise DataFormatError(f"turn {index + 1} must be an assistant audio turn with an audio_url")
    url = Path(content["audio_url"])
    duration = content.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float) or duration <= 0
    ):
        raise DataFormatError(f"turn {index + 1}: 'duration' must be a positive number")
    return (url if url.is_absolute() else (base / url).resolve()), (
        float(duration) if duration is not None else None
    )


def sample_from_dict(
    data: dict[str, Any], *, base: Path, line: int = 0, where: str = ""
) -> ChatMLSample:
    """Validate one ChatML object; audio paths are resolved against ``base``."""
    if not isinstance(data.get("id"), str) or not data["id"]:
        raise DataFormatError("missing 'id'")
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise DataFormatError("missing 'messages' list")
    if len(messages) > 5:
        raise DataFormatError(f"expected at most 5 turns, got {len(messages)}")
    system = _expect_text(messages, 0, "system")
    ref_text = _expect_text(messages, 1, "user")
    ref_audio, ref_duration = _expect_audio(messages, 2, base)
    target_text = _expect_text(messages, 3, "user")
    target_audio, target_duration = None, None
    if len(messages) == 5:
        target_audio, target_duration = _expect_audio(messages, 4, base)
    return ChatMLSample(
        id=data["id"],
        speaker=str(data.get("speaker", "")),
        system=system,
        ref_text=ref_text,
        ref_audio=ref_audio,
        target_text=target_text,
        target_audio=target_audio,
        ref_duration=ref_duration,
        target_duration=target_duration,
        line=line,
        where=where,
    )


def read_chatml(path: str | os.PathLike[str], *, lenient: bool = False) -> Rows[ChatMLSample]:
    """Read and validate a ChatML file; audio paths are resolved against the file's folder.

    The final assistant (target audio) turn is optional, as at inference time.
    Strict by default: a bad sample or a duplicate id raises ``DataFormatError``
    naming ``file:line``; ``lenient=True`` returns the good samples and lists
    the bad ones in ``.bad``.
    """
    source = Path(path)
    base = source.resolve().parent
    return read_rows(
        source,
        lambda data, line: sample_from_dict(data, base=base, line=line, where=f"{source}:{line}"),
        lenient=lenient,
        key=lambda sample: sample.id,
    )
