"""The CLI as the tests call it in-process: a command on an index, a search's count."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from searchkit.cli import app

runner = CliRunner()


def run(index: Path, *args: str) -> Result:
    """``searchkit ARGS --index INDEX`` through typer's test runner."""
    return runner.invoke(app, [*args, "--index", str(index)])


def count(index: Path, query: str) -> int:
    """``searchkit search QUERY --count``, which must succeed."""
    result = run(index, "search", query, "--count")
    assert result.exit_code == 0, result.stderr
    return int(result.stdout)
