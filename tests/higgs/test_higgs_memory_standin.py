"""``natiq higgs memory`` with a text loss agrees with a measured CPU step.

Runs ``benchmarks/higgs_memory.py``'s measurement in-process on a small
stand-in (real 128k vocabulary, hidden 128, 2 layers, bf16 base): the live
tensor bytes after an optimizer step and the allocator's peak during the
next one, against ``estimate_memory`` for the same shapes. The quantized
cases need bitsandbytes and run in the benchmark.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "higgs_memory.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("higgs_memory_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_text_loss_estimate_is_within_ten_percent_of_a_measured_step(bench, tmp_path: Path):
    bench.build_model(tmp_path, hidden=128, intermediate=352, layers=2)
    case = {"mode": "lora-bf16", "text_loss": True}
    measured = bench.measure(tmp_path, "lora-bf16", True, ref_frames=60, target_frames=60)
    estimated = bench.estimate(tmp_path, case, measured, target_frames=60)
    # the static parts are exact: bf16 weights with the text head, fp32 LoRA + AdamW
    assert estimated["weights"] == pytest.approx(measured["weights"], rel=0.01)
    assert estimated["trainable"] == pytest.approx(measured["trainable"], rel=0.001)
    # the loss phase dominates: 12 bytes per labelled text logit
    assert estimated["activations"] == pytest.approx(measured["activations"], rel=0.10)
    total = sum(estimated.values()) / sum(measured[k] for k in estimated)
    assert abs(total - 1) <= 0.10
