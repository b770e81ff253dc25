"""The second ranking stage: query-term evidence over the top candidates."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from whoosh.searching import Searcher

from searchkit import SearchIndex, search
from searchkit.engine import scoring
from searchkit.engine.docgroup import DocGroup
from searchkit.engine.nodes import weighting
from searchkit.params import DEFAULT
from searchkit.query.compile import parse_query
from searchkit.searching import rerank
from searchkit.searching.search import Ranker

from .conftest import SEED_PMID

QUERY = "immune escape MHC"


def _searcher(index: SearchIndex) -> Searcher:
    return index.whoosh_index.searcher(weighting=weighting())


def test_best_window_sums_distinct_concepts_inside_the_window() -> None:
    weights = [1.0, 2.0, 4.0]
    events = [(0, 0), (1, 0), (10, 1), (12, 2), (40, 0)]
    assert rerank.best_window(events, weights, 5) == 6.0  # positions 10 and 12
    assert rerank.best_window(events, weights, 13) == 7.0  # 0 … 12: all three
    assert rerank.best_window(events, weights, 1) == 4.0  # one position at a time
    assert rerank.best_window([], weights, 5) == 0.0


def test_concepts_come_from_the_free_text_with_idf_weights(sample_index: SearchIndex) -> None:
    schema = sample_index.whoosh_index.schema
    q = parse_query(schema, QUERY, acronyms=sample_index.acronyms)
    with _searcher(sample_index) as s:
        found = rerank.concepts(s, q)
        assert len(found) == 3  # proximity bonuses are not concepts
        immune, escape, mhc = found
        assert ("title", "immun") in immune.terms and ("abstract", "immun") in immune.terms
        # the rarer word weighs more
        rarer = s.doc_frequency("abstract", "escap") < s.doc_frequency("abstract", "immun")
        assert (escape.weight > immune.weight) == rarer
        # the acronym's long form counts as the concept (the seed article only spells it out)
        assert any(words[:2] == ("major", "histocompat") for _, words, _ in mhc.phrases)


def test_rerank_reorders_only_the_head_and_never_lowers_a_score(
    sample_index: SearchIndex,
) -> None:
    params = replace(DEFAULT, rerank_depth=20)
    q = parse_query(sample_index.whoosh_index.schema, "cancer stem cells escape immune control")
    with _searcher(sample_index) as s:
        first, _ = scoring.top_docs(s, q, 60)
        assert len(first) == 60
        out = rerank.rerank(s, q, first, params)
    assert out[20:] == first[20:]
    assert {d for _, d in out[:20]} == {d for _, d in first[:20]}
    assert [s for s, _ in out[:20]] == sorted((s for s, _ in out[:20]), reverse=True)
    old = dict((d, s) for s, d in first)
    assert all(score >= old[d] for score, d in out)
    assert min(s for s, _ in out[:20]) >= first[20][0]  # the head stays above the tail


def test_with_equal_scores_the_document_covering_more_of_the_query_wins(
    sample_index: SearchIndex,
) -> None:
    q = parse_query(sample_index.whoosh_index.schema, QUERY, acronyms=sample_index.acronyms)
    with _searcher(sample_index) as s:
        seed = s.document_number(pmid=SEED_PMID)
        # a record that mentions "immune" but neither "escape" nor MHC in any form
        immune_only = next(
            d
            for d in s.reader().postings("abstract", "immun").all_ids()
            if d != seed
            and not any(
                (f, t) in s.reader() and d in set(s.reader().postings(f, t).all_ids())
                for f in ("title", "abstract")
                for t in ("escap", "mhc", "histocompat")
            )
        )
        for order in ([(1.0, immune_only), (1.0, seed)], [(1.0, seed), (1.0, immune_only)]):
            assert rerank.rerank(s, q, order)[0][1] == seed


def test_off_switch_and_queries_without_free_text_are_left_alone(
    sample_index: SearchIndex,
) -> None:
    schema = sample_index.whoosh_index.schema
    with _searcher(sample_index) as s:
        tagged = parse_query(schema, "cancer[ti]")
        first, _ = scoring.top_docs(s, tagged, 30)
        assert rerank.rerank(s, tagged, first) == first
        q = parse_query(schema, QUERY, acronyms=sample_index.acronyms)
        first, _ = scoring.top_docs(s, q, 30)
        assert rerank.rerank(s, q, first, replace(DEFAULT, rerank_weight=0.0)) == first
        assert rerank.rerank(s, q, []) == []


def test_search_and_eval_rank_alike(sample_index: SearchIndex) -> None:
    query = "cancer stem cells escape immune control in tumors"
    hits = search(sample_index, query, limit=10).hits
    with Ranker(sample_index) as ranker:
        ranked = ranker.rank(query, limit=10)
    assert [h.pmid for h in hits] == [pmid for pmid, _ in ranked]
    # paging reads the same ranking
    page2 = search(sample_index, query, limit=5, offset=5).hits
    assert [h.pmid for h in page2] == [h.pmid for h in hits[5:]]


def _reference_rerank(
    s: Searcher, q: Any, candidates: list[tuple[float, int]], params: Any
) -> list[tuple[float, int]]:
    """:func:`rerank.rerank` candidate by candidate: each one's concepts gathered from
    its own postings and positions, and :func:`rerank.evidence` (what the Solr backend
    computes record by record)."""
    found = rerank.concepts(s, q)
    weights = [c.weight for c in found]
    head, tail = candidates[: params.rerank_depth], candidates[params.rerank_depth :]
    docnums = sorted(d for _, d in head)
    group = DocGroup(s, docnums)
    where: list[dict[str, dict[int, list[int]]]] = []
    for concept in found:
        fields: dict[str, dict[int, list[int]]] = {}
        for field, text in concept.terms:
            if field == rerank.PASSAGE_FIELD:
                held = group.positions(field, text)
            else:
                held = {d: [] for d in group.containing(field, text)}
            for d, ps in held.items():
                fields.setdefault(field, {}).setdefault(d, []).extend(ps)
        for field, words, slop in concept.phrases:
            for key in group.phrase_starts(field, list(words), slop).tolist():
                fields.setdefault(field, {}).setdefault(key >> 32, []).append(key & 0xFFFFFFFF)
        where.append(fields)
    scale = params.rerank_weight * max(score for score, _ in head) / sum(weights)
    rescored = []
    for score, d in head:
        anywhere = {i for i, fields in enumerate(where) if any(d in f for f in fields.values())}
        in_title = {i for i, fields in enumerate(where) if d in fields.get(rerank.TITLE_FIELD, {})}
        events = [
            (p, i)
            for i, fields in enumerate(where)
            for p in fields.get(rerank.PASSAGE_FIELD, {}).get(d, [])
        ]
        bonus = rerank.evidence(weights, anywhere, in_title, events, params)
        rescored.append((score + scale * bonus, d))
    rescored.sort(key=lambda item: (-item[0], item[1]))
    return rescored + tail


def test_every_candidate_gets_the_evidence_of_its_own_postings(
    sample_index: SearchIndex,
) -> None:
    """The second stage computes every candidate's evidence at once (arrays of the
    candidates' concepts and positions): the same scores, to the last bit, as
    :func:`rerank.evidence` gives each candidate from its own postings (titles, phrases
    of acronym long forms, compounds, stop-word gaps)."""
    schema = sample_index.whoosh_index.schema
    queries = [
        QUERY,
        "cancer stem cells escape immune control",
        "PD-L1 expression in tumor cells",
        "breast cancer risk in women",
        "the effect of vitamin D on bone",
    ]
    compared = 0
    with _searcher(sample_index) as s:
        for text in queries:
            q = parse_query(schema, text, acronyms=sample_index.acronyms)
            first, _ = scoring.top_docs(s, q, 150)
            for depth in (100, 7):
                params = replace(DEFAULT, rerank_depth=depth)
                assert rerank.rerank(s, q, first, params) == _reference_rerank(s, q, first, params)
                compared += min(depth, len(first))
    assert compared > 400


def test_best_window_counts_each_concept_once_however_often_it_occurs() -> None:
    weights = [0.1, 0.2, 0.7]
    events = [(5, 2), (6, 2), (6, 0), (7, 1), (30, 1), (31, 2)]
    assert rerank.best_window(events, weights, 1) == 0.1 + 0.7  # 6: concept 2 once
    assert rerank.best_window(events, weights, 2) == 0.1 + 0.2 + 0.7  # 6 … 7
    assert rerank.best_window(events, weights, 40) == 0.1 + 0.2 + 0.7
    assert rerank.best_window(events[4:], weights, 1) == 0.7
