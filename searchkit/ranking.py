"""How free text becomes a ranked Whoosh query, the scoring model, and the evaluator.

A free-text query is a :class:`BestMatch`: one child per query *concept* (a word, with
its alternative spellings and acronym expansions searched in every text field at that
field's weight) plus, optionally, low-weight proximity children. A document's score is
the sum of its matching children's BM25F scores times a coordination factor that grows
with the share of concepts it matches: documents matching all words come first, partial
matches are still returned (PubMed "Best Match"), not a strict AND.

Whoosh's own matcher tree is slow in pure Python for long OR queries (SciFact claims
have ~10 words x 4 fields), so :func:`top_docs` evaluates queries term-at-a-time:
each leaf (term, phrase, …) is read with Whoosh's matcher and scored by Whoosh's
weighting, and the boolean structure is combined in dictionaries. A :class:`BestMatch`
nested inside another Whoosh query still works with Whoosh's own matchers (as a plain
``Or``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass

from whoosh import scoring
from whoosh.fields import Schema
from whoosh.matching import Matcher
from whoosh.query import And, AndMaybe, AndNot, NullQuery, Or, Phrase, Query, Term
from whoosh.searching import Searcher

from searchkit.acronyms import AcronymTable
from searchkit.schema import TEXT_FIELDS

# BM25F parameters (see BENCHMARKS.md for how they were chosen).
K1 = 1.2
B = 0.75
FIELD_B: dict[str, float] = {}  # per-field length normalisation, else B
# Coordination: score x (matched concepts / concepts) ** COORDINATION.
COORDINATION = 0.25
# Weight of a compound's parts (pd, l1) relative to its catenation (pdl1).
PART_WEIGHT = 0.5
# Sequential-dependence proximity: adjacent query words occurring within
# PROXIMITY_WINDOW positions of each other in these fields add PROXIMITY_WEIGHT x a BM25
# score of that co-occurrence count.
PROXIMITY_WEIGHT = 0.2
PROXIMITY_WINDOW = 4
PROXIMITY_FIELDS = ("title", "abstract")
# Weight of acronym expansions (MHC ⇄ major histocompatibility complex) relative to the
# typed words.
ACRONYM_WEIGHT = 0.2

Scores = dict[int, float]


def weighting() -> scoring.WeightingModel:
    """The scoring model used for every search."""
    return scoring.BM25F(B=B, K1=K1)


class BestMatch(Or):
    """Free-text query: children are concepts (and :class:`Proximity` bonuses); see module
    docs. Whoosh's matchers score it as a plain ``Or``; :func:`top_docs` adds coordination."""

    JOINT = " BEST "


class Expansion(Or):
    """Feedback terms (``--expand``): scored and able to bring in new documents, but not
    counted as concepts and not scaled by coordination."""

    JOINT = " EXP "


class Proximity(Or):
    """Bonus clauses (sloppy phrases of adjacent query words): scored, not counted as
    concepts for coordination."""

    JOINT = " NEAR "


@dataclass(frozen=True)
class QueryToken:
    """An analyzed query token: index term, kind (word/part/cat), compound group, position."""

    text: str
    kind: str
    group: int
    pos: int
    original: str = ""


def analyze_query(schema: Schema, text: str) -> list[QueryToken]:
    """The analyzed tokens of free text (all text fields share one analyzer)."""
    analyzer = schema["abstract"].analyzer
    return [
        QueryToken(
            t.text,
            getattr(t, "kind", "word"),
            getattr(t, "group", i),
            t.pos,
            getattr(t, "original", t.text),
        )
        for i, t in enumerate(analyzer(text, mode="query", positions=True, keeporiginal=True))
    ]


def analyze_query_words(schema: Schema, text: str) -> list[str]:
    """The index terms a piece of free text becomes."""
    return [t.text for t in analyze_query(schema, text)]


class FieldedTerm(Or):
    """One term in several fields (children: ``Term(field, text, boost=field weight)``),
    scored by :func:`top_docs` as a single BM25F term: the field frequencies are
    length-normalised per field, weighted, summed, and saturated once (Robertson &
    Zaragoza). Whoosh's own matchers score it as a plain ``Or`` of per-field BM25."""

    JOINT = " | "


class FieldedPhrase(Or):
    """A phrase in several fields (children: ``Phrase(field, words, boost=field weight)``),
    scored by :func:`top_docs` like a :class:`FieldedTerm` whose frequency is the number
    of times the phrase occurs. Whoosh's matchers score it as an ``Or`` of phrases."""

    JOINT = " | "


def term_query(schema: Schema, term: str, boost: float = 1.0) -> Query:
    """One analyzed term searched across the weighted text fields."""
    return FieldedTerm([Term(f, term, boost=w) for f, w in TEXT_FIELDS.items()], boost=boost)


def _concepts(tokens: list[QueryToken]) -> list[list[QueryToken]]:
    """Tokens grouped by the written word or compound they come from, in query order;
    a term already used by an earlier concept is not repeated."""
    groups: dict[int, list[QueryToken]] = {}
    seen: set[str] = set()
    for t in tokens:
        if t.text in seen:
            continue
        seen.add(t.text)
        groups.setdefault(t.group, []).append(t)
    return list(groups.values())


def _concept_query(schema: Schema, group: list[QueryToken]) -> Query:
    if len(group) == 1:
        return term_query(schema, group[0].text)
    # A compound: the catenated form (PD-L1 → pdl1) at full weight, its parts lower.
    return Or([term_query(schema, t.text, 1.0 if t.kind == "cat" else PART_WEIGHT) for t in group])


def _phrase_query(schema: Schema, terms: list[str], boost: float) -> Query:
    """``terms`` in sequence (a little slop for compounds) in every weighted text field."""
    if len(terms) == 1:
        return term_query(schema, terms[0], boost)
    return FieldedPhrase(
        [Phrase(f, terms, slop=2, boost=w) for f, w in TEXT_FIELDS.items()], boost=boost
    )


def _index_terms(schema: Schema, text: str) -> list[str]:
    """The terms of a phrase as indexed in sequence (compounds by their catenation)."""
    return [t.text for t in analyze_query(schema, text) if t.kind != "part"]


def _short_form_expansions(
    schema: Schema, group: list[QueryToken], acronyms: AcronymTable
) -> list[Query]:
    """A typed short form (``MHC``) → its long forms, weighted by their frequency."""
    written = group[0].original
    if not any(c.isupper() for c in written):  # "age" is a word, "AGE" may be an acronym
        return []
    forms = acronyms.long_forms(written)
    total = sum(n for _, n in forms)
    out: list[Query] = []
    for lf, n in forms:
        terms = _index_terms(schema, lf)
        if terms:
            out.append(_phrase_query(schema, terms, ACRONYM_WEIGHT * n / total))
    return out


def _long_form_spans(
    schema: Schema, groups: list[list[QueryToken]], acronyms: AcronymTable
) -> list[tuple[int, int, str]]:
    """Runs of query words that spell a learned long form: (first group, end, short form
    term), longest match first, not overlapping."""
    words = [g[0].text if len(g) == 1 and g[0].kind == "word" else "" for g in groups]
    typed = {t.text for g in groups for t in g}
    by_first = acronyms_by_first_term(schema, acronyms)
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        best: tuple[int, str] | None = None
        for terms, short in by_first.get(words[i], []) if words[i] else []:
            end = i + len(terms)
            longer = best is None or end > best[0]
            if longer and tuple(words[i:end]) == terms and short not in typed:
                best = (end, short)
        if best is not None:
            spans.append((i, best[0], best[1]))
            i = best[0]
        else:
            i += 1
    return spans


def acronyms_by_first_term(
    schema: Schema, acronyms: AcronymTable
) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Long forms (as index terms) by their first term, with the short form's term;
    cached on the table."""
    cached = acronyms.cache.get("by_first_term")
    if not isinstance(cached, dict):
        cached = {}
        for sf, lfs in acronyms.counts.items():
            sf_terms = _index_terms(schema, sf)
            if len(sf_terms) != 1:
                continue
            for lf in lfs:
                terms = tuple(_index_terms(schema, lf))
                if len(terms) >= 2:
                    cached.setdefault(terms[0], []).append((terms, sf_terms[0]))
        acronyms.cache["by_first_term"] = cached
    return cached


def _proximity(schema: Schema, groups: list[list[QueryToken]]) -> Query | None:
    """Adjacent query words as sloppy phrases (sequential-dependence style)."""
    words = [g[0] for g in groups if len(g) == 1 and g[0].kind == "word"]
    pairs = [(a.text, b.text) for a, b in itertools.pairwise(words) if b.pos - a.pos <= 2]
    if not pairs or not PROXIMITY_WEIGHT:
        return None
    return Proximity(
        [
            Phrase(f, list(pair), slop=PROXIMITY_WINDOW, boost=TEXT_FIELDS[f] * PROXIMITY_WEIGHT)
            for pair in pairs
            for f in PROXIMITY_FIELDS
        ]
    )


def free_text_query(schema: Schema, text: str, *, acronyms: AcronymTable | None = None) -> Query:
    """Ranked free-text query for ``text`` (NullQuery if it has no searchable word).

    With an acronym table, a typed short form also searches its long forms and a typed
    long form its short form, at ``ACRONYM_WEIGHT``.
    """
    groups = _concepts(analyze_query(schema, text))
    if not groups:
        return NullQuery
    concepts: list[Query] = [_concept_query(schema, g) for g in groups]
    if acronyms is not None and len(acronyms) and ACRONYM_WEIGHT:
        for i, group in enumerate(groups):
            expansions = _short_form_expansions(schema, group, acronyms)
            if expansions:
                concepts[i] = Or([concepts[i], *expansions])
        # A long form typed in full is one concept that also matches its short form.
        for start, end, short in reversed(_long_form_spans(schema, groups, acronyms)):
            merged = Or([*concepts[start:end], term_query(schema, short, ACRONYM_WEIGHT)])
            concepts[start:end] = [merged]
    children = list(concepts)
    near = _proximity(schema, groups)
    if near is not None:
        children.append(near)
    return BestMatch(children)


# -- evaluation ------------------------------------------------------------------


def top_docs(
    searcher: Searcher, query: Query, limit: int | None
) -> tuple[list[tuple[float, int]], Scores]:
    """The best ``limit`` (score, docnum) pairs (ties by docnum) and every match's score."""
    scores = evaluate(searcher, query)
    key = lambda item: (-item[1], item[0])  # noqa: E731
    items: Iterable[tuple[int, float]] = scores.items()
    best = heapq.nsmallest(limit, items, key=key) if limit else sorted(items, key=key)
    return [(score, docnum) for docnum, score in best], scores


def evaluate(searcher: Searcher, query: Query) -> Scores:
    """Score of every document matching ``query`` (top-level document numbers)."""
    context = searcher.context(weighting=searcher.weighting)
    out: Scores = {}
    for sub, offset in searcher.leaf_searchers():
        for docnum, score in _eval(sub, query, context).items():
            out[docnum + offset] = score
    return out


def _eval(searcher: Searcher, q: Query, context: object) -> Scores:
    if q is NullQuery:
        return {}
    if isinstance(q, BestMatch):
        return _best_match(searcher, q, context)
    if isinstance(q, FieldedTerm) and all(isinstance(t, Term) for t in q.subqueries):
        return _bm25f(searcher, q)
    if isinstance(q, FieldedPhrase) and all(isinstance(t, Phrase) for t in q.subqueries):
        return _bm25f_phrase(searcher, q)
    if isinstance(q, Or) and not q.minmatch and not q.scale:
        acc: Scores = {}
        for sub in q.subqueries:
            for d, s in _eval(searcher, sub, context).items():
                acc[d] = acc.get(d, 0.0) + s
        return _boosted(acc, q.boost)
    if isinstance(q, And):
        parts = [_eval(searcher, sub, context) for sub in q.subqueries]
        if not parts:
            return {}
        parts.sort(key=len)
        acc = dict(parts[0])
        for part in parts[1:]:
            acc = {d: s + part[d] for d, s in acc.items() if d in part}
        return _boosted(acc, q.boost)
    if isinstance(q, AndNot):
        positive = _eval(searcher, q.a, context)
        negative = _eval(searcher, q.b, context)
        return _boosted({d: s for d, s in positive.items() if d not in negative}, q.boost)
    if isinstance(q, AndMaybe):
        required = _eval(searcher, q.a, context)
        optional = _eval(searcher, q.b, context)
        return _boosted({d: s + optional.get(d, 0.0) for d, s in required.items()}, q.boost)
    return _leaf(searcher, q, context)


def _boosted(scores: Scores, boost: float) -> Scores:
    if boost == 1.0:
        return scores
    return {d: s * boost for d, s in scores.items()}


def _bm25f(searcher: Searcher, q: FieldedTerm) -> Scores:
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    tfs: Scores = {}
    df = 0
    for t in q.subqueries:
        field, text = t.fieldname, t.text
        if (field, text) not in reader:
            continue
        df = max(df, parent.doc_frequency(field, text))
        avg = parent.avg_field_length(field) or 1.0
        b = FIELD_B.get(field, B)
        weight = t.boost
        for docnum, tf in reader.postings(field, text).items_as("weight"):
            norm = 1.0 - b + b * reader.doc_field_length(docnum, field, 0) / avg
            tfs[docnum] = tfs.get(docnum, 0.0) + weight * tf / norm
    if not tfs:
        return {}
    idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    k1 = K1
    scale = idf * (k1 + 1.0) * q.boost
    return {d: scale * tf / (tf + k1) for d, tf in tfs.items()}


def _saturate(
    searcher: Searcher, per_field: list[tuple[str, float, dict[int, float]]], boost: float
) -> Scores:
    """BM25F: weighted, length-normalised frequencies summed over fields, saturated once."""
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    tfs: Scores = {}
    for field, weight, freqs in per_field:
        avg = parent.avg_field_length(field) or 1.0
        b = FIELD_B.get(field, B)
        for docnum, tf in freqs.items():
            norm = 1.0 - b + b * reader.doc_field_length(docnum, field, 0) / avg
            tfs[docnum] = tfs.get(docnum, 0.0) + weight * tf / norm
    if not tfs:
        return {}
    df = len(tfs)
    idf = math.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    scale = idf * (K1 + 1.0) * boost
    return {d: scale * tf / (tf + K1) for d, tf in tfs.items()}


def _phrase_frequencies(reader: object, field: str, words: list[str], slop: int) -> Scores:
    """Per document, how often ``words`` occur in order, each within ``slop`` positions
    of the one before."""
    lists = [_positions(reader, field, w) for w in words]
    if not all(lists):
        return {}
    common = set(lists[0]).intersection(*lists[1:])
    out: Scores = {}
    for d in common:
        follow = [set(p[d]) for p in lists[1:]]
        n = 0
        for start in lists[0][d]:
            pos = start
            for positions in follow:
                nxt = next((pos + k for k in range(1, slop + 1) if pos + k in positions), None)
                if nxt is None:
                    break
                pos = nxt
            else:
                n += 1
        if n:
            out[d] = float(n)
    return out


def _bm25f_phrase(searcher: Searcher, q: FieldedPhrase) -> Scores:
    reader = searcher.reader()
    per_field = [
        (p.fieldname, p.boost, _phrase_frequencies(reader, p.fieldname, list(p.words), p.slop))
        for p in q.subqueries
    ]
    return _saturate(searcher, per_field, q.boost)


def _positions(reader: object, field: str, text: str) -> dict[int, list[int]]:
    if (field, text) not in reader:  # type: ignore[operator]
        return {}
    postings = reader.postings(field, text)  # type: ignore[attr-defined]
    return dict(postings.items_as("positions"))


def _proximity_scores(searcher: Searcher, q: Proximity) -> Scores:
    """Sequential-dependence bonus: for each adjacent pair of query words (a sloppy
    ``Phrase`` child), the number of times they occur within ``slop`` positions of each
    other, in either order, scored like a BM25 term of that frequency."""
    parent = searcher.get_parent()
    reader = searcher.reader()
    n_docs = max(parent.doc_count_all(), 1)
    cache: dict[tuple[str, str], dict[int, list[int]]] = {}
    out: Scores = {}
    for phrase in q.subqueries:
        if not isinstance(phrase, Phrase) or len(phrase.words) != 2:
            continue
        field, window = phrase.fieldname, phrase.slop
        a, b = (cache.setdefault((field, w), _positions(reader, field, w)) for w in phrase.words)
        counts: dict[int, int] = {}
        for d in a.keys() & b.keys():
            pb = b[d]
            n = sum(1 for x in a[d] for y in pb if 0 < abs(x - y) <= window)
            if n:
                counts[d] = n
        if not counts:
            continue
        avg = parent.avg_field_length(field) or 1.0
        bf = FIELD_B.get(field, B)
        idf = math.log(1.0 + (n_docs - len(counts) + 0.5) / (len(counts) + 0.5))
        for d, n in counts.items():
            norm = 1.0 - bf + bf * reader.doc_field_length(d, field, 0) / avg
            tf = n / norm
            out[d] = out.get(d, 0.0) + phrase.boost * idf * tf * (K1 + 1) / (tf + K1)
    return out


def _leaf(searcher: Searcher, q: Query, context: object) -> Scores:
    """Any other query: Whoosh's own matcher, read to the end."""
    m: Matcher = q.matcher(searcher, context)
    out: Scores = {}
    while m.is_active():
        out[m.id()] = m.score()
        m.next()
    return out


def _best_match(searcher: Searcher, q: BestMatch, context: object) -> Scores:
    concepts = [sub for sub in q.subqueries if not isinstance(sub, Proximity | Expansion)]
    bonuses = [sub for sub in q.subqueries if isinstance(sub, Proximity)]
    extras = [sub for sub in q.subqueries if isinstance(sub, Expansion)]
    total: Scores = {}
    matched: dict[int, int] = {}
    for sub in concepts:
        for d, s in _eval(searcher, sub, context).items():
            total[d] = total.get(d, 0.0) + s
            matched[d] = matched.get(d, 0) + 1
    for sub in bonuses:
        for d, s in _proximity_scores(searcher, sub).items():
            if d in total:
                total[d] += s
    n = len(concepts)
    if n > 1 and COORDINATION:
        for d, s in total.items():
            total[d] = s * (matched[d] / n) ** COORDINATION
    for sub in extras:
        for d, s in _eval(searcher, sub, context).items():
            total[d] = total.get(d, 0.0) + s
    return _boosted(total, q.boost)


# -- pseudo-relevance feedback (--expand) ------------------------------------------------

FEEDBACK_DOCS = 5
FEEDBACK_TERMS = 10
FEEDBACK_WEIGHT = 0.3


def expand_query(searcher: Searcher, query: Query) -> Query:
    """RM3-style feedback: add the top terms of the best ``FEEDBACK_DOCS`` hits.

    Each term's weight is its relevance-model probability (its share of each feedback
    document, weighted by the document's share of the scores) times its idf; the
    ``FEEDBACK_TERMS`` best terms not already in the query are added as an
    :class:`Expansion` at ``FEEDBACK_WEIGHT`` of a typed word. Only a
    :class:`BestMatch` (free text) is expanded.
    """
    if not isinstance(query, BestMatch):
        return query
    top, _ = top_docs(searcher, query, FEEDBACK_DOCS)
    if not top:
        return query
    schema = searcher.schema
    analyzer = schema["abstract"].analyzer
    typed = {text for _, text in query.all_terms()}
    total_score = sum(score for score, _ in top) or 1.0
    model: dict[str, float] = {}
    for score, docnum in top:
        stored = searcher.stored_fields(docnum)
        text = " ".join(str(stored.get(f) or "") for f in ("title", "abstract"))
        words = [t.text for t in analyzer(text) if getattr(t, "kind", "word") != "part"]
        if not words:
            continue
        share = score / total_score / len(words)
        for w in words:
            model[w] = model.get(w, 0.0) + share
    n_docs = max(searcher.doc_count_all(), 1)
    weighted = []
    for term, p in model.items():
        if term in typed or not any(c.isalpha() for c in term):
            continue
        df = max(searcher.doc_frequency(f, term) for f in ("title", "abstract"))
        weighted.append((p * math.log(1.0 + n_docs / (df + 1)), term))
    weighted.sort(reverse=True)
    best = weighted[:FEEDBACK_TERMS]
    if not best:
        return query
    top_weight = best[0][0]
    extra = Expansion(
        [term_query(schema, term, FEEDBACK_WEIGHT * w / top_weight) for w, term in best]
    )
    return BestMatch([*query.subqueries, extra], boost=query.boost)
