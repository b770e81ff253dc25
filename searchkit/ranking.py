"""How free text becomes a ranked Whoosh query, and the scoring model.

Each query word is searched in every text field with that field's weight; documents
that match more of the words get a coordination bonus, so documents matching all
words come first but partial matches are still returned (PubMed "Best Match").
"""

from __future__ import annotations

from whoosh import scoring
from whoosh.fields import Schema
from whoosh.query import NullQuery, Or, Query, Term

from searchkit.schema import TEXT_FIELDS

# BM25F parameters (see BENCHMARKS.md for how they were chosen).
K1 = 1.2
B = 0.75
COORDINATION = 0.9


def weighting() -> scoring.WeightingModel:
    """The scoring model used for every search."""
    return scoring.BM25F(B=B, K1=K1)


def analyze_query_words(schema: Schema, text: str) -> list[str]:
    """The index terms a piece of free text becomes (all text fields share one analyzer)."""
    return list(schema["abstract"].process_text(text, mode="query"))


def term_query(schema: Schema, term: str, boost: float = 1.0) -> Query:
    """One analyzed term searched across the weighted text fields."""
    return Or([Term(f, term, boost=w * boost) for f, w in TEXT_FIELDS.items()])


def free_text_query(schema: Schema, text: str) -> Query:
    """Ranked free-text query for ``text`` (NullQuery if it has no searchable word)."""
    terms = list(dict.fromkeys(analyze_query_words(schema, text)))
    if not terms:
        return NullQuery
    parts = [term_query(schema, t) for t in terms]
    if len(parts) == 1:
        return parts[0]
    return Or(parts, scale=COORDINATION)
