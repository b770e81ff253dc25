"""One ranking pipeline: search, eval and similar rank alike, ties by PMID, whatever the
index's segment layout."""

from __future__ import annotations

import ast
import gc
import itertools
import json
import os
import subprocess
import weakref
from dataclasses import replace
from pathlib import Path

import pytest

from searchkit import Record, SearchIndex, ingest
from searchkit.params import DEFAULT
from searchkit.query.compile import to_whoosh
from searchkit.query.parser import parse
from searchkit.query.syntax import FreeText
from searchkit.readers import read_file
from searchkit.searching import pipeline
from searchkit.searching.evaluation import read_qrels, read_queries
from searchkit.searching.pipeline import _all_pmids, _pmid_column, rank
from searchkit.searching.search import Ranker, search
from searchkit.searching.similar import similar

from .cli_helpers import run
from .conftest import SAMPLE_DIR, SHARED_DATA
from .test_cli import _searchkit_exe

# A real PubMed export (111 records), indexed in two layouts below.
LAYOUT_FILE = SAMPLE_DIR / "mokztk_pubmed-parser__CPFE.xml.gz"
# Short queries: single words and tags, whose scores tie most (equal term frequency and
# equal stored field lengths give equal BM25F scores).
LAYOUT_QUERIES = [
    "fibrosis",
    "lung",
    "emphysema",
    "pulmonary fibrosis",
    "combined pulmonary fibrosis and emphysema",
    "2015:2020[dp]",
    "review[pt]",
]


def _records(path: Path) -> list[Record]:
    return [item for item in read_file(path) if isinstance(item, Record)]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> tuple[SearchIndex, SearchIndex]:
    """The same records in one segment, and in many (small batches, reverse order)."""
    records = _records(LAYOUT_FILE)
    assert len(records) > 40
    base = tmp_path_factory.mktemp("layouts")
    one = SearchIndex.create(base / "one")
    one.upsert(records)
    many = SearchIndex.create(base / "many")
    backwards = records[::-1]
    for start in range(0, len(backwards), 20):
        many.upsert(backwards[start : start + 20])
    assert len(many.whoosh_index._segments()) > 1  # Whoosh merged some of them
    assert len(one.whoosh_index._segments()) == 1
    return one, many


@pytest.mark.slow
def test_ranking_does_not_depend_on_the_segment_layout(
    layouts: tuple[SearchIndex, SearchIndex],
) -> None:
    one, many = layouts
    tied = 0
    for query in LAYOUT_QUERIES:
        a = rank(one, query).pairs()
        b = rank(many, query).pairs()
        assert [p for p, _ in a] == [p for p, _ in b], query
        assert [s for _, s in a] == pytest.approx([s for _, s in b]), query
        tied += len(a) - len({s for _, s in a})
        # what users see, and what eval measures
        assert [h.pmid for h in search(one, query, limit=None).hits] == [p for p, _ in a]
        assert [h.pmid for h in search(many, query, limit=None).hits] == [p for p, _ in a]
        with Ranker(one) as r1, Ranker(many) as r2:
            assert r1.rank(query, limit=1000) == r2.rank(query, limit=1000)
        expanded = replace(DEFAULT, expand=True)  # feedback documents too
        assert rank(one, query, expanded).ids() == rank(many, query, expanded).ids(), query
    assert tied > 0  # the queries do have ties to break


def test_ties_are_broken_by_pmid(layouts: tuple[SearchIndex, SearchIndex]) -> None:
    _, many = layouts
    for query in LAYOUT_QUERIES:
        pairs = rank(many, query).pairs()
        for (p1, s1), (p2, s2) in itertools.pairwise(pairs):
            assert s1 > s2 or (s1 == s2 and p1 < p2), query
        by_date = rank(many, query, sort="date").ranked
        assert len(by_date) == len(pairs)


def test_the_first_hits_do_not_depend_on_how_many_are_asked_for(
    layouts: tuple[SearchIndex, SearchIndex],
) -> None:
    one, _ = layouts
    # the usual depths (more than this index's records), and depths that limits and the
    # matches go past (as eval's 1,000 go past search's 100 on a large index)
    shallow = replace(DEFAULT, proximity_depth=5, rerank_depth=5)
    for params in (DEFAULT, shallow):
        for query in LAYOUT_QUERIES:
            every = rank(one, query, params).pairs()
            for limit in (1, 3, 10, 30):
                got = rank(one, query, params, limit=limit).pairs()
                assert got == every[:limit], (query, limit, params.rerank_depth)


def test_params_are_passed_not_patched(layouts: tuple[SearchIndex, SearchIndex]) -> None:
    one, _ = layouts
    query = "combined pulmonary fibrosis and emphysema"
    usual = rank(one, query).pairs()
    flat = rank(one, query, replace(DEFAULT, coordination=0.0, rerank_weight=0.0)).pairs()
    assert flat != usual  # the values passed are the values used …
    assert rank(one, query).pairs() == usual  # … and nothing else changed


def test_the_pipeline_does_not_import_the_semantic_stage() -> None:
    """The meaning stage is passed in (a Protocol): the pipeline imports none of it."""
    tree = ast.parse(Path(pipeline.__file__).read_text("utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [node.module or ""] + [a.name for a in node.names]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
    }
    assert not {n for n in imported if n.split(".")[-1] in {"semantic", "vectors", "encoder"}}


def _twins(tmp_path: Path) -> SearchIndex:
    """A source record and three copies of it under other PMIDs, written in an order
    (and in segments) that is not PMID order, plus unrelated records."""
    text = dict(
        title="Cigarette smoking and combined pulmonary fibrosis with emphysema",
        abstract="Smokers develop emphysema of the upper lobes and fibrosis of the lower lobes.",
    )
    ix = SearchIndex.create(tmp_path / "ix")
    ix.upsert([Record(pmid="300", **text), Record(pmid="50", **text)])
    ix.upsert([Record(pmid="100", **text)])
    ix.upsert([Record(pmid="200", **text), Record(pmid="7", title="Kidney stones in children")])
    return ix


@pytest.mark.slow
def test_similar_ranks_through_the_pipeline_with_ties_by_pmid(tmp_path: Path) -> None:
    ix = _twins(tmp_path)
    result = similar(ix, "50", limit=5)
    assert [h.pmid for h in result.hits] == ["100", "200", "300"]  # equal scores: by PMID
    assert len({h.score for h in result.hits}) == 1
    assert result.total == 3
    assert [h.pmid for h in similar(ix, "50", limit=5).hits] == ["100", "200", "300"]
    assert [h.pmid for h in similar(ix, "50", limit=2).hits] == ["100", "200"]
    cli = run(tmp_path / "ix", "similar", "50", "-f", "pmid")
    assert cli.exit_code == 0, cli.stderr
    assert cli.stdout.split() == ["100", "200", "300"]


@pytest.mark.slow
def test_search_ties_go_by_pmid_in_the_cli(tmp_path: Path) -> None:
    _twins(tmp_path)
    result = run(tmp_path / "ix", "search", "emphysema", "-f", "pmid")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["100", "200", "300", "50"]


# -- search and eval give the same ranking on SciFact train --------------------------


@pytest.fixture(scope="module")
def scifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An index of the SciFact documents judged for the train queries and the first
    300 others (real abstracts; 820 in all), with the queries and judgments."""
    folder = SHARED_DATA / "beir" / "scifact"
    if not (folder / "corpus.jsonl").is_file():
        pytest.skip(f"{folder} is absent (the shared real-data folder is not beside the repo)")
    qrels = folder / "qrels" / "train.tsv"
    wanted = {doc for rels in read_qrels(qrels).values() for doc in rels}
    base = tmp_path_factory.mktemp("scifact")
    subset = base / "corpus.jsonl"
    with (folder / "corpus.jsonl").open(encoding="utf-8") as src, subset.open("w") as out:
        for n, line in enumerate(src):
            if n < 300 or json.loads(line)["_id"] in wanted:
                out.write(line)
    index = base / "ix"
    report = ingest([subset], SearchIndex.create(index))
    assert report.ok
    return index, folder / "queries.jsonl", qrels


def _as_search_text(index: SearchIndex, text: str) -> str:
    """The query as typed into ``search`` so that it means what eval reads: eval takes
    questions as plain words, and a quote would make a phrase in the search syntax."""
    schema = index.whoosh_index.schema
    natural = to_whoosh(schema, FreeText(tuple(text.split()), 1))
    typed = text if to_whoosh(schema, parse(text)) == natural else text.replace('"', " ")
    assert to_whoosh(schema, parse(typed)) == natural, text
    return typed


@pytest.mark.slow  # 809 queries ranked by eval, then by search: about 25 s of CPU
def test_search_gives_what_eval_measures_for_every_scifact_train_query(
    scifact: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    index, queries_file, qrels = scifact
    run_file = tmp_path / "run.trec"
    # recall@100: eval ranks the 100 that `search --limit 100` shows (how many are ranked
    # does not change the first: test_the_first_hits_do_not_depend_on_how_many_are_asked_for)
    result = run(
        index, "eval", "--queries", str(queries_file), "--qrels", str(qrels),
        "--metric", "recall@100", "--run-out", str(run_file),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    measured: dict[str, list[str]] = {}
    for line in run_file.read_text("utf-8").splitlines():
        qid, _, docid, _, _, _ = line.split()
        measured.setdefault(qid, []).append(docid)
    queries = read_queries(queries_file)
    judged = [qid for qid in read_qrels(qrels) if qid in queries]
    assert len(judged) == 809
    # most rank 100: more records match than the re-scoring depth and the cut
    assert sum(len(measured[qid]) == 100 for qid in judged) > 700
    ix = SearchIndex.open(index)
    typed = {qid: _as_search_text(ix, queries[qid]) for qid in judged}
    assert sum(typed[qid] != queries[qid] for qid in judged) == 2  # the two with quotes
    # Every query through the Python API the CLI calls (one open index: fast) …
    exports: list[str] = []  # the queries whose export is not empty
    for qid in judged:
        shown = search(ix, typed[qid], limit=100, with_snippets=False)
        assert [h.pmid for h in shown.hits] == measured[qid], qid
        counted = [h.pmid for h in shown.hits if not h.partial]
        assert counted == measured[qid][: shown.total], qid  # the counted ones come first
        if shown.total:  # the export (what --format pmid writes) holds the counted ones
            exported = search(ix, typed[qid], limit=100, with_snippets=False, partial=False)
            assert [h.pmid for h in exported.hits] == counted, qid
            exports.append(qid)
    assert len(exports) > 50  # most questions have no record with every word
    # … some through the CLI itself (each run opens the index anew: slower), exports
    # with records and without …
    for qid in judged[::100] + exports[:3]:
        shown = run(index, "search", typed[qid], "--format", "json", "--limit", "100")
        assert shown.exit_code == 0, shown.stderr
        hits_json = json.loads(shown.stdout)["hits"]
        assert [h["pmid"] for h in hits_json] == measured[qid], qid
        exported = run(index, "search", typed[qid], "--format", "pmid", "--limit", "100")
        assert exported.exit_code == 0, exported.stderr
        # the export holds the counted records (every word), in the same order
        expected = [h["pmid"] for h in hits_json if not h["partial"]]
        assert exported.stdout.split() == expected, qid
    # and as a real process
    proc = subprocess.run(
        [_searchkit_exe(), "search", typed[exports[0]], "--format", "json", "--limit", "100",
         "--index", str(index)],
        capture_output=True, text=True, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    hits_json = json.loads(proc.stdout)["hits"]
    assert [h["pmid"] for h in hits_json] == measured[exports[0]]
    assert not hits_json[0]["partial"]


def test_decoded_postings_belong_to_the_open_index_and_die_with_it(
    layouts: tuple[SearchIndex, SearchIndex],
) -> None:
    one, _ = layouts
    first, second = SearchIndex.open(one.path), SearchIndex.open(one.path)
    assert rank(first, "pulmonary fibrosis").pairs() == rank(second, "pulmonary fibrosis").pairs()
    assert first.postings_cache.size > 0 and second.postings_cache.size > 0
    cache = weakref.ref(first.postings_cache)
    other = second.postings_cache.size
    del first
    gc.collect()
    assert cache() is None  # nothing process-wide kept it
    assert second.postings_cache.size == other


def test_the_pmid_tie_keys_agree_whichever_way_they_are_read(
    layouts: tuple[SearchIndex, SearchIndex],
) -> None:
    """The PMID column (new indexes), the ``pmid`` terms and the stored records (indexes
    made before the column) give every document the same key."""
    _, many = layouts
    searcher = rank(many, "lung").searcher
    column = _pmid_column(searcher)
    assert column is not None
    stored = [str(searcher.stored_fields(d)["pmid"]) for d in range(searcher.doc_count_all())]
    assert [column[d] for d in range(len(stored))] == stored
    assert _all_pmids(searcher) == stored


def test_a_rankings_pmids_come_from_the_pmid_column_and_are_the_stored_ones(
    sample_index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ids()``/``pairs()`` read the PMID column, not each stored record (most of an
    eval's time at depth 1,000), and give what the stored records say; an index without
    the column is read from the stored records."""
    ranking = rank(sample_index, "breast cancer screening", limit=200)
    searcher = ranking.searcher
    stored = [str(searcher.stored_fields(d)["pmid"]) for _, d in ranking.ranked]
    assert len(stored) == 200
    reads = 0
    original = searcher.stored_fields  # Whoosh's searcher binds its reader's method

    def counting(docnum: int) -> dict[str, object]:
        nonlocal reads
        reads += 1
        return dict(original(docnum))

    monkeypatch.setattr(searcher, "stored_fields", counting)
    assert ranking.ids() == stored
    assert [p for p, _ in ranking.pairs()] == stored
    assert [s for _, s in ranking.pairs()] == [float(s) for s, _ in ranking.ranked]
    assert reads == 0
    monkeypatch.setattr(pipeline, "_pmid_column", lambda searcher: None)
    assert ranking.ids() == stored and reads == 200
