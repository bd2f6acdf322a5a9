"""``natiq data``: prepare a speech corpus and build ChatML voice-cloning samples.

Each flag maps to one field of ``natiq.data.prepare.PrepareConfig`` (through
``AudioOptions`` / ``TextOptions``) or ``natiq.data.chatml.ChatMLConfig``;
the commands only build the config, call the library and print its summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Speech data: prepare corpora into metadata.jsonl, build ChatML samples.",
    no_args_is_help=True,
)


@app.command()
def prepare(
    output_dir: Annotated[
        Path, typer.Option(help="Folder for audio/, metadata.jsonl, rejects.jsonl.")
    ],
    dataset: Annotated[
        str | None,
        typer.Option(
            help="'clartts' (MBZUAI/ClArTTS), another Hub id or a local folder of parquet files with its schema."
        ),
    ] = None,
    dataset_split: Annotated[str, typer.Option(help="Split of --dataset to read.")] = "train",
    manifest: Annotated[
        Path | None,
        typer.Option(help="Input manifest .jsonl or .csv with audio, text[, id, speaker]."),
    ] = None,
    audio_dir: Annotated[
        Path | None,
        typer.Option(help="Folder of audio + .txt pairs, or LJSpeech-style with metadata.csv."),
    ] = None,
    transcript_format: Annotated[
        str, typer.Option(help="'arabic' or 'buckwalter' transcripts.")
    ] = "arabic",
    keep_diacritics: Annotated[
        bool,
        typer.Option(
            "--keep-diacritics/--strip-diacritics", help="Keep or strip harakat in 'text'."
        ),
    ] = True,
    romanize: Annotated[
        str | None,
        typer.Option(
            help="Also write text_romanized with this scheme (buckwalter, arabizi, latin, ipa)."
        ),
    ] = None,
    diacritize: Annotated[
        str,
        typer.Option(
            help="'auto' fills missing harakat with the offline diacritizer (with --keep-diacritics)."
        ),
    ] = "off",
    sample_rate: Annotated[int, typer.Option(help="Sample rate of the written wavs (Hz).")] = 24000,
    min_duration: Annotated[
        float, typer.Option(help="Reject shorter utterances (seconds, after trimming).")
    ] = 0.5,
    max_duration: Annotated[
        float, typer.Option(help="Reject longer utterances (seconds, after trimming).")
    ] = 30.0,
    loudness: Annotated[
        float | None, typer.Option(help="Normalize integrated loudness to this LUFS (e.g. -23).")
    ] = None,
    trim_silence: Annotated[
        bool,
        typer.Option(
            "--trim-silence/--no-trim-silence",
            help="Trim leading/trailing non-speech with silero-vad.",
        ),
    ] = False,
    silence_dbfs: Annotated[
        float, typer.Option(help="Reject audio whose RMS level is below this (dBFS).")
    ] = -60.0,
    max_clip_fraction: Annotated[
        float,
        typer.Option(help="Reject audio with more than this fraction of samples at full scale."),
    ] = 0.001,
    val_fraction: Annotated[
        float, typer.Option(help="Fraction of each speaker's utterances put in 'val'.")
    ] = 0.02,
    num_workers: Annotated[int, typer.Option(help="Worker processes for audio processing.")] = 1,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N items (of this shard).")
    ] = None,
    shard: Annotated[
        str,
        typer.Option(help="i/n: process only bucket i of n (by id hash), for several machines."),
    ] = "0/1",
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Turn a corpus into mono wavs + metadata.jsonl; resumable (re-run to continue)."""
    from natiq.data.prepare import PrepareConfig, Shard, run_prepare
    from natiq.data.processing import AudioOptions
    from natiq.data.transcripts import TextOptions

    config = PrepareConfig(
        output_dir=output_dir,
        dataset=dataset,
        dataset_split=dataset_split,
        manifest=manifest,
        audio_dir=audio_dir,
        text=TextOptions(
            diacritics="keep" if keep_diacritics else "strip",
            romanize=romanize,
            transcript_format=transcript_format,  # type: ignore[arg-type]
            diacritize=diacritize,  # type: ignore[arg-type]
        ),
        audio=AudioOptions(
            sample_rate=sample_rate,
            min_duration=min_duration,
            max_duration=max_duration,
            loudness=loudness,
            trim_silence=trim_silence,
            silence_dbfs=silence_dbfs,
            max_clip_fraction=max_clip_fraction,
        ),
        val_fraction=val_fraction,
        num_workers=num_workers,
        limit=limit,
        shard=Shard.parse(shard),
        progress=progress,
    )
    summary = run_prepare(config)
    for line in summary.lines():
        typer.echo(line)


@app.command()
def chatml(
    metadata: Annotated[Path, typer.Option(help="metadata.jsonl written by `natiq data prepare`.")],
    output: Annotated[Path, typer.Option(help="ChatML JSONL file to write.")],
    pairs_per_utterance: Annotated[int, typer.Option(help="References per target utterance.")] = 1,
    max_ref_seconds: Annotated[
        float | None, typer.Option(help="Only use references up to this long.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the reference choice.")] = 0,
    split: Annotated[
        str | None, typer.Option(help="Only 'train' or 'val' records (default: all).")
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="Record field used as text: text, text_raw or text_romanized.")
    ] = "text",
    scene: Annotated[
        str, typer.Option(help="Scene description in the system prompt.")
    ] = "Audio is recorded from a quiet room.",
    absolute_paths: Annotated[
        bool,
        typer.Option(
            "--absolute-paths/--relative-paths",
            help="audio_url absolute, or relative to the output's folder.",
        ),
    ] = False,
) -> None:
    """Build voice-cloning samples: each target paired with other utterances of its speaker."""
    from natiq.data.chatml import ChatMLConfig, build_chatml

    summary = build_chatml(
        ChatMLConfig(
            metadata=metadata,
            output=output,
            pairs_per_utterance=pairs_per_utterance,
            max_ref_seconds=max_ref_seconds,
            seed=seed,
            split=split,
            text_field=text_field,
            scene=scene,
            absolute_paths=absolute_paths,
        )
    )
    typer.echo(f"wrote {summary.samples} samples for {summary.targets} targets to {summary.output}")
    if summary.targets_without_reference:
        missing = summary.targets_without_reference
        typer.echo(
            f"skipped {len(missing)} targets with no other utterance of their speaker: {', '.join(missing[:10])}"
        )
