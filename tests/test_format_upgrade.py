"""An index of format 6, whose large posting blocks keep their positions as zlib
streams (:class:`~searchkit.engine.codec.DeflatedValues`), is searched as it is by a
searchkit that writes format 7 (LZ4: :class:`~searchkit.engine.codec.Lz4Values`), and
declares format 7 when it is first written to: its new segments and merges hold LZ4
blocks an older searchkit could not read. Real records, real ``searchkit``
processes; the format-6 index is written by the writer as it was (values deflated)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.engine import codec
from searchkit.engine.codec import DeflatedValues, Lz4Values, PackedValues

from .conftest import _LARGEST, SAMPLE_DIR, SAMPLE_SUBSET, SMALL_SUBSET

# Phrases (positions read), hyphenated compounds (phrases of their parts), words,
# and a proximity search: every one reads the positions of large blocks on data/.
QUERIES = [
    '"breast cancer"',
    '"randomized controlled trial"',
    "stem-cell therapy",
    "cancer AND patients",
    '"cell lines"',
    '"patients cancer"[tiab:~3]',
    "immune escape",
]


def _write_format_6(monkeypatch: pytest.MonkeyPatch, index: Path, files: list[Path]) -> None:
    """``files`` ingested by the writer of format 6: large blocks' values deflated."""
    real = codec._mini_values

    def deflated(values: Any, fixedsize: Any, packed: bool, compression: int = 0) -> Any:
        found = real(values, fixedsize, packed, compression)
        if isinstance(found, Lz4Values):
            return DeflatedValues.of(PackedValues.of(values), compression)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(codec, "_mini_values", deflated)
        result = CliRunner().invoke(
            app, ["ingest", *map(str, files), "--index", str(index), "--procs", "1"]
        )
    assert result.exit_code == 0, result.output
    _set_version(index, 6)


def _set_version(index: Path, version: int) -> None:
    meta_path = index / "searchkit.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["schema_version"] = version
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def _version(index: Path) -> int:
    return int(json.loads((index / "searchkit.json").read_text("utf-8"))["schema_version"])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchkit", *args], capture_output=True, text=True, timeout=300
    )


def _answers(index: Path) -> list[tuple[str, str]]:
    """Each query's count and ranked PMIDs, from ``searchkit search``."""
    found = []
    for query in QUERIES:
        runs = [
            CliRunner().invoke(app, ["search", query, "--index", str(index), *extra])
            for extra in (["--count"], ["--format", "pmid", "--limit", "50"])
        ]
        assert all(run.exit_code == 0 for run in runs), [run.output for run in runs]
        found.append((runs[0].output, runs[1].output))
    return found


def _searched_by_a_process(index: Path) -> tuple[str, str]:
    """The first query's count and ranked PMIDs from a real ``searchkit`` process."""
    count = _run("search", QUERIES[0], "--index", str(index), "--count")
    hits = _run("search", QUERIES[0], "--index", str(index), "--format", "pmid", "--limit", "50")
    assert count.returncode == 0 and hits.returncode == 0, count.stderr + hits.stderr
    return count.stdout, hits.stdout


@pytest.mark.slow
def test_a_format_6_index_is_read_then_written_as_format_7(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "format-6", tmp_path / "format-7"
    _write_format_6(monkeypatch, old, SAMPLE_SUBSET)
    made = _run("ingest", *map(str, SAMPLE_SUBSET), "--index", str(new))
    assert made.returncode == 0, made.stderr

    # The format-6 index holds zlib values, and they are what its phrases read.
    inflated: list[int] = []
    real_raw = DeflatedValues._raw
    with monkeypatch.context() as spied:
        spied.setattr(DeflatedValues, "_raw", lambda self: inflated.append(1) or real_raw(self))
        result = CliRunner().invoke(app, ["search", QUERIES[0], "--index", str(old), "--count"])
    assert result.exit_code == 0, result.output
    assert inflated, "the format-6 index was written with LZ4 blocks"

    # Searched as it is: the same counts and rankings as format 7, and not rewritten.
    expected = _answers(new)
    assert all(int(count) > 0 for count, _ in expected)
    assert _answers(old) == expected
    assert _searched_by_a_process(old) == expected[0]
    assert _version(old) == 6

    # Written to: format 7 from then on; the new segment (LZ4) and the old ones
    # (zlib) searched together, then merged into one.
    more = SAMPLE_DIR / _LARGEST
    for index in (old, new):
        added = _run("ingest", str(more), "--index", str(index))
        assert added.returncode == 0, added.stderr
    assert _version(old) == 7
    expected = _answers(new)
    assert _answers(old) == expected
    for index in (old, new):  # (replaced records count in the scores until merged)
        optimized = _run("optimize", "--index", str(index))
        assert optimized.returncode == 0, optimized.stderr
    assert _answers(old) == _answers(new)
    assert _searched_by_a_process(old) == _searched_by_a_process(new)


def test_a_format_5_index_is_refused_with_a_rebuild_message(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    made = _run("ingest", str(SMALL_SUBSET[0]), "--index", str(index))
    assert made.returncode == 0, made.stderr
    _set_version(index, 5)
    run = _run("search", "cancer", "--index", str(index))
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "has format version 5, this searchkit reads version 7 (and 6)" in run.stderr
    assert f"searchkit rebuild --index {index}" in run.stderr
    assert _version(index) == 5
