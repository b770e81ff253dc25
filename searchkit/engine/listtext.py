"""A text field whose value is a list: keywords, MeSH words, affiliations.

Such a field's value is its entries joined by ``" ; "``; read as one text, the last word
of an entry and the first of the next sat side by side, so that the phrase "receptor
immunohistochemistry" matched a record whose keywords are "Androgen receptor;
Immunohistochemistry", which holds no such phrase (nor does PubMed find it there).
:class:`ListText` analyses each entry alone, its words :data:`ENTRY_GAP` positions
after the last word of the entry before: no phrase or proximity spans two entries. Its
terms, frequencies and field lengths are the text analyzer's, as before.

The class is pickled into an index's schema (its import path is part of the format).
The fast writer takes the same positions from
:func:`entry_positions` and :func:`entry_tokens` (``tests/test_fastindex.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from whoosh.fields import TEXT
from whoosh.formats import Positions

from searchkit.analysis.termizer import STOP

#: Positions left empty between two entries of a list field: no phrase spans two of
#: them, nor a proximity of up to this many words.
ENTRY_GAP = 100
#: What separates the entries of a list field's value.
ENTRY_SEPARATOR = ";"

Tokens = tuple[list[int], list[int] | None, list[bytes]]
T = TypeVar("T", str, bytes)


class ListText(TEXT):  # type: ignore[misc]
    """A ``TEXT`` field of entries joined by ``;``, each entry's words at their own
    positions, :data:`ENTRY_GAP` after the last word of the entry before (an entry
    without words moves nothing)."""

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        fmt = self.format
        if not isinstance(value, str) or not isinstance(fmt, Positions):
            yield from super().index(value, **kwargs)
            return
        kwargs.setdefault("mode", "index")
        kwargs["positions"] = True
        weights: dict[str, float] = {}

        def entry_places(entry: str) -> dict[str, list[int]]:
            found: dict[str, list[int]] = {}
            for token in self.analyzer(entry, **kwargs):
                if not token.stopped:
                    found.setdefault(token.text, []).append(token.pos)
                    weights[token.text] = weights.get(token.text, 0.0) + token.boost
            return found

        boost = fmt.field_boost
        for text, found in joined(map(entry_places, value.split(ENTRY_SEPARATOR))).items():
            yield text.encode("utf-8"), len(found), weights[text] * boost, fmt.encode(found)


def joined(entries: Iterable[dict[T, list[int]]]) -> dict[T, list[int]]:
    """Each entry's terms and positions (counted from 0), one entry after another:
    an entry's positions shifted to :data:`ENTRY_GAP` after the last of the entry
    before (an entry without terms moves nothing), terms in the order first seen."""
    out: dict[T, list[int]] = {}
    base = 0
    for places in entries:
        last = -1
        for term, found in places.items():
            last = max(last, max(found))
            shifted = [p + base for p in found] if base else found
            held = out.get(term)
            if held is None:
                out[term] = shifted
            else:
                held.extend(shifted)
        if last >= 0:
            base += last + 1 + ENTRY_GAP
    return out


def entry_positions(
    positions_of: Callable[[str], dict[bytes, list[int]]],
) -> Callable[[str], dict[bytes, list[int]]]:
    """``positions_of`` (a text analysis' terms and positions) of a :class:`ListText`
    value: each entry's, :func:`joined` as :meth:`ListText.index` joins them."""

    def positions(value: str) -> dict[bytes, list[int]]:
        return joined(map(positions_of, value.split(ENTRY_SEPARATOR)))

    return positions


def entry_tokens(
    tokens_of: Callable[[str], tuple[list[int], list[int] | None]],
    vocabulary: Callable[[], list[bytes]],
) -> Callable[[str], Tokens]:
    """``tokens_of`` (a termizer's term ids and positions; ``STOP``: a stop word) of a
    :class:`ListText` value, each entry's positions shifted as :meth:`ListText.index`
    shifts them, with the ``vocabulary()`` the ids are in. The termizer may start its
    vocabulary over at any call: the value is then read again from its first entry."""

    def tokens(value: str) -> Tokens:
        while True:
            terms = vocabulary()
            ids: list[int] = []
            places: list[int] = []
            base = 0
            for entry in value.split(ENTRY_SEPARATOR):
                found, at = tokens_of(entry)
                if vocabulary() is not terms:
                    break  # a new vocabulary: the entries before refer to the old one
                where = range(len(found)) if at is None else at
                last = max((p for i, p in zip(found, where, strict=True) if i != STOP), default=-1)
                if last < 0:
                    continue
                ids.extend(found)
                places.extend(p + base for p in where)
                base += last + 1 + ENTRY_GAP
            else:
                return ids, places, terms

    return tokens


__all__ = [
    "ENTRY_GAP",
    "ENTRY_SEPARATOR",
    "ListText",
    "entry_positions",
    "entry_tokens",
    "joined",
]
