"""The runner's rules on small real stages: skip what is unchanged, resume what was cut, redo
what changed (and everything after it), and refuse a --from whose earlier stages are stale."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from natiq.common.errors import RecipeError
from natiq.recipe.config import load_recipe
from natiq.recipe.runner import run_stages
from natiq.recipe.stages import RunContext, Stage
from natiq.recipe.state import RunState, fingerprint


class Interrupted(Exception):
    pass


class TextStage(Stage):
    """Two steps of work: ``first.txt`` (its setting), then ``out.txt`` (that + what it reads)."""

    def __init__(self, name: str, reads: tuple[str, ...] = (), value: str = "v") -> None:
        self.name, self.folder, self.reads, self.value = name, name, reads, value
        self.calls: list[bool] = []  # the resume flag of each run
        self.first_writes = 0
        self.interrupt = False

    def settings(self, ctx: RunContext) -> dict[str, Any]:
        return {"value": self.value}

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        self.calls.append(resume)
        out = self.output_dir(ctx)
        out.mkdir(parents=True, exist_ok=True)
        first = out / "first.txt"
        if not (resume and first.is_file()):
            first.write_text(self.value)
            self.first_writes += 1
        if self.interrupt:
            self.interrupt = False
            raise Interrupted
        upstream = "".join(ctx.path(name, "out").read_text() for name in self.reads)
        (out / "out.txt").write_text(first.read_text() + upstream)
        return {"out": ctx.relative(out / "out.txt")}


class Unconfigured(Stage):
    name, folder = "publish", "publish"

    def nothing_to_do(self, ctx: RunContext) -> str | None:
        return "no repository"

    def run(self, ctx: RunContext, *, resume: bool) -> dict[str, Any]:
        raise AssertionError("a stage with nothing to do is recorded, never run")


@pytest.fixture
def chain(tmp_path: Path) -> tuple[list[Stage], callable]:
    stages: list[Stage] = [
        TextStage("a"),
        TextStage("b", reads=("a",)),
        TextStage("c", reads=("b",)),
        Unconfigured(),
    ]
    recipe = load_recipe("demo")
    logs: list[str] = []

    def run(**kwargs: Any) -> dict[str, str]:
        logs.clear()
        ctx = RunContext(recipe=recipe, run_dir=tmp_path, log=logs.append)
        report = run_stages(stages, ctx, **kwargs)
        return {**report.actions(), "log": "\n".join(logs)}

    return stages, run


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_a_second_run_skips_every_stage_and_writes_nothing(chain, tmp_path: Path) -> None:
    stages, run = chain
    first = run()
    assert [first[s.name] for s in stages] == ["ran", "ran", "ran", "nothing to do"]
    assert (tmp_path / "c" / "out.txt").read_text() == "vvv"
    before = tree(tmp_path)
    again = run()
    assert [again[s.name] for s in stages] == ["skipped", "skipped", "skipped", "nothing to do"]
    assert tree(tmp_path) == before
    assert [len(s.calls) for s in stages[:3]] == [1, 1, 1]


def test_a_changed_setting_redoes_its_stage_and_the_later_ones_only(chain, tmp_path: Path) -> None:
    stages, run = chain
    run()
    stages[1].value = "w"
    again = run()
    assert [again[n] for n in "abc"] == ["skipped", "ran", "ran"]
    assert "[b] changed since its last run (settings.value): its folder is cleared" in again["log"]
    assert "[c] changed since its last run (input stage b)" in again["log"]
    assert (tmp_path / "c" / "out.txt").read_text() == "vwv"


def test_outputs_changed_on_disk_are_made_again(chain, tmp_path: Path) -> None:
    _, run = chain
    run()
    (tmp_path / "b" / "out.txt").write_text("edited by hand")
    again = run()
    # b is made again; its output is what it was, so c (which reads it) stays as it is
    assert [again[n] for n in "abc"] == ["skipped", "ran", "skipped"]
    assert "[b] its outputs changed on disk since it ran" in again["log"]
    assert (tmp_path / "b" / "out.txt").read_text() == "vv"
    (tmp_path / "a" / "first.txt").unlink()
    third = run()
    assert [third[n] for n in "abc"] == ["ran", "skipped", "skipped"]


def test_an_interrupted_stage_resumes_its_own_work(chain, tmp_path: Path) -> None:
    stages, run = chain
    stages[1].interrupt = True
    with pytest.raises(Interrupted):
        run()
    assert RunState(tmp_path).load("b").status == "running"
    assert RunState(tmp_path).load("c") is None
    again = run()
    assert [again[n] for n in "abc"] == ["skipped", "resumed", "ran"]
    assert stages[1].calls == [False, True] and stages[1].first_writes == 1
    assert (tmp_path / "c" / "out.txt").read_text() == "vvv"


def test_from_redoes_a_stage_and_needs_the_earlier_ones_current(chain, tmp_path: Path) -> None:
    stages, run = chain
    with pytest.raises(RecipeError, match="stage a has not finished"):
        run(first=1, from_stage="b")
    run()
    forced = run(first=1, from_stage="b")
    assert [forced[n] for n in "abc"] == ["kept", "ran", "ran"]
    stages[0].value = "changed"
    with pytest.raises(RecipeError, match=r"stage a changed since it ran \(settings.value\)"):
        run(first=1, from_stage="b")


def test_the_state_fingerprint_sees_names_sizes_and_small_file_contents(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}')
    (folder / "w.bin").write_bytes(b"\0" * 10)
    (folder / ".hidden").write_text("ignored")
    first = fingerprint(folder)
    (folder / ".hidden").write_text("still ignored")
    assert fingerprint(folder) == first
    (folder / "a.json").write_text('{"x": 1}')  # rewritten, same content
    assert fingerprint(folder) == first
    (folder / "a.json").write_text('{"x": 2}')
    assert fingerprint(folder) != first
    assert fingerprint(tmp_path / "missing") == "missing"
