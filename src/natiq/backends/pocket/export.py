"""From a training checkpoint to files the stock pocket-tts loads, and back to a model.

``export_checkpoint`` rebuilds the trained model (base + adapter or weights,
EMA if present), merges LoRA into plain weights and writes a directory that
``pocket-tts generate --config <name>.yaml``, run in it, loads unchanged and offline:

- ``<name>.safetensors``: the ``TTSModel`` state_dict (FlowLM + Mimi);
- ``<name>.yaml``: the base config with a top-level ``weights_path``, the
  tokenizer, ``capitalize_first_letter: false`` and, in
  ``replace_characters``, the Arabic punctuation plus whatever of the text
  front-end a character map can express (Buckwalter: every letter and mark);
- ``<name>_tokenizer.model`` (or ``.json``) and ``natiq_frontend.json``.

Paths inside the YAML are relative to its folder and nothing in it names
this machine, so the folder can be moved, renamed or published: natiq
resolves them against the YAML's folder; stock pocket-tts resolves them from
the working directory (run it from the export folder) until ``natiq hub
push`` rewrites them to ``hf://REPO/FILE@REVISION`` (``config_paths``).

``load_checkpoint_model`` returns ``(TTSModel, FrontendConfig)`` for a training
checkpoint or an export directory; the speech backend uses it.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch

from natiq.backends.pocket import checkpointing as ckpt
from natiq.backends.pocket import model_setup
from natiq.common.errors import ModelLoadError
from natiq.common.files import atomic_path, atomic_write_text
from natiq.training import checkpoint as run_folder

DEFAULT_EXPORT_NAME = "natiq_arabic"


def is_training_checkpoint(path: Path) -> bool:
    return (path / run_folder.TRAINING_CONFIG_FILE).is_file()


def export_yaml_of(path: Path) -> Path | None:
    """The model YAML of an export directory (or the YAML itself), if ``path`` is one."""
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return path
    if path.is_dir():
        configs = sorted(path.glob("*.yaml"))
        if len(configs) == 1:
            return configs[0]
    return None


def load_checkpoint_model(
    path: str | Path, *, use_ema: bool = True, base: str | None = None
) -> tuple[Any, Any]:
    """``(TTSModel, FrontendConfig)`` from a training checkpoint (``step_N/``) or an export dir.

    EMA weights are used when the checkpoint has them and ``use_ema``. ``base``
    (optional) is the base the caller expects; a checkpoint trained from
    another one raises ``CheckpointMismatchError``, as does a checkpoint whose
    recorded base no longer matches the base's config on disk.
    """
    source = Path(path)
    if not source.exists():
        raise ModelLoadError(f"{source}: no such checkpoint or export directory")
    if is_training_checkpoint(source):
        return _load_training_checkpoint(source, use_ema=use_ema, base=base)
    yaml_path = export_yaml_of(source)
    if yaml_path is None:
        raise ModelLoadError(
            f"{source}: neither a training checkpoint ({run_folder.TRAINING_CONFIG_FILE}) nor an export "
            "directory (one <name>.yaml); give a step_N/ directory or the output of `natiq pocket export`"
        )
    from natiq.backends.pocket.base_model import (
        ARCHITECTURE_KEYS,
        base_fingerprint,
        load_base,
        load_base_config,
    )
    from natiq.text import FrontendConfig

    tts = load_base(str(yaml_path), device="cpu")
    if base is not None:
        run_folder.check_same_base(
            base_fingerprint(load_base_config(base)),
            base_fingerprint(tts.config),
            where=source,
            base=base,
            keys=ARCHITECTURE_KEYS,
        )
    tts.has_custom_weights = True
    return tts, FrontendConfig.load(yaml_path.parent)


def _load_training_checkpoint(
    directory: Path, *, use_ema: bool, base: str | None
) -> tuple[Any, Any]:
    from natiq.backends.pocket.base_model import base_fingerprint, load_base_config
    from natiq.backends.pocket.lora import merge_lora, prepare_trainable
    from natiq.backends.pocket.train_config import PocketTrainConfig
    from natiq.text import FrontendConfig
    from natiq.training.ema import EMA_FILE, copy_shadow_into, load_ema_file

    record = run_folder.read_record(directory, trainer=model_setup.TRAINER)
    config = PocketTrainConfig.from_dict(
        record.config, source=directory / run_folder.TRAINING_CONFIG_FILE
    )
    recorded = record.base["fingerprint"]
    if base is not None:
        run_folder.check_same_base(
            recorded, base_fingerprint(load_base_config(base)), where=directory, base=base
        )
    snapshot = None
    if record.base.get("snapshot"):
        snapshot = directory.parent / record.base["snapshot"]
    tts = model_setup.load_base_model(config.base, snapshot=snapshot)
    run_folder.check_same_base(
        recorded, base_fingerprint(tts.config), where=directory, base=config.base
    )
    model_setup.install_tokenizer(
        tts,
        directory / record.extra["tokenizer"],
        native=config.text_mode == "native",
        seed=config.seed,
    )
    model_setup.configure_text_prep(tts)
    trainable = prepare_trainable(
        tts.flow_lm,
        scope=config.train_scope,
        use_lora=config.use_lora,
        rank=config.lora_r,
        alpha=config.lora_alpha,
        dropout=config.lora_dropout,
    )
    ckpt.load_model_weights(trainable, directory, tts.flow_lm)
    if use_ema and (directory / EMA_FILE).is_file():
        copy_shadow_into(trainable, load_ema_file(directory / EMA_FILE))
    tts.flow_lm = merge_lora(trainable)
    for param in tts.parameters():
        param.requires_grad_(False)
    tts.has_custom_weights = True
    tts.eval()
    return tts, FrontendConfig.load(directory)


def export_checkpoint(
    checkpoint_dir: str | Path,
    output_dir: str | Path,
    *,
    name: str = DEFAULT_EXPORT_NAME,
    use_ema: bool = True,
) -> Path:
    """Merge and write ``<name>.safetensors`` + ``<name>.yaml`` + tokenizer + front-end; return the YAML."""
    tts, frontend_config = load_checkpoint_model(checkpoint_dir, use_ema=use_ema)
    return write_export(
        tts, frontend_config, output_dir, name=name, origin=Path(checkpoint_dir).name
    )


def write_export(
    tts: Any, frontend_config: Any, output_dir: str | Path, *, name: str, origin: str
) -> Path:
    """Write a loaded model as a portable export folder (see the module docstring); return the YAML.

    ``origin`` is a short label for the header comment (the checkpoint's
    folder name, never a path).
    """
    from safetensors.torch import save_file

    from natiq.backends.pocket import config_paths

    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)

    weights_file = out / f"{name}.safetensors"
    state = {key: value.detach().contiguous().cpu() for key, value in tts.state_dict().items()}
    with atomic_path(weights_file) as tmp:
        save_file(state, str(tmp))

    lookup = tts.config.flow_lm.lookup_table
    tokenizer_src = Path(lookup.tokenizer_path)
    if lookup.tokenizer_path.startswith("hf://"):  # a model loaded from the Hub
        from natiq.common.hub import download_file

        tokenizer_src = download_file(lookup.tokenizer_path)
    tokenizer_file = out / f"{name}_tokenizer{tokenizer_src.suffix}"
    with atomic_path(tokenizer_file) as tmp:
        shutil.copyfile(tokenizer_src, tmp)

    config = tts.config.model_dump(mode="json", exclude_none=True)
    config.pop("weights_path_without_voice_cloning", None)
    config["flow_lm"].pop("weights_path", None)
    config["mimi"].pop("weights_path", None)
    config["weights_path"] = weights_file.name
    config["flow_lm"]["lookup_table"]["tokenizer_path"] = tokenizer_file.name
    config["capitalize_first_letter"] = tts.capitalize_first_letter
    text_map, _ = config_paths.stock_text_map(frontend_config)
    config["replace_characters"] = {**dict(tts.replace_characters), **text_map}
    header = (
        f"# Exported by natiq from checkpoint {origin}. Paths are relative to this file's folder:\n"
        "# natiq reads them there; stock pocket-tts reads them from the working directory\n"
        "# (run it from this folder) until `natiq hub push` pins them to hf:// URLs.\n"
    )
    yaml_path = out / f"{name}.yaml"
    atomic_write_text(yaml_path, config_paths.dump_config(config, header))
    frontend_config.save(out)
    return yaml_path


def stock_tool_warnings(export_dir: str | Path) -> list[str]:
    """What stock pocket-tts tools will not do of this export's text front-end (empty: nothing)."""
    from natiq.backends.pocket.config_paths import stock_text_map
    from natiq.text import FrontendConfig

    return stock_text_map(FrontendConfig.load(Path(export_dir)))[1]


def checkpoint_size_bytes(directory: str | Path, *, weights_only: bool = True) -> int:
    """Bytes of a checkpoint's trained weights (adapter or ``trainable.safetensors``), or all files."""
    root = Path(directory)
    if weights_only:
        files = [*root.glob(f"{ckpt.ADAPTER_DIR}/*.safetensors"), *root.glob(ckpt.TRAINABLE_FILE)]
    else:
        files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def state_dict_size_bytes(module: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())
