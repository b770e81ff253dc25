"""Best-passage snippets with the matched terms' offsets.

A snippet is the window of about ``SNIPPET_CHARS`` characters of the abstract (else the
title) that holds the most distinct matched query terms, then the most matches. The
text is cut into the units the searchkit tokenizer reads as one word or compound
(``PD-L1``, ``CD8+``, ``HLA-A*02:01``); each distinct unit is analysed once per analyzer and
remembered, so showing a page of hits does not re-run the Python tokenizer over every
abstract (which cost more than the search itself on a large index).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from whoosh.searching import Hit

from searchkit.analysis.analyzer import COMPOUND, term_head, term_heads, text_analyzer, word_terms

SNIPPET_CHARS = 240
#: Characters of context shown before the first match of the chosen window.
LEAD_CHARS = 70
#: Distinct units whose terms :class:`UnitTerms` keeps (then it starts over).
UNIT_CACHE_SIZE = 50_000
ELLIPSIS = "…"

Spans = tuple[tuple[int, int], ...]
Match = tuple[int, int, frozenset[str]]  # a unit's start, end and matched terms


class Phrases(NamedTuple):
    """The phrases of a query in the highlighted fields, and the terms the query
    searches only inside them: such a term marks a unit only where its phrase occurs
    (the ``complex`` of *major histocompatibility complex* for ``MHC``, not of "complex
    traits"; the ``il`` and ``6`` of ``IL-6`` in ``IL 6``, not the ``IL`` of ``IL-10``).
    A phrase is its slots in order (each the terms that can fill it) and its reach: how
    many units, from its first, an occurrence may span (its length, the stop words
    inside it, its slop)."""

    phrases: tuple[tuple[tuple[frozenset[str], ...], int], ...] = ()
    only: frozenset[str] = frozenset()


NO_PHRASES = Phrases()

#: Matched terms from these fields are highlighted (they share the text analyzer).
MATCH_FIELDS = frozenset({"title", "abstract", "keywords", "mesh", "mesh_major"})


class UnitTerms:
    """The index terms of a written unit (word or compound), per analyzer, cached."""

    def __init__(self, analyzer: Any) -> None:
        self.analyzer = analyzer
        #: The text analyzer reads a single word without its token pipeline.
        self.words = analyzer == text_analyzer()
        #: The units analysed so far (read it directly in loops; call for the rest).
        self.known: dict[str, frozenset[str]] = {}
        #: The heads the terms of the units seen so far can have (:meth:`heads_of`).
        self.heads: dict[str, frozenset[str]] = {}

    def __call__(self, unit: str) -> frozenset[str]:
        found = self.known.get(unit)
        if found is None:
            if len(self.known) >= UNIT_CACHE_SIZE:
                self.known = {}
            found = word_terms(unit) if self.words else None
            if found is None:
                tokens = self.analyzer(unit, mode="query", removestops=False)
                found = frozenset(t.text for t in tokens)
            self.known[unit] = found
        return found

    def heads_of(self, unit: str) -> frozenset[str]:
        """The heads (first two characters) the terms of ``unit`` can have
        (:func:`term_heads`; the text analyzer's), cached: a page of hits repeats the
        words it does not analyse."""
        found = self.heads.get(unit)
        if found is None:
            if len(self.heads) >= UNIT_CACHE_SIZE:
                self.heads = {}
            found = self.heads[unit] = term_heads(unit)
        return found


_UNIT_TERMS: dict[int, tuple[Any, UnitTerms]] = {}


def unit_terms(analyzer: Any) -> UnitTerms:
    """The cached unit analysis of ``analyzer`` (one per analyzer object, for the last
    few: each opened index unpickles its own)."""
    found = _UNIT_TERMS.get(id(analyzer))
    if found is None or found[0] is not analyzer:
        if len(_UNIT_TERMS) >= 4:
            del _UNIT_TERMS[next(iter(_UNIT_TERMS))]
        found = _UNIT_TERMS[id(analyzer)] = (analyzer, UnitTerms(analyzer))
    return found[1]


def matched_words(hit: Hit) -> frozenset[str]:
    """The index terms this hit matched in the text fields, whichever field matched
    (a ``[ti]`` query still highlights its words in the abstract)."""
    if not hit.results.has_matched_terms():
        return frozenset()
    return frozenset(
        text.decode("utf-8") if isinstance(text, bytes) else str(text)
        for fieldname, text in hit.matched_terms()
        if fieldname in MATCH_FIELDS
    )


def passage(
    text: str, words: frozenset[str], terms_of: UnitTerms, phrases: Phrases = NO_PHRASES
) -> tuple[str, Spans] | None:
    """The best window of ``text`` (whitespace already collapsed) for the matched index
    terms ``words``, with the offsets of the matched units in it; None if no unit of
    ``text`` matches. A term of ``phrases.only`` matches only inside an occurrence of
    its phrase (:func:`_in_phrases`)."""
    matches: list[Match] = []
    order: list[int] = []  # each match's place among the units of ``text``
    known = terms_of.known
    disjoint = words.isdisjoint
    # A unit not analysed yet none of whose terms can begin as one of ``words`` does
    # (their first two characters) is not analysed: stemming was most of a page of
    # snippets on a large index, whose hits hold many words seen once
    # (:meth:`UnitTerms.heads_of`).
    wanted = frozenset(term_head(w) for w in words) if terms_of.words else None
    heads = terms_of.heads
    for k, m in enumerate(COMPOUND.finditer(text)):
        unit = m.group()
        terms = known.get(unit)
        if terms is None:
            if wanted is not None and wanted.isdisjoint(heads.get(unit) or terms_of.heads_of(unit)):
                continue
            terms = terms_of(unit)
        if not disjoint(terms):
            matches.append((m.start(), m.end(), terms & words))
            order.append(k)
    if phrases.only and not phrases.only.isdisjoint(words):
        matches = _in_phrases(matches, order, phrases, words)
    if not matches:
        return None
    # Slide a window over the matches: (distinct terms, matches, earliest) is best.
    reach = SNIPPET_CHARS - LEAD_CHARS
    counts: Counter[str] = Counter()
    best_key: tuple[int, int, int] | None = None
    best = j = 0
    for i, (start, _, terms) in enumerate(matches):
        if j < i:  # a single unit longer than the window
            j = i
        while j < len(matches) and matches[j][1] <= start + reach:
            counts.update(matches[j][2])
            j += 1
        key = (len(counts), j - i, -start)
        if best_key is None or key > best_key:
            best_key, best = key, i
        if j > i:
            counts.subtract(terms)
            for term in terms:
                if counts[term] <= 0:
                    del counts[term]
    return _window(text, matches, matches[best][0])


def _in_phrases(
    matches: list[Match], order: list[int], phrases: Phrases, words: frozenset[str]
) -> list[Match]:
    """Those of ``matches`` (at the places ``order`` among the text's units) that match
    a term searched alone, or fill a slot of an occurrence of a phrase of ``phrases``
    (:func:`_occurrences`)."""
    inside: set[int] = set()
    for slots, reach in phrases.phrases:
        if slots and all(not slot.isdisjoint(words) for slot in slots):  # else none occurs
            inside |= _occurrences(slots, reach, matches, order)
    only = phrases.only
    return [m for i, m in enumerate(matches) if i in inside or not m[2] <= only]


def _occurrences(
    slots: tuple[frozenset[str], ...], reach: int, matches: list[Match], order: list[int]
) -> set[int]:
    """The matches that fill the slots of each shortest occurrence of a phrase: its
    slots in order, one unit possibly filling several (``IL-6``: ``il``, ``6``), all
    within ``reach`` units of the first. From each unit filling the first slot, the
    earliest units filling the others; then back from the last of them, the latest
    units filling the slots before it (``IL-6`` alone, not ``IL-17A IL-23 IL-6``)."""
    found: set[int] = set()
    count = len(matches)
    i = 0
    while i < count:
        if slots[0].isdisjoint(matches[i][2]):
            i += 1
            continue
        j, slot = i, 0
        while slot < len(slots) and j < count and order[j] - order[i] < reach:
            if slots[slot].isdisjoint(matches[j][2]):
                j += 1
            else:
                slot += 1  # the next slot may be filled by the same unit
        if slot < len(slots):
            i += 1
            continue
        k, slot = j, len(slots) - 1
        while slot >= 0:
            if slots[slot].isdisjoint(matches[k][2]):
                k -= 1
            else:
                found.add(k)
                slot -= 1
        i = k + 1
    return found


def _window(text: str, matches: list[Match], first: int) -> tuple[str, Spans]:
    """About ``SNIPPET_CHARS`` characters of ``text`` from a little before ``first``, cut
    at spaces, with "…" where text was left out, and the matches' offsets in it."""
    start = max(0, first - LEAD_CHARS)
    if start and text[start - 1] != " ":
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", first, end)
        end = space if space > first else end
    body = text[start:end].strip()
    lead = text[start:end].index(body[:1]) if body else 0
    prefix = ELLIPSIS + " " if start > 0 else ""
    suffix = " " + ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start - lead
    spans = tuple((s + shift, e + shift) for s, e, _ in matches if s >= start + lead and e <= end)
    return prefix + body + suffix, spans


def _flat(text: str) -> str:
    """``text`` with each run of whitespace one space, none at either end: what
    ``re.sub(r"\\s+", " ", text).strip()`` gives (``str.split`` and ``\\s`` take the same
    characters for whitespace), at a third of its cost (33 against 11 µs an abstract)."""
    return " ".join(text.split())


def snippet(hit: Hit) -> tuple[str, Spans]:
    """The best passage of the abstract (else the title) with the matched terms (those
    searched only inside phrases where their phrase occurs: ``hit.results.phrases``,
    when the search recorded them)."""
    words = matched_words(hit)
    phrases = getattr(hit.results, "phrases", NO_PHRASES)
    schema = hit.searcher.schema
    if words:
        for fieldname in ("abstract", "title"):
            text = hit.get(fieldname)
            if not text:
                continue
            flat = _flat(text)
            found = passage(flat, words, unit_terms(schema[fieldname].analyzer), phrases)
            if found is not None:
                return found
    abstract = hit.get("abstract")
    if abstract:
        flat = _flat(abstract)
        if len(flat) > SNIPPET_CHARS:
            flat = flat[:SNIPPET_CHARS].rsplit(" ", 1)[0] + " " + ELLIPSIS
        return flat, ()
    return "", ()
