"""Every setting of a Pocket TTS training run, in one dataclass.

``natiq pocket train`` maps each flag to one field here and nowhere else holds
a default. The config is written into every checkpoint (``training_config.json``)
so a run can be resumed, exported or loaded for inference without the command
line that started it. This module only validates and serializes; it imports
no torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from natiq.common.errors import DataFormatError

TrainScope = Literal["text", "flow", "text+flow", "full"]
TextMode = Literal["romanized", "native"]
NativeTokenizer = Literal["sentencepiece", "char"]
Objective = Literal["lsd", "flow-matching"]
PrecisionName = Literal["auto", "fp32", "bf16", "fp16"]

TRAIN_SCOPES: tuple[str, ...] = ("text", "flow", "text+flow", "full")
TEXT_MODES: tuple[str, ...] = ("romanized", "native")
OBJECTIVES: tuple[str, ...] = ("lsd", "flow-matching")
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")


@dataclass
class PocketTrainConfig:
    """The settings of one run; field names are the CLI flags with ``_`` for ``-``."""

    metadata: str = ""
    checkpoint_dir: str = "checkpoints/pocket"
    base: str = "english"
    text_mode: TextMode = "romanized"
    scheme: str = "buckwalter"
    native_tokenizer: NativeTokenizer = "sentencepiece"
    train_scope: TrainScope = "text+flow"
    objective: Objective = "lsd"
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 2e-4
    weight_decay: float = 0.1
    warmup_steps: int = 100
    max_steps: int = 10_000
    save_every: int = 1_000
    eval_every: int = 500
    eval_samples: int = 2
    keep_last: int = 3
    use_lora: bool = True
    lora_rank: int = 16
    lora_alpha: float = 32.0
    lora_dropout: float = 0.0
    use_precomputed_latents: bool = True
    prompt_seconds: float = 3.0
    seed: int = 1234
    resume: str | None = None
    precision: PrecisionName = "auto"
    ema: float = 0.0
    grad_clip: float = 1.0
    eos_weight: float = 0.1
    device: str = "auto"
    log_every: int = 10

    def validate(self) -> PocketTrainConfig:
        """Raise ``DataFormatError`` naming the first bad setting; return self."""
        checks: list[tuple[bool, str]] = [
            (bool(self.metadata), "--metadata is required"),
            (self.text_mode in TEXT_MODES, f"--text-mode must be one of {TEXT_MODES}"),
            (
                self.native_tokenizer in ("sentencepiece", "char"),
                "--native-tokenizer must be sentencepiece or char",
            ),
            (self.train_scope in TRAIN_SCOPES, f"--train-scope must be one of {TRAIN_SCOPES}"),
            (self.objective in OBJECTIVES, f"--objective must be one of {OBJECTIVES}"),
            (self.precision in PRECISIONS, f"--precision must be one of {PRECISIONS}"),
            (self.batch_size >= 1, "--batch-size must be >= 1"),
            (self.grad_accum >= 1, "--grad-accum must be >= 1"),
            (self.lr > 0, "--lr must be > 0"),
            (self.warmup_steps >= 0, "--warmup-steps must be >= 0"),
            (self.max_steps >= 1, "--max-steps must be >= 1"),
            (self.save_every >= 1, "--save-every must be >= 1"),
            (self.eval_every >= 0, "--eval-every must be >= 0 (0 = never)"),
            (self.keep_last >= 1, "--keep-last must be >= 1"),
            (self.lora_rank >= 1, "--lora-rank must be >= 1"),
            (0.0 <= self.lora_dropout < 1.0, "--lora-dropout must be in [0, 1)"),
            (0.0 <= self.ema < 1.0, "--ema must be a decay in [0, 1) (0 = off)"),
            (self.grad_clip >= 0, "--grad-clip must be >= 0 (0 = off)"),
            (self.prompt_seconds > 0, "--prompt-seconds must be > 0"),
            (
                not (self.use_lora and self.train_scope == "text"),
                "--train-scope text trains only the text embedding, in full: drop --use-lora",
            ),
            (
                not (self.text_mode == "native" and self.train_scope == "flow"),
                "--text-mode native re-initializes the text embedding, so --train-scope "
                "must include it (text, text+flow or full), not flow",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise DataFormatError(f"invalid training config: {message}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | Path = "config") -> PocketTrainConfig:
        """Build from a dict, rejecting unknown keys (a typo must not be ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataFormatError(f"{source}: unknown training setting(s) {unknown}")
        return cls(**data)
