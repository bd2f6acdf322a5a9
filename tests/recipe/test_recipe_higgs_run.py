"""A Higgs recipe end to end under ``--tiny``: codes -> train -> merge (with a default voice) ->
evaluate -> card, on the mini-corpus and a tiny random Higgs model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from natiq.recipe.config import load_recipe
from natiq.recipe.runner import run_recipe

LEAN = {
    "name": "higgs-lean",
    "backend": "higgs",
    "prepare": {"manifest": "natiq:data/mini_corpus/manifest.jsonl", "val_fraction": 0.1},
    "train": {"lora_r": 2},
    "evaluate": {
        "scoring": {"intelligibility": False, "quality": False, "device": "cpu"},
        "html_report": False,
    },
    "voice_choice": {"min_seconds": 1.0},
    "card": {"license": "other", "license_name": "boson-higgs-audio-2-community-license",
             "base_model": None, "datasets": []},
    "tiny": {"enabled": True, "limit": 12, "max_steps": 2, "save_steps": 1, "batch_size": 2,
             "held_out": 0, "test_limit": 1, "latency_sentences": 0},
}  # fmt: skip


@pytest.fixture(scope="module")
def higgs_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    folder = tmp_path_factory.mktemp("higgs_recipe")
    recipe_file = folder / "higgs-lean.yaml"
    recipe_file.write_text(yaml.safe_dump(LEAN), encoding="utf-8")
    recipe = load_recipe(recipe_file)
    first = run_recipe(recipe, run_dir=folder / "run", progress=False, log=lambda _: None)
    again = run_recipe(recipe, run_dir=folder / "run", progress=False, log=lambda _: None)
    return folder / "run", first.actions(), again.actions()


def test_the_higgs_stages_run_once_then_are_skipped(higgs_run) -> None:
    run_dir, first, again = higgs_run
    stages = ["base", "prepare", "codes", "train", "merge", "evaluate", "card", "publish"]
    assert list(first) == stages and list(again) == stages
    assert set(first.values()) == {"ran", "nothing to do"}
    assert {again[s] for s in stages[:-1]} == {"skipped"}
    model = run_dir / "model"
    for name in ("config.json", "model.safetensors", "natiq_frontend.json", "default_voice.wav",
                 "default_voice.txt", "default_voice.json", "README.md", "audio_tokenizer"):  # fmt: skip
        assert (model / name).exists(), name
    assert (run_dir / "codes" / "natiq_frontend.json").is_file()
    transcript = (model / "default_voice.txt").read_text(encoding="utf-8").strip()
    assert transcript and any("\u0600" <= ch <= "\u06ff" for ch in transcript)


def test_the_merged_model_speaks_in_its_default_voice(higgs_run) -> None:
    import torch

    from natiq.backends.base import SynthesisOptions, VoicePrompt
    from natiq.synthesizer import Synthesizer

    model = higgs_run[0] / "model"
    synth = Synthesizer.load("higgs", model=str(model), device="cpu")
    transcript = (model / "default_voice.txt").read_text(encoding="utf-8").strip()
    greedy = SynthesisOptions(temperature=0.0, max_seconds=0.5)
    assert synth.speak("مَرْحَبًا", options=greedy).audio.size > 0  # no voice given
    # The tiny random model ignores its prompt, so the prompts themselves are compared.
    default = synth.prepare_voice(None)
    explicit = synth.prepare_voice(VoicePrompt(model / "default_voice.wav", transcript))
    other_clip = sorted((higgs_run[0] / "data" / "audio").glob("spk1_*.wav"))[0]
    other = synth.prepare_voice(VoicePrompt(other_clip, transcript))
    assert torch.equal(default.codes, explicit.codes) and default.text == explicit.text
    assert default.codes.shape != other.codes.shape or not torch.equal(default.codes, other.codes)


def test_the_higgs_card_names_its_license_and_how_to_load_it(higgs_run) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard.load(higgs_run[0] / "model" / "README.md")
    assert card.data.license == "other"
    assert card.data.license_name == "boson-higgs-audio-2-community-license"
    assert card.data.pipeline_tag == "text-to-speech" and "higgs-audio" in card.data.tags
    assert "natiq speak --backend higgs --model path/to/this/folder" in card.text
    assert "HiggsAudioV2ForConditionalGeneration.from_pretrained" in card.text
