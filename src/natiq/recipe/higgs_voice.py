"""The default voice of a merged Higgs model: a reference clip and its transcript beside the weights.

Higgs clones a voice from a clip *and* the words spoken in it, so its default
voice is ``default_voice.wav`` (24 kHz mono) with ``default_voice.txt`` (the
transcript, the sidecar ``HiggsBackend`` reads for any ``--voice ref.wav``) and
``default_voice.json`` (which clip, the rule that chose it). ``HiggsBackend``
uses them when no voice is given, so ``speak``, ``serve`` and the OpenAI
preset names work with a merged model as they do with a Pocket export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from natiq.common.files import atomic_write_json, atomic_write_text

HIGGS_SAMPLE_RATE = 24000


def write_reference_voice(
    folder: str | Path, clip: str | Path, transcript: str, info: dict[str, Any]
) -> Path:
    """Write ``default_voice.wav`` / ``.txt`` / ``.json`` into ``folder``; return the clip."""
    from natiq.backends.higgs.synthesis import DEFAULT_VOICE_CLIP
    from natiq.data.audio import load_audio, save_wav

    out = Path(folder)
    target = out / DEFAULT_VOICE_CLIP
    samples, _ = load_audio(clip, target_sr=HIGGS_SAMPLE_RATE)
    save_wav(target, samples, HIGGS_SAMPLE_RATE)
    atomic_write_text(target.with_suffix(".txt"), transcript.strip() + "\n")
    atomic_write_json(
        target.with_suffix(".json"),
        {
            **info,
            "source_file": Path(clip).name,
            "clip": target.name,
            "transcript": target.with_suffix(".txt").name,
        },
    )
    return target
