"""``recipes/demo.yaml`` end to end, as a user runs it: killed in ``train``, resumed, then a no-op.

One run folder serves the module: a ``natiq recipe run`` subprocess is
SIGKILLed right after it published its ``step_4`` checkpoint (a wrapper makes
it hang there, so the kill always lands mid-training), the command is run
again and must resume training from ``step_4`` while reusing the finished
stages, and a third run must do nothing at all. The finished folder then
serves the tests of the default voice (speak, serve, OpenAI ``alloy``) and of
the model card.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from natiq.cli.main import app

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_RECIPE = REPO_ROOT / "recipes" / "demo.yaml"
HANG_AT_STEP = 4
# Runs the real CLI, but hangs right after publishing checkpoint HANG_AT_STEP, so the
# test can SIGKILL it in the middle of `train` without racing the training loop.
HANGING_CLI = """
import os, sys, time
from pathlib import Path
import natiq.training.checkpoint as run_folder

publish = run_folder.publish

def publish_then_hang(tmp, step):
    target = publish(tmp, step)
    if step == int(os.environ["HANG_AT_STEP"]):
        Path(os.environ["HANG_MARKER"]).write_text(str(step))
        time.sleep(600)
    return target

run_folder.publish = publish_then_hang
from natiq.cli.main import app
app(sys.argv[1:], prog_name="natiq")
"""


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def recipe_run(run_dir: Path) -> str:
    result = CliRunner().invoke(
        app,
        ["recipe", "run", str(DEMO_RECIPE), "--run-dir", str(run_dir), "--no-progress"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    run_dir = tmp_path_factory.mktemp("demo") / "run"
    marker = run_dir.parent / "hanging"
    env = {**os.environ, "HANG_AT_STEP": str(HANG_AT_STEP), "HANG_MARKER": str(marker)}
    child = subprocess.Popen(
        [sys.executable, "-c", HANGING_CLI, "recipe", "run", str(DEMO_RECIPE),
         "--run-dir", str(run_dir), "--no-progress"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert child.poll() is None, f"the recipe ended before training:\n{child.stdout.read()}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    killed_log = child.communicate(timeout=60)[0]
    killed = {
        "returncode": child.returncode,
        "log": killed_log,
        "train_record": json.loads((run_dir / ".recipe" / "train.json").read_text()),
        "checkpoints": sorted(p.name for p in (run_dir / "train").glob("step_*")),
        "files": snapshot(run_dir),
    }
    resumed_log = recipe_run(run_dir)
    finished = snapshot(run_dir)
    noop_log = recipe_run(run_dir)
    return {
        "run_dir": run_dir,
        "killed": killed,
        "resumed_log": resumed_log,
        "finished": finished,
        "noop_log": noop_log,
        "after_noop": snapshot(run_dir),
    }


def test_killed_in_train_the_rerun_resumes_from_the_last_checkpoint(demo_run: dict) -> None:
    killed = demo_run["killed"]
    assert killed["returncode"] == -signal.SIGKILL
    assert killed["train_record"]["status"] == "running"
    assert killed["checkpoints"] == [f"step_{HANG_AT_STEP}"]
    for stage in ("base", "prepare", "latents"):
        assert f"[{stage}] done" in killed["log"]
    log = demo_run["resumed_log"]
    for stage in ("base", "prepare", "latents"):
        assert f"[{stage}] skipped: inputs and settings unchanged" in log
    assert f"train: resuming from step_{HANG_AT_STEP}" in log
    assert (
        f"resumed from {demo_run['run_dir'] / 'train' / f'step_{HANG_AT_STEP}'} at step {HANG_AT_STEP}"
        in log
    )
    run_dir = demo_run["run_dir"]
    state = json.loads((run_dir / "train" / "step_12" / "trainer_state.json").read_text())
    assert state["step"] == 12
    logged = [json.loads(line)["step"] for line in (run_dir / "train" / "train_log.jsonl").open()]
    assert logged == sorted(set(logged)) and logged[-1] == 12
    # the finished stages were reused, not redone: their files are untouched
    before, after = killed["files"], demo_run["finished"]
    for folder in ("base/", "data/", "latents/"):
        kept = {k: v for k, v in before.items() if k.startswith(folder)}
        assert kept and kept == {k: v for k, v in after.items() if k.startswith(folder)}
    records = {
        name: json.loads((run_dir / ".recipe" / f"{name}.json").read_text())["status"]
        for name in ("base", "prepare", "latents", "train", "export", "evaluate", "card", "publish")
    }
    assert set(records.values()) == {"done"}


def test_a_second_run_with_nothing_changed_does_no_work(demo_run: dict) -> None:
    log = demo_run["noop_log"]
    for stage in ("base", "prepare", "latents", "train", "export", "evaluate", "card"):
        assert f"[{stage}] skipped: inputs and settings unchanged" in log
    assert "[publish] nothing to do" in log
    assert "running" not in log and "resuming" not in log
    assert demo_run["after_noop"] == demo_run["finished"]


def test_the_model_folder_holds_the_export_the_default_voice_and_the_card(demo_run: dict) -> None:
    model = demo_run["run_dir"] / "model"
    assert sorted(p.name for p in model.iterdir()) == [
        "README.md",
        "default_voice.json",
        "default_voice.safetensors",
        "default_voice.wav",
        "natiq_demo.safetensors",
        "natiq_demo.yaml",
        "natiq_demo_tokenizer.model",
        "natiq_frontend.json",
    ]
    voice = json.loads((model / "default_voice.json").read_text(encoding="utf-8"))
    assert voice["chosen_by"] == "rule" and voice["clip_id"].startswith(voice["speaker"])
    evaluation = json.loads((demo_run["run_dir"] / "evaluate" / "evaluation.json").read_text())
    assert evaluation["sets"]["held_out"]["count"] == 1
    assert evaluation["sets"]["test"]["count"] == 1
    assert set(evaluation["sets"]["test"]["by_category"]) == {"numbers"}
    latency = evaluation["latency"]
    assert (latency["sentences"], latency["threads"], latency["device"]) == (1, 1, "cpu")
    for figures in evaluation["sets"].values():
        assert figures["corpus_cer"] >= 0 and 0 <= figures["runaway_rate"] <= 1
        assert 1 <= figures["dnsmos_ovrl_mean"] <= 5


def _speak(model: Path, out: Path, *extra: str) -> np.ndarray:
    import soundfile as sf

    result = CliRunner().invoke(
        app,
        ["speak", "--checkpoint", str(model), "--text", "مَرْحَبًا بِكُمْ", "--output", str(out),
         "--device", "cpu", "--seed", "3", *extra],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    samples, rate = sf.read(str(out), dtype="float32")
    assert rate == 24000
    return samples


def test_speak_without_a_voice_speaks_in_the_default_voice(demo_run: dict, tmp_path: Path) -> None:
    model = demo_run["run_dir"] / "model"
    default = _speak(model, tmp_path / "default.wav")
    explicit = _speak(model, tmp_path / "explicit.wav", "--voice", str(model / "default_voice.wav"))
    state = _speak(
        model, tmp_path / "state.wav", "--voice", str(model / "default_voice.safetensors")
    )
    # the same speech up to a few 16-bit steps (pocket-tts decodes in a thread of its own)
    same = 4 / 32768
    assert default.size == state.size == explicit.size > 0
    assert np.abs(default - state).max() <= same
    assert np.abs(default - explicit).max() <= same


def test_no_voice_means_the_exported_state_not_another_clip(demo_run: dict) -> None:
    # The tiny random model barely listens to its voice prompt, so the states are compared.
    import torch

    from natiq.synthesizer import Synthesizer

    model = demo_run["run_dir"] / "model"
    synth = Synthesizer.load("pocket", checkpoint=model, device="cpu")
    default = synth.prepare_voice(None)
    saved = synth.prepare_voice(model / "default_voice.safetensors")
    clip = synth.prepare_voice(model / "default_voice.wav")
    chosen = json.loads((model / "default_voice.json").read_text(encoding="utf-8"))["clip_id"]
    other_clip = next(
        p
        for p in sorted((demo_run["run_dir"] / "data" / "audio").glob("*.wav"))
        if p.stem != chosen
    )
    other = synth.prepare_voice(other_clip)

    def caches(state: dict) -> list[torch.Tensor]:
        return [module["cache"] for _, module in sorted(state.items()) if "cache" in module]

    assert [c.shape for c in caches(default)] == [c.shape for c in caches(saved)]
    assert all(torch.equal(a, b) for a, b in zip(caches(default), caches(saved), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(caches(default), caches(clip), strict=True))
    assert not all(
        a.shape == b.shape and torch.equal(a, b)
        for a, b in zip(caches(other), caches(default), strict=True)
    )


def test_serve_and_the_openai_preset_names_use_the_default_voice(
    demo_run: dict, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from openai import OpenAI

    from natiq.serve.app import create_app
    from natiq.serve.settings import ServeSettings
    from natiq.synthesizer import Synthesizer

    model = demo_run["run_dir"] / "model"
    synth = Synthesizer.load("pocket", checkpoint=model, device="cpu", temperature=0.0)
    text = "مَرْحَبًا بِكُمْ"
    expected = synth.speak(text, voice=model / "default_voice.safetensors").audio
    app_ = create_app(ServeSettings(data_dir=tmp_path / "serve"), synthesizer=synth)
    with TestClient(app_, base_url="http://127.0.0.1:8000") as http:
        assert http.get("/health").json()["default_voice"] is True
        client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused", http_client=http)
        alloy = client.audio.speech.create(
            model="natiq", voice="alloy", input=text, response_format="pcm"
        ).content
        unnamed = http.post("/v1/audio/speech", json={"input": text, "response_format": "pcm"})
    assert unnamed.status_code == 200
    pcm = np.frombuffer(alloy, dtype="<i2").astype(np.int32)
    without = np.frombuffer(unnamed.content, dtype="<i2").astype(np.int32)
    assert pcm.size == without.size == expected.size > 0
    # the same speech up to a few 16-bit steps (pocket-tts decodes in a thread of its own)
    assert np.abs(pcm - (np.clip(expected, -1, 1) * 32767.0).round()).max() <= 4
    assert np.abs(pcm - without).max() <= 4


def test_the_demo_card_renders_with_its_metrics_and_its_metadata_parses(demo_run: dict) -> None:
    from huggingface_hub import ModelCard
    from markdown_it import MarkdownIt

    card_path = demo_run["run_dir"] / "model" / "README.md"
    card = ModelCard.load(card_path)
    assert card.data.language == ["ar"]
    assert card.data.pipeline_tag == "text-to-speech"
    assert card.data.license == "apache-2.0"
    assert "natiq" in card.data.tags

    html = MarkdownIt("commonmark").enable("table").render(card.text)
    evaluation = json.loads((demo_run["run_dir"] / "evaluate" / "evaluation.json").read_text())
    tables = html.split("<table>")[1:]
    metrics = tables[0].split("</table>")[0]
    assert ">CER (corpus)</th>" in metrics and ">runaway rate</th>" in metrics
    held_out = evaluation["sets"]["held_out"]
    assert f">{100 * held_out['corpus_cer']:.1f}%</td>" in metrics
    assert f">{100 * held_out['runaway_rate']:.1f}%</td>" in metrics
    assert metrics.count("<tr>") == 1 + len(evaluation["sets"])
    cpu_ms = f"{1000 * evaluation['latency']['first_chunk_s_median']:.0f} ms"
    assert cpu_ms in html and "Not a real voice" in html


def test_a_moved_run_folder_is_reused_and_publish_plans_the_model_folder(
    demo_run: dict, tmp_path: Path
) -> None:
    import shutil

    from natiq.recipe.config import load_recipe
    from natiq.recipe.runner import run_recipe

    moved = tmp_path / "moved"
    shutil.copytree(demo_run["run_dir"], moved)  # keeps modification times, as `cp -a` does
    recipe = load_recipe(DEMO_RECIPE, {"publish": {"repo": "someone/natiq-demo", "dry_run": True}})
    lines: list[str] = []
    report = run_recipe(recipe, run_dir=moved, progress=False, log=lines.append)
    assert report.actions() == {
        "base": "skipped", "prepare": "skipped", "latents": "skipped", "train": "skipped",
        "export": "skipped", "evaluate": "skipped", "card": "ran", "publish": "ran",
    }  # fmt: skip
    assert "[card] changed since its last run (settings.repo)" in "\n".join(lines)
    card = (moved / "model" / "README.md").read_text(encoding="utf-8")
    assert "natiq speak --model hf://someone/natiq-demo" in card
    plan = (moved / "publish" / "plan.txt").read_text(encoding="utf-8")
    assert "  README.md  (" in plan and "  default_voice.safetensors  (" in plan
    assert "tokenizer_path: hf://someone/natiq-demo/natiq_demo_tokenizer.model@<commit 1>" in plan
