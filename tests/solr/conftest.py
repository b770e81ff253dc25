"""The session's SolrCloud (tests/solr/cluster.py): started once per test worker that runs
a Solr test, shut down at the end of the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import cluster as cluster_module
from .cluster import SolrCluster


@pytest.fixture(scope="session")
def solr_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolrCluster]:
    """A real 2-node SolrCloud with basic authentication. Skips only when java or mvn is
    missing, and fails instead when SEARCHKIT_REQUIRE_SOLR=1 (CI)."""
    missing = cluster_module.missing_tools()
    if missing:
        reason = f"the Solr tests need {' and '.join(missing)} on PATH (Java 17, Maven)"
        if os.environ.get(cluster_module.REQUIRE_ENV) == "1":
            pytest.fail(f"{cluster_module.REQUIRE_ENV}=1: {reason}")
        pytest.skip(reason)
    cluster = cluster_module.start(tmp_path_factory.mktemp("solr"))
    try:
        yield cluster
    finally:
        cluster.shutdown()
