"""End to end on a tiny random Higgs model: LoRA training overfits two ChatML
samples, greedy cloning reproduces them and stops by itself, the adapter
merges into identical logits, training resumes exactly, bad inputs are
reported while the rest of a batch is still spoken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

from natiq.backends.higgs.audio_codes import CodeStore
from natiq.backends.higgs.cloning import CloneOptions, HiggsCloner
from natiq.backends.higgs.train_config import HiggsTrainConfig
from natiq.backends.higgs.trainer import run_training
from natiq.common.errors import AudioInputError, InputTextError
from natiq.data.chatml import read_chatml
from support.higgs import SYSTEM, chatml_line, espeak, write_chatml

GREEDY = CloneOptions(temperature=0, max_new_tokens=60)
OVERFIT_STEPS = 40


def _config(chatml: Path, output: Path, model: Path, **overrides) -> HiggsTrainConfig:
    values = dict(
        chatml=chatml,
        output_dir=output,
        model=str(model),
        max_steps=OVERFIT_STEPS,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=1,
        learning_rate=1e-2,
        warmup_steps=0,
        logging_steps=10,
        save_steps=1000,
        train_audio_head=True,
    )
    values.update(overrides)
    return HiggsTrainConfig(**values)


def code_accuracy(
    cloner: HiggsCloner, chatml: Path, store: CodeStore
) -> list[tuple[float, bool, int, int]]:
    """Per sample: fraction of target codes reproduced, whether generation stopped, lengths."""
    results = []
    for sample in read_chatml(chatml):
        reference = cloner.prepare_reference(sample.ref_audio, sample.ref_text)
        generated = cloner.generate_codes(
            reference, cloner.frontend.prepare(sample.target_text).model_text, GREEDY
        )
        target = store.load(sample.target_audio)
        n = min(target.shape[1], generated.codes.shape[1])
        hits = (generated.codes[:, :n] == target[:, :n]).sum().item()
        results.append(
            (hits / target.numel(), generated.stopped, generated.codes.shape[1], target.shape[1])
        )
    return results


@pytest.fixture(scope="module")
def trained(
    tiny_model_dir: Path, train_chatml: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    output = tmp_path_factory.mktemp("adapter") / "run"
    result = run_training(_config(train_chatml, output, tiny_model_dir))
    assert result.steps == OVERFIT_STEPS and result.samples == 2 and not result.skipped
    return output


@pytest.fixture(scope="module")
def cloner(tiny_model_dir: Path, trained: Path) -> HiggsCloner:
    return HiggsCloner.load(model=str(tiny_model_dir), adapter=trained, device="cpu")


@pytest.mark.slow
def test_lora_with_audio_head_overfits_and_stops(
    cloner: HiggsCloner, trained: Path, train_chatml: Path
):
    results = code_accuracy(cloner, train_chatml, CodeStore(trained / "codes"))
    for accuracy, stopped, generated_len, target_len in results:
        assert accuracy >= 0.9, results
        assert stopped and generated_len == target_len, results


def test_untrained_model_is_near_chance(tiny_model_dir: Path, trained: Path, train_chatml: Path):
    base = HiggsCloner.load(model=str(tiny_model_dir), device="cpu")
    results = code_accuracy(base, train_chatml, CodeStore(trained / "codes"))
    assert all(accuracy < 0.05 for accuracy, *_ in results), results


def test_adapter_dir_records_frontend_config_and_curves(trained: Path):
    assert (trained / "adapter_config.json").is_file()
    assert json.loads((trained / "natiq_frontend.json").read_text())["diacritics"] in (
        "keep",
        "strip",
    )
    recorded = json.loads((trained / "training_config.json").read_text())
    assert recorded["config"]["lora_r"] == 16 and recorded["config"]["train_audio_head"] is True
    assert recorded["system_prompt"] == SYSTEM  # every ChatML line had this one
    log = [json.loads(line) for line in (trained / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["train/audio"] > 20 > 5 > log[-1]["train/audio"]  # from ~8 x ln(1026) down
    assert list((trained / "logs").rglob("events.out.tfevents.*"))


def test_lora_save_load_merge_gives_identical_logits(
    tiny_model_dir: Path, trained: Path, tmp_path: Path
):
    from peft import PeftModel
    from transformers import HiggsAudioV2ForConditionalGeneration

    from natiq.backends.higgs.merge import MergeConfig, merge_adapter

    merged_dir = merge_adapter(MergeConfig(adapter=trained, output_dir=tmp_path / "merged"))
    merged = HiggsAudioV2ForConditionalGeneration.from_pretrained(merged_dir).eval()
    base = HiggsAudioV2ForConditionalGeneration.from_pretrained(tiny_model_dir)
    adapted = PeftModel.from_pretrained(base, str(trained)).eval()
    generator = torch.Generator().manual_seed(0)
    frames = torch.randint(0, 1024, (1, 12, 8), generator=generator)
    input_ids = torch.tensor([[128000, 200, 201, 128013] + [128016] * 5 + [128014] * 7 + [128012]])
    inputs = dict(
        input_ids=input_ids,
        audio_input_ids=frames,
        audio_input_ids_mask=torch.ones((1, 12), dtype=torch.bool),
    )
    with torch.no_grad():
        diff = (merged(**inputs).logits - adapted(**inputs).logits).abs().max().item()
    assert diff < 1e-4
    assert (merged_dir / "natiq_frontend.json").is_file() and (
        merged_dir / "audio_tokenizer"
    ).is_dir()


def test_training_resumes_exactly(
    tiny_model_dir: Path, train_chatml: Path, trained: Path, tmp_path: Path
):
    from safetensors.torch import load_file

    def config(output: Path) -> HiggsTrainConfig:
        return _config(
            train_chatml, output, tiny_model_dir, max_steps=4, save_steps=2, logging_steps=1,
            per_device_train_batch_size=1,
            gradient_accumulation_steps=2, codes_dir=trained / "codes", learning_rate=1e-3, lora_dropout=0.1,
        )  # fmt: skip

    straight = run_training(config(tmp_path / "straight"))
    assert straight.steps == 4
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(tmp_path / "straight" / "step_2", resumed_dir / "step_2")
    # the killed run had logged past its last checkpoint; those lines are replayed, not kept
    (resumed_dir / "train_log.jsonl").write_text('{"step": 2}\n{"step": 3, "stale": true}\n')
    resumed = run_training(config(resumed_dir).model_copy(update={"resume": "latest"}))
    assert resumed.resumed_from == 2 and resumed.steps == 4
    log = [json.loads(line) for line in (resumed_dir / "train_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log] == [2, 3, 4] and "stale" not in log[1]
    a = load_file(str(tmp_path / "straight" / "adapter_model.safetensors"))
    b = load_file(str(resumed_dir / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6


def test_bad_inputs_give_clear_errors(cloner: HiggsCloner, speech_dir: Path, tmp_path: Path):
    good = speech_dir / "ref1.wav"
    with pytest.raises(AudioInputError, match="not found"):
        cloner.clone(tmp_path / "missing.wav", "مرحبا", "نعم", GREEDY)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    with pytest.raises(AudioInputError, match="unreadable"):
        cloner.clone(broken, "مرحبا", "نعم", GREEDY)
    with pytest.raises(AudioInputError, match="limit"):
        cloner.clone(good, "مرحبا", "نعم", CloneOptions(temperature=0, max_ref_seconds=0.2))
    with pytest.raises(InputTextError):
        cloner.clone(good, "مرحبا", "   ", GREEDY)
    with pytest.raises(InputTextError, match="reference transcript"):
        cloner.clone(good, "", "نعم", GREEDY)


def test_batch_clone_reports_bad_samples_and_speaks_the_rest(
    tiny_model_dir: Path, trained: Path, speech_dir: Path, tmp_path: Path
):
    from natiq.cli.main import app

    missing_turn = chatml_line("no_target_text", "مرحبا", str(speech_dir / "ref1.wav"), "x", None)
    missing_turn["messages"] = missing_turn["messages"][:3]
    chatml = write_chatml(
        tmp_path / "batch.jsonl",
        [
            chatml_line("good", "مرحبا", str(speech_dir / "ref1.wav"), "نعم", None),
            chatml_line("no_audio", "مرحبا", str(tmp_path / "nope.wav"), "نعم", None),
            missing_turn,
            chatml_line("empty_text", "مرحبا", str(speech_dir / "ref1.wav"), "", None),
        ],
    )
    lenient = read_chatml(chatml, lenient=True)
    assert [s.id for s in lenient] == ["good", "no_audio", "empty_text"]
    assert [(b.line, b.id) for b in lenient.bad] == [(3, "no_target_text")]
    assert lenient.bad[0].message == f"{chatml}:3: missing turn 4 (user text)"
    out = tmp_path / "out"
    args = [
        "higgs",
        "clone",
        "--chatml",
        str(chatml),
        "--output-dir",
        str(out),
        "--adapter",
        str(trained),
    ]
    args += [
        "--model",
        str(tiny_model_dir),
        "--temperature",
        "0",
        "--max-new-tokens",
        "40",
        "--device",
        "cpu",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("output_*.wav")) == ["output_0.wav"]
    audio, rate = sf.read(str(out / "output_0.wav"))
    assert rate == 24000 and audio.shape[0] > 0.3 * rate
    failures = [json.loads(line) for line in (out / "failures.jsonl").read_text().splitlines()]
    assert [f["index"] for f in failures] == [1, 2, 3]
    assert "missing turn" in failures[1]["reason"] and "not found" in failures[0]["reason"]


def test_speak_through_higgs_backend(tiny_model_dir: Path, trained: Path, speech_dir: Path):
    from natiq.backends.base import SynthesisOptions, VoicePrompt
    from natiq.backends.registry import load_backend

    backend = load_backend("higgs", model=str(tiny_model_dir), checkpoint=trained, device="cpu")
    voice = backend.prepare_voice(VoicePrompt(audio=speech_dir / "ref1.wav", text="مرحبا"))
    text = backend.frontend.prepare("نعم").model_text
    audio = backend.synthesize(text, voice, SynthesisOptions(temperature=0.0, max_new_frames=40))
    assert backend.sample_rate == 24000 and audio.dtype == np.float32 and audio.size > 0
    with pytest.raises(AudioInputError):
        backend.prepare_voice(None)


def test_stereo_44k_reference_is_accepted(cloner: HiggsCloner, tmp_path: Path):
    ref = espeak("مرحبا", tmp_path / "stereo.wav", rate=44100, stereo=True)
    audio = cloner.clone(ref, "مرحبا", "نعم", GREEDY)
    assert audio.size > 0


def test_speak_cli_clones_with_the_voice_transcript(
    tiny_model_dir: Path, trained: Path, speech_dir: Path, tmp_path: Path
):
    import soundfile as sf
    from typer.testing import CliRunner

    from natiq.cli.main import app

    out = tmp_path / "clone.wav"
    base = [
        "speak", "--backend", "higgs", "--model", str(tiny_model_dir), "--checkpoint", str(trained),
        "--device", "cpu", "--temperature", "0", "--text", "نعم", "--output", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(
        app, [*base, "--voice", str(speech_dir / "ref1.wav"), "--voice-text", "مرحبا"]
    )
    assert result.exit_code == 0, result.output
    audio, rate = sf.read(out)
    assert rate == 24000 and audio.size > 0

    orphan = CliRunner().invoke(app, [*base, "--voice-text", "مرحبا"])
    assert orphan.exit_code != 0 and "--voice-text" in str(orphan.exception or orphan.output)
