"""The house's layering, read from the imports (ast) of every module of autograder/.

- the leaf type modules (limits, verdicts, calls, lateness, wire, results) import only each other;
- no module of sandbox/ imports grading rules (suites, runner, standins, reference, ...): the
  sandbox imports the leaves and itself, and is handed the stand-in rule by whoever opens it;
- config imports no sandbox, directly or not (nbgrader reads course.yml on every command);
- each verb's module (grade, collect, export, gradescope, regrade, assign, template) is the only place
  that knows its verb: no other module imports one, and cli.py only parses and dispatches;
- README's layout section names every module there is.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "autograder"
LEAVES = {"limits", "verdicts", "calls", "lateness", "wire", "results"}
VERBS = {"grade", "collect", "export", "gradescope", "regrade", "assign", "template"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(module: str) -> set[str]:
    """The modules of autograder that ``module`` imports anywhere in it (functions included)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = f"{base}.{node.module}" if node.level and node.module else base if node.level else node.module
            submodules = {f"{base}.{a.name}" for a in node.names} & MODULES.keys()
            found |= submodules if len(submodules) == len(node.names) else submodules | {base}
    return {m for m in found if m in MODULES and m != module}


def reachable(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for m in imports(todo.pop()) - seen:
            seen.add(m)
            todo.append(m)
    return seen


def short(names: set[str]) -> set[str]:
    return {n.removeprefix("autograder.") for n in names}


def test_the_import_reader_sees_what_is_there():
    assert short(imports("autograder.results")) == {"lateness", "verdicts", "wire"}
    assert short(imports("autograder.sandbox.client")) >= {"wire", "calls", "sandbox.jail", "sandbox.process"}
    assert "autograder.suites.framework" in imports("autograder.suites.gradients")


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaf_type_modules_import_only_leaves(leaf):
    assert short(imports(f"autograder.{leaf}")) <= LEAVES


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("autograder.sandbox")))
def test_the_sandbox_imports_no_grading_rules(module):
    outside = {m for m in reachable(module) if not m.startswith("autograder.sandbox")}
    assert short(outside) <= LEAVES, short(outside - {f"autograder.{leaf}" for leaf in LEAVES})


def test_config_imports_no_sandbox():
    assert not {m for m in reachable("autograder.config") if m.startswith("autograder.sandbox")}


def test_only_cli_reaches_the_verbs_and_it_holds_none():
    for module in MODULES:
        verbs = short(imports(module)) & VERBS
        assert not verbs, f"{module} imports the verb module(s) {verbs}"
    cli = ast.parse(MODULES["autograder.cli"].read_text())
    assert {f.name for f in cli.body if isinstance(f, ast.FunctionDef)} == {"build_parser", "main"}
    parser = importlib.import_module("autograder.cli").build_parser()
    (choices,) = [a.choices for a in parser._subparsers._group_actions]
    assert set(choices) == VERBS
    for verb in VERBS:
        assert callable(importlib.import_module(f"autograder.{verb}").run), verb


def test_the_readme_layout_names_every_module():
    """README's "module by module" section names each module of autograder/, and only those."""
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme[readme.index("### `autograder/`, module by module") :].split("\n## ", 1)[0]
    named = set(re.findall(r"`([a-z_]+\.py)`", section)) - {"__init__.py"}
    files = {p.name for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert named == files
