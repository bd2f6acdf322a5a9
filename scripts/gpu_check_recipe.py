"""GPU check of the recipes (one GPU, < 3 minutes): the stages with their models on CUDA.

Run from the repository root: ``PYTHONPATH=src python scripts/gpu_check_recipe.py``.
Needs no download (the demo recipe's mini-corpus and tiny random models). Prints
one ``PASS``/``FAIL`` line per check with figures:

1. The demo recipe (Pocket) with latents, training (bf16) and the evaluation speech
   on CUDA: every stage runs, ``evaluation.json`` has both sets, the card is written.
2. The export on CUDA speaks with no voice (its default voice state, saved from a
   CPU model, must reach the GPU model) and through the server as OpenAI ``alloy``.
3. A tiny Higgs recipe with codes, training (bf16) and merge on CUDA: every stage
   runs and the merged model speaks with its default voice on CUDA.
4. A second run of each does nothing.

``NATIQ_GPU_CHECK_DEVICE=cpu`` runs the same steps on CPU (a dry run of this script).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS: list[tuple[str, bool]] = []
DEVICE = os.environ.get("NATIQ_GPU_CHECK_DEVICE", "cuda")
PRECISION = "bf16" if DEVICE == "cuda" else "fp32"
TEXT = "مَرْحَبًا بِكُمْ"


def report(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def on_device(recipe: Any) -> Any:
    """The recipe (already shrunk by --tiny, which chooses the CPU) with its models on DEVICE."""
    train = recipe.train.model_copy(update={"device": DEVICE, "precision": PRECISION})
    evaluate = recipe.evaluate.model_copy(update={"device": DEVICE})
    update: dict[str, Any] = {"train": train, "evaluate": evaluate}
    if recipe.backend == "pocket":
        update["latents"] = recipe.latents.model_copy(update={"device": DEVICE})
    else:
        update["codes"] = recipe.codes.model_copy(update={"device": DEVICE})
    return recipe.model_copy(update=update)


def run(recipe: Any, run_dir: Path) -> dict[str, str]:
    from natiq.recipe.runner import prepared_recipe, recipe_stages, run_stages
    from natiq.recipe.stages import RunContext

    prepared = on_device(prepared_recipe(recipe, run_dir))
    stages = recipe_stages(prepared.backend, tiny=True)
    ctx = RunContext(recipe=prepared, run_dir=run_dir, log=lambda _: None, progress=False)
    return run_stages(stages, ctx).actions()


def pocket_checks(root: Path) -> None:
    import json

    from natiq.backends.base import SynthesisOptions
    from natiq.recipe.config import load_recipe
    from natiq.synthesizer import Synthesizer

    run_dir = root / "pocket"
    started = time.perf_counter()
    try:
        actions = run(load_recipe("demo"), run_dir)
    except Exception as exc:  # a GPU-only failure is what this check looks for
        report("pocket recipe on the GPU", False, f"{type(exc).__name__}: {exc}")
        return
    evaluation = json.loads((run_dir / "evaluate" / "evaluation.json").read_text())
    ran = [name for name, action in actions.items() if action == "ran"]
    report(
        "pocket recipe on the GPU",
        len(ran) == 7 and set(evaluation["sets"]) == {"held_out", "test"}
        and (run_dir / "model" / "README.md").is_file(),
        f"{', '.join(ran)} in {time.perf_counter() - started:.1f} s; "
        f"test CER {evaluation['sets']['test'].get('corpus_cer')}",
    )  # fmt: skip
    model = run_dir / "model"
    synth = Synthesizer.load("pocket", checkpoint=model, device=DEVICE, temperature=0.0)
    try:
        audio = synth.speak(TEXT, options=SynthesisOptions(max_seconds=3)).audio
        report("pocket default voice on the GPU", audio.size > 0, f"{audio.size} samples")
    except Exception as exc:
        report("pocket default voice on the GPU", False, f"{type(exc).__name__}: {exc}")
    serve_check(synth, root)
    again = run(load_recipe("demo"), run_dir)
    report(
        "pocket second run does nothing",
        set(again.values()) <= {"skipped", "nothing to do"},
        str(again),
    )


def serve_check(synth: Any, root: Path) -> None:
    from fastapi.testclient import TestClient

    from natiq.serve.app import create_app
    from natiq.serve.settings import ServeSettings

    app = create_app(ServeSettings(data_dir=root / "serve"), synthesizer=synth)
    with TestClient(app, base_url="http://127.0.0.1:8000") as http:
        answer = http.post(
            "/v1/audio/speech",
            json={"input": TEXT, "voice": "alloy", "response_format": "pcm"},
        )
    report(
        "serve alloy on the GPU",
        answer.status_code == 200 and len(answer.content) > 0,
        f"HTTP {answer.status_code}, {len(answer.content)} bytes",
    )


def higgs_checks(root: Path) -> None:
    from natiq.backends.base import SynthesisOptions
    from natiq.recipe.config import recipe_from_dict
    from natiq.synthesizer import Synthesizer

    recipe = recipe_from_dict(
        {
            "name": "higgs-gpu",
            "backend": "higgs",
            "prepare": {"manifest": "natiq:data/mini_corpus/manifest.jsonl", "val_fraction": 0.1},
            "train": {"lora_r": 4},
            "evaluate": {"scoring": {"intelligibility": False, "quality": False}},
            "voice_choice": {"min_seconds": 1.0},
            "tiny": {"enabled": True, "limit": 12, "max_steps": 4, "save_steps": 2,
                     "batch_size": 2, "held_out": 1, "test_limit": 1, "latency_sentences": 0},
        },
        folder=Path.cwd(),
    )  # fmt: skip
    run_dir = root / "higgs"
    started = time.perf_counter()
    try:
        actions = run(recipe, run_dir)
    except Exception as exc:
        report("higgs recipe on the GPU", False, f"{type(exc).__name__}: {exc}")
        return
    ran = [name for name, action in actions.items() if action == "ran"]
    report(
        "higgs recipe on the GPU",
        len(ran) == 7,
        f"{', '.join(ran)} in {time.perf_counter() - started:.1f} s",
    )
    synth = Synthesizer.load("higgs", model=str(run_dir / "model"), device=DEVICE)
    try:
        greedy = SynthesisOptions(temperature=0.0, max_seconds=1.0)
        audio = synth.speak(TEXT, options=greedy).audio
        report("higgs default voice on the GPU", audio.size > 0, f"{audio.size} samples")
    except Exception as exc:
        report("higgs default voice on the GPU", False, f"{type(exc).__name__}: {exc}")
    again = run(recipe, run_dir)
    report(
        "higgs second run does nothing",
        set(again.values()) <= {"skipped", "nothing to do"},
        str(again),
    )


def main() -> int:
    import torch

    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("FAIL no CUDA device (NATIQ_GPU_CHECK_DEVICE=cpu runs the dry run)")
        return 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="natiq-gpu-recipe-") as folder:
        pocket_checks(Path(folder))
        higgs_checks(Path(folder))
    failed = [name for name, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
