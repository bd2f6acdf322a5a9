"""The prompt natiq builds equals, token for token, what transformers'
``HiggsAudioV2Processor`` renders with Higgs Audio v2's reference chat
template (copied into ``support.higgs_reference``), for generation and for
training, audio frames included; natiq's own template (written into merged
folders) renders the same text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from natiq.backends.higgs.audio_codes import encode_samples, read_for_tokenizer
from natiq.backends.higgs.chatml_inputs import CloningTexts, encode_conversation
from natiq.backends.higgs.config import DEFAULT_SYSTEM_PROMPT, AudioIds
from natiq.backends.higgs.processor import build_processor, chat_template
from support.higgs_reference import REFERENCE_CHAT_TEMPLATE

INSTRUCTION = "Generate audio following instruction."
SCENE = "Audio is recorded from a quiet room."
# (reference transcript, target text): Arabic script, and romanized text with
# digits, punctuation and stray spaces that the template trims
TEXTS = [
    ("مرحبا بكم في ناطق", "نعم، شكرا جزيلا."),
    ("  al-salaamu 3alaykum 123 ", "qaala: na'am!  2024-11-30\n"),
]


@pytest.fixture(scope="module")
def codec(tiny_model_dir: Path):
    from natiq.backends.higgs.loading import load_audio_tokenizer

    return load_audio_tokenizer(str(tiny_model_dir / "audio_tokenizer"))


@pytest.fixture(scope="module")
def tokenizer():
    from natiq.backends.higgs.tiny import tiny_text_tokenizer

    return tiny_text_tokenizer()


@pytest.fixture(scope="module")
def ids() -> AudioIds:
    from natiq.backends.higgs.tiny import tiny_model_config

    return AudioIds.from_config(tiny_model_config())


@pytest.fixture(scope="module")
def clips(speech_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    return (
        read_for_tokenizer(speech_dir / "ref1.wav", 24000),
        read_for_tokenizer(speech_dir / "tgt1.wav", 24000),
    )


def _messages(ref_text: str, target_text: str, ref: np.ndarray, target: np.ndarray | None):
    messages = [
        {"role": "system", "content": INSTRUCTION},
        {"role": "scene", "content": SCENE},
        {"role": "user", "content": ref_text},
        {"role": "assistant", "content": [{"type": "audio", "audio": ref}]},
        {"role": "user", "content": target_text},
    ]
    if target is not None:
        messages.append({"role": "assistant", "content": [{"type": "audio", "audio": target}]})
    return messages


def _render(processor, messages, *, generation: bool) -> dict[str, torch.Tensor]:
    return processor.apply_chat_template(
        messages,
        add_generation_prompt=generation,
        tokenize=True,
        return_dict=True,
        return_tensors="pt",
    )


@pytest.mark.parametrize("training", [False, True], ids=["generation", "training"])
@pytest.mark.parametrize(("ref_text", "target_text"), TEXTS)
def test_prompt_equals_reference_processor(
    tokenizer, codec, ids, clips, ref_text: str, target_text: str, training: bool
):
    ref, target = clips
    reference = build_processor(tokenizer, codec, template=REFERENCE_CHAT_TEMPLATE)
    messages = _messages(ref_text, target_text, ref, target if training else None)
    expected = _render(reference, messages, generation=not training)
    ours = encode_conversation(
        tokenizer,
        ids,
        CloningTexts(DEFAULT_SYSTEM_PROMPT, ref_text, target_text),
        encode_samples(codec, ref),
        encode_samples(codec, target) if training else None,
    )
    assert ours.input_ids.tolist() == expected["input_ids"][0].tolist()
    assert torch.equal(ours.audio_frames, expected["audio_input_ids"][0])
    last = ids.eot_token if training else ids.audio_bos_token
    assert int(ours.input_ids[-1]) == last


def test_piecewise_tokenization_is_not_trivially_equal(tokenizer):
    """The tiny BPE merges across characters, so cutting a string elsewhere changes tokens."""
    whole = tokenizer("na'am bikum", add_special_tokens=False)["input_ids"]
    cut = [
        *tokenizer("na'am bi", add_special_tokens=False)["input_ids"],
        *tokenizer("kum", add_special_tokens=False)["input_ids"],
    ]
    assert whole != cut


@pytest.mark.parametrize("with_scene_message", [True, False])
def test_natiq_template_renders_like_the_reference(tokenizer, with_scene_message: bool):
    system = [{"role": "system", "content": INSTRUCTION}, {"role": "scene", "content": SCENE}]
    if not with_scene_message:  # natiq's ChatML lines carry the scene inside the system text
        system = [{"role": "system", "content": [{"type": "text", "text": DEFAULT_SYSTEM_PROMPT}]}]
    audio = [{"type": "audio", "path": "ref.wav"}]
    conversation = [
        *system,
        {"role": "user", "content": "  مرحبا  "},
        {"role": "assistant", "content": audio},
        {"role": "user", "content": [{"type": "text", "text": "نعم"}]},
    ]
    for generation in (True, False):
        rendered = [
            tokenizer.apply_chat_template(
                conversation,
                chat_template=template,
                add_generation_prompt=generation,
                tokenize=False,
            )
            for template in (REFERENCE_CHAT_TEMPLATE, chat_template())
        ]
        assert rendered[0] == rendered[1]
        assert rendered[0].startswith(
            f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{DEFAULT_SYSTEM_PROMPT}<|eot_id|>"
        )
