"""The one place natiq builds an ``Accelerator`` and asks it about processes and sharding.

Devices, precision and distribution (one process, DDP under ``torchrun`` or
``accelerate launch``, FSDP, DeepSpeed) come from Accelerate's configuration;
trainers never branch on them, except through the questions answered here:
how many processes (from ``torch.distributed`` when it is initialized: on CPU,
Accelerate's DeepSpeed state reports one process per rank), whether parameters
are sharded (then a full copy must be gathered before writing weights or
generating samples), and which of Accelerate's checkpoint files to skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from natiq.common.errors import NatiqError
from natiq.training.config import TrainConfig

MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}


def make_accelerator(
    config: TrainConfig, run_dir: Path, *, find_unused_parameters: bool = False
) -> Any:
    """An ``Accelerator`` for ``config`` logging to TensorBoard under ``run_dir/logs``.

    ``find_unused_parameters``: tell DDP that some trainable parameters may get
    no gradient in a step (e.g. a head whose loss is off).
    """
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import ProjectConfiguration

    from natiq.common.runtime import resolve_precision, select_device

    device = select_device(config.device)
    precision = resolve_precision(config.precision, device)
    handlers = (
        [DistributedDataParallelKwargs(find_unused_parameters=True)]
        if find_unused_parameters
        else []
    )
    accelerator = Accelerator(
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        mixed_precision=MIXED_PRECISION[precision],
        cpu=device.type == "cpu",
        log_with="tensorboard",
        project_config=ProjectConfiguration(
            project_dir=str(run_dir), logging_dir=str(run_dir / "logs")
        ),
        kwargs_handlers=handlers,
    )
    plugin = getattr(accelerator.state, "deepspeed_plugin", None)
    if plugin is not None:
        # natiq batches its data itself (no prepared data loader), so DeepSpeed learns the
        # micro-batch size here instead of from a loader.
        settings = plugin.deepspeed_config
        if settings.get("train_micro_batch_size_per_gpu", "auto") == "auto":
            settings["train_micro_batch_size_per_gpu"] = config.per_device_train_batch_size
    return accelerator


def processes(accelerator: Any) -> tuple[int, int]:
    """``(number of processes, this process's index)``."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return accelerator.num_processes, accelerator.process_index


def parameters_sharded(accelerator: Any) -> bool:
    """True under FSDP or DeepSpeed ZeRO-3: no process holds all the weights."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    if kind == DistributedType.FSDP:
        return True
    if kind == DistributedType.DEEPSPEED:
        plugin = accelerator.state.deepspeed_plugin
        return plugin is not None and plugin.zero_stage == 3
    return False


def check_ema_supported(accelerator: Any) -> None:
    """EMA keeps a shadow per parameter: plain or FSDP2 (DTensor) parameters only."""
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    fsdp1 = kind == DistributedType.FSDP and not accelerator.is_fsdp2
    if fsdp1 or (kind == DistributedType.DEEPSPEED and parameters_sharded(accelerator)):
        raise NatiqError(
            "--ema-decay needs unsharded or FSDP2 parameters; FSDP1 and DeepSpeed ZeRO-3 "
            "are not supported with EMA: set fsdp_version: 2, use ZeRO-1/2, or --ema-decay 0"
        )


def skip_full_model_files(accelerator: Any) -> None:
    """``save_state`` without the whole model (base included): trainers write the trained weights.

    Only when parameters are not sharded; FSDP and DeepSpeed save and load their
    own (sharded) model files, which their optimizer state needs.
    """
    if parameters_sharded(accelerator):
        return
    from accelerate.utils import DistributedType

    if accelerator.distributed_type == DistributedType.DEEPSPEED:
        return
    accelerator.register_save_state_pre_hook(lambda models, weights, output_dir: weights.clear())
    accelerator.register_load_state_pre_hook(lambda models, input_dir: models.clear())


def full_state_dict(accelerator: Any, prepared: Any) -> dict[str, Any]:
    """The whole state dict of a prepared model, gathered when sharded; every process must call.

    Complete on the main process (other processes may get an empty dict).
    """
    from torch.distributed.tensor import DTensor

    state = accelerator.get_state_dict(prepared) or {}
    # Accelerate's FSDP2 path can hand back shards (seen on CPU): gather them, on every
    # process alike (each one got the same kind of state dict from the same code path).
    return {k: v.full_tensor() if isinstance(v, DTensor) else v for k, v in state.items()}
