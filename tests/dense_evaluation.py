"""The query evaluation searchkit had before :mod:`searchkit.engine.scoring` went
sparse, kept as the reference its tests compare with: the same nodes and formulas
over whole-segment arrays (a match mask and a score for every document of a segment,
whatever the term). Frozen: change the engine, not this. Two changes since: an index of
several segments is read as one (the engine's :class:`~searchkit.engine.joined.JoinedArrays`),
so that a nested free-text query's bonus goes to the best of the whole index, not to
each segment's share; and the index's size, document frequencies and mean lengths count
its live documents only (not the deleted copies of replaced records)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Phrase, Query, Term
from whoosh.scoring import BM25F
from whoosh.searching import Searcher

from searchkit.engine import phrases
from searchkit.engine.joined import arrays_of
from searchkit.engine.nodes import (
    BestMatch,
    CompoundTerm,
    Expansion,
    FieldedPhrase,
    FieldedTerm,
    Proximity,
)
from searchkit.engine.phrase_match import phrase_starts
from searchkit.engine.postings import Floats, Ints, SegmentArrays, live_doc_frequency
from searchkit.params import DEFAULT, Params

Mask = NDArray[np.bool_]


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
        """Only the documents in ``allowed``."""
        keep = np.isin(self.docnums, allowed)
        return Hits(self.docnums[keep], self.scores[keep])

    def exclude(self, removed: Ints) -> Hits:
        """All but the documents in ``removed``."""
        keep = ~np.isin(self.docnums, removed)
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


def top_docs(
    searcher: Searcher, query: Query, limit: int | None, params: Params = DEFAULT
) -> tuple[list[tuple[float, int]], Hits]:
    """The best ``limit`` (score, docnum) pairs (ties by docnum) and every match."""
    hits = evaluate(searcher, query, params)
    return hits.top(limit), hits


def evaluate(
    searcher: Searcher, query: Query, params: Params = DEFAULT, *, depth: int | None = None
) -> Hits:
    """Every document matching ``query`` (top-level numbers) with its score; the
    proximity bonus goes to the ``depth`` best documents (by their score without it;
    ``params.proximity_depth`` unless given)."""
    if depth is None:
        depth = params.proximity_depth
    context = searcher.context(weighting=searcher.weighting)
    stats = _Stats(searcher)
    leaves = [(searcher, 0)]
    segments = [_Segment(searcher, context, stats, depth, params)]
    stats.segments = segments
    if isinstance(query, BestMatch):
        # The usual free-text query: its bonus goes to the best ``depth`` of the index.
        bases = [seg.best_match_base(query) for seg in segments]
        chosen = _best_of_all([(mask, score) for mask, score, _ in bases], depth)
        dense = [
            seg.best_match_finish(query, base, candidates)
            for seg, base, candidates in zip(segments, bases, chosen, strict=True)
        ]
    else:
        dense = [seg.eval(query) for seg in segments]
    docnums: list[Ints] = []
    scores: list[Floats] = []
    for (mask, score), (_, offset) in zip(dense, leaves, strict=True):
        found = np.nonzero(mask)[0]
        docnums.append(found.astype(np.int64) + offset)
        scores.append(score[found])
    if not docnums:
        return Hits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))
    return Hits(np.concatenate(docnums), np.concatenate(scores))


class _Stats:
    """Index-wide statistics (document frequency, Whoosh's idf, average field length),
    each looked up once per query however many segments there are."""

    def __init__(self, searcher: Searcher) -> None:
        self.parent = searcher.get_parent()
        self.n_docs = max(self.parent.doc_count(), 1)
        self.doc_frequency: Callable[[str, str], int] = functools.cache(
            functools.partial(live_doc_frequency, self.parent)
        )
        self.whoosh_idf: Callable[[str, str], float] = functools.cache(self.parent.idf)
        self._idf: dict[tuple[str, str], float] = {}
        self._avg: dict[str, float] = {}
        #: Every segment of the query's evaluation (set once they are made).
        self.segments: list[_Segment] = []
        self._totals: dict[tuple[object, ...], int] = {}
        self._nodes: dict[int, Query] = {}

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

    def total(self, key: tuple[object, ...], count: Callable[[_Segment], int]) -> int:
        """``count`` summed over every segment (once per ``key``): a document frequency
        that searchkit computes itself (a phrase's, two words together) counts the
        whole index, never one segment, so that scores do not depend on the layout."""
        found = self._totals.get(key)
        if found is None:
            found = self._totals[key] = sum(count(seg) for seg in self.segments)
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
                    arrays = SegmentArrays(reader)
                    total += float(arrays.lengths(field)[~arrays.deleted()].sum())
            found = self._avg[field] = total / self.n_docs or 1.0
        return found


Dense = tuple[Mask, Floats]


class _Segment:
    """Evaluates query nodes over one segment: (match mask, score) per document."""

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
        self.leaves = [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
        self._present: dict[tuple[str, str], Mask] = {}
        self._phrases: dict[int, tuple[Floats, Mask]] = {}
        self._compounds: dict[int, tuple[Floats, Mask, int]] = {}
        #: The documents a free-text proximity bonus may go to: those the other parts
        #: of an ``And`` match, never those the ``NOT`` side of an ``AndNot`` matches.
        self.allowed = np.ones(self.size, dtype=np.bool_)

    def empty(self) -> Dense:
        return np.zeros(self.size, dtype=np.bool_), np.zeros(self.size, dtype=np.float64)

    def eval(self, q: Query) -> Dense:
        if q is NullQuery:
            return self.empty()
        if isinstance(q, BestMatch):
            return self.best_match(q)
        if isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries):
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
        if isinstance(q, Or) and not q.minmatch and not q.scale:
            mask, score = self.empty()
            for sub in q.subqueries:
                m, s = self.eval(sub)
                mask |= m
                score += s
            return mask, _boosted(score, q.boost)
        if isinstance(q, And):
            if not q.subqueries:
                return self.empty()
            # The free text's proximity bonus goes to the best of the documents every
            # other part matches.
            others = np.ones(self.size, dtype=np.bool_)
            parts: dict[int, Dense] = {}
            for i, sub in enumerate(q.subqueries):
                if not isinstance(sub, BestMatch):
                    parts[i] = self.eval(sub)
                    others &= parts[i][0]
            everything = len(parts) in (0, len(q.subqueries))
            for i, sub in enumerate(q.subqueries):
                if isinstance(sub, BestMatch):
                    saved = self.allowed
                    self.allowed = saved if everything else saved & others
                    parts[i] = self.best_match(sub)
                    self.allowed = saved
            mask = np.ones(self.size, dtype=np.bool_)
            score = np.zeros(self.size, dtype=np.float64)
            for i in range(len(q.subqueries)):
                m, s = parts[i]
                mask &= m
                score += s
            return mask, _boosted(np.where(mask, score, 0.0), q.boost)
        if isinstance(q, AndNot):
            negative, _ = self.eval(q.b)
            saved = self.allowed
            self.allowed = saved & ~negative
            mask, score = self.eval(q.a)
            self.allowed = saved
            mask = mask & ~negative
            return mask, _boosted(np.where(mask, score, 0.0), q.boost)
        if isinstance(q, AndMaybe):
            mask, score = self.eval(q.a)
            _, optional = self.eval(q.b)
            return mask, _boosted(np.where(mask, score + optional, 0.0), q.boost)
        return self.leaf(q)

    def idf(self, df: int) -> float:
        n_docs = self.stats.n_docs
        return math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))

    def present(self, field: str, text: str) -> Mask:
        """Which documents of the segment contain ``text`` in ``field`` (cached)."""
        key = (field, text)
        found = self._present.get(key)
        if found is None:
            found = np.zeros(self.size, dtype=np.bool_)
            found[self.arrays.postings(field, text)[0]] = True
            self._present[key] = found
        return found

    def norm(self, field: str, docs: Ints) -> Floats:
        """BM25 length normalisation of ``field`` for ``docs``."""
        avg = self.stats.avg_length(field)
        b = self.params.field_b_of(field)
        return 1.0 - b + b * self.arrays.lengths(field)[docs] / avg

    def saturate(self, tfs: Floats, mask: Mask, df: int, boost: float) -> Dense:
        """BM25 of the weighted, normalised frequencies ``tfs`` of the documents in
        ``mask`` (computed for those alone: most terms are in few documents)."""
        k1 = self.params.k1
        scale = self.idf(df) * (k1 + 1.0) * boost
        found = np.flatnonzero(mask)
        tf = tfs[found]
        score = np.zeros(self.size, dtype=np.float64)
        score[found] = scale * tf / (tf + k1)
        return mask, score

    def bm25f_term(self, q: FieldedTerm) -> Dense:
        tfs, mask, df = self.term_tfs(q)
        return self.saturate(tfs, mask, df, q.boost)

    def term_tfs(self, q: FieldedTerm) -> tuple[Floats, Mask, int]:
        """A fielded term's weighted, normalised frequencies, where it occurs, and its
        document frequency (the largest of its fields')."""
        tfs = np.zeros(self.size, dtype=np.float64)
        mask = np.zeros(self.size, dtype=np.bool_)
        df = 0
        for t in q.subqueries:
            ids, weights = self.arrays.postings(t.fieldname, t.text)
            if not len(ids):
                continue
            df = max(df, self.stats.doc_frequency(t.fieldname, t.text))
            tfs[ids] += t.boost * weights / self.norm(t.fieldname, ids)
            mask[ids] = True
        return tfs, mask, df

    def bm25f_phrase(self, q: FieldedPhrase) -> Dense:
        tfs, mask = self.phrase_tfs(q)
        return self.saturate(tfs, mask, self.phrase_df(q), q.boost)

    def phrase_df(self, q: FieldedPhrase) -> int:
        """How many documents of the index hold the phrase (in any of its fields)."""
        return self.stats.total(
            ("phrase", self.stats.node_key(q)),
            lambda seg: int(np.count_nonzero(seg.phrase_tfs(q)[1])),
        )

    def phrase_tfs(self, q: FieldedPhrase) -> tuple[Floats, Mask]:
        """A fielded phrase's weighted, normalised frequencies and where it occurs
        (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._phrases.get(key)
        if found is None:
            found = self._phrases[key] = self._phrase_tfs(q)
        return found

    def _phrase_tfs(self, q: FieldedPhrase) -> tuple[Floats, Mask]:
        tfs = np.zeros(self.size, dtype=np.float64)
        mask = np.zeros(self.size, dtype=np.bool_)
        for p in q.subqueries:
            if isinstance(p, phrases.PositionalPhrase):
                ids, counts = _frequencies(self.arrays, p.fieldname, list(p.slots))
            else:
                ids, counts = self.phrase_frequencies(p.fieldname, list(p.words), p.slop)
            if len(ids):
                tfs[ids] += p.boost * counts / self.norm(p.fieldname, ids)
                mask[ids] = True
        return tfs, mask

    def bm25f_compound(self, q: CompoundTerm) -> Dense:
        """One BM25F term whose frequency is the largest of its forms' (the joined term,
        the parts side by side): a compound counts once however it is written. Its
        document frequency is its terms' largest, or the number of documents of the
        index holding it in any form, if more."""
        tfs, mask, df = self.compound_tfs(q)
        held = self.stats.total(
            ("compound", self.stats.node_key(q)),
            lambda seg: int(np.count_nonzero(seg.compound_tfs(q)[1])),
        )
        return self.saturate(tfs, mask, max(df, held), q.boost)

    def compound_tfs(self, q: CompoundTerm) -> tuple[Floats, Mask, int]:
        """A compound's frequencies (the largest of its forms'), where it occurs, and its
        terms' largest document frequency (computed once per query node)."""
        key = self.stats.node_key(q)
        found = self._compounds.get(key)
        if found is None:
            found = self._compounds[key] = self._compound_tfs(q)
        return found

    def _compound_tfs(self, q: CompoundTerm) -> tuple[Floats, Mask, int]:
        tfs = np.zeros(self.size, dtype=np.float64)
        mask = np.zeros(self.size, dtype=np.bool_)
        df = 0
        for form in q.subqueries:
            if isinstance(form, FieldedTerm):
                f_tfs, f_mask, f_df = self.term_tfs(form)
            else:
                f_tfs, f_mask = self.phrase_tfs(form)
                f_df = 0
            np.maximum(tfs, f_tfs * form.boost, out=tfs)
            mask |= f_mask
            df = max(df, f_df)
        return tfs, mask, df

    def phrase_frequencies(self, field: str, words: list[str], slop: int) -> tuple[Ints, Floats]:
        """Documents where ``words`` occur in order, each within ``slop`` positions of
        the one before, and how often."""
        common: Ints | None = None
        for w in sorted(set(words), key=lambda w: self.stats.doc_frequency(field, w)):
            ids, _ = self.arrays.postings(field, w)
            common = ids if common is None else common[self.present(field, w)[common]]
            if not len(common):
                return common, np.zeros(0, dtype=np.float64)
        assert common is not None
        keys = [self.arrays.position_keys(field, w, common) for w in words]
        return _phrase_counts(keys, slop)

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
            in_a = self.present(field, phrase.words[0])
            in_b = self.present(field, phrase.words[1])
            pair = (field, phrase.words[0], phrase.words[1])
            n_both = self.stats.total(("both", *pair), functools.partial(_both, pair))
            docs = candidates[in_a[candidates] & in_b[candidates]]
            if not len(docs):
                continue
            a = self.arrays.positions(field, phrase.words[0], docs)
            b = self.arrays.positions(field, phrase.words[1], docs)
            counts = np.array(
                [
                    sum(1 for x in a[d] for y in b[d] if 0 < abs(x - y) <= window)
                    for d in docs.tolist()
                ],
                dtype=np.float64,
            )
            tf = counts / self.norm(field, docs)
            score = phrase.boost * self.idf(n_both) * tf * (k1 + 1.0) / (tf + k1)
            bonus[np.searchsorted(candidates, docs)] += score
        return bonus

    def scores_like_whoosh(self, field: str) -> bool:
        """Whether :meth:`whoosh_term` gives Whoosh's score for a term in ``field``."""
        schema = self.searcher.schema
        return type(self.searcher.weighting) is BM25F and field in schema and schema[field].scorable

    def whoosh_term(self, q: Term) -> Dense:
        """A plain Whoosh ``Term``, scored exactly as Whoosh's ``BM25F`` scores it (Whoosh's
        own idf, one field), from arrays instead of its matcher."""
        mask, score = self.empty()
        field = q.fieldname
        ids, tf = self.arrays.postings(field, q.text)
        if not len(ids):
            return mask, score
        weighting = self.searcher.weighting
        b = weighting._field_B.get(field, weighting.B)
        k1 = weighting.K1
        avg = self.stats.avg_length(field)
        idf = self.stats.live_idf(field, q.text)
        norm = (1 - b) + b * self.arrays.lengths(field)[ids] / avg
        mask[ids] = True
        score[ids] = q.boost * idf * (tf * (k1 + 1)) / (tf + k1 * norm)
        return mask, score

    def leaf(self, q: Query) -> Dense:
        """Any other query: Whoosh's own matcher, read to the end."""
        mask, score = self.empty()
        for sub, offset in self.leaves:
            m = q.matcher(sub, self.context)
            while m.is_active():
                mask[m.id() + offset] = True
                score[m.id() + offset] = m.score()
                m.next()
        return mask, score

    def best_match(self, q: BestMatch) -> Dense:
        base = self.best_match_base(q)
        return self.best_match_finish(q, base, _best(base[0] & self.allowed, base[1], self.depth))

    def best_match_base(self, q: BestMatch) -> tuple[Mask, Floats, Floats]:
        """The concepts' summed scores times coordination: (mask, score, coordination)."""
        concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity | Expansion)]
        total = np.zeros(self.size, dtype=np.float64)
        matched = np.zeros(self.size, dtype=np.int64)
        for sub in concepts:
            m, s = self.eval(sub)
            total += s
            matched += m
        n = len(concepts)
        coord = np.ones(self.size, dtype=np.float64)
        exponent = self.params.coordination
        if n > 1 and exponent:
            # (matched / n) ** coordination, looked up for each count
            coord = (np.arange(n + 1) / n) ** exponent
            coord = coord[matched]
        return matched > 0, total * coord, coord

    def best_match_finish(
        self, q: BestMatch, base: tuple[Mask, Floats, Floats], candidates: Ints
    ) -> Dense:
        """Adds the proximity bonus of ``candidates`` and the feedback terms."""
        mask, score, coord = base
        score = score.copy()
        mask = mask.copy()
        for sub in q.subqueries:
            if isinstance(sub, Proximity) and len(candidates):
                score[candidates] += self.proximity(sub, candidates) * coord[candidates]
        for sub in q.subqueries:
            if isinstance(sub, Expansion):
                m, s = self.eval(sub)
                mask |= m
                score += s
        return mask, _boosted(np.where(mask, score, 0.0), q.boost)


def _both(pair: tuple[str, str, str], seg: _Segment) -> int:
    """How many documents of ``seg`` hold both words of ``pair`` (field, word, word)."""
    field, a, b = pair
    return int(np.count_nonzero(seg.present(field, a) & seg.present(field, b)))


def _phrase_counts(keys: list[Ints], slop: int) -> tuple[Ints, Floats]:
    """Documents where the words occur as a phrase (:func:`phrase_starts`), and how
    many times."""
    docs, counts = np.unique(phrase_starts(keys, slop) >> 32, return_counts=True)
    return docs.astype(np.int64), counts.astype(np.float64)


def _best_of_all(parts: list[tuple[Mask, Floats]], depth: int) -> list[Ints]:
    """Per segment, the (ascending) numbers of its documents among the ``depth``
    best-scoring matches of all segments together."""
    found = [np.nonzero(mask)[0] for mask, _ in parts]
    scores = np.concatenate([score[f] for (_, score), f in zip(parts, found, strict=True)])
    if depth <= 0:
        return [f[:0].astype(np.int64) for f in found]
    if len(scores) <= depth:
        return [f.astype(np.int64) for f in found]
    cut = np.partition(scores, len(scores) - depth)[len(scores) - depth]
    return [
        np.sort(f[score[f] >= cut]).astype(np.int64)
        for (_, score), f in zip(parts, found, strict=True)
    ]


def _best(mask: Mask, score: Floats, depth: int) -> Ints:
    """The (ascending) numbers of the ``depth`` best-scoring matching documents, and
    of every other one scoring as much as the last of them."""
    found = np.nonzero(mask)[0]
    if depth <= 0:
        return found[:0].astype(np.int64)
    if len(found) > depth:
        scores = score[found]
        found = found[scores >= np.partition(scores, len(scores) - depth)[len(scores) - depth]]
    return found.astype(np.int64)


def _boosted(score: Floats, boost: float) -> Floats:
    return score if boost == 1.0 else score * boost


def _candidates(slots: list[phrases.Slot], present: Callable[[str], Any]) -> Any:
    mask: Any = None
    for slot in slots:
        either: Any = None
        for terms, _ in slot.forms:
            every: Any = None
            for term, _ in terms:
                has = present(term)
                every = has.copy() if every is None else every & has
            either = every if either is None else either | every
        mask = either if mask is None else mask & either
    return mask


def _frequencies(
    arrays: SegmentArrays, field: str, slots: list[phrases.Slot]
) -> tuple[Ints, Floats]:
    cache: dict[str, Any] = {}

    def present(term: str) -> Any:
        found = cache.get(term)
        if found is None:
            found = np.zeros(arrays.size, dtype=np.bool_)
            found[arrays.postings(field, term)[0]] = True
            cache[term] = found
        return found

    docs = np.flatnonzero(_candidates(slots, present)).astype(np.int64)
    if not len(docs):
        return docs, np.zeros(0, dtype=np.float64)
    keys: dict[str, Ints] = {}

    def keys_of(term: str, _docs: Ints | None) -> Ints:  # every candidate's positions
        found = keys.get(term)
        if found is None:
            found = keys[term] = arrays.position_keys(field, term, docs)
        return found

    ids, counts = np.unique(phrases.phrase_starts(slots, keys_of) >> 32, return_counts=True)
    return ids.astype(np.int64), counts.astype(np.float64)
