"""Run natiq's trainers in every process of a ``torchrun`` launch (used by the tests).

``python -m torch.distributed.run --standalone --nproc_per_node 2 run_distributed.py SPEC``
where SPEC is a JSON file ``{"pocket": {config}, "higgs": {config}, "report": dir}``; each
trainer runs in turn, and each process writes ``report/rank<N>.json`` with the process
count the trainer saw and its result. First, ``natiq.training.ema`` runs on parameters
sharded by torch's FSDP2 ``fully_shard`` (Accelerate does not offer FSDP on CPU).
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
    report: dict = {"ema_fsdp2": ema_on_sharded_parameters(Path(spec["report"]) / "ema")}
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


def ema_on_sharded_parameters(directory: Path) -> dict:
    """EMA of FSDP2 (DTensor) parameters: update per shard, save gathered, load re-sharded."""
    import torch.distributed as dist
    from torch.distributed.fsdp import fully_shard

    from natiq.training.ema import EMA

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Linear(6, 2))
    start = {k: v.detach().clone() for k, v in model.state_dict().items()}
    fully_shard(model)
    ema = EMA(model.named_parameters(), decay=0.5)
    sharded = type(next(model.parameters())).__name__
    with torch.no_grad():
        for param in model.parameters():
            param.add_(1.0)
    ema.update()
    ema.save(directory, write=dist.get_rank() == 0)
    dist.barrier()
    fresh = EMA(model.named_parameters(), decay=0.5)
    fresh.load(directory)
    full = fresh.full_shadow()
    error = max(float((full[k] - (start[k] + 0.5)).abs().max()) for k in start)
    local = {k: tuple(v.to_local().shape) for k, v in ema.shadow.items()}
    return {"parameter_type": sharded, "max_error": error, "local_shapes": local}


if __name__ == "__main__":
    main()
