"""The syntax tree of a query: what :func:`searchkit.query.parser.parse` makes of its
text and :mod:`searchkit.query.compile` turns into a Whoosh query (the Solr backend
into Solr's JSON Query DSL). Every node keeps ``pos``, the 0-based position in the
query text it was read from, for the errors that name it.

The nodes are named tuples, not frozen dataclasses: every search process defines them
all, and a frozen dataclass costs about five times as much to define (BENCHMARKS.md,
start-up). Like any tuple, a node equals a tuple of the same values whatever its type:
what a node is, is asked with ``isinstance``, never with ``==``."""

from __future__ import annotations

from typing import NamedTuple


class FreeText(NamedTuple):
    """Bare words: one ranked free-text group."""

    words: tuple[str, ...]
    pos: int


class Tagged(NamedTuple):
    """Words searched in one field (``cancer stem cells[ti]``, ``title:cancer``)."""

    key: str
    words: tuple[str, ...]
    pos: int


class Phrase(NamedTuple):
    """A quoted phrase, in the text fields or in one field; ``near`` is the
    proximity (``"a b"~5``: within 5 words, any order)."""

    text: str
    key: str | None
    near: int | None
    pos: int


class Truncated(NamedTuple):
    """``immun*``: every word starting with ``prefix``; ``IL-10*``: every term
    starting with the pieces of ``prefix`` run together (``il10``)."""

    prefix: str
    key: str | None
    pos: int


class Wildcard(NamedTuple):
    """``tumo*r``, ``organi*ation*``: every word matching ``pattern`` (``*``: any
    characters)."""

    pattern: str
    key: str | None
    pos: int


class WildPhrase(NamedTuple):
    """A phrase with wildcard words: ``"breast feed*"``, ``psoas absc*[tiab]``,
    ``breast-feed*``."""

    words: tuple[str, ...]
    key: str | None
    pos: int


class Years(NamedTuple):
    """Publication years ``low``..``high`` (either end may be open)."""

    low: int | None
    high: int | None
    pos: int


class Dates(NamedTuple):
    """Dates of one kind (``key``: pdat, edat, crdt, mhda) from ``low`` to ``high``,
    inclusive, as "YYYYMMDD" (``None``: open)."""

    key: str
    low: str | None
    high: str | None
    pos: int


class HasAbstract(NamedTuple):
    """Records with an abstract (PubMed's ``hasabstract``, ``fha[Filter]``)."""

    pos: int


class And(NamedTuple):
    children: tuple[Node, ...]
    implicit: bool = False


class Or(NamedTuple):
    children: tuple[Node, ...]


class Not(NamedTuple):
    """``positive NOT negative``."""

    positive: Node
    negative: Node


Node = (
    FreeText
    | Tagged
    | Phrase
    | Truncated
    | Wildcard
    | WildPhrase
    | Years
    | Dates
    | HasAbstract
    | And
    | Or
    | Not
)


def depth(node: Node) -> int:
    """How deep the tree is (computed without recursion)."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, And | Or):
            stack.extend((child, level + 1) for child in current.children)
        elif isinstance(current, Not):
            stack.extend(((current.positive, level + 1), (current.negative, level + 1)))
    return deepest


def describe(node: Node) -> str:
    """A readable rendering of a syntax tree."""
    if isinstance(node, FreeText):
        return f"words({' '.join(node.words)})"
    if isinstance(node, Tagged):
        return f"{node.key}:({' '.join(node.words)})"
    if isinstance(node, Phrase):
        where = f"{node.key}:" if node.key else ""
        near = f" within {node.near} words" if node.near is not None else ""
        return f'{where}"{node.text}"{near}'
    if isinstance(node, Truncated):
        where = f"{node.key}:" if node.key else ""
        return f"{where}{node.prefix}*"
    if isinstance(node, Wildcard):
        where = f"{node.key}:" if node.key else ""
        return f"{where}{node.pattern}"
    if isinstance(node, WildPhrase):
        where = f"{node.key}:" if node.key else ""
        return f'{where}"{" ".join(node.words)}"'
    if isinstance(node, Years):
        low = "" if node.low is None else str(node.low)
        high = "" if node.high is None else str(node.high)
        return f"year:{low}..{high}"
    if isinstance(node, Dates):
        return f"{node.key}:{node.low or ''}..{node.high or ''}"
    if isinstance(node, HasAbstract):
        return "has:abstract"
    if isinstance(node, And):
        return "(" + " AND ".join(describe(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(describe(c) for c in node.children) + ")"
    return f"({describe(node.positive)} NOT {describe(node.negative)})"
