"""Wildcards (``*``) as PubMed documents them: 0 or more characters, at the end or in
the middle of a word, several in one word, and in phrases (``"breast feed*"``).

A wildcard is matched against the words as written, not against the index's terms:
those are stemmed ("randomized" and "randomised" are indexed as ``random`` and
``randomis``), so ``randomi*ed`` matches no term although it matches both words. The
index still narrows the search: a word starting with ``randomi`` has a stem starting
with (nearly) those letters, so only records holding such a stem are read back, and
their stored text is searched for words matching the pattern
(:func:`surface_matches`). Truncation at the end takes the records whose stems start
with the letters written as they are, and reads back only those with a shorter stem
(``studies*``: the index holds ``studi``).

A phrase with wildcards is a :class:`WildcardPhrase`: its words must stand at the same
distances from each other as in the query (stop words counted); a wildcard word's
place is filled by the stems of the words, in the records, that match it.
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

from searchkit.analysis import analyzer
from searchkit.analysis.analyzer import fold_letters
from searchkit.engine.postings import Ints, SegmentArrays
from searchkit.index.documents import record_from_json, record_to_fields
from searchkit.params import DEFAULT
from searchkit.query.lexer import has_wildcard

#: Letters of a word its stem is sure to keep (the stemmer rewrites endings only).
STEM_KEEPS = 3

_POSITION_BITS = 32
_POSITION_MASK = (1 << _POSITION_BITS) - 1
_NOT_TERM_CHARS = re.compile(r"[^\w*]|_")


def fold(pattern: str) -> str:
    """A wildcard word as index terms are written: lower case, accents removed, only
    letters, digits and ``*`` (runs of ``*`` are one)."""
    decomposed = unicodedata.normalize("NFKD", fold_letters(pattern).lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\*+", "*", _NOT_TERM_CHARS.sub("", plain))


def truncation_prefix(written: str) -> str:
    """What the terms of a truncated word start with: the word as :func:`fold` writes
    it (``naïv`` → ``naiv``); a compound's pieces run together as the analyzer runs
    them for the compound's term (``IL-10`` → ``il10``, ``HLA-A*02`` → ``hlaa02``,
    ``NF-kB`` → ``nfkappab``; a Greek letter by its name, as in ``tnfalpha``)."""
    if "-" not in written:
        return fold(written)
    return fold(analyzer.whole_term(analyzer.fold(analyzer.unjoined(written))))


def literal_prefix(pattern: str) -> str:
    """What comes before the first ``*``."""
    return pattern.split("*", 1)[0]


def regex(pattern: str) -> re.Pattern[str]:
    """``tumo*r`` → a regular expression matching whole terms."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


_WORD = re.compile(r"[^\W_]+")


def _fold_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", fold_letters(word))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    """The words of ``text`` as a pattern is compared with them: lower case, accents
    removed."""
    return [w if w.isascii() else _fold_word(w) for w in _WORD.findall(text.lower())]


def word_regex(pattern: str) -> re.Pattern[str]:
    """``tumo*r`` → a regular expression matching whole words (``*``: letters and
    digits)."""
    return re.compile(r"[^\W_]*".join(re.escape(part) for part in pattern.split("*")))


def _may_stem_from(term: str, prefix: str) -> bool:
    """Whether ``term`` can be the stem of a word starting with ``prefix``: it starts
    with ``prefix``, or the stemmer cut into those letters (``studi`` of "studies",
    ``organ`` of "organization"), rewriting at most the stem's last letter (y → i)."""
    if len(term) > len(prefix):
        return term.startswith(prefix)
    if len(term) < STEM_KEEPS:
        return False
    head, last = term[:-1], term[-1]
    written = prefix[len(head)]
    return prefix.startswith(head) and (last == written or (last == "i" and written == "y"))


def stored_text(reader: IndexReader, docnum: int, field: str) -> str:
    """The text of ``field`` of a document as it was indexed (from the stored record)."""
    stored = reader.stored_fields(docnum)
    value = stored.get(field)
    if isinstance(value, str):
        return value
    if field in ("title", "abstract") or "record" not in stored:
        return ""
    return str(record_to_fields(record_from_json(stored["record"])).get(field, ""))


@dataclass(frozen=True)
class SurfaceMatch:
    """The documents of a segment with a word matching a pattern in one field, how
    often they have it, and the index terms of those words."""

    docs: Ints
    counts: Ints
    terms: frozenset[str]


def surface_matches(reader: IndexReader, field: str, pattern: str) -> SurfaceMatch:
    """The documents of one segment with a word matching ``pattern`` in ``field``."""
    none = np.zeros(0, dtype=np.int64)
    if field not in reader.schema:
        return SurfaceMatch(none, none, frozenset())
    prefix = literal_prefix(pattern)
    trailing = pattern.endswith("*") and pattern.count("*") == 1
    accepted: list[str] = []
    candidates: list[str] = []
    for raw in reader.expand_prefix(field, prefix[:STEM_KEEPS]):
        term = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        if trailing and term.startswith(prefix):
            accepted.append(term)  # a stem starting with the letters: its words do too
        elif _may_stem_from(term, prefix):
            candidates.append(term)
    arrays = SegmentArrays(reader)
    counts: dict[int, float] = {}
    for term in accepted:
        ids, weights = arrays.postings(field, term)
        for doc, weight in zip(ids.tolist(), weights.tolist(), strict=True):
            counts[doc] = counts.get(doc, 0.0) + weight
    unsure = set()
    for term in candidates:
        unsure.update(arrays.postings(field, term)[0].tolist())
    unsure.difference_update(counts)
    terms = set(accepted)
    matcher = word_regex(pattern)
    analyzer = reader.schema[field].analyzer
    stems: dict[str, list[str]] = {}
    for doc in sorted(unsure):
        words = [w for w in words_of(stored_text(reader, doc, field)) if matcher.fullmatch(w)]
        if not words:
            continue
        counts[doc] = float(len(words))
        for word in set(words):
            if word not in stems:
                stems[word] = [t.text for t in analyzer(word, mode="query")]
            terms.update(stems[word])
    docs = np.array(sorted(counts), dtype=np.int64)
    found = np.array([counts[d] for d in docs.tolist()], dtype=np.float64)
    return SurfaceMatch(docs, found.astype(np.int64).clip(min=1), frozenset(terms))


class _Cached:
    """Per-segment results of a query, kept for the query's life (matching, then
    highlighting, use them)."""

    def __init__(self) -> None:
        self._results: dict[tuple[int, str, str], tuple[IndexReader, SurfaceMatch]] = {}

    def get(self, reader: IndexReader, field: str, pattern: str) -> SurfaceMatch:
        key = (id(reader), field, pattern)
        hit = self._results.get(key)
        if hit is None or hit[0] is not reader:
            hit = self._results[key] = (reader, surface_matches(reader, field, pattern))
        return hit[1]


def _segments(reader: IndexReader) -> list[tuple[IndexReader, int]]:
    return list(reader.leaf_readers())


class SurfaceWildcard(wq.Query):
    """Every document with a word matching ``pattern`` (as written) in one field."""

    def __init__(self, fieldname: str, pattern: str, boost: float = 1.0) -> None:
        self.fieldname = fieldname
        self.pattern = pattern
        self.boost = boost
        self._cache = _Cached()

    def __str__(self) -> str:
        return f"{self.fieldname}:{self.pattern}"

    def __repr__(self) -> str:
        return f"SurfaceWildcard({self.fieldname!r}, {self.pattern!r}, boost={self.boost})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SurfaceWildcard) and (
            self.fieldname,
            self.pattern,
            self.boost,
        ) == (other.fieldname, other.pattern, other.boost)

    def __hash__(self) -> int:
        return hash((self.fieldname, self.pattern, self.boost))

    def is_leaf(self) -> bool:
        return True

    def terms(self, phrases: bool = True) -> Iterator[tuple[str, str]]:
        return iter(())

    def expanded_terms(
        self, ixreader: IndexReader, phrases: bool = True
    ) -> Iterator[tuple[str, str]]:
        """The index terms of the words that matched (to highlight them)."""
        for sub, _ in _segments(ixreader):
            for term in self._cache.get(sub, self.fieldname, self.pattern).terms:
                yield self.fieldname, term

    def estimate_size(self, ixreader: IndexReader) -> int:
        return ixreader.doc_count_all()

    def matcher(self, searcher: Searcher, context: Any = None) -> matching.Matcher:
        parts = [
            (self._cache.get(sub.reader(), self.fieldname, self.pattern), offset)
            for sub, offset in (
                [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
            )
        ]
        docs = np.concatenate([m.docs + offset for m, offset in parts])
        counts = np.concatenate([m.counts for m, _ in parts])
        return _list_matcher(docs, counts, self.boost)


def _list_matcher(docs: Ints, counts: Ints, boost: float) -> matching.Matcher:
    if not len(docs):
        return matching.NullMatcher()
    # The number of occurrences, saturated as BM25 does.
    k1 = DEFAULT.k1
    weights = boost * (k1 + 1.0) * counts / (counts + k1)
    return matching.ListMatcher(docs.tolist(), weights=weights.tolist())


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
        self._cache = _Cached()

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
                terms.extend(sorted(self._cache.get(reader, self.fieldname, slot.pattern).terms))
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
        for sub, _ in _segments(ixreader):
            for terms in self._terms(sub):
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
        parts = [
            (self._matches(sub.reader()), offset)
            for sub, offset in (
                [(searcher, 0)] if searcher.is_atomic() else searcher.leaf_searchers()
            )
        ]
        docs = np.concatenate([d + offset for (d, _), offset in parts])
        counts = np.concatenate([c for (_, c), _ in parts])
        return _list_matcher(docs, counts, self.boost)
