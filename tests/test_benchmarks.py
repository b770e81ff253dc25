"""The benchmarks' fixed inputs. The benchmarks themselves are scripts
(``benchmarks/*.py``, see benchmarks/README.md), never run as tests."""

from __future__ import annotations

import importlib.util

from .conftest import ROOT


def test_benchmark_queries_are_fixed_and_realistic() -> None:
    queries = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
    assert len(queries) == 200
    sizes = [len(q.replace('"', "").split()) for q in queries]
    assert min(sizes) >= 2 and max(sizes) <= 4
    assert sum('"' in q for q in queries) >= 50
    assert sum("[" in q for q in queries) >= 30


def test_the_query_profile_stages_name_functions_searchkit_defines() -> None:
    """``query_profile.py`` charges samples by function name: a renamed function would
    move its time to an outer stage unnoticed, as the joined segments' path, whose
    frames it did not name, once moved all of "positions" into "first stage"."""
    spec = importlib.util.spec_from_file_location(
        "query_profile", ROOT / "benchmarks" / "query_profile.py"
    )
    assert spec is not None and spec.loader is not None
    profile = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(profile)
    assert profile.missing_stage_functions() == []
    profile.STAGES.append(("renamed", {("engine/postings.py", "no_such_function")}))
    assert profile.missing_stage_functions() == ["engine/postings.py:no_such_function"]
