"""Facts about Higgs Audio v2 that the whole package agrees on.

Token ids and shapes are read from the model's config at run time; the
constants here are the released model's values, used as defaults and in
messages. Default hub ids point at the HF-format checkpoints that
transformers' native classes load.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MODEL = "eustlb/higgs-audio-v2-generation-3B-base"
DEFAULT_AUDIO_TOKENIZER = "eustlb/higgs-audio-v2-tokenizer"

SAMPLE_RATE = 24000
FRAMES_PER_SECOND = 25
NUM_CODEBOOKS = 8
CODEBOOK_SIZE = 1024
STREAM_BOS = 1024
STREAM_EOS = 1025

DEFAULT_SYSTEM_PROMPT = (
    "Generate audio following instruction.\n\n"
    "<|scene_desc_start|>\nAudio is recorded from a quiet room.\n<|scene_desc_end|>"
)

# Llama-3 chat markup used by Higgs Audio v2's prompt.
BEGIN_OF_TEXT = "<|begin_of_text|>"
START_HEADER = "<|start_header_id|>"
END_HEADER = "<|end_header_id|>"
END_OF_TURN = "<|eot_id|>"
AUDIO_OUT_BOS = "<|audio_out_bos|>"
AUDIO_EOS = "<|audio_eos|>"
AUDIO_OUT = "<|AUDIO_OUT|>"
AUDIO_DELAY = "<|reserved_special_token_6|>"

SPECIAL_TOKENS: dict[str, int] = {
    BEGIN_OF_TEXT: 128000,
    "<|end_of_text|>": 128001,
    START_HEADER: 128006,
    END_HEADER: 128007,
    END_OF_TURN: 128009,
    "<|audio_bos|>": 128011,
    AUDIO_EOS: 128012,
    AUDIO_OUT_BOS: 128013,
    AUDIO_DELAY: 128014,
    "<|AUDIO|>": 128015,
    AUDIO_OUT: 128016,
    "<|scene_desc_start|>": 128017,
    "<|scene_desc_end|>": 128018,
}


@dataclass(frozen=True)
class AudioIds:
    """Token ids of the audio stream, taken from a ``HiggsAudioV2Config``."""

    num_codebooks: int
    codebook_rows: int
    stream_bos: int
    stream_eos: int
    audio_token: int
    audio_bos_token: int
    delay_token: int
    eot_token: int

    @classmethod
    def from_config(cls, config) -> AudioIds:  # config: HiggsAudioV2Config
        eos = config.eos_token_id
        eot = eos[0] if isinstance(eos, list) else eos
        return cls(
            num_codebooks=config.num_codebooks,
            codebook_rows=config.codebook_size,
            stream_bos=config.audio_stream_bos_id,
            stream_eos=config.audio_stream_eos_id,
            audio_token=config.audio_token_id,
            audio_bos_token=config.audio_bos_token_id,
            delay_token=config.audio_delay_token_id,
            eot_token=int(eot),
        )
