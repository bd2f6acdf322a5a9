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
DEFAULT_VOICE_INFO = "default_voice.json"  # every backend's model folder names it so
SET_TITLES = {"held_out": "held-out (val split of the training corpus)", "test": "natiq test list"}
BACKEND_TITLES = {"pocket": "Pocket TTS", "higgs": "Higgs Audio v2"}
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
    if card.license_name:
        data["license_name"] = card.license_name
    if card.base_model:
        data["base_model"] = card.base_model
    if card.datasets:
        data["datasets"] = list(card.datasets)
    data["pipeline_tag"] = "text-to-speech"
    library = "pocket-tts" if recipe.backend == "pocket" else "higgs-audio"
    data["tags"] = list(dict.fromkeys(["text-to-speech", "arabic", library, "natiq", *card.tags]))
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


def _pocket_training_rows(recipe: Any) -> list[tuple[str, str]]:
    train = recipe.train
    parts = SCOPE_PARTS[train.train_scope]
    scope = f"LoRA r={train.lora_r} on {parts}" if train.use_lora else f"{parts}, in full"
    text = (
        f"romanized ({train.scheme})"
        if train.text_mode == "romanized"
        else f"native Arabic script ({train.native_tokenizer} tokenizer)"
    )
    return [
        ("base", f"`{train.base}`"),
        ("text", text),
        ("trained", scope),
        ("objective", train.objective.loss),
        ("EMA", f"{train.ema_decay:g}" if train.ema_decay else "off"),
    ]


def _higgs_training_rows(recipe: Any) -> list[tuple[str, str]]:
    train = recipe.train
    targets = ", ".join(train.lora_target_modules)
    return [
        ("base", f"`{train.model}`"),
        ("trained", f"LoRA r={train.lora_r} (alpha {train.lora_alpha:g}) on {targets}, merged"),
        ("audio head", "trained in full" if train.train_audio_head else "frozen"),
        ("quantized base", train.quantize),
        ("merged weights", recipe.merge.dtype),
    ]


def _training_lines(recipe: Any, training: dict[str, Any], data: dict[str, Any]) -> list[str]:
    train = recipe.train
    rows = (
        _pocket_training_rows(recipe)
        if recipe.backend == "pocket"
        else _higgs_training_rows(recipe)
    )
    if recipe.tiny.enabled:
        rows[0] = ("base", "a tiny random model (`--tiny`)")
    rows += [
        ("steps", str(training.get("step"))),
        (
            "batch",
            f"{train.per_device_train_batch_size} x {train.gradient_accumulation_steps} accumulation per process",
        ),
        (
            "learning rate",
            f"{train.learning_rate:g} ({train.lr_scheduler_type}, {train.warmup_steps} warmup steps)",
        ),
        (
            "data",
            f"{data.get('kept')} utterances ({data.get('train')} train, {data.get('val')} held out), {_number(data.get('hours'), 2)} h",
        ),
    ]
    losses = training.get("losses") or {}
    if "total" in losses:
        rows.append(("final training loss", _number(losses["total"], 4)))
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]


def _natiq_usage(recipe: Any, frontend: dict[str, Any]) -> list[str]:
    repo = recipe.publish.repo
    where = f"hf://{repo}" if repo else "path/to/this/folder"
    pocket = recipe.backend == "pocket"
    flag = "--checkpoint" if pocket and not repo else "--model"
    backend = "" if pocket else " --backend higgs"
    scheme = frontend.get("scheme")
    return [
        "## Use it with natiq",
        "",
        "```bash",
        f'natiq speak{backend} {flag} {where} --text "مَرْحَبًا بِكُمْ" --output hello.wav',
        f'natiq serve{backend} {flag} {where}   # OpenAI /v1/audio/speech: voice "alloy" (or none) is the default voice',
        "```",
        "",
        "```python",
        "from natiq import Synthesizer",
        "",
        f'synth = Synthesizer.load("{recipe.backend}", {flag.removeprefix("--")}="{where}")',
        'result = synth.speak("مَرْحَبًا بِكُمْ")  # no voice: the default voice',
        "```",
        "",
        "natiq applies the text front-end below (normalization, numbers, dates and currencies",
        "as words, punctuation"
        + (f", {scheme} romanization" if scheme else "")
        + ") before the model sees the text.",
    ]


def _pocket_stock_usage(recipe: Any, yaml_name: str, stock_warnings: list[str]) -> list[str]:
    repo = recipe.publish.repo
    config = f"hf://{repo}/{yaml_name}" if repo else yaml_name
    voice = f"hf://{repo}/default_voice.safetensors" if repo else "default_voice.safetensors"
    lines = [
        "## Use it with the stock pocket-tts",
        "",
        "```bash",
        f'pocket-tts generate --config {config} --voice {voice} --text "..."',
        "```",
        "",
    ]
    if not repo:
        lines += ["Run it in this folder: the YAML names its files relative to itself.", ""]
    return [*lines, *_stock_limits(stock_warnings)]


def _higgs_stock_usage(recipe: Any, stock_warnings: list[str]) -> list[str]:
    where = recipe.publish.repo or "path/to/this/folder"
    return [
        "## Use it with transformers",
        "",
        "A plain transformers checkpoint (the LoRA adapter merged in) with its processor:",
        "",
        "```python",
        "from transformers import AutoProcessor, HiggsAudioV2ForConditionalGeneration",
        "",
        f'model = HiggsAudioV2ForConditionalGeneration.from_pretrained("{where}")',
        f'processor = AutoProcessor.from_pretrained("{where}")',
        "```",
        "",
        "Clone from `default_voice.wav` with the words of `default_voice.txt`.",
        "",
        *_stock_limits(stock_warnings),
    ]


def _stock_limits(stock_warnings: list[str]) -> list[str]:
    return [
        "Other tools do not run natiq's text front-end:",
        "",
        *(f"- {warning}." for warning in stock_warnings),
        "- numbers, dates, currencies and abbreviations are not read out: write them as words "
        "(`natiq text verbalize` prints them).",
    ]


def _voice_line(recipe: Any, voice: dict[str, Any]) -> str:
    files = (
        "`default_voice.safetensors` (a voice state)"
        if recipe.backend == "pocket"
        else "`default_voice.wav` with its transcript `default_voice.txt`"
    )
    return (
        f"{files}, {'given' if voice.get('chosen_by') == 'user' else 'chosen'}: clip "
        f"`{voice.get('clip_id', voice.get('source_file'))}`"
        + (f" of speaker `{voice['speaker']}`" if voice.get("speaker") else "")
        + (f", {voice['rule']}" if voice.get("rule") else "")
        + ". `natiq speak` and `natiq serve` use it when no voice is given."
    )


def render_card(
    recipe: Recipe,
    *,
    evaluation: dict[str, Any],
    frontend: dict[str, Any],
    training: dict[str, Any],
    data: dict[str, Any],
    voice: dict[str, Any],
    yaml_name: str | None = None,
    stock_warnings: Sequence[str] = (),
) -> str:
    """The whole ``README.md``."""
    title = recipe.card.title or recipe.name
    lines = [metadata_block(recipe), f"# {title}", ""]
    if recipe.description:
        lines += [recipe.description.strip(), ""]
    lines += [
        "Arabic text-to-speech made with natiq (`natiq recipe run`, "
        f"recipe `{recipe.name}`): {BACKEND_TITLES[recipe.backend]} fine-tuned on Arabic "
        "speech, evaluated on held-out speech and natiq's fixed Arabic test list.",
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
    timing = evaluation.get("latency") or {}
    if timing:
        where = "CPU" if timing.get("device", "cpu") == "cpu" else timing["device"]
        lines += [
            f"On {where} ({timing['threads']} thread(s), median of {timing['sentences']} test "
            f"sentences after a warm-up): first audio after "
            f"**{1000 * timing['first_chunk_s_median']:.0f} ms**, real-time factor "
            f"**{timing['rtf_median']:.2f}** (below 1 is faster than real time).",
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
        _voice_line(recipe, voice),
        "",
        *_natiq_usage(recipe, frontend),
        "",
        *(
            _pocket_stock_usage(recipe, yaml_name or "", list(stock_warnings))
            if recipe.backend == "pocket"
            else _higgs_stock_usage(recipe, list(stock_warnings))
        ),
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


def _higgs_stock_warnings(frontend: dict[str, Any]) -> list[str]:
    """What other tools miss of the front-end of a merged Higgs model (it reads model text)."""
    warnings = []
    if frontend.get("scheme"):
        scheme = frontend["scheme"]
        warnings.append(
            f"this model reads {scheme!r}-romanized text: give other tools romanized input "
            f"(`natiq text romanize --scheme {scheme}`)"
        )
    if frontend.get("diacritize") == "auto":
        warnings.append("it was trained with automatic diacritization: give fully diacritized text")
    return warnings


def build_model_folder(
    recipe: Recipe,
    *,
    model_dir: Path,
    evaluation: Path,
    training: dict[str, Any],
    data: dict[str, Any],
    out_dir: Path,
) -> Path:
    """``out_dir``: every file of the model folder (hard links) + ``README.md``; return the card."""
    from natiq.text import FRONTEND_FILENAME

    for source in sorted(model_dir.rglob("*")):
        relative = source.relative_to(model_dir)
        if source.is_file() and not any(part.startswith(".") for part in relative.parts):
            (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(source, out_dir / relative)

    def read(path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    frontend = read(model_dir / FRONTEND_FILENAME)
    yaml_name = None
    if recipe.backend == "pocket":
        from natiq.backends.pocket.export import export_yaml_of, stock_tool_warnings

        yaml_path = export_yaml_of(model_dir)
        yaml_name = yaml_path.name if yaml_path else None
        warnings = [w.rstrip(".") for w in stock_tool_warnings(model_dir)]
    else:
        warnings = _higgs_stock_warnings(frontend)
    text = render_card(
        recipe,
        evaluation=read(evaluation),
        frontend=frontend,
        training=training,
        data=data,
        voice=read(model_dir / DEFAULT_VOICE_INFO),
        yaml_name=yaml_name,
        stock_warnings=warnings,
    )
    card = out_dir / CARD_FILE
    atomic_write_text(card, text)
    return card
