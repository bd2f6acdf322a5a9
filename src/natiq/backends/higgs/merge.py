"""Fold a LoRA adapter into the base weights: a plain transformers checkpoint.

The output folder loads with ``HiggsAudioV2ForConditionalGeneration.from_pretrained``
unchanged (no PEFT needed) and also holds the text tokenizer, the audio
tokenizer when the base model bundled one, and ``natiq_frontend.json``, so it
works as ``--model`` for every natiq command.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from natiq.backends.higgs.frontend_io import FRONTEND_FILE
from natiq.backends.higgs.loading import load_model, load_text_tokenizer, model_source
from natiq.backends.higgs.lora import load_adapter
from natiq.backends.higgs.train_config import recorded_training
from natiq.common.files import atomic_write_json


@dataclass
class MergeConfig:
    adapter: Path
    output_dir: Path
    model: str | None = None
    dtype: str = "fp32"


def merge_adapter(config: MergeConfig) -> Path:
    adapter = Path(config.adapter)
    recorded = recorded_training(adapter)
    source = model_source(config.model or recorded.get("model"))
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[config.dtype]
    base = load_model(source, device=torch.device("cpu"), dtype=dtype)
    merged = load_adapter(base, adapter).merge_and_unload()
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(output))
    load_text_tokenizer(source).save_pretrained(str(output))
    bundled = Path(source) / "audio_tokenizer"
    if bundled.is_dir():
        shutil.copytree(bundled, output / "audio_tokenizer", dirs_exist_ok=True)
    shutil.copy2(adapter / FRONTEND_FILE, output / FRONTEND_FILE)
    atomic_write_json(
        output / "natiq_merge.json", {"base_model": source, "adapter": str(adapter.resolve())}
    )
    return output
