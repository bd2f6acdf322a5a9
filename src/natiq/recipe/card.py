"""The model folder a recipe publishes: the export plus a Hugging Face model card (``README.md``).

The card starts with the metadata block the Hub reads (``language: ar``, the
license, ``base_model``, ``datasets``, ``pipeline_tag: text-to-speech``,
tags) and holds the evaluate stage's figures (per set, per test category,
CPU latency and real-time factor), the text front-end the model was trained
with, the training settings, the default voice, how to use the model with
natiq and with the stock pocket-tts, and its intended use and limits. Every
figure comes from the run's own files (``evaluation.json``, the training
record); nothing here measures anything.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from natiq.common.files import atomic_write_text
from natiq.recipe.config import Recipe

CARD_FILE = "README.md"
SET_TITLES = {"held_out": "held-out (val split of the training corpus)", "test": "natiq test list"}
SCOPE_PARTS = {
    "text": "the text embedding",
    "flow": "the flow head",
    "text+flow": "the text embedding and the flow head",
    "full": "the whole FlowLM (text embedding, transformer, flow head)",
}
FRONTEND_FIELDS = (
    "scheme",
    "diacritics",
    "diacritize",
    "verbalize",
    "map_punctuation",
    "fold",
    "pausal",
)


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _percent(value: Any) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def metadata_block(recipe: Recipe) -> str:
    """The YAML front matter the Hub reads."""
    import yaml

    card = recipe.card
    data: dict[str, Any] = {"language": ["ar"], "license": card.license}
    if card.base_model:
        data["base_model"] = card.base_model
    if card.datasets:
        data["datasets"] = list(card.datasets)
    data["pipeline_tag"] = "text-to-speech"
    data["tags"] = list(
        dict.fromkeys(["text-to-speech", "arabic", "pocket-tts", "natiq", *card.tags])
    )
    return "---\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False) + "---\n"


def metrics_table(evaluation: dict[str, Any]) -> list[str]:
    """One row per evaluated set: corpus CER/WER, mean CER, similarity, DNSMOS, runaway rate."""
    lines = [
        "| set | utterances | CER (corpus) | WER (corpus) | CER (mean per utterance) "
        "| speaker similarity | DNSMOS OVRL | runaway rate |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, figures in evaluation["sets"].items():
        lines.append(
            f"| {SET_TITLES.get(name, name)} | {figures['count']} "
            f"| {_percent(figures.get('corpus_cer'))} | {_percent(figures.get('corpus_wer'))} "
            f"| {_percent(figures.get('cer_mean'))} | {_number(figures.get('speaker_similarity_mean'))} "
            f"| {_number(figures.get('dnsmos_ovrl_mean'), 2)} | {_percent(figures.get('runaway_rate'))} |"
        )
    return lines


def category_table(evaluation: dict[str, Any]) -> list[str]:
    categories = evaluation["sets"].get("test", {}).get("by_category") or {}
    if not categories:
        return []
    lines = [
        "| category | sentences | CER (corpus) | WER (corpus) | runaway rate |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, figures in categories.items():
        lines.append(
            f"| {name} | {figures['count']} | {_percent(figures.get('corpus_cer'))} "
            f"| {_percent(figures.get('corpus_wer'))} | {_percent(figures.get('runaway_rate'))} |"
        )
    return lines


def _frontend_lines(frontend: dict[str, Any]) -> list[str]:
    lines = ["| setting | value |", "| --- | --- |"]
    for name in FRONTEND_FIELDS:
        if name in frontend:
            value = frontend[name]
            lines.append(
                f"| `{name}` | `{'native Arabic script' if value is None and name == 'scheme' else value}` |"
            )
    return lines


def _training_lines(recipe: Recipe, training: dict[str, Any], data: dict[str, Any]) -> list[str]:
    train = recipe.train
    parts = SCOPE_PARTS[train.train_scope]
    scope = f"LoRA r={train.lora_r} on {parts}" if train.use_lora else f"{parts}, in full"
    rows = [
        (
            "base",
            f"`{train.base}`" if not recipe.tiny.enabled else "a tiny random model (`--tiny`)",
        ),
        (
            "text",
            f"{train.text_mode}"
            + (
                f" ({train.scheme})"
                if train.text_mode == "romanized"
                else f" ({train.native_tokenizer} tokenizer)"
            ),
        ),
        ("trained", scope),
        ("objective", train.objective.loss),
        ("steps", str(training.get("step"))),
        (
            "batch",
            f"{train.per_device_train_batch_size} x {train.gradient_accumulation_steps} accumulation per process",
        ),
        (
            "learning rate",
            f"{train.learning_rate:g} ({train.lr_scheduler_type}, {train.warmup_steps} warmup steps)",
        ),
        ("EMA", f"{train.ema_decay:g}" if train.ema_decay else "off"),
        (
            "data",
            f"{data.get('kept')} utterances ({data.get('train')} train, {data.get('val')} held out), {_number(data.get('hours'), 2)} h",
        ),
    ]
    losses = training.get("losses") or {}
    if "total" in losses:
        rows.append(("final training loss", _number(losses["total"], 4)))
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]


def _usage_lines(
    recipe: Recipe, yaml_name: str, frontend: dict[str, Any], stock_warnings: list[str]
) -> list[str]:
    repo = recipe.publish.repo
    where = f"hf://{repo}" if repo else "path/to/this/folder"
    flag = "--model" if repo else "--checkpoint"
    config = f"hf://{repo}/{yaml_name}" if repo else yaml_name
    voice = f"hf://{repo}/default_voice.safetensors" if repo else "default_voice.safetensors"
    scheme = frontend.get("scheme")
    stock = [
        "## Use it with the stock pocket-tts",
        "",
        "```bash",
        f'pocket-tts generate --config {config} --voice {voice} --text "..."',
        "```",
        "",
    ]
    if not repo:
        stock += ["Run it in this folder: the YAML names its files relative to itself.", ""]
    stock += [
        "The stock tools do not run natiq's text front-end:",
        "",
        *(f"- {warning}." for warning in stock_warnings),
        "- numbers, dates, currencies and abbreviations are not read out: write them as words "
        "(`natiq text verbalize` prints them).",
    ]
    return [
        "## Use it with natiq",
        "",
        "```bash",
        f'natiq speak {flag} {where} --text "مَرْحَبًا بِكُمْ" --output hello.wav',
        f'natiq serve {flag} {where}   # OpenAI /v1/audio/speech: voice "alloy" (or none) is the default voice',
        "```",
        "",
        "```python",
        "from natiq import Synthesizer",
        "",
        f'synth = Synthesizer.load("pocket", {flag.removeprefix("--")}="{where}")',
        'result = synth.speak("مَرْحَبًا بِكُمْ")  # no voice: the default voice',
        "```",
        "",
        "natiq applies the text front-end below (normalization, numbers, dates and currencies",
        "as words, punctuation"
        + (f", {scheme} romanization" if scheme else "")
        + ") before the model sees the text.",
        "",
        *stock,
    ]


def render_card(
    recipe: Recipe,
    *,
    evaluation: dict[str, Any],
    frontend: dict[str, Any],
    training: dict[str, Any],
    data: dict[str, Any],
    voice: dict[str, Any],
    yaml_name: str,
    stock_warnings: Sequence[str] = (),
) -> str:
    """The whole ``README.md``."""
    title = recipe.card.title or recipe.name
    lines = [metadata_block(recipe), f"# {title}", ""]
    if recipe.description:
        lines += [recipe.description.strip(), ""]
    lines += [
        "Arabic text-to-speech made with natiq (`natiq recipe run`, "
        f"recipe `{recipe.name}`): Pocket TTS fine-tuned on Arabic speech, evaluated on held-out "
        "speech and natiq's fixed Arabic test list.",
        "",
    ]
    if recipe.tiny.enabled:
        lines += [
            "> **Not a real voice.** This model was made with `--tiny`: a tiny randomly initialised",
            "> model trained for a few steps on a CPU to check the recipe end to end. Its speech is",
            "> not intelligible and its figures say nothing about quality.",
            "",
        ]
    lines += ["## Evaluation", "", *metrics_table(evaluation), ""]
    cpu = evaluation.get("cpu") or {}
    if cpu:
        lines += [
            f"On CPU ({cpu['threads']} thread(s), median of {cpu['sentences']} test sentences after a "
            f"warm-up): first audio after **{1000 * cpu['first_chunk_s_median']:.0f} ms**, real-time factor "
            f"**{cpu['rtf_median']:.2f}** (below 1 is faster than real time).",
            "",
        ]
    categories = category_table(evaluation)
    if categories:
        lines += ["### The test list by category", "", *categories, ""]
    rule = evaluation.get("runaway_rule") or {}
    lines += [
        "How it was measured: the model spoke each text with its default voice; "
        f"`{evaluation.get('asr_model')}` (Whisper) transcribed it and CER/WER compare the "
        "transcript with the spoken form of the text after natiq's Arabic scoring normalizer "
        "(diacritics removed, letter variants folded); speaker similarity is the cosine of "
        f"`{evaluation.get('speaker_model')}` embeddings of the speech and the voice prompt; "
        "DNSMOS OVRL is Microsoft's predicted overall quality (1-5). A runaway is an utterance "
        f"whose duration is outside {rule.get('min_ratio')}-{rule.get('max_ratio')} times the "
        "expected one (the natural recording's, or the training speaker's speaking rate).",
        "",
        "## Text front-end",
        "",
        *_frontend_lines(frontend),
        "",
        "## Training",
        "",
        *_training_lines(recipe, training, data),
        "",
        "## Default voice",
        "",
        f"`default_voice.safetensors` ({voice.get('chosen_by', 'rule')}): clip "
        f"`{voice.get('clip_id', voice.get('source_file'))}`"
        + (f" of speaker `{voice['speaker']}`" if voice.get("speaker") else "")
        + (f", chosen as {voice['rule']}" if voice.get("rule") else "")
        + ". `natiq speak` and `natiq serve` use it when no voice is given.",
        "",
        *_usage_lines(recipe, yaml_name, frontend, list(stock_warnings)),
        "",
        "## Intended use",
        "",
        "Reading Classical and Modern Standard Arabic aloud (audiobooks, accessibility, "
        "education, assistants) in the training speaker's voice. Diacritized input is read most "
        "accurately; undiacritized input relies on the front-end's settings above.",
        "",
    ]
    if recipe.card.intended_use:
        lines += [recipe.card.intended_use.strip(), ""]
    lines += [
        "## Limitations",
        "",
        "- One speaker and one reading style (that of the training corpus); other voices come "
        "only from a reference clip and are not evaluated here.",
        "- Dialects, code-switching and text outside the front-end's rules (rare abbreviations, "
        "unusual numbers) may be mispronounced; check the per-category figures above.",
        "- The figures come from an automatic recognizer and predicted quality, not from listeners.",
        "- Do not use it to imitate a person without their consent.",
        "",
    ]
    if recipe.card.limitations:
        lines += [recipe.card.limitations.strip(), ""]
    if recipe.card.datasets:
        lines += [
            "## Training data",
            "",
            ", ".join(f"[{d}](https://huggingface.co/datasets/{d})" for d in recipe.card.datasets)
            + f"; license of this model: `{recipe.card.license}`.",
            "",
        ]
    return "\n".join(lines)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def build_model_folder(
    recipe: Recipe,
    *,
    export_dir: Path,
    evaluation: Path,
    training: dict[str, Any],
    data: dict[str, Any],
    out_dir: Path,
) -> Path:
    """``out_dir``: every file of the export (hard links) + ``README.md``; return the card."""
    from natiq.backends.pocket.default_voice import DEFAULT_VOICE_INFO
    from natiq.backends.pocket.export import export_yaml_of, stock_tool_warnings
    from natiq.text import FRONTEND_FILENAME

    out_dir.mkdir(parents=True, exist_ok=True)
    for source in sorted(export_dir.iterdir()):
        if source.is_file() and not source.name.startswith("."):
            _link_or_copy(source, out_dir / source.name)

    def read(path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    yaml_path = export_yaml_of(export_dir)
    text = render_card(
        recipe,
        evaluation=read(evaluation),
        frontend=read(export_dir / FRONTEND_FILENAME),
        training=training,
        data=data,
        voice=read(export_dir / DEFAULT_VOICE_INFO),
        yaml_name=yaml_path.name if yaml_path else f"{recipe.export.name}.yaml",
        stock_warnings=[w.rstrip(".") for w in stock_tool_warnings(export_dir)],
    )
    card = out_dir / CARD_FILE
    atomic_write_text(card, text)
    return card
