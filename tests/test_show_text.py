"""``searchkit show`` for reading: each label's value and the abstract's paragraphs
wrapped to the terminal's width (``COLUMNS``), as ``search`` wraps its table, every
word kept; a book chapter names its publisher. Through the CLI in-process and as a
real process, on records of data/."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from searchkit import SearchIndex
from searchkit.cli import app

from .cli_helpers import runner, searchkit_exe

PMID = "24162591"  # a long structured abstract, 13 authors


def _check(text: str, width: int, index: Path) -> None:
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, max(lines, key=len)
    record = SearchIndex.open(index).get(PMID)
    assert record.abstract is not None
    assert text.split()[-len(record.abstract.split()) :] == record.abstract.split()
    assert lines[0].startswith("PMID:     24162591")
    authors = [line for line in lines if line.startswith("Authors:")]
    assert authors and authors[0].endswith(";")  # the list goes on, indented
    assert lines[lines.index(authors[0]) + 1].startswith(" " * 10)


def test_show_wraps_to_the_terminal_as_a_process(sample_index_dir: Path) -> None:
    result = subprocess.run(
        [searchkit_exe(), "show", PMID],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "SEARCHKIT_INDEX": str(sample_index_dir), "COLUMNS": "40"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    _check(result.stdout, 40, sample_index_dir)


def test_show_wraps_in_process(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app, ["show", PMID, "--index", str(sample_index_dir)], env={"COLUMNS": "72"}
    )
    assert result.exit_code == 0, result.stderr
    _check(result.stdout, 72, sample_index_dir)


def test_a_chapter_names_its_publisher(sample_index_dir: Path) -> None:
    result = runner.invoke(
        app, ["show", "29337475", "--index", str(sample_index_dir)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.stderr
    assert "Publisher: National Cancer Institute (US), Bethesda (MD)" in result.stdout
