"""The query nodes searchkit scores itself, and the Whoosh scoring model for the rest.

A free-text query (built by :mod:`searchkit.query.free_text`) is a :class:`BestMatch`
of concepts, each a :class:`FieldedTerm`, :class:`FieldedPhrase` or
:class:`CompoundTerm`, with :class:`Proximity` bonuses and :class:`Expansion` terms.
They are standard Whoosh ``Or`` subclasses: :mod:`searchkit.engine.scoring` gives them
their scoring (BM25F, coordination, proximity), and nested inside another Whoosh query
they still work with Whoosh's own matchers (as plain ``Or`` s).
"""

from __future__ import annotations

from collections.abc import Sequence

from whoosh.query import Or, Query
from whoosh.scoring import BM25F

from searchkit.params import DEFAULT, Params


def weighting(params: Params = DEFAULT) -> BM25F:
    """Whoosh's scoring model with ``params``' BM25 values (for the query parts that
    Whoosh scores itself)."""
    return BM25F(B=params.b, K1=params.k1)


class BestMatch(Or):
    """Free-text query: children are concepts (and :class:`Proximity` bonuses); see module
    docs. Whoosh's matchers score it as a plain ``Or``; :mod:`searchkit.engine.scoring` adds
    coordination.

    ``required`` has one query per concept that matches the records *having* that word
    (see :func:`free_text_query`): what :mod:`searchkit.query.allwords` counts. Without it,
    the concept children themselves."""

    JOINT = " BEST "

    def __init__(
        self, subqueries: Sequence[Query], boost: float = 1.0, required: Sequence[Query] = ()
    ) -> None:
        super().__init__(list(subqueries), boost=boost)
        self.required = tuple(required) or tuple(self.concepts())

    def concepts(self) -> list[Query]:
        """The concept children: not the :class:`Proximity` bonuses or the
        :class:`Expansion` feedback terms."""
        return [q for q in self.subqueries if not isinstance(q, Proximity | Expansion)]


class Expansion(Or):
    """Feedback terms (``--expand``): scored and able to bring in new documents, but not
    counted as concepts and not scaled by coordination."""

    JOINT = " EXP "


class Proximity(Or):
    """Bonus clauses (sloppy phrases of adjacent query words): scored, not counted as
    concepts for coordination."""

    JOINT = " NEAR "


class FieldedTerm(Or):
    """One term in several fields (children: ``Term(field, text, boost=field weight)``),
    scored by :mod:`searchkit.engine.scoring` as a single BM25F term: the field frequencies are
    length-normalised per field, weighted, summed, and saturated once (Robertson &
    Zaragoza). Whoosh's own matchers score it as a plain ``Or`` of per-field BM25."""

    JOINT = " | "


class FieldedPhrase(Or):
    """A phrase in several fields (children: ``Phrase(field, words, boost=field weight)``),
    scored by :mod:`searchkit.engine.scoring` like a :class:`FieldedTerm` whose frequency is the
    number of times the phrase occurs. Whoosh's matchers score it as an ``Or`` of phrases."""

    JOINT = " | "


class CompoundTerm(Or):
    """A compound written in several ways (children: a :class:`FieldedTerm` of its
    joined term, a :class:`FieldedPhrase` of its parts side by side), scored by
    :mod:`searchkit.engine.scoring` as one BM25F term whose frequency in a field is the larger of
    its children's: ``PD-L1`` holds both the joined term and the parts, and counts once.
    Whoosh's matchers score it as an ``Or``."""

    JOINT = " || "


__all__ = [
    "BestMatch",
    "CompoundTerm",
    "Expansion",
    "FieldedPhrase",
    "FieldedTerm",
    "Proximity",
    "weighting",
]
