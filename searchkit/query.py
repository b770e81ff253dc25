"""The query language → a Whoosh query, with errors that name the position."""

from __future__ import annotations

from whoosh.fields import Schema
from whoosh.query import NullQuery, Query

from searchkit.acronyms import AcronymTable
from searchkit.errors import QueryError
from searchkit.ranking import free_text_query


def parse_query(schema: Schema, text: str, *, acronyms: AcronymTable | None = None) -> Query:
    """Parse a user query. Raises :class:`QueryError` for an empty or malformed query.

    ``acronyms`` (the index's learned table) lets free text expand acronyms."""
    if not text or not text.strip():
        raise QueryError("the query is empty; give some words to search for")
    query = free_text_query(schema, text, acronyms=acronyms)
    if query is NullQuery:
        raise QueryError(
            f"the query {text!r} has no searchable words (only stop words or punctuation)"
        )
    return query
