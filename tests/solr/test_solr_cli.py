"""searchkit's commands against a real SolrCloud (tests/solr/cluster.py): one file, so
that one test worker owns the session's cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from searchkit.cli import app

from .cluster import SolrCluster

pytestmark = pytest.mark.solr

runner = CliRunner()


def _auth(cluster: SolrCluster) -> tuple[str, str]:
    return cluster.user, cluster.password


def _analyzed(cluster: SolrCluster, collection: str, text: str, kind: str = "index") -> list[str]:
    """The terms Solr's analysis of the text_biomed field type makes of ``text``."""
    answer = requests.get(
        f"{cluster.nodes[0]}/{collection}/analysis/field",
        params={
            "analysis.fieldtype": "text_biomed",
            f"analysis.{'fieldvalue' if kind == 'index' else 'query'}": text,
            "wt": "json",
        },
        auth=_auth(cluster),
        timeout=60,
    ).json()
    stages = answer["analysis"]["field_types"]["text_biomed"][kind]
    return [t["text"] for t in stages[-1]]


@pytest.fixture(scope="module")
def initialised(solr_cluster: SolrCluster) -> Iterator[str]:
    """A collection made by ``searchkit solr init``: 2 shards, 2 replicas each."""
    name = "initialised"
    result = runner.invoke(
        app,
        ["solr", "init", solr_cluster.url(name), "--shards", "2", "--replicas", "2"],
        env=solr_cluster.env(),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"Created {solr_cluster.url(name)} (2 shards x 2 replicas)\n"
    yield name


def test_init_creates_a_collection_of_two_shards_on_both_nodes(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    status = requests.get(
        f"{solr_cluster.nodes[0]}/admin/collections",
        params={"action": "CLUSTERSTATUS", "collection": initialised, "wt": "json"},
        auth=_auth(solr_cluster),
        timeout=60,
    ).json()
    shards = status["cluster"]["collections"][initialised]["shards"]
    assert sorted(shards) == ["shard1", "shard2"]
    for shard in shards.values():
        replicas = shard["replicas"].values()
        assert len(replicas) == 2
        assert {r["state"] for r in replicas} == {"active"}
        assert len({r["node_name"] for r in replicas}) == 2


def test_configset_analysis_keeps_hyphenated_terms_whole_and_folds_like_searchkit(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    terms = _analyzed(solr_cluster, initialised, "PD-L1 TNF-α tumours of the oesophagus, 1.5 mg")
    assert {"pdl1", "pd", "l1"} <= set(terms)
    assert {"tnfalpha", "tnf", "alpha"} <= set(terms)
    assert "tumor" in terms  # British -> American, then Porter2
    assert "the" not in terms and "of" not in terms
    assert "1.5" in terms


def test_init_of_an_existing_collection_is_one_error_line(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    result = runner.invoke(
        app, ["solr", "init", solr_cluster.url(initialised)], env=solr_cluster.env()
    )
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the collection {initialised!r} exists already at {solr_cluster.nodes[0]}\n"
    )


def test_wrong_password_is_one_error_line_without_the_password(solr_cluster: SolrCluster) -> None:
    env = {**solr_cluster.env(), "SEARCHKIT_SOLR_PASSWORD": "not-the-password"}
    result = runner.invoke(app, ["solr", "init", solr_cluster.url("nope")], env=env)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: Solr at ")
    assert "refused the credentials (user 'searchkit-test')" in result.stderr
    assert "not-the-password" not in result.output


def test_unreachable_node_is_one_error_line(solr_cluster: SolrCluster) -> None:
    result = runner.invoke(
        app, ["solr", "init", "solr://127.0.0.1:9/solr/nope"], env=solr_cluster.env()
    )
    assert result.exit_code == 1
    assert result.stderr == "Error: cannot reach the Solr node at http://127.0.0.1:9/solr\n"


def test_credentials_from_netrc(
    solr_cluster: SolrCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    netrc = home / ".netrc"
    netrc.write_text(
        f"machine 127.0.0.1 login {solr_cluster.user} password {solr_cluster.password}\n"
    )
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SEARCHKIT_SOLR_USER", raising=False)
    monkeypatch.delenv("SEARCHKIT_SOLR_PASSWORD", raising=False)
    result = runner.invoke(app, ["solr", "init", solr_cluster.url("from_netrc"), "--shards", "1"])
    assert result.exit_code == 0, result.stderr
