"""The package's layout: every module sits in one stage of the data's path, and no
module imports a later stage (issue 19). A new module must be placed in a stage here
before it can land."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import searchkit
from searchkit.cli import app

from .test_cli import _searchkit_exe

runner = CliRunner()

PACKAGE = Path(searchkit.__file__).parent

# The data's path, first to last: a module may import its own stage and earlier ones.
STAGES = (
    "ground",  # records, items, errors, params, atomic, crc, version, packaged, whoosh_imports, …
    "readers",
    "analysis",
    "engine",
    "index",
    "query",
    "searching",
    "semantic",
    "solr",  # a SolrCloud collection as the index: after the local pipeline it mirrors
    "output",
    "cli",
    "api",  # __init__, __main__ and api.py: the documented entry points, every stage plugged in
)
GROUND = {
    "records", "items", "errors", "params", "atomic", "crc", "packaged", "version",
    "whoosh_imports", "plural",
}  # fmt: skip


def _stage(module: str) -> str:
    """The stage of a dotted module name inside the package."""
    parts = module.split(".")
    assert parts[0] == "searchkit", module
    if len(parts) == 1 or parts[1] in {"__init__", "__main__", "api"}:
        return "api"
    if parts[1] in GROUND:
        return "ground"
    if parts[1] in STAGES:
        return parts[1]
    raise AssertionError(f"{module} belongs to no stage: place it in tests/test_layout.py")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name.removesuffix(".__init__")
        found.append((name, path))
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every searchkit module ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "searchkit"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if module.split(".")[0] != "searchkit":
                continue
            found.add(module)
            for alias in node.names:  # "from searchkit.index import schema": a module
                folder = PACKAGE.parent / module.replace(".", "/")
                if (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir():
                    found.add(f"{module}.{alias.name}")
    return found


def test_every_module_is_in_a_stage() -> None:
    for name, _ in _modules():
        _stage(name)


@pytest.mark.parametrize(("name", "path"), _modules(), ids=lambda v: str(v))
def test_no_module_imports_a_later_stage(name: str, path: Path) -> None:
    mine = STAGES.index(_stage(name))
    upward = sorted(
        f"{imported} ({_stage(imported)})"
        for imported in _imports(name, path)
        if STAGES.index(_stage(imported)) > mine
    )
    assert not upward, f"{name} ({_stage(name)}) imports a later stage: {', '.join(upward)}"


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The check itself: an import inside a function counts as much as one at the top."""
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from searchkit.cli import app\n    from .. import output\n",
        encoding="utf-8",
    )
    found = _imports("searchkit.engine.m", source)
    assert "searchkit.cli" in found
    assert "searchkit.output" in found


# -- the format version: an index of the previous layout --------------------------

OLD_INDEX = Path(__file__).parent / "indexes" / "format-5"
SEED_PAGE = Path(__file__).parent.parent / "data" / "pubmed-34572009-page.txt"


def _old_index(tmp_path: Path) -> Path:
    """A copy of an index written by searchkit before the package was laid out by
    stage (format 5: its pickled schema names classes at their old import paths),
    its recorded source pointed at this checkout's copy of the same file."""
    index = tmp_path / "old"
    shutil.copytree(OLD_INDEX, index)
    sources = json.loads((index / "sources.json").read_text(encoding="utf-8"))
    (entry,) = sources["sources"].values()
    entry["path"] = str(SEED_PAGE)
    sources["sources"] = {str(SEED_PAGE): entry}
    (index / "sources.json").write_text(json.dumps(sources), encoding="utf-8")
    return index


@pytest.mark.slow
def test_an_index_of_the_old_format_is_one_error_line_naming_rebuild(tmp_path: Path) -> None:
    index = _old_index(tmp_path)
    for args in (["search", "immune"], ["stats"], ["show", "34572009"]):
        result = subprocess.run(
            [_searchkit_exe(), *args, "--index", str(index)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: ")
        assert f"searchkit rebuild --index {index}" in lines[0]
        assert "format version 5" in lines[0]


def test_rebuild_makes_an_old_index_current(tmp_path: Path) -> None:
    index = _old_index(tmp_path)
    result = runner.invoke(app, ["rebuild", "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    found = runner.invoke(
        app, ["search", "immune privilege", "--format", "pmid", "--index", str(index)]
    )
    assert found.exit_code == 0, found.stderr
    assert found.stdout.split() == ["34572009"]
