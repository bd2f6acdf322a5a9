"""A recipe's train.lexicon: resolved against the recipe's folder, and its content is an input
of the train stage (an edited lexicon trains again)."""

from __future__ import annotations

from pathlib import Path

import yaml

from natiq.recipe.config import load_recipe
from natiq.recipe.pocket_stages import TrainStage
from natiq.recipe.stages import RunContext


def test_a_recipe_lexicon_is_a_path_beside_the_recipe_and_an_input_of_training(
    tmp_path: Path,
) -> None:
    lexicon = tmp_path / "names.tsv"
    lexicon.write_text("محمد\tmuHam~ad\n", encoding="utf-8")
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        yaml.safe_dump(
            {
                "name": "t",
                "prepare": {"manifest": "corpus.jsonl"},
                "train": {"lexicon": "names.tsv"},
            }
        ),
        encoding="utf-8",
    )
    recipe = load_recipe(recipe_file)
    assert recipe.train.lexicon == lexicon.resolve()
    context = RunContext(recipe=recipe, run_dir=tmp_path / "run")
    before = TrainStage().external_inputs(context)["lexicon"]
    lexicon.write_text("محمد\tmaHomuwd\n", encoding="utf-8")
    assert TrainStage().external_inputs(context)["lexicon"] != before
