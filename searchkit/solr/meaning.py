"""Ranking by meaning on a Solr collection: the local semantic stage
(:mod:`searchkit.semantic.stage`) with the vectors kept in the cluster.

``searchkit embed`` encodes each record's title and abstract with the packaged sentence
encoder and re-sends the record with its vector in the ``vector`` field (Solr's
``DenseVectorField``: HNSW-indexed, cosine) and ``vector_key`` = the model's identity and
the digest of the text encoded. Records whose key does not carry the current model are the
ones still to encode, so an interrupted run goes on where it stopped, and a record that an
ingest re-sends (new or changed) has no vector until the next embed, as locally. Each
record is sent with the ``_version_`` it was read at and Solr's
``failOnVersionConflicts=false``: a record an ingest changed meanwhile is left to that
ingest (and to the next embed).

A search or ``eval`` then re-scores the top ``semantic_depth`` hits of the words-only
ranking exactly as locally (:func:`searchkit.semantic.stage.combine`); Solr computes the
cosines (the ``vectorSimilarity`` function over the stored vectors of those hits), the
client only encodes the query. The HNSW graph is not used to find candidates: as locally,
ranking by meaning reorders what the words found and never adds a record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from searchkit.errors import ModelError, NoVectorsError
from searchkit.index.documents import record_from_json, record_to_fields
from searchkit.params import DEFAULT, Params
from searchkit.query.parser import parse
from searchkit.semantic.embed import EmbedProgress, EmbedReport
from searchkit.semantic.encoder import Encoder
from searchkit.semantic.models import load_encoder, model_spec, verified_id
from searchkit.semantic.stage import combine, missing_note
from searchkit.semantic.topics import query_text
from searchkit.semantic.vectors import digest, embed_text
from searchkit.solr.configset import read_config_file, upload_file
from searchkit.solr.shared_state import list_config_dir
from searchkit.solr.translate import Json

if TYPE_CHECKING:
    from searchkit.searching.search import Filters, SearchResult
    from searchkit.solr.collection import Collection

VECTOR_FIELD = "vector"
KEY_FIELD = "vector_key"
#: The vector field's dimension (schema.xml): all-MiniLM-L6-v2's.
DIMENSION = 384
#: The model the collection's vectors are made with, kept with the configset.
INFO_DIR = "vectors"
INFO_FILE = f"{INFO_DIR}/model.json"
#: ``vector_key`` of a record with neither title nor abstract (nothing to encode).
NO_TEXT = "-"
#: Records read, encoded and re-sent per request.
EMBED_BATCH = 64
#: Characters of the model identity that begin each ``vector_key``.
MODEL_PREFIX = 16


@dataclass(frozen=True)
class CollectionStage:
    """A collection's vectors: the encoder they were made with and their key prefix."""

    encoder: Encoder
    prefix: str


def _prefix(model_id: str) -> str:
    return f"{model_id[:MODEL_PREFIX]}:"


def load_info(backend: Collection) -> dict[str, Any] | None:
    """The model the collection's vectors are made with (None: never embedded)."""
    name = backend._config_name()
    if INFO_FILE.split("/")[-1] not in list_config_dir(backend.client, name, INFO_DIR):
        return None
    text = read_config_file(backend.client, name, INFO_FILE)
    if not text.strip():
        return None
    info = json.loads(text)
    return info if isinstance(info, dict) and info.get("sha256") else None


def embed_collection(
    backend: Collection,
    model: Path | None = None,
    *,
    threads: int = 1,
    progress: EmbedProgress | None = None,
) -> EmbedReport:
    """Encode the records of the collection that have no vector of the packaged model and
    re-send them with it (committed at the end; each batch is durable in Solr's update
    log, so a run that stops keeps what it sent)."""
    spec = model_spec(model)
    encoder, verified = load_encoder(spec, threads=threads)
    if encoder.dimension != DIMENSION:
        raise ModelError(
            f"the model {spec.name} makes vectors of {encoder.dimension} dimensions; a Solr "
            f"collection's vector field holds {DIMENSION} (all-MiniLM-L6-v2's)"
        )
    model_id = verified_id(verified)
    prefix = _prefix(model_id)
    info = {"model": spec.name, "sha256": model_id, "dimension": encoder.dimension}
    upload_file(backend.client, backend._config_name(), INFO_FILE, json.dumps(info).encode("utf-8"))
    report = EmbedReport(model=spec.name, threads=encoder.threads)
    report.records = backend.record_count()
    todo: Json = {
        "bool": {
            "must": [{"lucene": {"query": "*:*"}}],
            "must_not": [
                {"prefix": {"f": KEY_FIELD, "query": prefix}},
                {"field": {"f": KEY_FIELD, "query": NO_TEXT}},
            ],
        }
    }
    cursor = "*"
    start = time.perf_counter()
    pending = -1
    while True:
        found = backend._select(
            {
                "query": todo,
                "fields": "id,record,_version_",
                "limit": EMBED_BATCH,
                "sort": "id asc",
                "params": {"cursorMark": cursor},
            }
        )
        if pending < 0:
            pending = int(found["response"]["numFound"])
            report.current = report.records - pending
            if progress is not None:
                progress(0, pending, 0.0)
        docs = found["response"]["docs"]
        if docs:
            _send_vectors(backend, encoder, prefix, docs, report)
            if progress is not None:
                progress(report.encoded + report.no_text, pending, time.perf_counter() - start)
        following = found.get("nextCursorMark", cursor)
        if not docs or following == cursor:
            break
        cursor = following
    backend.client.post(f"/{backend.address.collection}/update", {"commit": {}}, {"wt": "json"})
    report.seconds = time.perf_counter() - start
    counted = backend._select({"query": {"prefix": {"f": KEY_FIELD, "query": prefix}}, "limit": 0})
    report.stored = int(counted["response"]["numFound"])
    return report


def _send_vectors(
    backend: Collection,
    encoder: Encoder,
    prefix: str,
    docs: list[Json],
    report: EmbedReport,
) -> None:
    """Re-send one page of records with their vectors (or the no-text mark)."""
    out: list[Json] = []
    texts: list[str] = []
    with_text: list[Json] = []
    for doc in docs:
        fields = record_to_fields(record_from_json(doc["record"]), doc["record"])
        sent = {"id": doc["id"], **fields, "_version_": doc["_version_"]}
        text = embed_text(fields.get("title"), fields.get("abstract"))
        if text:
            texts.append(text)
            with_text.append(sent)
        else:
            sent[KEY_FIELD] = NO_TEXT
            report.no_text += 1
        out.append(sent)
    for sent, text, vector in zip(with_text, texts, encoder.encode(texts), strict=True):
        sent[VECTOR_FIELD] = [float(x) for x in vector]
        sent[KEY_FIELD] = prefix + digest(text).hex()
    report.encoded += len(texts)
    backend.client.post(
        f"/{backend.address.collection}/update",
        out,
        {"wt": "json", "failOnVersionConflicts": "false"},
    )


def open_collection_stage(
    backend: Collection, wanted: bool | None
) -> tuple[CollectionStage | None, str | None]:
    """The collection's semantic stage and a note for the user, as
    :func:`searchkit.semantic.stage.open_stage` for a local index: ``wanted`` None uses it
    when the collection has vectors, True requires it, False turns it off."""
    if wanted is False:
        return None, None
    info = load_info(backend)
    if info is None:
        if wanted:
            raise NoVectorsError(
                f"the collection {backend.location} has no sentence vectors; run "
                f"'searchkit embed --index {backend.location}' first"
            )
        return None, None
    try:
        encoder, verified = load_encoder(model_spec(None))
        if verified_id(verified) != info["sha256"]:
            raise ModelError(
                f"the installed model is not the one the vectors were made with "
                f"({info.get('model')}); run 'searchkit embed' again"
            )
    except ModelError as exc:
        if wanted:
            raise
        return None, f"semantic re-ranking is off: {exc}"
    return CollectionStage(encoder, _prefix(info["sha256"])), None


def _cosines(
    backend: Collection, stage: CollectionStage, text: str, pmids: list[str]
) -> tuple[np.ndarray, np.ndarray, int]:
    """Cosine of the query's vector with each record's (Solr's ``vectorSimilarity``),
    which of them are known (a current vector), and how many records with text have none."""
    query = stage.encoder.encode([text])[0]
    constant = "[" + ",".join(f"{x:.7g}" for x in query) + "]"
    found = backend._select(
        {
            "query": {"terms": {"f": "id", "query": ",".join(pmids)}},
            "fields": f"id,{KEY_FIELD},"
            f"cos:vectorSimilarity(FLOAT32,COSINE,{VECTOR_FIELD},{constant})",
            "limit": len(pmids),
        }
    )
    by_id = {d["id"]: d for d in found["response"]["docs"]}
    cosine = np.zeros(len(pmids), dtype=np.float32)
    known = np.zeros(len(pmids), dtype=bool)
    missing = 0
    for i, pmid in enumerate(pmids):
        doc = by_id.get(pmid, {})
        key = str(doc.get(KEY_FIELD) or "")
        if key.startswith(stage.prefix):
            # Lucene's cosine similarity is scaled to [0, 1]: (1 + cosine) / 2.
            cosine[i] = 2.0 * float(doc["cos"]) - 1.0
            known[i] = True
        elif key != NO_TEXT:
            missing += 1
    return cosine, known, missing


def rescore(
    backend: Collection,
    stage: CollectionStage,
    text: str,
    candidates: list[tuple[str, float]],
    params: Params = DEFAULT,
) -> tuple[list[tuple[str, float]], int]:
    """``candidates`` (PMID, words-only score; best first) with the first
    ``params.semantic_depth`` re-scored by meaning, and how many of those had no vector."""
    head, tail = candidates[: params.semantic_depth], candidates[params.semantic_depth :]
    if not head or not text:
        return candidates, 0
    cosine, known, missing = _cosines(backend, stage, text, [p for p, _ in head])
    if not known.any():
        return candidates, missing
    lexical = np.array([s for _, s in head], dtype=np.float64)
    combined = combine(lexical, cosine, known, params.semantic_alpha)
    order = sorted(range(len(head)), key=lambda i: (-float(combined[i]), i))
    ranked = [(head[i][0], float(combined[i])) for i in order]
    floor = min(s for _, s in ranked)
    below = [(pmid, floor - 1e-9 * (i + 1)) for i, (pmid, _) in enumerate(tail)]
    return ranked + below, missing


def rank_by_meaning(
    backend: Collection, stage: CollectionStage, text: str, limit: int
) -> list[tuple[str, float]]:
    """``eval``'s ranking of a natural-language query with the semantic stage."""
    candidates = backend.rank(text, max(limit, DEFAULT.semantic_depth))
    ranked, _missing = rescore(backend, stage, text, candidates)
    return ranked[:limit]


def search_by_meaning(
    backend: Collection,
    query: str,
    *,
    limit: int | None,
    offset: int,
    filters: Filters | None,
    with_snippets: bool,
    refs: Mapping[int, str] | None,
    wanted: bool | None,
) -> SearchResult | None:
    """A relevance-ranked search with the semantic stage; None when it does not apply (no
    vectors, turned off, or a query without topical words): the words-only search then."""
    stage, note = open_collection_stage(backend, wanted)
    text = query_text(parse(query)) if stage is not None else ""
    if stage is None or not text:
        if note is None:
            return None
        result = backend.search(
            query,
            limit=limit,
            offset=offset,
            filters=filters,
            sort="relevance",
            with_snippets=with_snippets,
            refs=refs,
        )
        return replace(result, notes=(*result.notes, note))
    depth = DEFAULT.semantic_depth
    need = None if limit is None else max(depth, offset + limit)
    words = backend.search(
        query,
        limit=need,
        offset=0,
        filters=filters,
        sort="relevance",
        with_snippets=with_snippets,
        refs=refs,
    )
    ranked, missing = rescore(backend, stage, text, [(h.pmid, h.score) for h in words.hits])
    by_pmid = {h.pmid: h for h in words.hits}
    end = None if limit is None else offset + limit
    hits = [
        replace(by_pmid[pmid], rank=offset + n + 1, score=score)
        for n, (pmid, score) in enumerate(ranked[offset:end])
    ]
    said = missing_note(missing)
    return replace(words, hits=hits, notes=(*words.notes, *([said] if said else [])))
