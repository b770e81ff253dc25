"""The query language → a Whoosh query, and ``--explain``.

The syntax (tokenizer, parser, tree) is in :mod:`searchkit.query_parser`. Free-text
parts are built by :func:`searchkit.ranking.free_text_query`; field-tagged words and
phrases are analyzed with their field's own analyzer, so both stay correct when the
analyzers change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from whoosh import matching
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.query import NullQuery, Query
from whoosh.query.spans import SpanNear2

from searchkit.acronyms import AcronymTable
from searchkit.errors import QueryError
from searchkit.query_parser import (
    MAX_DEPTH,
    MIN_PREFIX,
    PREFIXES,
    TAGS,
    And,
    FreeText,
    Node,
    Not,
    Or,
    Phrase,
    Tagged,
    Truncated,
    Wildcard,
    WildPhrase,
    Years,
    describe,
    parse,
    parse_years,
    tokenize,
)
from searchkit.ranking import free_text_query
from searchkit.schema import TEXT_FIELDS
from searchkit.wildcards import SurfaceWildcard, WildcardPhrase, fold, phrase_slots

__all__ = [
    "MAX_DEPTH",
    "MIN_PREFIX",
    "PREFIXES",
    "TAGS",
    "And",
    "FreeText",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Tagged",
    "Truncated",
    "WildPhrase",
    "Wildcard",
    "YearRange",
    "Years",
    "describe",
    "explain",
    "parse",
    "parse_query",
    "parse_years",
    "to_whoosh",
    "tokenize",
    "year_range",
]

# Field key → the Whoosh fields searched.
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title",),
    "abstract": ("abstract",),
    "tiab": ("title", "abstract"),
    "keyword": ("keywords",),
    "author": ("authors",),
    "mesh": ("mesh",),
    "majr": ("mesh_major",),
    "journal": ("journal",),
    "pubtype": ("pubtype",),
    "language": ("language",),
    "pmid": ("pmid",),
}
# Keys whose tagged words are matched as a phrase (a name, a heading).
PHRASE_KEYS = frozenset({"author", "mesh", "majr"})
# Keys matched as one exact, whole value.
EXACT_KEYS = frozenset({"journal", "pubtype", "language"})

# [lang] accepts the language names PubMed uses as well as the codes stored.
LANGUAGE_CODES: dict[str, str] = {
    "english": "eng",
    "french": "fre",
    "german": "ger",
    "spanish": "spa",
    "italian": "ita",
    "japanese": "jpn",
    "chinese": "chi",
    "russian": "rus",
    "portuguese": "por",
    "dutch": "dut",
    "korean": "kor",
    "polish": "pol",
}


class _AndNotMatcher(matching.AndNotMatcher):
    """Whoosh's ``AndNotMatcher`` checks its first document against the excluded
    matcher only when both happen to start on the same document: with the excluded
    matcher starting earlier, the first positive document got through even when
    excluded (``privilege[ti] NOT immune escape[kw]`` returned the record it
    excludes). This one moves the excluded matcher up to it first."""

    def _find_first(self) -> None:
        a, b = self.a, self.b
        if a.is_active() and b.is_active():
            if b.id() < a.id():
                b.skip_to(a.id())
            if b.is_active() and a.id() == b.id():
                self._find_next()


class AndNot(wq.AndNot):
    """``a AND NOT b`` with the corrected matcher."""

    def matcher(self, searcher: Any, context: Any = None) -> matching.Matcher:
        return _AndNotMatcher(
            self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context())
        )


class YearRange(wq.ConstantScoreQuery):
    """A constant-score range over the exact-value terms of the ``year`` field that
    prints as ``year:[2015 TO 2019]``."""

    def __init__(self, child: Query, label: str | None = None) -> None:
        super().__init__(child)
        self.label = label

    def __str__(self) -> str:
        return self.label or super().__str__()


def year_range(schema: Schema, low: int | None, high: int | None) -> Query:
    """Records published in ``low``..``high`` (inclusive; ``None`` is open).

    Whoosh's ``NumericRange`` mis-splits open and wide ranges on this 16-bit field
    (``[ TO 2000]`` matched every record), so the range runs over the exact-value
    terms only, whose byte order is the numeric order.
    """
    field = schema["year"]
    start = field.to_bytes(0 if low is None else low)
    end = field.to_bytes(0xFFFF if high is None else high)
    label = f"year:[{'' if low is None else low} TO {'' if high is None else high}]"
    return YearRange(wq.TermRange("year", start, end), label)


def _analyze(schema: Schema, field: str, text: str) -> list[str]:
    return list(schema[field].process_text(text, mode="query"))


def _no_words(text: str, pos: int) -> QueryError:
    return QueryError(f"'{text}' has no searchable words (only stop words or punctuation)", pos)


def _field_words(schema: Schema, key: str, field: str, text: str) -> list[str]:
    if key == "language":
        text = LANGUAGE_CODES.get(text.strip().lower(), text)
    return _analyze(schema, field, text)


def _tagged(schema: Schema, key: str, text: str, pos: int) -> Query:
    if key == "pmid":
        ids = text.split()
        if not ids:
            raise _no_words(text, pos)
        return wq.Or([wq.Term("pmid", w) for w in ids]) if len(ids) > 1 else wq.Term("pmid", ids[0])
    if key == "tiab":  # each word in the title or the abstract
        words = _analyze(schema, "abstract", text)
        if not words:
            raise _no_words(text, pos)
        return wq.And([wq.Or([wq.Term(f, w) for f in FIELDS[key]]) for w in words])
    alternatives: list[Query] = []
    for field in FIELDS[key]:
        words = _field_words(schema, key, field, text)
        if not words:
            continue
        if key in EXACT_KEYS:
            alternatives.append(wq.Or([wq.Term(field, w) for w in words]))
        elif key in PHRASE_KEYS:
            alternatives.append(_phrase(field, words, None))
        else:
            alternatives.append(wq.And([wq.Term(field, w) for w in words]))
    if not alternatives:
        raise _no_words(text, pos)
    return alternatives[0] if len(alternatives) == 1 else wq.Or(alternatives)


def _phrase(field: str, words: list[str], near: int | None, boost: float = 1.0) -> Query:
    if len(words) == 1:
        return wq.Term(field, words[0], boost=boost)
    if near is not None:
        return SpanNear2([wq.Term(field, w) for w in words], slop=near, ordered=False)
    return wq.Phrase(field, words, boost=boost)


#: Fields whose terms are stemmed words: wildcards are matched against the words as
#: written there (:class:`searchkit.wildcards.SurfaceWildcard`).
STEMMED_FIELDS = frozenset({"title", "abstract", "keywords", "mesh", "mesh_major"})


def _word_wildcard(field: str, pattern: str, boost: float) -> Query:
    if field in STEMMED_FIELDS:
        return SurfaceWildcard(field, pattern, boost=boost)
    return wq.Wildcard(field, pattern, boost=boost)


def _wildcard(schema: Schema, node: Wildcard | WildPhrase) -> Query:
    """A word with wildcards inside (``tumo*r``), or a phrase with wildcard words."""
    fields = dict.fromkeys(FIELDS[node.key], 1.0) if node.key is not None else TEXT_FIELDS
    parts: list[Query] = []
    for field, weight in fields.items():
        if isinstance(node, Wildcard):
            parts.append(_word_wildcard(field, fold(node.pattern), weight))
            continue
        slots = phrase_slots(schema, field, node.words)
        if not slots:
            continue
        if len(slots) == 1 and slots[0].pattern is not None:  # the other words were stop words
            parts.append(_word_wildcard(field, slots[0].pattern, weight))
        else:
            parts.append(WildcardPhrase(field, slots, boost=weight))
    if not parts:
        raise _no_words(" ".join(getattr(node, "words", ())), node.pos)
    return parts[0] if len(parts) == 1 else wq.Or(parts)


def to_whoosh(schema: Schema, node: Node, *, acronyms: AcronymTable | None = None) -> Query:
    """The Whoosh query for a syntax tree. Raises :class:`QueryError` for parts
    without searchable words (a phrase of stop words, say)."""
    if isinstance(node, FreeText):
        text = " ".join(node.words)
        q = free_text_query(schema, text, acronyms=acronyms)
        if q is NullQuery:
            raise _no_words(text, node.pos)
        return q
    if isinstance(node, Tagged):
        return _tagged(schema, node.key, " ".join(node.words), node.pos)
    if isinstance(node, Phrase):
        if node.key is not None and (node.key in EXACT_KEYS or node.key == "pmid"):
            return _tagged(schema, node.key, node.text, node.pos)
        fields = dict.fromkeys(FIELDS[node.key], 1.0) if node.key is not None else TEXT_FIELDS
        parts = [
            _phrase(f, words, node.near, boost=w)
            for f, w in fields.items()
            if (words := _analyze(schema, f, node.text))
        ]
        if not parts:
            raise _no_words(node.text, node.pos)
        return parts[0] if len(parts) == 1 else wq.Or(parts)
    if isinstance(node, Truncated):
        if node.key == "pmid":
            raise QueryError("truncation '*' is not supported for PMIDs", node.pos)
        fields = dict.fromkeys(FIELDS[node.key], 1.0) if node.key is not None else TEXT_FIELDS
        if node.key in EXACT_KEYS:
            prefix = " ".join(node.prefix.lower().replace(".", " ").split())
        else:  # as the index's words are written: naïv* is naiv*
            prefix = fold(node.prefix)
        parts = [
            _word_wildcard(f, prefix + "*", w)
            if f in STEMMED_FIELDS
            else wq.Prefix(f, prefix, boost=w)
            for f, w in fields.items()
        ]
        return parts[0] if len(parts) == 1 else wq.Or(parts)
    if isinstance(node, Wildcard | WildPhrase):
        return _wildcard(schema, node)
    if isinstance(node, Years):
        return year_range(schema, node.low, node.high)
    if isinstance(node, And):
        return wq.And([to_whoosh(schema, c, acronyms=acronyms) for c in node.children])
    if isinstance(node, Or):
        return wq.Or([to_whoosh(schema, c, acronyms=acronyms) for c in node.children])
    return AndNot(
        to_whoosh(schema, node.positive, acronyms=acronyms),
        to_whoosh(schema, node.negative, acronyms=acronyms),
    )


def parse_query(schema: Schema, text: str, *, acronyms: AcronymTable | None = None) -> Query:
    """Parse a user query. Raises :class:`QueryError` for an empty or malformed query.

    ``acronyms`` (the index's learned table) lets free text expand acronyms."""
    return to_whoosh(schema, parse(text), acronyms=acronyms)


def explain(
    schema: Schema,
    text: str,
    *,
    acronyms: AcronymTable | None = None,
    refs: Mapping[int, str] | None = None,
) -> str:
    """How a query was understood: the syntax tree (every AND, OR and NOT group in
    parentheses) and the Whoosh query. ``refs``: what ``#N`` stands for."""
    node = parse(text, refs)
    return f"parsed: {describe(node)}\nwhoosh: {to_whoosh(schema, node, acronyms=acronyms)}"
