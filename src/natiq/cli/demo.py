"""``natiq demo``: the whole pipeline, offline, in about a minute.

bundled mini-corpus -> ``natiq data prepare`` -> Pocket latents -> a few LoRA
steps on a tiny random model -> export (a YAML + safetensors the stock
``pocket-tts generate --config`` loads) -> speak -> ``report.md`` and
``report.json``. Each stage calls the same public function its CLI command
calls and writes its own folder under the output dir, so any stage's files
can be inspected or reused.

The model is tiny and starts from random weights, so the demo's speech is not
intelligible: the demo shows the pipeline works end to end, not quality.
"""

from __future__ import annotations

import contextlib
import platform
import shlex
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from natiq.common.errors import DataFormatError
from natiq.common.files import atomic_write_json, atomic_write_text

DEMO_TEXT = "مَرْحَبًا بِكُمْ. هَذَا صَوْتُ نَاطِقٍ."
EXPORT_NAME = "natiq_demo"


@dataclass
class DemoConfig:
    """Settings of ``natiq demo``; each is one flag or a fixed demo choice."""

    output_dir: Path = Path("natiq-demo")
    train_steps: int = 12
    batch_size: int = 4
    lora_rank: int = 4
    scheme: str = "buckwalter"
    text: str = DEMO_TEXT
    seed: int = 0


@dataclass
class StageRecord:
    name: str
    seconds: float
    outputs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def run_demo(config: DemoConfig, *, log: Callable[[str], None] = print) -> Path:
    """Run every stage into ``config.output_dir``; return the path of ``report.md``."""
    out = Path(config.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    stages: list[StageRecord] = []
    facts: dict[str, Any] = {}
    started = time.perf_counter()

    def stage(name: str, action: Callable[[StageRecord], None]) -> None:
        log(f"[demo] {name} ...")
        record = StageRecord(name=name, seconds=0.0)
        began = time.perf_counter()
        action(record)
        record.seconds = time.perf_counter() - began
        stages.append(record)
        log(f"[demo] {name}: {record.seconds:.1f} s")

    def base(record: StageRecord) -> None:
        from natiq.backends.pocket.tiny import write_tiny_model

        facts["base_yaml"] = write_tiny_model(out / "base", seed=config.seed)
        record.outputs["base config"] = str(facts["base_yaml"])
        record.notes.append(
            "random weights: a tiny shrunken copy of pocket-tts's english LSD config"
        )

    def prepare(record: StageRecord) -> None:
        from natiq.data.mini_corpus import mini_corpus_manifest
        from natiq.data.prepare import PrepareConfig, run_prepare
        from natiq.data.transcripts import TextOptions

        summary = run_prepare(
            PrepareConfig(
                output_dir=out / "data",
                manifest=mini_corpus_manifest(),
                text=TextOptions(diacritics="keep", romanize=config.scheme),
                val_fraction=0.1,
                progress=False,
            )
        )
        facts["metadata"] = out / "data" / "metadata.jsonl"
        facts["utterances"] = summary.kept
        record.outputs["manifest"] = str(facts["metadata"])
        record.notes.append(
            f"{summary.kept} utterances ({summary.train} train, {summary.val} val), {summary.rejected} rejected"
        )

    def latents(record: StageRecord) -> None:
        from natiq.backends.pocket.latents import extract_latents

        summary = extract_latents(
            facts["metadata"], out / "latents", base=str(facts["base_yaml"]), device="cpu"
        )
        facts["latents_manifest"] = summary.manifest
        record.outputs["latents manifest"] = str(summary.manifest)
        record.notes.append(
            f"{summary.encoded} encoded, {summary.reused} reused, {summary.total_frames} frames"
        )

    def train(record: StageRecord) -> None:
        from natiq.backends.pocket.train_config import PocketTrainConfig
        from natiq.backends.pocket.trainer import train as train_pocket
        from natiq.training.checkpoint import list_checkpoints

        run_dir = out / "checkpoints"
        done = (
            [path for step, path in list_checkpoints(run_dir) if step >= config.train_steps]
            if run_dir.exists()
            else []
        )
        if done:
            facts["checkpoint"] = done[-1]
            record.notes.append(
                f"skipped: {done[-1].name} already exists (delete {run_dir} to train again)"
            )
        else:
            result = train_pocket(
                PocketTrainConfig(
                    metadata=str(facts["latents_manifest"]),
                    output_dir=str(run_dir),
                    base=str(facts["base_yaml"]),
                    text_mode="romanized",
                    scheme=config.scheme,
                    use_lora=True,
                    lora_r=config.lora_rank,
                    per_device_train_batch_size=config.batch_size,
                    max_steps=config.train_steps,
                    save_steps=config.train_steps,
                    warmup_steps=max(1, config.train_steps // 10),
                    eval_steps=0,
                    logging_steps=max(1, config.train_steps // 5),
                    seed=config.seed,
                    device="cpu",
                ),
                log=lambda line: log(f"        {line}"),
            )
            facts["checkpoint"] = result.checkpoint
            facts["losses"] = result.losses
            record.notes += [f"{result.step} LoRA steps", *result.skipped]
        record.outputs["checkpoint"] = str(facts["checkpoint"])

    def export(record: StageRecord) -> None:
        from pocket_tts import TTSModel

        from natiq.backends.pocket.export import export_checkpoint

        facts["export_yaml"] = export_checkpoint(
            facts["checkpoint"], out / "export", name=EXPORT_NAME
        )
        export_yaml = Path(facts["export_yaml"])
        # the export's paths are relative to its folder; stock pocket-tts reads them from the cwd
        with contextlib.chdir(export_yaml.parent):
            stock = TTSModel.load_model(config=export_yaml.name)
        record.notes.append(
            f"stock pocket-tts TTSModel.load_model loads it from its folder ({sum(p.numel() for p in stock.parameters()):,} parameters)"
        )
        record.outputs["export config"] = str(facts["export_yaml"])
        record.outputs["export weights"] = str(
            Path(facts["export_yaml"]).with_suffix(".safetensors")
        )

    def speak(record: StageRecord) -> None:
        from natiq.data.audio import save_wav
        from natiq.synthesizer import Synthesizer

        synth = Synthesizer.load("pocket", checkpoint=out / "export", device="cpu")
        voice = _first_audio(facts["metadata"])
        result = synth.speak(config.text, voice=voice)
        wav = save_wav(out / "speech.wav", result.audio, result.sample_rate)
        facts["speech"] = {
            "path": str(wav),
            "sample_rate": result.sample_rate,
            "timings": result.timings,
        }
        facts["model_text"] = [sentence.model_text for sentence in result.sentences]
        record.outputs["speech"] = str(wav)
        record.outputs["voice prompt"] = str(voice)
        record.notes.append(
            f"{result.timings['audio_s']:.2f} s of audio, first chunk {result.timings['first_chunk_s'] * 1000:.0f} ms, real-time factor {result.timings['rtf']:.2f}"
        )

    for name, action in (
        ("tiny base model", base),
        ("data prepare", prepare),
        ("pocket latents", latents),
        ("LoRA training", train),
        ("export", export),
        ("speak", speak),
    ):
        stage(name, action)

    report = {
        "output_dir": str(out),
        "total_seconds": time.perf_counter() - started,
        "text": config.text,
        "model_text": facts.get("model_text"),
        "speech": facts.get("speech"),
        "losses": facts.get("losses", {}),
        "config": {key: str(value) for key, value in asdict(config).items()},
        "machine": platform.platform(),
        "stages": [asdict(record) for record in stages],
        "stock_command": stock_command(facts),
    }
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", render_report(report))
    return out / "report.md"


def stock_command(facts: dict[str, Any]) -> str:
    """The stock pocket-tts command line that speaks the demo's model text with the export."""
    text = " ".join(facts.get("model_text") or [])
    parts = [
        "pocket-tts",
        "generate",
        "--config",
        str(facts["export_yaml"]),
        "--voice",
        str(_first_audio(facts["metadata"])),
        "--text",
        text,
    ]
    return "HF_HUB_OFFLINE=1 " + shlex.join(parts)


def _first_audio(metadata: Path) -> Path:
    """The first prepared utterance: the demo's voice prompt."""
    from natiq.data.manifest import read_manifest

    records = read_manifest(metadata)
    if not records:
        raise DataFormatError(f"{metadata}: no utterances")
    return records[0].audio


def render_report(report: dict[str, Any]) -> str:
    """``report.md``: what ran, where its files are, how long it took, the losses."""
    lines = [
        "# natiq demo report",
        "",
        f"Everything ran offline in {report['total_seconds']:.1f} s on `{report['machine']}`.",
        "",
        "The model is tiny and was trained for a few steps from random weights: the speech is",
        "**not intelligible**. The demo proves the pipeline; real speech needs the pretrained",
        "kyutai/pocket-tts weights and hours of Arabic data (see docs/speaking.md).",
        "",
        "| stage | seconds | outputs | notes |",
        "| --- | ---: | --- | --- |",
    ]
    for stage in report["stages"]:
        outputs = "<br>".join(f"{key}: `{value}`" for key, value in stage["outputs"].items())
        lines.append(
            f"| {stage['name']} | {stage['seconds']:.1f} | {outputs} | {'; '.join(stage['notes'])} |"
        )
    lines += ["", "## Speech", ""]
    speech = report.get("speech") or {}
    if speech:
        timings = speech["timings"]
        lines += [
            f"- text: {report['text']}",
            f"- model text (the recorded front-end's output): `{' | '.join(report['model_text'] or [])}`",
            f"- wav: `{speech['path']}` ({speech['sample_rate']} Hz, {timings['audio_s']:.2f} s)",
            f"- first chunk {timings['first_chunk_s'] * 1000:.0f} ms, total {timings['total_s']:.2f} s, real-time factor {timings['rtf']:.2f}",
        ]
    if report["losses"]:
        lines += ["", "## Final training losses", ""]
        lines += [f"- {name}: {value:.4f}" for name, value in sorted(report["losses"].items())]
    lines += [
        "",
        "## The export loads in stock pocket-tts",
        "",
        "```",
        report["stock_command"],
        "```",
        "",
    ]
    return "\n".join(lines)


def demo(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", help="Folder for every stage's files and the report.")
    ] = Path("natiq-demo"),
    steps: Annotated[
        int | None, typer.Option("--steps", help="LoRA training steps (default: the demo's own).")
    ] = None,
) -> None:
    """The whole pipeline offline in ~2 minutes: mini-corpus -> prepare -> latents -> LoRA -> export -> speak -> report."""
    config = (
        DemoConfig(output_dir=output_dir)
        if steps is None
        else DemoConfig(output_dir=output_dir, train_steps=steps)
    )
    report = run_demo(config, log=typer.echo)
    typer.echo(f"report: {report}")


def register(app: typer.Typer) -> None:
    """Attach ``demo`` to the root app."""
    app.command("demo")(demo)
