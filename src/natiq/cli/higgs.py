"""``natiq higgs``: tokenize, train, clone, merge and memory for Higgs Audio v2.

Each command builds one config object from its flags and calls the library
in ``natiq.backends.higgs``; torch and transformers are imported inside the
commands so that ``natiq --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.cli.config_options import EVAL_METRICS_OPTION, config_command
from natiq.common.errors import NatiqError

app = typer.Typer(
    help="Higgs Audio v2: LoRA fine-tuning for Arabic zero-shot voice cloning.",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Base model: hub id (hf://...) or local folder.")
]
AudioTokOpt = Annotated[
    str | None,
    typer.Option(
        "--audio-tokenizer",
        help="Audio tokenizer id/folder (default: <model>/audio_tokenizer or the released one).",
    ),
]


def _limit_threads() -> None:
    from natiq.common.runtime import limit_threads

    limit_threads()


@app.command()
def tokenize(
    chatml: Annotated[Path, typer.Option("--chatml", help="ChatML JSONL file.")],
    output_dir: Annotated[Path, typer.Option("--output-dir", help="Folder of cached codes.")],
    model: ModelOpt = None,
    audio_tokenizer: AudioTokOpt = None,
    device: Annotated[str, typer.Option("--device")] = "auto",
    max_seconds: Annotated[
        float | None, typer.Option("--max-seconds", help="Reject clips longer than this.")
    ] = None,
) -> None:
    """Encode every audio of a ChatML file once (any rate -> 24 kHz, stereo downmixed); resumable."""
    _limit_threads()
    from natiq.backends.higgs.audio_codes import CodeStore, tokenize_files
    from natiq.backends.higgs.loading import (
        audio_tokenizer_source,
        load_audio_tokenizer,
        model_source,
    )
    from natiq.common.runtime import select_device
    from natiq.data.chatml import read_chatml

    samples = read_chatml(chatml)
    codec = load_audio_tokenizer(
        audio_tokenizer_source(audio_tokenizer, model_source(model)), select_device(device)
    )
    paths = [p for s in samples for p in (s.ref_audio, s.target_audio) if p is not None]
    report = tokenize_files(codec, paths, CodeStore(output_dir), max_seconds=max_seconds)
    typer.echo(
        f"encoded {report.encoded}, already cached {report.cached}, failed {len(report.failed)}"
    )
    for failure in report.failed:
        typer.echo(f"  skipped {failure['audio']}: {failure['reason']}")


def run_train(config: HiggsTrainConfig, *, eval_metrics: bool = False) -> None:
    """LoRA fine-tuning on ChatML voice-cloning samples."""
    _limit_threads()
    from natiq.backends.higgs.trainer import run_training
    from natiq.eval.training_hook import training_sample_scorer

    scorer = training_sample_scorer(eval_metrics, device=config.device)
    result = run_training(config, sample_scorer=scorer, log=typer.echo)
    typer.echo(
        f"trained {result.steps} steps (resumed from {result.resumed_from}) on {result.samples} samples; adapter in {result.output_dir}"
    )
    for skip in result.skipped:
        typer.echo(f"  skipped {skip['id']}: {skip['reason']}")


config_command(
    app,
    HiggsTrainConfig,
    run_train,
    name="train",
    help="LoRA fine-tuning on ChatML voice-cloning samples (--resume latest continues; TensorBoard "
    "in OUTPUT_DIR/logs). Settings come from --config FILE (YAML) and the flags, which override it.",
    extra=[EVAL_METRICS_OPTION],
)


@app.command()
def clone(
    ref_audio: Annotated[
        Path | None, typer.Option("--ref-audio", help="Reference clip (any rate, mono or stereo).")
    ] = None,
    ref_text: Annotated[
        str | None, typer.Option("--ref-text", help="Transcript of the reference clip.")
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="Arabic text to speak.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Output wav (single mode).")
    ] = None,
    chatml: Annotated[
        Path | None, typer.Option("--chatml", help="Batch mode: ChatML JSONL.")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Batch mode: writes output_{i}.wav.")
    ] = None,
    adapter: Annotated[
        Path | None, typer.Option("--adapter", help="Adapter dir from `natiq higgs train`.")
    ] = None,
    model: ModelOpt = None,
    audio_tokenizer: AudioTokOpt = None,
    temperature: Annotated[float, typer.Option("--temperature", help="0 = greedy.")] = 0.3,
    top_p: Annotated[float, typer.Option("--top-p")] = 0.95,
    top_k: Annotated[int, typer.Option("--top-k")] = 50,
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Frames (25 per second).")
    ] = 1024,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    max_ref_seconds: Annotated[float, typer.Option("--max-ref-seconds")] = 30.0,
    device: Annotated[str, typer.Option("--device")] = "auto",
    quantize: Annotated[str, typer.Option("--quantize", help="none, 8bit or 4bit.")] = "none",
    system_prompt: Annotated[
        str | None,
        typer.Option(
            "--system-prompt",
            help="Override the system prompt (default: the one recorded with the adapter, "
            "else the default instruction + scene).",
        ),
    ] = None,
) -> None:
    """Speak TEXT in the voice of a reference clip, or every sample of a ChatML file.

    Greedy decoding (--temperature 0) is deterministic (no repetition-aware
    resampling). A generation that hits --max-new-tokens without the stream
    EOS is reported as a runaway.
    """
    single = any(v is not None for v in (ref_audio, ref_text, text, output))
    if single == (chatml is not None):
        raise NatiqError(
            "use either --ref-audio/--ref-text/--text/--output or --chatml/--output-dir"
        )
    if single and (ref_audio is None or text is None or output is None):
        raise NatiqError("single mode needs --ref-audio, --ref-text, --text and --output")
    if chatml is not None and output_dir is None:
        raise NatiqError("--chatml needs --output-dir")
    _limit_threads()
    from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner
    from natiq.data.audio import save_wav
    from natiq.data.chatml import read_chatml

    options = CloneOptions(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_new_tokens=max_new_tokens,
        seed=seed,
        max_ref_seconds=max_ref_seconds,
    )
    cloner = HiggsCloner.load(
        model=model,
        adapter=adapter,
        audio_tokenizer=audio_tokenizer,
        device=device,
        quantize=quantize,
        system_prompt=system_prompt,
    )
    runaway = (
        f"hit the --max-new-tokens cap ({max_new_tokens} frames) without the stream EOS: "
        "a runaway (a fine-tune that never learned to stop, or a cap too low for the text)"
    )
    if single:
        speech = cloner.clone(ref_audio, ref_text or "", text or "", options)
        save_wav(output, speech.audio, cloner.sample_rate)
        typer.echo(f"wrote {output} ({speech.audio.shape[0] / cloner.sample_rate:.2f} s)")
        if not speech.stopped:
            typer.echo(f"warning: generation {runaway}", err=True)
        return
    samples = read_chatml(chatml, lenient=True)
    report = cloner.clone_batch(samples, output_dir, options)
    typer.echo(
        f"wrote {len(report.written)} files to {output_dir}; {len(report.failures)} failed (failures.jsonl); "
        f"{len(report.runaway)} runaway (clone_report.json)"
    )
    for failure in report.failures:
        typer.echo(f"  sample {failure['index']} ({failure['id']}): {failure['reason']}")
    for item in report.runaway:
        typer.echo(f"  warning: sample {item['index']} ({item['id']}) {runaway}", err=True)


@app.command()
def merge(
    adapter: Annotated[
        Path, typer.Option("--adapter", help="Adapter dir from `natiq higgs train`.")
    ],
    output_dir: Annotated[Path, typer.Option("--output-dir")],
    model: ModelOpt = None,
    dtype: Annotated[
        str, typer.Option("--dtype", help="Weights dtype: bf16 (as released), fp16 or fp32.")
    ] = "bf16",
) -> None:
    """Merge the adapter into the base weights (from_pretrained and AutoProcessor load the folder)."""
    _limit_threads()
    from natiq.backends.higgs.merge import MergeConfig, merge_adapter

    out = merge_adapter(
        MergeConfig(adapter=adapter, output_dir=output_dir, model=model, dtype=dtype)
    )
    typer.echo(f"merged model written to {out}")


@app.command()
def memory(
    config: Annotated[
        str,
        typer.Option(
            "--config",
            help="'released' (bundled, offline), a config.json, a model folder or hub id.",
        ),
    ] = "released",
    batch_size: Annotated[int, typer.Option("--batch-size")] = 1,
    seq_len: Annotated[
        int, typer.Option("--seq-len", help="Tokens per sample (text + audio frames).")
    ] = 2048,
    target_frames: Annotated[
        int | None,
        typer.Option(
            "--target-frames",
            help="Frames of each target clip, the labelled audio (25 per second; default: half of --seq-len).",
        ),
    ] = None,
    text_tokens: Annotated[
        int,
        typer.Option("--text-tokens", help="Labelled text tokens per sample (with --text-loss)."),
    ] = 128,
    lora_r: Annotated[int, typer.Option("--lora-r")] = 16,
    lora_dropout: Annotated[float, typer.Option("--lora-dropout")] = 0.1,
    lora_targets: Annotated[
        str, typer.Option("--lora-targets")
    ] = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
    train_audio_head: Annotated[
        bool, typer.Option("--train-audio-head/--no-train-audio-head")
    ] = False,
    text_loss: Annotated[bool, typer.Option("--text-loss/--no-text-loss")] = False,
) -> None:
    """Parameter count (meta device) and estimated GPU memory for LoRA / 8-bit / 4-bit training."""
    from natiq.backends.higgs.memory import count_parameters, estimate_memory, load_config

    cfg = load_config(config)
    targets = tuple(t.strip() for t in lora_targets.split(",") if t.strip())
    counts = count_parameters(cfg, lora_r=lora_r, lora_targets=targets)
    typer.echo(
        f"parameters: {counts.total / 1e9:.2f}B total ({counts.without_text_head / 1e9:.2f}B without the text head)"
    )
    typer.echo(
        f"  text backbone {counts.text_backbone / 1e9:.2f}B, text head {counts.text_head / 1e9:.2f}B, "
        f"audio FFNs {counts.audio_ffn / 1e9:.2f}B, audio embeddings+head {counts.audio_embed_and_head / 1e9:.3f}B"
    )
    typer.echo(f"  LoRA r={lora_r}: {counts.lora / 1e6:.1f}M trainable")
    typer.echo(
        f"estimated peak GPU memory, batch {batch_size} x {seq_len} tokens, gradient checkpointing"
        f"{', text loss' if text_loss else ''}:"
    )
    for est in estimate_memory(
        cfg,
        counts,
        batch_size=batch_size,
        seq_len=seq_len,
        target_frames=target_frames,
        text_tokens=text_tokens,
        train_audio_head=train_audio_head,
        text_loss=text_loss,
        lora_dropout=lora_dropout,
    ):
        typer.echo(
            f"  {est.mode:<11} {est.total_gib:6.1f} GiB  (weights {est.weights_gib:.2f}, trainable+optimizer "
            f"{est.trainable_gib:.2f}, activations {est.activations_gib:.2f}, +{est.overhead_gib:g} GiB CUDA overhead)"
        )
