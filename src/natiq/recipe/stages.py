"""The stage interface, the run context, and the stages every recipe shares.

A recipe's stages, in order (``natiq.recipe.runner.recipe_stages``):

| stage    | folder       | calls (the same code as)                                              |
| -------- | ------------ | --------------------------------------------------------------------- |
| base     | ``base/``    | the backend's ``write_tiny_model`` (``--tiny`` only)                  |
| prepare  | ``data/``    | ``run_prepare`` (``natiq data prepare``)                              |
| latents / codes, train, export / merge | | the backend's own: ``natiq.recipe.pocket_stages``, ``natiq.recipe.higgs_stages`` |
| evaluate | ``evaluate/``| ``natiq.recipe.evaluate`` + ``run_evaluation`` (``natiq eval``)       |
| card     | ``model/``   | ``natiq.recipe.card``: the model folder + ``README.md``               |
| publish  | ``publish/`` | ``natiq.publish`` (``natiq hub push``), when ``publish.repo`` is set   |

A stage declares its settings (what, changed, makes it run again), the
earlier stages it reads and the external files it depends on, and how it
runs (``resume`` tells it that its own interrupted work may be continued).
The runner (``natiq.recipe.runner``) decides skipping, resuming and clearing.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natiq.recipe.config import Recipe
from natiq.recipe.state import StageRecord, fingerprint

# Train settings that do not change the trained weights, or are paths the run decides
# (their contents are inputs): never a reason to train again.
TRAIN_SETTINGS_IGNORED = (
    "output_dir",
    "metadata",
    "chatml",
    "codes_dir",
    "frontend_config",
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


class Stage(ABC):
    """One step of a recipe; subclasses fill in the four parts (``run`` is required)."""

    name: str = ""
    folder: str = ""
    reads: tuple[str, ...] = ()
    # files in the folder that later stages rewrite (logs, not outputs): not fingerprinted
    volatile: tuple[str, ...] = ()

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {}

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        return {}

    def nothing_to_do(self, ctx: RunContext) -> str | None:
        """A reason this stage has nothing to do in this recipe (then it is recorded as done)."""
        return None

    @abstractmethod
    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        """Do the stage's work in ``output_dir``; return its outputs (run-relative paths and figures)."""

    def inputs(self, ctx: RunContext) -> dict[str, str]:
        found = {
            f"stage {name}": str(ctx.records[name].output_fingerprint)
            for name in self.reads
            if name in ctx.records
        }
        return {**found, **self.external_inputs(ctx)}

    def output_dir(self, ctx: RunContext) -> Path:
        return ctx.run_dir / self.folder


def local_fingerprint(value: str | Path | None) -> str:
    """A local file/folder's fingerprint; a name (``english``, ``clartts``, ``hf://``) as itself."""
    if value is None:
        return "none"
    path = Path(str(value))
    return fingerprint(path) if "://" not in str(value) and path.exists() else f"name:{value}"


def setting_path(ctx: RunContext, value: str | Path) -> str:
    """A path inside the run folder as a run-relative name (moving the run keeps its keys)."""
    path = Path(str(value))
    if path.is_absolute() and path.is_relative_to(ctx.run_dir):
        return "run:" + path.relative_to(ctx.run_dir).as_posix()
    return str(value)


def base_input(ctx: RunContext, base: str | Path) -> dict[str, str]:
    """The base model as an input: the ``base`` stage's output under ``--tiny``, else its files."""
    return {} if ctx.recipe.tiny.enabled else {"base": local_fingerprint(base)}


def lexicon_input(config: Any) -> dict[str, str]:
    """The train config's pronunciation lexicon file, whose entries the checkpoint records."""
    return {"lexicon": fingerprint(config.lexicon)} if config.lexicon else {}


def train_settings(config: Any) -> dict[str, Any]:
    """A train config's settings that decide the trained weights (``TRAIN_SETTINGS_IGNORED`` out)."""
    return {k: v for k, v in config.to_dict().items() if k not in TRAIN_SETTINGS_IGNORED}


def resumable(ctx: RunContext, config: Any, run_dir: Path, *, resume: bool) -> Any:
    """A train config that resumes from ``run_dir``'s newest checkpoint when the stage resumes
    and one exists; otherwise ``run_dir`` is cleared (an interrupted run without a complete
    checkpoint leaves nothing worth keeping) and ``config`` starts afresh."""
    from natiq.training.checkpoint import list_checkpoints

    found = list_checkpoints(run_dir)
    if resume and found:
        ctx.log(f"train: resuming from {found[-1][1].name}")
        return config.model_copy(update={"resume": "latest"})
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return config


def tiny_base_path(backend: str, run_dir: Path) -> Path:
    """Where ``--tiny``'s random base lives: a Pocket YAML, or a Higgs model folder."""
    folder = run_dir / "base"
    return folder / f"{TINY_BASE_NAME}.yaml" if backend == "pocket" else folder


class BaseStage(Stage):
    """``--tiny`` only: a tiny randomly initialised model of the recipe's backend."""

    name, folder = "base", "base"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {"backend": ctx.recipe.backend, "seed": ctx.recipe.tiny.seed}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        seed = ctx.recipe.tiny.seed
        if ctx.recipe.backend == "pocket":
            from natiq.backends.pocket.tiny import write_tiny_model

            written = write_tiny_model(self.output_dir(ctx), seed=seed, name=TINY_BASE_NAME)
        else:
            from natiq.backends.higgs.tiny import write_tiny_model as write_tiny_higgs

            written = write_tiny_higgs(self.output_dir(ctx), seed=seed)
        ctx.log("tiny random base (not a real voice): " + ctx.relative(written))
        return {"base": ctx.relative(written)}


class PrepareStage(Stage):
    name, folder = "prepare", "data"

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        config = ctx.recipe.prepare
        return {**config.recorded(), "limit": config.limit, "shard": asdict(config.shard)}

    def external_inputs(self, ctx: RunContext) -> dict[str, str]:
        config = ctx.recipe.prepare
        source = config.manifest or config.audio_dir or config.dataset
        return {"corpus": local_fingerprint(source)}

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


class EvaluateStage(Stage):
    name, folder = "evaluate", "evaluate"

    def __init__(self, model_stage: str) -> None:
        self.model_stage = model_stage
        self.reads = ("prepare", model_stage)

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
            ctx.recipe.backend,
            ctx.path(self.model_stage, "dir"),
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

    def __init__(self, model_stage: str) -> None:
        self.model_stage = model_stage
        self.reads = ("prepare", "train", model_stage, "evaluate")

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        recipe = ctx.recipe
        return {
            "card": recipe.card.model_dump(mode="json"),
            "name": recipe.name,
            "description": recipe.description,
            "repo": recipe.publish.repo,
            "tiny": recipe.tiny.enabled,
            "train": ctx.records["train"].settings,
            "prepare": ctx.records["prepare"].settings,
        }

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        from natiq.recipe.card import build_model_folder

        out = self.output_dir(ctx)
        if out.exists():
            shutil.rmtree(out)
        card = build_model_folder(
            ctx.recipe,
            model_dir=ctx.path(self.model_stage, "dir"),
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
