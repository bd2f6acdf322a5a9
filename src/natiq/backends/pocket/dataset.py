"""Training examples for Pocket TTS: text tokens, target latents and a voice prompt.

Reads the utterance manifest (``metadata.jsonl``, audio encoded on the fly)
or the latents manifest (``metadata_latents.jsonl``, Mimi latents precomputed
by ``natiq pocket latents``) and turns each record into what the FlowLM sees at
inference, following pocket-tts' example rules (``ExampleSettings``):

- the **voice prompt** is the start of *another* utterance of the same speaker
  (never the target itself, even in a one-speaker corpus), cut at a pause
  between words between ``prompt_min_seconds`` and ``prompt_max_seconds``
  (the cut points come from ``speech_marks``), then a random tail of up to
  ``prompt_trim_max_seconds`` is cut off (keeping at least 1 s), so prompts
  that end mid-word stay in distribution. Because Mimi is causal, the first
  frames of an utterance's latents are that prompt encoded on its own. A
  speaker with no other usable utterance gets no prompt (the null voice);
- the **target** is the utterance up to shortly after its last speech
  (trimmed at latent time, or here when encoding on the fly);
- **condition dropout**: a share of examples is trained without its text,
  another without its voice (classifier-free guidance training; applied by the
  objective in training mode only);
- the **text** varies per epoch: a diacritization level (plain / partial /
  full, native script only) and, for a share of examples, no final
  punctuation (``text_variation``). Texts whose full form exceeds
  ``max_text_tokens`` are skipped and listed in ``skipped``, never fatal.

Every random choice (order, prompt, cut, trim, text) is drawn from ``(seed,
epoch, index)``, so a resumed run sees exactly the batches an uninterrupted
one would. Bad input is refused up front with the file and line. This module
does not run the model: text and audio encoding go through the ``TextEncoder``
and ``encode`` callables the trainer hands in.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch

from natiq.backends.pocket.recipe import ExampleSettings
from natiq.backends.pocket.speech_marks import SpeechMarks
from natiq.backends.pocket.text_variation import (
    drop_final_punctuation,
    has_marks,
    vary_diacritics,
)
from natiq.common.errors import AudioInputError, DataFormatError, InputTextError
from natiq.data.manifest import UtteranceRecord, read_manifest

MIMI_FRAME_RATE = 12.5
MIMI_SAMPLE_RATE = 24_000
LATENT_DIM = 32

LATENT_FIELDS: tuple[str, ...] = ("latents", "num_frames")
# Longest training text (tokens) by default. Longer utterances are skipped, not fatal: a
# character tokenizer reads ~20 tokens per second of diacritized speech.
DEFAULT_MAX_TEXT_TOKENS = 512


class TextEncoder(Protocol):
    """Text -> token ids in two stages, so a text can vary after the front-end."""

    def model_text(self, text: str) -> str:
        """The front-end's ``model_text`` (raises ``InputTextError`` if nothing is speakable)."""
        ...

    def ids(self, model_text: str, *, final_punctuation: bool = True) -> list[int]:
        """Token ids of ``model_text`` as inference prepares it; ``final_punctuation=False``
        keeps pocket-tts from appending a "." (the text's own final mark is already gone)."""
        ...


@dataclass
class EncodedAudio:
    """An utterance encoded on the fly: latents of the trimmed target and its speech marks."""

    latents: torch.Tensor  # FloatTensor[F, 32]
    marks: SpeechMarks


# path of an audio file -> its trimmed target latents and speech marks
EncodeAudio = Callable[[Path], EncodedAudio]


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
    prompt: torch.Tensor  # FloatTensor[P, 32]; P = 0: no voice prompt
    text: str = ""  # the model text the tokens were made from
    level: str = "full"  # diacritization level drawn: plain, partial or full
    prompt_source: int | None = None  # index of the utterance the prompt comes from
    keep_text: bool = True  # False: trained without its text (condition dropout)
    keep_voice: bool = True  # False: trained without its voice prompt


@dataclass
class SkippedUtterance:
    """An utterance left out of training, and why (written to the run's report)."""

    id: str
    where: str
    reason: str


class PocketTrainData(torch.utils.data.Dataset):
    """Map-style dataset indexed by ``(epoch, index)``; see the module docstring for the rules."""

    def __init__(
        self,
        utterances: Sequence[UtteranceRecord],
        text: TextEncoder,
        *,
        encode: EncodeAudio | None = None,
        settings: ExampleSettings | None = None,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
        seed: int = 0,
        frame_rate: float = MIMI_FRAME_RATE,
        prompt_pool: Sequence[UtteranceRecord] = (),
    ) -> None:
        """``max_text_tokens``: longer texts are skipped (listed in ``skipped``);
        ``prompt_pool``: further utterances that may lend a voice prompt (e.g. the
        train split for the validation split), never trained on here."""
        if not utterances:
            raise DataFormatError("no utterances in this split")
        if encode is None and any(u.latents is None for u in utterances):
            raise DataFormatError("records without precomputed latents need an audio encoder")
        self.settings = settings or ExampleSettings()
        self.max_text_tokens = max_text_tokens
        self.encode = encode
        self.seed = seed
        self.frame_rate = frame_rate
        self.text = text
        self.skipped: list[SkippedUtterance] = []
        kept: list[UtteranceRecord] = []
        self.model_texts: list[str] = []
        self.tokens: list[torch.Tensor] = []
        # Tokenize everything now: an unusable text is reported before training starts.
        for utt in utterances:
            prepared = self._prepare(utt)
            if prepared is None:
                continue
            kept.append(utt)
            self.model_texts.append(prepared[0])
            self.tokens.append(torch.tensor(prepared[1], dtype=torch.long))
        if not kept:
            raise DataFormatError(
                f"every utterance of this split was skipped (first: {self.skipped[0].where}: "
                f"{self.skipped[0].reason})"
            )
        self.utterances = kept
        own = {u.id for u in kept}
        # Targets first, then the utterances that only lend prompts; indices cover both.
        self.pool = kept + [u for u in prompt_pool if u.id not in own]
        if encode is None and any(u.latents is None for u in self.pool):
            raise DataFormatError("prompt utterances without precomputed latents need an encoder")
        self._marks: dict[int, SpeechMarks] = {}
        by_speaker: dict[str, list[int]] = {}
        for index, utt in enumerate(self.pool):
            by_speaker.setdefault(utt.speaker, []).append(index)
            if utt.latents is not None and encode is None:
                # no cut points (latents not made by `natiq pocket latents`): no known pause
                self._marks[index] = SpeechMarks(0.0, 0.0, 0.0, utt.prompt_cuts or ())
        # Every other utterance of the speaker may lend a prompt; those known to have a
        # pause in the prompt window are preferred (None: not known yet, on the fly).
        self.sources = [
            [j for j in by_speaker[u.speaker] if j != i] for i, u in enumerate(self.utterances)
        ]
        self.paused_sources: list[list[int] | None] = [
            [j for j in sources if self._window_cuts(self._marks[j].prompt_cuts)]
            if all(j in self._marks for j in sources)
            else None
            for sources in self.sources
        ]

    @property
    def without_prompt(self) -> list[str]:
        """Ids of utterances whose speaker has no other utterance: they train without a voice."""
        return [
            u.id for u, sources in zip(self.utterances, self.sources, strict=True) if not sources
        ]

    @property
    def without_paused_prompt(self) -> list[str]:
        """Ids whose speaker's other utterances have no pause in the prompt window (known so
        far): their prompt is the first ``prompt_max_seconds`` of another utterance."""
        return [
            u.id
            for u, sources, paused in zip(
                self.utterances, self.sources, self.paused_sources, strict=True
            )
            if sources and paused == []
        ]

    def _prepare(self, utt: UtteranceRecord) -> tuple[str, list[int]] | None:
        """(model text, ids of its full form), or None after recording why it is skipped."""
        try:
            model_text = self.text.model_text(utt.text)
            ids = self.text.ids(model_text)
        except (DataFormatError, InputTextError) as exc:
            self.skipped.append(SkippedUtterance(utt.id, utt.where, str(exc)))
            return None
        if not ids:
            self.skipped.append(SkippedUtterance(utt.id, utt.where, "the text gives no tokens"))
            return None
        limit = self.max_text_tokens
        if len(ids) > limit:
            reason = (
                f"the text is {len(ids)} tokens long, over the limit of {limit} (--max-text-tokens)"
            )
            self.skipped.append(SkippedUtterance(utt.id, utt.where, reason))
            return None
        return model_text, ids

    def __len__(self) -> int:
        return len(self.utterances)

    def lengths(self) -> list[int]:
        """Approximate padded cost of each example (frames + tokens), for length buckets."""
        sizes = []
        for utt, tokens in zip(self.utterances, self.tokens, strict=True):
            if utt.num_frames is not None:
                frames = utt.num_frames
            else:
                from natiq.data.audio import duration_seconds

                frames = math.ceil(duration_seconds(utt.audio) * self.frame_rate)
            sizes.append(frames + int(tokens.numel()))
        return sizes

    def latents(self, index: int) -> torch.Tensor:
        """The latents of utterance ``index`` of ``pool`` (targets first), trimmed after speech."""
        utt = self.pool[index]
        if utt.latents is not None and self.encode is None:
            return load_latents_file(utt.latents, where=utt.where)
        assert self.encode is not None
        encoded = self.encode(utt.audio)
        self._marks[index] = encoded.marks
        return encoded.latents

    def _window_cuts(self, cuts: Sequence[int]) -> list[int]:
        low = math.ceil(self.settings.prompt_min_seconds * self.frame_rate)
        high = math.floor(self.settings.prompt_max_seconds * self.frame_rate)
        return [k for k in cuts if low <= k <= high]

    def prompt(self, index: int, rng: random.Random) -> tuple[torch.Tensor, int | None]:
        """A voice prompt for utterance ``index``: (latents [P, 32], source index in ``pool``).

        The start of another utterance of the speaker up to a pause in the prompt
        window (a random one of its pauses), minus a random tail; if no other
        utterance has such a pause, its first ``prompt_max_seconds``.
        """
        others = self.sources[index]
        if not others:
            return torch.zeros(0, LATENT_DIM), None
        trim_frames = round(self.settings.prompt_trim_max_seconds * self.frame_rate)
        drop = int(rng.random() * (trim_frames + 1))
        pick, where = rng.random(), rng.random()
        known = self.paused_sources[index]
        order = known if known is not None else others
        start = int(where * len(order))
        for step in range(len(order)):  # from a random start, the first source with a pause
            source = order[(start + step) % len(order)]
            latents = None if source in self._marks else self.latents(source)
            cuts = self._window_cuts(self._marks[source].prompt_cuts)
            if cuts:
                cut = cuts[min(len(cuts) - 1, int(pick * len(cuts)))]
                latents = self.latents(source) if latents is None else latents
                return self._trimmed(latents[: min(cut, latents.shape[0])], drop), source
        source = others[int(where * len(others))]
        limit = math.floor(self.settings.prompt_max_seconds * self.frame_rate)
        return self._trimmed(self.latents(source)[:limit], drop), source

    def _trimmed(self, prompt: torch.Tensor, drop: int) -> torch.Tensor:
        """Without its last ``drop`` frames, but never shorter than 1 s (or than it was)."""
        keep = max(prompt.shape[0] - drop, min(prompt.shape[0], int(self.frame_rate)))
        return prompt[:keep]

    def text_ids(self, index: int, rng: random.Random) -> tuple[torch.Tensor, str, str]:
        """This epoch's variant of the text: (token ids, model text, diacritization level)."""
        text = self.model_texts[index]
        level = "full"
        if self.settings.vary_diacritics and has_marks(text):
            level, text = vary_diacritics(text, self.settings.diacritization, rng)
        drop_punctuation = rng.random() < self.settings.final_punctuation_dropout
        if drop_punctuation:
            text = drop_final_punctuation(text)
        if text == self.model_texts[index] and not drop_punctuation:
            return self.tokens[index], text, level
        try:
            ids = self.text.ids(text, final_punctuation=not drop_punctuation)
        except (DataFormatError, InputTextError):
            ids = []
        if not ids or len(ids) > self.max_text_tokens:
            return self.tokens[index], self.model_texts[index], "full"  # the checked full form
        return torch.tensor(ids, dtype=torch.long), text, level

    def __getitem__(self, key: tuple[int, int]) -> Example:
        epoch, index = key
        # One stream per choice: changing one rule's settings never moves another's draws.
        tokens, text, level = self.text_ids(index, random.Random(f"{self.seed}/{epoch}/{index}/t"))
        target = self.latents(index)
        prompt, source = self.prompt(index, random.Random(f"{self.seed}/{epoch}/{index}/p"))
        dropout = random.Random(f"{self.seed}/{epoch}/{index}/c")
        keep_text = dropout.random() >= self.settings.text_dropout
        keep_voice = dropout.random() >= self.settings.voice_dropout
        return Example(
            tokens=tokens,
            latents=target,
            prompt=prompt,
            text=text,
            level=level,
            prompt_source=source,
            keep_text=keep_text,
            keep_voice=keep_voice,
        )


class EpochBatchSampler(torch.utils.data.Sampler[list[tuple[int, int]]]):
    """Batches of ``(epoch, index)`` keys; the order depends only on seed and epoch.

    With ``lengths`` and ``bucket_batches`` > 1 (pocket-tts' length bucketing),
    the shuffled order is cut into pools of ``bucket_batches`` batches, each
    pool is sorted by length and cut into batches, and the batches are
    shuffled: rows of a batch have similar lengths, so little is padding.
    """

    def __init__(
        self,
        size: int,
        batch_size: int,
        *,
        seed: int,
        shuffle: bool = True,
        lengths: Sequence[int] | None = None,
        bucket_batches: int = 1,
    ) -> None:
        if lengths is not None and len(lengths) != size:
            raise ValueError(f"need {size} lengths, got {len(lengths)}")
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.lengths = list(lengths) if lengths is not None else None
        self.bucket_batches = max(1, bucket_batches)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return (self.size + self.batch_size - 1) // self.batch_size

    def batches(self, epoch: int) -> list[list[int]]:
        """The index batches of ``epoch``."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        if self.shuffle:
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        if self.lengths is None or self.bucket_batches == 1:
            return [order[i : i + self.batch_size] for i in range(0, self.size, self.batch_size)]
        pool = self.bucket_batches * self.batch_size
        batches: list[list[int]] = []
        for start in range(0, self.size, pool):
            ranked = sorted(order[start : start + pool], key=lambda i: self.lengths[i])
            batches += [
                ranked[i : i + self.batch_size] for i in range(0, len(ranked), self.batch_size)
            ]
        if self.shuffle:
            shuffled = torch.randperm(len(batches), generator=generator).tolist()
            batches = [batches[i] for i in shuffled]
        return batches

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for batch in self.batches(self.epoch):
            yield [(self.epoch, i) for i in batch]


def make_collate(pad_id: int):
    """A collate function building pocket-core's ``PocketBatch`` (text pad id = ``n_bins``)."""
    from natiq.backends.pocket.batch import PocketBatch

    def collate(examples: Sequence[Example]) -> PocketBatch:
        return PocketBatch.from_items(
            [e.tokens.tolist() for e in examples],
            [e.latents for e in examples],
            pad_id=pad_id,
            prompts=[e.prompt for e in examples],
            keep_text=[e.keep_text for e in examples],
            keep_voice=[e.keep_voice for e in examples],
        )

    return collate


def skipped_report(data: PocketTrainData) -> list[dict[str, Any]]:
    """The skipped utterances as records (id, where, reason) for the run's report file."""
    return [vars(item).copy() for item in data.skipped]
