"""Pins the delay pattern, the label masking and the single shift of the loss."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from natiq.backends.higgs.chatml_inputs import IGNORE_INDEX, CloningTexts, encode_conversation
from natiq.backends.higgs.collator import HiggsCollator
from natiq.backends.higgs.config import AudioIds
from natiq.backends.higgs.delay import apply_delay, codes_from_generated, delayed_clip, undo_delay
from natiq.backends.higgs.losses import (
    HiggsTrainingObjective,
    next_token_rows,
    place_audio_labels,
    text_loss,
)
from natiq.common.errors import InputTextError

IDS = AudioIds(
    num_codebooks=3,
    codebook_rows=1026,
    stream_bos=1024,
    stream_eos=1025,
    audio_token=128016,
    audio_bos_token=128013,
    delay_token=128014,
    eot_token=128009,
)


@pytest.fixture(scope="module")
def tokenizer():
    from natiq.backends.higgs.tiny import tiny_text_tokenizer

    return tiny_text_tokenizer()


def test_delay_pattern_by_hand():
    codes = torch.tensor([[1, 2], [3, 4], [5, 6]])
    frames = delayed_clip(codes, 1024, 1025)
    expected = torch.tensor(
        [
            [1024, 1, 2, 1025, 1025, 1025],
            [1024, 1024, 3, 4, 1025, 1025],
            [1024, 1024, 1024, 5, 6, 1025],
        ]
    )
    assert torch.equal(frames.T, expected)
    assert torch.equal(undo_delay(apply_delay(codes, 1024, 1025)), codes)
    assert torch.equal(codes_from_generated(frames, 1024, 1025), codes)


def test_delay_pattern_matches_transformers_processor():
    from transformers import HiggsAudioV2Processor

    codes = torch.randint(0, 1024, (8, 11))
    marked = torch.cat([torch.full((8, 1), 1024), codes, torch.full((8, 1), 1025)], dim=1)
    processor = HiggsAudioV2Processor.__new__(HiggsAudioV2Processor)
    processor.audio_stream_bos_id, processor.audio_stream_eos_id = 1024, 1025
    reference = processor.build_delay_pattern(marked[None])[0]
    assert torch.equal(delayed_clip(codes, 1024, 1025), reference.T)


def test_generated_codes_cut_at_first_stream_eos_of_codebook_zero():
    codes = torch.tensor([[7, 8, 9], [10, 11, 12]])
    frames = delayed_clip(codes, 1024, 1025)
    padded = torch.cat([frames, torch.full((4, 2), 1025)])
    assert torch.equal(codes_from_generated(padded, 1024, 1025), codes)


def test_labels_mask_reference_and_keep_stream_eos(tokenizer):
    ref = torch.tensor([[1, 2], [3, 4], [5, 6]])
    target = torch.tensor([[10, 11, 12], [13, 14, 15], [16, 17, 18]])
    sample = encode_conversation(tokenizer, IDS, CloningTexts("sys", "ab", "cd"), ref, target)
    ref_frames = ref.shape[1] + 2 + 2
    assert sample.num_prompt_frames == ref_frames
    assert sample.audio_frames.shape == (ref_frames + target.shape[1] + 4, 3)
    # the reference clip is never a label
    assert (sample.audio_labels[:ref_frames] == IGNORE_INDEX).all()
    target_labels = sample.audio_labels[ref_frames:]
    target_frames = sample.audio_frames[ref_frames:]
    assert target_labels.T.tolist() == [
        [-100, 10, 11, 12, 1025, -100, -100],
        [-100, -100, 13, 14, 15, 1025, -100],
        [-100, -100, -100, 16, 17, 18, 1025],
    ]
    assert torch.equal(undo_delay(target_frames.T)[:, 1:-1], target)


def test_audio_labels_follow_the_reference_collator(tokenizer):
    """Boson's collator labels ``[-100] + codes + [EOS]``, delayed with -100 on both sides.

    With 8 codebooks: each codebook's own stream EOS is a target (8 cells),
    the 28 EOS padding cells after them and the BOS staircase are ignored.
    """
    from transformers import HiggsAudioV2Processor

    from natiq.backends.higgs.tiny import tiny_model_config

    ids = AudioIds.from_config(tiny_model_config())
    target = torch.randint(0, 1024, (8, 6))
    sample = encode_conversation(
        tokenizer, ids, CloningTexts("s", "r", "t"), torch.randint(0, 1024, (8, 4)), target
    )
    labels = sample.audio_labels[sample.num_prompt_frames :]
    frames = sample.audio_frames[sample.num_prompt_frames :]
    # the reference layout, built with transformers' own delay-pattern code
    reference = HiggsAudioV2Processor.__new__(HiggsAudioV2Processor)
    reference.audio_stream_bos_id = reference.audio_stream_eos_id = IGNORE_INDEX
    marked = torch.cat([torch.full((8, 1), IGNORE_INDEX), target, torch.full((8, 1), 1025)], dim=1)
    assert torch.equal(labels, reference.build_delay_pattern(marked[None])[0].T)
    assert int((labels == 1025).sum()) == 8
    assert int(((frames == 1025) & (labels == IGNORE_INDEX)).sum()) == 28
    assert torch.equal(labels[frames < 1024], frames[frames < 1024])


def test_text_labels_only_on_target_turn(tokenizer):
    ref = torch.zeros((3, 2), dtype=torch.long)
    target = torch.ones((3, 2), dtype=torch.long)
    sample = encode_conversation(tokenizer, IDS, CloningTexts("SYS", "REF", "TGT"), ref, target)
    labelled = sample.text_labels[sample.text_labels != IGNORE_INDEX]
    text = tokenizer.decode(labelled.tolist())
    assert "TGT" in text and "REF" not in text and "SYS" not in text
    assert text.endswith("<|audio_eos|><|eot_id|>")
    # audio placeholders are never text labels; labels equal the token at the same position (unshifted)
    positions = sample.text_labels != IGNORE_INDEX
    assert torch.equal(sample.text_labels[positions], sample.input_ids[positions])
    placeholders = (sample.input_ids == IDS.audio_token) | (sample.input_ids == IDS.delay_token)
    assert (sample.text_labels[placeholders] == IGNORE_INDEX).all()
    assert int(placeholders.sum()) == sample.audio_frames.shape[0]


def test_inference_prompt_ends_in_audio_out_bos(tokenizer):
    sample = encode_conversation(
        tokenizer, IDS, CloningTexts("s", "r", "t"), torch.zeros((3, 2), dtype=torch.long)
    )
    assert int(sample.input_ids[-1]) == IDS.audio_bos_token
    assert sample.audio_frames.shape[0] == sample.num_prompt_frames
    with pytest.raises(InputTextError):
        encode_conversation(
            tokenizer, IDS, CloningTexts("s", "r", "  "), torch.zeros((3, 2), dtype=torch.long)
        )


def test_shift_is_applied_exactly_once():
    # the hidden state at p is scored against the label at p + 1
    hidden = torch.arange(4.0).reshape(1, 4, 1)
    labels = torch.tensor([[IGNORE_INDEX, 2, 0, IGNORE_INDEX]])
    rows, targets = next_token_rows(hidden, labels)
    assert rows.flatten().tolist() == [0.0, 1.0] and targets.tolist() == [2, 0]
    # a one-hot "head": position p's hidden state picks class p
    head = nn.Linear(1, 3, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[-20.0], [0.0], [20.0]]))
    right = torch.tensor([[[1.0], [-1.0], [0.0], [0.0]]])  # 1 -> class 2, -1 -> class 0
    wrong = torch.tensor([[[0.0], [1.0], [-1.0], [0.0]]])  # the same, one position late
    assert text_loss(right, head, labels).item() < 1e-6
    assert text_loss(wrong, head, labels).item() > 5
    audio_rows, audio_targets = next_token_rows(hidden, torch.stack([labels, labels * 0 - 100], -1))
    assert (
        audio_rows.flatten().tolist() == [0.0, 1.0] and audio_targets[:, 1].tolist() == [-100] * 2
    )


def test_audio_labels_are_placed_on_audio_positions():
    input_ids = torch.tensor([[5, IDS.audio_token, IDS.audio_token, IDS.delay_token, 6, 0]])
    labels = torch.tensor([[[1, 2], [3, 4], [5, 6], [-100, -100]]])
    mask = torch.tensor([[True, True, True, False]])
    placed = place_audio_labels(input_ids, labels, mask, IDS.audio_token, IDS.delay_token)
    assert placed[0, :, 0].tolist() == [-100, 1, 3, 5, -100, -100]


def test_objective_equals_native_transformers_loss(tokenizer):
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.tiny import tiny_model_config

    torch.manual_seed(0)
    config = tiny_model_config(hidden_size=32)
    model = HiggsAudioV2ForConditionalGeneration(config, use_text_head=True).eval()
    ids = AudioIds.from_config(model.config)
    samples = [
        encode_conversation(
            tokenizer,
            ids,
            CloningTexts("s", "ref one", "target"),
            torch.randint(0, 1024, (8, 5)),
            torch.randint(0, 1024, (8, 4)),
        ),
        encode_conversation(
            tokenizer,
            ids,
            CloningTexts("s", "r", "a longer target text"),
            torch.randint(0, 1024, (8, 3)),
            torch.randint(0, 1024, (8, 6)),
        ),
    ]
    batch = HiggsCollator(tokenizer.pad_token_id, ids.stream_eos, 8)(samples)
    assert batch["audio_input_ids_mask"].dtype == torch.bool
    with torch.no_grad():
        native_audio = model(**{k: v for k, v in batch.items() if k != "labels"}).loss
        native_both = model(**batch).loss  # audio + text, every position through the heads
        ours = HiggsTrainingObjective(model, text_loss_weight=1.0)(batch)
    assert abs(native_audio.item() - ours.audio.item()) < 1e-4
    assert abs(native_both.item() - ours.loss.item()) < 1e-4
    assert ours.text.item() > 5  # an untrained 128k-vocab head: near ln(128256) = 11.8
    # an untrained model is at chance: about ln(1026) per codebook
    assert abs(ours.per_codebook.mean().item() - torch.log(torch.tensor(1026.0)).item()) < 0.3
