"""How Arabic text reaches Pocket TTS's text embedding: the two text modes.

- ``romanized``: the base model's own tokenizer and text embedding are kept;
  the front-end (``TextFrontend`` with a romanization ``scheme``) turns Arabic
  into Latin letters the English tokenizer already splits. Cheap to adapt, but
  the pieces were learned for English spelling.
- ``native``: a new tokenizer is trained on the corpus' own ``model_text``
  (SentencePiece BPE, or one piece per character so diacritics stay separate
  tokens), and the text embedding is re-initialized with ``n_bins + 1`` rows
  (``reset_text_embedding``). This is the recipe that worked for other new
  languages; the model must then learn the embedding from data.

Token ids always come from ``tokenize_model_text``, which prepares text the
way pocket-tts' inference does (``replace_characters``, optional
capitalization, final punctuation), so training and inference see identical ids.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from natiq.common.errors import CheckpointMismatchError, DataFormatError, InputTextError
from natiq.common.files import atomic_write_bytes

TextMode = Literal["romanized", "native"]
TEXT_MODES: tuple[str, ...] = ("romanized", "native")
NativeTokenizerKind = Literal["sentencepiece", "char"]
# Longest text (in tokens) one training utterance may have. Inference splits text
# into chunks of at most 50 tokens (pocket-tts' MAX_TOKEN_PER_CHUNK), so an
# utterance far above that teaches lengths the model is never asked to produce.
DEFAULT_MAX_TEXT_TOKENS = 256
# Punctuation a native tokenizer must know whatever the corpus holds.
REQUIRED_CHARACTERS = ".,?!;:"


def tokenizer_file(tts_model: Any) -> str:
    """The tokenizer path the model's config names (for messages and exports)."""
    return str(tts_model.config.flow_lm.lookup_table.tokenizer_path)


def check_tokenizer_matches(tts_model: Any) -> int:
    """Check tokenizer size == ``n_bins`` and embedding rows == ``n_bins + 1``; return ``n_bins``.

    Raises ``CheckpointMismatchError`` naming the tokenizer file otherwise.
    """
    conditioner = tts_model.flow_lm.conditioner
    vocab = _vocab_size(conditioner.tokenizer)
    rows = conditioner.embed.num_embeddings
    if rows != vocab + 1:
        raise CheckpointMismatchError(
            f"tokenizer {tokenizer_file(tts_model)} has {vocab} pieces but the text embedding has "
            f"{rows} rows (it needs pieces + 1 for padding). Use the tokenizer the model was trained "
            "with, or re-initialize the embedding with reset_text_embedding (text mode 'native')."
        )
    return vocab


def tokenize_model_text(
    tts_model: Any,
    model_text: str,
    *,
    max_tokens: int | None = DEFAULT_MAX_TEXT_TOKENS,
    where: str | None = None,
    final_punctuation: bool = True,
) -> list[int]:
    """Token ids of ``model_text`` (a ``PreparedText.model_text``) exactly as inference computes them.

    ``where`` (e.g. ``"metadata.jsonl:12"``) prefixes error messages. Raises
    ``InputTextError`` for empty text or more than ``max_tokens`` tokens (None:
    no limit). ``final_punctuation=False`` (training's final-punctuation
    dropout) keeps pocket-tts from appending a sentence end and removes one the
    text still has after its character replacements.
    """
    from pocket_tts.models.text_chunking import prepare_text_prompt

    from natiq.backends.pocket.text_variation import drop_final_punctuation

    prefix = f"{where}: " if where else ""
    if not model_text or not model_text.strip():
        raise InputTextError(f"{prefix}empty text")
    text, _ = prepare_text_prompt(
        model_text,
        tts_model.pad_with_spaces_for_short_inputs,
        tts_model.remove_semicolons,
        tts_model.append_terminal_punctuation and final_punctuation,
        tts_model.capitalize_first_letter,
        tts_model.replace_characters,
    )
    if not final_punctuation:
        text = drop_final_punctuation(text)
    ids = list(tts_model.flow_lm.conditioner.tokenizer.encode(text))
    if max_tokens is not None and len(ids) > max_tokens:
        raise InputTextError(
            f"{prefix}the text is {len(ids)} tokens long, more than the limit of {max_tokens} "
            f"for this model ({_preview(model_text)!r}); split it into shorter sentences or raise "
            "the limit"
        )
    return ids


def tokenize_prepared(tts_model: Any, prepared: Any, **kwargs: Any) -> list[int]:
    """``tokenize_model_text`` on a ``natiq.text.PreparedText``."""
    return tokenize_model_text(tts_model, prepared.model_text, **kwargs)


def train_native_tokenizer(
    texts: Sequence[str],
    out_path: str | Path,
    *,
    kind: NativeTokenizerKind = "sentencepiece",
    vocab_size: int = 4000,
) -> Path:
    """Train a tokenizer for text mode ``native`` on ``texts`` (model_text strings); write ``out_path``.

    ``sentencepiece``: BPE with exactly ``vocab_size`` pieces (4000 in the
    official recipe). ``char``: one piece per character seen (diacritics are
    their own tokens); ``vocab_size`` is ignored and the size is what the
    corpus holds. Raises ``DataFormatError`` for an empty or too small corpus.
    """
    import sentencepiece as spm

    from natiq.backends.pocket.tiny import train_sentencepiece

    lines = [line.strip() for line in texts if line and line.strip()]
    if not lines:
        raise DataFormatError("cannot train a native tokenizer: the corpus has no text")
    # pocket-tts appends "." (and the front-end maps Arabic marks to ASCII ones) at
    # inference time: make sure those characters are pieces, never <unk>.
    lines.append(" ".join(REQUIRED_CHARACTERS))
    if kind == "sentencepiece":
        payload = train_sentencepiece(lines, vocab_size)
    elif kind == "char":
        characters = {char for line in lines for char in line}
        buffer = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=buffer,
            model_type="char",
            vocab_size=len(characters) + 4,
            hard_vocab_limit=False,
            character_coverage=1.0,
            normalization_rule_name="identity",
            num_threads=1,
            minloglevel=2,
        )
        payload = buffer.getvalue()
    else:
        raise ValueError(f"unknown native tokenizer kind {kind!r}; choose sentencepiece or char")
    target = Path(out_path)
    atomic_write_bytes(target, payload)
    return target


def reset_text_embedding(tts_model: Any, tokenizer_path: str | Path, *, seed: int = 0) -> int:
    """Switch the model to a new SentencePiece tokenizer with a fresh ``n_bins + 1``-row embedding.

    The new rows are drawn from N(0, sigma^2) with sigma the old embedding's
    std (so the pretrained transformer sees inputs of the usual scale). The
    model's config is updated (``n_bins``, ``tokenizer_path``) so an export
    writes a YAML that matches. Returns the new ``n_bins``.
    """
    import sentencepiece as spm
    import torch
    from pocket_tts.modules.text_conditioner import build_tokenizer

    path = Path(tokenizer_path).resolve()
    if not path.is_file():
        raise DataFormatError(f"{path}: tokenizer file not found")
    try:
        n_bins = spm.SentencePieceProcessor(model_file=str(path)).vocab_size()
    except Exception as exc:
        raise DataFormatError(f"{path}: not a SentencePiece model ({exc})") from None
    conditioner = tts_model.flow_lm.conditioner
    old = conditioner.embed.weight
    sigma = float(old.detach().float().std()) or 1.0
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_bins + 1, old.shape[1], generator=generator) * sigma
    embed = torch.nn.Embedding(n_bins + 1, old.shape[1])
    with torch.no_grad():
        embed.weight.copy_(weight)
    conditioner.embed = embed.to(device=old.device, dtype=old.dtype)
    conditioner.tokenizer = build_tokenizer(n_bins, str(path), "sentencepiece")
    table = tts_model.config.flow_lm.lookup_table
    table.n_bins = n_bins
    table.tokenizer = "sentencepiece"
    table.tokenizer_path = str(path)
    return n_bins


def _vocab_size(tokenizer: Any) -> int:
    if hasattr(tokenizer, "sp"):
        return int(tokenizer.sp.vocab_size())
    return int(tokenizer.tokenizer.get_vocab_size())


def _preview(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
