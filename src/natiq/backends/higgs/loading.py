"""Loading the Higgs model, its text tokenizer and its audio tokenizer.

Sources are hub ids (``eustlb/...`` or ``hf://eustlb/...``) or local folders
in the Hugging Face layout. A local model folder may carry its audio
tokenizer in an ``audio_tokenizer/`` subfolder (natiq's tiny models do);
otherwise the released audio tokenizer is used. ``HF_HUB_OFFLINE`` is
honoured by transformers; when weights are absent the error says how to get
them, and nothing falls back silently to another model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from natiq.backends.higgs.config import DEFAULT_AUDIO_TOKENIZER, DEFAULT_MODEL
from natiq.common.errors import ModelLoadError, NatiqError

Quantize = Literal["none", "8bit", "4bit"]


def model_source(name: str | None) -> str:
    """``None`` -> the released model; strips an ``hf://`` prefix; keeps local paths."""
    if not name:
        return DEFAULT_MODEL
    return name.removeprefix("hf://")


def audio_tokenizer_source(name: str | None, model: str) -> str:
    """The explicit audio tokenizer, else ``<model>/audio_tokenizer`` if present, else the released one."""
    if name:
        return name.removeprefix("hf://")
    bundled = Path(model) / "audio_tokenizer"
    if bundled.is_dir():
        return str(bundled)
    return DEFAULT_AUDIO_TOKENIZER


def _load_error(what: str, source: str, exc: Exception) -> ModelLoadError:
    hint = (
        f"the folder {source} does not hold a Hugging Face {what}"
        if Path(source).exists()
        else f"download it first (`huggingface-cli download {source}`) with network access, "
        "unset HF_HUB_OFFLINE, or pass a local folder"
    )
    return ModelLoadError(
        f"cannot load the Higgs {what} from {source!r}: {hint} ({type(exc).__name__}: {exc})"
    )


def load_text_tokenizer(source: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise _load_error("text tokenizer", source, exc) from None


def load_audio_tokenizer(source: str, device: torch.device | str = "cpu"):
    from transformers import HiggsAudioV2TokenizerModel

    try:
        model = HiggsAudioV2TokenizerModel.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise _load_error("audio tokenizer", source, exc) from None
    return model.to(device).eval()


# Linear modules that stay in full precision under --quantize. transformers'
# default keeps only the module owning the model's last parameter, which is
# the text head whenever one is loaded: the audio head would then be
# quantized. Naming the skips replaces that default, so both heads are listed.
UNQUANTIZED_MODULES = ("audio_lm_head", "text_lm_head")


def bitsandbytes_config(quantize: Quantize, compute_dtype: torch.dtype):
    """The ``BitsAndBytesConfig`` for an 8/4-bit base (no CUDA check), or ``None`` for ``none``."""
    if quantize == "none":
        return None
    from transformers import BitsAndBytesConfig

    if quantize == "8bit":
        return BitsAndBytesConfig(
            load_in_8bit=True, llm_int8_skip_modules=list(UNQUANTIZED_MODULES)
        )
    if quantize == "4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute_dtype,
            llm_int8_skip_modules=list(UNQUANTIZED_MODULES),
        )
    raise NatiqError(f"--quantize must be none, 8bit or 4bit, not {quantize!r}")


def quantization_config(quantize: Quantize, compute_dtype: torch.dtype):
    """``bitsandbytes_config`` after checking that CUDA and bitsandbytes are there; clear errors otherwise."""
    if quantize == "none":
        return None
    if not torch.cuda.is_available():
        raise NatiqError(f"--quantize {quantize} needs a CUDA GPU (bitsandbytes); none is visible")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise NatiqError(
            f"--quantize {quantize} needs bitsandbytes: pip install 'natiq[quant]' (or pip install bitsandbytes)"
        ) from None
    return bitsandbytes_config(quantize, compute_dtype)


def load_model(
    source: str,
    *,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
    quantize: Quantize = "none",
    use_text_head: bool = False,
):
    """``HiggsAudioV2ForConditionalGeneration`` on ``device`` (quantized bases stay where bnb puts them)."""
    from transformers import HiggsAudioV2ForConditionalGeneration

    bnb = quantization_config(quantize, dtype)
    kwargs: dict = {"dtype": dtype}
    if bnb is not None:
        kwargs.update(quantization_config=bnb, device_map={"": device.index or 0})
    if use_text_head:
        kwargs["use_text_head"] = True
    try:
        model = HiggsAudioV2ForConditionalGeneration.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise _load_error("model", source, exc) from None
    if bnb is None:
        model = model.to(device)
    match_audio_embedding_dtype(model)
    return model


def match_audio_embedding_dtype(model: torch.nn.Module) -> None:
    """Audio embeddings come out in the text embeddings' dtype, under autocast too (idempotent).

    transformers' ``HiggsAudioV2Model`` sums each audio frame's codebook
    embeddings and scatters the sums into the text embeddings, moving them to
    the right device only. CUDA autocast runs that sum in fp32 (a reduction),
    so for a bf16 model the sums are fp32 beside bf16 text embeddings and
    ``masked_scatter`` refuses them (``docs/higgs-arabic.md``, "Mixed precision").
    ``model``: the Higgs model, or a PEFT wrapper of it.
    """
    core = model.get_base_model() if hasattr(model, "get_base_model") else model
    audio, text = core.model.embed_audio_tokens, core.model.embed_tokens
    if getattr(audio, "_natiq_dtype_hook", None) is None:
        audio._natiq_dtype_hook = audio.register_forward_hook(
            lambda module, args, output: output.to(text.weight.dtype)
        )
