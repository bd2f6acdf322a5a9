"""``natiq higgs memory`` against a measured CPU stand-in, component by component.

The stand-in is the real Higgs Audio v2 classes at a reduced size (real
128k vocabulary and 8 x 1026 audio rows; hidden 768, intermediate 2048,
3 layers by default: sizes the estimate's constants were *not* measured at)
prepared exactly as ``natiq higgs train`` prepares the released model:
transformers' ``from_pretrained`` in bf16, or with natiq's bitsandbytes
config (4-bit NF4 / 8-bit, heads skipped) and PEFT's
``prepare_model_for_kbit_training``; gradient checkpointing; natiq's LoRA
(r16, dropout 0.1, default targets) and training objective (text loss 0.5
when asked); AdamW; bf16 autocast. Each case runs in a fresh process:

* weights + trainable: bytes of every live CPU tensor after one optimizer
  step (storages counted once; quantization states included), split into
  the trainable part (parameters requiring grad, their grads and AdamW
  moments) and the rest;
* activations: the peak of the allocator's running total during a second
  step (torch.profiler memory events), above what was live before it.

The estimate is ``natiq.backends.higgs.memory.estimate_memory`` for the same
config, sequence length, target frames and labelled text tokens; the 1 GiB
CUDA allowance is left out of both sides. What the stand-in does not cover:
CUDA context and caching-allocator fragmentation, cuBLAS/bitsandbytes CUDA
workspaces, and differences between CPU and CUDA autocast and kernels
(``scripts/gpu_check_higgs.py`` measures a GPU step).

Quantized cases need bitsandbytes (``pip install 'natiq[quant]'``; its CPU
backend runs them); without it they are reported as skipped.

    python benchmarks/higgs_memory.py [--hidden 768 --intermediate 2048 --layers 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASES = {
    "lora-bf16": {"mode": "lora-bf16", "text_loss": False},
    "lora-bf16 + text loss": {"mode": "lora-bf16", "text_loss": True},
    "qlora-4bit": {"mode": "qlora-4bit", "text_loss": False},
    "qlora-4bit + text loss": {"mode": "qlora-4bit", "text_loss": True},
    "qlora-8bit": {"mode": "qlora-8bit", "text_loss": False},
    "qlora-8bit + text loss": {"mode": "qlora-8bit", "text_loss": True},
}
TEXT = "مرحبا بكم في ناطق، السلام عليكم ورحمة الله. " * 4
MB = 1e6


def build_model(directory: Path, hidden: int, intermediate: int, layers: int) -> None:
    import torch
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.tiny import tiny_model_config, tiny_text_tokenizer

    config = tiny_model_config(hidden_size=hidden, num_layers=layers)
    config.intermediate_size = intermediate
    config.head_dim = 128
    config.num_attention_heads = hidden // 128
    config.num_key_value_heads = max(1, hidden // 384)
    torch.manual_seed(0)
    model = HiggsAudioV2ForConditionalGeneration(config, use_text_head=True)
    model.to(torch.bfloat16).save_pretrained(directory)
    tiny_text_tokenizer().save_pretrained(directory)


def live_cpu_bytes() -> int:
    import torch

    storages: dict[int, int] = {}
    with warnings.catch_warnings():  # isinstance() wakes lazy deprecated torch attributes
        warnings.simplefilter("ignore")
        for obj in gc.get_objects():
            try:
                is_cpu_tensor = isinstance(obj, torch.Tensor) and obj.device.type == "cpu"
            except ReferenceError:  # a weakref proxy whose object is gone (left by other code)
                continue
            if is_cpu_tensor:
                storage = obj.untyped_storage()
                storages[storage.data_ptr()] = storage.nbytes()
    return sum(storages.values())


def peak_allocated(step) -> int:
    """Highest running total of CPU allocator events while ``step()`` runs."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]"
    )
    running = peak = 0
    for _, nbytes in events:
        running += nbytes
        peak = max(peak, running)
    return peak


@dataclass
class TrainingCase:
    """One prepared training step of the stand-in, as ``natiq higgs train`` would run it."""

    step: Callable[[], float]  # one optimizer step; returns its loss
    optimizer: Any
    trainable: list
    seq_len: int
    text_tokens: int

    def trainable_bytes(self) -> int:
        """Trainable parameters, their gradients and AdamW's two moments."""
        import torch

        moments = sum(
            t.numel() * t.element_size()
            for state in self.optimizer.state.values()
            for t in state.values()
            if torch.is_tensor(t) and t.dim() > 0
        )
        return sum(2 * p.numel() * p.element_size() for p in self.trainable) + moments


def training_case(
    model_dir: Path,
    mode: str,
    text_loss: bool,
    ref_frames: int,
    target_frames: int,
    device: str = "cpu",
) -> TrainingCase:
    """Load the stand-in as training does (bf16, or bitsandbytes + PEFT's k-bit preparation)."""
    import torch
    from transformers import HiggsAudioV2ForConditionalGeneration
    from transformers.utils import logging

    from natiq.backends.higgs.chatml_inputs import IGNORE_INDEX, CloningTexts, encode_conversation
    from natiq.backends.higgs.collator import HiggsCollator
    from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT, AudioIds
    from natiq.backends.higgs.loading import bitsandbytes_config
    from natiq.backends.higgs.lora import add_lora
    from natiq.backends.higgs.losses import HiggsTrainingObjective
    from natiq.backends.higgs.tiny import tiny_text_tokenizer
    from natiq.backends.higgs.train_config import DEFAULT_LORA_TARGETS

    logging.set_verbosity_error()
    kwargs: dict = {"dtype": torch.bfloat16, "use_text_head": text_loss}
    if mode != "lora-bf16":
        quantize = mode.removeprefix("qlora-")
        kwargs.update(
            quantization_config=bitsandbytes_config(quantize, torch.bfloat16),  # type: ignore[arg-type]
            device_map={"": device},
        )
    model = HiggsAudioV2ForConditionalGeneration.from_pretrained(model_dir, **kwargs)
    if mode == "lora-bf16":
        model = model.to(device)
    else:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, gradient_checkpointing_kwargs={"use_reentrant": False}
        )
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    model = add_lora(model, r=16, alpha=32, dropout=0.1, targets=DEFAULT_LORA_TARGETS)
    objective = HiggsTrainingObjective(model, text_loss_weight=0.5 if text_loss else 0.0).train()
    trainable = [p for p in objective.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)

    tokenizer = tiny_text_tokenizer()
    ids = AudioIds.from_config(model.config)
    generator = torch.Generator().manual_seed(0)
    sample = encode_conversation(
        tokenizer,
        ids,
        CloningTexts(DEFAULT_SYSTEM_PROMPT, TEXT, TEXT),
        torch.randint(0, 1024, (ids.num_codebooks, ref_frames), generator=generator),
        torch.randint(0, 1024, (ids.num_codebooks, target_frames), generator=generator),
    )
    collated = HiggsCollator(tokenizer.pad_token_id, ids.stream_eos, ids.num_codebooks)([sample])
    batch = {key: value.to(device) for key, value in collated.items()}
    device_type = torch.device(device).type

    def step() -> float:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            loss = objective(batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)  # grads stay allocated: counted as trainable
        return float(loss.detach())

    return TrainingCase(
        step=step,
        optimizer=optimizer,
        trainable=trainable,
        seq_len=int(collated["input_ids"].shape[1]),
        text_tokens=int((sample.text_labels[1:] != IGNORE_INDEX).sum()),
    )


def measure(model_dir: Path, mode: str, text_loss: bool, ref_frames: int, target_frames: int):
    """One case on CPU in this process: the measured components and what the estimate needs."""
    import torch

    torch.set_num_threads(1)
    gc.collect()
    before = live_cpu_bytes()
    case = training_case(model_dir, mode, text_loss, ref_frames, target_frames)
    case.step()
    gc.collect()
    static = live_cpu_bytes() - before
    trainable_bytes = case.trainable_bytes()
    activations = peak_allocated(case.step)
    return {
        "weights": static - trainable_bytes,
        "trainable": trainable_bytes,
        "activations": activations,
        "seq_len": case.seq_len,
        "text_tokens": case.text_tokens,
    }


def estimate(model_dir: Path, case: dict, measured: dict, target_frames: int) -> dict:
    from natiq.backends.higgs.memory import GIB, count_parameters, estimate_memory, load_config
    from natiq.backends.higgs.train_config import DEFAULT_LORA_TARGETS

    config = load_config(str(model_dir / "config.json"))
    counts = count_parameters(config, lora_r=16, lora_targets=DEFAULT_LORA_TARGETS)
    (chosen,) = [
        e
        for e in estimate_memory(
            config,
            counts,
            seq_len=measured["seq_len"],
            target_frames=target_frames,
            text_tokens=measured["text_tokens"],
            text_loss=case["text_loss"],
            lora_dropout=0.1,
        )
        if e.mode == case["mode"]
    ]
    return {
        "weights": chosen.weights_gib * GIB,
        "trainable": chosen.trainable_gib * GIB,
        "activations": chosen.activations_gib * GIB,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hidden", type=int, default=768)
    parser.add_argument("--intermediate", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--ref-frames", type=int, default=400)
    parser.add_argument("--target-frames", type=int, default=400)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process: one case, JSON on stdout
        case = CASES[args.case]
        result = measure(
            args.model_dir, case["mode"], case["text_loss"], args.ref_frames, args.target_frames
        )
        print(json.dumps(result))
        return

    try:
        import bitsandbytes  # noqa: F401

        have_bnb = True
    except ImportError:
        have_bnb = False
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "standin"
        build_model(model_dir, args.hidden, args.intermediate, args.layers)
        print(
            f"stand-in: hidden {args.hidden}, intermediate {args.intermediate}, {args.layers} layers, "
            f"vocab 128256, 8 x 1026 audio rows; reference {args.ref_frames} + target "
            f"{args.target_frames} frames; MB = 1e6 bytes"
        )
        print(
            f"{'case':<24} {'component':<12} {'estimate':>9} {'measured':>9} {'ratio':>6}  verdict"
        )
        for name, case in CASES.items():
            if case["mode"] != "lora-bf16" and not have_bnb:
                print(f"{name:<24} skipped: bitsandbytes is not installed")
                continue
            frames = [
                "--ref-frames",
                str(args.ref_frames),
                "--target-frames",
                str(args.target_frames),
            ]
            child = subprocess.run(
                [sys.executable, __file__, "--case", name, "--model-dir", str(model_dir), *frames],
                capture_output=True,
                text=True,
                check=True,
            )
            measured = json.loads(child.stdout.strip().splitlines()[-1])
            estimated = estimate(model_dir, case, measured, args.target_frames)
            for component in ("weights", "trainable", "activations"):
                ratio = estimated[component] / measured[component]
                print(
                    f"{name:<24} {component:<12} {estimated[component] / MB:9.1f} "
                    f"{measured[component] / MB:9.1f} {ratio:6.3f}"
                )
            total_est = sum(estimated[c] for c in ("weights", "trainable", "activations"))
            total_meas = sum(measured[c] for c in ("weights", "trainable", "activations"))
            ratio = total_est / total_meas
            verdict = "PASS" if abs(ratio - 1) <= 0.10 else "FAIL"
            print(
                f"{name:<24} {'total':<12} {total_est / MB:9.1f} {total_meas / MB:9.1f} "
                f"{ratio:6.3f}  {verdict} (within 10%)"
            )


if __name__ == "__main__":
    main()
