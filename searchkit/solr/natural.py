"""A natural-language query's words as the local query compiler groups them
(:mod:`searchkit.query.free_text`), written for Solr.

The local ranking searches each *concept* of the query once: a word, or a compound
(``fast-twitch``) by its joined term and its parts side by side, plus, at
``params.part_weight``, those parts that are words in their own right (``fast``,
``twitch``; not the ``6`` of ``IL-6``); a word whose terms an earlier word already
gave (``interacts`` … ``interaction``) is not searched again. The collection is sent
the same concepts: each concept's written form once (Solr's analysis makes the joined
term and the parts side by side of a compound), the parts searchable alone as a
clause of their own at the part weight, and, for the coordination factor, a query per
concept that matches it as the local index does (its written form or one of those
parts).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from whoosh.fields import Schema

from searchkit.index.schema import build_schema
from searchkit.params import DEFAULT, Params
from searchkit.query.free_text import QueryToken, analyze_query, searchable_alone
from searchkit.solr.translate import escape


@dataclass(frozen=True)
class Concept:
    """One concept: its written form, and the parts of a compound searchable alone."""

    written: str
    parts: tuple[str, ...] = ()

    def matching(self) -> str:
        """An ``edismax`` query (any of its clauses) for the records having the concept."""
        return " ".join(escape(w) for w in (self.written, *self.parts))


@functools.cache
def _schema() -> Schema:
    return build_schema()


def concepts(text: str, params: Params = DEFAULT) -> list[Concept]:
    """The concepts of ``text``, in query order, as the local compiler finds them."""
    tokens = analyze_query(_schema(), text)
    written: dict[int, list[QueryToken]] = {}
    for t in tokens:
        written.setdefault(t.group, []).append(t)
    seen: set[str] = set()
    kept: dict[int, list[QueryToken]] = {}
    for t in tokens:
        if t.text in seen:
            continue
        seen.add(t.text)
        kept.setdefault(t.group, []).append(t)
    out: list[Concept] = []
    for group, toks in kept.items():
        whole = written[group]
        cat = next((t for t in whole if t.kind == "cat"), whole[0])
        if len(whole) == 1:
            out.append(Concept(cat.original))
            continue
        parts = tuple(t.original for t in toks if t.kind != "cat" and searchable_alone(t, params))
        out.append(Concept(cat.original, parts))
    return out


def words_query(found: list[Concept]) -> str:
    """The concepts' written forms, each once, for the main ``edismax`` clause."""
    return " ".join(escape(c.written) for c in found)


def parts_query(found: list[Concept], params: Params = DEFAULT) -> str:
    """The compounds' parts searchable alone, each at ``params.part_weight`` ('' if
    none)."""
    weight = f"{params.part_weight:g}"
    return " ".join(f"{escape(p)}^{weight}" for c in found for p in c.parts)
