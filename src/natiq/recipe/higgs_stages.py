"""The Higgs Audio v2 stages of a recipe: codes, train, merge (``natiq.recipe.stages`` has the rest).

| stage | folder | calls (the same code as) |
| --- | --- | --- |
| codes | ``codes/`` | ``build_chatml`` (``natiq data chatml``) on the train split, then ``tokenize_files`` (``natiq higgs tokenize``) into ``codes/codes/`` |
| train | ``train/`` | ``higgs.trainer.run_training`` (``natiq higgs train``): the adapter and ``step_N/`` |
| merge | ``merge/`` | ``merge_adapter`` (``natiq higgs merge``) + the default voice (``natiq.recipe.higgs_voice``) |

The codes stage also writes ``codes/natiq_frontend.json`` (the front-end
``prepare`` used), which training records, so inference reads text exactly as
the data was prepared.
"""

from __future__ import annotations

import dataclasses
import shutil
from typing import Any

from natiq.recipe.stages import (
    RunContext,
    Stage,
    base_input,
    lexicon_input,
    resumable,
    setting_path,
    train_settings,
)

CHATML_PATHS = ("metadata", "output")


class CodesStage(Stage):
    name, folder = "codes", "codes"
    reads = ("base", "prepare")
    # the trainer rewrites the tokenize report each time it checks the cached codes
    volatile = ("codes/tokenize_report.json",)

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        recipe = ctx.recipe
        chatml = {
            k: v for k, v in dataclasses.asdict(recipe.chatml).items() if k not in CHATML_PATHS
        }
        return {
            "chatml": chatml,
            "codes": recipe.codes.model_dump(mode="json", exclude={"device"}),
            "model": setting_path(ctx, recipe.train.model),
            "audio_tokenizer": recipe.train.audio_tokenizer,
            "frontend": recipe.prepare.text.frontend_config().to_dict(),
        }

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return base_input(ctx, ctx.recipe.train.model)

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.higgs.audio_codes import CodeStore, tokenize_files
        from natiq.backends.higgs.loading import (
            audio_tokenizer_source,
            load_audio_tokenizer,
            model_source,
        )
        from natiq.common.runtime import select_device
        from natiq.data.chatml import build_chatml, read_chatml

        recipe = ctx.recipe
        out = self.output_dir(ctx)
        out.mkdir(parents=True, exist_ok=True)
        summary = build_chatml(recipe.chatml)
        ctx.log(f"  ChatML: {summary.samples} samples for {summary.targets} targets")
        recipe.prepare.text.frontend_config().save(out)
        samples = read_chatml(recipe.chatml.output)
        codec = load_audio_tokenizer(
            audio_tokenizer_source(recipe.train.audio_tokenizer, model_source(recipe.train.model)),
            select_device(recipe.codes.device),
        )
        paths = [p for s in samples for p in (s.ref_audio, s.target_audio) if p is not None]
        report = tokenize_files(
            codec, paths, CodeStore(out / "codes"), max_seconds=recipe.codes.max_seconds
        )
        ctx.log(
            f"  codes: {report.encoded} encoded, {report.cached} cached, {len(report.failed)} failed"
        )
        return {
            "chatml": ctx.relative(recipe.chatml.output),
            "samples": summary.samples,
            "failed": len(report.failed),
        }


class HiggsTrainStage(Stage):
    name, folder = "train", "train"
    reads = ("base", "codes")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        config = ctx.recipe.train
        return {**train_settings(config), "model": setting_path(ctx, config.model)}

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return {**base_input(ctx, ctx.recipe.train.model), **lexicon_input(ctx.recipe.train)}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.higgs.trainer import run_training

        config = resumable(ctx, ctx.recipe.train, self.output_dir(ctx), resume=resume)
        result = run_training(config, log=lambda line: ctx.log(f"  {line}"))
        return {
            "adapter": ctx.relative(result.output_dir),
            "step": result.steps,
            "losses": result.last_losses,
            "skipped": len(result.skipped),
        }


class MergeStage(Stage):
    name, folder = "merge", "merge"
    reads = ("prepare", "train")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {
            "merge": ctx.recipe.merge.model_dump(mode="json"),
            "voice_choice": ctx.recipe.voice_choice.model_dump(mode="json"),
        }

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.backends.higgs.merge import MergeConfig, merge_adapter
        from natiq.data.manifest import read_manifest
        from natiq.eval.voice_choice import choose_voice_clip
        from natiq.recipe.higgs_voice import write_reference_voice

        out = self.output_dir(ctx)
        if out.exists():
            shutil.rmtree(out)
        merge_adapter(
            MergeConfig(
                adapter=ctx.path("train", "adapter"), output_dir=out, dtype=ctx.recipe.merge.dtype
            )
        )
        choice = choose_voice_clip(
            read_manifest(ctx.path("prepare", "metadata")), ctx.recipe.voice_choice
        )
        info = {"chosen_by": "rule", **choice.describe()}
        write_reference_voice(out, choice.record.audio, choice.record.text, info)
        ctx.log(f"  default voice: {choice.record.id} of speaker {choice.speaker}")
        return {"dir": ctx.relative(out), "voice": info}
