"""A transformers ``HiggsAudioV2Processor`` that renders natiq's prompt.

Merged model folders carry one, so ``AutoProcessor.from_pretrained(folder)``
works there and its chat template produces the prompt natiq trained on
(``chatml_inputs``; a test checks both against the reference template, token
for token). The feature-extractor settings are the ones transformers'
conversion script publishes with the released model: raw 24 kHz mono
samples, no hop padding.
"""

from __future__ import annotations

from importlib import resources
from typing import Any


def chat_template() -> str:
    """natiq's Jinja chat template (``presets/chat_template.jinja``)."""
    return (
        resources.files("natiq.backends.higgs")
        .joinpath("presets/chat_template.jinja")
        .read_text("utf-8")
    )


def build_processor(tokenizer: Any, audio_tokenizer: Any, *, template: str | None = None) -> Any:
    """``HiggsAudioV2Processor`` over a text tokenizer and a loaded ``HiggsAudioV2TokenizerModel``."""
    from transformers import DacFeatureExtractor, HiggsAudioV2Processor

    feature_extractor = DacFeatureExtractor(
        feature_size=1,
        hop_length=1,
        padding_side="right",
        padding_value=0.0,
        sampling_rate=int(audio_tokenizer.config.sample_rate),
        return_attention_mask=True,
    )
    return HiggsAudioV2Processor(
        feature_extractor=feature_extractor,
        tokenizer=tokenizer,
        audio_tokenizer=audio_tokenizer,
        chat_template=chat_template() if template is None else template,
    )
