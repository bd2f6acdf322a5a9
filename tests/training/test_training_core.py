"""The training core's parts, each on its own: sharding weights, data position, schedule,
EMA, the run folder, configs from YAML and command-line flags derived from the model."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
import typer
from pydantic import Field
from typer.testing import CliRunner

from natiq.common.errors import CheckpointMismatchError, DataFormatError, ModelLoadError
from natiq.training import checkpoint as run_folder
from natiq.training.batches import local_batches, shard
from natiq.training.config import CommaList, ConfigSection, TrainConfig
from natiq.training.ema import EMA, EMA_FILE


def test_shards_of_a_global_batch_weigh_like_one_process() -> None:
    batch = [10, 11, 12, 13, 14]
    parts = [shard(batch, per_device=2, processes=3, index=i) for i in range(3)]
    assert [p.keys for p in parts] == [[10, 11], [12, 13], [14]]
    # weight x processes-average = share of the global batch's examples
    assert [p.weight for p in parts] == pytest.approx([6 / 5, 6 / 5, 3 / 5])
    assert sum(p.weight for p in parts) / 3 == pytest.approx(1.0)
    empty = shard([7], per_device=2, processes=2, index=1)
    assert (empty.keys, empty.weight, empty.real) == ([7], 0.0, 0)  # a stand-in that counts 0
    with pytest.raises(ValueError, match="does not fit"):
        shard(batch, per_device=2, processes=2, index=0)


def test_data_position_counts_global_batches_taken() -> None:
    state = run_folder.TrainerState(global_batch_size=4)
    epochs = {0: [[0, 1, 2, 3], [4]], 1: [[4, 3, 2, 1], [0]]}
    stream = local_batches(epochs.__getitem__, state, per_device=2, processes=2, index=1)
    taken = [next(stream).keys for _ in range(3)]
    assert taken == [[2, 3], [4], [2, 1]]  # rank 1's empty share of [4] is a stand-in
    assert (state.epoch, state.batches_in_epoch) == (1, 1)
    resumed = run_folder.TrainerState(epoch=1, batches_in_epoch=1, global_batch_size=4)
    assert next(
        local_batches(epochs.__getitem__, resumed, per_device=4, processes=1, index=0)
    ).keys == [0]


def test_position_under_another_global_batch_size() -> None:
    state = run_folder.TrainerState(epoch=2, batches_in_epoch=3, global_batch_size=4)
    assert state.rescale(4) is None
    note = state.rescale(6)
    assert (state.batches_in_epoch, state.global_batch_size) == (2, 6)
    assert "continuing at example 12 of epoch 2" in note


def test_schedules_come_from_transformers_in_optimizer_steps() -> None:
    from natiq.training.schedule import current_lr, make_optimizer, make_scheduler, step_schedule

    config = TrainConfig(
        learning_rate=1.0, warmup_steps=2, lr_scheduler_type="cosine_with_min_lr", min_lr_rate=0.1
    )
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = make_optimizer([param], config)
    scheduler = make_scheduler(optimizer, config, total_steps=6)
    rates = []
    for _ in range(6):
        rates.append(current_lr(scheduler))
        optimizer.step()
        step_schedule(optimizer, scheduler)
    # 0, 1/2 (warmup), then cosine from 1 to 0.1 over 4 steps
    assert rates == pytest.approx([0.0, 0.5, 1.0, 0.8682, 0.55, 0.2318], abs=1e-4)


def test_ema_tracks_saves_and_loads(tmp_path: Path) -> None:
    layer = torch.nn.Linear(2, 1)
    layer.bias.requires_grad_(False)
    ema = EMA(layer.named_parameters(), decay=0.5)
    assert set(ema.shadow) == {"weight"}  # trained parameters only
    start = layer.weight.detach().clone()
    with torch.no_grad():
        layer.weight.add_(2.0)
    ema.update()
    assert torch.allclose(ema.shadow["weight"], start + 1.0)
    ema.save(tmp_path)
    other = EMA(layer.named_parameters(), decay=0.5)
    other.load(tmp_path)
    assert torch.equal(other.shadow["weight"], ema.shadow["weight"])
    assert (tmp_path / EMA_FILE).is_file()
    with pytest.raises(CheckpointMismatchError, match="other parameters"):
        EMA(torch.nn.Linear(3, 1).named_parameters(), decay=0.5).load(tmp_path)


def _complete(run_dir: Path, step: int) -> Path:
    tmp = run_folder.temporary_dir(run_dir, step)
    run_folder.TrainerState(step=step).save(tmp)
    return run_folder.publish(tmp, step)


def test_run_folder_publishes_prunes_and_refuses_mixing(tmp_path: Path) -> None:
    for step in (1, 2, 3, 4):
        _complete(tmp_path, step)
    (tmp_path / ".step_5.tmp").mkdir()  # a crashed save
    assert [s for s, _ in run_folder.list_checkpoints(tmp_path)] == [1, 2, 3, 4]
    assert run_folder.resolve_checkpoint("latest", tmp_path) == tmp_path / "step_4"
    assert run_folder.prune_checkpoints(tmp_path, keep_last=2) == [
        tmp_path / "step_1",
        tmp_path / "step_2",
    ]
    assert run_folder.remove_stale_temporaries(tmp_path) == [tmp_path / ".step_5.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_3", "step_4"]
    with pytest.raises(CheckpointMismatchError, match="--resume latest"):
        run_folder.check_fresh_start(tmp_path)
    with pytest.raises(ModelLoadError, match="not a training checkpoint"):
        run_folder.resolve_checkpoint(tmp_path / "nothing")


def test_training_record_round_trip_and_checks(tmp_path: Path) -> None:
    record = run_folder.TrainingRecord(
        trainer="pocket", config={"lora_r": 4}, base={"fingerprint": {"a": 1}}, extra={"n_bins": 8}
    )
    record.save(tmp_path)
    back = run_folder.read_record(tmp_path, trainer="pocket")
    assert (back.config, back.base, back.extra) == (
        {"lora_r": 4},
        {"fingerprint": {"a": 1}},
        {"n_bins": 8},
    )
    with pytest.raises(CheckpointMismatchError, match="written by the pocket trainer, not higgs"):
        run_folder.read_record(tmp_path, trainer="higgs")
    with pytest.raises(CheckpointMismatchError, match=r"differs in: a\)"):
        run_folder.check_same_base({"a": 1, "b": 2}, {"a": 3, "b": 2}, where=tmp_path, base="x")
    run_folder.check_same_base(
        {"a": 1, "b": 2}, {"a": 1, "b": 9}, where=tmp_path, base="x", keys=("a",)
    )
    with pytest.raises(CheckpointMismatchError, match="lora_r: checkpoint 4 vs now 8"):
        run_folder.check_resumable({"lora_r": 4}, {"lora_r": 8}, ("lora_r",), where=tmp_path)
    with pytest.raises(ModelLoadError, match="not a directory written by natiq training"):
        run_folder.read_record(tmp_path / "missing")


class Objective(ConfigSection):
    p_equal: float = Field(0.75, ge=0, le=1, description="share of the diagonal term")


class DemoConfig(TrainConfig):
    """A trainer's config with a section and a list setting, as a later recipe may add."""

    data: Path = Field(description="the corpus")
    targets: CommaList = Field(("q", "v"), description="modules")
    objective: Objective = Field(default_factory=Objective)
    use_lora: bool = Field(True, json_schema_extra={"flag": "--use-lora/--no-lora"})


def _app(seen: list[DemoConfig]) -> typer.Typer:
    from natiq.cli.config_options import config_command

    app = typer.Typer()
    extra = inspect.Parameter(
        "dry", inspect.Parameter.KEYWORD_ONLY, default=False,
        annotation=bool,
    )  # fmt: skip
    config_command(
        app,
        DemoConfig,
        lambda config, dry: seen.append(config),
        name="run",
        help="x",
        extra=[extra],
    )
    app.command(name="noop")(lambda: None)  # a group, so "run" is a subcommand
    return app


def test_cli_options_come_from_the_config_model(tmp_path: Path) -> None:
    seen: list[DemoConfig] = []
    app = _app(seen)
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text(
        "data: corpus.jsonl\nlearning_rate: 0.5\nobjective:\n  p_equal: 0.5\n", "utf-8"
    )
    args = [
        "run",
        "--config",
        str(yaml_file),
        "--learning-rate",
        "0.25",
        "--objective-p-equal",
        "0.9",
    ]
    result = CliRunner().invoke(app, [*args, "--targets", "a, b", "--no-lora", "--max-steps", "7"])
    assert result.exit_code == 0, result.output
    config = seen[-1]
    assert config.learning_rate == 0.25 and config.objective.p_equal == 0.9  # flags over the file
    assert config.data == Path("corpus.jsonl") and config.targets == ("a", "b")
    assert (config.use_lora, config.max_steps, config.warmup_steps) == (False, 7, 0)

    help_text = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "peak learning rate (AdamW) (default: 0.0002)" in help_text
    assert "--objective-p-equal" in help_text and "--use-lora" in help_text

    missing = CliRunner().invoke(app, ["run", "--learning-rate", "0.1"])
    assert isinstance(missing.exception, DataFormatError)
    assert "--data is required" in str(missing.exception)
    bad = CliRunner().invoke(app, ["run", "--data", "d", "--objective-p-equal", "2"])
    assert "--objective-p-equal: Input should be less than or equal to 1" in str(bad.exception)


def test_higgs_system_prompt_overrides_every_line_or_records_the_shared_one() -> None:
    from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT
    from natiq.backends.higgs.trainer import with_system_prompt
    from natiq.data.chatml import ChatMLSample

    def sample(system: str) -> ChatMLSample:
        return ChatMLSample(
            id="s", speaker="a", system=system, ref_text="r", ref_audio=Path("r.wav"),
            target_text="t", target_audio=Path("t.wav"),
        )  # fmt: skip

    lines = [sample("scene A"), sample("scene B")]
    changed, recorded = with_system_prompt(lines, "one prompt")
    assert [s.system for s in changed] == ["one prompt", "one prompt"] and recorded == "one prompt"
    assert with_system_prompt(lines, None) == (lines, None)  # different prompts: none recorded
    assert (
        with_system_prompt([sample(""), sample(DEFAULT_SYSTEM_PROMPT)], None)[1]
        == DEFAULT_SYSTEM_PROMPT
    )
