"""Evaluating a query term-at-a-time over NumPy arrays: BM25F, coordination, proximity.

Whoosh's own matcher tree scores one posting at a time in Python; on a large index a
common word has tens of thousands of postings, so :func:`evaluate` works term-at-a-time
instead: each leaf (term, phrase, …) is read once into arrays by
:class:`searchkit.engine.postings.SegmentArrays`, and the boolean structure is combined with
array operations on each node's matches: its document numbers and their scores
(:data:`Sparse`), arrays as long as the postings, never as long as the index, so that
a rare term costs its few postings however large the index. The index's segments are
read as one (:mod:`searchkit.engine.joined`). Unions merge
the postings with a stable sort and add each document's scores in the order of the
children, so the sums are those of adding whole-segment arrays child by child.
The query nodes of :mod:`searchkit.engine.nodes` get their own scoring here:

* :class:`~searchkit.engine.nodes.FieldedTerm`, :class:`~.nodes.FieldedPhrase`:
  BM25F with one saturation over the weighted, length-normalised field frequencies;
* :class:`~searchkit.engine.nodes.BestMatch`: the sum of its concepts times the coordination
  factor (matched concepts / concepts) ** ``coordination``, plus feedback children and
  the proximity bonus; the bonus needs term positions, so it is computed for the
  ``depth`` best documents of the index only (positions are decoded for those alone);
* anything else (And, Or, AndNot, AndMaybe): combined here; other leaves (ranges,
  wildcards already expanded by Whoosh, …) as Whoosh scores them.

The values come from the :class:`~searchkit.params.Params` passed in. The arithmetic on
a node's matches (unions, sums in part order, top-k cuts) is in
:mod:`searchkit.engine.sparse`; top-k pruning of free text (MaxScore), built on the
evaluators here, in :mod:`searchkit.engine.pruning`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple, TypeGuard

import numpy as np
from numpy.typing import NDArray
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    ConstantScoreQuery,
    NullQuery,
    Or,
    Phrase,
    Query,
    Term,
)
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from searchkit.engine import phrases, sets
from searchkit.engine.joined import arrays_of
from searchkit.engine.near import NearTerms, near_docs
from searchkit.engine.nodes import (
    BestMatch,
    CompoundTerm,
    Expansion,
    FieldedPhrase,
    FieldedTerm,
    Proximity,
)
from searchkit.engine.phrase_match import narrowing_phrase_starts
from searchkit.engine.postings import Floats, Ints, SegmentArrays, live_doc_frequency
from searchkit.engine.presence import HasTerms, holding_field
from searchkit.engine.ranges import is_term_range, range_postings
from searchkit.engine.sparse import (
    NO_DOCS,
    NO_SCORES,
    Sparse,
    best_with_ties,
    boosted,
    sum_counted,
    sum_parts,
    tree_sum,
    union,
    values_at,
)
from searchkit.params import DEFAULT, Params


@dataclass(frozen=True)
class Hits:
    """Every document matching a query: top-level document numbers (ascending) and
    their scores."""

    docnums: Ints
    scores: Floats

    def __len__(self) -> int:
        return len(self.docnums)

    def as_dict(self) -> dict[int, float]:
        """``{docnum: score}``."""
        return dict(zip(self.docnums.tolist(), self.scores.tolist(), strict=True))

    def restrict(self, allowed: Ints) -> Hits:
        """Only the documents in ``allowed`` (any order)."""
        keep = _held_in(allowed, self.docnums)
        return Hits(self.docnums[keep], self.scores[keep])

    def exclude(self, removed: Ints) -> Hits:
        """All but the documents in ``removed`` (any order)."""
        keep = ~_held_in(removed, self.docnums)
        return Hits(self.docnums[keep], self.scores[keep])

    def top(self, limit: int | None) -> list[tuple[float, int]]:
        """The best ``limit`` (all when None) as (score, docnum), best first, ties by
        docnum."""
        docnums, scores = self.docnums, self.scores
        if limit is not None and limit < len(scores):
            if limit <= 0:
                return []
            # Everything scoring at least the limit-th best score (ties included).
            cut = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            keep = scores >= cut
            docnums, scores = docnums[keep], scores[keep]
        order = np.lexsort((docnums, -scores))[:limit]
        return list(zip(scores[order].tolist(), docnums[order].tolist(), strict=True))


def _held_in(numbers: Ints, docnums: Ints) -> NDArray[np.bool_]:
    """Which of ``docnums`` are among ``numbers`` (any order, repeats allowed): the
    counted records and the filters come ascending, and are looked up as such (by
    table or binary search) rather than sorted again as ``np.isin`` sorts them."""
    if len(numbers) > 1 and not bool(np.all(numbers[1:] > numbers[:-1])):
        numbers = np.unique(numbers)
    return _contains(numbers, docnums)


def top_docs(
    searcher: Searcher, query: Query, limit: int | None, params: Params = DEFAULT
) -> tuple[list[tuple[float, int]], Hits]:
    """The best ``limit`` (score, docnum) pairs (ties by docnum) and every match."""
    hits = evaluate(searcher, query, params)
    return hits.top(limit), hits


def evaluate(
    searcher: Searcher,
    query: Query,
    params: Params = DEFAULT,
    *,
    depth: int | None = None,
    within: Ints | None = None,
    without: Ints | None = None,
) -> Hits:
    """Every document matching ``query`` (top-level numbers) with its score; the
    proximity bonus goes to the ``depth`` best documents (by their score without it;
    ``params.proximity_depth`` unless given). ``within`` / ``without`` (top-level
    numbers, ascending): the documents a filter keeps / removes, the only ones / never
    the ones the bonus goes to (the caller restricts the hits)."""
    return evaluate_counted(
        searcher, query, None, params, depth=depth, within=within, without=without
    )[0]


def evaluator(searcher: Searcher, params: Params, depth: int) -> Evaluator:
    """The evaluator of a query over ``searcher``: every segment read as one
    (:class:`~searchkit.engine.joined.JoinedArrays`, top-level document numbers), so
    that a query costs its array operations once however many segments the index
    has, and its scores never depend on the layout. A free-text part nested in
    another query gets the proximity bonus on its ``depth`` best documents."""
    stats = _Stats(searcher)
    found = Evaluator(
        searcher, searcher.context(weighting=searcher.weighting), stats, depth, params
    )
    stats.evaluator = found
    return found


def matching_docs(searcher: Searcher, query: Query, params: Params = DEFAULT) -> Ints:
    """The documents matching ``query`` (top-level numbers, ascending; deleted ones
    left out), as Whoosh's ``docs_for_query`` gives them, found by the evaluator in
    arrays (a filter such as ``--year``, a mask)."""
    return evaluator(searcher, params, params.proximity_depth).ids(query)


def evaluate_counted(
    searcher: Searcher,
    query: Query,
    strict: Query | None,
    params: Params = DEFAULT,
    *,
    depth: int | None = None,
    within: Ints | None = None,
    without: Ints | None = None,
) -> tuple[Hits, Ints | None]:
    """:func:`evaluate`, and the documents matching ``strict`` (top-level numbers,
    ascending; None without it) found with the same evaluator: from the postings
    alone where it can (no scores), and a phrase found for ``query`` is not searched
    for again."""
    if depth is None:
        depth = params.proximity_depth
    ev = evaluator(searcher, params, depth)
    ev.within, ev.without = within, without
    if isinstance(query, BestMatch):
        # The usual free-text query: its bonus goes to the best ``depth`` of the index
        # (ties included).
        base = ev.best_match_base(query)
        ids, score = ev.best_match_finish(query, base, best_with_ties(base[0], base[1], depth))
    else:
        ids, score = ev.eval(query)
    counted = None if strict is None else ev.ids(strict)
    return Hits(ids, score), counted


def plain_term(q: Query) -> TypeGuard[FieldedTerm]:
    """A :class:`FieldedTerm` of plain terms (its documents: its fields' postings)."""
    return isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries)


class Concept(NamedTuple):
    """A concept of a free-text query and the pieces it is pruned by: itself, or the
    parts of a plain sum (an :class:`Or` without ``minmatch`` or ``scale``, of a
    positive boost), whose score is theirs added in order, times ``boost``."""

    query: Query
    pieces: list[Query]
    split: bool
    boost: float
    #: Each piece's index among all the query's pieces.
    indexes: list[int]

    @classmethod
    def of(cls, q: Query, first: int = 0) -> Concept:
        """The concept ``q``, its pieces numbered from ``first``."""
        if type(q) is Or and not q.minmatch and not q.scale and q.boost > 0 and q.subqueries:
            pieces = list(q.subqueries)
            return cls(q, pieces, True, q.boost, list(range(first, first + len(pieces))))
        return cls(q, [q], False, 1.0, [first])


class _Stats:
    """Index-wide statistics (document frequency, Whoosh's idf, average field length),
    each looked up once per query. The index's size, document frequencies and mean
    lengths count its live documents only: the deleted copies of replaced records
    (until a merge drops them) never change a score, so an index scores its records
    as a new index of the same records would (Whoosh's own idf, for the queries scored
    exactly as Whoosh scores them, counts them as Whoosh does)."""

    def __init__(self, searcher: Searcher) -> None:
        self.parent = searcher.get_parent()
        #: Whether the query is evaluated over every segment of the index.
        self.whole = self.parent is searcher
        self.n_docs = max(self.parent.doc_count(), 1)
        self.whoosh_idf: Callable[[str, str], float] = functools.cache(self.parent.idf)
        self._idf: dict[tuple[str, str], float] = {}
        self._avg: dict[str, float] = {}
        self._df: dict[tuple[str, str], int] = {}
        #: The query's evaluator (set once it is made).
        self.evaluator: Evaluator | None = None
        self._totals: dict[tuple[object, ...], int] = {}
        self._nodes: dict[int, Query] = {}

    def doc_frequency(self, field: str, text: str) -> int:
        """The number of live documents of the index holding ``text`` in ``field``,
        from the (cached) postings: they are read anyway."""
        key = (field, text)
        found = self._df.get(key)
        if found is None:
            if self.whole and self.evaluator is not None:
                found = len(self.evaluator.arrays.postings(field, text)[0])
            else:
                found = live_doc_frequency(self.parent, field, text)
            self._df[key] = found
        return found

    def live_idf(self, field: str, text: str) -> float:
        """Whoosh's idf formula (``log(N / (df + 1)) + 1``) over the live documents."""
        key = (field, text)
        found = self._idf.get(key)
        if found is None:
            df = self.doc_frequency(field, text)
            found = self._idf[key] = math.log(self.n_docs / (df + 1)) + 1.0
        return found

    def node_key(self, q: Query) -> int:
        """A key for the query node ``q``, unique for the whole evaluation: the node is
        kept alive, so a temporary node made later can never reuse its ``id``."""
        self._nodes[id(q)] = q
        return id(q)

    def total(self, key: tuple[object, ...], count: Callable[[Evaluator], int]) -> int:
        """``count`` of the evaluator (once per ``key``): a document frequency that
        searchkit computes itself (a phrase's, two words together), over the whole
        index."""
        found = self._totals.get(key)
        if found is None:
            assert self.evaluator is not None
            found = self._totals[key] = count(self.evaluator)
        return found

    def avg_length(self, field: str) -> float:
        """The mean length of ``field`` over the index's documents, from the stored
        (one-byte) lengths of each document. Not Whoosh's ``avg_field_length``: a
        segment's total is exact when written but the sum of the one-byte lengths once
        merged, so Whoosh's mean (and every score) would depend on the segment layout."""
        found = self._avg.get(field)
        if found is None:
            schema = self.parent.schema
            total = 0.0
            if field in schema and schema[field].scorable:
                for reader, _ in self.parent.reader().leaf_readers():
                    total += SegmentArrays(reader).live_length_total(field)
            found = self._avg[field] = total / self.n_docs or 1.0
        return found


class Coordination(NamedTuple):
    """Each document's coordination factor, as the factor of each number of matched
    concepts and each document's number."""

    factors: Floats
    counts: NDArray[np.uint8] | Ints

    def at(self, where: NDArray[np.intp]) -> Floats:
        """The factors of the documents at ``where``."""
        return self.factors[self.counts[where]]


#: A free-text query's concepts, before the proximity bonus: the
#: documents, their coordinated scores, and their coordination.
Base = tuple[Ints, Floats, Coordination]


class Evaluator:
    """Evaluates query nodes over the index (its segments read as one): each node's
    matching documents and their scores (:data:`Sparse`), with work proportional to
    the postings read."""

    def __init__(
        self, searcher: Searcher, context: object, stats: _Stats, depth: int, params: Params
    ) -> None:
        self.searcher = searcher
        self.params = params
        self.context = context
        self.stats = stats
        self.depth = depth
        self.arrays = arrays_of(searcher.reader())
        self.size = self.arrays.size
        #: The segments' searchers and first document numbers (Whoosh's matchers).
        self.leaves = [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
        self._phrases: dict[int, Sparse] = {}
        self._compounds: dict[int, tuple[Ints, Floats, int]] = {}
        self._concepts: dict[int, Sparse] = {}
        #: The only documents (ascending) the free text is scored for, and those it
        #: never is: a filter's, or the other parts of an ``And`` holding it. The
        #: proximity bonus then goes to the best of the documents that can match.
        self.within: Ints | None = None
        self.without: Ints | None = None

    def eval(self, q: Query) -> Sparse:
        if q is NullQuery:
            return NO_DOCS, NO_SCORES
        if isinstance(q, BestMatch):
            return self.best_match(q)
        if plain_term(q):
            return self.bm25f_term(q)
        if isinstance(q, CompoundTerm) and all(
            isinstance(t, FieldedTerm | FieldedPhrase) for t in q.subqueries
        ):
            return self.bm25f_compound(q)
        if isinstance(q, FieldedPhrase) and all(
            isinstance(t, Phrase | phrases.PositionalPhrase) for t in q.subqueries
        ):
            return self.bm25f_phrase(q)
        if isinstance(q, phrases.PositionalPhrase):  # a phrase in one field
            return self.bm25f_phrase(FieldedPhrase([q]))
        if type(q) is Term and self.scores_like_whoosh(q.fieldname):
            return self.whoosh_term(q)
        if isinstance(q, NearTerms) and self.near_in_arrays(q):
            return self.near_terms(q)
        if is_term_range(q):
            ids = self.term_range(q)
            return ids, np.full(len(ids), q.score, dtype=np.float64)
        if isinstance(q, HasTerms):
            ids = holding_field(self.arrays, q.fieldname)
            return ids, np.full(len(ids), q.boost, dtype=np.float64)
        if isinstance(q, Or) and not q.minmatch and not q.scale:
            ids, score = sum_parts([self.eval(sub) for sub in q.subqueries])
            return ids, boosted(score, q.boost)
        if isinstance(q, And):
            if not q.subqueries:
                return NO_DOCS, NO_SCORES
            parts = self.and_parts(q.subqueries)
            ids = parts[0][0]
            for other, _ in parts[1:]:
                ids = ids[_contains(other, ids)]
            score = np.zeros(len(ids), dtype=np.float64)
            for p_ids, p_score in parts:
                score += p_score[np.searchsorted(p_ids, ids)]
            return ids, boosted(score, q.boost)
        if isinstance(q, AndNot):
            negative, _ = self.eval(q.b)
            with self.restricted(without=negative):  # the bonus goes to what NOT keeps
                ids, score = self.eval(q.a)
            keep = ~_contains(negative, ids)
            return ids[keep], boosted(score[keep], q.boost)
        if isinstance(q, AndMaybe):
            ids, score = self.eval(q.a)
            optional = values_at(self.eval(q.b), ids)
            return ids, boosted(score + optional, q.boost)
        return self.leaf(q)

    def and_parts(self, subqueries: list[Query]) -> list[Sparse]:
        """:meth:`eval` of each part of an ``And``; the free text (:class:`BestMatch`)
        last, scored only in the documents every other part matches, so that its
        proximity bonus goes to the best of those (not to the best of the whole
        index, which the other parts may all leave out), and a common word is not
        scored over all its postings for a rare tag."""
        free = [i for i, sub in enumerate(subqueries) if isinstance(sub, BestMatch)]
        if not free or len(free) == len(subqueries):
            return [self.eval(sub) for sub in subqueries]
        parts: dict[int, Sparse] = {}
        docs: Ints | None = None
        for i, sub in enumerate(subqueries):
            if i not in free:
                parts[i] = self.eval(sub)
                ids = parts[i][0]
                docs = ids if docs is None else docs[_contains(ids, docs)]
        assert docs is not None
        with self.restricted(within=docs):
            for i in free:
                parts[i] = self.eval(subqueries[i])
        return [parts[i] for i in range(len(subqueries))]

    @contextmanager
    def restricted(
        self, *, within: Ints | None = None, without: Ints | None = None
    ) -> Iterator[None]:
        """Free text evaluated inside scores only documents also in ``within`` and
        never those in ``without`` (both ascending), on top of the restriction already
        in force (:attr:`within`, :attr:`without`), which is back on exit."""
        saved = self.within, self.without
        if within is not None:
            self.within = within if saved[0] is None else within[_contains(saved[0], within)]
        if without is not None:
            self.without = without if saved[1] is None else union([saved[1], without])
        try:
            yield
        finally:
            self.within, self.without = saved

    def idf(self, df: int) -> float:
        n_docs = self.stats.n_docs
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))

    def holding(self, field: str, text: str) -> Ints:
        """The documents holding ``text`` in ``field`` (ascending)."""
        return self.arrays.postings(field, text)[0]

    def norm(self, field: str, docs: Ints) -> Floats:
        """BM25 length normalisation of ``field`` for ``docs``."""
        avg = self.stats.avg_length(field)
        b = self.params.field_b_of(field)
        return 1.0 - b + b * self.arrays.lengths_at(field, docs) / avg

    def saturate(self, ids: Ints, tf: Floats, df: int, boost: float) -> Sparse:
        """BM25 of the weighted, normalised frequencies ``tf`` of the documents ``ids``."""
        k1 = self.params.k1
        scale = self.idf(df) * (k1 + 1.0) * boost
        return ids, scale * tf / (tf + k1)

    def bm25f_term(self, q: FieldedTerm) -> Sparse:
        ids, tfs, df = self.term_tfs(q)
        return self.saturate(ids, tfs, df, q.boost)

    def term_tfs(self, q: FieldedTerm) -> tuple[Ints, Floats, int]:
        """A fielded term's documents, their weighted, normalised frequencies, and its
        document frequency (the largest of its fields')."""
        parts: list[Sparse] = []
        df = 0
        for t in q.subqueries:
            ids, weights = self.arrays.postings(t.fieldname, t.text)
            if not len(ids):
                continue
            df = max(df, self.stats.doc_frequency(t.fieldname, t.text))
            parts.append((ids, t.boost * weights / self.norm(t.fieldname, ids)))
        ids, tfs = sum_parts(parts)
        return ids, tfs, df

    def bm25f_phrase(self, q: FieldedPhrase) -> Sparse:
        ids, tfs = self.phrase_tfs(q)
        return self.saturate(ids, tfs, self.phrase_df(q), q.boost)

    def phrase_df(self, q: FieldedPhrase) -> int:
        """How many documents of the index hold the phrase (in any of its fields)."""
        return self.stats.total(
            ("phrase", self.stats.node_key(q)), lambda ev: len(ev.phrase_tfs(q)[0])
        )

    def phrase_tfs(self, q: FieldedPhrase) -> Sparse:
        """A fielded phrase's documents and their weighted, normalised frequencies
        (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = self._phrase_tfs(q)
        return found

    def _phrase_tfs(self, q: FieldedPhrase) -> Sparse:
        parts: list[Sparse] = []
        for p in q.subqueries:
            if isinstance(p, phrases.PositionalPhrase):
                ids, counts = phrases.frequencies(self.arrays, p.fieldname, list(p.slots))
            else:
                ids, counts = self.phrase_frequencies(p.fieldname, list(p.words), p.slop)
            if len(ids):
                parts.append((ids, p.boost * counts / self.norm(p.fieldname, ids)))
        return sum_parts(parts)

    def bm25f_compound(self, q: CompoundTerm) -> Sparse:
        """One BM25F term whose frequency is the largest of its forms' (the joined term,
        the parts side by side): a compound counts once however it is written. Its
        document frequency is its terms' largest, or the number of documents of the
        index holding it in any form, if more."""
        ids, tfs, df = self.compound_tfs(q)
        held = self.stats.total(
            ("compound", self.stats.node_key(q)), lambda ev: len(ev.compound_tfs(q)[0])
        )
        return self.saturate(ids, tfs, max(df, held), q.boost)

    def compound_tfs(self, q: CompoundTerm) -> tuple[Ints, Floats, int]:
        """A compound's documents, their frequencies (the largest of its forms'), and
        its terms' largest document frequency (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._compounds.get(key)
        if found is None:
            found = self._compounds[key] = self._compound_tfs(q)
        return found

    def _compound_tfs(self, q: CompoundTerm) -> tuple[Ints, Floats, int]:
        forms: list[Sparse] = []
        df = 0
        for form in q.subqueries:
            if isinstance(form, FieldedTerm):
                f_ids, f_tfs, f_df = self.term_tfs(form)
            else:
                f_ids, f_tfs = self.phrase_tfs(form)
                f_df = 0
            forms.append((f_ids, f_tfs * form.boost))
            df = max(df, f_df)
        ids = union([f_ids for f_ids, _ in forms])
        tfs = np.zeros(len(ids), dtype=np.float64)
        for f_ids, f_tfs in forms:
            np.maximum(tfs, values_at((f_ids, f_tfs), ids), out=tfs)
        return ids, tfs, df

    def phrase_frequencies(self, field: str, words: list[str], slop: int) -> tuple[Ints, Floats]:
        """Documents where ``words`` occur in order, each within ``slop`` positions of
        the one before, and how often (matched once per segment state)."""
        return self.arrays.derived(
            ("phrase", field, tuple(words), slop),
            functools.partial(self._phrase_frequencies, field, words, slop),
        )

    def _phrase_frequencies(self, field: str, words: list[str], slop: int) -> tuple[Ints, Floats]:
        common: Ints | None = None
        # Rarest first, by the term dictionary's counts (no postings read for them).
        for w in sorted(set(words), key=lambda w: self.arrays.doc_frequency(field, w)):
            ids = self.arrays.postings(field, w, positions=True)[0]
            common = ids if common is None else common[_contains(ids, common)]
            if not len(common):
                return common, np.zeros(0, dtype=np.float64)
        assert common is not None
        docs = common

        def keys(i: int, alive: Ints | None) -> Ints:
            return self.arrays.position_keys(field, words[i], docs if alive is None else alive)

        found = narrowing_phrase_starts(len(words), keys, slop)
        ids, counts = sets.distinct_counts(found >> 32)
        return ids.astype(np.int64), counts.astype(np.float64)

    def proximity(self, q: Proximity, candidates: Ints) -> Floats:
        """Sequential-dependence bonus for ``candidates``: for each adjacent pair of
        query words (a sloppy two-word ``Phrase`` child), the number of times they occur
        within ``slop`` positions of each other, in either order, scored like a BM25
        term of that frequency (its document frequency: the index's documents holding
        both words)."""
        bonus = np.zeros(len(candidates), dtype=np.float64)
        k1 = self.params.k1
        for phrase in q.subqueries:
            if not isinstance(phrase, Phrase) or len(phrase.words) != 2:
                continue
            field, window = phrase.fieldname, phrase.slop
            first, second = phrase.words[0], phrase.words[1]
            pair = (field, first, second)
            n_both = self.stats.total(("both", *pair), functools.partial(_both, pair))
            docs = candidates[
                _contains(self.holding(field, first), candidates)
                & _contains(self.holding(field, second), candidates)
            ]
            if not len(docs):
                continue
            a = self.arrays.position_keys(field, first, docs)
            b = self.arrays.position_keys(field, second, docs)
            counts = near_counts(a, b, window, docs)
            tf = counts / self.norm(field, docs)
            score = phrase.boost * self.idf(n_both) * tf * (k1 + 1.0) / (tf + k1)
            bonus[np.searchsorted(candidates, docs)] += score
        return bonus

    def scores_like_whoosh(self, field: str) -> bool:
        """Whether :meth:`whoosh_term` gives Whoosh's score for a term in ``field``."""
        schema = self.searcher.schema
        return type(self.searcher.weighting) is BM25F and field in schema and schema[field].scorable

    def whoosh_term(self, q: Term) -> Sparse:
        """A plain Whoosh ``Term``, scored by Whoosh's ``BM25F`` formula (its idf formula,
        one field) over the live documents' statistics, from arrays instead of its
        matcher (the same scores where no record is deleted)."""
        field = q.fieldname
        ids, tf = self.arrays.postings(field, q.text)
        if not len(ids):
            return NO_DOCS, NO_SCORES
        weighting = self.searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        avg = self.stats.avg_length(field)
        idf = self.stats.live_idf(field, q.text)
        norm = (1 - b) + b * self.arrays.lengths_at(field, ids) / avg
        return ids, q.boost * idf * (tf * (k1 + 1)) / (tf + k1 * norm)

    def near_in_arrays(self, q: NearTerms) -> bool:
        """Whether :meth:`near_terms` gives Whoosh's matches and scores for ``q``."""
        field = q.fieldname
        schema = self.searcher.schema
        return (
            self.scores_like_whoosh(field)
            and bool(schema[field].format)
            and schema[field].format.supports("positions")
            and all(type(t) is Term and t.boost == 1.0 and t.fieldname == field for t in q.qs)
            and not q.ordered
            and q.mindist == 1
        )

    def near_terms(self, q: NearTerms) -> Sparse:
        """Words within ``q.slop`` positions of each other (:func:`near_docs`), scored
        as Whoosh's span matcher scores them: the sum of its terms' scores, added in
        the order of Whoosh's binary tree of intersections."""
        parts = [self.span_term(t) for t in q.qs]
        docs: Ints | None = None
        for ids, _ in parts:
            docs = ids if docs is None else docs[_contains(ids, docs)]
        if docs is None or not len(docs):
            return NO_DOCS, NO_SCORES
        keys = [self.arrays.position_keys(q.fieldname, w, docs) for w in q.words]
        found = near_docs(keys, q.slop)
        if not len(found):
            return NO_DOCS, NO_SCORES
        return found, tree_sum([values_at(part, found) for part in parts])

    def span_term(self, q: Term) -> Sparse:
        """A term as Whoosh's own ``BM25F`` scorer scores it inside a span query, to
        the bit: Whoosh's idf and average field length (its own statistics, not
        :meth:`_Stats.avg_length`), its operations in its order."""
        field = q.fieldname
        ids, tf = self.arrays.postings(field, q.text)
        if not len(ids):
            return NO_DOCS, NO_SCORES
        weighting = self.searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        parent = self.stats.parent
        idf = self.stats.whoosh_idf(field, q.text)
        avg = parent.avg_field_length(field) or 1
        fl = self.arrays.lengths_at(field, ids)
        return ids, idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avg)))

    def term_range(self, q: ConstantScoreQuery) -> Ints:
        """The documents holding a term of a constant-score range (a year or date)."""
        return union(range_postings(self.arrays, self.searcher.reader(), q))

    def leaf(self, q: Query) -> Sparse:
        """Any other query: Whoosh's own matcher on each segment, read to the end."""
        ids: list[int] = []
        scores: list[float] = []
        for sub, offset in self.leaves:
            m = q.matcher(sub, self.context)
            while m.is_active():
                ids.append(m.id() + offset)
                scores.append(m.score())
                m.next()
        if not ids:
            return NO_DOCS, NO_SCORES
        # A matcher gives each document once, in order; kept safe for any other.
        found, first = np.unique(np.array(ids, dtype=np.int64), return_index=True)
        if len(found) == len(ids):
            return found, np.array(scores, dtype=np.float64)[first]
        # A document given more than once: the last score, as a dense array kept it.
        last = len(ids) - 1 - np.unique(np.array(ids[::-1], dtype=np.int64), return_index=True)[1]
        return found, np.array(scores, dtype=np.float64)[last]

    def best_match(self, q: BestMatch) -> Sparse:
        base = self.best_match_base(q)
        # Every document tied with the last of the depth gets the bonus, as at the top
        # level: which of them would is otherwise decided by document number.
        return self.best_match_finish(q, base, best_with_ties(base[0], base[1], self.depth))

    def concept_ids(self, q: Query) -> list[Ints]:
        """Arrays whose union is the documents matching the concept ``q``: each
        field's postings of a plain fielded term, else its evaluation's documents."""
        if plain_term(q):
            return [self.holding(t.fieldname, t.text) for t in q.subqueries]
        return [self.concept(q)[0]]

    def forget_concepts(self) -> None:
        """Drop the concepts' arrays kept by :meth:`concept`."""
        self._concepts.clear()

    def concept(self, q: Query) -> Sparse:
        """:meth:`eval` of a concept, once per query node."""
        key = self.stats.node_key(q)
        found = self._concepts.get(key)
        if found is None:
            found = self._concepts[key] = self.eval(q)
        return found

    def ids(self, q: Query) -> Ints:
        """The documents matching ``q`` (ascending): :meth:`eval`'s, without the
        scores where the boolean structure and plain terms allow."""
        if q is NullQuery:
            return NO_DOCS
        if plain_term(q):
            return union([self.holding(t.fieldname, t.text) for t in q.subqueries])
        if type(q) is Term and self.scores_like_whoosh(q.fieldname):
            return self.holding(q.fieldname, q.text)
        if is_term_range(q):
            return self.term_range(q)
        if isinstance(q, HasTerms):
            return holding_field(self.arrays, q.fieldname)
        if isinstance(q, BestMatch):
            return self.best_match_ids(q)
        if type(q) is Or and not q.minmatch and not q.scale:
            return union([self.ids(sub) for sub in q.subqueries])
        if type(q) is And:
            if not q.subqueries:
                return NO_DOCS
            # The plain terms with the fewest postings first; the others are looked up
            # for the documents left (never merged over all their postings).
            terms = [sub for sub in q.subqueries if plain_term(sub)]
            others = [self.ids(sub) for sub in q.subqueries if not plain_term(sub)]
            terms.sort(key=lambda t: sum(len(a) for a in self.concept_ids(t)))
            found = min(others, key=len) if others else self.ids(terms.pop(0))
            for other in others:
                found = found[_contains(other, found)]
            for t in terms:
                keep = np.zeros(len(found), dtype=np.bool_)
                for held in self.concept_ids(t):
                    keep |= _contains(held, found)
                found = found[keep]
            return found
        if isinstance(q, AndNot):  # also compile.AndNot (its own matcher only)
            found = self.ids(q.a)
            return found[~_contains(self.ids(q.b), found)]
        if type(q) is AndMaybe:
            return self.ids(q.a)
        return self.eval(q)[0]

    def best_match_ids(self, q: BestMatch) -> Ints:
        """The documents of :meth:`best_match`, unscored: those of any concept (only
        in :attr:`within`, never in :attr:`without`, when set) and of the feedback
        terms; the proximity bonus adds none."""
        concepts = q.concepts()
        found = union([self.ids(c) for c in concepts])
        if self.within is not None:
            found = found[_contains(self.within, found)]
        if self.without is not None and len(self.without):
            found = found[~_contains(self.without, found)]
        expansions = [self.ids(sub) for sub in q.subqueries if isinstance(sub, Expansion)]
        return union([found, *expansions]) if expansions else found

    def term_at(self, q: FieldedTerm, docs: Ints) -> Sparse:
        """:meth:`bm25f_term` for those of ``docs`` (ascending) holding the term, the
        same values (each is computed from its own document's postings alone)."""
        parts: list[Sparse] = []
        df = 0
        for t in q.subqueries:
            ids, weights = self.arrays.postings(t.fieldname, t.text)
            if not len(ids):
                continue
            df = max(df, self.stats.doc_frequency(t.fieldname, t.text))
            at = _positions_in(ids, docs)
            if len(at):
                ids = ids[at]
                parts.append((ids, t.boost * weights[at] / self.norm(t.fieldname, ids)))
        ids, tfs = sum_parts(parts)
        return self.saturate(ids, tfs, df, q.boost)

    def base_at(self, concepts: list[Concept], evaluated: dict[int, Sparse], docs: Ints) -> Base:
        """:meth:`best_match_base` for those of ``docs`` that match: each concept's
        pieces looked up (or, with a bound, scored) there only."""
        parts = [self.concept_from(c, evaluated, docs, whole=False) for c in concepts]
        return self._coordinated(parts, len(concepts))

    def concept_from(
        self, c: Concept, evaluated: dict[int, Sparse], docs: Ints, *, whole: bool
    ) -> Sparse:
        """The concept ``c``'s scores from its pieces: those ``evaluated`` (by piece
        index) whole when ``whole``, else at ``docs``; the others (plain terms, of a
        bound) scored at ``docs`` (:meth:`_at`). Its documents' scores are
        :meth:`eval`'s: a sum of pieces adds, for each document, the same parts in the
        same order."""
        parts: list[Sparse] = []
        for i, piece in zip(c.indexes, c.pieces, strict=True):
            if i in evaluated:
                ids, score = evaluated[i]
                if not whole:
                    at = _positions_in(ids, docs)
                    ids, score = ids[at], score[at]
                parts.append((ids, score))
            else:
                parts.append(self._at(piece, docs))
        if not c.split:
            return parts[0]
        ids, score = sum_parts(parts)
        return ids, boosted(score, c.boost)

    def best_match_base(self, q: BestMatch) -> Base:
        """The concepts' summed scores times coordination: (documents, score,
        coordination); only in :attr:`within` and never in :attr:`without` when set
        (each document's the same: it depends on its own postings alone)."""
        concepts = q.concepts()
        within, without = self.within, self.without
        if within is None and without is None:
            return self._coordinated([self.eval(sub) for sub in concepts], len(concepts))
        parts: list[Sparse] = []
        for c in concepts:
            if within is not None:
                ids, score = self._at(c, within)
            else:
                ids, score = self.eval(c)
            if without is not None and len(without):
                keep = ~_contains(without, ids)
                ids, score = ids[keep], score[keep]
            parts.append((ids, score))
        return self._coordinated(parts, len(concepts))

    def _at(self, q: Query, docs: Ints) -> Sparse:
        """:meth:`eval` of ``q`` for those of ``docs`` (ascending) it matches, the same
        scores: a plain term looked up there only, a plain sum part by part (the bare
        common word of a hyphenated compound is not scored over all its postings),
        anything else evaluated whole and kept there."""
        if plain_term(q):
            return self.term_at(q, docs)
        concept = Concept.of(q)
        if concept.split:
            return self.concept_from(concept, {}, docs, whole=False)
        ids, score = self.eval(q)
        at = _positions_in(ids, docs)
        return ids[at], score[at]

    def _coordinated(self, parts: list[Sparse], n: int) -> Base:
        ids, total, matched = sum_counted(parts)
        factors = np.ones(n + 1, dtype=np.float64)
        exponent = self.params.coordination
        if n > 1 and exponent:
            # (matched / n) ** coordination, looked up for each count
            factors = (np.arange(n + 1) / n) ** exponent
        # The counts (a byte each where they fit), not a float per document: only the
        # proximity bonus needs the factor again, for a few documents.
        counts = matched.astype(np.uint8) if n < 256 else matched
        return ids, total * factors[matched], Coordination(factors, counts)

    def best_match_finish(self, q: BestMatch, base: Base, candidates: Ints) -> Sparse:
        """Adds the proximity bonus of ``candidates`` and the feedback terms."""
        ids, score, coord = base
        score = score.copy()
        at = np.searchsorted(ids, candidates)
        for sub in q.subqueries:
            if isinstance(sub, Proximity) and len(candidates):
                score[at] += self.proximity(sub, candidates) * coord.at(at)
        expansions = [self.eval(sub) for sub in q.subqueries if isinstance(sub, Expansion)]
        if expansions:
            ids, score = sum_parts([(ids, score), *expansions])
        return ids, boosted(score, q.boost)


def near_counts(a: Ints, b: Ints, window: int, docs: Ints) -> Floats:
    """For each of ``docs`` (ascending), how many pairs of a position of ``a`` and one
    of ``b`` (``docnum << 32 | position`` keys, sorted, of those documents) lie within
    ``window`` positions of each other, in either order, and not at the same position."""
    if not len(a) or not len(b):
        return np.zeros(len(docs), dtype=np.float64)
    doc_of_a = np.searchsorted(docs, a >> 32)
    pairs = np.zeros(len(a), dtype=np.int64)
    for k in range(-window, window + 1):
        if k:
            # A position moved before its document's first reads as the previous
            # document's position 2**32 - k: no key is ever that.
            wanted = a + k
            pairs += np.searchsorted(b, wanted, "right") - np.searchsorted(b, wanted, "left")
    return np.bincount(doc_of_a, pairs, minlength=len(docs)).astype(np.float64)


_contains = sets.contains
_positions_in = sets.positions_in


def _both(pair: tuple[str, str, str], ev: Evaluator) -> int:
    """How many documents of ``ev``'s index hold both words of ``pair`` (field, word,
    word)."""
    field, a, b = pair
    first, second = ev.holding(field, a), ev.holding(field, b)
    return int(np.count_nonzero(_contains(second, first)))
