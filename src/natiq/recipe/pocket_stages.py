"""The Pocket stages of a recipe: latents, train, export (``natiq.recipe.stages`` has the rest).

Each calls the library function of its command: ``extract_latents``
(``natiq pocket latents``), ``pocket.trainer.train`` (``natiq pocket
train``), ``export_with_default_voice`` (``natiq pocket export``).
"""

from __future__ import annotations

import shutil
from typing import Any

from natiq.recipe.stages import (
    RunContext,
    Stage,
    base_input,
    lexicon_input,
    local_fingerprint,
    resumable,
    setting_path,
    train_settings,
)


class LatentsStage(Stage):
    name, folder = "latents", "latents"
    reads = ("base", "prepare")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {
            "base": setting_path(ctx, ctx.recipe.train.base),
            "speech_trim": ctx.recipe.train.speech_trim.model_dump(mode="json"),
        }

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return base_input(ctx, ctx.recipe.train.base)

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


class TrainStage(Stage):
    name, folder = "train", "train"
    reads = ("base", "latents")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {
            **train_settings(ctx.recipe.train),
            "base": setting_path(ctx, ctx.recipe.train.base),
        }

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return {**base_input(ctx, ctx.recipe.train.base), **lexicon_input(ctx.recipe.train)}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.pocket.trainer import train

        run_dir = self.output_dir(ctx)
        config = resumable(ctx, ctx.recipe.train, run_dir, resume=resume)
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
        return {"default_voice": local_fingerprint(voice)} if voice else {}

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
