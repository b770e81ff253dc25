"""Wildcards (``*``) as PubMed documents them: 0 or more characters, at the end or in
the middle of a word, several in one word, and in phrases (``"breast feed*"``).

A pattern is matched against the index's terms, which are the analysed (stemmed,
lower-cased, accent-folded) words, so the letters written are folded the same way
first. A phrase with wildcards is a :class:`WildcardPhrase`: its words must stand at
the same distances from each other as in the query (stop words counted), any term
matching a wildcard word filling its place.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from whoosh import matching
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.reading import IndexReader
from whoosh.searching import Searcher

from searchkit import ranking
from searchkit.postings import Ints, SegmentArrays
from searchkit.query_parser import has_wildcard

#: Characters PubMed needs before the first ``*`` of a word.
MIN_PREFIX = 4

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_NOT_TERM_CHARS = re.compile(r"[^\w*]|_")


def fold(pattern: str) -> str:
    """A wildcard word as index terms are written: lower case, accents removed, only
    letters, digits and ``*`` (runs of ``*`` are one)."""
    decomposed = unicodedata.normalize("NFKD", pattern.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\*+", "*", _NOT_TERM_CHARS.sub("", plain))


def literal_prefix(pattern: str) -> str:
    """What comes before the first ``*``."""
    return pattern.split("*", 1)[0]


def regex(pattern: str) -> re.Pattern[str]:
    """``tumo*r`` → a regular expression matching whole terms."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


def expand(reader: IndexReader, field: str, pattern: str) -> list[str]:
    """The terms of ``field`` matching ``pattern``."""
    if field not in reader.schema:
        return []
    matcher = regex(pattern)
    found = []
    for term in reader.expand_prefix(field, literal_prefix(pattern)):
        text = term.decode("utf-8") if isinstance(term, bytes) else str(term)
        if matcher.fullmatch(text):
            found.append(text)
    return found


@dataclass(frozen=True)
class Slot:
    """One place of a phrase: ``offset`` positions after its first word, filled by one
    of ``terms`` or by any term matching ``pattern``."""

    offset: int
    terms: tuple[str, ...] = ()
    pattern: str | None = None


def _placeholder(k: int) -> str:
    letters = ""
    k += 1
    while k:
        k, rest = divmod(k - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return f"qqwildcard{letters}qq"


def phrase_slots(schema: Schema, field: str, words: Sequence[str]) -> list[Slot] | None:
    """The places of a phrase whose words may hold ``*``, analysed as ``field`` is
    (None when no word of it is searchable)."""
    patterns: dict[str, str] = {}
    written = []
    for word in words:
        if has_wildcard(word):
            holder = _placeholder(len(patterns))
            patterns[holder] = fold(word)
            written.append(holder)
        else:
            written.append(word)
    analyzer = schema[field].analyzer
    by_position: dict[int, list[str]] = {}
    wild: dict[int, str] = {}
    for token in analyzer(" ".join(written), positions=True, keeporiginal=True, mode="query"):
        original = str(token.original).lower()
        if original in patterns:
            wild[token.pos] = patterns[original]
        else:
            by_position.setdefault(token.pos, []).append(token.text)
    if len(wild) != len(patterns):  # a field whose analyzer drops such words
        return None
    positions = sorted({*by_position, *wild})
    first = positions[0]
    return [
        Slot(pos - first, tuple(dict.fromkeys(by_position.get(pos, ()))), wild.get(pos))
        for pos in positions
    ]


class WildcardPhrase(wq.Query):
    """A phrase in one field whose places are given by :class:`Slot` s."""

    def __init__(self, fieldname: str, slots: Sequence[Slot], boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.slots = tuple(slots)
        self.boost = boost

    def __str__(self) -> str:
        words = []
        for slot in self.slots:
            alternatives = [*slot.terms, *([slot.pattern] if slot.pattern else [])]
            words.append("|".join(alternatives))
        return f'{self.fieldname}:"{" ".join(words)}"'

    def __repr__(self) -> str:
        return f"WildcardPhrase({self.fieldname!r}, {self.slots!r}, boost={self.boost})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WildcardPhrase) and (self.fieldname, self.slots, self.boost) == (
            other.fieldname,
            other.slots,
            other.boost,
        )

    def __hash__(self) -> int:
        return hash((self.fieldname, self.slots, self.boost))

    def is_leaf(self) -> bool:
        return True

    def _terms(self, reader: IndexReader) -> list[list[str]]:
        out = []
        for slot in self.slots:
            terms = list(slot.terms)
            if slot.pattern is not None:
                terms.extend(expand(reader, self.fieldname, slot.pattern))
            out.append(terms)
        return out

    def terms(self, phrases: bool = True) -> Iterator[tuple[str, str]]:
        """The words written (not the wildcards' expansions)."""
        for slot in self.slots:
            for term in slot.terms:
                yield self.fieldname, term

    def expanded_terms(
        self, ixreader: IndexReader, phrases: bool = True
    ) -> Iterator[tuple[str, str]]:
        """Every term of the index the phrase's places can hold (to highlight them)."""
        for terms in self._terms(ixreader):
            for term in terms:
                yield self.fieldname, term

    def estimate_size(self, ixreader: IndexReader) -> int:
        return ixreader.doc_count_all()

    def _matches(self, reader: IndexReader) -> tuple[Ints, Ints]:
        """The segment's documents holding the phrase, and how often each does."""
        none = np.zeros(0, dtype=np.int64)
        if self.fieldname not in reader.schema:
            return none, none
        arrays = SegmentArrays(reader)
        slot_terms = self._terms(reader)
        candidates: Ints | None = None
        for terms in slot_terms:
            ids = [arrays.postings(self.fieldname, t)[0] for t in terms]
            docs = np.unique(np.concatenate(ids)) if ids else none
            candidates = docs if candidates is None else np.intersect1d(candidates, docs)
            if not len(candidates):
                return none, none
        assert candidates is not None
        starts: Ints | None = None
        for slot, terms in zip(self.slots, slot_terms, strict=True):
            keys = np.unique(
                np.concatenate([arrays.position_keys(self.fieldname, t, candidates) for t in terms])
            )
            keys = keys[(keys & _POSITION_MASK) >= slot.offset] - slot.offset
            starts = keys if starts is None else np.intersect1d(starts, keys, assume_unique=True)
            if not len(starts):
                return none, none
        assert starts is not None
        docs, counts = np.unique(starts >> _POSITION_BITS, return_counts=True)
        return docs.astype(np.int64), counts.astype(np.int64)

    def matcher(self, searcher: Searcher, context: Any = None) -> matching.Matcher:
        if searcher.is_atomic():
            docs, counts = self._matches(searcher.reader())
        else:
            parts = [
                (self._matches(sub.reader()), offset) for sub, offset in searcher.leaf_searchers()
            ]
            docs = np.concatenate([d + offset for (d, _), offset in parts])
            counts = np.concatenate([c for (_, c), _ in parts])
        if not len(docs):
            return matching.NullMatcher()
        # The number of occurrences, saturated as BM25 does.
        weights = self.boost * (ranking.K1 + 1.0) * counts / (counts + ranking.K1)
        return matching.ListMatcher(docs.tolist(), weights=weights.tolist())
