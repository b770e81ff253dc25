"""A command loads only what it runs (issue 20): the help of the command line imports
none of the library's heavy dependencies, so that its start-up stays that of a small
typer program (BENCHMARKS.md, "Start-up"). Checked in real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_cli import _searchkit_exe

#: Packages the help must not import (top-level names).
HEAVY = ("numpy", "lxml", "whoosh", "nltk", "rich", "regex", "onnxruntime", "tokenizers")
#: Stages of searchkit the help must not import.
LIBRARY = (
    "searchkit.engine",
    "searchkit.index.searchindex",
    "searchkit.query",
    "searchkit.searching.search",
    "searchkit.semantic.stage",
    "searchkit.output",
    "searchkit.readers",
    "searchkit.analysis",
)


def _imported(*args: str, usage: bool = True) -> set[str]:
    """The modules the ``searchkit`` console script imports running ``ARGS``
    (``python -X importtime``)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", _searchkit_exe(), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("Usage: searchkit") or not usage
    return {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["ingest", "--help"]])
def test_help_imports_no_heavy_dependency(args: list[str]) -> None:
    modules = _imported(*args)
    assert "searchkit.cli" in modules  # the measure sees the package's imports
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []
    library = sorted(m for m in modules if m.startswith(LIBRARY))
    assert library == []


#: What a search of a local index must not load: the readers and their XML parser,
#: the writers, the Solr client and its HTTP stack, the encoder's runtime.
NOT_FOR_A_SEARCH = (
    "lxml",
    "requests",
    "urllib3",
    "onnxruntime",
    "tokenizers",
    "searchkit.readers",
    "searchkit.index.ingest",
    "searchkit.index.rebuild",
    "searchkit.engine.segment_writer",
    "searchkit.solr.backend",
    "searchkit.solr.client",
)


@pytest.mark.slow
def test_a_local_search_loads_no_reader_writer_or_solr_client(sample_index_dir: Path) -> None:
    modules = _imported(
        "search", "immune escape", "--index", str(sample_index_dir), "-f", "pmid", usage=False
    )
    assert "searchkit.searching.search" in modules
    loaded = [m for m in modules for name in NOT_FOR_A_SEARCH if m in (name, f"{name}.")]
    loaded += [m for m in modules for name in NOT_FOR_A_SEARCH if m.startswith(f"{name}.")]
    assert sorted(loaded) == []
