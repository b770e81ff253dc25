"""Each field's analysis compiled into a function that indexes it fast: the same
postings as Whoosh's, without the per-token object churn.

Whoosh indexes a text field by running its analyzer, a chain of generators passing
one mutable ``Token`` through every filter, once per word. For analyzers that are a
``RegexTokenizer`` followed only by per-word filters (lower-casing, stop words,
Snowball stemming), each distinct word always becomes the same term (or none), so
:func:`compile_positions` turns such a field into a function that runs the regex
once and maps every word through a cache of finished terms, giving each term's
positions; :func:`compile_field` encodes them exactly as the field's format would.
The biomedical analyzer (``BiomedTokenizer`` and its two filters) gets the same
treatment through a cache of each written word's finished terms
(:mod:`searchkit.analysis.termizer`). Any other analyzer, format or field option is left to
Whoosh (both return ``None``): this is purely an optimisation, and tests check it
yields exactly what ``field.index`` yields. The writers
(:mod:`searchkit.engine.segment_writer`) hand the terms and positions straight to
their term store (:mod:`searchkit.engine.bulkpostings`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, partial
from operator import sub
from pickle import dumps
from typing import Any, NamedTuple

from whoosh import formats
from whoosh.analysis import (
    CompositeAnalyzer,
    IDTokenizer,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
)
from whoosh.fields import FieldType
from whoosh.system import pack_uint

from searchkit.analysis.analyzer import (
    BiomedStopFilter,
    BiomedTokenizer,
    SnowballStemFilter,
    stem,
)
from searchkit.analysis.termizer import BiomedTermizer
from searchkit.engine.bulkpostings import TermIds, one_position_value
from searchkit.engine.compact_positions import CompactPositions, encode_compact
from searchkit.engine.listtext import ListText, entry_positions, entry_tokens

Posting = tuple[bytes, int, float, bytes]
FieldIndexer = Callable[[str], list[Posting]]

_CACHE_LIMIT = 500_000  # distinct words kept per field analyzer (then the cache restarts)


def _word_function(filters: list[Any]) -> tuple[Callable[[str], str | None], bool] | None:
    """A function mapping a raw word to its final term (``None``: a stop word), and
    whether positions are renumbered over removed stop words; ``None`` when some
    filter is not a known per-word filter."""
    ops: list[Callable[[str], str | None]] = []
    renumber = False
    stops_seen = 0
    for f in filters:
        kind = type(f)
        if kind is LowercaseFilter:
            ops.append(str.lower)
        elif kind is SnowballStemFilter:
            ops.append(stem)
        elif kind is StopFilter:
            stops_seen += 1
            renumber = bool(f.renumber)
            stoplist, low, high = f.stops, f.min, f.max

            def stop(
                text: str, stoplist: Any = stoplist, low: int = low, high: int | None = high
            ) -> str | None:
                if len(text) >= low and (high is None or len(text) <= high):
                    return None if text in stoplist else text
                return None

            ops.append(stop)
        else:
            return None
    if stops_seen > 1:
        return None

    def word(text: str) -> str | None:
        result: str | None = text
        for op in ops:
            result = op(result)  # type: ignore[arg-type]
            if result is None:
                return None
        return result

    return word, renumber


#: A value's terms as emitted: (term ids, positions or None for 0, 1, 2..., the
#: list of terms the ids index; see TermStore.add_tokens).
Tokens = tuple[list[int], list[int] | None, list[bytes]]


class PositionsIndexer(NamedTuple):
    """A field's fast analysis: ``positions(value)`` maps each term (bytes) to its
    positions; a term's posting weighs ``len(positions) * boost`` and its value is
    ``encode(positions)`` (the field format's own encoding). ``tokens(value)`` gives
    the same terms and positions as emitted, for
    :meth:`~searchkit.engine.bulkpostings.TermStore.add_tokens`."""

    positions: Callable[[str], dict[bytes, list[int]]]
    boost: float
    encode: Callable[[list[int]], bytes]
    tokens: Callable[[str], Tokens]


def compile_positions(field: FieldType) -> PositionsIndexer | None:
    """The fast analysis of ``field`` as terms and positions, or ``None`` if its
    analyzer, format or options are not supported."""
    analyzer = getattr(field, "analyzer", None)
    fmt = field.format
    encode = positions_encoder(fmt)
    listed = type(field) is ListText
    if (
        not isinstance(analyzer, CompositeAnalyzer)
        or encode is None
        or field.vector
        or field.separate_spelling()
        or (type(field).index is not FieldType.index and not listed)
    ):
        return None
    items = list(analyzer.items)
    tokenizer = items[0]
    boost = float(fmt.field_boost)
    if type(tokenizer) is BiomedTokenizer:
        if [type(f) for f in items[1:]] != [BiomedStopFilter, SnowballStemFilter]:
            return None
        if listed:  # each entry analysed alone, shifted as ListText.index shifts it
            termize = _shared_termizer()
            return PositionsIndexer(
                entry_positions(_biomed_positions()),
                boost,
                encode,
                entry_tokens(termize.tokens, lambda: termize.terms),
            )
        return PositionsIndexer(_biomed_positions(), boost, encode, _biomed_tokens())
    if listed:
        return None
    if type(tokenizer) is not RegexTokenizer or tokenizer.gaps:
        return None
    compiled = _word_function(items[1:])
    if compiled is None:
        return None
    positions = _regex_positions(tokenizer, *compiled)
    tokens = partial(_tokens_of, positions, TermIds(_CACHE_LIMIT))
    return PositionsIndexer(positions, boost, encode, tokens)


def _tokens_of(
    positions: Callable[[str], dict[bytes, list[int]]], term_ids: TermIds, value: str
) -> Tokens:
    """The terms and positions of ``positions(value)`` as tokens, term by term."""
    ids, places = term_ids.tokens(positions(value))
    return ids, places, term_ids.terms


def compile_field(field: FieldType) -> FieldIndexer | None:
    """A fast equivalent of ``field.index`` (as a list), or ``None`` if not supported."""
    found = compile_positions(field)
    if found is None:
        return None
    positions, boost, encode, _ = found

    def index(value: str) -> list[Posting]:
        return postings_of(positions(value), boost, encode)

    return index


def _regex_positions(
    tokenizer: RegexTokenizer, word: Callable[[str], str | None], renumber: bool
) -> Callable[[str], dict[bytes, list[int]]]:
    """A ``RegexTokenizer`` and per-word filters: the regex runs once and every word
    maps through a cache of finished terms."""
    finditer = tokenizer.expression.finditer
    cache: dict[str, bytes | None] = {}

    def positions_of(value: str) -> dict[bytes, list[int]]:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not unicode")
        nonlocal cache
        if len(cache) > _CACHE_LIMIT:
            cache = {}
        positions: dict[bytes, list[int]] = {}
        kept = -1
        for raw_pos, match in enumerate(finditer(value)):
            raw = match.group(0)
            try:
                term = cache[raw]
            except KeyError:
                text = word(raw)
                term = cache[raw] = None if text is None else text.encode("utf-8")
            if term is None:
                continue
            # StopFilter(renumber=True): the first kept word keeps its position,
            # each later one follows it; otherwise positions are the tokenizer's.
            if renumber:
                kept = raw_pos if kept < 0 else kept + 1
                pos = kept
            else:
                pos = raw_pos
            plist = positions.get(term)
            if plist is None:
                positions[term] = [pos]
            else:
                plist.append(pos)
        return positions

    return positions_of


def postings_of(
    positions: dict[bytes, list[int]], boost: float, encode: Callable[[list[int]], bytes]
) -> list[Posting]:
    """Whoosh's (term, frequency, weight, encoded positions) for each term."""
    out: list[Posting] = []
    for term, plist in positions.items():
        if len(plist) == 1:
            out.append((term, 1, boost, one_position_value(plist[0], encode)))
        else:
            out.append((term, len(plist), len(plist) * boost, encode(plist)))
    return out


@lru_cache(maxsize=1)
def _shared_termizer() -> BiomedTermizer:
    return BiomedTermizer()


def _biomed_positions() -> Callable[[str], dict[bytes, list[int]]]:
    """The biomedical analyzer without its token generators: a
    :class:`~searchkit.analysis.termizer.BiomedTermizer` works out each distinct written
    word's terms once; one termizer (and cache) serves every field of this analyzer
    in the process, as the words of titles, abstracts and MeSH overlap."""
    termize = _shared_termizer()

    def positions_of(value: str) -> dict[bytes, list[int]]:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not unicode")
        return termize(value)

    return positions_of


def _biomed_tokens() -> Callable[[str], Tokens]:
    """:func:`_biomed_positions` as the termizer's tokens."""
    termize = _shared_termizer()

    def tokens_of(value: str) -> Tokens:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not unicode")
        ids, places = termize.tokens(value)
        return ids, places, termize.terms

    return tokens_of


def _id_texts(value: str) -> dict[str, list[int]]:
    # IDTokenizer: the whole value is the one token (at position 1; only Existence
    # fields take it here, which keep no positions).
    return {value: [1]}


def _simple_texts(field: FieldType) -> Callable[[str], dict[str, list[int]]] | None:
    """The texts and positions of a field of one token per list entry, name word or
    whole value (``NameTokenizer``, ``EntryTokenizer``, Whoosh's ``IDTokenizer``) in
    an ``Existence``, ``Frequency`` or ``Positions`` format, or ``None``: the
    tokenizer's ``index_positions`` (defined by its own class, so that a subclass that
    tokenizes otherwise is not taken for it)."""
    analyzer: Any = getattr(field, "analyzer", None)
    fmt = field.format
    if (
        fmt is None
        or (type(fmt) not in (formats.Existence, formats.Frequency) and not positions_encoder(fmt))
        or field.vector
        or field.separate_spelling()
        or type(field).index is not FieldType.index
    ):
        return None
    if type(analyzer) is IDTokenizer:
        return _id_texts
    if "index_positions" in vars(type(analyzer)):
        return analyzer.index_positions  # type: ignore[no-any-return]
    return None


def compile_simple(field: FieldType) -> FieldIndexer | None:
    """A fast equivalent of ``field.index`` (as a list) for the fields of
    :func:`_simple_texts`, or ``None``. Whoosh's way runs the tokenizer's generator and
    a format's generator per token; this maps the texts and positions the tokenizer
    gives straight to the postings."""
    texts = _simple_texts(field)
    if texts is None:
        return None
    fmt = field.format
    boost = fmt.field_boost
    kind = type(fmt)
    if kind is formats.Existence:

        def existence(value: str) -> list[Posting]:
            return [(t.encode("utf-8"), 1, boost, b"") for t in texts(value)]

        return existence
    if kind is formats.Frequency:

        def frequency(value: str) -> list[Posting]:
            return [
                (t.encode("utf-8"), len(p), float(len(p)) * boost, pack_uint(len(p)))
                for t, p in texts(value).items()
            ]

        return frequency
    encode = positions_encoder(fmt)
    assert encode is not None

    def positions(value: str) -> list[Posting]:
        return [
            (t.encode("utf-8"), len(p), float(len(p)) * boost, encode(p))
            for t, p in texts(value).items()
        ]

    return positions


class SimpleTokens(NamedTuple):
    """A field of :func:`_simple_texts` as tokens for the term store: ``tokens(value)``
    (a ``str``), each posting weighing ``frequency * boost`` (an ``Existence`` field
    keeps one token per text: frequency 1), its value ``encode(positions)``."""

    tokens: Callable[[str], Tokens]
    boost: float
    encode: Callable[[list[int]], bytes]


def positions_encoder(fmt: Any) -> Callable[[list[int]], bytes] | None:
    """The encoding of a positions format searchkit writes fast: Whoosh's ``Positions``
    (:func:`encode_positions`, indexes of format 7 and before) or
    :class:`~searchkit.engine.compact_positions.CompactPositions`; ``None`` for any
    other format (or a subclass: its own encoding)."""
    kind = type(fmt)
    if kind is CompactPositions:
        return encode_compact
    return encode_positions if kind is formats.Positions else None


def encode_positions(positions: list[int]) -> bytes:
    """Whoosh's ``Positions.encode``: the count, then the pickled (protocol 2) list of
    the gaps between positions (the first from 0); the same bytes without a Python
    step per position."""
    if not positions:
        return pack_uint(0) + dumps([], 2)
    return pack_uint(len(positions)) + dumps([positions[0], *map(sub, positions[1:], positions)], 2)


def _no_value(positions: list[int]) -> bytes:
    return b""  # Existence


def _frequency_value(positions: list[int]) -> bytes:
    return pack_uint(len(positions))  # Frequency.encode of the same token


def compile_simple_tokens(field: FieldType) -> SimpleTokens | None:
    """The postings :func:`compile_simple` makes, as tokens, or ``None``."""
    texts = _simple_texts(field)
    if texts is None:
        return None
    fmt = field.format
    kind = type(fmt)
    once = kind is formats.Existence
    encode = (
        _no_value
        if once
        else _frequency_value
        if kind is formats.Frequency
        else positions_encoder(fmt) or encode_positions
    )
    term_ids = TermIds(_CACHE_LIMIT)

    def tokens(value: str) -> Tokens:
        ids, places = term_ids.tokens(texts(value), once)
        return ids, places, term_ids.terms

    return SimpleTokens(tokens, float(fmt.field_boost), encode)


def compile_schema(schema: Any) -> dict[str, PositionsIndexer]:
    """Fast analysis for every field of ``schema`` that supports it."""
    found: dict[str, PositionsIndexer] = {}
    for name, field in schema.items():
        fast = compile_positions(field)
        if fast is not None:
            found[name] = fast
    return found


__all__ = [
    "FieldIndexer",
    "PositionsIndexer",
    "Posting",
    "SimpleTokens",
    "compile_field",
    "compile_positions",
    "compile_schema",
    "compile_simple",
    "compile_simple_tokens",
    "encode_positions",
    "postings_of",
]
