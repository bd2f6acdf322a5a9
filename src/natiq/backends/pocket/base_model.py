"""Loading the Pocket TTS base model that natiq fine-tunes or encodes with.

A base is named three ways: a pocket-tts language (``english``, ``french_24l``,
...), a local YAML config (or a directory holding exactly one, such as a natiq
export), or an ``hf://owner/repo/file.yaml[@rev]`` config. Loading goes through
``TTSModel.load_model``; a YAML config is first localized (``config_paths``):
paths relative to the YAML are read from its folder (pocket-tts alone would
read them from the working directory) and ``hf://`` files come from the
Hugging Face cache when the Hub cannot be reached, so an offline machine
fails in seconds instead of retrying for minutes. What this module adds is
turning a missing file, a gated repository or an offline cache miss into a
``ModelLoadError`` that says what to do.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from natiq.common.errors import CheckpointMismatchError, ModelLoadError

GATED_REPO_URL = "https://huggingface.co/kyutai/pocket-tts"

HOW_TO_GET_WEIGHTS = (
    "To use the released weights: accept the licence of the gated repository at "
    f"{GATED_REPO_URL}, log in with `hf auth login` (or set HF_TOKEN), and run once "
    "with network access (HF_HUB_OFFLINE unset) so the files reach the Hugging Face cache. "
    "Otherwise pass --base a local YAML config whose weights_path and tokenizer_path are "
    "local files (for tests, natiq.backends.pocket.tiny.write_tiny_model writes one)."
)


def available_languages() -> list[str]:
    """The config names pocket-tts ships (``english``, ``french_24l``, ...)."""
    from pocket_tts.utils.config import CONFIGS_DIR

    return sorted(path.stem for path in CONFIGS_DIR.glob("*.yaml"))


def resolve_base(base: str | Path) -> dict[str, str]:
    """``load_model`` keyword for ``base``: ``{"language": name}`` or ``{"config": path_or_url}``."""
    text = str(base)
    if text.startswith(("hf://", "http://", "https://")):
        return {"config": text}
    path = Path(text).expanduser()
    if path.is_dir():
        configs = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml"))
        if len(configs) != 1:
            raise ModelLoadError(
                f"{path}: a base directory must hold exactly one .yaml config, found {len(configs)}"
            )
        return {"config": str(configs[0])}
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ModelLoadError(f"{path}: base model config not found")
        return {"config": str(path)}
    languages = available_languages()
    if text in languages:
        return {"language": text}
    raise ModelLoadError(
        f"unknown base {text!r}: give a pocket-tts language ({', '.join(languages)}), "
        "a local .yaml config, a directory holding one, or an hf://owner/repo/config.yaml id"
    )


def _names_urls(config_file: str) -> bool:
    if config_file.startswith(("hf://", "http://", "https://")):
        return True
    from natiq.backends.pocket.config_paths import config_paths, is_url, read_config

    return any(is_url(value) for _, value in config_paths(read_config(config_file)[0]))


@contextlib.contextmanager
def _loadable(target: dict[str, str]) -> Iterator[dict[str, str]]:
    """``load_model`` keywords whose YAML (if any) no longer depends on the working directory.

    A local or ``hf://`` YAML is rewritten (``canonical_config``) into a
    temporary file for the block's duration, its ``hf://`` files fetched
    first so that a missing one is a clear error.
    """
    source = target.get("config")
    if source is None or source.startswith(("http://", "https://")):
        yield target
        return
    from natiq.backends.pocket.config_paths import canonical_config, dump_config

    config = canonical_config(source, fetch=True)
    with tempfile.TemporaryDirectory(prefix="natiq-config-") as folder:
        local = Path(folder) / Path(source.split("@")[0]).name
        local.write_text(dump_config(config), encoding="utf-8")
        yield {"config": str(local)}


def load_base(base: str | Path = "english", *, device: str = "cpu", **load_kwargs: Any):
    """Load a ``TTSModel`` (FlowLM + Mimi) for ``base`` on ``device`` (``auto``, ``cpu``, ``cuda``).

    ``load_kwargs`` go to ``TTSModel.load_model`` (``temp``, ``eos_threshold``,
    ``quantize``, ...). Raises ``ModelLoadError`` with instructions when weights,
    the tokenizer or the config cannot be found or downloaded.
    """
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )
    from pocket_tts import TTSModel

    from natiq.common.hub import fail_fast_when_offline
    from natiq.common.runtime import select_device

    target = resolve_base(base)
    try:
        with _loadable(target) as loadable:
            # pocket-tts downloads hf:// and http(s) files itself (a language config names some)
            downloads = "language" in loadable or _names_urls(loadable["config"])
            with fail_fast_when_offline() if downloads else contextlib.nullcontext():
                model = TTSModel.load_model(**loadable, **load_kwargs)
    except GatedRepoError as exc:
        raise ModelLoadError(
            f"base {base!s}: access to a gated repository was refused ({exc}). {HOW_TO_GET_WEIGHTS}"
        ) from None
    except LocalEntryNotFoundError:
        raise ModelLoadError(
            f"base {base!s}: its weights or tokenizer are not in the local Hugging Face cache and "
            f"downloads are disabled or impossible (offline). {HOW_TO_GET_WEIGHTS}"
        ) from None
    except (RepositoryNotFoundError, EntryNotFoundError) as exc:
        raise ModelLoadError(
            f"base {base!s}: a file it names does not exist on the Hub ({exc}). {HOW_TO_GET_WEIGHTS}"
        ) from None
    except HfHubHTTPError as exc:
        raise ModelLoadError(
            f"base {base!s}: download failed ({exc}). {HOW_TO_GET_WEIGHTS}"
        ) from None
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"base {base!s}: {exc}. Check the paths in the YAML config (weights_path, tokenizer_path)."
        ) from None
    except (OSError, ConnectionError) as exc:
        raise ModelLoadError(
            f"base {base!s}: could not read or fetch a model file ({exc}). {HOW_TO_GET_WEIGHTS}"
        ) from None
    except AssertionError as exc:  # pocket-tts asserts tokenizer size == n_bins
        raise CheckpointMismatchError(
            f"base {base!s}: tokenizer {_tokenizer_path(target)} does not match the config ({exc}); "
            "lookup_table.n_bins must equal the tokenizer's number of pieces"
        ) from None
    except RuntimeError as exc:
        if "size mismatch" not in str(exc):
            raise
        raise CheckpointMismatchError(
            f"base {base!s}: the weights do not fit the config (tokenizer "
            f"{_tokenizer_path(target)}): {str(exc).splitlines()[0]} ... A text embedding of another "
            "size means the weights were trained with another tokenizer."
        ) from None
    model.to(select_device(device))
    return model


def load_base_config(base: str | Path) -> Any:
    """Parse a base's pocket-tts config without loading weights (an hf:// YAML is fetched unless offline)."""
    from pocket_tts.utils.config import CONFIGS_DIR, Config, load_config

    from natiq.backends.pocket.config_paths import canonical_config

    target = resolve_base(base)
    source = target.get("config") or str(CONFIGS_DIR / f"{target['language']}.yaml")
    try:
        if "config" in target and not source.startswith(("http://", "https://")):
            # relative paths resolved as ``load_base`` resolves them, so fingerprints agree
            return Config(**canonical_config(source))
        return load_config(source)
    except ModelLoadError:
        raise
    except FileNotFoundError as exc:
        raise ModelLoadError(f"{base}: {exc}") from None
    except Exception as exc:
        raise ModelLoadError(
            f"cannot read the config of base model {base!r} ({type(exc).__name__}: {exc}); "
            "pass a local YAML, or allow Hugging Face downloads (unset HF_HUB_OFFLINE)"
        ) from None


# Fingerprint keys that describe the architecture (an export's weights differ by design).
ARCHITECTURE_KEYS: tuple[str, ...] = ("flow_lm", "mimi")


def base_fingerprint(config: Any) -> dict[str, Any]:
    """What identifies a base (the one definition): FlowLM and Mimi architecture, weights files.

    The tokenizer and vocabulary are left out: ``native`` runs replace them.
    Recorded in every checkpoint and compared with
    ``natiq.training.checkpoint.check_same_base`` at resume, export and inference
    (``ARCHITECTURE_KEYS`` only for an exported model, whose weights are its own).
    """
    flow_lm = config.flow_lm.model_dump(exclude={"lookup_table", "weights_path"})
    flow_lm["lookup_table.dim"] = config.flow_lm.lookup_table.dim
    return {
        "flow_lm": flow_lm,
        "mimi": config.mimi.model_dump(exclude={"weights_path"}),
        "weights": [config.weights_path, config.flow_lm.weights_path, config.mimi.weights_path],
    }


def _tokenizer_path(target: dict[str, str]) -> str:
    """The tokenizer a config names, for error messages (``?`` when the config is unreadable)."""
    from pocket_tts.utils.config import CONFIGS_DIR, load_config

    try:
        source = target.get("config") or str(CONFIGS_DIR / f"{target['language']}.yaml")
        return str(load_config(source).flow_lm.lookup_table.tokenizer_path)
    except Exception:
        return "?"


def mimi_encoder_is_zero(tts_model: Any) -> bool:
    """True when every Mimi encoder weight is zero: the ungated release ships it that way."""
    mimi = tts_model.mimi
    modules = [mimi.encoder, mimi.encoder_transformer]
    if hasattr(mimi, "downsample"):
        modules.append(mimi.downsample)
    tensors = [p for module in modules for p in module.parameters()]
    return bool(tensors) and all(not bool(p.detach().any()) for p in tensors)


def require_mimi_encoder(tts_model: Any, base: str | Path | None = None) -> None:
    """Raise ``ModelLoadError`` when the model cannot encode audio (zeroed Mimi encoder)."""
    if mimi_encoder_is_zero(tts_model) or not getattr(tts_model, "has_voice_cloning", True):
        name = f"base {base!s}" if base is not None else "this model"
        raise ModelLoadError(
            f"{name} has an all-zero Mimi encoder (the ungated 'without voice cloning' release), "
            "so it cannot encode audio into latents or clone voices. Accept the licence of the "
            f"gated kyutai/pocket-tts repository at {GATED_REPO_URL}, log in with `hf auth login`, "
            "and load the base again with network access."
        )
