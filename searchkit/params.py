"""Every ranking tuning value (and the segment merge policy's), in one frozen object
that is passed, never patched.

A search, an evaluation or a test that wants other values builds a new object with
:func:`dataclasses.replace` (``replace(DEFAULT, k1=1.5)``) and passes it; no module
global is changed. Each value says where it comes from: measured on the SciFact train
queries (BENCHMARKS.md, "ranking quality") or a published default.

The analysis of the text (stemmer, stop words, compounds) is part of the index, not of
these values: it cannot change without re-indexing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Params:
    """How a query is ranked (see the module docstring for how to vary them)."""

    # -- first stage: BM25F (searchkit.engine.scoring) ----------------------------------------
    #: Term-frequency saturation: the standard BM25 value (Robertson & Zaragoza); on
    #: SciFact train 1.6 was +0.003, within noise, not taken.
    k1: float = 1.2
    #: Length normalisation, every field: the standard value; 0.6 on SciFact train
    #: scored the same (0.7058 against 0.7057 with the second stage).
    b: float = 0.75
    #: Per-field length normalisation as (field, b) pairs, overriding ``b``; b(title)
    #: 0.3 was no better on SciFact train, so none.
    field_b: tuple[tuple[str, float], ...] = ()
    #: Coordination: score x (matched concepts / concepts) ** coordination. SciFact
    #: train: the largest single gain (+0.02 over 1.0); 0.1 was +0.002 but lets partial
    #: matches of short queries overtake complete ones.
    coordination: float = 0.25
    #: Weight of a compound's parts (beta, catenin) relative to its catenation. SciFact
    #: train: full weight was +0.004, not taken (it counts a compound three times).
    part_weight: float = 0.5
    #: Parts shorter than this are searched only within their compound (PD-L1's "l1"):
    #: a one- or two-letter fragment says nothing alone (a design choice, not measured).
    min_part_alone: int = 3
    #: Sequential-dependence proximity: weight of the bonus of adjacent query words
    #: near each other. SciFact train: neutral (-0.0015 against 0; 0.5 and 1.0 hurt);
    #: it puts the seed article first for "immune escape MHC".
    proximity_weight: float = 0.2
    #: How near (positions) the adjacent words must be; SciFact train: 2 was within
    #: noise of 4.
    proximity_window: int = 4
    #: Fields the proximity bonus looks at.
    proximity_fields: tuple[str, ...] = ("title", "abstract")
    #: How many of the best documents get the proximity bonus (positions are decoded for
    #: them alone). Fixed, so that the first N hits do not depend on how many are asked
    #: for; as deep as the second stage.
    proximity_depth: int = 100
    #: Top-k pruning (MaxScore) of a free-text query's matches when a number of hits is
    #: asked for, and the records counted (every word) found from the postings without
    #: scoring them again: the same ranking, scores and counts, without scoring the
    #: documents that cannot reach the top (BENCHMARKS.md, "Top-k pruning"). Not a
    #: tuning value: False scores every match, and the counting query too (for
    #: comparisons).
    prune: bool = True
    #: Weight of acronym expansions (MHC ⇄ major histocompatibility complex) relative to
    #: the typed words; neutral on SciFact train (+0.0007).
    acronym_weight: float = 0.2

    # -- second stage: re-scoring by query-term evidence (searchkit.searching.rerank) ------------
    #: How many first-stage candidates are re-scored (SciFact train, issue 3).
    rerank_depth: int = 100
    #: Weight of the evidence in units of the best first-stage score (0: stage off).
    #: Measured on SciFact train in four forms, the claims and keyword queries over
    #: records with and without titles (benchmarks/ranking_variants.py, BENCHMARKS.md
    #: "Ranking quality"): 1 scores above 3 and above 0 in all four. 3, chosen on the
    #: claims over titled records alone (5-fold CV, issue 3), weighed the evidence most
    #: where records have no title, whose evidence repeats what BM25 already counted.
    rerank_weight: float = 1.0
    #: Best-passage window in abstract positions (Callan 1994). SciFact train, 5-fold
    #: cross-validation chose 32 in every fold (16 and 8: -0.003).
    rerank_window: int = 32

    # -- third stage (optional): by meaning (searchkit.semantic) -----------------------
    #: Weight of the scaled lexical score; the cosine gets the rest. SciFact train,
    #: 5-fold CV (every fold chose 0.3).
    semantic_alpha: float = 0.3
    #: How many candidates are re-scored by meaning (SciFact train: depth 100 against
    #: 20 and 50, BENCHMARKS.md).
    semantic_depth: int = 100

    # -- pseudo-relevance feedback, --expand (searchkit.searching.feedback) ----------------------
    #: Off by default: it lowered nDCG@10 on SciFact train.
    expand: bool = False
    #: RM3 feedback documents, terms added, and their weight relative to a typed word
    #: (the one setting measured: -0.013 nDCG@10 on SciFact train, hence off).
    feedback_docs: int = 5
    feedback_terms: int = 10
    feedback_weight: float = 0.3

    # -- presentation ------------------------------------------------------------------
    #: How far below the last counted record the best partial match scores, at least
    #: (keeps score order equal to rank order; not a tuning value of the ranking).
    partial_gap: float = 1e-6
    #: ``similar``: key terms taken from the source record (not measured; BENCHMARKS.md
    #: "similar" gives its cost).
    similar_terms: int = 25

    # -- index writing: which segments a commit merges (searchkit.engine.merging) ------
    #: A tier is merged once it holds this many segments, and each tier's segments are
    #: this many times larger than the one's below; each record is rewritten about once
    #: per tier. 4, not Lucene's 10 (mergeFactor / segmentsPerTier): here a segment
    #: costs a query its own term lookups and posting reads whatever its size (on the
    #: 1,000,000-record benchmark index, median query 17 ms on ten segments, 14 ms on
    #: six, 11 ms on one) while a merge costs in proportion to the records it rewrites.
    #: The scale run's ten ingests of 100,000 end in 5 segments instead of 10, with the
    #: same ingest CPU (0.91 against 0.94 ms a record) and queries at 0.79-0.86x
    #: (BENCHMARKS.md, Scale -> eighteenth pass).
    merge_factor: int = 4
    #: Segments below this many live records form the lowest tier: the segments of
    #: small ingests, merged ``merge_factor`` at a time. One writer process's share of
    #: a batch is at least MIN_RECORDS_PER_PROC (1,000) records, so a batch of several
    #: processes starts one tier up (a design choice, not measured).
    merge_floor_docs: int = 1_000
    #: No merge makes a segment of more records than this, and segments of more than
    #: half of it are only merged by ``optimize``: a merge this size rewrites the
    #: records at about the rate the fast writer indexes them (BENCHMARKS.md, Ingest),
    #: minutes on one core, not the hours a merge of all PubMed would take.
    merge_max_docs: int = 1_000_000
    #: A segment whose deleted documents (records replaced or deleted since it was
    #: written: their dead copies) are more than this percentage of its documents is
    #: rewritten without them at the next commit, alone or with the tier merged then,
    #: whatever its tier (also above half of ``merge_max_docs``). The value of
    #: Lucene's TieredMergePolicy ``deletesPctAllowed``: the lowest it allowed in
    #: 7.5-8 (20-50, default 33), its default in recent releases. At 20% an index
    #: holds at most 1.25x the documents it has live, and a segment is rewritten after
    #: a fifth of it has been replaced, so a replaced record costs at most four live
    #: records rewritten (BENCHMARKS.md, "Updates"). 100 turns it off.
    merge_deletes_pct: float = 20.0

    def field_b_of(self, field: str) -> float:
        """The length normalisation of ``field``."""
        return dict(self.field_b).get(field, self.b)


#: The values every search uses unless it is given others.
DEFAULT = Params()
