"""The model card of a real (not tiny) recipe: Hub metadata, figures, and how to load it."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import ModelCard
from markdown_it import MarkdownIt

from natiq.recipe.card import render_card
from natiq.recipe.config import load_recipe

EVALUATION = {
    "sets": {
        "held_out": {"count": 100, "corpus_cer": 0.0412, "corpus_wer": 0.15, "cer_mean": 0.05,
                     "speaker_similarity_mean": 0.81, "dnsmos_ovrl_mean": 3.21, "runaway_rate": 0.01},
        "test": {"count": 100, "corpus_cer": 0.0921, "corpus_wer": 0.3, "cer_mean": 0.1,
                 "speaker_similarity_mean": 0.78, "dnsmos_ovrl_mean": 3.05, "runaway_rate": 0.03,
                 "by_category": {"numbers": {"count": 10, "corpus_cer": 0.2, "corpus_wer": 0.4,
                                             "runaway_rate": 0.1}}},
    },
    "latency": {"sentences": 5, "device": "cpu", "threads": 2, "first_chunk_s_median": 0.094,
                "rtf_median": 0.31},
    "runaway_rule": {"min_ratio": 0.4, "max_ratio": 2.5},
    "asr_model": "packaged:base",
    "speaker_model": "resemblyzer",
}  # fmt: skip


def test_a_published_recipe_card_says_how_to_load_it_from_the_hub(tmp_path: Path) -> None:
    recipe = load_recipe("clartts-pocket", {"publish": {"repo": "someone/natiq-clartts"}})
    text = render_card(
        recipe,
        evaluation=EVALUATION,
        frontend={"scheme": None, "diacritics": "keep", "verbalize": True},
        training={"step": 6000, "losses": {"total": 0.4321}},
        data={"kept": 9500, "train": 9310, "val": 190, "hours": 11.93},
        voice={"chosen_by": "rule", "clip_id": "ch_1_12", "speaker": "clartts", "rule": "x"},
        yaml_name="natiq_clartts.yaml",
        stock_warnings=[
            "the model was trained with automatic diacritization, which stock tools lack"
        ],
    )
    path = tmp_path / "README.md"
    path.write_text(text, encoding="utf-8")
    card = ModelCard.load(path)
    assert card.data.base_model == "kyutai/pocket-tts"
    assert card.data.datasets == ["MBZUAI/ClArTTS"]
    assert card.data.license == "cc-by-4.0" and card.data.language == ["ar"]
    assert card.data.pipeline_tag == "text-to-speech"
    assert "classical-arabic" in card.data.tags
    html = MarkdownIt("commonmark").enable("table").render(card.text)
    assert ">4.1%</td>" in html and ">9.2%</td>" in html and ">0.810</td>" in html
    assert "On CPU (2 thread(s)" in html and "first audio after <strong>94 ms</strong>" in html
    assert "natiq speak --model hf://someone/natiq-clartts" in text
    assert "pocket-tts generate --config hf://someone/natiq-clartts/natiq_clartts.yaml" in text
    assert "- the model was trained with automatic diacritization, which stock tools lack." in text
    assert "`natiq text verbalize` prints them" in text
    assert "Run it in this folder" not in text  # published: hf:// paths
    assert (
        "the whole FlowLM (text embedding, transformer, flow head), in full" in text
        and "| EMA | 0.999 |" in text
    )
    assert "Not a real voice" not in text
