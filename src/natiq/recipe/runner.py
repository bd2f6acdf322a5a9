"""``natiq recipe run``: chain a recipe's stages in one run folder, doing only what is needed.

For each stage, in order (``natiq.recipe.stages``):

- **skipped** when its record is done, its key (settings + input fingerprints,
  ``natiq.recipe.state``) is unchanged and its output folder still has the
  recorded fingerprint: nothing is read, loaded or written;
- **resumed** when its record says it was interrupted with the same key: the
  stage continues its own work (prepare and latents skip what their journals
  hold, train continues from its newest checkpoint, evaluate from its
  generated and scored rows);
- otherwise **run from scratch**: a changed setting or input, or outputs that
  changed on disk, clear the stage's folder first (the log says which).

``--from STAGE`` runs STAGE and every later stage again whatever their
records say; the earlier stages must be done and current. ``--to STAGE``
stops after STAGE. The effective recipe is written to ``recipe.json`` in the
run folder.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natiq.common.errors import RecipeError
from natiq.common.files import atomic_write_json
from natiq.recipe.config import Recipe
from natiq.recipe.higgs_stages import CodesStage, HiggsTrainStage, MergeStage
from natiq.recipe.pocket_stages import ExportStage, LatentsStage, TrainStage
from natiq.recipe.stages import (
    BaseStage,
    CardStage,
    EvaluateStage,
    PrepareStage,
    PublishStage,
    RunContext,
    Stage,
    tiny_base_path,
)
from natiq.recipe.state import DONE, RUNNING, RunState, StageRecord, fingerprint, stage_key

RECIPE_RECORD = "recipe.json"
RUNS_DIR = Path("runs")


@dataclass
class StageReport:
    name: str
    action: str  # "skipped", "resumed", "ran", "nothing to do"
    seconds: float = 0.0
    reason: str = ""


@dataclass
class RunReport:
    run_dir: Path
    stages: list[StageReport] = field(default_factory=list)

    def record(self, stage: str, action: str, seconds: float = 0.0, reason: str = "") -> None:
        self.stages.append(StageReport(stage, action, seconds, reason))

    def actions(self) -> dict[str, str]:
        return {report.name: report.action for report in self.stages}


def default_run_dir(recipe: Recipe) -> Path:
    return RUNS_DIR / (f"{recipe.name}-tiny" if recipe.tiny.enabled else recipe.name)


def recipe_stages(backend: str, *, tiny: bool) -> list[Stage]:
    """The stages of a recipe of ``backend``, in order (``base`` only with ``--tiny``)."""
    if backend == "pocket":
        middle: list[Stage] = [LatentsStage(), TrainStage(), ExportStage()]
        model_stage = "export"
    else:
        middle = [CodesStage(), HiggsTrainStage(), MergeStage()]
        model_stage = "merge"
    stages = [
        PrepareStage(),
        *middle,
        EvaluateStage(model_stage),
        CardStage(model_stage),
        PublishStage(),
    ]
    return [BaseStage(), *stages] if tiny else stages


def with_tiny(recipe: Recipe) -> Recipe:
    """The recipe with ``tiny.enabled`` on (``--tiny``)."""
    return recipe.model_copy(update={"tiny": recipe.tiny.model_copy(update={"enabled": True})})


def prepared_recipe(recipe: Recipe, run_dir: Path) -> Recipe:
    """The recipe as it will run: shrunk when tiny, every stage path in ``run_dir``."""
    if recipe.tiny.enabled:
        recipe = recipe.shrunk(base=str(tiny_base_path(recipe.backend, run_dir)))
    return recipe.in_run_dir(run_dir)


def _check_stage_name(name: str | None, stages: list[Stage], flag: str) -> int | None:
    if name is None:
        return None
    names = [stage.name for stage in stages]
    if name not in names:
        hint = " (base exists only with --tiny)" if name == "base" else ""
        raise RecipeError(f"{flag} {name}: no such stage{hint}; stages: {', '.join(names)}")
    return names.index(name)


def run_recipe(
    recipe: Recipe,
    *,
    run_dir: str | Path | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    tiny: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RunReport:
    """Run ``recipe`` into ``run_dir`` (default ``runs/<name>``); see the module docstring."""
    if tiny:
        recipe = with_tiny(recipe)
    folder = Path(run_dir) if run_dir is not None else default_run_dir(recipe)
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    recipe = prepared_recipe(recipe, folder)
    stages = recipe_stages(recipe.backend, tiny=recipe.tiny.enabled)
    first = _check_stage_name(from_stage, stages, "--from") or 0
    last = _check_stage_name(to_stage, stages, "--to")
    last = len(stages) - 1 if last is None else last
    if last < first:
        raise RecipeError(f"--to {to_stage} comes before --from {from_stage}")

    _write_if_changed(folder / RECIPE_RECORD, recipe.model_dump(mode="json"))
    ctx = RunContext(recipe=recipe, run_dir=folder, log=log, progress=progress)
    return run_stages(stages[: last + 1], ctx, first=first, from_stage=from_stage)


def run_stages(
    stages: list[Stage], ctx: RunContext, *, first: int = 0, from_stage: str | None = None
) -> RunReport:
    """Skip, resume or run each stage in order (the module docstring's rules).

    Stages before index ``first`` (``--from``) must be done and current.
    """
    state = RunState(ctx.run_dir)
    log = ctx.log
    report = RunReport(run_dir=ctx.run_dir)
    for index, stage in enumerate(stages):
        settings = stage.settings(ctx)
        inputs = stage.inputs(ctx)
        key = stage_key(settings, inputs)
        record = state.load(stage.name)
        if index < first:
            ctx.records[stage.name] = _require_current(
                stage, record, key, settings, inputs, from_stage
            )
            log(f"[{stage.name}] kept (before --from {from_stage})")
            report.record(stage.name, "kept")
            continue
        forced = from_stage is not None
        reason = stage.nothing_to_do(ctx)
        if reason is not None:
            if record is None or record.status != DONE or record.key != key:
                record = state.start(stage.name, settings, inputs)
                state.finish(record, {}, stage.output_dir(ctx))
            ctx.records[stage.name] = record
            log(f"[{stage.name}] nothing to do: {reason}")
            report.record(stage.name, "nothing to do", reason=reason)
            continue
        if not forced and record is not None and _unchanged(stage, record, key, ctx):
            ctx.records[stage.name] = record
            log(f"[{stage.name}] skipped: inputs and settings unchanged")
            report.record(stage.name, "skipped")
            continue
        resume = (
            not forced and record is not None and record.status == RUNNING and record.key == key
        )
        if not resume:
            why = _why_again(record, key, settings, inputs, forced=forced)
            if why:
                log(f"[{stage.name}] {why}")
            if stage.output_dir(ctx).exists():
                shutil.rmtree(stage.output_dir(ctx))
        log(f"[{stage.name}] {'resuming' if resume else 'running'} ...")
        started = time.perf_counter()
        record = state.start(stage.name, settings, inputs)
        outputs = stage.run(ctx, resume=resume)
        state.finish(record, outputs, stage.output_dir(ctx), ignore=stage.volatile)
        ctx.records[stage.name] = record
        seconds = time.perf_counter() - started
        log(f"[{stage.name}] done in {seconds:.1f} s")
        report.record(stage.name, "resumed" if resume else "ran", seconds)
    return report


def _write_if_changed(path: Path, value: Any) -> None:
    """Write the effective recipe only when it differs: a run with nothing to do writes nothing."""
    import json

    if path.is_file():
        try:
            if json.loads(path.read_text(encoding="utf-8")) == json.loads(json.dumps(value)):
                return
        except json.JSONDecodeError:
            pass
    atomic_write_json(path, value)


def _unchanged(stage: Stage, record: StageRecord, key: str, ctx: RunContext) -> bool:
    if record.status != DONE or record.key != key:
        return False
    return fingerprint(stage.output_dir(ctx), ignore=stage.volatile) == record.output_fingerprint


def _why_again(
    record: StageRecord | None,
    key: str,
    settings: dict[str, Any],
    inputs: dict[str, str],
    *,
    forced: bool,
) -> str:
    if forced:
        return "running again (--from)"
    if record is None:
        return ""
    if record.key != key:
        changed = ", ".join(record.changed_keys(settings, inputs)) or "the stage's definition"
        return f"changed since its last run ({changed}): its folder is cleared"
    if record.status == DONE:
        return "its outputs changed on disk since it ran: running it again"
    return ""


def _require_current(
    stage: Stage,
    record: StageRecord | None,
    key: str,
    settings: dict[str, Any],
    inputs: dict[str, str],
    from_stage: str | None,
) -> StageRecord:
    if record is None or record.status != DONE:
        raise RecipeError(
            f"--from {from_stage}: stage {stage.name} has not finished in this run folder; "
            f"run without --from (or --from {stage.name})"
        )
    if record.key != key:
        changed = ", ".join(record.changed_keys(settings, inputs))
        raise RecipeError(
            f"--from {from_stage}: stage {stage.name} changed since it ran ({changed}); "
            f"run without --from (or --from {stage.name})"
        )
    return record
