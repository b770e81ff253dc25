"""Writing the output fails: a full disk, a closed standard output, a reader that
stops early. A real ``searchkit`` process on the index of data/: one line on stderr
and exit 1 for a failed write, never a traceback; a quiet exit 141 (as a process
killed by SIGPIPE) when the reader of a pipe goes away, as ``head`` does."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .cli_helpers import searchkit_exe

#: A PMID of data/ (the seed article).
SEED = "34572009"
FULL = Path("/dev/full")


def _env(index: Path) -> dict[str, str]:
    return {**os.environ, "SEARCHKIT_INDEX": str(index)}


def _into(index: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``searchkit ARGS`` with its standard output sent to ``target`` by the shell
    (``>/dev/full``, ``>&-``)."""
    return subprocess.run(
        ["sh", "-c", f'"$0" "$@" {target}', searchkit_exe(), *args],
        capture_output=True,
        text=True,
        env=_env(index),
        check=False,
        timeout=120,
    )


def _one_error_line(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert lines == [f"Error: cannot write to standard output: {reason}"], result.stderr


@pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system (Linux has one)")
@pytest.mark.parametrize(
    "args",
    [
        ("search", "cancer", "--format", "ris", "--limit", "all"),
        ("search", "cancer", "--count"),
        ("show", SEED),
        ("show", SEED, "--format", "medline"),
        ("stats",),
    ],
    ids=["export", "count", "show", "show-medline", "stats"],
)
def test_a_full_disk_is_one_error_line(sample_index_dir: Path, args: tuple[str, ...]) -> None:
    _one_error_line(_into(sample_index_dir, ">/dev/full", *args), "No space left on device")


@pytest.mark.skipif(os.name != "posix", reason="closes a descriptor with a POSIX shell")
def test_a_closed_standard_output_is_one_error_line(sample_index_dir: Path) -> None:
    result = _into(sample_index_dir, ">&-", "search", "cancer", "--format", "pmid")
    _one_error_line(result, "Bad file descriptor")


@pytest.mark.skipif(os.name != "posix", reason="SIGPIPE's exit status is POSIX's")
@pytest.mark.parametrize("fmt", ["ris", "table", "jsonl"])
def test_a_reader_that_stops_early_ends_the_search_quietly(
    sample_index_dir: Path, fmt: str
) -> None:
    """``searchkit search … | head -1``: the export is far longer than a pipe holds,
    so the writer meets the closed pipe mid-way."""
    proc = subprocess.Popen(
        [searchkit_exe(), "search", "cancer", "--format", fmt, "--limit", "all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(sample_index_dir),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, stderr
    assert first.strip()
    assert stderr == ""


@pytest.mark.skipif(os.name != "posix", reason="closes a descriptor with a POSIX shell")
def test_a_command_that_writes_nothing_to_standard_output_runs_without_one(
    tmp_path: Path,
) -> None:
    """``ingest`` reports on stderr only: standard output closed changes nothing."""
    source = tmp_path / "one.jsonl"
    source.write_text('{"pmid": "1", "title": "Tumour escape", "year": 2020}\n', "utf-8")
    result = _into(tmp_path / "ix", ">&-", "ingest", str(source), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    found = _into(tmp_path / "ix", "", "search", "tumour", "--format", "pmid")
    assert found.stdout.split() == ["1"], found.stderr
