"""The benchmarks' fixed inputs. The benchmarks themselves are scripts
(``benchmarks/*.py``, see benchmarks/README.md), never run as tests."""

from __future__ import annotations

from .conftest import ROOT


def test_benchmark_queries_are_fixed_and_realistic() -> None:
    queries = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
    assert len(queries) == 200
    sizes = [len(q.replace('"', "").split()) for q in queries]
    assert min(sizes) >= 2 and max(sizes) <= 4
    assert sum('"' in q for q in queries) >= 50
    assert sum("[" in q for q in queries) >= 30
