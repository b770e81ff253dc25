"""The benchmarks' fixed inputs, and the parts of the scripts that decide what a
figure means (``benchmarks/*.py``, see benchmarks/README.md; the runs themselves are
never tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

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


def _scale() -> object:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("scale", ROOT / "benchmarks" / "scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_ingest_ratio_is_given_against_both_tantivy_runs() -> None:
    """The twenty-eighth pass's run: 1.76 ms a record against tantivy's 0.181 before
    the increments and 0.204 after them."""
    scale: Any = _scale()
    row = scale.tantivy_row(1.76, 0.181, 0.204, None)
    assert row.startswith("9.1x against tantivy's two runs' mean (9.7x and 8.6x against each")
    assert "1.76 vs 0.181 and 0.204 ms" in row
    assert scale.tantivy_row(1.0, 0.2, 0.2, 3.456).endswith("; vs stock Whoosh 3.46x")


def test_the_ingest_rate_is_given_end_to_end_and_by_halves() -> None:
    """The 100,000-record run of 2026-12-06 (Intel VM): the fifth and the tenth
    increments merged a tier; the tenth at 44% of the first's rate (45% from these
    rounded times), the last five increments together at 103% of the first five's."""
    scale: Any = _scale()
    cpu = [12.7, 14.6, 13.9, 14.1, 30.4, 14.2, 13.7, 13.7, 13.5, 28.5]
    row = scale.rate_row([(10_000, c) for c in cpu])
    assert row.startswith("45% per CPU second (the last increment against the first)")
    assert row.endswith("the last 5 increments against the first 5, merges included: 103%")
    assert scale.rate_row([(10, 1.0), (10, 1.0)]).endswith("merges included: 100%")


def test_scale_times_every_benchmark_query_on_a_warm_index(sample_index_dir: Path) -> None:
    """The query rows of ``scale.py``: each of the 200 queries timed once, in wall and
    CPU milliseconds, after the index's files were read and 20 queries warmed up."""
    scale: Any = _scale()
    queries = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
    wall, cpu, segments = scale.query_latency(sample_index_dir, queries)
    assert len(wall) == len(cpu) == 200
    assert all(w > 0 for w in wall) and all(c >= 0 for c in cpu)
    assert segments >= 1


def test_scale_searches_only_needs_a_kept_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scale: Any = _scale()
    assert scale.main(["--workdir", str(tmp_path / "none"), "--searches-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"Error: no index of an earlier run in {tmp_path / 'none'}"]
    assert not (tmp_path / "none").exists()
    with pytest.raises(SystemExit) as exited:
        scale.main(["--searches-only"])
    assert exited.value.code == 2


@pytest.mark.slow
def test_startup_rows_in_a_kept_folder_whose_index_an_older_searchkit_made(
    tmp_path: Path, sample_index_dir: Path
) -> None:
    """``startup.py`` (and ``scale.py``'s start-up rows) in a ``--workdir`` an earlier run
    left: its index of data/ made with other analysis parameters (refused by this
    searchkit) is made again, not ingested into (the 1M run of 2026-12-07 lost its
    start-up rows so)."""
    import json
    import shutil

    scale: Any = _scale()
    older = tmp_path / "startup-searchkit"
    shutil.copytree(sample_index_dir, older)
    meta = json.loads((older / "searchkit.json").read_text("utf-8"))
    meta["analysis"] = {k: v for k, v in meta["analysis"].items() if k != "acronym_plural"}
    (older / "searchkit.json").write_text(json.dumps(meta), "utf-8")
    rows = scale.startup.measure(tmp_path, repeat=1)
    assert any(row.startswith("| searchkit search |") for row in rows)


def test_benchmark_headers_name_the_cpu_and_the_python_build() -> None:
    """``measure.machine()``: what two runs must share for their figures to compare
    (the CPU model, the cores, the Python version and which build of it)."""
    import os
    import platform
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import measure

    line = measure.machine()
    assert f"{os.cpu_count()} cores" in line
    assert f"Python {platform.python_version()} (" in line
    assert os.path.realpath(sys.executable) in line
    assert platform.python_compiler() in line
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [
            row.partition(":")[2].strip()
            for row in cpuinfo.read_text("utf-8").splitlines()
            if row.startswith("model name")
        ]
        if models:
            assert line.startswith(f"{models[0]}, ")
