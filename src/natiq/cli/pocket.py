"""``natiq pocket``: Mimi latents, training and export for Pocket TTS.

A thin layer over ``natiq.backends.pocket``: each ``train`` flag is one field
of ``PocketTrainConfig`` (defaults come from there), heavy libraries are
imported inside the commands so ``natiq --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from natiq.backends.pocket.train_config import PocketTrainConfig

app = typer.Typer(
    help="Pocket TTS: encode latents, fine-tune (LoRA or full), export.", no_args_is_help=True
)

D = PocketTrainConfig()


@app.command()
def latents(
    metadata: Annotated[Path, typer.Option(help="metadata.jsonl written by `natiq data prepare`")],
    output_dir: Annotated[Path, typer.Option(help="where latents/ and metadata_latents.jsonl go")],
    base: Annotated[
        str, typer.Option(help="pocket-tts language, local YAML config or hf:// config")
    ] = D.base,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N")] = D.device,
    limit: Annotated[
        int | None, typer.Option(help="encode only the first N records (for a quick look)")
    ] = None,
) -> None:
    """Mimi-encode every utterance once (resumable); writes metadata_latents.jsonl."""
    from natiq.backends.pocket.latents import extract_latents

    summary = extract_latents(metadata, output_dir, base=base, device=device, limit=limit)
    typer.echo(
        f"{summary.written} utterances ({summary.encoded} encoded, {summary.reused} reused), "
        f"{summary.total_frames} frames -> {summary.manifest}"
    )
    if summary.rejected:
        typer.echo(
            f"{len(summary.rejected)} rejected; see {summary.manifest.parent / 'latents_rejects.jsonl'}"
        )


@app.command()
def train(
    metadata: Annotated[
        Path,
        typer.Option(
            help="metadata.jsonl, or metadata_latents.jsonl with --use-precomputed-latents"
        ),
    ],
    checkpoint_dir: Annotated[
        Path, typer.Option(help="run directory (step_N/ checkpoints, logs, samples)")
    ] = Path(D.checkpoint_dir),
    base: Annotated[
        str, typer.Option(help="base model: pocket-tts language, YAML config or hf:// config")
    ] = D.base,
    text_mode: Annotated[
        str,
        typer.Option(help="romanized (base tokenizer) or native (new tokenizer, new embedding)"),
    ] = D.text_mode,
    scheme: Annotated[
        str, typer.Option(help="romanization scheme for --text-mode romanized")
    ] = D.scheme,
    native_tokenizer: Annotated[
        str,
        typer.Option(
            help="--text-mode native: sentencepiece (BPE, n_bins pieces) or char (one piece per character)"
        ),
    ] = D.native_tokenizer,
    train_scope: Annotated[str, typer.Option(help="text, flow, text+flow or full")] = D.train_scope,
    objective: Annotated[
        str, typer.Option(help="lsd (1-step decodable) or flow-matching")
    ] = D.objective,
    batch_size: Annotated[int, typer.Option()] = D.batch_size,
    grad_accum: Annotated[
        int, typer.Option(help="micro-batches per optimizer step")
    ] = D.grad_accum,
    lr: Annotated[float, typer.Option(help="peak learning rate (AdamW)")] = D.lr,
    weight_decay: Annotated[float, typer.Option()] = D.weight_decay,
    warmup_steps: Annotated[int, typer.Option()] = D.warmup_steps,
    max_steps: Annotated[int, typer.Option()] = D.max_steps,
    save_every: Annotated[int, typer.Option()] = D.save_every,
    eval_every: Annotated[int, typer.Option(help="0 = never")] = D.eval_every,
    eval_samples: Annotated[
        int, typer.Option(help="sentences generated as wav at each eval")
    ] = D.eval_samples,
    keep_last: Annotated[int, typer.Option(help="checkpoints kept")] = D.keep_last,
    use_lora: Annotated[bool, typer.Option("--use-lora/--no-lora")] = D.use_lora,
    lora_rank: Annotated[int, typer.Option()] = D.lora_rank,
    lora_alpha: Annotated[float, typer.Option()] = D.lora_alpha,
    lora_dropout: Annotated[float, typer.Option()] = D.lora_dropout,
    use_precomputed_latents: Annotated[
        bool, typer.Option("--use-precomputed-latents/--encode-on-the-fly")
    ] = D.use_precomputed_latents,
    prompt_seconds: Annotated[
        float, typer.Option(help="length of the voice prompt prefix")
    ] = D.prompt_seconds,
    seed: Annotated[int, typer.Option()] = D.seed,
    resume: Annotated[str | None, typer.Option(help="a step_N/ checkpoint or 'latest'")] = D.resume,
    precision: Annotated[
        str, typer.Option(help="auto, fp32, bf16 or fp16 (GPU only; CPU runs fp32)")
    ] = D.precision,
    ema: Annotated[
        float, typer.Option(help="EMA decay of the trained weights, 0 = off (recipe: 0.999)")
    ] = D.ema,
    grad_clip: Annotated[float, typer.Option(help="max gradient norm, 0 = off")] = D.grad_clip,
    eos_weight: Annotated[float, typer.Option(help="weight of the EOS loss")] = D.eos_weight,
    device: Annotated[
        str, typer.Option(help="auto, cpu or cuda (multi-GPU: accelerate launch)")
    ] = D.device,
    log_every: Annotated[int, typer.Option(help="steps between TensorBoard points")] = D.log_every,
    eval_metrics: Annotated[
        bool,
        typer.Option(
            "--eval-metrics/--no-eval-metrics",
            help="score each eval's samples with natiq eval (CER/WER, speaker similarity, "
            "DNSMOS; logged as eval/<metric>); slower evals",
        ),
    ] = False,
) -> None:
    """Fine-tune Pocket TTS (LoRA or full) with the LSD or flow-matching objective."""
    from natiq.backends.pocket.trainer import train as run_training
    from natiq.eval.training_hook import training_sample_scorer

    config = PocketTrainConfig(
        metadata=str(metadata),
        checkpoint_dir=str(checkpoint_dir),
        base=base,
        text_mode=text_mode,  # type: ignore[arg-type]
        scheme=scheme,
        native_tokenizer=native_tokenizer,  # type: ignore[arg-type]
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
    scorer = training_sample_scorer(eval_metrics, device=device)
    result = run_training(config, sample_scorer=scorer, log=typer.echo)
    losses = ", ".join(f"{k} {v:.4f}" for k, v in sorted(result.losses.items()))
    typer.echo(f"finished at step {result.step}: {losses}")
    typer.echo(f"last checkpoint: {result.checkpoint}")
    for reason in result.skipped:
        typer.echo(f"note: {reason}")


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
) -> None:
    """Merge LoRA and write a model the stock `pocket-tts generate --config` loads."""
    from natiq.backends.pocket.export import export_checkpoint, stock_tool_warnings

    yaml_path = export_checkpoint(checkpoint, output_dir, name=name, use_ema=use_ema)
    typer.echo(f"exported: {yaml_path} (paths relative to its folder)")
    typer.echo(
        f"try: cd {yaml_path.parent} && pocket-tts generate --config {yaml_path.name} "
        "--voice REF.wav --text '...'   (or publish it: natiq hub push DIR REPO)"
    )
    for warning in stock_tool_warnings(yaml_path.parent):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
