"""``natiq pocket``: Mimi latents, training and export for Pocket TTS.

A thin layer over ``natiq.backends.pocket``: each ``train`` flag is one field
of ``PocketTrainConfig`` (defaults come from there), heavy libraries are
imported inside the commands so ``natiq --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from natiq.backends.pocket.train_config import PocketTrainConfig

app = typer.Typer(help="Pocket TTS: encode latents, fine-tune (LoRA or full), export.", no_args_is_help=True)

D = PocketTrainConfig()


@app.command()
def latents(
    metadata: Path = typer.Option(..., help="metadata.jsonl written by `natiq data prepare`"),
    output_dir: Path = typer.Option(..., help="where latents/ and metadata_latents.jsonl go"),
    base: str = typer.Option(D.base, help="pocket-tts language, local YAML config or hf:// config"),
    device: str = typer.Option(D.device, help="auto, cpu, cuda or cuda:N"),
    limit: int | None = typer.Option(None, help="encode only the first N records (for a quick look)"),
) -> None:
    """Mimi-encode every utterance once (resumable); writes metadata_latents.jsonl."""
    from natiq.backends.pocket.latents import extract_latents

    summary = extract_latents(metadata, output_dir, base=base, device=device, limit=limit)
    typer.echo(
        f"{summary.written} utterances ({summary.encoded} encoded, {summary.reused} reused), "
        f"{summary.total_frames} frames -> {summary.manifest}"
    )
    if summary.rejected:
        typer.echo(f"{len(summary.rejected)} rejected; see {summary.manifest.parent / 'latents_rejects.jsonl'}")


@app.command()
def train(
    metadata: Path = typer.Option(..., help="metadata.jsonl, or metadata_latents.jsonl with --use-precomputed-latents"),
    checkpoint_dir: Path = typer.Option(Path(D.checkpoint_dir), help="run directory (step_N/ checkpoints, logs, samples)"),
    base: str = typer.Option(D.base, help="base model: pocket-tts language, YAML config or hf:// config"),
    text_mode: str = typer.Option(D.text_mode, help="romanized (base tokenizer) or native (new tokenizer, new embedding)"),
    scheme: str = typer.Option(D.scheme, help="romanization scheme for --text-mode romanized"),
    train_scope: str = typer.Option(D.train_scope, help="text, flow, text+flow or full"),
    objective: str = typer.Option(D.objective, help="lsd (1-step decodable) or flow-matching"),
    batch_size: int = typer.Option(D.batch_size),
    grad_accum: int = typer.Option(D.grad_accum, help="micro-batches per optimizer step"),
    lr: float = typer.Option(D.lr, help="peak learning rate (AdamW)"),
    weight_decay: float = typer.Option(D.weight_decay),
    warmup_steps: int = typer.Option(D.warmup_steps),
    max_steps: int = typer.Option(D.max_steps),
    save_every: int = typer.Option(D.save_every),
    eval_every: int = typer.Option(D.eval_every, help="0 = never"),
    eval_samples: int = typer.Option(D.eval_samples, help="sentences generated as wav at each eval"),
    keep_last: int = typer.Option(D.keep_last, help="checkpoints kept"),
    use_lora: bool = typer.Option(D.use_lora, "--use-lora/--no-lora"),
    lora_rank: int = typer.Option(D.lora_rank),
    lora_alpha: float = typer.Option(D.lora_alpha),
    lora_dropout: float = typer.Option(D.lora_dropout),
    use_precomputed_latents: bool = typer.Option(
        D.use_precomputed_latents, "--use-precomputed-latents/--encode-on-the-fly"
    ),
    prompt_seconds: float = typer.Option(D.prompt_seconds, help="length of the voice prompt prefix"),
    seed: int = typer.Option(D.seed),
    resume: str | None = typer.Option(D.resume, help="a step_N/ checkpoint or 'latest'"),
    precision: str = typer.Option(D.precision, help="auto, fp32, bf16 or fp16 (GPU only; CPU runs fp32)"),
    ema: float = typer.Option(D.ema, help="EMA decay of the trained weights, 0 = off (recipe: 0.999)"),
    grad_clip: float = typer.Option(D.grad_clip, help="max gradient norm, 0 = off"),
    eos_weight: float = typer.Option(D.eos_weight, help="weight of the EOS loss"),
    device: str = typer.Option(D.device, help="auto, cpu or cuda (multi-GPU: accelerate launch)"),
    log_every: int = typer.Option(D.log_every, help="steps between TensorBoard points"),
) -> None:
    """Fine-tune Pocket TTS (LoRA or full) with the LSD or flow-matching objective."""
    from natiq.backends.pocket.trainer import train as run_training

    config = PocketTrainConfig(
        metadata=str(metadata),
        checkpoint_dir=str(checkpoint_dir),
        base=base,
        text_mode=text_mode,  # type: ignore[arg-type]
        scheme=scheme,
        train_scope=train_scope,  # type: ignore[arg-type]
        objective=objective,  # type: ignore[arg-type]
        batch_size=batch_size,
        grad_accum=grad_accum,
        lr=lr,
        weight_decay=weight_decay,
        warmup_steps=warmup_steps,
        max_steps=max_steps,
        save_every=save_every,
        eval_every=eval_every,
        eval_samples=eval_samples,
        keep_last=keep_last,
        use_lora=use_lora,
        lora_rank=lora_rank,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        use_precomputed_latents=use_precomputed_latents,
        prompt_seconds=prompt_seconds,
        seed=seed,
        resume=resume,
        precision=precision,  # type: ignore[arg-type]
        ema=ema,
        grad_clip=grad_clip,
        eos_weight=eos_weight,
        device=device,
        log_every=log_every,
    )
    result = run_training(config, log=typer.echo)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.losses.items()))
    typer.echo(f"finished at step {result.step}: {losses}")
    typer.echo(f"last checkpoint: {result.checkpoint}")
    for reason in result.skipped:
        typer.echo(f"note: {reason}")


@app.command()
def export(
    checkpoint: Path = typer.Option(..., help="a step_N/ training checkpoint"),
    output_dir: Path = typer.Option(..., help="directory for <name>.yaml + .safetensors + tokenizer"),
    name: str = typer.Option("natiq_arabic", help="file stem of the exported model"),
    use_ema: bool = typer.Option(True, "--use-ema/--no-ema", help="export EMA weights when the checkpoint has them"),
) -> None:
    """Merge LoRA and write a model the stock `pocket-tts generate --config` loads."""
    from natiq.backends.pocket.export import export_checkpoint

    yaml_path = export_checkpoint(checkpoint, output_dir, name=name, use_ema=use_ema)
    typer.echo(f"exported: {yaml_path}")
    typer.echo(f"try: pocket-tts generate --config {yaml_path} --voice REF.wav --text '...'")
