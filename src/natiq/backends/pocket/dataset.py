"""Training examples for Pocket TTS: text tokens, target latents and a voice prompt.

Reads the utterance manifest (``metadata.jsonl``, audio encoded on the fly)
or the latents manifest (``metadata_latents.jsonl``, Mimi latents precomputed
by ``natiq pocket latents``) and turns each record into what the FlowLM sees at
inference: a voice prompt (latents of *another* utterance of the same speaker,
or a crop of the same one when the speaker has only one), the text tokens, and
the target latents. Every random choice (order, prompt, crop) is drawn from
``(seed, epoch, index)``, so a resumed run sees exactly the batches an
uninterrupted one would. Bad input is refused up front with the file and line.
This module does not run the model (on-the-fly encoding goes through the
``encode`` callable the trainer hands in).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from natiq.common.errors import AudioInputError, DataFormatError, InputTextError
from natiq.data.manifest import UtteranceRecord, read_manifest

MIMI_FRAME_RATE = 12.5
MIMI_SAMPLE_RATE = 24_000
LATENT_DIM = 32

LATENT_FIELDS: tuple[str, ...] = ("latents", "num_frames")

# text -> token ids (raises DataFormatError when the text exceeds the model's limit)
Tokenize = Callable[[str], list[int]]
# path of a 24 kHz mono wav -> latents FloatTensor[frames, 32]
EncodeAudio = Callable[[Path], torch.Tensor]


def read_utterances(metadata: str | Path, *, precomputed: bool) -> list[UtteranceRecord]:
    """Read every row of ``metadata`` with the manifest reader and check its files exist.

    ``precomputed`` requires the ``latents``/``num_frames`` fields of
    ``metadata_latents.jsonl`` and the latents files; otherwise the audio files
    must exist. Rows without ``split`` count as ``train``.
    """
    source = Path(metadata)
    try:
        utterances = read_manifest(source, require=LATENT_FIELDS if precomputed else ())
    except DataFormatError as exc:
        message = str(exc)
        if (
            precomputed
            and "missing field(s)" in message
            and any(f in message for f in LATENT_FIELDS)
        ):
            raise DataFormatError(
                f"{exc} (run `natiq pocket latents` first, or train without "
                "--use-precomputed-latents)"
            ) from None
        raise
    for utt in utterances:
        if precomputed:
            if not (utt.latents and utt.latents.is_file()):
                raise DataFormatError(f"{utt.where}: latents file {utt.latents} not found")
        elif not utt.audio.is_file():
            raise AudioInputError(f"{utt.where}: audio file {utt.audio} not found")
    if not utterances:
        raise DataFormatError(f"{source}: the corpus is empty (no records)")
    return list(utterances)


def load_latents_file(path: Path, *, where: str = "") -> torch.Tensor:
    """Read one utterance's latents (a safetensors file with one tensor) as FloatTensor[F, 32]."""
    from safetensors.torch import load_file

    prefix = f"{where}: " if where else ""
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise DataFormatError(f"{prefix}unreadable latents file {path} ({exc})") from None
    if "latents" in tensors:
        latents = tensors["latents"]
    elif len(tensors) == 1:
        latents = next(iter(tensors.values()))
    else:
        raise DataFormatError(
            f"{prefix}{path} holds {sorted(tensors)}, expected one 'latents' tensor"
        )
    latents = latents.float()
    while latents.dim() > 2 and latents.shape[0] == 1:
        latents = latents[0]
    if latents.dim() != 2 or latents.shape[-1] != LATENT_DIM or latents.shape[0] == 0:
        raise DataFormatError(
            f"{prefix}{path}: latents of shape {tuple(latents.shape)}, expected [frames, {LATENT_DIM}]"
        )
    return latents


@dataclass
class Example:
    """One training example before padding."""

    tokens: torch.Tensor  # LongTensor[T]
    latents: torch.Tensor  # FloatTensor[F, 32]
    prompt: torch.Tensor  # FloatTensor[P, 32]


class PocketTrainData(torch.utils.data.Dataset):
    """Map-style dataset indexed by ``(epoch, index)`` so prompts and crops are reproducible."""

    def __init__(
        self,
        utterances: Sequence[UtteranceRecord],
        tokenize: Tokenize,
        *,
        encode: EncodeAudio | None = None,
        prompt_frames: int = 38,
        seed: int = 0,
    ) -> None:
        if not utterances:
            raise DataFormatError("no utterances in this split")
        if encode is None and any(u.latents is None for u in utterances):
            raise DataFormatError("records without precomputed latents need an audio encoder")
        self.utterances = list(utterances)
        self.encode = encode
        self.prompt_frames = max(1, prompt_frames)
        self.seed = seed
        # Tokenize everything now: a text over the limit fails before training starts.
        self.tokens = [self._tokenize(tokenize, u) for u in self.utterances]
        by_speaker: dict[str, list[int]] = {}
        for index, utt in enumerate(self.utterances):
            by_speaker.setdefault(utt.speaker, []).append(index)
        self.same_speaker = [
            [j for j in by_speaker[u.speaker] if j != i] for i, u in enumerate(self.utterances)
        ]

    @staticmethod
    def _tokenize(tokenize: Tokenize, utt: UtteranceRecord) -> torch.Tensor:
        try:
            ids = tokenize(utt.text)
        except (DataFormatError, InputTextError) as exc:
            raise DataFormatError(f"{utt.where}: {exc}") from None
        if not ids:
            raise DataFormatError(f"{utt.where}: the text gives no tokens: {utt.text!r}")
        return torch.tensor(ids, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.utterances)

    def latents(self, index: int) -> torch.Tensor:
        utt = self.utterances[index]
        if utt.latents is not None and self.encode is None:
            return load_latents_file(utt.latents, where=utt.where)
        assert self.encode is not None
        return self.encode(utt.audio)

    def __getitem__(self, key: tuple[int, int]) -> Example:
        epoch, index = key
        rng = random.Random(f"{self.seed}/{epoch}/{index}")
        target = self.latents(index)
        others = self.same_speaker[index]
        if others:
            source = self.latents(rng.choice(others))
            length = min(self.prompt_frames, source.shape[0])
        else:
            source = target
            length = max(1, min(self.prompt_frames, target.shape[0] // 2))
        start = rng.randrange(0, source.shape[0] - length + 1)
        prompt = source[start : start + length]
        return Example(tokens=self.tokens[index], latents=target, prompt=prompt)


class EpochBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Shuffled batches of ``(epoch, index)`` keys; the order depends only on seed and epoch."""

    def __init__(self, size: int, batch_size: int, *, seed: int, shuffle: bool = True) -> None:
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.size + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        for start in range(0, self.size, self.batch_size):
            yield [(self.epoch, i) for i in order[start : start + self.batch_size]]


def make_collate(pad_id: int):
    """A collate function building pocket-core's ``PocketBatch`` (text pad id = ``n_bins``)."""
    from natiq.backends.pocket.batch import PocketBatch

    def collate(examples: Sequence[Example]) -> PocketBatch:
        return PocketBatch.from_items(
            [e.tokens.tolist() for e in examples],
            [e.latents for e in examples],
            pad_id=pad_id,
            prompts=[e.prompt for e in examples],
        )

    return collate


def prompt_frames_for(seconds: float) -> int:
    return max(1, round(seconds * MIMI_FRAME_RATE))
