"""Helpers shared by the Higgs tests: espeak-ng clips and ChatML samples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from natiq.data.audio import load_audio, resample

SYSTEM = "Generate audio following instruction.\n\n<|scene_desc_start|>\nAudio is recorded from a quiet room.\n<|scene_desc_end|>"


def espeak(text: str, path: Path, *, rate: int | None = None, stereo: bool = False) -> Path:
    """Arabic speech by espeak-ng (22.05 kHz mono), optionally resampled / made stereo."""
    raw = path.with_suffix(".espeak.wav")
    subprocess.run(
        ["espeak-ng", "-v", "ar", "-s", "190", "-w", str(raw), text],
        check=True,
        capture_output=True,
    )
    samples, sr = load_audio(raw)
    if rate is not None and rate != sr:
        samples, sr = resample(samples, sr, rate), rate
    data = np.stack([samples, samples * 0.5], axis=1) if stereo else samples
    sf.write(str(path), data, sr)
    raw.unlink()
    return path


def chatml_line(
    sample_id: str, ref_text: str, ref_audio: str, target_text: str, target_audio: str | None
) -> dict:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ref_text},
        {"role": "assistant", "content": {"type": "audio", "audio_url": ref_audio}},
        {"role": "user", "content": target_text},
    ]
    if target_audio is not None:
        messages.append(
            {"role": "assistant", "content": {"type": "audio", "audio_url": target_audio}}
        )
    return {"id": sample_id, "speaker": "spk1", "messages": messages}


def write_chatml(path: Path, lines: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return path


# Llama-3's pre-tokenizer split (public tokenizer.json of Llama 3): words,
# 1-3 digit groups, punctuation runs, newline runs and spaces are pre-tokens.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

_BPE_CORPUS = [
    "Generate audio following instruction.\n\nAudio is recorded from a quiet room.\n\n",
    "marhaban bikum fi natiq, 123 kalima wa 45 jumla. qaala: na'am!\n\n",
    "مرحبا بكم في ناطق، السلام عليكم ورحمة الله. نعم، شكرا جزيلا؛ كلا.\n\n",
    "al-salaamu 3alaykum wa ra7matu allaah... 2024-11-30\n\n",
]


def bpe_text_tokenizer():
    """A byte-level BPE with real merges and Llama-3's pre-tokenizer, Higgs special tokens at their ids.

    The tiny tokenizer has no merges, so any way of cutting a prompt gives the
    same tokens; with merges, tokenizing piece by piece matches tokenizing the
    whole prompt only where the pre-tokenizer already splits.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    from natiq.backends.higgs.config import SPECIAL_TOKENS
    from natiq.backends.higgs.tiny import higgs_text_tokenizer

    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer_model = Tokenizer(models.BPE())
    trainer_model.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    trainer_model.train_from_iterator(_BPE_CORPUS * 4, trainer=trainer)
    trained = json.loads(trainer_model.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    backend = Tokenizer(models.BPE(vocab={**trained["vocab"], **SPECIAL_TOKENS}, merges=merges))
    backend.pre_tokenizer = pre
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", 128000)]
    )
    return higgs_text_tokenizer(backend)
