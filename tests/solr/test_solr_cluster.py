"""The test cluster itself: two live nodes, authentication enforced, clean shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from .cluster import SolrCluster

pytestmark = pytest.mark.solr


def test_cluster_has_two_live_nodes_and_requires_authentication(solr_cluster: SolrCluster) -> None:
    assert len(solr_cluster.nodes) == 2
    url = f"{solr_cluster.nodes[0]}/admin/collections"
    refused = requests.get(url, params={"action": "CLUSTERSTATUS"}, timeout=30)
    assert refused.status_code == 401
    auth = (solr_cluster.user, solr_cluster.password)
    status = requests.get(url, params={"action": "CLUSTERSTATUS"}, auth=auth, timeout=30)
    assert status.status_code == 200
    assert len(status.json()["cluster"]["live_nodes"]) == 2
    wrong = requests.get(
        url, params={"action": "CLUSTERSTATUS"}, auth=(solr_cluster.user, "x"), timeout=30
    )
    assert wrong.status_code == 401


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
            f"{Path(__file__)}::test_cluster_has_two_live_nodes_and_requires_authentication",
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
