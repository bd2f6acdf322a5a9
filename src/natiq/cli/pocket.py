"""``natiq pocket``: Mimi latents, training and export for Pocket TTS.

A thin layer over ``natiq.backends.pocket``: the ``train`` options are derived
from ``PocketTrainConfig`` (one flag per field, defaults and help from there,
``--config run.yaml`` for a file); heavy libraries are imported inside the
commands so ``natiq --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from natiq.backends.pocket.train_config import PocketTrainConfig
from natiq.cli.config_options import EVAL_METRICS_OPTION, config_command

app = typer.Typer(
    help="Pocket TTS: encode latents, fine-tune (LoRA or full), export.", no_args_is_help=True
)

BASE_DEFAULT = PocketTrainConfig.model_fields["base"].default
TRIM = PocketTrainConfig.model_fields["speech_trim"].default_factory()


@app.command()
def latents(
    metadata: Annotated[Path, typer.Option(help="metadata.jsonl written by `natiq data prepare`")],
    output_dir: Annotated[Path, typer.Option(help="where latents/ and metadata_latents.jsonl go")],
    base: Annotated[
        str, typer.Option(help="pocket-tts language, local YAML config or hf:// config")
    ] = BASE_DEFAULT,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = "auto",
    limit: Annotated[
        int | None, typer.Option(help="encode only the first N records (for a quick look)")
    ] = None,
    trim_trailing_silence: Annotated[
        bool,
        typer.Option(
            "--trim-trailing-silence/--keep-trailing-silence",
            help="end each target shortly after its last speech (silero-vad), as pocket-tts does",
        ),
    ] = TRIM.trim_trailing_silence,
    trail_seconds: Annotated[
        float, typer.Option(help="audio kept after the last speech")
    ] = TRIM.trail_seconds,
) -> None:
    """Mimi-encode every utterance once (resumable); writes metadata_latents.jsonl.

    Targets end shortly after their last speech and each record lists where a
    voice prompt cut from it ends in a pause (see docs/pocket-training.md).
    """
    from natiq.backends.pocket.latents import extract_latents

    trim = TRIM.model_copy(
        update={"trim_trailing_silence": trim_trailing_silence, "trail_seconds": trail_seconds}
    )
    summary = extract_latents(
        metadata, output_dir, base=base, device=device, limit=limit, trim=trim
    )
    typer.echo(
        f"{summary.written} utterances ({summary.encoded} encoded, {summary.reused} reused), "
        f"{summary.total_frames} frames -> {summary.manifest}"
    )
    if summary.rejected:
        typer.echo(
            f"{len(summary.rejected)} rejected; see {summary.manifest.parent / 'latents_rejects.jsonl'}"
        )


def run_train(config: PocketTrainConfig, *, eval_metrics: bool = False) -> None:
    """Fine-tune Pocket TTS (LoRA or full) with the LSD or flow-matching objective."""
    from natiq.backends.pocket.trainer import train as run_training
    from natiq.eval.training_hook import training_sample_scorer

    scorer = training_sample_scorer(eval_metrics, device=config.device)
    result = run_training(config, sample_scorer=scorer, log=typer.echo)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.losses.items()))
    typer.echo(f"finished at step {result.step}: {losses}")
    typer.echo(f"last checkpoint: {result.checkpoint}")
    for reason in result.skipped:
        typer.echo(f"note: {reason}")


config_command(
    app,
    PocketTrainConfig,
    run_train,
    name="train",
    help="Fine-tune Pocket TTS (LoRA or full) with the LSD or flow-matching objective. "
    "Settings come from --config FILE (YAML) and the flags, which override it.",
    extra=[EVAL_METRICS_OPTION],
)


@app.command()
def export(
    checkpoint: Annotated[Path, typer.Option(help="a step_N/ training checkpoint")],
    output_dir: Annotated[
        Path, typer.Option(help="directory for <name>.yaml + .safetensors + tokenizer")
    ],
    name: Annotated[str, typer.Option(help="file stem of the exported model")] = "natiq_arabic",
    use_ema: Annotated[
        bool,
        typer.Option("--use-ema/--no-ema", help="export EMA weights when the checkpoint has them"),
    ] = True,
    default_voice: Annotated[
        Path | None,
        typer.Option(
            "--default-voice",
            help="clip (any rate) or voice state that speaks when no voice is given "
            "(default: chosen from the training speaker's clips, see docs/train-your-voice.md)",
        ),
    ] = None,
    voice_manifest: Annotated[
        Path | None,
        typer.Option(
            "--voice-manifest",
            help="metadata.jsonl to choose the default voice from (default: the checkpoint's training manifest)",
        ),
    ] = None,
) -> None:
    """Merge LoRA and write a model the stock `pocket-tts generate --config` loads, with a default voice."""
    from natiq.backends.pocket.export import stock_tool_warnings
    from natiq.recipe.pocket_export import export_with_default_voice

    result = export_with_default_voice(
        checkpoint,
        output_dir,
        name=name,
        use_ema=use_ema,
        default_voice=default_voice,
        voice_manifest=voice_manifest,
        log=typer.echo,
    )
    yaml_path = result.yaml_path
    typer.echo(f"exported: {yaml_path} (paths relative to its folder)")
    typer.echo(
        f"try: cd {yaml_path.parent} && pocket-tts generate --config {yaml_path.name} "
        f"--voice {result.default_voice.name} --text '...'   (or publish it: natiq hub push DIR REPO)"
    )
    for warning in stock_tool_warnings(yaml_path.parent):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
