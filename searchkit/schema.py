"""The Whoosh schema and its version.

The schema (analyzers included) is pickled into the index, so the version below is
part of the on-disk format: bump it whenever a field or an analyzer changes, and an
index written by another version is refused with a "re-ingest" message.
"""

from __future__ import annotations

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from searchkit.analysis import name_analyzer, text_analyzer

SCHEMA_VERSION = 3

# Fields searched by free text, with their BM25F weight relative to the abstract.
TEXT_FIELDS: dict[str, float] = {
    "title": 2.0,
    "abstract": 1.0,
    "keywords": 1.5,
    "mesh": 1.5,
}


def build_schema() -> Schema:
    """A fresh schema object (Whoosh schemas are mutable: never share one)."""
    text = text_analyzer()
    names = name_analyzer()
    return Schema(
        pmid=ID(stored=True, unique=True),
        title=TEXT(analyzer=text, stored=True),
        abstract=TEXT(analyzer=text, stored=True),
        keywords=TEXT(analyzer=text),
        mesh=TEXT(analyzer=text),
        mesh_major=TEXT(analyzer=text),
        authors=TEXT(analyzer=names),
        journal=TEXT(analyzer=names),
        year=NUMERIC(int, stored=True, sortable=True, signed=False, bits=16),
        pubtype=KEYWORD(lowercase=True, commas=True),
        language=KEYWORD(lowercase=True, commas=True),
        doi=ID(),
        record=STORED(),
    )
