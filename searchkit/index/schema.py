"""The Whoosh schema and its version.

The schema (analyzers included) is pickled into the index, so the version below is
part of the on-disk format: bump it whenever a field or an analyzer changes, and an
index written by another version is refused with a "re-ingest" message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema
from whoosh.formats import Positions

from searchkit.analysis.analyzer import Stateless, fold, text_analyzer
from searchkit.engine.compact_positions import CompactPositions
from searchkit.engine.listtext import ENTRY_GAP, ListText
from searchkit.index.dates import DateTokenizer

#: The index format version. Bump it when what an index stores changes: an analyzer's
#: output, the fields, or the import path of a class pickled into the index (moving a
#: module moves it). 6: the package laid out by stage, a PMID column for tie-breaking,
#: the analysis parameters recorded in searchkit.json (issue 19). 7: the positions of
#: large posting blocks compressed with LZ4 (``searchkit.engine.codec.Lz4Values``).
#: 8: positions as 16-bit numbers
#: (``searchkit.engine.compact_positions.CompactPositions``), not pickled gaps.
#: 9: dates also indexed as their month and year (``searchkit.index.dates``).
#: 10: PMC ids indexed (the ``pmcid`` field).
#: 11: keywords, MeSH words and affiliations indexed entry by entry, with a gap of
#: positions between entries (``searchkit.engine.listtext.ListText``).
SCHEMA_VERSION = 11
#: Versions this searchkit reads as they are: an index of version 6 (its blocks'
#: positions zlib streams), 7 (its positions pickled, in the format its schema
#: names, which its new segments keep), 8 (its dates as days alone, which its new
#: segments keep too: its schema says so), 9 (no ``pmcid`` field: its records are
#: written without one, and ``[pmcid]`` says to rebuild it) or 10 (its list fields one
#: text, so a phrase may span two keywords: its schema says so, and its new segments
#: keep it) becomes version 11 when a commit first writes to it (what commits nothing
#: leaves it as it is), so that an older searchkit refuses it with a rebuild message
#: rather than failing on a block it cannot read; ``rebuild`` makes it a version 11
#: index whole.
READABLE_VERSIONS = frozenset({6, 7, 8, 9, 10, SCHEMA_VERSION})

# Fields searched by free text, with their BM25F weight relative to the abstract.
TEXT_FIELDS: dict[str, float] = {
    "title": 2.0,
    "abstract": 1.0,
    "keywords": 1.5,
    "mesh": 1.5,
}

#: Joins the entries of a list-valued field (authors, journal names, types).
LIST_SEPARATOR = " ; "
#: The free-text fields whose value is such a list (keywords, MeSH words,
#: affiliations): indexed entry by entry (``searchkit.engine.listtext.ListText``).
LIST_TEXT_FIELDS = frozenset({"keywords", "mesh", "affiliation"})

_WORD = re.compile(r"\w+")
_DOTS = re.compile(r"\.")


def _entries(value: str) -> Iterator[tuple[int, str]]:
    """The ``;``-separated entries of ``value`` with their character offsets."""
    start = 0
    for part in value.split(";"):
        yield start, part
        start += len(part) + 1


class NameTokenizer(Stateless, Tokenizer):
    """Words of a ``;``-separated list of names (authors), folded as text is
    (:func:`~searchkit.analysis.analyzer.fold`: lower case, accents removed, as
    PubMed's author search ignores them: ``konig t`` finds "König T"), with
    :data:`ENTRY_GAP` empty positions between entries so that a phrase such as
    ``smith j`` never matches across two authors. A value in decomposed form (a
    letter, then its accent as a combining mark) is composed first (NFC), so that
    its words stay whole; character offsets are then those of the composed text.

    When indexing, a short all-capital word (PubMed initials, "JA") also yields its
    shorter prefixes ("J") at the same position, so ``smith j`` finds "Smith JA" as
    PubMed's author search does.
    """

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        value = _composed(value)
        if not tokenize:
            t.original = value
            t.text = fold(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        for offset, entry in _entries(value):
            for match in _WORD.finditer(entry):
                word = match.group()
                t.original = word
                t.boost = 1.0
                t.stopped = False
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar = start_char + offset + match.start()
                    t.endchar = start_char + offset + match.end()
                t.text = fold(word)
                yield t
                if mode == "index" and 2 <= len(word) <= 4 and word.isalpha() and word.isupper():
                    for k in range(1, len(word)):
                        t.text = fold(word[:k])
                        yield t
                pos += 1
            pos += ENTRY_GAP

    def index_positions(self, value: str) -> dict[str, list[int]]:
        """Each token text of ``value`` with its positions, as ``self(value,
        positions=True, mode="index")`` yields them (in that order), without the token
        objects: the writer's fast path for this field
        (:func:`searchkit.engine.segment_writer.compile_simple`)."""
        found: dict[str, list[int]] = {}
        pos = 0
        for _, entry in _entries(_composed(value)):
            for word in _WORD.findall(entry):
                text = fold(word)
                plist = found.get(text)
                if plist is None:
                    found[text] = [pos]
                else:
                    plist.append(pos)
                if 2 <= len(word) <= 4 and word.isalpha() and word.isupper():
                    for k in range(1, len(word)):
                        prefix = fold(word[:k])
                        plist = found.get(prefix)
                        if plist is None:
                            found[prefix] = [pos]
                        else:
                            plist.append(pos)
                pos += 1
            pos += ENTRY_GAP
        return found


def _composed(value: str) -> str:
    """``value`` in Unicode's composed form (NFC)."""
    if value.isascii() or unicodedata.is_normalized("NFC", value):
        return value
    return unicodedata.normalize("NFC", value)


def normalize_entry(text: str) -> str:
    """How a list entry (journal, publication type, language) is compared: lower
    case, no dots, single spaces ("Cancer Res." and "cancer res" are equal)."""
    return " ".join(_DOTS.sub(" ", text).lower().split())


class EntryTokenizer(Stateless, Tokenizer):
    """One token per ``;``-separated entry, normalized by :func:`normalize_entry`:
    exact matching of whole journal names, publication types and languages."""

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        entries = list(_entries(value)) if tokenize else [(0, value)]
        pos = start_pos
        for offset, entry in entries:
            text = normalize_entry(entry)
            if not text:
                continue
            t.original = entry
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + offset
                t.endchar = start_char + offset + len(entry)
            yield t
            pos += 1

    def index_positions(self, value: str) -> dict[str, list[int]]:
        """Each token text of ``value`` with its positions, as ``self(value,
        positions=True, mode="index")`` yields them, without the token objects (see
        :meth:`NameTokenizer.index_positions`)."""
        found: dict[str, list[int]] = {}
        pos = 0
        for part in value.split(";"):
            text = normalize_entry(part)
            if not text:
                continue
            plist = found.get(text)
            if plist is None:
                found[text] = [pos]
            else:
                plist.append(pos)
            pos += 1
        return found


def build_schema() -> Schema:
    """A fresh schema object (Whoosh schemas are mutable: never share one); every
    field that keeps positions keeps them as :class:`CompactPositions`."""
    schema = _fields()
    for _, field in schema.items():
        if type(field.format) is Positions:
            field.format = CompactPositions(field_boost=field.format.field_boost)
    return schema


def _fields() -> Schema:
    text = text_analyzer()
    return Schema(
        # sortable: a column of PMIDs, by which the ranking breaks ties
        # (searchkit.searching.pipeline)
        pmid=ID(stored=True, unique=True, sortable=True),
        title=TEXT(analyzer=text, stored=True),
        abstract=TEXT(analyzer=text, stored=True),
        # Lists (joined by LIST_SEPARATOR): no phrase spans two entries.
        **{name: ListText(analyzer=text) for name in LIST_TEXT_FIELDS},
        # Whole MeSH headings and heading/qualifier pairs (searchkit.index.mesh normalizes
        # them), the major ones, and qualifiers: one term per entry.
        mesh_heading=TEXT(analyzer=EntryTokenizer(), phrase=False),
        mesh_major_heading=TEXT(analyzer=EntryTokenizer(), phrase=False),
        mesh_qualifier=TEXT(analyzer=EntryTokenizer(), phrase=False),
        authors=TEXT(analyzer=NameTokenizer()),
        journal=TEXT(analyzer=EntryTokenizer(), phrase=False),
        year=NUMERIC(int, stored=True, sortable=True, signed=False, bits=16),
        date=ID(sortable=True),
        pubtype=TEXT(analyzer=EntryTokenizer(), phrase=False),
        language=TEXT(analyzer=EntryTokenizer(), phrase=False),
        doi=ID(),
        # "PMC" and the number (searchkit.index.documents.pmcid_term).
        pmcid=ID(),
        first_author=TEXT(analyzer=NameTokenizer()),
        last_author=TEXT(analyzer=NameTokenizer()),
        collective=TEXT(analyzer=NameTokenizer()),
        volume=TEXT(analyzer=EntryTokenizer(), phrase=False),
        issue=TEXT(analyzer=EntryTokenizer(), phrase=False),
        pages=TEXT(analyzer=EntryTokenizer(), phrase=False),
        issn=TEXT(analyzer=EntryTokenizer(), phrase=False),
        # Dates as "YYYYMMDD", an incomplete date as the first day it names
        # (see searchkit.index.documents.date_key), each also as its month and year:
        # a range reads whole years and months where it can (searchkit.index.dates).
        pdat=ID(analyzer=DateTokenizer()),
        edat=ID(analyzer=DateTokenizer()),
        crdt=ID(analyzer=DateTokenizer()),
        mhda=ID(analyzer=DateTokenizer()),
        record=STORED(),
    )
