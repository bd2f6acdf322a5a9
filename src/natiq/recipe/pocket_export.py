"""An export with its default voice: what ``natiq pocket export`` and the recipe's export stage run.

``export_with_default_voice`` = ``natiq.backends.pocket.export.export_checkpoint``
(merged weights + YAML + tokenizer + front-end) followed by the default voice
(``natiq.backends.pocket.default_voice``): the clip given by the user, or the
one ``natiq.eval.voice_choice`` picks from the training speaker's clips (read
from the manifest recorded in the checkpoint, or the one given). It lives
above ``eval`` because choosing needs the speaker and SNR models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natiq.common.errors import DataFormatError, ModelLoadError
from natiq.eval.voice_choice import VoiceChoiceConfig


@dataclass
class ExportResult:
    yaml_path: Path
    default_voice: Path
    voice_info: dict[str, Any]


def training_manifest_of(checkpoint: Path) -> Path:
    """The manifest a checkpoint was trained on (its recorded ``metadata``)."""
    from natiq.training.checkpoint import read_record

    record = read_record(checkpoint)
    metadata = record.config.get("metadata")
    if not metadata:
        raise DataFormatError(f"{checkpoint}: its training record names no metadata file")
    return Path(metadata)


def export_with_default_voice(
    checkpoint: str | Path,
    output_dir: str | Path,
    *,
    name: str,
    use_ema: bool = True,
    default_voice: str | Path | None = None,
    voice_manifest: str | Path | None = None,
    voice_choice: VoiceChoiceConfig | None = None,
    log: Callable[[str], None] = print,
) -> ExportResult:
    """Export ``checkpoint`` and give it a default voice (see the module docstring)."""
    from natiq.backends.pocket.default_voice import write_default_voice
    from natiq.backends.pocket.export import export_checkpoint, load_checkpoint_model

    checkpoint = Path(checkpoint)
    clips = None
    if default_voice is None:
        manifest = Path(voice_manifest) if voice_manifest else training_manifest_of(checkpoint)
        if not manifest.is_file():
            raise ModelLoadError(
                f"cannot choose a default voice: {manifest} (the training manifest) is missing; "
                "pass --voice-manifest metadata.jsonl or --default-voice REF.wav"
            )
        from natiq.data.manifest import read_manifest

        clips = read_manifest(manifest)
    yaml_path = export_checkpoint(checkpoint, output_dir, name=name, use_ema=use_ema)
    model, _ = load_checkpoint_model(yaml_path.parent)
    if clips is not None:
        from natiq.eval.voice_choice import choose_voice_clip

        choice = choose_voice_clip(clips, voice_choice)
        info = {"chosen_by": "rule", **choice.describe()}
        source: Path = Path(choice.record.audio)
        log(
            f"default voice: {choice.record.id} of speaker {choice.speaker} "
            f"(nearest to the mean of {choice.clean} clean clips, similarity "
            f"{choice.similarity_to_mean:.3f})"
        )
        for note in choice.notes:
            log(f"note: {note}")
    else:
        source = Path(str(default_voice))
        info = {"chosen_by": "user"}
        log(f"default voice: {source.name} (given)")
    state = write_default_voice(yaml_path.parent, source, model=model, info=info)
    return ExportResult(yaml_path=yaml_path, default_voice=state, voice_info=info)
