"""``searchkit search -`` and ``searchkit strategy -``: the query, or the strategy, read
from standard input, so that a long search string copied from PubMed (quotes, brackets,
line breaks) needs no shell quoting: ``pbpaste | searchkit search -``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.cli.common import STDIN_MAX_BYTES

from .reference_sets import having
from .test_cli import _searchkit_exe
from .test_pubmed_syntax import _count

runner = CliRunner()

#: A PubMed search string as copied from its search details: quotes, brackets, and a
#: line break where the browser wrapped it.
PASTED = '("cancer"[All Fields] OR "tumor"[All Fields])\nAND "mice"[All Fields]\n'


def test_search_reads_the_query_from_standard_input(sample_index_dir: Path) -> None:
    one_line = " ".join(PASTED.split("\n")).strip()
    expected = _count(sample_index_dir, one_line)
    c, t, m = (having(sample_index_dir, w) for w in ("cancer", "tumor", "mice"))
    assert expected == len((c | t) & m) > 0
    result = runner.invoke(
        app, ["search", "-", "--index", str(sample_index_dir), "--count"], input=PASTED
    )
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"{expected}\n", "")


def test_an_empty_or_undecodable_standard_input_is_one_error_line(
    sample_index_dir: Path,
) -> None:
    too_long = b"cancer " * (STDIN_MAX_BYTES // 7 + 1)
    for given, message in [
        ("", "Error: the query is empty; give some words to search for\n"),
        (b"cancer \xff\n", "Error: standard input is not UTF-8 text\n"),
        (
            too_long,
            "Error: standard input holds more than 4 MiB: too long for a query or a strategy\n",
        ),
    ]:
        result = runner.invoke(
            app, ["search", "-", "--index", str(sample_index_dir), "--count"], input=given
        )
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_strategy_reads_its_lines_from_standard_input(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    lines = "cancer\ntumor\n#1 OR #2\n#3 AND mice\n"
    path = tmp_path / "strategy.txt"
    path.write_text(lines, "utf-8")
    from_file = runner.invoke(app, ["strategy", str(path), "--index", str(sample_index_dir)])
    assert from_file.exit_code == 0, from_file.stderr
    result = runner.invoke(app, ["strategy", "-", "--index", str(sample_index_dir)], input=lines)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == from_file.stdout and result.stdout.split()
    assert result.stderr.startswith("Search strategy: standard input\n")
    bad = runner.invoke(
        app, ["strategy", "-", "--index", str(sample_index_dir)], input="cancer\n#1 AND (\n"
    )
    assert (bad.exit_code, bad.stdout) == (2, "")
    assert bad.stderr.startswith("Error: standard input, line 2: ")
    assert bad.stderr.count("\n") == 1


def test_search_from_a_pipe_in_a_real_process(sample_index_dir: Path) -> None:
    expected = _count(sample_index_dir, " ".join(PASTED.split()))
    run = subprocess.run(
        [_searchkit_exe(), "search", "-", "--count"],
        input=PASTED,
        capture_output=True,
        text=True,
        env={**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir)},
        check=False,
        timeout=120,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, f"{expected}\n", "")
