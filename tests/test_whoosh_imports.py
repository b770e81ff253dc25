"""Whoosh loaded without what it imports and never uses (searchkit.whoosh_imports):
a real ``searchkit`` process never loads those modules, Whoosh still works, the real
modules still import, and the pinned Whoosh uses the stood-in names nowhere else."""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import whoosh

from searchkit.whoosh_imports import LOADED_WITH_STANDINS

from .cli_helpers import searchkit_exe
from .conftest import SAMPLE_DIR, SEED_PMID

#: What the stood-in modules would have loaded: none of it in a searchkit process.
NEVER_LOADED = {
    "urllib.request",
    "http.client",
    "email",
    "ssl",
    "asyncio",
    "cached_property",
    "whoosh.lang.morph_en",
}


def _imported(stderr: str) -> set[str]:
    """The modules a process run with ``PYTHONPROFILEIMPORTTIME`` imported."""
    return {
        line.rpartition("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _run_profiled(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    return subprocess.run(
        [searchkit_exe(), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_a_search_process_never_loads_the_modules_whoosh_imports_unused(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    done = _run_profiled(
        ["search", "immune escape MHC", "--index", str(sample_index_dir), "--format", "pmid"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == SEED_PMID
    imported = _imported(done.stderr)
    assert set(LOADED_WITH_STANDINS) <= imported  # Whoosh's modules were loaded
    assert not imported & NEVER_LOADED, sorted(imported & NEVER_LOADED)


def test_an_ingest_process_never_loads_them_either(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    source = SAMPLE_DIR / "pubmed-34572009-page.txt"
    done = _run_profiled(["ingest", str(source), "--index", str(index)], tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = _imported(done.stderr)
    assert {"whoosh.compat", "whoosh.reading"} <= imported
    assert not imported & NEVER_LOADED, sorted(imported & NEVER_LOADED)


_AFTER_A_SEARCH = """
import json, sys
from pathlib import Path
from searchkit import SearchIndex, search

index = SearchIndex.open(Path(sys.argv[1]))
hits = [hit.pmid for hit in search(index, "immune escape MHC", limit=3).hits]
index.close()
loaded = sorted(m for m in json.loads(sys.argv[4]) if m in sys.modules)
finders = [type(f).__name__ for f in sys.meta_path]

import urllib.request, cached_property
import whoosh.compat, whoosh.query.terms, whoosh.reading
from whoosh.lang.morph_en import variations

source, copy = Path(sys.argv[2]), Path(sys.argv[3])
whoosh.compat.urlretrieve(source.as_uri(), str(copy))  # the real one, imported now
print(json.dumps({
    "hits": hits,
    "loaded": loaded,
    "finders": finders,
    "urlopen": hasattr(urllib.request, "urlopen"),
    "cached_property": cached_property.cached_property.__module__,
    "deleted_docs_set": type(whoosh.reading.SegmentReader.deleted_docs_set).__module__,
    "variations": sorted(whoosh.query.terms.variations("running")) == sorted(variations("running")),
    "copied": copy.read_bytes() == source.read_bytes(),
}))
"""


def test_whoosh_works_and_the_real_modules_import_afterwards(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Through the Python API: the stand-ins are gone once Whoosh is loaded (the finder
    too), each deferred function calls the real one, and ``import urllib.request`` or
    ``cached_property`` elsewhere in the process gets the real module."""
    source = SAMPLE_DIR / "pubmed-34572009-page.txt"
    done = subprocess.run(
        [
            *(sys.executable, "-c", _AFTER_A_SEARCH, str(sample_index_dir), str(source)),
            *(str(tmp_path / "copy"), json.dumps(sorted(NEVER_LOADED))),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    found = json.loads(done.stdout)
    assert found["hits"][0] == SEED_PMID
    assert found["loaded"] == []
    assert "_StandInFinder" not in found["finders"]
    assert found["urlopen"] is True
    assert found["cached_property"] == "cached_property"  # the package, not a stand-in
    assert found["deleted_docs_set"] == "functools"
    assert found["variations"] is True
    assert found["copied"] is True


def test_nothing_is_stood_in_when_whoosh_came_first(sample_index_dir: Path) -> None:
    code = (
        "import sys, whoosh.reading, whoosh.compat, urllib.request\n"
        "from pathlib import Path\n"
        "from searchkit import SearchIndex, search\n"
        "assert whoosh.compat.urlretrieve is urllib.request.urlretrieve\n"
        "assert whoosh.reading.cached_property.__module__ == 'cached_property'\n"
        "assert not [f for f in sys.meta_path if type(f).__name__ == '_StandInFinder']\n"
        "index = SearchIndex.open(Path(sys.argv[1]))\n"
        "print(search(index, 'immune escape MHC', limit=1).hits[0].pmid)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(sample_index_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == SEED_PMID


def test_a_module_already_imported_is_not_stood_in_for() -> None:
    code = (
        "import urllib.request, searchkit, whoosh.compat, whoosh.reading\n"
        "assert whoosh.compat.urlretrieve is urllib.request.urlretrieve\n"
        "assert whoosh.reading.cached_property.__module__ == 'functools'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


# -- the pinned Whoosh uses the stood-in names nowhere else ------------------------------

#: Whoosh module -> (imported module, name, how the name may be used there).
EXPECTED_USES = {
    "whoosh.compat": ("urllib.request", "urlretrieve", "never"),
    "whoosh.reading": ("cached_property", "cached_property", "decorator"),
    "whoosh.query.terms": ("whoosh.lang.morph_en", "variations", "Variations"),
}


@functools.cache
def _whoosh_sources() -> dict[str, ast.Module]:
    """Every module of the installed Whoosh, parsed (the invalid escapes in some of its
    strings, a warning when parsed, are no concern here)."""
    root = Path(whoosh.__file__).parent
    trees = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trees[name] = ast.parse(path.read_text(encoding="utf-8"))
    return trees


def test_only_the_stood_in_modules_import_those_modules() -> None:
    stood_in = {imported for imported, _, _ in EXPECTED_USES.values()} | {"asyncio"}
    importers: dict[str, set[str]] = {}
    for name, tree in _whoosh_sources().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = {node.module}
            elif isinstance(node, ast.Import):
                modules = {alias.name for alias in node.names}
            else:
                continue
            for module in modules & stood_in:
                importers.setdefault(module, set()).add(name)
    # whoosh.compat's Python 2 branch imports urlretrieve from urllib, not urllib.request
    assert importers == {imported: {w} for w, (imported, _, _) in EXPECTED_USES.items()}
    assert set(EXPECTED_USES) == set(LOADED_WITH_STANDINS)


def _reads_of(name: str, defined_in: str) -> set[str]:
    """Where Whoosh's code outside ``defined_in`` reads ``name`` (a plain name or an
    attribute), each as ``module:how``: ``decorator``, or the class (else the function)
    it is read in."""
    found: set[str] = set()
    for module, tree in _whoosh_sources().items():
        if module == defined_in:
            continue
        scopes: dict[ast.AST, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef):
                for child in ast.walk(node):
                    scopes.setdefault(child, node.name)  # the outermost wins: walk is breadth-first
                for decorator in node.decorator_list:
                    scopes[decorator] = "decorator"
        for node in ast.walk(tree):
            named = isinstance(node, ast.Name) and node.id == name
            if named or (isinstance(node, ast.Attribute) and node.attr == name):
                found.add(f"{module}:{scopes.get(node, 'module level')}")
    return found


@pytest.mark.parametrize("module", sorted(EXPECTED_USES))
def test_the_stood_in_name_is_used_only_as_expected(module: str) -> None:
    imported, name, how = EXPECTED_USES[module]
    expected = set() if how == "never" else {f"{module}:{how}"}
    assert _reads_of(name, imported) == expected
