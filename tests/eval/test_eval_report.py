"""The HTML report: its content, training curves from TensorBoard, and a real render in Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from natiq.eval.plots import read_scalar_curves
from natiq.eval.report import write_report
from support.browser import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with real TensorBoard event files (two scalar series)."""
    from torch.utils.tensorboard import SummaryWriter

    run = tmp_path_factory.mktemp("run")
    writer = SummaryWriter(log_dir=str(run / "logs"))
    for step in range(0, 50, 5):
        writer.add_scalar("train/loss", 2.0 / (1 + step), step)
        writer.add_scalar("train/lr", 1e-4, step)
    writer.close()
    return run


def test_scalar_curves_are_read_from_event_files(training_run: Path):
    curves = read_scalar_curves(training_run)
    assert set(curves) == {"train/loss", "train/lr"}
    assert curves["train/loss"][0] == (0, pytest.approx(2.0))
    assert [step for step, _ in curves["train/loss"]] == list(range(0, 50, 5))


@pytest.fixture(scope="module")
def report_dir(
    evaluated_run: dict[str, Any], training_run: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    # The copy sits beside the original so the relative audio paths still resolve.
    target = evaluated_run["output"].parent / "eval-with-curves"
    shutil.copytree(evaluated_run["output"], target, dirs_exist_ok=True)
    write_report(target, run_dir=training_run)
    return target


def test_report_html_has_table_players_and_plots(report_dir: Path, evaluated_run: dict[str, Any]):
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert html.count('<tr class="utterance') == 7
    assert html.count("<audio") >= 2 * 2  # generated + reference for the good rows
    assert 'id="histograms"' in html and 'id="training-curves"' in html
    assert "train/loss" in html
    assert html.count('class="spectrogram"') == 4  # every row with readable audio
    assert "unreadable audio" in html
    assert evaluated_run["rows"]["g1"]["transcript"] in html


def test_report_renders_in_headless_chromium(
    report_dir: Path, artifacts_dir: Path, evaluated_run: dict[str, Any]
):
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium package to run the browser test"
        )
    from playwright.sync_api import sync_playwright

    screenshot = artifacts_dir / "eval_report.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto((report_dir / "report.html").as_uri())
            rows = page.locator("#utterances tbody tr").count()
            audio = page.locator("audio").count()
            images = page.locator("img.plot").count()
            spectrograms = page.locator("img.spectrogram").count()
            loaded = page.evaluate(
                "Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)"
            )
            summary_rows = page.locator("#summary tbody tr").count()
            first_audio_seconds = page.evaluate(
                """() => new Promise((resolve) => {
                    const audio = document.querySelector("audio");
                    audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
                    audio.addEventListener("error", () => resolve(-1));
                    audio.load();
                })"""
            )
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert rows == 7
    assert audio >= 4
    assert images == 2 and spectrograms == 4
    assert loaded, "an embedded image failed to decode"
    assert summary_rows >= 5
    assert first_audio_seconds == pytest.approx(evaluated_run["rows"]["g1"]["duration"], abs=0.05)
    assert screenshot.stat().st_size > 10_000
