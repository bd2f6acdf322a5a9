"""A pronunciation lexicon given to training travels in the export and is applied at inference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from natiq.cli.main import app
from natiq.text import normalize
from support.pocket_train import invoke_natiq

WORD = "السلام"
SAID = normalize("السَّلَامُ")  # shadda first, as the front-end writes it
BUCKWALTER_SAID = "Als~alaAmu"


@pytest.mark.slow
def test_an_export_trained_with_a_lexicon_applies_it_without_being_told(
    tmp_path: Path, small_manifest: Path, tiny_base: Path
) -> None:
    lexicon = tmp_path / "names.tsv"
    lexicon.write_text(f"# written\tsaid\n{WORD}\t{BUCKWALTER_SAID}\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    invoke_natiq(
        "pocket", "train", "--metadata", str(small_manifest), "--encode-on-the-fly",
        "--base", str(tiny_base), "--output-dir", str(run_dir), "--lexicon", str(lexicon),
        "--max-steps", "1", "--save-steps", "1", "--eval-steps", "0", "--lora-r", "2",
        "--per-device-train-batch-size", "2", "--device", "cpu", "--precision", "fp32",
    )  # fmt: skip
    checkpoint = run_dir / "step_1"
    recorded = json.loads((checkpoint / "natiq_frontend.json").read_text(encoding="utf-8"))
    assert recorded["lexicon"] == [[WORD, SAID]]
    export_dir = tmp_path / "export"
    invoke_natiq(
        "pocket", "export", "--checkpoint", str(checkpoint), "--output-dir", str(export_dir)
    )

    from natiq.synthesizer import Synthesizer

    synth = Synthesizer.load("pocket", checkpoint=str(export_dir), device="cpu")
    (sentence,) = synth.prepare_text(f"قال {WORD} عليكم").sentences
    # the default (native) run reads Arabic script: the entry's marks reach the model
    assert sentence.model_text == sentence.spoken == f"قال {SAID} عليكم"

    # resuming with another lexicon would change what the model hears: refused
    other = tmp_path / "other.tsv"
    other.write_text(f"{WORD}\tsalaAm\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["pocket", "train", "--metadata", str(small_manifest), "--encode-on-the-fly",
         "--base", str(tiny_base), "--output-dir", str(run_dir), "--lexicon", str(other),
         "--resume", str(checkpoint), "--max-steps", "3", "--lora-r", "2", "--device", "cpu"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "another pronunciation lexicon" in str(result.exception)
