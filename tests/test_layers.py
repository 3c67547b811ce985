"""The layers of ``bot/`` import one way only, and no module imports itself back through others.

Imports are read from the source with ``ast`` (every ``import`` statement, inside functions and under
``TYPE_CHECKING`` included), so a cycle hidden behind a type-checking import fails here too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

# Each package's rank: a module may import only from lower ranks, from its own package, and from the
# leaves. Packages of one rank are side by side and do not import each other, except where listed.
RANKS: dict[str, float] = {
    "bot.store": 0,
    "bot.db": 1,
    "bot.render": 2,
    "bot.content": 3,
    "bot.guilds": 3,
    "bot.digests": 3,
    "bot.ops": 3,
    "bot.feeds": 3,
    "bot.alerts": 3,
    "bot.follows": 3,
    "bot.delivery": 1.5,  # the exactly-once design digests and alerts share (nonce, marker, finding a message)
    "bot.panel": 4,  # the web pages: adapters over the services, reading the bot through a Protocol
    "bot.app": 5,
    "bot.modules": 6,
    "bot.demo": 7,
    "bot.cli": 8,
    "bot.__main__": 9,
    "bot.healthcheck": 9,
}
# Leaves anyone may import; they import only each other.
LEAVES = {"bot", "bot.settings", "bot.errors", "bot.logs", "bot.actors"}
# Same-rank imports that are part of the design (from -> to).
SIDEWAYS = {
    ("bot.follows", "bot.alerts"),  # follows share the alerts' keyword language, matcher and queue
    ("bot.follows", "bot.digests"),  # personal digests use the digests' schedule rules
    ("bot.guilds", "bot.digests"),  # a backup's digests follow the digest rules
    ("bot.guilds", "bot.alerts"),  # a backup's alerts follow the alert rules
}
# Modules of pure rules (limits, ranges) that import nothing of ours: the database layer may import
# them too, so a migration's CHECK and the command read one definition (tested against each other).
RULES = {"bot.alerts.rules", "bot.digests.limits", "bot.follows.rules"}
# Only the demo (which runs the bot against it) and entry points may import the emulator.
EMULATOR_USERS = {"bot.demo", "bot.cli"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in BOT.rglob("*.py") if "spec" not in p.parts}


def imports(path: Path, name: str) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield f"{base}.{alias.name}"


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The module of ours that ``target`` (a module or ``module.attribute``) names, if any."""
    while target:
        if target in known:
            return target
        target = target.rpartition(".")[0]
    return None


def graph() -> dict[str, set[str]]:
    known = modules()
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        found = {resolve(t, known) for t in imports(path, name) if t == "bot" or t.startswith("bot.")}
        edges[name] = {t for t in found if t and t != name}
    return edges


def owner(module: str) -> str:
    """The layer a module belongs to: its package in RANKS, a leaf, or itself."""
    if module in LEAVES:
        return module
    for package in sorted(RANKS, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    if module == "bot.emulator" or module.startswith("bot.emulator."):
        return "bot.emulator"
    return module


def test_every_module_belongs_to_a_layer() -> None:
    stray = sorted(
        m for m in modules() if owner(m) not in RANKS and owner(m) not in LEAVES and owner(m) != "bot.emulator"
    )
    assert stray == [], f"modules outside every layer (add them to a package or to RANKS): {stray}"


def test_imports_point_down() -> None:
    wrong = []
    for source, targets in graph().items():
        src = owner(source)
        for target in targets:
            dst = owner(target)
            if src in LEAVES and target in RULES:
                continue
            if src == dst or (dst in LEAVES and (src in LEAVES or src != "bot.emulator")):
                if src in LEAVES and dst not in LEAVES:
                    wrong.append(f"{source} -> {target} (a leaf imports a layer)")
                continue
            if src == "bot.emulator" or (dst == "bot.emulator" and src not in EMULATOR_USERS):
                wrong.append(f"{source} -> {target} (the emulator stands alone)")
                continue
            if src in LEAVES:
                wrong.append(f"{source} -> {target} (a leaf imports a layer)")
                continue
            if dst == "bot.emulator":
                continue
            if RANKS[dst] < RANKS[src] or (src, dst) in SIDEWAYS or target in RULES:
                continue
            wrong.append(f"{source} -> {target} ({src} may not import {dst})")
    assert wrong == [], "imports against the layers:\n" + "\n".join(sorted(wrong))


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    edges = graph()
    # A package's __init__ importing its own submodules is not a cycle a reader trips over.
    for name in list(edges):
        edges[name] = {
            t for t in edges[name] if not (t.startswith(name + ".") and modules()[name].name == "__init__.py")
        }
    assert find_cycle(edges) is None, f"import cycle: {' -> '.join(find_cycle(edges) or [])}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [({"a": {"b"}, "b": {"a"}}, True), ({"a": {"b"}, "b": {"c"}, "c": set()}, False), ({"a": {"a"}}, True)],
)
def test_cycle_finder_finds_cycles(edges: dict[str, set[str]], expected: bool) -> None:
    assert (find_cycle(edges) is not None) is expected


def test_the_content_layer_runs_without_discord() -> None:
    # The catalog and the index run in worker processes too; importing discord.py there would cost
    # every worker its start-up time for nothing.
    names = sorted(m for m in modules() if owner(m) in {"bot.store", "bot.db", "bot.content"})
    code = f"import sys\nfor name in {names!r}:\n    __import__(name)\nprint('discord' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", "a module of bot.store, bot.db or bot.content imports discord"
