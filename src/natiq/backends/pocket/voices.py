"""Voice prompts for Pocket TTS: a reference clip, or a voice state exported once.

Pocket TTS conditions on a voice by running the reference clip through the
Mimi encoder and the FlowLM, which leaves a KV-cache "model state". Encoding
costs time, so the state can be exported to ``.safetensors`` once
(``natiq voice export``) and reloaded instantly. This module turns what a user
gives (a wav of any rate or channel count, an exported state, or nothing) into
that state, and refuses unusable input with an ``AudioInputError`` that names
the file. It does not generate speech.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from natiq.common.errors import AudioInputError, CheckpointMismatchError, ModelLoadError
from natiq.common.files import atomic_path
from natiq.data.audio import load_audio

# A reference clip quieter than this everywhere has no voice to clone.
SILENCE_PEAK_DBFS = -60.0
# Shorter clips do not give the encoder a single full Mimi frame (80 ms) of speech.
MIN_REFERENCE_SECONDS = 0.25
VOICE_STATE_SUFFIX = ".safetensors"

ModelState = dict[str, dict[str, torch.Tensor]]


def is_voice_state_file(path: str | Path) -> bool:
    """An exported voice state is recognised by its ``.safetensors`` suffix."""
    return Path(path).suffix.lower() == VOICE_STATE_SUFFIX


def load_reference_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read a reference clip as mono float32 at ``sample_rate``; reject silent or tiny clips."""
    samples, _ = load_audio(path, target_sr=sample_rate)
    if not np.all(np.isfinite(samples)):
        raise AudioInputError(f"{path}: the audio contains NaN or infinite samples")
    seconds = samples.size / sample_rate
    if seconds < MIN_REFERENCE_SECONDS:
        raise AudioInputError(
            f"{path}: the reference clip lasts {seconds:.2f} s; give at least "
            f"{MIN_REFERENCE_SECONDS} s of speech (3-10 s works best)"
        )
    peak = float(np.max(np.abs(samples)))
    peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    if peak_dbfs < SILENCE_PEAK_DBFS:
        raise AudioInputError(
            f"{path}: the reference clip is silent (peak {peak_dbfs:.0f} dBFS); "
            "record or choose a clip in which the voice is audible"
        )
    return samples


def state_from_audio(model: Any, samples: np.ndarray) -> ModelState:
    """Encode mono samples (at the model's rate) into a voice state."""
    from natiq.backends.pocket.base_model import require_mimi_encoder

    require_mimi_encoder(model)
    tensor = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None, :]
    # pocket-tts runs this under no_grad; inference_mode tensors would slow the later state copies.
    return model.get_state_for_audio_prompt(tensor)


def load_voice_state(model: Any, path: str | Path) -> ModelState:
    """Load an exported voice state and check that it fits ``model``'s layers."""
    from pocket_tts.modules.stateful_module import init_states
    from safetensors import SafetensorError

    source = Path(path)
    if not source.is_file():
        raise AudioInputError(f"{source}: voice state file not found")
    try:
        state = model.get_state_for_audio_prompt(source)
    except (SafetensorError, OSError, ValueError) as exc:
        raise AudioInputError(
            f"{source}: not a readable voice state ({exc}); create one with "
            "`natiq voice export REF.wav OUT.safetensors`"
        ) from None
    expected = init_states(model.flow_lm, batch_size=1, sequence_length=1)
    if set(state) != set(expected):
        raise CheckpointMismatchError(
            f"{source}: this voice state was exported from a model with other layers "
            f"({len(state)} modules, this model has {len(expected)}); export it again "
            "with this model"
        )
    for module_name, module_state in expected.items():
        cache = module_state.get("cache")
        saved = state[module_name].get("cache")
        if cache is not None and (saved is None or _cache_shape_differs(cache, saved)):
            raise CheckpointMismatchError(
                f"{source}: the attention cache of {module_name!r} has shape "
                f"{None if saved is None else tuple(saved.shape)}, this model needs "
                f"{tuple(cache.shape)} (any length); export the voice again with this model"
            )
    return state


def _cache_shape_differs(expected: torch.Tensor, saved: torch.Tensor) -> bool:
    """KV caches are ``[2, batch, length, heads, head_dim]``; only the length may differ."""
    if saved.ndim != expected.ndim:
        return True
    return any(
        a != b for i, (a, b) in enumerate(zip(expected.shape, saved.shape, strict=True)) if i != 2
    )


def export_voice_state(state: ModelState, path: str | Path) -> Path:
    """Write a voice state atomically in the format ``pocket-tts`` reads back."""
    from pocket_tts.models.model_state import export_model_state

    target = Path(path)
    if not is_voice_state_file(target):
        raise AudioInputError(
            f"{target}: a voice state must be saved with the {VOICE_STATE_SUFFIX} suffix"
        )
    trimmed = {
        name: {key: value.contiguous() for key, value in module.items()}
        for name, module in state.items()
    }
    with atomic_path(target) as tmp:
        export_model_state(trimmed, tmp)
    return target


def default_voice_source(model: Any, custom_weights: bool) -> str:
    """The voice pocket-tts would pick: a predefined state for stock weights, else a clip.

    Both live on Hugging Face; the caller downloads them (which fails offline).
    """
    from pocket_tts.default_parameters import get_default_voice_for_language
    from pocket_tts.utils.config import CONFIGS_DIR
    from pocket_tts.utils.utils import _ORIGINS_OF_PREDEFINED_VOICES, get_predefined_voice

    origin = getattr(model, "origin", None)
    stock = origin is not None and not custom_weights and Path(origin).is_relative_to(CONFIGS_DIR)
    if stock:
        name = get_default_voice_for_language(Path(origin).stem)
        return get_predefined_voice(language=Path(origin).stem, name=name)
    return _ORIGINS_OF_PREDEFINED_VOICES["alba"]


def load_default_voice(model: Any, custom_weights: bool) -> ModelState:
    """The model's default voice when it can be had (cached or online), else a clear error."""
    from pocket_tts.utils.utils import download_if_necessary

    source = default_voice_source(model, custom_weights)
    try:
        local = download_if_necessary(source)
    except Exception as exc:
        raise ModelLoadError(
            f"no voice was given and the default voice ({source}) cannot be fetched "
            f"({type(exc).__name__}); pass a reference clip with --voice REF.wav "
            "or a state made by `natiq voice export`"
        ) from None
    if is_voice_state_file(local):
        return load_voice_state(model, local)
    return state_from_audio(model, load_reference_audio(local, model.sample_rate))
