"""The stages of a Pocket recipe, each a thin call of the library function its command calls.

| stage    | folder      | calls (the same code as)                                        |
| -------- | ----------- | --------------------------------------------------------------- |
| base     | ``base/``   | ``write_tiny_model`` (``--tiny`` only: a random tiny base)       |
| prepare  | ``data/``   | ``run_prepare`` (``natiq data prepare``)                        |
| latents  | ``latents/``| ``extract_latents`` (``natiq pocket latents``; ``train.speech_trim``) |
| train    | ``train/``  | ``pocket.trainer.train`` (``natiq pocket train``)               |
| export   | ``export/`` | ``export_with_default_voice`` (``natiq pocket export``)         |
| evaluate | ``evaluate/``| ``natiq.recipe.evaluate`` + ``run_evaluation`` (``natiq eval``) |
| card     | ``model/``  | ``natiq.recipe.card`` (the export + ``README.md``)               |
| publish  | ``publish/``| the Hub upload of ``model/`` (``publish.repo`` set)              |

A stage declares its settings (what, changed, makes it run again), the
earlier stages it reads and the external files it depends on, and how it
runs (``resume`` tells it that its own interrupted work may be continued).
The runner (``natiq.recipe.runner``) decides skipping, resuming and clearing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natiq.recipe.config import Recipe
from natiq.recipe.state import StageRecord, fingerprint

# Train settings that do not change the trained weights (never a reason to retrain).
TRAIN_SETTINGS_IGNORED = (
    "output_dir",
    "metadata",
    "resume",
    "logging_steps",
    "keep_last",
    "device",
)
TINY_BASE_NAME = "tiny"


@dataclass
class RunContext:
    """What every stage of one run sees."""

    recipe: Recipe
    run_dir: Path
    log: Callable[[str], None] = print
    progress: bool = True
    records: dict[str, StageRecord] = field(default_factory=dict)

    def path(self, stage: str, key: str) -> Path:
        """An output of an earlier stage (recorded relative to the run folder)."""
        return self.run_dir / self.records[stage].outputs[key]

    def relative(self, path: Path) -> str:
        return Path(os.path.relpath(Path(path).resolve(), self.run_dir)).as_posix()


class Stage:
    """One step of a recipe; subclasses fill in the four parts."""

    name: str = ""
    folder: str = ""
    reads: tuple[str, ...] = ()

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {}

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return {}

    def nothing_to_do(self, ctx: RunContext) -> str | None:
        """A reason this stage has nothing to do in this recipe (then it is recorded as done)."""
        return None

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        raise NotImplementedError

    def inputs(self, ctx: RunContext) -> dict[str, str]:
        found = {
            f"stage {name}": str(ctx.records[name].output_fingerprint)
            for name in self.reads
            if name in ctx.records
        }
        return {**found, **self.external_inputs(ctx)}

    def output_dir(self, ctx: RunContext) -> Path:
        return ctx.run_dir / self.folder


def _local_fingerprint(value: str | Path | None) -> str:
    """A local file/folder's fingerprint; a name (``english``, ``clartts``, ``hf://``) as itself."""
    if value is None:
        return "none"
    path = Path(str(value))
    return fingerprint(path) if "://" not in str(value) and path.exists() else f"name:{value}"


class BaseStage(Stage):
    name, folder = "base", "base"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {"seed": ctx.recipe.tiny.seed, "name": TINY_BASE_NAME}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.pocket.tiny import write_tiny_model

        yaml_path = write_tiny_model(
            self.output_dir(ctx), seed=ctx.recipe.tiny.seed, name=TINY_BASE_NAME
        )
        ctx.log("tiny random base (not a real voice): " + ctx.relative(yaml_path))
        return {"yaml": ctx.relative(yaml_path)}


class PrepareStage(Stage):
    name, folder = "prepare", "data"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        config = ctx.recipe.prepare
        return {**config.recorded(), "limit": config.limit, "shard": asdict(config.shard)}

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        config = ctx.recipe.prepare
        source = config.manifest or config.audio_dir or config.dataset
        return {"corpus": _local_fingerprint(source)}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        import dataclasses

        from natiq.data.prepare import METADATA_NAME, run_prepare

        config = dataclasses.replace(ctx.recipe.prepare, progress=ctx.progress)
        summary = run_prepare(config)
        for line in summary.lines():
            ctx.log(line)
        return {
            "metadata": ctx.relative(config.output_dir / METADATA_NAME),
            "kept": summary.kept,
            "train": summary.train,
            "val": summary.val,
            "rejected": summary.rejected,
            "hours": summary.hours,
        }


def _base_input(ctx: RunContext) -> dict[str, str]:
    return {} if ctx.recipe.tiny.enabled else {"base": _local_fingerprint(ctx.recipe.train.base)}


class LatentsStage(Stage):
    name, folder = "latents", "latents"
    reads = ("base", "prepare")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {
            "base": _setting_path(ctx, ctx.recipe.train.base),
            "speech_trim": ctx.recipe.train.speech_trim.model_dump(mode="json"),
        }

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return _base_input(ctx)

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.pocket.latents import extract_latents

        summary = extract_latents(
            ctx.path("prepare", "metadata"),
            self.output_dir(ctx),
            base=ctx.recipe.train.base,
            device=ctx.recipe.latents.device,
            trim=ctx.recipe.train.speech_trim,
        )
        ctx.log(
            f"latents: {summary.encoded} encoded, {summary.reused} reused, "
            f"{summary.total_frames} frames"
        )
        return {"manifest": ctx.relative(summary.manifest), "frames": summary.total_frames}


def _setting_path(ctx: RunContext, value: str | Path) -> str:
    """A path inside the run folder as a run-relative name (moving the run keeps its keys)."""
    path = Path(str(value))
    if path.is_absolute() and path.is_relative_to(ctx.run_dir):
        return "run:" + path.relative_to(ctx.run_dir).as_posix()
    return str(value)


class TrainStage(Stage):
    name, folder = "train", "train"
    reads = ("base", "latents")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        config = ctx.recipe.train.to_dict()
        kept = {k: v for k, v in config.items() if k not in TRAIN_SETTINGS_IGNORED}
        kept["base"] = _setting_path(ctx, ctx.recipe.train.base)
        return kept

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return _base_input(ctx)

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.pocket.trainer import train
        from natiq.training.checkpoint import list_checkpoints

        run_dir = self.output_dir(ctx)
        found = list_checkpoints(run_dir)
        config = ctx.recipe.train
        if resume and found:
            ctx.log(f"train: resuming from {found[-1][1].name}")
            config = config.model_copy(update={"resume": "latest"})
        elif run_dir.exists():
            shutil.rmtree(run_dir)  # no complete checkpoint: nothing worth keeping
        result = train(config, log=lambda line: ctx.log(f"  {line}"))
        if result.checkpoint is None:
            from natiq.common.errors import RecipeError

            raise RecipeError(f"{run_dir}: training wrote no checkpoint")
        return {
            "checkpoint": ctx.relative(result.checkpoint),
            "step": result.step,
            "losses": result.losses,
        }


class ExportStage(Stage):
    name, folder = "export", "export"
    reads = ("prepare", "train")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return ctx.recipe.export.model_dump(mode="json", exclude={"default_voice"})

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        voice = ctx.recipe.export.default_voice
        return {"default_voice": _local_fingerprint(voice)} if voice else {}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.pocket.export import stock_tool_warnings
        from natiq.recipe.pocket_export import export_with_default_voice

        out = self.output_dir(ctx)
        if out.exists():
            shutil.rmtree(out)
        settings = ctx.recipe.export
        result = export_with_default_voice(
            ctx.path("train", "checkpoint"),
            out,
            name=settings.name,
            use_ema=settings.use_ema,
            default_voice=settings.default_voice,
            voice_manifest=ctx.path("prepare", "metadata"),
            voice_choice=settings.voice_choice,
            log=lambda line: ctx.log(f"  {line}"),
        )
        for warning in stock_tool_warnings(out):
            ctx.log(f"  warning: {warning}")
        return {
            "dir": ctx.relative(out),
            "yaml": ctx.relative(result.yaml_path),
            "default_voice": ctx.relative(result.default_voice),
            "voice": result.voice_info,
        }


class EvaluateStage(Stage):
    name, folder = "evaluate", "evaluate"
    reads = ("prepare", "export")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return ctx.recipe.evaluate.model_dump(mode="json", exclude={"test_sentences"})

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        from natiq.recipe.evaluate import TEST_SENTENCES

        return {"test_sentences": fingerprint(ctx.recipe.evaluate.test_sentences or TEST_SENTENCES)}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.recipe.evaluate import run_evaluate

        out = self.output_dir(ctx)
        if not resume and out.exists():
            shutil.rmtree(out)
        evaluation = run_evaluate(
            ctx.path("export", "dir"),
            ctx.path("prepare", "metadata"),
            out,
            ctx.recipe.evaluate,
            log=lambda line: ctx.log(f"  {line}"),
        )
        return {
            "evaluation": ctx.relative(out / "evaluation.json"),
            "sets": list(evaluation["sets"]),
        }


class CardStage(Stage):
    name, folder = "card", "model"
    reads = ("prepare", "train", "export", "evaluate")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        recipe = ctx.recipe
        return {
            "card": recipe.card.model_dump(mode="json"),
            "name": recipe.name,
            "description": recipe.description,
            "repo": recipe.publish.repo,
            "tiny": recipe.tiny.enabled,
            "train": TrainStage().settings(ctx),
            "prepare": PrepareStage().settings(ctx),
        }

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.recipe.card import build_model_folder

        out = self.output_dir(ctx)
        if out.exists():
            shutil.rmtree(out)
        card = build_model_folder(
            ctx.recipe,
            export_dir=ctx.path("export", "dir"),
            evaluation=ctx.path("evaluate", "evaluation"),
            training=ctx.records["train"].outputs,
            data=ctx.records["prepare"].outputs,
            out_dir=out,
        )
        ctx.log(f"model card: {ctx.relative(card)}")
        return {"dir": ctx.relative(out), "card": ctx.relative(card)}


class PublishStage(Stage):
    name, folder = "publish", "publish"
    reads = ("card",)

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return ctx.recipe.publish.model_dump(mode="json")

    def nothing_to_do(self, ctx: RunContext) -> str | None:
        if ctx.recipe.publish.repo is None:
            return "no publish.repo in the recipe: nothing uploaded"
        return None

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.recipe.publish import publish_model_folder

        return publish_model_folder(
            ctx.path("card", "dir"), ctx.recipe.publish, self.output_dir(ctx), log=ctx.log
        )


def pocket_stages(*, tiny: bool) -> list[Stage]:
    """The stages of a Pocket recipe, in order (``base`` only with ``--tiny``)."""
    stages: list[Stage] = [
        PrepareStage(),
        LatentsStage(),
        TrainStage(),
        ExportStage(),
        EvaluateStage(),
        CardStage(),
        PublishStage(),
    ]
    return [BaseStage(), *stages] if tiny else stages


STAGE_NAMES = ("base", "prepare", "latents", "train", "export", "evaluate", "card", "publish")
