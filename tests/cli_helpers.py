"""The CLI as the tests call it: in-process (a command on an index, a search's count),
or as a real ``searchkit`` process."""

from __future__ import annotations

import json
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


def explained(index: Path, query: str) -> str:
    """What ``searchkit search QUERY --explain`` prints (the parsed query and the
    Whoosh query it became, then the first hit), which must succeed."""
    result = run(index, "search", query, "--explain", "--limit", "1")
    assert result.exit_code == 0, result.stderr
    return result.stderr + result.stdout


def refused_until_rebuilt(tmp_path: Path, record: dict[str, object], key: str, query: str) -> None:
    """An index of ``record`` whose recorded analysis lacks ``key``, as one made before
    that rule: ``searchkit search QUERY`` is refused in one line naming ``key`` with the
    ``searchkit rebuild`` hint, and after the rebuild the query finds the record."""
    index = tmp_path / "ix"
    source = tmp_path / "one.jsonl"
    source.write_text(json.dumps(record) + "\n", "utf-8")
    assert run(index, "ingest", str(source)).exit_code == 0
    meta_file = index / "searchkit.json"
    meta = json.loads(meta_file.read_text("utf-8"))
    assert key in meta["analysis"]
    meta["analysis"] = {k: v for k, v in meta["analysis"].items() if k != key}
    meta_file.write_text(json.dumps(meta), "utf-8")
    refused = run(index, "search", query)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert f"({key})" in refused.stderr and "searchkit rebuild" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert run(index, "rebuild").exit_code == 0
    assert pmids(index, query) == {str(record["pmid"])}
