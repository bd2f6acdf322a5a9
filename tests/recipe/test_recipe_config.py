"""A recipe file is a typed model made of the stage configs; errors name the setting to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from natiq.cli.main import app
from natiq.common.errors import DataFormatError, RecipeError
from natiq.data.prepare import PrepareConfig
from natiq.eval.runner import EvalConfig
from natiq.recipe.config import RECIPES_DIR, load_recipe, shipped_recipes
from natiq.recipe.runner import prepared_recipe, run_recipe, with_tiny

REPO_ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def minimal(**sections: dict) -> dict:
    return {"name": "t", "prepare": {"manifest": "corpus.jsonl"}, "train": {}, **sections}


def test_the_shipped_recipes_load_and_recipes_is_that_folder() -> None:
    names = [p.stem for p in shipped_recipes()]
    assert names == ["clartts-higgs", "clartts-pocket", "clartts-pocket-lora", "demo"]
    assert (REPO_ROOT / "recipes").resolve() == RECIPES_DIR
    reference = load_recipe("clartts-pocket")
    train = reference.train
    assert (train.text_mode, train.use_lora, train.train_scope) == ("native", False, "full")
    assert (train.ema_decay, train.objective.loss, train.base) == (0.999, "lsd", "english")
    assert train.native_tokenizer == "char"
    assert reference.prepare.dataset == "clartts" and reference.prepare.text.romanize is None
    lora = load_recipe(RECIPES_DIR / "clartts-pocket-lora.yaml")
    assert (lora.train.text_mode, lora.train.scheme, lora.train.use_lora) == (
        "romanized",
        "arabizi",
        True,
    )
    assert lora.prepare.text.romanize == "arabizi"
    demo = load_recipe("demo")
    assert demo.tiny.enabled and isinstance(demo.prepare, PrepareConfig)
    assert isinstance(demo.evaluate.scoring, EvalConfig)
    assert Path(demo.prepare.manifest).is_file()  # natiq: resolved inside the package


def test_sections_are_the_stage_configs_with_their_own_validation(tmp_path: Path) -> None:
    bad_rate = write(tmp_path / "r.yaml", minimal(train={"learning_rate": -1}))
    with pytest.raises(DataFormatError, match=r"train\.learning_rate: Input should be greater"):
        load_recipe(bad_rate)
    unknown = write(tmp_path / "u.yaml", minimal(evaluate={"held_outt": 3}))
    with pytest.raises(DataFormatError, match=r"evaluate\.held_outt: unknown setting"):
        load_recipe(unknown)
    bad_text = write(
        tmp_path / "x.yaml", minimal(prepare={"manifest": "m", "text": {"diacritics": "kep"}})
    )
    with pytest.raises(DataFormatError, match=r"prepare\.text\.diacritics"):
        load_recipe(bad_text)
    combination = write(
        tmp_path / "c.yaml", minimal(train={"train_scope": "text", "use_lora": True})
    )
    with pytest.raises(DataFormatError, match="pass --no-lora"):
        load_recipe(combination)


def test_the_run_folder_owns_the_stage_paths(tmp_path: Path) -> None:
    for section, field in (("prepare", "output_dir"), ("train", "metadata"), ("train", "resume")):
        data = minimal()
        data[section] = {**data[section], field: "elsewhere"}
        with pytest.raises(
            DataFormatError, match=f"{section}.{field} is set by the recipe's run folder"
        ):
            load_recipe(write(tmp_path / f"{field}.yaml", data))
    recipe = load_recipe(write(tmp_path / "ok.yaml", minimal())).in_run_dir(tmp_path / "run")
    assert recipe.prepare.output_dir == tmp_path / "run" / "data"
    assert recipe.train.metadata == tmp_path / "run" / "latents" / "metadata_latents.jsonl"
    assert recipe.train.output_dir == tmp_path / "run" / "train"


def test_paths_resolve_against_the_recipe_folder_and_names_stay_names(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "base.yaml").write_text("x: 1\n", encoding="utf-8")
    recipe = load_recipe(
        write(
            folder / "r.yaml",
            minimal(prepare={"manifest": "../data/m.jsonl"}, train={"base": "base.yaml"}),
        )
    )
    assert recipe.prepare.manifest == tmp_path / "data" / "m.jsonl"
    assert recipe.train.base == str(folder / "base.yaml")
    named = load_recipe(
        write(
            folder / "n.yaml",
            {"name": "n", "prepare": {"dataset": "MBZUAI/ClArTTS"}, "train": {"base": "english"}},
        )
    )
    assert (named.prepare.dataset, named.train.base) == ("MBZUAI/ClArTTS", "english")


def test_tiny_swaps_the_base_and_shrinks_data_steps_and_evaluation(tmp_path: Path) -> None:
    run = tmp_path / "run"
    recipe = prepared_recipe(with_tiny(load_recipe("clartts-pocket")), run)
    assert recipe.train.base == str(run / "base" / "tiny.yaml")
    assert (recipe.train.max_steps, recipe.train.save_steps, recipe.train.device) == (12, 4, "cpu")
    assert recipe.train.native_tokenizer == "char"  # a few utterances cannot fill 4000 BPE pieces
    assert (recipe.train.use_lora, recipe.train.ema_decay) == (False, 0.999)  # the recipe's own
    assert recipe.prepare.limit == 24
    assert (recipe.evaluate.held_out, recipe.evaluate.test_limit) == (2, 3)
    assert recipe.publish.dry_run is True  # a tiny model is never uploaded


def test_stage_names_are_checked_before_anything_runs(tmp_path: Path) -> None:
    recipe = load_recipe("demo")
    with pytest.raises(RecipeError, match="--to bogus: no such stage"):
        run_recipe(recipe, run_dir=tmp_path / "a", to_stage="bogus", log=lambda _: None)
    with pytest.raises(RecipeError, match="--to prepare comes before --from train"):
        run_recipe(recipe, run_dir=tmp_path / "b", from_stage="train", to_stage="prepare")
    real = load_recipe("clartts-pocket")
    with pytest.raises(RecipeError, match="base exists only with --tiny"):
        run_recipe(real, run_dir=tmp_path / "c", from_stage="base")
    assert not (tmp_path / "a" / ".recipe").exists()


def test_recipe_list_shows_the_shipped_recipes() -> None:
    result = CliRunner().invoke(app, ["recipe", "list"], catch_exceptions=False)
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "clartts-higgs",
        "clartts-pocket",
        "clartts-pocket-lora",
        "demo",
    ]


def test_an_unknown_recipe_names_the_shipped_ones() -> None:
    with pytest.raises(
        DataFormatError, match="clartts-higgs, clartts-pocket, clartts-pocket-lora, demo"
    ):
        load_recipe("nope")


def test_the_higgs_recipe_chains_chatml_codes_train_and_merge_in_the_run_folder(
    tmp_path: Path,
) -> None:
    recipe = load_recipe("clartts-higgs")
    assert (recipe.backend, recipe.MODEL_STAGE, recipe.merge.dtype) == ("higgs", "merge", "bf16")
    assert recipe.card.license == "other" and recipe.card.license_name
    run = tmp_path / "run"
    placed = recipe.in_run_dir(run)
    assert placed.chatml.metadata == run / "data" / "metadata.jsonl"
    assert (placed.chatml.output, placed.chatml.split) == (run / "codes" / "train.jsonl", "train")
    assert placed.train.chatml == run / "codes" / "train.jsonl"
    assert placed.train.codes_dir == run / "codes" / "codes"
    assert placed.train.frontend_config == run / "codes" / "natiq_frontend.json"
    assert placed.train.output_dir == run / "train"
    tiny = prepared_recipe(with_tiny(recipe), run)
    assert tiny.train.model == str(run / "base")
    assert (tiny.train.max_steps, tiny.train.device, tiny.merge.dtype) == (12, "cpu", "fp32")
    assert tiny.evaluate.latency_device == "cpu"
    data = {
        "name": "h",
        "backend": "higgs",
        "prepare": {"manifest": "m"},
        "train": {"codes_dir": "x"},
    }
    with pytest.raises(
        DataFormatError, match=r"train\.codes_dir is set by the recipe's run folder"
    ):
        load_recipe(write(tmp_path / "h.yaml", data))
    with pytest.raises(DataFormatError, match="backend 'bark' has no recipe; use pocket or higgs"):
        load_recipe(write(tmp_path / "b.yaml", {**data, "backend": "bark"}))
