"""The local second stage (:mod:`searchkit.searching.rerank`) for a collection's ranking.

The first ``params.rerank_depth`` hits of a natural-language query are re-scored by the
same query-term evidence as locally (idf-weighted coverage of the query's concepts,
in the title, and in the best passage of the abstract read with its title), with the
same formula and values. Solr cannot compute a best passage, so it is done here: the
candidates' stored records are analysed by searchkit's own analyzer (the terms and
positions the local index holds for them), and the concepts and their weights come from
the local query compiler; the document frequencies that weight them are the
collection's (query facets counted over every record, one request for the records and
the counts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from whoosh.fields import Schema

from searchkit.index.documents import record_from_json, record_to_fields
from searchkit.index.schema import TEXT_FIELDS, build_schema
from searchkit.params import DEFAULT, Params
from searchkit.query.free_text import free_text_query
from searchkit.searching.rerank import PASSAGE_FIELD, TITLE_FIELD, Concept, concepts_by, evidence

Json = dict[str, Any]
Select = Callable[[Json], Json]


@functools.cache
def _schema() -> Schema:
    return build_schema()


def _term_query(field: str, text: str) -> str:
    return f"{{!term f={field}}}{text}"


def rescore(
    select: Select,
    text: str,
    candidates: list[tuple[str, float]],
    params: Params = DEFAULT,
) -> list[tuple[str, float]]:
    """``candidates`` ((PMID, score), best first) with the first ``params.rerank_depth``
    re-scored by query-term evidence and re-sorted (ties by PMID); the rest follow
    unchanged. ``select`` sends a JSON request to the collection's ``/select``."""
    depth, weight = params.rerank_depth, params.rerank_weight
    if not candidates or not weight or depth <= 0:
        return candidates
    schema = _schema()
    query = free_text_query(schema, text, params=params)
    wanted: set[tuple[str, str]] = set()

    def asked(field: str, term: str) -> int:  # which frequencies the concepts need
        wanted.add((field, term))
        return 0

    concepts_by(query, 1, asked)
    if not wanted:
        return candidates
    head, tail = candidates[:depth], candidates[depth:]
    keys = sorted(wanted)
    facets: Json = {"n": {"type": "query", "q": "*:*", "domain": {"query": "*:*"}}}
    for i, (field, term) in enumerate(keys):
        facets[f"d{i}"] = {"type": "query", "q": _term_query(field, term),
                           "domain": {"query": "*:*"}}  # fmt: skip
    found = select(
        {
            "query": {"terms": {"f": "id", "query": ",".join(pmid for pmid, _ in head)}},
            "limit": len(head),
            "fields": "id,record",
            "facet": facets,
        }
    )
    counts = found.get("facets", {})
    frequency = {key: int(counts.get(f"d{i}", {}).get("count", 0)) for i, key in enumerate(keys)}
    n_docs = max(int(counts.get("n", {}).get("count", 0)), 1)
    found_concepts = concepts_by(query, n_docs, lambda field, term: frequency[(field, term)])
    weights = [c.weight for c in found_concepts]
    total = sum(weights)
    if total <= 0:
        return candidates
    records = {d["id"]: d["record"] for d in found["response"]["docs"]}
    scale = weight * max(score for _, score in head) / total
    rescored = []
    for pmid, score in head:
        record = records.get(pmid)
        bonus = _evidence(schema, record, found_concepts, weights, params) if record else 0.0
        rescored.append((pmid, score + scale * bonus))
    rescored.sort(key=lambda item: (-item[1], item[0]))
    return rescored + tail


def _evidence(
    schema: Schema,
    record_json: str,
    concepts: list[Concept],
    weights: list[float],
    params: Params,
) -> float:
    """The evidence of one record, from its text analysed as the local index does."""
    fields = record_to_fields(record_from_json(record_json), record_json)
    found: set[int] = set()
    in_title: set[int] = set()
    events: list[tuple[int, int]] = []
    for field in TEXT_FIELDS:
        value = fields.get(field)
        if not value:
            continue
        positions: dict[str, list[int]] = {}
        for token in schema[field].analyzer(value, positions=True, mode="index"):
            positions.setdefault(token.text, []).append(token.pos)
        for i, concept in enumerate(concepts):
            held = [p for f, t in concept.terms if f == field for p in positions.get(t, ())]
            if not held:
                continue
            found.add(i)
            if field == TITLE_FIELD:
                in_title.add(i)
            elif field == PASSAGE_FIELD:
                events.extend((p, i) for p in held)
    return evidence(weights, found, in_title, events, params)
