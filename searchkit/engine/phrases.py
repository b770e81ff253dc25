"""Quoted phrases, matched at the positions the index gave their words.

The text analyzer gives a compound several terms (``PD-L1`` → ``pdl1`` at the first
part's position, then ``pd`` and ``l1`` one position apart), keeps the position of a
stop word it drops (``spine in children``: ``spine`` at 0, ``child`` at 2), and joins a
code written with a space (``MHC class II`` → ``mhc``, ``class``, ``ii`` and ``mhcii``
at ``mhc``'s position). A phrase is therefore analyzed by the same analyzer into
:class:`Slot` s, each the written unit at one run of positions with the ways a record
can hold it:

* the terms as the analyzer placed them (the words and parts at their positions,
  without the joined term): what the text the phrase was copied from holds, always;
* the joined term alone, one position wide: the compound written as one word
  (``PDL1`` for a typed ``PD-L1``);
* for a code joined across a word (``MHC class II``), its own parts side by side
  (``MHC-II``, ``MHC II``);
* for a quoted phrase (:func:`with_writings`), a code's joined term also as the
  pieces records write it in (``IL10`` as ``IL-10``, ``NF-κB`` as ``NF-kappa B``).

Slots follow each other at the distances the analyzer gave them (stop-word gaps
included), each starting where the form the previous slot matched in ends.
:class:`PositionalPhrase` is the query for one field; :func:`phrase_starts` finds it in
position arrays (``docnum << 32 | position``, as :mod:`searchkit.engine.postings` gives them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from whoosh import matching
from whoosh.query import Query, Term
from whoosh.query.qcore import QueryError as WhooshQueryError

from searchkit.analysis.code_writings import Writing
from searchkit.engine import sets
from searchkit.engine.joined import Arrays
from searchkit.engine.postings import Floats, Ints, SegmentArrays
from searchkit.engine.sparse import union

#: One way a slot is written: (term, position offset) pairs and the number of positions
#: it takes.
Form = tuple[tuple[tuple[str, int], ...], int]


class Slot(NamedTuple):
    """A written word or compound of a phrase: ``gap`` empty positions (stop words)
    before it, and the forms that match it, the form as written first."""

    gap: int
    forms: tuple[Form, ...]

    def terms(self) -> list[str]:
        """Every term of the slot, each once, in order."""
        return list(dict.fromkeys(t for terms, _ in self.forms for t, _ in terms))

    def __str__(self) -> str:
        shown = [" ".join(t for t, _ in terms) for terms, _ in self.forms]
        return shown[0] if len(shown) == 1 else "(" + "|".join(shown) + ")"


class _Token(NamedTuple):
    text: str
    kind: str
    group: int
    pos: int


def analyze(analyzer: Any, text: str) -> list[Slot]:
    """The slots of ``text`` as ``analyzer`` indexes it (no slots: only stop words)."""
    # Not the codes inside a compound (kind "sub"): the compound's parts stand for them.
    tokens = [
        _Token(t.text, getattr(t, "kind", "word"), getattr(t, "group", i), t.pos)
        for i, t in enumerate(analyzer(text, positions=True, mode="index"))
        if getattr(t, "kind", "word") != "sub"
    ]
    plain = [t for t in tokens if t.kind != "cat"]
    spans: dict[int, tuple[_Token, int, int]] = {}  # start → (joined term, start, end)
    for cat in (t for t in tokens if t.kind == "cat"):
        own = [t.pos for t in plain if t.group == cat.group]
        end = max(own, default=cat.pos)
        spans[cat.pos] = (cat, cat.pos, max(end, cat.pos))
    slots: list[Slot] = []
    previous_end = None
    i = 0
    positions = sorted({t.pos for t in plain} | set(spans))
    while i < len(positions):
        pos = positions[i]
        gap = 0 if previous_end is None else pos - previous_end - 1
        if pos in spans:
            cat, start, end = spans[pos]
            inside = [t for t in plain if start <= t.pos <= end]
            forms: list[Form] = [
                (tuple((t.text, t.pos - start) for t in inside), end - start + 1),
                (((cat.text, 0),), 1),
            ]
            parts = [t for t in inside if t.group == cat.group]
            if len(parts) != len(inside) and parts:
                forms.append((tuple((t.text, k) for k, t in enumerate(parts)), len(parts)))
            if not inside:  # a compound of more parts than are joined: never here
                forms = forms[1:]
            slots.append(Slot(gap, tuple(dict.fromkeys(forms))))
            previous_end = end
            while i < len(positions) and positions[i] <= end:
                i += 1
            continue
        here = [t for t in plain if t.pos == pos]
        word: Form = (((here[0].text, 0),), 1)
        slots.append(Slot(gap, (word,)))
        previous_end = pos
        i += 1
    return slots


def with_writings(slots: list[Slot], writings: Callable[[str], tuple[Writing, ...]]) -> list[Slot]:
    """``slots`` with each form of one term one position wide (a word, a compound's
    joined term) also matched as records write that code in pieces
    (``writings(term)``): its joined term where a hyphenated writing puts it, at the
    first piece, with the last piece after it (``il10`` then ``10``: ``IL-10`` for a
    typed ``IL10``; not ``il10`` alone two positions wide, which "IL10 xyz" would
    fill), and the pieces side by side where records write them apart and the index
    does not join them (``tnf``, ``alpha`` for ``tnfalpha``: "TNF alpha")."""
    out: list[Slot] = []
    for slot in slots:
        forms = list(slot.forms)
        for terms, width in slot.forms:
            if width != 1 or len(terms) != 1:
                continue
            term = terms[0][0]
            for pieces, apart in writings(term):
                if apart:
                    forms.append((tuple((p, k) for k, p in enumerate(pieces)), len(pieces)))
                else:  # the joined term where the first piece is, and the last piece
                    last = len(pieces) - 1
                    forms.append((((term, 0), (pieces[last], last)), len(pieces)))
        out.append(Slot(slot.gap, tuple(dict.fromkeys(forms))))
    return out


def phrase_starts(slots: list[Slot], keys: Callable[[str, Ints | None], Ints]) -> Ints:
    """Where the phrase occurs: its first positions, as sorted unique ``docnum << 32 |
    position``. ``keys(term, docs)`` gives the term's positions in that form (sorted)
    in at least the documents ``docs`` (ascending; None: every document), those where
    the slots before were found in order: the documents asked for only shrink from
    slot to slot, so a common word's positions are decoded only where the phrase can
    still occur."""
    state: tuple[Ints, Ints] | None = None  # (phrase start, where the next slot starts)
    for slot in slots:
        alive = None if state is None else sets.distinct(state[0] >> 32)
        found_starts: list[Ints] = []
        found_next: list[Ints] = []
        for terms, width in slot.forms:
            if state is None:
                # The first term of the form (a stopped word may leave offset 0 empty).
                anchor, first = min(terms, key=lambda pair: pair[1])
                found = keys(anchor, alive)
                at = found[(found & _POSITION) >= first] - first
                starts = at
            else:
                starts, at = state[0], state[1] + slot.gap
            keep = np.ones(len(at), dtype=np.bool_)
            for term, off in terms:
                if not keep.any():
                    break
                keep &= _contains(keys(term, alive), at + off)
            found_starts.append(starts[keep])
            found_next.append(at[keep] + width)
        starts = np.concatenate(found_starts)
        following = np.concatenate(found_next)
        if not len(starts):
            return starts
        state = sets.distinct_pairs(starts, following)
    if state is None:
        return np.zeros(0, dtype=np.int64)
    return sets.distinct(state[0])  # ascending: the pairs are ordered by their start


_POSITION = 0xFFFFFFFF  # the position bits of a ``docnum << 32 | position`` key


def _contains(sorted_keys: Ints, wanted: Ints) -> Any:
    if not len(sorted_keys):
        return np.zeros(len(wanted), dtype=np.bool_)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    return sorted_keys[at] == wanted


def candidates(slots: list[Slot], holding: Callable[[str], Ints]) -> Ints:
    """The documents (ascending) that hold, for every slot, all terms of one of its
    forms; ``holding(term)`` gives the documents holding ``term`` (ascending). The
    work is proportional to the terms' postings, not to the segment's size."""
    docs: Ints | None = None
    for slot in slots:
        either: Ints | None = None
        for terms, _ in slot.forms:
            every: Ints | None = None
            for term, _ in terms:
                if every is not None and not len(every):
                    break  # a form no document holds: its other terms are not read
                has = holding(term)
                every = has if every is None else every[sets.contains(has, every)]
            assert every is not None
            either = every if either is None else union([either, every])
        assert either is not None
        docs = either if docs is None else docs[sets.contains(either, docs)]
    return np.zeros(0, dtype=np.int64) if docs is None else docs.astype(np.int64)


def frequencies(arrays: Arrays, field: str, slots: list[Slot]) -> tuple[Ints, Floats]:
    """The documents of ``arrays`` (one segment's, or every segment's joined) holding
    the phrase in ``field``, and how often (matched once per state of those segments:
    :meth:`SegmentArrays.derived`)."""
    return arrays.derived(
        ("slots", field, tuple(slots)), lambda: _frequencies(arrays, field, slots)
    )


def _frequencies(arrays: Arrays, field: str, slots: list[Slot]) -> tuple[Ints, Floats]:
    docs = candidates(slots, lambda term: arrays.postings(field, term, positions=True)[0])
    if not len(docs):
        return docs, np.zeros(0, dtype=np.float64)
    keys: dict[str, Ints] = {}

    def keys_of(term: str, alive: Ints | None) -> Ints:
        # Decoded once, in the documents first asked for: later slots ask for fewer.
        found = keys.get(term)
        if found is None:
            found = keys[term] = arrays.position_keys(field, term, docs if alive is None else alive)
        return found

    ids, counts = sets.distinct_counts(phrase_starts(slots, keys_of) >> 32)
    return ids.astype(np.int64), counts.astype(np.float64)


class PositionalPhrase(Query):
    """A phrase of :class:`Slot` s in one field. Scored by :mod:`searchkit.engine.scoring`
    (inside a :class:`~searchkit.query.free_text.FieldedPhrase`); Whoosh's own matcher gets the
    documents and their phrase frequencies."""

    def __init__(self, fieldname: str, slots: list[Slot], boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.slots = tuple(slots)
        self.boost = boost

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, PositionalPhrase)
            and (other.fieldname, other.slots, other.boost)
            == (self.fieldname, self.slots, self.boost)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.fieldname, self.slots, self.boost))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.fieldname!r}, {list(self.slots)!r}, boost={self.boost})"
        )

    def __str__(self) -> str:
        words: list[str] = []
        for slot in self.slots:
            words.extend(["*"] * slot.gap)
            words.append(str(slot))
        return f'{self.fieldname}:"{" ".join(words)}"'

    def has_terms(self) -> bool:
        return True

    def terms(self, phrases: bool = False) -> Iterator[tuple[str, str]]:
        if phrases:
            for slot in self.slots:
                for term in slot.terms():
                    yield self.fieldname, term

    def estimate_size(self, ixreader: Any) -> int:
        return min(
            (ixreader.doc_frequency(self.fieldname, t) for s in self.slots for t in s.terms()),
            default=0,
        )

    def matcher(self, searcher: Any, context: Any = None) -> matching.Matcher:
        if self.fieldname not in searcher.schema:
            return matching.NullMatcher()
        field = searcher.schema[self.fieldname]
        if not field.format or not field.format.supports("positions"):
            raise WhooshQueryError(f"phrase search: {self.fieldname!r} has no positions")
        ids: list[Ints] = []
        counts: list[Floats] = []
        leaves = [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
        for sub, offset in leaves:
            found, n = frequencies(SegmentArrays(sub.reader()), self.fieldname, list(self.slots))
            ids.append(found + offset)
            counts.append(n * self.boost)
        if not ids or not sum(len(i) for i in ids):
            return matching.NullMatcher()
        return matching.ListMatcher(np.concatenate(ids).tolist(), np.concatenate(counts).tolist())


def phrase_query(fieldname: str, slots: list[Slot], boost: float = 1.0) -> Query:
    """A plain ``Term`` for a phrase of one word written one way, else the phrase."""
    if len(slots) == 1 and len(slots[0].forms) == 1 and len(slots[0].forms[0][0]) == 1:
        return Term(fieldname, slots[0].forms[0][0][0][0], boost=boost)
    return PositionalPhrase(fieldname, slots, boost=boost)


__all__ = [
    "PositionalPhrase",
    "Slot",
    "analyze",
    "frequencies",
    "phrase_query",
    "phrase_starts",
    "with_writings",
]
