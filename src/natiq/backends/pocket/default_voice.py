"""The default voice an exported Pocket model speaks with when no voice is given.

An export directory may hold, beside ``<name>.yaml``:

- ``default_voice.safetensors``: the voice state (the KV cache of the prompt),
  in pocket-tts' own format, so stock ``pocket-tts generate --voice
  default_voice.safetensors`` uses it too;
- ``default_voice.wav``: the clip it was encoded from (mono, the model's rate),
  the reference that speaker similarity is measured against;
- ``default_voice.json``: where it came from (clip id, the rule that chose it,
  its scores) — names only, never an absolute path.

``write_default_voice`` makes them from a clip or a voice state (chosen by
``natiq.eval.voice_choice`` or given by the user); ``default_voice_file``
finds the state of a model folder, and ``PocketBackend`` uses it for
``prepare_voice(None)``, so ``speak``, ``serve`` and the OpenAI preset names
all speak in it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from natiq.backends.pocket import voices
from natiq.common.files import atomic_path, atomic_write_json

DEFAULT_VOICE_STATE = "default_voice.safetensors"
DEFAULT_VOICE_CLIP = "default_voice.wav"
DEFAULT_VOICE_INFO = "default_voice.json"


def default_voice_file(model_dir: str | Path | None) -> Path | None:
    """The default voice state of a model folder (or of the folder of a model YAML), if any."""
    if model_dir is None or "://" in str(model_dir):
        return None
    folder = Path(model_dir)
    if folder.suffix in (".yaml", ".yml"):
        folder = folder.parent
    candidate = folder / DEFAULT_VOICE_STATE
    return candidate if candidate.is_file() else None


def write_default_voice(
    export_dir: str | Path, source: str | Path, *, model: Any, info: dict[str, Any]
) -> Path:
    """Write the default voice of ``export_dir`` from a clip or a voice state; return the state.

    ``model`` is the exported ``TTSModel`` (the state is its KV cache, so it
    must be made with the exported weights). A voice state given as
    ``source`` is checked against the model's layers and copied; a clip is
    checked (``voices.load_reference_audio``), encoded and also kept as
    ``default_voice.wav``. ``info`` goes into ``default_voice.json``.
    """
    import soundfile as sf

    out = Path(export_dir)
    source = Path(source)
    state_file = out / DEFAULT_VOICE_STATE
    clip_file = out / DEFAULT_VOICE_CLIP
    if voices.is_voice_state_file(source):
        voices.load_voice_state(model, source)  # refuses a state of another model
        with atomic_path(state_file) as tmp:
            shutil.copyfile(source, tmp)
        clip_file.unlink(missing_ok=True)
    else:
        rate = int(model.sample_rate)
        with atomic_path(clip_file) as tmp:
            sf.write(str(tmp), voices.load_reference_audio(source, rate), rate, subtype="PCM_16")
        # encoded from the written clip, so `--voice default_voice.wav` gives this very state
        samples = voices.load_reference_audio(clip_file, rate)
        voices.export_voice_state(voices.state_from_audio(model, samples), state_file)
    atomic_write_json(
        out / DEFAULT_VOICE_INFO,
        {
            **info,
            "source_file": source.name,
            "state": DEFAULT_VOICE_STATE,
            "clip": DEFAULT_VOICE_CLIP if clip_file.is_file() else None,
        },
    )
    return state_file
