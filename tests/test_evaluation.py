"""The query evaluation in arrays (:mod:`searchkit.engine.scoring`) against the one it
replaced (:mod:`tests.dense_evaluation`, whole-segment arrays): the same documents and
the same scores on real queries over real records, and work that follows a term's
postings rather than the segment's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import query as wq
from whoosh.formats import Positions
from whoosh.searching import Searcher

from searchkit import SearchIndex, ingest
from searchkit.engine import scoring
from searchkit.engine.compact_positions import CompactPositions, compact_arrays
from searchkit.engine.nodes import BestMatch, Expansion, FieldedTerm, weighting
from searchkit.engine.position_values import position_arrays
from searchkit.engine.postings import SegmentArrays
from searchkit.params import DEFAULT
from searchkit.query.allwords import all_words
from searchkit.query.parser import parse
from searchkit.searching import pipeline
from searchkit.searching.feedback import expand_query

from . import dense_evaluation
from .conftest import ROOT, SAMPLE_SUBSET, segmented_index

#: 2-4 words of SciFact claims, a third with a quoted phrase, a fifth with a field tag.
BENCHMARK_QUERIES = (ROOT / "benchmarks" / "queries.txt").read_text("utf-8").splitlines()
#: Every other kind of query the evaluator meets: phrases with stop words and compounds,
#: proximity, field tags, boolean operators with NOT, MeSH, years, authors, wildcards.
MORE_QUERIES = [
    '"breast cancer" screening',
    '"spine in children"',
    "IL-6 expression tumour",
    '"TNF-alpha" inflammation',
    '"tumor escape"~5',
    '"hip pain"[tiab:~2]',
    '"immune cells"[ti:~3] response',
    "cancer stem cells[ti]",
    "cancer[ti] AND therapy[tiab]",
    "cancer OR tumor NOT mice",
    "(breast OR lung) AND cancer NOT mice[mh]",
    "humans[mh] treatment outcome",
    "cancer AND 2000:2020[dp]",
    "smith j[au]",
    "immun* response",
    "randomi*ed trial",
    "covid-19 vaccine efficacy",
    "gene expression profiling microarray analysis",
    "protein",
]


@pytest.fixture(scope="module")
def layered_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real records of data/ (but its largest file) in several segments, some of
    their documents deleted: what a long-lived index looks like."""
    path = tmp_path_factory.mktemp("layered") / "ix"
    return segmented_index(path, [SAMPLE_SUBSET[::4], SAMPLE_SUBSET[1::4]], 17)


def _queries(index: SearchIndex) -> list[tuple[str, wq.Query, int | None]]:
    out = []
    for text in BENCHMARK_QUERIES + MORE_QUERIES:
        q, _ = pipeline.compile_query(index, parse(text), DEFAULT)
        out.append((text, q, None))
        out.append((text, all_words(q), 0))  # what the pipeline counts
    return out


def _compare(searcher: Searcher, queries: list[tuple[str, wq.Query, int | None]]) -> int:
    """Asserts identical documents and scores; returns how many queries matched some."""
    matched = 0
    for text, q, depth in queries:
        new = scoring.evaluate(searcher, q, DEFAULT, depth=depth)
        old = dense_evaluation.evaluate(searcher, q, DEFAULT, depth=depth)
        assert new.docnums.tolist() == old.docnums.tolist(), text
        np.testing.assert_allclose(new.scores, old.scores, rtol=0, atol=1e-9, err_msg=text)
        matched += bool(len(new))
    return matched


@pytest.mark.slow
def test_same_documents_and_scores_on_a_layered_index(layered_index: Path) -> None:
    index = SearchIndex.open(layered_index)
    searcher = index.shared_searcher(weighting(DEFAULT))
    assert len(searcher.leaf_searchers()) > 1
    assert any(sub.reader().has_deletions() for sub, _ in searcher.leaf_searchers())
    queries = _queries(index)
    assert _compare(searcher, queries) > len(queries) // 4


@pytest.mark.slow
def test_the_records_of_a_query_are_found_without_scoring_its_free_text(
    layered_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a count needs (did-you-mean's: does the correction find more?) is the
    documents alone: those :func:`scoring.evaluate` scores, feedback terms included,
    found from the postings without scoring the free text over them."""
    index = SearchIndex.open(layered_index)
    searcher = index.shared_searcher(weighting(DEFAULT))
    queries = [q for _, q, _ in _queries(index)]
    queries += [expand_query(searcher, q, DEFAULT) for q in queries if isinstance(q, BestMatch)][
        ::5
    ]
    assert any(isinstance(sub, Expansion) for q in queries for sub in getattr(q, "subqueries", ()))
    expected = [scoring.evaluate(searcher, q, DEFAULT, depth=0).docnums for q in queries]

    def scored(*_args: object) -> None:
        raise AssertionError("the free text was scored")

    monkeypatch.setattr(scoring.Evaluator, "best_match_base", scored)
    for q, docs in zip(queries, expected, strict=True):
        assert scoring.matching_docs(searcher, q).tolist() == docs.tolist(), q
    assert sum(bool(len(d)) for d in expected) > len(queries) // 4


@pytest.mark.slow
def test_same_ranking_through_the_pipeline(
    layered_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole ranking path (coordination, proximity, counted first, re-ranking, ties
    by PMID) gives the same PMIDs in the same order with the same scores."""
    index = SearchIndex.open(layered_index)
    texts = BENCHMARK_QUERIES[::4] + MORE_QUERIES
    new = [pipeline.rank(index, t, limit=20).pairs() for t in texts]
    monkeypatch.setattr(pipeline.scoring, "evaluate", dense_evaluation.evaluate)
    old = [pipeline.rank(index, t, limit=20).pairs() for t in texts]
    for text, a, b in zip(texts, new, old, strict=True):
        assert [p for p, _ in a] == [p for p, _ in b], text
        np.testing.assert_allclose([s for _, s in a], [s for _, s in b], atol=1e-9, err_msg=text)
    assert sum(bool(a) for a in new) > len(texts) // 4


@pytest.mark.slow
def test_same_on_scifact_train_questions(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SciFact's train claims (free text, as ``eval`` reads them) over 600 of its
    abstracts in two segments."""
    import json

    from searchkit.query.syntax import FreeText

    corpus = tmp_path_factory.mktemp("scifact") / "corpus.jsonl"
    with (shared_data / "beir" / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        lines = [next(f) for _ in range(600)]
    index = SearchIndex.create(tmp_path_factory.mktemp("scifact-ix") / "ix")
    for half in (lines[:300], lines[300:]):
        corpus.write_text("".join(half), encoding="utf-8")
        assert ingest([corpus], index).ok
    with (shared_data / "beir" / "scifact" / "queries.jsonl").open(encoding="utf-8") as f:
        claims = [json.loads(line)["text"] for line in f][:120]
    queries = []
    for claim in claims:
        q, _ = pipeline.compile_query(index, FreeText(tuple(claim.split()), 1), DEFAULT)
        queries.extend([(claim, q, None), (claim, all_words(q), 0)])
    searcher = index.shared_searcher(weighting(DEFAULT))
    assert _compare(searcher, queries) > len(queries) // 2


class _Largest:
    """Stands for NumPy in an evaluation module and records the length of the largest
    array any NumPy function made for it (its arrays are made by NumPy functions;
    indexing only ever takes from those)."""

    def __init__(self) -> None:
        self.largest = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(np, name)
        if isinstance(real, type) or not callable(real):
            return real

        def recorded(*args: Any, **kwargs: Any) -> Any:
            out = real(*args, **kwargs)
            for value in out if isinstance(out, tuple) else (out,):
                if isinstance(value, np.ndarray):
                    self.largest = max(self.largest, value.size)
            return out

        return recorded


def _largest_array(
    module: Any, monkeypatch: pytest.MonkeyPatch, searcher: Searcher, q: wq.Query
) -> int:
    module.evaluate(searcher, q, DEFAULT)  # postings read and cached before
    recorder = _Largest()
    with monkeypatch.context() as patch:
        patch.setattr(module, "np", recorder)
        module.evaluate(searcher, q, DEFAULT)
    return recorder.largest


def test_a_term_costs_its_postings_not_the_segment(
    layered_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No array of a term's evaluation is longer than the term's postings: a term of
    one record costs one record, a common one its postings; the whole-segment
    evaluation made arrays as long as the index (read as one segment) for either."""
    index = SearchIndex.open(layered_index)
    searcher = index.shared_searcher(weighting(DEFAULT))
    readers = [sub.reader() for sub, _ in searcher.leaf_searchers()]
    index_size = searcher.doc_count_all()
    postings = {
        text: sum(len(SegmentArrays(r).postings("abstract", text)[0]) for r in readers)
        for text in ("patient", "studi", "cancer", "result")
    }
    common = max(postings, key=lambda t: postings[t])
    rare = next(
        raw.decode()
        for raw, info in readers[0].iter_field("abstract")
        if searcher.doc_frequency("abstract", raw) == 1
    )

    def term(text: str) -> FieldedTerm:
        return FieldedTerm([wq.Term("abstract", text), wq.Term("title", text, boost=2.0)])

    assert _largest_array(scoring, monkeypatch, searcher, term(rare)) <= 2
    assert _largest_array(dense_evaluation, monkeypatch, searcher, term(rare)) == index_size
    in_both = postings[common] + sum(
        len(SegmentArrays(r).postings("title", common)[0]) for r in readers
    )
    assert _largest_array(scoring, monkeypatch, searcher, term(common)) <= in_both
    assert in_both < max(r.doc_count_all() for r in readers)


def test_proximity_counts_pairs_within_the_window() -> None:
    """Pairs of positions at most ``window`` apart in either order, never the same
    position, per document; a position near a document's start never reaches the
    previous document."""
    a = np.array([(0 << 32) | 3, (0 << 32) | 10, (2 << 32) | 0, (2 << 32) | 1], dtype=np.int64)
    b = np.array([(0 << 32) | 5, (0 << 32) | 3, (1 << 32) | 2, (2 << 32) | 4], dtype=np.int64)
    b.sort()
    docs = np.array([0, 2], dtype=np.int64)
    # doc 0: (3,5) yes, (3,3) no, (10,5) no with window 4; doc 2: (0,4) (1,4)
    assert scoring.near_counts(a, b, 4, docs).tolist() == [1.0, 2.0]
    assert scoring.near_counts(a, b, 5, docs).tolist() == [2.0, 2.0]


@pytest.mark.slow
def test_positions_decoded_in_arrays_as_value_by_value(layered_index: Path) -> None:
    """The array decoding of ``Positions`` values gives what decoding each value gives:
    on values Whoosh's own format encodes (one position, deltas from 256 on, a list
    pickled in several batches, positions past 65,535) and on the index's postings
    (compact values, read by :func:`compact_arrays`, then encoded again in Whoosh's
    format, as indexes of format 7 and before hold them)."""
    fmt = Positions()
    lists = [[5], [0], [255], [256], [3, 7], [1, 300, 301], list(range(1001)), [70_000]]
    lists += [list(range(0, 3000, 2)), list(range(5, 900, 3)), [2**20, 2**20 + 1]]
    lists += [[i, i + 2, i + 40] for i in range(200)]
    values = [fmt.encode(positions) for positions in lists]
    ends = np.cumsum([len(v) for v in values]).astype(np.int64)
    starts = ends - np.array([len(v) for v in values], dtype=np.int64)
    counts, positions = position_arrays(fmt, b"".join(values), starts, ends)
    assert counts.tolist() == [len(p) for p in lists]
    assert positions.tolist() == [p for ps in lists for p in ps]

    index = SearchIndex.open(layered_index)
    leaves = index.shared_searcher(weighting(DEFAULT)).leaf_searchers()
    reader = max((sub.reader() for sub, _ in leaves), key=lambda r: r.doc_count_all())
    arrays = SegmentArrays(reader)
    checked = 0
    for raw, _ in reader.iter_field("abstract"):
        ids = arrays.postings("abstract", raw.decode())[0]
        if len(ids) < 4:
            continue
        by_value = arrays.positions("abstract", raw.decode(), ids)
        blob = arrays.entry("abstract", raw.decode()).values
        assert blob is not None
        assert type(reader.schema["abstract"].format) is CompactPositions
        expected_counts = [len(by_value[d]) for d in ids.tolist()]
        expected = [p for d in ids.tolist() for p in by_value[d]]
        counts, positions = compact_arrays(blob.blob, blob.starts, blob.ends)
        assert counts.tolist() == expected_counts and positions.tolist() == expected
        values = [fmt.encode(by_value[d]) for d in ids.tolist()]
        ends = np.cumsum([len(v) for v in values]).astype(np.int64)
        starts = ends - np.array([len(v) for v in values], dtype=np.int64)
        counts, positions = position_arrays(fmt, b"".join(values), starts, ends)
        assert counts.tolist() == expected_counts and positions.tolist() == expected
        checked += 1
    assert checked > 20
