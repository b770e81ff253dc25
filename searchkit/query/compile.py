"""The query language → a Whoosh query, and ``--explain``.

The syntax is read by :mod:`searchkit.query.parser` (tokens: :mod:`~searchkit.query.lexer`;
the tree: :mod:`~searchkit.query.syntax`). Free-text parts are built by
:func:`searchkit.query.free_text.free_text_query`; field-tagged words and phrases
are analyzed with their field's own analyzer, so both stay correct when the analyzers
change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import partial
from typing import Any

from whoosh import matching
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.query import NullQuery, Query

from searchkit.analysis.acronyms import AcronymSource
from searchkit.analysis.code_writings import writings
from searchkit.engine import phrases
from searchkit.engine.near import NearTerms
from searchkit.engine.nodes import FieldedPhrase, FieldedTerm
from searchkit.engine.presence import HasTerms
from searchkit.errors import IndexVersionError, QueryError
from searchkit.index.dates import has_levels, level_ranges
from searchkit.index.mesh import KEYS as MESH_KEYS
from searchkit.index.mesh import MeshContext, mesh_prefix, mesh_query
from searchkit.index.schema import LIST_TEXT_FIELDS, TEXT_FIELDS
from searchkit.params import DEFAULT, Params
from searchkit.query.date_forms import parse_dates, parse_years
from searchkit.query.filters import LANGUAGE_CODES
from searchkit.query.free_text import free_text_query, greek_joins
from searchkit.query.identifiers import id_values
from searchkit.query.lexer import tokenize
from searchkit.query.parser import MAX_DEPTH, MIN_PREFIX, parse
from searchkit.query.syntax import (
    And,
    Dates,
    FreeText,
    HasAbstract,
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
)
from searchkit.query.tags import (
    DATE_KEYS,
    ID_KEYS,
    ID_NAMES,
    PREFIXES,
    TAGS,
    TEXT_KEYS,
    WHOLE_ID_KEYS,
)

__all__ = [
    "DATE_KEYS",
    "LANGUAGE_CODES",
    "MAX_DEPTH",
    "MIN_PREFIX",
    "PREFIXES",
    "TAGS",
    "And",
    "Dates",
    "FreeText",
    "HasAbstract",
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
    "parse_dates",
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
    # PubMed's [tiab] covers the author keywords too.
    "tiab": ("title", "abstract", "keywords"),
    "textword": ("title", "abstract", "keywords", "mesh"),
    "keyword": ("keywords",),
    "author": ("authors",),
    "first_author": ("first_author",),
    "last_author": ("last_author",),
    "collective": ("collective",),
    "affiliation": ("affiliation",),
    "all": ("title", "abstract", "keywords", "mesh", "authors", "collective", "affiliation"),
    "journal": ("journal",),
    "pubtype": ("pubtype",),
    "language": ("language",),
    "volume": ("volume",),
    "issue": ("issue",),
    "pages": ("pages",),
    "issn": ("issn",),
    "doi": ("doi",),
    "pmcid": ("pmcid",),
    "pmid": ("pmid",),
}
# Keys whose tagged words are matched as a phrase (a name). MeSH keys are
# searchkit.index.mesh's: whole headings.
PHRASE_KEYS = frozenset({"author", "first_author", "last_author", "collective"})
# The fields the text analyzer indexes (stemmed words, a stop word's place kept).
TEXT_ANALYZED = frozenset(TEXT_FIELDS) | LIST_TEXT_FIELDS
# Keys matched as one exact, whole value.
EXACT_KEYS = frozenset({"journal", "pubtype", "language", "volume", "issue", "pages", "issn"})
# Keys whose words may each be in any of their fields (all analyzed alike).
ANY_FIELD_KEYS = frozenset({"tiab", "textword"})
# What [all] searches besides the text words: names as phrases, affiliations'
# words, a whole journal name.
ALL_FIELDS_ALSO = ("author", "collective", "affiliation", "journal")


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


def date_range(schema: Schema, field: str, low: str | None, high: str | None) -> Query:
    """Records whose ``field`` date ("YYYYMMDD" terms, see
    :func:`searchkit.index.documents.date_key`) is in ``low``..``high`` (inclusive;
    ``None`` is open): the few runs of day, month and year terms that cover it where
    the index holds them (:func:`searchkit.index.dates.level_ranges`), else every day
    term between."""
    label = f"{field}:[{low or ''} TO {high or ''}]"
    if field in schema and has_levels(schema[field]):
        ranges = [wq.TermRange(field, a, b) for a, b in level_ranges(low, high)]
        if not ranges:
            return NullQuery
        return YearRange(ranges[0] if len(ranges) == 1 else wq.Or(ranges), label)
    return YearRange(wq.TermRange(field, low or "0", high or "9"), label)


def _analyze(schema: Schema, field: str, text: str) -> list[str]:
    return list(schema[field].process_text(text, mode="query"))


def _no_words(text: str, pos: int) -> QueryError:
    return QueryError(f"'{text}' has no searchable words (only stop words or punctuation)", pos)


def _field_words(schema: Schema, key: str, field: str, text: str) -> list[str]:
    if key == "language":
        text = LANGUAGE_CODES.get(text.strip().lower(), text)
    return _analyze(schema, field, text)


def _tagged(schema: Schema, key: str, text: str, pos: int) -> Query:
    if key in ID_KEYS:
        if key not in schema:
            raise IndexVersionError(
                f"this index was made before {ID_NAMES[key]} were indexed, so [{key}] "
                "cannot be searched in it; `searchkit rebuild` indexes them"
            )
        ids = id_values(key, text)
        if not ids:
            raise _no_words(text, pos)
        return wq.Or([wq.Term(key, i) for i in ids]) if len(ids) > 1 else wq.Term(key, ids[0])
    if key in ANY_FIELD_KEYS:  # each word (a compound: in one of its forms) in any field
        words = _each_word(
            schema["abstract"].analyzer,
            text,
            greek_joins(schema, text),
            lambda slot: wq.Or([_slot(f, slot) for f in FIELDS[key]]),
        )
        if not words:
            raise _no_words(text, pos)
        return wq.And(words)
    if key == "all":  # the text words, or a name, affiliation or journal
        parts: list[Query] = []
        for part in ("textword", *ALL_FIELDS_ALSO):
            try:
                parts.append(_tagged(schema, part, text, pos))
            except QueryError:
                continue  # no searchable words in that field (a stop word, say)
        if not parts:
            raise _no_words(text, pos)
        return wq.Or(parts)
    alternatives: list[Query] = []
    joins = greek_joins(schema, text) if key in TEXT_KEYS and key not in PHRASE_KEYS else []
    for field in FIELDS[key]:
        if key in TEXT_KEYS:
            if key in PHRASE_KEYS:
                slots = phrases.analyze(schema[field].analyzer, text)
                if slots:
                    alternatives.append(phrases.phrase_query(field, slots))
                continue
            # each word (a compound: in one of its forms)
            words = _each_word(schema[field].analyzer, text, joins, partial(_slot, field))
            if words:
                alternatives.append(wq.And(words))
            continue
        words = _field_words(schema, key, field, text)
        if not words:
            continue
        if key in EXACT_KEYS:
            alternatives.append(wq.Or([wq.Term(field, w) for w in words]))
        elif key in PHRASE_KEYS:
            alternatives.append(_name_phrase(field, words, None))
        else:
            alternatives.append(wq.And([wq.Term(field, w) for w in words]))
    if not alternatives:
        raise _no_words(text, pos)
    return alternatives[0] if len(alternatives) == 1 else wq.Or(alternatives)


def _each_word(
    analyzer: Any,
    text: str,
    joins: list[tuple[int, int, str]],
    search: Callable[[phrases.Slot], Query],
) -> list[Query]:
    """Each word of ``text`` (a compound: in one of its forms) as ``search`` searches
    it; a code and its Greek letter typed as two words, at ``joins`` ("TNF alpha",
    "NF-kappa B": :func:`~searchkit.query.free_text.greek_joins` of ``text``), both, or
    the two written together."""

    def words(part: str) -> list[Query]:
        return [search(slot) for slot in _one_by_one(phrases.analyze(analyzer, part))]

    found: list[Query] = []
    last = 0
    for start, end, together in joins:
        found.extend(words(text[last:start]))
        both, joined = words(text[start:end]), words(together)
        if len(joined) == 1 and both:
            found.append(wq.Or([wq.And(both), joined[0]]))
        else:
            found.extend(both)
        last = end
    found.extend(words(text[last:]))
    return found


def _one_by_one(slots: list[phrases.Slot]) -> list[phrases.Slot]:
    """The slots of a phrase as separate words (no gap before any)."""
    return [phrases.Slot(0, slot.forms) for slot in slots]


def _slot(field: str, slot: phrases.Slot) -> Query:
    return phrases.phrase_query(field, [slot])


#: The fields of personal authors' names (not collective ones).
PERSON_FIELDS = frozenset({"authors", "first_author", "last_author"})
#: At most this many words of a name in natural order are tried as its surname.
SURNAME_WORDS = 3


def name_orders(words: list[str]) -> list[list[str]]:
    """A personal author's name as written and, when it may be a full name in natural
    order (its last word is longer than initials: ``judith e smith``), with its last
    one, two or three words (a surname, with a particle or two before it) put first,
    as the index holds full names inverted (``smith judith e``): NLM's full author
    name searching takes either order. ``smith j`` and ``smith ja`` (surname, then
    initials: PubMed's short form) are left as they are."""
    if len(words) < 2 or len(words[-1]) <= 2:
        return [words]
    moved = range(1, min(SURNAME_WORDS, len(words) - 1) + 1)
    return [words, *([*words[-k:], *words[:-k]] for k in moved)]


def _name_phrase(field: str, words: list[str], near: int | None, boost: float = 1.0) -> Query:
    """A name's words side by side; a personal name in either order (:func:`name_orders`)."""
    if field not in PERSON_FIELDS or near is not None:
        return _phrase(field, words, near, boost)
    orders = name_orders(words)
    if len(orders) == 1:
        return _phrase(field, words, near, boost)
    return wq.Or([_phrase(field, order, None, boost) for order in orders])


def _phrase(field: str, words: list[str], near: int | None, boost: float = 1.0) -> Query:
    if len(words) == 1:
        return wq.Term(field, words[0], boost=boost)
    if near is not None:
        return NearTerms(field, words, near)
    return wq.Phrase(field, words, boost=boost)


def _text_phrase(
    schema: Schema, field: str, text: str, near: int | None, boost: float
) -> Query | None:
    """A quoted phrase in one text field (None: no searchable words): the words at the
    positions the analyzer gives them (:mod:`searchkit.engine.phrases`), a code in any
    of the writings records give it (:func:`_written_codes`); with ``near``, its words
    as written within ``near`` positions, in any order."""
    analyzer = schema[field].analyzer
    if near is not None:
        slots = phrases.analyze(analyzer, text)
        if not slots:
            return None
        words = list(dict.fromkeys(t for slot in slots for t, _ in slot.forms[0][0]))
        return _phrase(field, words, near, boost)
    slots = _written_codes(schema, analyzer, text)
    if not slots:
        return None
    return phrases.phrase_query(field, slots, boost)


def _written_codes(schema: Schema, analyzer: Any, text: str) -> list[phrases.Slot]:
    """The slots of a quoted phrase, each code in them also as records write it: a code
    and its Greek letter typed as two words ("NF-kappa B", "TNF alpha":
    :func:`~searchkit.query.free_text.greek_joins`) one slot, and a code's joined term
    also as its pieces side by side (``IL10`` as ``IL-10``, ``NF-κB`` as ``NF-kappa
    B``: :func:`~searchkit.analysis.code_writings.writings`), so that the phrase typed
    one way finds the records that write it another."""
    for start, end, together in reversed(greek_joins(schema, text)):
        text = text[:start] + together + text[end:]
    slots = phrases.analyze(analyzer, text)
    return phrases.with_writings(slots, partial(writings, analyzer))


def _field_phrase(
    schema: Schema, field: str, text: str, near: int | None, boost: float
) -> Query | None:
    """A quoted phrase in one field (None: no searchable words there): in a field of
    text, at the positions its analyzer gives the words (a stop word's place kept);
    in a field of names, the name's words side by side."""
    if field in TEXT_ANALYZED:
        return _text_phrase(schema, field, text, near, boost)
    words = _analyze(schema, field, text)
    return _name_phrase(field, words, near, boost) if words else None


def _quoted(schema: Schema, node: Phrase) -> Query:
    """A quoted phrase, untagged or tagged with a key of fields that hold words (not
    one exact value). ``[all]`` also matches it as a whole journal name, as it does its
    words unquoted."""
    fields = dict.fromkeys(FIELDS[node.key], 1.0) if node.key is not None else TEXT_FIELDS
    parts = [
        q
        for f, w in fields.items()
        if (q := _field_phrase(schema, f, node.text, node.near, w)) is not None
    ]
    also: list[Query] = []
    if node.key == "all" and node.near is None:
        with suppress(QueryError):  # no name there (dots alone, say)
            also.append(_tagged(schema, "journal", node.text, node.pos))
    if not parts and not also:
        raise _no_words(node.text, node.pos)
    if not also:
        return _fielded(parts)
    return wq.Or([_fielded(parts), *also] if parts else also)


def _fielded(parts: list[Query]) -> Query:
    """One phrase (or word) in several fields, scored as one BM25F term when it can be."""
    if len(parts) == 1:
        return parts[0]
    if all(type(p) is wq.Term for p in parts):
        return FieldedTerm(parts)
    if all(isinstance(p, phrases.PositionalPhrase) for p in parts):
        return FieldedPhrase(parts)
    return wq.Or(parts)


#: Fields whose terms are stemmed words: wildcards are matched against the words as
#: written there (:class:`searchkit.query.wildcards.SurfaceWildcard`).
STEMMED_FIELDS = frozenset({"title", "abstract", "keywords", "mesh"})


def _word_wildcard(field: str, pattern: str, boost: float) -> Query:
    from searchkit.query.wildcards import SurfaceWildcard  # wildcard queries only

    if field in STEMMED_FIELDS:
        return SurfaceWildcard(field, pattern, boost=boost)
    return wq.Wildcard(field, pattern, boost=boost)


def _wildcard(schema: Schema, node: Wildcard | WildPhrase) -> Query:
    """A word with wildcards inside (``tumo*r``), or a phrase with wildcard words."""
    from searchkit.query.wildcards import WildcardPhrase, fold, phrase_slots

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


def to_whoosh(
    schema: Schema,
    node: Node,
    *,
    acronyms: AcronymSource | None = None,
    mesh: MeshContext | None = None,
    params: Params = DEFAULT,
) -> Query:
    """The Whoosh query for a syntax tree (free text ranked with ``params``). Raises
    :class:`QueryError` for parts without searchable words (a phrase of stop words, say).

    ``mesh`` holds the MeSH tree that ``[mh]`` explodes by (none: not exploded) and
    collects what MeSH compilation has to tell the user."""
    if mesh is None:
        mesh = MeshContext()
    check_mesh_term(node)
    if isinstance(node, Tagged | Phrase | Truncated) and node.key in MESH_KEYS:
        return _mesh(node, mesh)
    if isinstance(node, FreeText):
        text = " ".join(node.words)
        q = free_text_query(schema, text, acronyms=acronyms, params=params)
        if q is NullQuery:
            raise _no_words(text, node.pos)
        return q
    if isinstance(node, Tagged):
        return _tagged(schema, node.key, " ".join(node.words), node.pos)
    if isinstance(node, Phrase):
        if node.key is not None and (node.key in EXACT_KEYS or node.key in ID_KEYS):
            return _tagged(schema, node.key, node.text, node.pos)
        return _quoted(schema, node)
    if isinstance(node, Truncated):
        if node.key in WHOLE_ID_KEYS:
            raise QueryError(f"truncation '*' is not supported for {ID_NAMES[node.key]}", node.pos)
        if node.key == "doi":
            return wq.Prefix("doi", node.prefix.lower())
        fields = dict.fromkeys(FIELDS[node.key], 1.0) if node.key is not None else TEXT_FIELDS
        if node.key in EXACT_KEYS:
            prefix = " ".join(node.prefix.lower().replace(".", " ").split())
        else:  # as the index's words are written: naïv* is naiv*, IL-10* il10*
            from searchkit.query.wildcards import truncation_prefix

            prefix = truncation_prefix(node.prefix)
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
    if isinstance(node, Dates):
        return date_range(schema, node.key, node.low, node.high)
    if isinstance(node, HasAbstract):
        return HasTerms("abstract")
    if isinstance(node, And | Or):
        children = [
            to_whoosh(schema, c, acronyms=acronyms, mesh=mesh, params=params) for c in node.children
        ]
        return wq.And(children) if isinstance(node, And) else wq.Or(children)
    return AndNot(
        to_whoosh(schema, node.positive, acronyms=acronyms, mesh=mesh, params=params),
        to_whoosh(schema, node.negative, acronyms=acronyms, mesh=mesh, params=params),
    )


def check_mesh_term(node: Node) -> None:
    """A QueryError for a MeSH-tagged term no heading can match: ``*`` other than at
    its end, or proximity (any index: the Solr translation checks the same)."""
    if getattr(node, "key", None) not in MESH_KEYS:
        return
    if isinstance(node, Wildcard | WildPhrase):
        raise QueryError("in a MeSH heading '*' can only end the heading (lung*[mh])", node.pos)
    if isinstance(node, Phrase) and node.near is not None:
        raise QueryError("proximity '~N' does not apply to MeSH headings", node.pos)


def _mesh(node: Tagged | Phrase | Truncated, context: MeshContext) -> Query:
    """A MeSH-tagged term: whole headings (searchkit.index.mesh)."""
    assert node.key is not None
    if isinstance(node, Truncated):
        return mesh_prefix(node.key, node.prefix)
    if isinstance(node, Phrase):
        return mesh_query(node.key, node.text, node.pos, context)
    return mesh_query(node.key, " ".join(node.words), node.pos, context)


def parse_query(
    schema: Schema,
    text: str,
    *,
    acronyms: AcronymSource | None = None,
    mesh: MeshContext | None = None,
) -> Query:
    """Parse a user query. Raises :class:`QueryError` for an empty or malformed query.

    ``acronyms`` (the index's learned table) lets free text expand acronyms; ``mesh``
    (with the index's MeSH tree) lets ``[mh]`` explode."""
    return to_whoosh(schema, parse(text), acronyms=acronyms, mesh=mesh)


def explain(
    schema: Schema,
    text: str,
    *,
    acronyms: AcronymSource | None = None,
    mesh: MeshContext | None = None,
    refs: Mapping[int, str] | None = None,
) -> str:
    """How a query was understood: the syntax tree (every AND, OR and NOT group in
    parentheses), the Whoosh query and, for MeSH terms, how they were exploded (or why
    not). ``refs``: what ``#N`` stands for."""
    node = parse(text, refs)
    context = mesh if mesh is not None else MeshContext()
    q = to_whoosh(schema, node, acronyms=acronyms, mesh=context)
    lines = [f"parsed: {describe(node)}", f"whoosh: {q}"]
    lines.extend(f"mesh: {line}" for line in context.explained)
    return "\n".join(lines)
