"""Every setting of a Higgs LoRA training run, in one typed model.

``HiggsTrainConfig`` extends the shared ``natiq.training.config.TrainConfig``
(the same names as the Pocket trainer: ``learning_rate``, ``save_steps``,
``lora_r``, ``--resume latest``...) with Higgs's own: the ChatML data, the base
model, LoRA targets, heads, quantization, the system prompt. Defaults are the
seed's recipe (10 epochs, batch 2 x accumulation 8, lr 1e-4, 100 warmup steps,
linear decay, log every 10, save every 500; LoRA r16 / alpha 32 / dropout 0.1
on the attention, ``mlp`` and ``audio_mlp`` projections). ``natiq higgs
train`` derives one flag per field from this model. The effective config is
saved in ``training_config.json`` in every checkpoint and in the final adapter
dir, with the system prompt the adapter was trained with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from natiq.backends.higgs.config import DEFAULT_MODEL
from natiq.training.config import CommaList, LoraFields, TrainConfig

DEFAULT_LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
TRAINER = "higgs"
# Settings a resumed run must share with its checkpoint.
STRUCTURAL_FIELDS: tuple[str, ...] = (
    "model",
    "lora_r",
    "lora_alpha",
    "lora_target_modules",
    "train_audio_head",
)


class HiggsTrainConfig(TrainConfig, LoraFields):
    """The settings of one Higgs run; each field is the flag ``--<name-with-dashes>``."""

    chatml: Path = Field(description="training ChatML JSONL (`natiq data chatml`)")
    output_dir: Path = Field(
        description="the final adapter, step_N/ checkpoints, logs, samples, cached codes"
    )
    codes_dir: Path | None = Field(
        None, description="cached audio codes (`natiq higgs tokenize`; default OUTPUT_DIR/codes)"
    )
    model: str = Field(DEFAULT_MODEL, description="base model: hub id or local folder")
    audio_tokenizer: str | None = Field(
        None,
        description="audio tokenizer id/folder (default: <model>/audio_tokenizer or the released one)",
    )
    frontend_config: Path | None = Field(
        None, description="natiq_frontend.json of the text front-end (default settings if omitted)"
    )
    system_prompt: str | None = Field(
        None,
        description="system message for every training sample (default: each ChatML line's own)",
    )
    lora_target_modules: CommaList = Field(
        DEFAULT_LORA_TARGETS, min_length=1, description="comma-separated module names LoRA adapts"
    )
    train_audio_head: bool = Field(False, description="also train a full copy of audio_lm_head")
    text_loss_weight: float = Field(0.0, ge=0, description="weight of the text loss, 0 = off")
    quantize: Literal["none", "8bit", "4bit"] = Field(
        "none", description="quantize the frozen base (bitsandbytes, CUDA): QLoRA"
    )
    gradient_checkpointing: bool | None = Field(
        None, description="recompute activations in backward (default: on for GPU)"
    )
    max_ref_seconds: float = Field(30.0, gt=0, description="skip samples whose reference is longer")
    max_target_seconds: float = Field(30.0, gt=0, description="skip samples whose target is longer")

    # Shared settings with the seed recipe's defaults.
    seed: int = Field(42, description="seed of every random choice (data order, dropout, init)")
    num_train_epochs: int = Field(
        10, ge=1, description="epochs to train when --max-steps is not given"
    )
    per_device_train_batch_size: int = Field(
        2, ge=1, description="samples per process per micro-batch"
    )
    gradient_accumulation_steps: int = Field(
        8, ge=1, description="micro-batches per optimizer step"
    )
    learning_rate: float = Field(1e-4, gt=0, description="peak learning rate (AdamW)")
    warmup_steps: int = Field(100, ge=0, description="optimizer steps of linear warmup")
    lora_dropout: float = Field(0.1, ge=0, lt=1, description="dropout on the LoRA input")


def recorded_training(adapter_dir: str | Path) -> dict[str, Any]:
    """The settings an adapter dir (or checkpoint) was trained with, plus ``system_prompt``.

    Reads ``training_config.json`` through ``natiq.training.checkpoint``; the
    result maps config names (``model``, ``audio_tokenizer``...) to values, and
    ``system_prompt`` to the prompt every training sample had (None when the
    ChatML lines had different ones and no ``--system-prompt`` was given).
    """
    from natiq.training.checkpoint import read_record

    record = read_record(adapter_dir, trainer=TRAINER)
    return {**record.config, "system_prompt": record.extra.get("system_prompt")}
