"""The knobs of pocket-tts' training recipe, as typed settings (no torch here).

Kyutai's own training code (the pocket-tts repository's ``training/`` folder)
fixes how the sampler head is trained and how training examples are built;
natiq follows it by default and makes every choice a field here, so a YAML
config or a CLI flag can change it and a checkpoint records it. Three groups:

- ``ObjectiveSettings``: the loss (LSD or flow matching), its time sampling,
  the diagonal share ``p_equal``, the learned per-(s, t) weighting, how often
  the self-distillation term is computed, noise draws per frame, condition
  dropout (classifier-free guidance training) and the EOS weight.
- ``ExampleSettings``: how one training example is drawn: the voice prompt
  (another utterance of the speaker, cut at a pause, tail-trimmed), per-epoch
  text variation (diacritization level, final punctuation), the text-length
  limit and length-bucketed batches.
- ``SpeechTrimSettings``: what ``natiq pocket latents`` measures once per
  utterance: where speech ends (targets are trimmed shortly after it) and the
  pauses a voice prompt may end in.

The reference values and where natiq departs from them are listed in
docs/pocket-tts-arabic.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Objective = Literal["lsd", "flow-matching"]
TimeSampling = Literal["logit-normal", "uniform"]
TeacherGradient = Literal["input", "none"]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObjectiveSettings(_Settings):
    """How the sampler head (and the EOS head) are trained.

    Reference values (pocket-tts ``training/modules/samplers.py`` and its
    configs): LSD with ``p_equal`` 0.75, times ``sigmoid(N(0.4, 1))``, a learned
    per-(s, t) weighting (an MLP of width 32, depth 3, zero-initialised), the
    self-distillation term on a quarter of the steps (scaled by 4 so its
    expected gradient is unchanged), 4 noise draws per frame
    (``flow_batch_multiplier``), text and voice dropped for 20% of rows each,
    EOS weight 0.1, and a teacher whose gradient reaches the student through
    its input only (``stopgrad_type: minimal``).
    """

    objective: Objective = "lsd"
    time_sampling: TimeSampling = "logit-normal"
    logit_mean: float = 0.4
    logit_std: float = Field(1.0, gt=0)
    p_equal: float = Field(0.75, ge=0, le=1)
    learned_weighting: bool = True
    weighting_width: int = Field(32, ge=1)
    weighting_depth: int = Field(3, ge=1)
    distill_every_prob: float = Field(0.25, gt=0, le=1)
    noise_draws: int = Field(4, ge=1)
    teacher_gradient: TeacherGradient = "input"
    text_dropout: float = Field(0.2, ge=0, lt=1)
    voice_dropout: float = Field(0.2, ge=0, lt=1)
    eos_weight: float = Field(0.1, ge=0)


class DiacritizationMix(_Settings):
    """Per example, native text is read plain, partially or fully diacritized.

    Fractions are EgyPocket-TTS' (55/30/15). ``partial_words`` is the range a
    partial example's share of diacritized words is drawn from; a diacritized
    word keeps only a random subset of its marks with probability
    ``sparse_words`` (keeping each letter's marks with a probability drawn from
    ``sparse_keep``), so a single mark written by a user is in distribution too.
    """

    plain: float = Field(0.55, ge=0, le=1)
    partial: float = Field(0.30, ge=0, le=1)
    full: float = Field(0.15, ge=0, le=1)
    partial_words: tuple[float, float] = (0.1, 0.5)
    sparse_words: float = Field(0.4, ge=0, le=1)
    sparse_keep: tuple[float, float] = (0.3, 0.8)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> DiacritizationMix:
        total = self.plain + self.partial + self.full
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"plain + partial + full must be 1, got {total:g}")
        for name in ("partial_words", "sparse_keep"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"{name} must be a range within [0, 1], got ({low}, {high})")
        return self


class ExampleSettings(_Settings):
    """How each training example is drawn (all draws depend on seed, epoch, index only).

    Reference values: prompts end at a word boundary within the first 5 s and
    lose a random 0-0.5 s tail (never below 1 s); final punctuation is dropped
    from 30% of texts; batches are cut from pools of 20 batches sorted by length.
    """

    prompt_max_seconds: float = Field(5.0, gt=0)
    prompt_min_seconds: float = Field(1.0, ge=0)
    prompt_trim_max_seconds: float = Field(0.5, ge=0)
    final_punctuation_dropout: float = Field(0.3, ge=0, le=1)
    diacritization: DiacritizationMix = DiacritizationMix()
    vary_diacritics: bool = True
    max_text_tokens: int = Field(256, ge=1)
    bucket_batches: int = Field(20, ge=1)

    def for_validation(self) -> ExampleSettings:
        """The same rules without random text variation or prompt trimming (a stable loss)."""
        return self.model_copy(
            update={
                "vary_diacritics": False,
                "final_punctuation_dropout": 0.0,
                "prompt_trim_max_seconds": 0.0,
            }
        )


class SpeechTrimSettings(_Settings):
    """What ``natiq pocket latents`` measures per utterance (recorded in latents_config.json).

    ``trim_trailing_silence``: the target ends ``trail_seconds`` after the last
    speech the VAD (silero-vad) finds, as the reference ends targets 0.2 s
    after the last aligned word. Pauses a prompt may end in are runs of at
    least ``min_pause_seconds`` whose 10 ms frames are ``pause_db`` below the
    utterance's loud level (its 95th-percentile frame energy).
    """

    trim_trailing_silence: bool = True
    trail_seconds: float = Field(0.2, ge=0)
    pause_db: float = Field(-35.0, lt=0)
    min_pause_seconds: float = Field(0.04, gt=0)
