"""Portable exports and ``natiq hub push``: a moved export loads in natiq; a pushed one loads in
stock pocket-tts from an offline Hugging Face cache laid out from what the Hub received."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from typer.testing import CliRunner

from natiq.cli.main import app
from support.stock_pocket_tts import run_stock_generate

REPO = "natiq-tests/arabic-voice"
FILES = ["natiq_arabic.safetensors", "natiq_arabic_tokenizer.model", "natiq_frontend.json"]


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    return {**env, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", **extra}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _natiq(*args: str) -> list[str]:
    return [sys.executable, "-m", "natiq.cli.main", *args]


def test_export_names_no_absolute_path_and_loads_after_a_move(
    tiny_export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from natiq.backends.pocket.export import load_checkpoint_model

    text = (tiny_export / "natiq_arabic.yaml").read_text(encoding="utf-8")
    assert str(tiny_export.parent) not in text and "/tmp" not in text
    config = yaml.safe_load(text)
    assert config["weights_path"] == "natiq_arabic.safetensors"
    assert config["flow_lm"]["lookup_table"]["tokenizer_path"] == "natiq_arabic_tokenizer.model"
    assert text.startswith("# Exported by natiq from checkpoint step_4.")

    moved = tmp_path / "elsewhere" / "renamed-voice"
    shutil.copytree(tiny_export, moved)
    monkeypatch.chdir(tmp_path)  # neither the old folder nor the new one
    original, _ = load_checkpoint_model(tiny_export)
    loaded, frontend = load_checkpoint_model(moved)
    assert frontend.scheme == "buckwalter"
    state, expected = loaded.state_dict(), original.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)
    assert Path(loaded.config.flow_lm.lookup_table.tokenizer_path).parent == moved


def test_buckwalter_front_end_is_baked_into_the_stock_config(tiny_export: Path) -> None:
    """pocket-tts' own text preparation turns Arabic into exactly what natiq feeds the model."""
    from pocket_tts.models.text_chunking import prepare_text_prompt

    from natiq.text import FrontendConfig, TextFrontend

    config = yaml.safe_load((tiny_export / "natiq_arabic.yaml").read_text(encoding="utf-8"))

    def stock(text: str) -> str:
        prepared, _ = prepare_text_prompt(
            text,
            pad_with_spaces_for_short_inputs=False,
            remove_semicolons=False,
            capitalize_first_letter=config["capitalize_first_letter"],
            replace_characters=config["replace_characters"],
        )
        return prepared.strip()

    # shadda typed before its vowel, as keyboards do
    typed = "ذَهَبَ الط\u0651\u064eالِبُ إِلَى الْمَكْتَبَةِ، وَقَرَأَ كِتَابًا؟"
    natiq_text = TextFrontend(FrontendConfig(scheme="buckwalter")).prepare(typed).model_text
    assert (
        stock(typed)
        == natiq_text.strip()
        == "*ahaba AlT~aAlibu <ilaY Alomakotabapi, waqara>a kitaAbFA?"
    )
    # Unicode NFC puts the vowel first; natiq reorders it, a character map cannot
    nfc = typed.replace("\u0651\u064e", "\u064e\u0651")
    assert stock(nfc) == natiq_text.strip().replace("T~a", "Ta~")


def test_romanizations_a_character_map_cannot_hold_warn_for_stock_tools() -> None:
    from natiq.backends.pocket.config_paths import stock_text_map
    from natiq.text import FrontendConfig

    assert stock_text_map(FrontendConfig()) == ({}, [])
    mapping, warnings = stock_text_map(FrontendConfig(scheme="latin"))
    assert mapping == {} and len(warnings) == 1
    assert "need romanized input" in warnings[0] and "--scheme latin" in warnings[0]
    mapping, warnings = stock_text_map(FrontendConfig(scheme="buckwalter"))
    assert mapping["\u0634"] == "$" and mapping["\u0640"] == ""
    assert len(warnings) == 1 and "shadda" in warnings[0] and "numbers" in warnings[0]


def test_dry_run_lists_exactly_the_files_and_the_rewritten_yaml(tiny_export: Path) -> None:
    result = CliRunner().invoke(app, ["hub", "push", str(tiny_export), REPO, "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    listed = [line.split()[0] for line in lines if line.startswith("  ") and "bytes)" in line]
    assert listed == FILES
    assert "commit 1: 3 files" in result.output
    yaml_text = result.output.split("--- natiq_arabic.yaml ---\n", 1)[1]
    config = yaml.safe_load(yaml_text)
    assert config["weights_path"] == f"hf://{REPO}/natiq_arabic.safetensors@<commit 1>"
    tokenizer = config["flow_lm"]["lookup_table"]["tokenizer_path"]
    assert tokenizer == f"hf://{REPO}/natiq_arabic_tokenizer.model@<commit 1>"


def test_absolute_paths_are_refused_before_anything_is_sent(
    tiny_export: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "old-export"
    shutil.copytree(tiny_export, folder)
    config_file = folder / "natiq_arabic.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["weights_path"] = str(folder / "natiq_arabic.safetensors")
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = CliRunner().invoke(app, ["hub", "push", str(folder), REPO, "--dry-run"])
    assert result.exit_code != 0
    assert "absolute path" in str(result.exception)


@pytest.fixture(scope="module")
def pushed(fake_hub, tiny_export: Path, tmp_path_factory: pytest.TempPathFactory):
    """``natiq hub push`` run as a user would, against the fake Hub (HF_ENDPOINT)."""
    env = _env(HF_ENDPOINT=fake_hub.url, HF_TOKEN="hf_test_token")
    cwd = tmp_path_factory.mktemp("push_cwd")
    result = _run(_natiq("hub", "push", str(tiny_export), REPO, "--private"), cwd, env)
    assert result.returncode == 0, result.stderr[-3000:]
    return fake_hub, result.stdout


@pytest.mark.slow
def test_push_creates_the_repo_then_commits_files_then_pinned_yaml(pushed, tiny_export: Path):
    hub, output = pushed
    posts = [r["path"] for r in hub.requests if r["method"] == "POST"]
    assert posts == [
        "/api/repos/create",
        f"/api/models/{REPO}/preupload/main",
        f"/api/models/{REPO}/commit/main",
        f"/api/models/{REPO}/preupload/main",
        f"/api/models/{REPO}/commit/main",
    ]
    # huggingface_hub itself may fetch its user-agent registry; nothing else is read
    others = [r["path"] for r in hub.requests if r["method"] != "POST"]
    assert set(others) <= {"/api/agent-harnesses"}
    assert all(r["auth"] == "Bearer hf_test_token" for r in hub.requests if r["method"] == "POST")
    assert [(c["organization"], c["name"], c["visibility"]) for c in hub.created] == [
        ("natiq-tests", "arabic-voice", "private")
    ]
    files, configs = hub.commits
    assert {name: data for name, data in files.files.items()} == {
        name: (tiny_export / name).read_bytes() for name in FILES
    }
    assert list(configs.files) == ["natiq_arabic.yaml"]
    pinned = yaml.safe_load(configs.files["natiq_arabic.yaml"])
    assert pinned["weights_path"] == f"hf://{REPO}/natiq_arabic.safetensors@{files.oid}"
    local = yaml.safe_load((tiny_export / "natiq_arabic.yaml").read_text(encoding="utf-8"))
    assert pinned["replace_characters"] == local["replace_characters"]
    assert files.oid in output and configs.oid in output


@pytest.mark.slow
def test_stock_pocket_tts_and_natiq_load_the_published_model_from_an_offline_cache(
    pushed, voice_clip: Path, tmp_path: Path
) -> None:
    hub, _ = pushed
    cache = tmp_path / "hf-cache"
    hub.write_cache(cache, REPO)
    env = _env(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(cache), HF_HOME=str(tmp_path / "hf-home"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    stock_wav = tmp_path / "stock.wav"
    stock = run_stock_generate(
        [
            "--config",
            f"hf://{REPO}/natiq_arabic.yaml",
            "--voice",
            str(voice_clip),
            "--text",
            "السلام عليكم.",
            "--output-path",
            str(stock_wav),
            "-q",
        ],
        cwd=elsewhere,
        env=env,
    )
    assert stock.returncode == 0, stock.stderr[-3000:]
    info = sf.info(str(stock_wav))
    assert info.samplerate == 24000 and info.frames > 0

    natiq_wav = tmp_path / "natiq.wav"
    spoken = _run(
        _natiq(
            "speak",
            "--model",
            f"hf://{REPO}",
            "--voice",
            str(voice_clip),
            "--text",
            "السلام عليكم",
            "--output",
            str(natiq_wav),
            "--device",
            "cpu",
        ),
        elsewhere,
        env,
    )
    assert spoken.returncode == 0, spoken.stderr[-3000:]
    assert sf.info(str(natiq_wav)).frames > 0

    pulled = _run(_natiq("hub", "pull", REPO), elsewhere, env)
    assert pulled.returncode == 0, pulled.stderr[-3000:]
    snapshot = Path(pulled.stdout.strip().splitlines()[-1])
    assert (
        snapshot == cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / hub.commits[1].oid
    )
