"""The Solr tests without java or mvn: skipped with the reason, or failed in CI.

(The cluster's own checks are in test_solr_cli.py: one file uses the cluster, so that
one test worker starts it.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.solr


@pytest.mark.slow
@pytest.mark.parametrize("require", ["", "1"])
def test_without_java_the_solr_tests_skip_or_with_the_ci_variable_fail(
    require: str, tmp_path: Path
) -> None:
    """No java or mvn on PATH: a clear skip, or a failure when SEARCHKIT_REQUIRE_SOLR=1."""
    env = {**os.environ, "PATH": str(tmp_path), "SEARCHKIT_REQUIRE_SOLR": require}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            # Neither the suite's options nor its plugins: one test, in this process.
            "-o",
            "addopts=-ra",
            "-p",
            "no:xdist",
            "-p",
            "no:hypothesispytest",
            f"{Path(__file__).parent / 'test_solr_cli.py'}::"
            "test_cluster_has_two_live_nodes_and_requires_authentication",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        check=False,
    )
    if require:
        assert done.returncode == 1, done.stdout
        assert "SEARCHKIT_REQUIRE_SOLR=1: the Solr tests need java and mvn on PATH" in done.stdout
    else:
        assert done.returncode == 0, done.stdout
        assert "SKIPPED" in done.stdout and "need java and mvn on PATH" in done.stdout
