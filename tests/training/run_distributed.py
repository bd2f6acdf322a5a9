"""Run natiq's trainers in every process of a ``torchrun`` launch (used by the tests).

``python -m torch.distributed.run --standalone --nproc_per_node 2 run_distributed.py SPEC``
where SPEC is a JSON file ``{"pocket": {config}, "higgs": {config}, "report": dir}``; each
trainer runs in turn, and each process writes ``report/rank<N>.json`` with the process
count the trainer saw and its result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch


def main() -> None:
    from natiq.backends.higgs.train_config import HiggsTrainConfig
    from natiq.backends.higgs.trainer import run_training
    from natiq.backends.pocket.train_config import PocketTrainConfig
    from natiq.backends.pocket.trainer import train

    torch.set_num_threads(1)
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    report: dict = {}
    quiet = lambda line: None  # noqa: E731
    if "pocket" in spec:
        result = train(PocketTrainConfig(**spec["pocket"]), log=quiet)
        report["pocket"] = {"processes": result.processes, "step": result.step}
    if "higgs" in spec:
        result = run_training(HiggsTrainConfig(**spec["higgs"]), log=quiet)
        report["higgs"] = {"processes": result.processes, "step": result.steps}
    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    target = Path(spec["report"]) / f"rank{rank}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
