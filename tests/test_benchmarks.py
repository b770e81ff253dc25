"""The benchmark suite's smoke mode runs end to end (numbers are not asserted: the
benchmarks are scripts, not timed tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def _smoke(script: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_ingest_benchmark_smoke_run(shared_data: Path) -> None:
    out = _smoke("ingest.py")
    assert "| stock Whoosh (StemmingAnalyzer, 1 writer) |" in out
    assert "| searchkit ingest --procs" in out
    assert "re-ingest of the unchanged file" in out
    assert "peak RSS" in out


def test_query_latency_benchmark_smoke_run(shared_data: Path) -> None:
    out = _smoke("query_latency.py")
    assert "| 400 |" in out  # the query table's last index size


def test_benchmark_queries_are_fixed_and_realistic() -> None:
    queries = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
    assert len(queries) == 200
    sizes = [len(q.replace('"', "").split()) for q in queries]
    assert min(sizes) >= 2 and max(sizes) <= 4
    assert sum('"' in q for q in queries) >= 50
    assert sum("[" in q for q in queries) >= 30
