"""The CLI as the tests call it: in-process (a command on an index, a search's count),
or as a real ``searchkit`` process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from searchkit.cli import app

runner = CliRunner()


def run(index: Path, *args: str) -> Result:
    """``searchkit ARGS --index INDEX`` through typer's test runner."""
    return runner.invoke(app, [*args, "--index", str(index)])


def searchkit_exe() -> str:
    """The installed ``searchkit`` console script."""
    exe = Path(sys.executable).parent / "searchkit"
    found = str(exe) if exe.exists() else shutil.which("searchkit")
    assert found, "the searchkit console script is not installed (pip install -e .)"
    return found


def process(index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``searchkit ARGS`` as a real process, its index given by ``SEARCHKIT_INDEX``."""
    return subprocess.run(
        [searchkit_exe(), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SEARCHKIT_INDEX": str(index)},
        check=False,
        timeout=120,
    )


def count(index: Path, query: str) -> int:
    """``searchkit search QUERY --count``, which must succeed."""
    result = run(index, "search", query, "--count")
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)


def pmids(index: Path, query: str) -> set[str]:
    """The PMIDs ``searchkit search QUERY --format pmid`` gives, which must succeed."""
    result = run(index, "search", query, "--format", "pmid")
    assert result.exit_code == 0, result.stderr
    return set(result.stdout.split())
