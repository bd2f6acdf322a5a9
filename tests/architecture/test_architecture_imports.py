"""natiq's import graph: no cycles, and imports flow only downward through the layers.

The graph is read from the source with ``ast`` (every ``import`` statement,
including those inside functions and under ``TYPE_CHECKING``), so a lazy
import cannot hide an upward dependency. The layers and the few extra rules
are documented in docs/architecture.md ("The import rule").
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

# Lowest first; a module may import its own layer and the layers before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("natiq.common",),
    ("natiq.text",),
    ("natiq.data",),
    ("natiq.training",),
    ("natiq.backends",),
    ("natiq.synthesizer",),
    ("natiq.speak",),
    ("natiq.eval",),
    ("natiq.publish",),
    ("natiq.serve",),
    ("natiq.recipe",),
    ("natiq.cli",),
)
# ``natiq`` itself only exposes the Synthesizer lazily; anything may import it.
ROOT = "natiq"
# (importer prefix, imported prefix) pairs that are forbidden although the layers allow them.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("natiq.backends.pocket", "natiq.backends.higgs", "sibling backends stay independent"),
    ("natiq.backends.higgs", "natiq.backends.pocket", "sibling backends stay independent"),
    ("natiq.serve", "natiq.training", "serving never needs the training loop"),
    ("natiq.speak", "natiq.training", "speaking never needs the training loop"),
    ("natiq.synthesizer", "natiq.training", "speaking never needs the training loop"),
)
TRAINER_MODULES = ("trainer", "train_config")
# Third-party packages a layer must not import at all (any depth, any place).
HEAVY = ("torch", "torchaudio", "numpy", "scipy", "transformers", "pocket_tts", "peft",
         "accelerate", "safetensors", "soundfile", "soxr", "datasets", "onnxruntime")  # fmt: skip
NO_HEAVY_IMPORTS = ("natiq.text", "natiq.common")
HEAVY_ALLOWED = {"natiq.common.runtime": ("torch",)}  # device and precision choice


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported natiq module, or a third-party top-level package
    line: int


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted((SRC / "natiq").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in sorted(ast.walk(tree), key=lambda n: getattr(n, "lineno", 0)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, _known(alias.name, modules), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                target = candidate if candidate in modules else module
                yield Import(name, _known(target, modules), node.lineno)


def _known(target: str, modules: dict[str, Path]) -> str:
    """A natiq module as named, else the third-party top-level package."""
    if target == ROOT or target.startswith(ROOT + "."):
        while target not in modules:
            target = target.rpartition(".")[0]
        return target
    return target.split(".")[0]


def import_graph() -> list[Import]:
    modules = module_names()
    return [found for name, path in modules.items() for found in imports_of(name, path, modules)]


def layer_of(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def natiq_edges(graph: list[Import]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for found in graph:
        if _within(found.target, ROOT) and found.target != found.source:
            edges.setdefault(found.source, set()).add(found.target)
    return edges


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return cycles


def violations(graph: list[Import]) -> list[str]:
    """Every import that breaks a rule, as ``module:line -> target (why)``."""
    found = []
    for imp in graph:
        where = f"{imp.source}:{imp.line} -> {imp.target}"
        if _within(imp.target, ROOT):
            if imp.target == ROOT or imp.source == ROOT:
                continue
            source_layer, target_layer = layer_of(imp.source), layer_of(imp.target)
            if source_layer is None or target_layer is None:
                found.append(f"{where} (module in no layer: add it to LAYERS)")
            elif target_layer > source_layer:
                found.append(
                    f"{where} (upward: {LAYERS[target_layer][0]} is above {LAYERS[source_layer][0]})"
                )
            for importer, imported, why in FORBIDDEN:
                if _within(imp.source, importer) and _within(imp.target, imported):
                    found.append(f"{where} ({why})")
            if (
                not _within(imp.source, "natiq.cli")
                and not _within(imp.source, "natiq.recipe")
                and not _within(imp.source, "natiq.training")
                and imp.target.rpartition(".")[2] in TRAINER_MODULES
                and not _within(imp.source, imp.target.rpartition(".")[0])
            ):
                found.append(f"{where} (a trainer's internals are for its backend and the CLI)")
        elif (
            any(_within(imp.source, p) for p in NO_HEAVY_IMPORTS)
            and imp.target in HEAVY
            and imp.target not in HEAVY_ALLOWED.get(imp.source, ())
        ):
            found.append(f"{where} ({imp.source.split('.')[1]} must stay free of model libraries)")
    return found


# ----- the rules hold for natiq
def test_the_import_graph_has_no_cycles() -> None:
    assert find_cycles(natiq_edges(import_graph())) == []


def test_imports_flow_downward_through_the_layers() -> None:
    assert violations(import_graph()) == []


def test_every_module_has_a_layer() -> None:
    assert [m for m in module_names() if m != ROOT and layer_of(m) is None] == []


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("natiq.text", ("torch", "numpy")),
        ("natiq.common.rows", ("torch", "numpy")),
        ("natiq.data.manifest", ("torch",)),
        ("natiq.backends.base", ("torch",)),
        ("natiq", ("torch", "numpy", "natiq.synthesizer")),
    ],
)
def test_importing_a_light_module_loads_no_model_library(module: str, absent: tuple) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SRC
    )
    assert result.stdout.strip() == "[]"


# ----- the checker catches what it is meant to catch
def test_a_function_level_and_a_relative_import_are_both_seen(tmp_path: Path) -> None:
    source = tmp_path / "natiq" / "text" / "late.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "def f():\n    from natiq.serve import app\n\nfrom ..common import errors\n"
        "import torch.nn\n",
        encoding="utf-8",
    )
    modules = {
        "natiq.text.late": source,
        "natiq.serve.app": source,
        "natiq.common.errors": source,
        "natiq.common": source,
    }
    found = list(imports_of("natiq.text.late", source, modules))
    assert [(i.target, i.line) for i in found] == [
        ("natiq.serve.app", 2),
        ("natiq.common.errors", 4),
        ("torch", 5),
    ]
    assert violations(found) == [
        "natiq.text.late:2 -> natiq.serve.app (upward: natiq.serve is above natiq.text)",
        "natiq.text.late:5 -> torch (text must stay free of model libraries)",
    ]


def test_a_cycle_and_the_extra_rules_are_reported() -> None:
    edges = {"natiq.eval.a": {"natiq.eval.b"}, "natiq.eval.b": {"natiq.eval.c"},
             "natiq.eval.c": {"natiq.eval.a"}, "natiq.eval.d": {"natiq.eval.a"}}  # fmt: skip
    assert find_cycles(edges) == [["natiq.eval.a", "natiq.eval.b", "natiq.eval.c"]]
    graph = [
        Import("natiq.backends.pocket.synthesis", "natiq.backends.higgs.cloning", 3),
        Import("natiq.serve.state", "natiq.backends.pocket.trainer", 4),
        Import("natiq.backends.pocket.export", "natiq.backends.pocket.train_config", 5),
        Import("natiq.cli.pocket", "natiq.backends.pocket.trainer", 6),
        Import("natiq.common.runtime", "torch", 7),
    ]
    assert violations(graph) == [
        "natiq.backends.pocket.synthesis:3 -> natiq.backends.higgs.cloning (sibling backends stay independent)",
        "natiq.serve.state:4 -> natiq.backends.pocket.trainer (a trainer's internals are for its backend and the CLI)",
    ]  # fmt: skip
