"""Tiny, randomly initialised Higgs Audio v2 models of the real classes.

The released weights cannot be downloaded in CI, so tests and smoke runs use
a 2-layer, hidden-64 ``HiggsAudioV2ForConditionalGeneration``, a small
``HiggsAudioV2TokenizerModel`` (DAC + HuBERT branches shrunk, still 24 kHz,
25 frames/s, 8 codebooks) and a small byte-level BPE text tokenizer built
like Llama-3's that knows the Llama-3 / Higgs special tokens at their real
ids. ``write_tiny_model`` saves
them in the same layout a downloaded model has, so every command runs on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from natiq.backends.higgs.config import SPECIAL_TOKENS

if TYPE_CHECKING:
    import torch

TEXT_VOCAB_SIZE = 128256


def tiny_model_config(*, hidden_size: int = 64, num_layers: int = 2, use_cache: bool = True):
    """A ``HiggsAudioV2Config`` with the released token ids and a tiny body."""
    from transformers import HiggsAudioV2Config

    return HiggsAudioV2Config(
        vocab_size=TEXT_VOCAB_SIZE,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden_size // 4,
        max_position_embeddings=4096,
        codebook_size=1026,
        num_codebooks=8,
        use_cache=use_cache,
    )


def tiny_audio_tokenizer_config():
    """A ``HiggsAudioV2TokenizerConfig``: 24 kHz, hop 960 (25 frames/s), 8 x 1024 codes."""
    from transformers import HiggsAudioV2TokenizerConfig

    return HiggsAudioV2TokenizerConfig(
        target_bandwidths=[2],
        codebook_dim=8,
        acoustic_model_config={
            "encoder_hidden_size": 4,
            "downsampling_ratios": [8, 5, 4, 6],
            "decoder_hidden_size": 16,
            "upsampling_ratios": [8, 5, 4, 6],
            "hidden_size": 16,
        },
        semantic_model_config={
            "hidden_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 32,
            "conv_dim": [16] * 7,
            "num_conv_pos_embeddings": 16,
            "num_conv_pos_embedding_groups": 4,
        },
    )


# Llama-3's pre-tokenizer split (from its public tokenizer.json): contractions,
# letter runs, 1-3 digit groups, punctuation runs, newline runs and spaces.
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# What the tiny tokenizer learns its merges from: the default system prompt and
# Arabic / romanized phrases, so prompts take tens of tokens instead of hundreds.
_MERGE_CORPUS = (
    "Generate audio following instruction.\n\nAudio is recorded from a quiet room.\n\n",
    "مرحبا بكم في ناطق، السلام عليكم ورحمة الله. نعم، شكرا جزيلا؛ كلا. اثْنَا عَشَرَ\n\n",
    "marhaban bikum fi natiq, 123 kalima wa 45 jumla. qaala: na'am!\n\n",
    "al-salaamu 3alaykum wa ra7matu allaah... 2024-11-30\n\n",
)


def tiny_text_tokenizer():
    """A byte-level BPE like Llama-3's (its pre-tokenizer, real merges, BOS added) with the Higgs specials at their real ids.

    Any text encodes (the 256 byte symbols are in the vocabulary); merges make
    tokenization depend on where a prompt is cut, as with the real tokenizer.
    """
    import json

    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    learner = Tokenizer(models.BPE())
    learner.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(
        vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    learner.train_from_iterator(list(_MERGE_CORPUS) * 4, trainer=trainer)
    learned = json.loads(learner.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    backend = Tokenizer(models.BPE(vocab={**learned["vocab"], **SPECIAL_TOKENS}, merges=merges))
    backend.pre_tokenizer = pre
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A",
        special_tokens=[("<|begin_of_text|>", SPECIAL_TOKENS["<|begin_of_text|>"])],
    )
    return higgs_text_tokenizer(backend)


def higgs_text_tokenizer(backend):
    """A ``PreTrainedTokenizerFast`` over a ``tokenizers.Tokenizer``, with Llama-3's BOS/EOS/pad and the Higgs specials."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|end_of_text|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS)})
    return tokenizer


def _calibration_signal(seconds: float, sample_rate: int, generator) -> torch.Tensor:
    """A sweep with a moving pitch, bursts and noise: varied frames to seed the codebooks from."""
    import torch

    t = torch.arange(int(seconds * sample_rate)) / sample_rate
    pitch = 120 + 80 * torch.sin(2 * torch.pi * 0.7 * t)
    phase = 2 * torch.pi * torch.cumsum(pitch, 0) / sample_rate
    envelope = (torch.sin(2 * torch.pi * 3 * t) > -0.3).float()
    noise = torch.randn(t.shape, generator=generator)
    return (0.3 * torch.sin(phase) * envelope + 0.05 * noise)[None, None]


def calibrate_codebooks(audio_tokenizer, *, seed: int = 0, seconds: float = 8.0) -> None:
    """Seed each random codebook with feature frames of a calibration signal.

    The stock initialisation zeroes the codebooks (all audio maps to code 0),
    and random N(0, 1) rows are far from the tiny encoder's features (nearly
    all frames pick the same code). Taking rows from the residual features of
    real-looking audio, quantizer by quantizer, gives codes that change with
    the input, as a trained codec's do.
    """
    import torch

    generator = torch.Generator().manual_seed(seed)
    signal = _calibration_signal(seconds, audio_tokenizer.config.sample_rate, generator)
    for quantizer in audio_tokenizer.quantizer.quantizers:
        captured: list[torch.Tensor] = []

        def keep(_module, _inputs, output, store=captured) -> None:
            store.append(output.detach())

        hook = quantizer.project_in.register_forward_hook(keep)
        with torch.no_grad():
            audio_tokenizer.encode(signal)
        hook.remove()
        frames = captured[0].reshape(-1, captured[0].shape[-1])
        rows = torch.randint(
            0, frames.shape[0], (quantizer.codebook.codebook_size,), generator=generator
        )
        spread = frames.std(dim=0, keepdim=True) * 0.3
        embed = frames[rows] + spread * torch.randn(frames[rows].shape, generator=generator)
        with torch.no_grad():
            quantizer.codebook.embed.copy_(embed)
            quantizer.codebook.embed_avg.copy_(embed)


def write_tiny_model(directory: str | Path, *, seed: int = 0, hidden_size: int = 64) -> Path:
    """Save a tiny random model, its text tokenizer and ``audio_tokenizer/`` under ``directory``."""
    import torch
    from transformers import HiggsAudioV2ForConditionalGeneration, HiggsAudioV2TokenizerModel

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = HiggsAudioV2ForConditionalGeneration(tiny_model_config(hidden_size=hidden_size))
    model.save_pretrained(target)
    tiny_text_tokenizer().save_pretrained(target)
    audio_tokenizer = HiggsAudioV2TokenizerModel(tiny_audio_tokenizer_config()).eval()
    calibrate_codebooks(audio_tokenizer, seed=seed)
    audio_tokenizer.save_pretrained(target / "audio_tokenizer")
    return target
