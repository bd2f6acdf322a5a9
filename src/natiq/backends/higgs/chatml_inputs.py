"""One voice-cloning conversation -> the token and audio tensors the model reads.

The prompt is Higgs Audio v2's Llama-3 chat layout::

    system(instruction + scene) | user(reference text) | assistant(reference audio)
    | user(target text) | assistant(<|audio_out_bos|> [target audio])

Each audio clip appears in ``input_ids`` as ``<|audio_out_bos|>``, one
placeholder per delayed frame (``<|AUDIO_OUT|>`` then ``K - 1`` delay tokens)
and ``<|audio_eos|>``; the frames themselves go in ``audio_frames``. The
prompt is tokenized piece by piece at special-token boundaries, so the
position of every turn is known exactly and the labels can be built from it:

* audio labels: only the target clip's frames; the stream BOS staircase
  (forced at generation) and the padding after each codebook's stream EOS
  are ignored, each codebook's stream EOS is kept so the model learns to stop
  (the layout of Boson's reference collator);
* text labels: only the target user turn and the target assistant turn's text
  tokens (audio placeholders excluded); the reference turns are never labels.

Texts are stripped as the reference chat template's ``trim`` does, so the
prompt equals, token for token, what transformers' ``HiggsAudioV2Processor``
renders with that template (a test pins it).

Labels are *unshifted*: position ``p`` holds the token at ``p``. The loss
shifts once (``natiq.backends.higgs.losses``), as transformers' loss does.
For inference the target clip is omitted and the prompt ends in
``<|audio_out_bos|>``, which is where ``generate`` starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from natiq.backends.higgs.config import (
    AUDIO_EOS,
    AUDIO_OUT_BOS,
    BEGIN_OF_TEXT,
    END_HEADER,
    END_OF_TURN,
    START_HEADER,
    AudioIds,
)
from natiq.backends.higgs.delay import add_stream_markers, apply_delay, delayed_clip
from natiq.common.errors import InputTextError

IGNORE_INDEX = -100


@dataclass(frozen=True)
class CloningTexts:
    """The three texts of a cloning prompt, already prepared by the text front-end."""

    system: str
    ref_text: str
    target_text: str


@dataclass
class EncodedSample:
    """Model inputs of one conversation (no batch dimension).

    ``input_ids``/``text_labels``: ``(L,)``; ``audio_frames``/``audio_labels``:
    ``(F, K)``, the delayed frames of all clips in order; ``num_prompt_frames``
    counts the frames before the target clip (the reference clip's).
    """

    input_ids: torch.Tensor
    text_labels: torch.Tensor
    audio_frames: torch.Tensor
    audio_labels: torch.Tensor
    num_prompt_frames: int


def delayed_labels(codes: torch.Tensor, stream_eos: int) -> torch.Tensor:
    """Audio labels of one target clip, frame-aligned with ``delayed_clip``: ``(T + K + 1, K)``.

    The layout is Boson's reference collator's: the clip is marked
    ``[ignored] + codes + [stream EOS]`` per codebook and delayed with the
    ignore index on both sides, so the BOS staircase and the ``K (K - 1) / 2``
    padding cells after each codebook's EOS are ignored, while every
    codebook's own stream EOS stays a target (the model learns to stop).
    """
    marked = add_stream_markers(codes, IGNORE_INDEX, stream_eos)
    return apply_delay(marked, IGNORE_INDEX, IGNORE_INDEX).transpose(0, 1).contiguous()


def _header(role: str) -> str:
    return f"{START_HEADER}{role}{END_HEADER}\n\n"


class _Builder:
    """Accumulates token ids with their text labels, and audio frames with theirs."""

    def __init__(self, tokenizer, ids: AudioIds) -> None:
        self.tokenizer = tokenizer
        self.ids = ids
        self.tokens: list[int] = []
        self.labels: list[int] = []
        self.frames: list[torch.Tensor] = []
        self.frame_labels: list[torch.Tensor] = []

    def text(self, text: str, *, train: bool) -> None:
        token_ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        self.tokens.extend(token_ids)
        self.labels.extend(token_ids if train else [IGNORE_INDEX] * len(token_ids))

    def clip(self, codes: torch.Tensor, *, train: bool) -> None:
        """Placeholders for one clip; ``codes`` are plain ``(K, T)`` codes."""
        ids = self.ids
        if codes.dim() != 2 or codes.shape[0] != ids.num_codebooks:
            raise ValueError(
                f"expected codes of shape ({ids.num_codebooks}, T), got {tuple(codes.shape)}"
            )
        frames = delayed_clip(codes.long(), ids.stream_bos, ids.stream_eos)
        delay = ids.num_codebooks - 1
        placeholders = [ids.audio_token] * (frames.shape[0] - delay) + [ids.delay_token] * delay
        self.tokens.extend(placeholders)
        self.labels.extend([IGNORE_INDEX] * len(placeholders))
        self.frames.append(frames)
        if train:
            labels = delayed_labels(codes.long(), ids.stream_eos)
        else:
            labels = torch.full_like(frames, IGNORE_INDEX)
        self.frame_labels.append(labels)

    def build(self, num_prompt_frames: int) -> EncodedSample:
        k = self.ids.num_codebooks
        frames = torch.cat(self.frames) if self.frames else torch.empty((0, k), dtype=torch.long)
        frame_labels = torch.cat(self.frame_labels) if self.frame_labels else frames.clone()
        return EncodedSample(
            input_ids=torch.tensor(self.tokens, dtype=torch.long),
            text_labels=torch.tensor(self.labels, dtype=torch.long),
            audio_frames=frames,
            audio_labels=frame_labels,
            num_prompt_frames=num_prompt_frames,
        )


def encode_conversation(
    tokenizer,
    ids: AudioIds,
    texts: CloningTexts,
    ref_codes: torch.Tensor,
    target_codes: torch.Tensor | None = None,
) -> EncodedSample:
    """Build model inputs; with ``target_codes=None`` the result is a generation prompt."""
    if not texts.target_text.strip():
        raise InputTextError("the target text is empty: there is nothing to speak")
    if not texts.ref_text.strip():
        raise InputTextError(
            "the reference transcript is empty: Higgs voice cloning needs the words of the reference clip"
        )
    builder = _Builder(tokenizer, ids)
    system = texts.system.strip()
    builder.text(f"{BEGIN_OF_TEXT}{_header('system')}{system}{END_OF_TURN}", train=False)
    builder.text(f"{_header('user')}{texts.ref_text.strip()}{END_OF_TURN}", train=False)
    builder.text(f"{_header('assistant')}{AUDIO_OUT_BOS}", train=False)
    builder.clip(ref_codes, train=False)
    builder.text(f"{AUDIO_EOS}{END_OF_TURN}", train=False)
    num_prompt_frames = sum(f.shape[0] for f in builder.frames)
    training = target_codes is not None
    builder.text(_header("user"), train=False)
    builder.text(f"{texts.target_text.strip()}{END_OF_TURN}", train=training)
    builder.text(_header("assistant"), train=training)
    builder.text(AUDIO_OUT_BOS, train=training)
    if training:
        builder.clip(target_codes, train=True)
        builder.text(f"{AUDIO_EOS}{END_OF_TURN}", train=True)
    return builder.build(num_prompt_frames)
