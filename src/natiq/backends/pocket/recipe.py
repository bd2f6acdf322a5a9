"""The knobs of pocket-tts' training recipe, as typed settings (no torch here).

Kyutai's own training code (the pocket-tts repository's ``training/`` folder)
fixes how the sampler head is trained and how training examples are built;
natiq follows it by default and makes every choice a field here, so a YAML
config or a CLI flag can change it and a checkpoint records it. Three groups:

- ``ObjectiveSettings``: the loss (LSD or flow matching), its time sampling,
  the diagonal share ``p_equal``, the learned per-(s, t) weighting, how often
  the self-distillation term is computed, noise draws per frame and the EOS
  weight.
- ``ExampleSettings``: how one training example is drawn: the voice prompt
  (another utterance of the speaker, cut at a pause, tail-trimmed), condition
  dropout (classifier-free guidance training), per-epoch text variation
  (diacritization level, final punctuation) and length-bucketed batches.
- ``SpeechTrimSettings``: what ``natiq pocket latents`` measures once per
  utterance: where speech ends (targets are trimmed shortly after it) and the
  pauses a voice prompt may end in.

The reference values and where natiq departs from them are listed in
docs/pocket-tts-arabic.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from natiq.training.config import ConfigSection, split_commas

Loss = Literal["lsd", "flow-matching"]
TimeSampling = Literal["logit-normal", "uniform"]
TeacherGradient = Literal["input", "none"]
# a (low, high) range; "0.1,0.5" on the command line
Range = Annotated[tuple[float, float], BeforeValidator(split_commas)]


class ObjectiveSettings(ConfigSection):
    """How the sampler head (and the EOS head) are trained.

    Reference values (pocket-tts ``training/modules/samplers.py`` and its
    configs): LSD with ``p_equal`` 0.75, times ``sigmoid(N(0.4, 1))``, a learned
    per-(s, t) weighting (an MLP of width 32, depth 3, zero-initialised), the
    self-distillation term on a quarter of the steps (scaled by 4 so its
    expected gradient is unchanged), 4 noise draws per frame
    (``flow_batch_multiplier``), EOS weight 0.1, and a teacher whose gradient
    reaches the student through its input only (``stopgrad_type: minimal``).
    Condition dropout is drawn per example (``ExampleSettings``).
    """

    loss: Loss = Field(
        "lsd", description="lsd (what the released 1-step decoder needs) or flow-matching"
    )
    time_sampling: TimeSampling = Field(
        "logit-normal", description="times drawn as sigmoid(N(logit-mean, logit-std)) or uniform"
    )
    logit_mean: float = Field(0.4, description="mean of the logit-normal times")
    logit_std: float = Field(1.0, gt=0, description="std of the logit-normal times")
    p_equal: float = Field(
        0.75, ge=0, le=1, description="LSD: weight of the diagonal term (the rest: distillation)"
    )
    learned_weighting: bool = Field(
        True, description="learn a per-(s, t) weighting of each LSD term (trained, not exported)"
    )
    weighting_width: int = Field(32, ge=1, description="width of the weighting MLP")
    weighting_depth: int = Field(3, ge=1, description="hidden layers of the weighting MLP")
    distill_every_prob: float = Field(
        0.25,
        gt=0,
        le=1,
        description="share of training steps that compute the distillation term (scaled up)",
    )
    noise_draws: int = Field(4, ge=1, description="noise draws per frame (flow_batch_multiplier)")
    teacher_gradient: TeacherGradient = Field(
        "input",
        description="LSD teacher: its gradient reaches the student through its input, or none",
    )
    eos_weight: float = Field(0.1, ge=0, description="weight of the EOS loss")


class DiacritizationMix(ConfigSection):
    """Per example, native text is read plain, partially or fully diacritized.

    Fractions are EgyPocket-TTS' (55/30/15). ``partial_words`` is the range a
    partial example's share of diacritized words is drawn from; a diacritized
    word keeps only a random subset of its marks with probability
    ``sparse_words`` (keeping each letter's marks with a probability drawn from
    ``sparse_keep``), so a single mark written by a user is in distribution too.
    """

    plain: float = Field(0.55, ge=0, le=1, description="share of examples without diacritics")
    partial: float = Field(0.30, ge=0, le=1, description="share partially diacritized")
    full: float = Field(0.15, ge=0, le=1, description="share fully diacritized")
    partial_words: Range = Field(
        (0.1, 0.5), description="partial examples: range of the share of diacritized words"
    )
    sparse_words: float = Field(
        0.4, ge=0, le=1, description="chance a diacritized word keeps only some of its marks"
    )
    sparse_keep: Range = Field(
        (0.3, 0.8), description="such a word: range of the share of letters keeping their marks"
    )

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


class ExampleSettings(ConfigSection):
    """How each training example is drawn (all draws depend on seed, epoch, index only).

    Reference values: prompts end at a word boundary within the first 5 s and
    lose a random 0-0.5 s tail (never below 1 s); text and voice are each
    dropped from 20% of examples (classifier-free guidance training); final
    punctuation is dropped from 30% of texts; batches are cut from pools of 20
    batches sorted by length. Drawing the dropout per example (not per process)
    keeps a run identical on 1 or N processes.
    """

    prompt_max_seconds: float = Field(
        5.0, gt=0, description="voice prompts end at a pause at most this far into an utterance"
    )
    prompt_min_seconds: float = Field(
        1.0, ge=0, description="...and at least this far (shorter pauses are not cut at)"
    )
    prompt_trim_max_seconds: float = Field(
        0.5, ge=0, description="a random tail up to this long is cut off each prompt (>= 1 s kept)"
    )
    text_dropout: float = Field(
        0.2, ge=0, lt=1, description="share of examples trained without their text (guidance)"
    )
    voice_dropout: float = Field(
        0.2, ge=0, lt=1, description="share of examples trained without their voice prompt"
    )
    final_punctuation_dropout: float = Field(
        0.3, ge=0, le=1, description="share of texts trained without their final punctuation"
    )
    vary_diacritics: bool = Field(
        True, description="draw a diacritization level per example (native Arabic script only)"
    )
    diacritization: DiacritizationMix = Field(default_factory=DiacritizationMix)
    bucket_batches: int = Field(
        20, ge=1, description="batches are cut from pools of this many, sorted by length"
    )

    def for_validation(self) -> ExampleSettings:
        """The same rules without random text variation or prompt trimming (a stable loss)."""
        return self.model_copy(
            update={
                "vary_diacritics": False,
                "text_dropout": 0.0,
                "voice_dropout": 0.0,
                "final_punctuation_dropout": 0.0,
                "prompt_trim_max_seconds": 0.0,
            }
        )


class SpeechTrimSettings(ConfigSection):
    """What ``natiq pocket latents`` measures per utterance (recorded in latents_config.json).

    ``trim_trailing_silence``: the target ends ``trail_seconds`` after the last
    speech the VAD (silero-vad) finds, as the reference ends targets 0.2 s
    after the last aligned word. Pauses a prompt may end in are runs of at
    least ``min_pause_seconds`` whose 10 ms frames are ``pause_db`` below the
    utterance's loud level (its 95th-percentile frame energy).
    """

    trim_trailing_silence: bool = Field(
        True, description="end targets shortly after the last speech (silero-vad)"
    )
    trail_seconds: float = Field(0.2, ge=0, description="audio kept after the last speech")
    pause_db: float = Field(
        -35.0, lt=0, description="a pause is this many dB below the utterance's loud level"
    )
    min_pause_seconds: float = Field(
        0.04, gt=0, description="a prompt's last this-many seconds must be such a pause"
    )
