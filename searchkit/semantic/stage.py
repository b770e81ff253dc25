"""Third stage (optional): re-scoring the top candidates by meaning, with sentence vectors.

Word matching misses an abstract that says the same thing in other words; a sentence
encoder (all-MiniLM-L6-v2 by default, see :mod:`searchkit.semantic.encoder`) places texts of
similar meaning near each other. Once ``searchkit embed`` has stored a vector for each
record (:mod:`searchkit.semantic.vectors`), every free-text search re-scores its top
``semantic_depth`` candidates as::

    alpha * lexical / best lexical  +  (1 - alpha) * cosine(query, record)

The lexical score is scaled by the query's best one so that the two parts have the same
range whatever the query's length; candidates past that depth keep their order below.
The stage only reorders what the words found: it never adds a record the query does
not match, so boolean logic and filters mean what they say.

A candidate with no current vector (added or changed since the last ``embed``) gets the
median cosine of the others, so that it neither jumps up nor sinks, and is counted in
:attr:`Rescored.missing` for the caller to report.

``alpha`` (``semantic_alpha`` of :class:`~searchkit.params.Params`) was chosen on
SciFact train by 5-fold cross-validation (every fold chose 0.3; BENCHMARKS.md, issue 3).
:class:`Stage` is what the ranking pipeline (:func:`searchkit.searching.pipeline.rank`) is given
as its optional third stage: the pipeline does not import this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from whoosh.searching import Searcher

from searchkit.errors import ModelError, NoVectorsError, VectorStoreError
from searchkit.params import DEFAULT, Params
from searchkit.query.syntax import Node
from searchkit.semantic.encoder import Encoder
from searchkit.semantic.models import store_encoder
from searchkit.semantic.topics import query_text
from searchkit.semantic.vectors import VectorStore, record_key

if TYPE_CHECKING:
    from searchkit.index.searchindex import SearchIndex
    from searchkit.searching.embedding import EmbedProgress, EmbedReport


@dataclass(frozen=True)
class Rescored:
    """The re-scored candidates, best first, and how many had no vector."""

    ranked: list[tuple[float, int]]
    missing: int


def rescore(
    searcher: Searcher,
    store: VectorStore,
    encoder: Encoder,
    text: str,
    candidates: list[tuple[float, int]],
    params: Params = DEFAULT,
) -> Rescored:
    """Re-score the first ``params.semantic_depth`` of ``candidates`` (score, docnum;
    best first)."""
    depth = params.semantic_depth
    head, tail = candidates[:depth], candidates[depth:]
    keys = [record_key(searcher.stored_fields(docnum)) for _, docnum in head]
    found, vectors = store.lookup([k for k in keys if k is not None])
    has_text = np.array([k is not None for k in keys], dtype=bool)
    # Records without text are never encoded: they are not "missing" a vector.
    missing = int((~found).sum())
    if not found.any():
        return Rescored(candidates, missing)
    cosine = np.zeros(len(head), dtype=np.float32)
    cosine[has_text] = vectors @ encoder.encode([text])[0]
    known = np.zeros(len(head), dtype=bool)
    known[has_text] = found
    lexical = np.array([s for s, _ in head], dtype=np.float64)
    combined = combine(lexical, cosine, known, params.semantic_alpha)
    ranked = sorted(
        ((float(c), docnum) for c, (_, docnum) in zip(combined, head, strict=True)),
        key=lambda p: (-p[0], p[1]),
    )
    # Candidates past the depth stay below the re-scored ones, in their own order.
    floor = min((s for s, _ in ranked), default=0.0)
    below = [(floor - 1e-9 * (i + 1), docnum) for i, (_, docnum) in enumerate(tail)]
    return Rescored(ranked + below, missing)


def combine(lexical: np.ndarray, cosine: np.ndarray, known: np.ndarray, alpha: float) -> np.ndarray:
    """``alpha * lexical / best lexical + (1 - alpha) * cosine`` per candidate; a candidate
    whose cosine is not ``known`` (no vector) gets the median of the others' (``cosine``
    is changed in place). At least one cosine must be known."""
    cosine[~known] = float(np.median(cosine[known]))
    best = lexical.max()
    scaled = lexical / best if best > 0 else np.zeros_like(lexical)
    return alpha * scaled + (1 - alpha) * cosine


@dataclass(frozen=True)
class Stage:
    """An index's vectors with the encoder they were made with."""

    store: VectorStore
    encoder: Encoder

    def rescore(
        self,
        searcher: Searcher,
        node: Node,
        candidates: list[tuple[float, int]],
        params: Params = DEFAULT,
    ) -> Rescored:
        """The pipeline's third stage: ``candidates`` re-scored by the meaning of the
        topical words of ``node`` (unchanged when it has none)."""
        text = query_text(node)
        if not text:
            return Rescored(candidates, 0)
        return rescore(searcher, self.store, self.encoder, text, candidates, params)


def open_stage(index_path: Path, wanted: bool | None) -> tuple[Stage | None, str | None]:
    """The semantic stage of the index at ``index_path`` and a note for the user.

    ``wanted``: None uses the stage when the index has vectors (and says why not when
    their model cannot be loaded); True requires it (errors instead); False turns it off.
    """
    if wanted is False:
        return None, None
    try:
        store = VectorStore(index_path)
    except VectorStoreError as exc:
        if wanted:
            raise
        return None, f"semantic re-ranking is off: {exc}; run 'searchkit embed' to remake it"
    if store.info is None or len(store) == 0:
        if wanted:
            raise NoVectorsError(
                f"the index at {index_path} has no sentence vectors; run 'searchkit embed' first"
            )
        return None, None
    try:
        encoder = store_encoder(store)
    except ModelError as exc:
        if wanted:
            raise
        return None, f"semantic re-ranking is off: {exc}"
    return Stage(store, encoder), None


class SemanticProvider:
    """The semantic stage as the ranking pipeline takes it
    (:class:`searchkit.searching.pipeline.MeaningProvider`)."""

    def wants(self, node: Node) -> bool:
        return bool(query_text(node))

    def open(self, index_path: Path, wanted: bool | None) -> tuple[Stage | None, str | None]:
        return open_stage(index_path, wanted)

    def missing_note(self, missing: int) -> str | None:
        return missing_note(missing)

    def embed(
        self,
        index: SearchIndex,
        model: Path | None,
        *,
        threads: int,
        progress: EmbedProgress | None,
        checkpoint: int,
    ) -> EmbedReport:
        from searchkit.semantic.embed import embed  # the encoder: only when embedding

        return embed(index, model, threads=threads, progress=progress, checkpoint=checkpoint)


#: What callers of :func:`searchkit.searching.search.search`, ``Ranker``, ``evaluate``
#: and ``run_strategy`` pass as ``meaning`` to rank by meaning too.
PROVIDER = SemanticProvider()


def missing_note(missing: int) -> str | None:
    if not missing:
        return None
    records = "record has" if missing == 1 else "records have"
    return (
        f"{missing} of the top candidates' {records} no sentence vector yet (added or changed "
        "since 'searchkit embed'); run it again to rank them by meaning too"
    )
