"""The settings every natiq training run shares, as one typed model loadable from YAML.

Both trainers subclass ``TrainConfig`` and add their own fields; the names are
transformers' ``TrainingArguments`` names where one exists (``learning_rate``,
``per_device_train_batch_size``, ``gradient_accumulation_steps``,
``save_steps``, ``logging_steps``, ``eval_steps``, ``warmup_steps``,
``max_grad_norm``, ``lr_scheduler_type``...), so a flag means the same thing in
``natiq pocket train`` and ``natiq higgs train``. Defaults and help live here
only: the command line is derived from these models (``natiq.cli.config_options``).

A config comes from a YAML (or JSON) file, then command-line values override it
(``TrainConfig.load``); the effective config is written into every checkpoint
(``training_config.json``, see ``natiq.training.checkpoint``). Invalid or
unknown settings raise ``DataFormatError`` naming the flag. Sections (a nested
model as a field) become flags ``--<section>-<field>``. This module imports no
torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from natiq.common.errors import DataFormatError

Precision = Literal["auto", "fp32", "bf16", "fp16"]
# transformers' schedule names natiq offers (``transformers.get_scheduler``).
SchedulerName = Literal["constant_with_warmup", "linear", "cosine", "cosine_with_min_lr"]


def split_commas(value: Any) -> Any:
    """``"q_proj, v_proj"`` -> ``("q_proj", "v_proj")``: list settings on the command line."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


CommaList = Annotated[tuple[str, ...], BeforeValidator(split_commas)]


def flag_name(location: tuple[str | int, ...]) -> str:
    """The command-line flag of a field path: ``("lora_r",)`` -> ``--lora-r``."""
    return "--" + "-".join(str(part).replace("_", "-") for part in location)


def describe_errors(error: ValidationError) -> str:
    """One line per problem, each naming the flag (``--learning-rate: ...``)."""
    lines = []
    for item in error.errors():
        location = tuple(item["loc"])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "missing":
            lines.append(f"{flag_name(location)} is required")
        elif item["type"] == "extra_forbidden":
            lines.append(f"unknown setting {'.'.join(map(str, location))!r}")
        elif location:
            lines.append(f"{flag_name(location)}: {message}")
        else:
            lines.append(message)
    return "; ".join(lines)


class ConfigSection(BaseModel):
    """Base of every config model and section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class LoraFields(BaseModel):
    """PEFT LoRA settings, the same names in both trainers (``peft.LoraConfig``'s ``r``...)."""

    lora_r: int = Field(16, ge=1, description="LoRA rank")
    lora_alpha: float = Field(32.0, gt=0, description="LoRA alpha (scale = alpha / r)")
    lora_dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the LoRA input")


class TrainConfig(ConfigSection):
    """Settings common to every trainer; subclasses change defaults by redeclaring a field.

    Invalid settings raise ``DataFormatError`` naming the flags (sections included).
    """

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise DataFormatError(f"invalid training config: {describe_errors(exc)}") from None

    output_dir: Path = Field(
        Path("runs/train"), description="run directory: step_N/ checkpoints, logs, samples"
    )
    resume: str | None = Field(
        None,
        description="continue from 'latest' (the newest checkpoint of --output-dir) or a step_N/ directory",
    )
    lexicon: Path | None = Field(
        None,
        description="pronunciation lexicon TSV (written form<TAB>diacritized Arabic or Buckwalter); "
        "recorded in every checkpoint's natiq_frontend.json",
    )
    seed: int = Field(1234, description="seed of every random choice (data order, noise, init)")
    max_steps: int | None = Field(
        None, ge=1, description="optimizer steps to train (default: --num-train-epochs epochs)"
    )
    num_train_epochs: int = Field(
        1, ge=1, description="epochs to train when --max-steps is not given"
    )
    per_device_train_batch_size: int = Field(
        8, ge=1, description="examples per process per micro-batch"
    )
    gradient_accumulation_steps: int = Field(
        1, ge=1, description="micro-batches per optimizer step"
    )
    learning_rate: float = Field(2e-4, gt=0, description="peak learning rate (AdamW)")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay")
    adam_beta1: float = Field(0.9, ge=0, lt=1, description="AdamW beta1")
    adam_beta2: float = Field(0.999, ge=0, lt=1, description="AdamW beta2")
    lr_scheduler_type: SchedulerName = Field(
        "linear", description="learning-rate schedule after warmup (transformers' names)"
    )
    min_lr_rate: float = Field(
        0.1, ge=0, le=1, description="cosine_with_min_lr: final rate as a fraction of the peak"
    )
    warmup_steps: int = Field(0, ge=0, description="optimizer steps of linear warmup")
    max_grad_norm: float = Field(1.0, ge=0, description="gradient clipping norm, 0 = off")
    logging_steps: int = Field(10, ge=1, description="optimizer steps between log lines")
    save_steps: int = Field(500, ge=1, description="optimizer steps between checkpoints")
    keep_last: int = Field(3, ge=1, description="checkpoints kept (older ones are deleted)")
    eval_steps: int = Field(0, ge=0, description="optimizer steps between evaluations, 0 = never")
    eval_samples: int = Field(2, ge=0, description="examples generated as audio at each eval")
    ema_decay: float = Field(
        0.0, ge=0, lt=1, description="EMA decay of the trained weights, 0 = off (recipe: 0.999)"
    )
    precision: Precision = Field(
        "auto",
        description="mixed precision (auto = bf16 on GPUs that support it, fp32 on CPU; "
        "bf16 on CPU runs CPU autocast, slower, for checks)",
    )
    device: str = Field(
        "auto", description="auto, cpu or cuda (several GPUs: torchrun or accelerate launch)"
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (paths as strings, lists as lists)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | Path | None = None) -> Self:
        """Build from a mapping; errors are prefixed with ``source`` (a file name) when given."""
        if not isinstance(data, Mapping):
            raise DataFormatError(f"{source}: a training config must be a mapping of settings")
        try:
            return cls(**dict(data))
        except DataFormatError as exc:
            if source is None:
                raise
            raise DataFormatError(f"{source}: {exc}") from None

    @classmethod
    def load(
        cls, path: str | Path | None = None, overrides: Mapping[str, Any] | None = None
    ) -> Self:
        """Settings from ``path`` (YAML/JSON, or a checkpoint's ``training_config.json``),
        then ``overrides`` (command-line values; nested dicts for sections) on top."""
        data = read_config_file(Path(path)) if path is not None else {}
        merged = deep_merge(data, dict(overrides or {}))
        return cls.from_dict(merged, source=path)


def read_config_file(path: Path) -> dict[str, Any]:
    """A mapping of settings from YAML/JSON; a checkpoint record's ``config`` is accepted too."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read the training config ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise DataFormatError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: a training config must be a mapping of settings")
    if "config" in data and isinstance(data["config"], dict) and "trainer" in data:
        return dict(data["config"])  # a checkpoint's training_config.json record
    return data


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``; sections (dicts) merge key by key."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
