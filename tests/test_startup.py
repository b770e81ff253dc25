"""A command loads only what it runs (issue 20): the help of the command line imports
none of the library's heavy dependencies, so that its start-up stays that of a small
typer program (BENCHMARKS.md, "Start-up"). Checked in real processes."""

from __future__ import annotations

import gc
import os
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
    "searchkit.index.batch",
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
#: the writers and the source registry, the Solr client and its HTTP stack, the
#: encoder's runtime, the wildcard matching of a query without wildcards; pydantic
#: (typer 0.29 converted every option through it) and numpy's masked arrays (the
#: first ``np.unique`` call imports them); ``filelock`` (on POSIX a lock is the standard
#: library's ``flock``; filelock 4 imports ``secrets``, ``logging`` and ``decimal``) and
#: ``secrets`` (with ``hmac``: a temporary file's name needs only ``os.urandom``).
NOT_FOR_A_SEARCH = (
    "pydantic",
    "filelock",
    "secrets",
    "numpy.ma",
    "lxml",
    "requests",
    "urllib3",
    "onnxruntime",
    "tokenizers",
    "searchkit.readers",
    "searchkit.index.ingest",
    "searchkit.index.rebuild",
    "searchkit.index.sources",
    "searchkit.query.wildcards",
    "searchkit.engine.segment_writer",
    "searchkit.engine.field_indexers",
    "searchkit.engine.term_writer",
    "searchkit.solr.backend",
    "searchkit.solr.client",
    # What only some searches, or other commands, use: a Solr address parsed, the MeSH
    # tree (an exploding [mh]), the exports, the writers' batch, the other commands'
    # modules, importlib.resources' readers (zipfile); what readers yield besides
    # records and the whole-index check (frozen dataclasses cost a start to create).
    "searchkit.items",
    "searchkit.engine.verify",
    "searchkit.solr.address",
    "searchkit.index.meshtree",
    "searchkit.index.meshwords",
    "searchkit.output.citations",
    "searchkit.index.batch",
    "searchkit.cli.ingest",
    "searchkit.cli.embed",
    "searchkit.cli.evaluate",
    "searchkit.cli.mesh",
    "searchkit.cli.solr",
    "importlib.resources",
    "zipfile",
)
#: The semantic stage (its encoder, models and vector store): loaded only for an index
#: that has sentence vectors (``searchkit embed``) or when ``--semantic`` asks for it.
SEMANTIC_STAGE = (
    "searchkit.semantic.stage",
    "searchkit.semantic.vectors",
    "searchkit.semantic.encoder",
    "searchkit.semantic.models",
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


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["pmid", "table"])
def test_a_search_of_an_index_without_vectors_loads_no_semantic_stage(
    sample_index_dir: Path, fmt: str
) -> None:
    assert not (sample_index_dir / "vectors").exists()
    modules = _imported(
        "search", "immune escape", "--index", str(sample_index_dir), "-f", fmt, usage=False
    )
    assert "searchkit.searching.search" in modules
    assert sorted(m for m in SEMANTIC_STAGE if m in modules) == []


# numpy's BLAS threads (searchkit.cli.common.limit_blas_threads).

_COUNT_THREADS = """
import atexit, os, sys
atexit.register(lambda: print("threads", len(os.listdir("/proc/self/task")), file=sys.stderr))
from searchkit.cli import app
sys.argv = ["searchkit", *sys.argv[1:]]
app(prog_name="searchkit")
"""


def _threads(env: dict[str, str], *args: str) -> int:
    """The threads of a ``searchkit ARGS`` process at its exit (Linux's /proc)."""
    result = subprocess.run(
        [sys.executable, "-c", _COUNT_THREADS, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = [x for x in result.stderr.splitlines() if x.startswith("threads ")][-1]
    return int(line.split()[1])


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
    reason="counts threads in Linux's /proc; OpenBLAS starts one per core, so needs two",
)
def test_a_search_starts_no_blas_threads_unless_asked(sample_index_dir: Path) -> None:
    """OpenBLAS starts a thread per core when numpy is imported (~70 ms of CPU of a
    search on 2 cores): a ``searchkit`` process runs with one, unless the user set
    ``OPENBLAS_NUM_THREADS`` themselves."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    args = ("search", "immune escape MHC", "--index", str(sample_index_dir), "-f", "pmid")
    assert _threads(env, *args) == 1
    assert _threads({**env, "OPENBLAS_NUM_THREADS": "2"}, *args) == 2


# The cyclic garbage collector during start-up (searchkit.cli.collector).

_COUNT_COLLECTIONS = """
import atexit, gc, sys
counts = [0, 0, 0]
def count(phase, info):
    if phase == "start":
        counts[info["generation"]] += 1
gc.callbacks.append(count)
atexit.register(lambda: print("collections", *counts, file=sys.stderr))
from searchkit.cli import app
sys.argv = ["searchkit", *sys.argv[1:]]
app(prog_name="searchkit")
"""


def _collections(*args: str) -> list[int]:
    """How many collections of each generation a ``searchkit ARGS`` process ran."""
    result = subprocess.run(
        [sys.executable, "-c", _COUNT_COLLECTIONS, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = [x for x in result.stderr.splitlines() if x.startswith("collections ")][-1]
    return [int(n) for n in line.split()[1:]]


@pytest.mark.slow
def test_a_search_process_runs_no_full_collection(sample_index_dir: Path) -> None:
    """Start-up (imports, the command tree, opening the index) is loaded with the
    collector off and then frozen out of its sight: no full collection walks it (one,
    ~30 ms of CPU, and 13 of the middle generation before), and the youngest
    generation is collected only during the search's own work (145 times before, 46
    now on data/)."""
    gen0, gen1, gen2 = _collections("search", "immune escape MHC", "--index", str(sample_index_dir))
    assert gen2 == 0
    assert gen1 <= 5
    assert gen0 <= 80


_AT_EXIT = """
import atexit, gc, sys
atexit.register(lambda: print("at exit", gc.isenabled(), gc.get_freeze_count(),
                              len(gc.get_objects()), file=sys.stderr))
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["search", "immune escape MHC"], 0),
        (["search", "immune AND (escape"], 2),  # a usage error ends the same way
        (["--help"], 0),
    ],
)
def test_the_program_leaves_the_interpreter_no_collection_at_exit(
    sample_index_dir: Path, tmp_path: Path, args: list[str], code: int
) -> None:
    """The ``searchkit`` program ends its process: the collector stays off and every
    object frozen as it exits, so the full collection the interpreter runs as it shuts
    down (after the atexit handlers) walks nothing; it walked every module and class
    of the process (~40 ms of a search on data/) to free nothing. The program's
    output and exit code are unchanged."""
    (tmp_path / "sitecustomize.py").write_text(_AT_EXIT)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    if args[0] == "search":
        args = [*args, "--index", str(sample_index_dir), "-f", "pmid", "-n", "3"]
    result = subprocess.run(
        [_searchkit_exe(), *args], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == code, result.stderr
    if args[0] == "search" and code == 0:
        assert result.stdout.split()[0] == "34572009"  # the seed record, as always
    line = [x for x in result.stderr.splitlines() if x.startswith("at exit ")][-1]
    enabled, frozen, tracked = line.split()[2:]
    assert enabled == "False"
    assert int(frozen) > 10_000
    assert int(tracked) == 0  # everything is frozen: the last collection has nothing


def test_the_collector_left_frozen_when_the_process_ends() -> None:
    from searchkit.cli import collector

    assert gc.isenabled()
    try:
        with collector.starting(exiting=True):
            collector.started()
            assert gc.isenabled()  # the command's own work is collected as before
            leftover = [object()]
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert not any(o is leftover for o in gc.get_objects())  # frozen: out of sight
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_collector_is_off_during_start_up_and_restored_after() -> None:
    from searchkit.cli import collector

    assert gc.isenabled()
    with collector.starting():
        assert not gc.isenabled()
        with collector.starting():  # nested: the outer block restores
            assert not gc.isenabled()
        assert not gc.isenabled()
        leftover = [object()]  # made during start-up
        collector.started()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        with collector.loading():
            assert not gc.isenabled()
        assert gc.isenabled()
        del leftover
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0  # handed back to the collector


def test_the_collector_outside_a_command_is_left_alone() -> None:
    from searchkit.cli import collector

    gc.disable()
    try:
        collector.started()
        with collector.loading():
            pass
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0
        with collector.starting():
            collector.started()  # was off before the command: stays off
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_command_in_process_leaves_the_collector_as_it_was() -> None:
    from typer.testing import CliRunner

    from searchkit.cli import app

    for args in (["--help"], ["search", "--help"], ["stats", "--index", "/nonexistent/ix"]):
        CliRunner().invoke(app, args)
        assert gc.isenabled()
        assert gc.get_freeze_count() == 0


# The command tree of the program: only the command named (searchkit.cli._App).


def test_the_program_builds_only_the_command_it_runs() -> None:
    from searchkit.cli import app

    tree = app.for_argv(["searchkit", "search", "immune escape", "-n", "3"])
    assert [c.name for c in tree.registered_commands] == ["search"]
    assert tree.registered_groups == []
    assert tree.registered_callback is app.registered_callback  # --version, checks reset
    assert len(app.registered_commands) > 10  # the app itself keeps them all
    for argv in (["searchkit"], ["searchkit", "--version"], ["searchkit", "serch"]):
        assert app.for_argv(argv) is app  # help, options, a near miss: the whole tree
    assert app.for_argv(["searchkit", "mesh", "show", "x"]) is app  # a command group


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "args",
    [["search", "--help"], ["search"], ["search", "x", "--bogus"], ["stats", "--index", "/no/ix"]],
)
def test_a_command_runs_the_same_with_only_its_own_tree(args: list[str]) -> None:
    """The program (one command built) against the same app given its arguments
    explicitly (every command built): the same output, errors and exit code."""
    alone = _run(_searchkit_exe(), *args)
    whole = _run(
        sys.executable,
        "-c",
        "import sys; from searchkit.cli import app; app(sys.argv[1:], prog_name='searchkit')",
        *args,
    )
    assert (alone.returncode, alone.stdout, alone.stderr) == (
        whole.returncode,
        whole.stdout,
        whole.stderr,
    )


def test_the_search_command_s_annotations_are_read_as_objects() -> None:
    # typer reads the command's parameters from its annotations on every run: as
    # strings (postponed annotations) it would compile and evaluate each of them.
    from searchkit.cli.search import search

    annotations = search.__annotations__
    assert len(annotations) > 10
    assert not [name for name, value in annotations.items() if isinstance(value, str)]
