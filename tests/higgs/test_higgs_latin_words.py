"""Higgs reads English: its front-end passes Latin words inside Arabic as written."""

from __future__ import annotations

import json
from pathlib import Path

from natiq.backends.higgs.frontend_io import frontend_config_from_file, load_frontend


def test_higgs_passes_latin_words_unless_told_otherwise(tmp_path: Path) -> None:
    assert load_frontend(None).prepare("اشتريت iPhone 15 أمس").model_text == (
        "اشتريت iPhone fifteen أمس"
    )
    assert frontend_config_from_file(None).latin == "pass"
    told = tmp_path / "natiq_frontend.json"
    told.write_text(json.dumps({"latin": "transliterate"}), encoding="utf-8")
    assert frontend_config_from_file(told).latin == "transliterate"
