"""Query robustness: random query strings never crash ``search``.

The library either returns results or raises :class:`QueryError`; the command
either exits 0 with results or prints one ``Error:`` line and exits 2. Only public
behaviour is tested, so these hold whatever query language the parser speaks.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from searchkit import SearchIndex, search
from searchkit.cli import app
from searchkit.errors import QueryError

from .test_cli import _searchkit_exe

runner = CliRunner()

WORDS = ["cancer", "stem", "cells", "immune", "escape", "MHC", "tumor", "the", "of", "Smith J"]
SYNTAX = [
    "[ti]", "[au]", "[dp]", "[mh]", "[tiab]", "[majr]", "[xx]", "2015:2020[dp]", "2020:2015[dp]",
    "title:", "abstract:", "author:", "year:", "year:2015..2020", "year:..", "pmid:",
    "AND", "OR", "NOT", "and", "or", "not", "AND NOT",
    '"', "'", "(", ")", "((", "))", "[", "]", "{", "}", "~5", "~", "*", "?", ":", "-", "+",
    "^2", "\\", "/", "&&", "||", "!", "<", ">", "=", ",", ";", "..", "...",
]  # fmt: skip

token = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(SYNTAX),
    st.integers(min_value=-5, max_value=3000).map(str),
    st.text(max_size=12),  # any unicode, control characters included
)
structured = st.builds(
    lambda tokens, glue: glue.join(tokens),
    st.lists(token, max_size=25),
    st.sampled_from([" ", "", "  ", "\t"]),
)
queries = st.one_of(structured, st.text(max_size=300))

# The library check is cheap (one open index): many examples. Each CLI example opens
# the index anew, as the command does; it adds only the exit code and the one error
# line to what the library check covers (the same queries), so it gets fewer.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CLI_SETTINGS = settings(SETTINGS, max_examples=30)

# Cases that have broken query parsers before: kept as explicit examples.
NASTY = [
    '"unbalanced quote',
    "((cancer",
    "cancer))",
    "title:",
    "[ti]",
    "cancer[ti] AND",
    "NOT",
    "AND OR NOT",
    "2015:2020[dp]",
    "year:2015..2020",
    "stem*",
    "*",
    '"immune escape"~5',
    "tumour \u00e9chappement \u514d\u75ab \U0001f9ec",
    "\x00\x01\x1b[31m",
    "-",
]


def _check_library(index: SearchIndex, query: str) -> None:
    try:
        result = search(index, query, limit=5)
    except QueryError as error:
        message = str(error)
        assert message and "\n" not in message
        return
    assert result.total + result.partial_total >= len(result.hits)
    assert [hit.rank for hit in result.hits] == list(range(1, len(result.hits) + 1))


def _check_cli(index_dir: Path, query: str) -> None:
    # "--" so that a query starting with "-" is a query, not an option.
    result = runner.invoke(
        app, ["search", "--index", str(index_dir), "--format", "json", "--limit", "3", "--", query]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    if result.exit_code == 0:
        data = json.loads(result.stdout)
        assert data["total"] + data["partial_total"] >= len(data["hits"])
        # stderr carries at most a "Did you mean" suggestion or a note (a MeSH term
        # searched without a loaded tree, say), never an error.
        assert all(
            line.startswith(("Did you mean: ", "note: ")) for line in result.stderr.splitlines()
        ), result.stderr
    else:
        assert result.exit_code == 2, result.stderr
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr


@pytest.fixture(scope="module")
def opened(sample_index_dir: Path) -> SearchIndex:
    return SearchIndex.open(sample_index_dir)


@pytest.mark.slow
@SETTINGS
@given(query=queries)
@example(query="")
def test_library_search_returns_results_or_raises_query_error(
    opened: SearchIndex, query: str
) -> None:
    _check_library(opened, query)


@pytest.mark.slow
@CLI_SETTINGS
@given(query=queries)
def test_cli_search_exits_0_or_prints_one_error_line_with_exit_2(
    sample_index_dir: Path, query: str
) -> None:
    _check_cli(sample_index_dir, query)


@pytest.mark.slow
def test_nasty_queries(sample_index_dir: Path) -> None:
    index = SearchIndex.open(sample_index_dir)
    for query in NASTY:
        _check_library(index, query)
        _check_cli(sample_index_dir, query)


@pytest.mark.slow
def test_very_long_queries_finish(sample_index_dir: Path) -> None:
    index = SearchIndex.open(sample_index_dir)
    long_queries = [
        " ".join(WORDS * 300),  # 3,000 words
        "(" * 2000 + "cancer" + ")" * 2000,
        '"' * 5001,
        "a" * 100_000,
    ]
    # 1,000 operands, past Python's recursion limit: seconds to rank, so in the library
    # only (the command runs the same search; the others show its handling of long ones)
    chain = " AND ".join(["cancer"] * 1000)
    for query in [*long_queries, chain]:
        started = time.monotonic()
        _check_library(index, query)
        if query is not chain:
            _check_cli(sample_index_dir, query)
        assert time.monotonic() - started < 30, query[:40]


#: NASTY queries for real processes (each costs a Python start and opens the sample):
#: an error, a search in several scripts, control characters, a query that looks like an
#: option. test_nasty_queries runs all of them in-process.
IN_A_PROCESS = [
    '"unbalanced quote',
    "tumour \u00e9chappement \u514d\u75ab \U0001f9ec",
    "\x01\x1b[31m",  # a NUL cannot be an argument
    "-",
]


@pytest.mark.slow
def test_nasty_queries_through_a_real_process(sample_index_dir: Path) -> None:
    env = {**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)}
    for query in IN_A_PROCESS:
        run = subprocess.run(
            [_searchkit_exe(), "search", "--format", "pmid", "--", query],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert run.returncode in (0, 2), (query, run.stderr)
        assert "Traceback" not in run.stderr
        if run.returncode == 2:
            assert run.stdout == ""
            assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: ")
