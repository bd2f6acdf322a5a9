"""Fold a LoRA adapter into the base weights: a plain transformers checkpoint.

The output folder loads with ``HiggsAudioV2ForConditionalGeneration.from_pretrained``
unchanged (no PEFT needed) and with ``AutoProcessor.from_pretrained``: it
holds the text tokenizer, a ``HiggsAudioV2Processor`` whose chat template
renders natiq's prompt (``processor.py``), the audio tokenizer when the base
model bundled one (``audio_tokenizer/``, which the processor then points
at), and ``natiq_frontend.json``, so it also works as ``--model`` for every
natiq command.

Weights are written in bf16 by default (the released model's dtype: ~11 GB
instead of ~21.5 GB in fp32). The base is loaded in the target dtype and
PEFT adds each LoRA delta (computed in fp32) in place.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from natiq.backends.higgs.frontend_io import FRONTEND_FILE
from natiq.backends.higgs.loading import (
    audio_tokenizer_source,
    load_audio_tokenizer,
    load_model,
    load_text_tokenizer,
    model_source,
)
from natiq.backends.higgs.lora import load_adapter
from natiq.backends.higgs.processor import build_processor
from natiq.backends.higgs.train_config import recorded_training
from natiq.common.errors import DataFormatError
from natiq.common.files import atomic_write_json

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


@dataclass
class MergeConfig:
    adapter: Path
    output_dir: Path
    model: str | None = None
    dtype: str = "bf16"


def merge_adapter(config: MergeConfig) -> Path:
    if config.dtype not in DTYPES:
        raise DataFormatError(f"--dtype must be one of {', '.join(DTYPES)}, not {config.dtype!r}")
    adapter = Path(config.adapter)
    recorded = recorded_training(adapter)
    source = model_source(config.model or recorded.get("model"))
    base = load_model(source, device=torch.device("cpu"), dtype=DTYPES[config.dtype])
    merged = load_adapter(base, adapter).merge_and_unload()
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(output))
    tokenizer = load_text_tokenizer(source)
    tokenizer.save_pretrained(str(output))
    codec_source = audio_tokenizer_source(recorded.get("audio_tokenizer"), source)
    if Path(codec_source).is_dir():
        shutil.copytree(codec_source, output / "audio_tokenizer", dirs_exist_ok=True)
        codec_source = str((output / "audio_tokenizer").resolve())
    build_processor(tokenizer, load_audio_tokenizer(codec_source)).save_pretrained(str(output))
    shutil.copy2(adapter / FRONTEND_FILE, output / FRONTEND_FILE)
    atomic_write_json(
        output / "natiq_merge.json",
        {"base_model": source, "adapter": str(adapter.resolve()), "dtype": config.dtype},
    )
    return output
