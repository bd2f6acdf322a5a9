"""``natiq eval``: score generated speech, rebuild a report, compare two evaluations.

Each flag maps to one field of ``EvalCommandConfig`` (and through it to
``natiq.eval.runner.EvalConfig``); the commands only call the library.
Model libraries are imported inside the commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from natiq.common.errors import NatiqError

app = typer.Typer(
    help="Evaluate generated speech: CER/WER (Whisper), speaker similarity, DNSMOS, SNR, RTF, HTML report.",
    invoke_without_command=True,
    no_args_is_help=False,
)

DEFAULT_OUTPUT_DIR = Path("eval-results")


@dataclass
class EvalCommandConfig:
    """Everything ``natiq eval`` can be told; one field per flag."""

    manifest: Path | None = None
    generated: Path | None = None
    reference: Path | None = None
    split: str | None = None
    output_dir: Path = DEFAULT_OUTPUT_DIR
    asr_model: str = "packaged:base"
    asr_beam_size: int = 5
    language: str = "ar"
    speaker_model: str = "resemblyzer"
    device: str = "auto"
    no_asr: bool = False
    no_speaker: bool = False
    no_quality: bool = False
    run_dir: Path | None = None
    overwrite: bool = False
    limit: int | None = None

    def validate(self) -> EvalCommandConfig:
        if (self.manifest is None) == (self.generated is None):
            raise NatiqError(
                "give either --manifest GENERATED.jsonl or --generated DIR with --reference metadata.jsonl"
            )
        if self.generated is not None and self.reference is None:
            raise NatiqError(
                "--generated DIR needs --reference metadata.jsonl (texts and natural recordings by id)"
            )
        if self.manifest is not None and (self.reference is not None or self.split is not None):
            raise NatiqError("--reference and --split go with --generated, not with --manifest")
        if self.limit is not None and self.limit < 1:
            raise NatiqError(f"--limit must be at least 1, got {self.limit}")
        return self

    def eval_config(self) -> Any:
        from natiq.eval.asr import AsrConfig
        from natiq.eval.runner import EvalConfig

        return EvalConfig(
            asr=AsrConfig(
                model=self.asr_model,
                language=self.language,
                beam_size=self.asr_beam_size,
                device=self.device,
            ),
            speaker_model=self.speaker_model,
            device=self.device,
            intelligibility=not self.no_asr,
            similarity=not self.no_speaker,
            quality=not self.no_quality,
        )


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """What ``natiq eval`` prints: counts, per-utterance means/medians, corpus CER/WER."""
    counts = summary["counts"]
    lines = [
        f"{counts['total']} utterances: {counts['ok']} ok, {counts['partial']} partial, {counts['failed']} failed"
        + (f" ({summary['resumed']} kept from an earlier run)" if summary.get("resumed") else "")
    ]
    for name in ("cer", "wer", "speaker_similarity", "dnsmos_ovrl", "rtf"):
        if name in summary["metrics"]:
            stats = summary["metrics"][name]
            lines.append(
                f"  {name}: mean {stats['mean']:.4f}  median {stats['median']:.4f}  (n={stats['count']})"
            )
    corpus = summary.get("corpus") or {}
    if corpus:
        figures = ", ".join(f"{name.upper()} {value:.4f}" for name, value in sorted(corpus.items()))
        lines.append(
            f"  corpus {figures} (all errors over all reference characters/words; "
            "the means above weigh every utterance alike)"
        )
    return lines


def run_eval(config: EvalCommandConfig) -> dict[str, Any]:
    from natiq.eval.manifest import pair_generated_dir, read_generated_manifest
    from natiq.eval.results import REPORT_FILE
    from natiq.eval.runner import run_evaluation

    config.validate()
    extra: dict[str, Any] = {}
    if config.manifest is not None:
        items = read_generated_manifest(config.manifest)
        extra["manifest"] = str(config.manifest)
    else:
        assert config.generated is not None and config.reference is not None
        paired = pair_generated_dir(config.generated, config.reference, split=config.split)
        items = paired.items
        extra["unmatched_generated"] = paired.unmatched_generated
        if paired.unmatched_generated:
            typer.echo(
                f"{len(paired.unmatched_generated)} generated wav(s) have no reference row and were skipped"
            )
    if config.limit is not None:
        items = items[: config.limit]

    def progress(row: dict[str, Any]) -> None:
        cer = f"CER {row['cer']:.3f}" if "cer" in row else ""
        typer.echo(f"{row['id']}: {row['status']} {cer} {row['error'] or ''}".rstrip())

    summary = run_evaluation(
        items,
        config.output_dir,
        config=config.eval_config(),
        overwrite=config.overwrite,
        extra=extra,
        run_dir=config.run_dir,
        progress=progress,
    )
    for line in summary_lines(summary):
        typer.echo(line)
    typer.echo(f"results in {config.output_dir} (report: {config.output_dir / REPORT_FILE})")
    return summary


@app.callback()
def evaluate(
    ctx: typer.Context,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest", help="Generated manifest JSONL (id, audio, text, reference_audio?, ...)."
        ),
    ] = None,
    generated: Annotated[
        Path | None,
        typer.Option("--generated", help="Folder of generated <id>.wav files (with --reference)."),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(
            "--reference",
            help="metadata.jsonl (or a speak batch file) giving text and reference audio by id.",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="With --reference: only rows of this split (e.g. val)."),
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option("--output-dir", help="Folder for results.jsonl, summary.json, report.html."),
    ] = DEFAULT_OUTPUT_DIR,
    asr_model: Annotated[
        str,
        typer.Option(
            "--asr-model",
            help="faster-whisper model: packaged:base (offline), a name/hub id, or a CTranslate2 folder.",
        ),
    ] = "packaged:base",
    asr_beam_size: Annotated[
        int, typer.Option("--asr-beam-size", help="Whisper beam size (1 = greedy, faster).")
    ] = 5,
    language: Annotated[
        str, typer.Option("--language", help="Language code passed to Whisper.")
    ] = "ar",
    speaker_model: Annotated[
        str,
        typer.Option(
            "--speaker-model",
            help="resemblyzer (offline) or wavlm:<folder or hub id> (WavLMForXVector).",
        ),
    ] = "resemblyzer",
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
    no_asr: Annotated[
        bool, typer.Option("--no-asr", help="Skip transcription (no CER/WER).")
    ] = False,
    no_speaker: Annotated[
        bool, typer.Option("--no-speaker", help="Skip speaker similarity.")
    ] = False,
    no_quality: Annotated[
        bool, typer.Option("--no-quality", help="Skip DNSMOS, SNR and silence.")
    ] = False,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir", help="Training run folder whose TensorBoard curves go into the report."
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Discard earlier results in --output-dir instead of resuming."
        ),
    ] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Evaluate only the first N utterances.")
    ] = None,
) -> None:
    """Score generated speech (see docs/evaluation.md); resumes into an existing --output-dir."""
    if ctx.invoked_subcommand is not None:
        return
    run_eval(
        EvalCommandConfig(
            manifest=manifest,
            generated=generated,
            reference=reference,
            split=split,
            output_dir=output_dir,
            asr_model=asr_model,
            asr_beam_size=asr_beam_size,
            language=language,
            speaker_model=speaker_model,
            device=device,
            no_asr=no_asr,
            no_speaker=no_speaker,
            no_quality=no_quality,
            run_dir=run_dir,
            overwrite=overwrite,
            limit=limit,
        )
    )


@app.command("report")
def report(
    output_dir: Annotated[
        Path, typer.Argument(help="An evaluation folder (holds results.jsonl and summary.json).")
    ],
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run-dir", help="Training run folder whose TensorBoard curves go into the report."
        ),
    ] = None,
) -> None:
    """Rebuild report.html of an evaluation folder (e.g. to add training curves)."""
    from natiq.eval.report import write_report

    typer.echo(f"wrote {write_report(output_dir, run_dir=run_dir)}")


@app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="First evaluation folder (or its summary.json).")],
    run_b: Annotated[Path, typer.Argument(help="Second evaluation folder (or its summary.json).")],
) -> None:
    """Side-by-side means of two evaluations, and which is better per metric."""
    from rich.console import Console
    from rich.table import Table

    from natiq.eval.compare import comparability_warnings, compare_summaries, load_summary

    summary_a, summary_b = load_summary(run_a), load_summary(run_b)
    table = Table(title=f"A = {run_a}    B = {run_b}")
    for header in ("metric", "A", "B", "B - A", "better"):
        table.add_column(header, justify="left" if header in ("metric", "better") else "right")

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.4f}"

    for row in compare_summaries(summary_a, summary_b):
        table.add_row(row.name, cell(row.a), cell(row.b), cell(row.delta), row.better)
    counts = [
        f"{s['counts']['total']} utts, {s['counts']['failed']} failed"
        for s in (summary_a, summary_b)
    ]
    table.caption = f"A: {counts[0]}   B: {counts[1]}"
    console = Console()
    console.print(table)
    for warning in comparability_warnings(summary_a, summary_b):
        console.print(f"[yellow]warning:[/yellow] {warning}")
