"""Every setting of a Higgs LoRA training run, in one dataclass.

Defaults are the seed's recipe (10 epochs, batch 2 x accumulation 8, lr 1e-4,
100 warmup steps, log every 10, save every 500; LoRA r16 / alpha 32 /
dropout 0.1 on the attention, ``mlp`` and ``audio_mlp`` projections). Each
``natiq higgs train`` flag sets exactly one field. The config is saved as
``training_config.json`` in every checkpoint and in the final adapter dir.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from natiq.backends.higgs.config import DEFAULT_MODEL
from natiq.common.errors import DataFormatError

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class HiggsTrainConfig:
    chatml: Path
    output_dir: Path
    codes_dir: Path | None = None
    model: str = DEFAULT_MODEL
    audio_tokenizer: str | None = None
    frontend_config: Path | None = None
    epochs: int = 10
    max_steps: int | None = None
    per_device_batch_size: int = 2
    grad_accum: int = 8
    learning_rate: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    logging_steps: int = 10
    save_steps: int = 500
    seed: int = 42
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = field(default=DEFAULT_LORA_TARGETS)
    train_audio_head: bool = False
    text_loss_weight: float = 0.0
    quantize: str = "none"
    precision: str = "auto"
    gradient_checkpointing: bool | None = None
    device: str = "auto"
    max_ref_seconds: float = 30.0
    max_target_seconds: float = 30.0
    resume: bool = True
    eval_every: int = 0
    eval_samples: int = 2

    def validate(self) -> None:
        if self.quantize not in ("none", "8bit", "4bit"):
            raise DataFormatError(f"quantize must be none, 8bit or 4bit, not {self.quantize!r}")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise DataFormatError(
                f"precision must be auto, fp32, bf16 or fp16, not {self.precision!r}"
            )
        for name in (
            "epochs",
            "per_device_batch_size",
            "grad_accum",
            "lora_r",
            "logging_steps",
            "save_steps",
        ):
            if getattr(self, name) < 1:
                raise DataFormatError(f"{name} must be at least 1")
        if self.eval_every < 0:
            raise DataFormatError("eval_every must be >= 0 (0 = never)")
        if self.eval_samples < 1:
            raise DataFormatError("eval_samples must be at least 1")
        if self.max_steps is not None and self.max_steps < 1:
            raise DataFormatError("max_steps must be at least 1")
        if not self.lora_targets:
            raise DataFormatError("lora_targets is empty: name at least one module, e.g. q_proj")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
            elif isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HiggsTrainConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise DataFormatError(f"unknown training config keys: {', '.join(sorted(unknown))}")
        values = dict(data)
        for key in ("chatml", "output_dir", "codes_dir", "frontend_config"):
            if values.get(key) is not None:
                values[key] = Path(values[key])
        if "lora_targets" in values:
            values["lora_targets"] = tuple(values["lora_targets"])
        return cls(**values)
