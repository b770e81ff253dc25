"""The query language's syntax tree (:mod:`searchkit.query.syntax`) as Solr's JSON Query
DSL: bare words and tagged words as ``edismax`` with every word required, phrases and
proximity as ``edismax`` phrases with slop, truncation and wildcards as ``edismax``
wildcard terms, wildcard phrases as ``complexphrase``, whole-value fields (journal,
publication type, MeSH headings) as the ``field`` parser (an exploded heading as
``terms``, a truncated one as ``prefix``), PMIDs and DOIs as ``terms``,
years and dates as ranges; AND, OR and NOT as ``bool``. Malformed queries are refused by
the same parser as locally, with the same messages."""

from __future__ import annotations

import re
from typing import Any

from searchkit.errors import QueryError
from searchkit.index.mesh import KEYS as MESH_TERM_KEYS
from searchkit.index.mesh import MeshContext, mesh_terms, prefix_term
from searchkit.index.schema import TEXT_FIELDS
from searchkit.query.compile import (
    ALL_FIELDS_ALSO,
    EXACT_KEYS,
    FIELDS,
    LANGUAGE_CODES,
    PHRASE_KEYS,
    check_mesh_term,
)
from searchkit.query.identifiers import id_values
from searchkit.query.parser import parse
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
)
from searchkit.query.tags import ID_KEYS

Json = dict[str, Any]

#: MeSH keys of whole headings (``[mh]`` and ``[majr]`` explode by the collection's tree).
MESH_KEYS = frozenset({"mesh", "mesh_noexp", "majr", "majr_noexp"})
_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')


def escape(text: str) -> str:
    """``text`` with the Lucene query syntax's special characters escaped."""
    return _SPECIAL.sub(r"\\\1", text)


def qf(fields: dict[str, float] | tuple[str, ...]) -> str:
    if isinstance(fields, dict):
        return " ".join(f"{f}^{w:g}" if w != 1.0 else f for f, w in fields.items())
    return " ".join(fields)


def _fields(key: str | None) -> dict[str, float]:
    return dict(TEXT_FIELDS) if key is None else dict.fromkeys(FIELDS[key], 1.0)


def _edismax(query: str, fields: dict[str, float]) -> Json:
    return {"edismax": {"query": query, "qf": qf(fields), "mm": "100%", "sow": "false"}}


def _any(parts: list[Json]) -> Json:
    return parts[0] if len(parts) == 1 else {"bool": {"should": parts}}


def _field(field: str, value: str) -> Json:
    return {"field": {"f": field, "query": value}}


def _words(words: tuple[str, ...]) -> str:
    return " ".join(escape(w) for w in words)


def _ids(key: str, text: str, pos: int) -> Json:
    ids = id_values(key, text)
    if not ids:
        raise QueryError(f"'{text}' has no searchable words (only stop words or punctuation)", pos)
    return {"terms": {"f": "id" if key == "pmid" else key, "query": ",".join(ids)}}


def _mesh(key: str, text: str, pos: int, mesh: MeshContext) -> Json:
    """Whole headings (or qualifiers), as the local index looks for them: one as the
    ``field`` parser (scored), an explosion as ``terms`` (each term as indexed; every
    match scores alike)."""
    field, terms = mesh_terms(key, text, pos, mesh)
    if len(terms) == 1:
        return _field(field, terms[0])
    return {"terms": {"f": field, "query": ",".join(terms)}}


def _tagged(key: str, text: str, words: tuple[str, ...], pos: int, mesh: MeshContext) -> Json:
    if key in ID_KEYS:
        return _ids(key, text, pos)
    if key == "subheading" or key in MESH_KEYS:
        return _mesh(key, text, pos, mesh)
    if key == "all":
        parts = [_edismax(_words(words), _fields("textword"))]
        parts += [_tagged(k, text, words, pos, mesh) for k in ALL_FIELDS_ALSO]
        return _any(parts)
    if key in EXACT_KEYS:
        value = LANGUAGE_CODES.get(text.strip().lower(), text) if key == "language" else text
        return _any([_field(f, value) for f in FIELDS[key]])
    if key in PHRASE_KEYS:
        return _edismax(f'"{escape(text)}"', _fields(key))
    return _edismax(_words(words), _fields(key))


def _range(field: str, low: object, high: object) -> Json:
    lo = "*" if low is None else str(low)
    hi = "*" if high is None else str(high)
    return {"lucene": {"query": f"{field}:[{lo} TO {hi}]"}}


def to_solr(node: Node, mesh: MeshContext | None = None) -> Json:
    """The JSON Query DSL of a syntax tree; ``mesh`` holds the MeSH tree that ``[mh]``
    explodes by (none: not exploded) and collects what it has to say."""
    mesh = mesh if mesh is not None else MeshContext()
    check_mesh_term(node)
    if isinstance(node, Truncated) and node.key in MESH_TERM_KEYS:
        field, start = prefix_term(node.key, node.prefix)
        return {"prefix": {"f": field, "query": start}}
    if isinstance(node, FreeText):
        return _edismax(_words(node.words), _fields(None))
    if isinstance(node, Tagged):
        return _tagged(node.key, " ".join(node.words), node.words, node.pos, mesh)
    if isinstance(node, Phrase):
        if node.key is not None and (
            node.key in EXACT_KEYS or node.key in ID_KEYS or node.key in MESH_KEYS
        ):
            return _tagged(node.key, node.text, (node.text,), node.pos, mesh)
        near = f"~{node.near}" if node.near is not None else ""
        return _edismax(f'"{escape(node.text)}"{near}', _fields(node.key))
    if isinstance(node, Truncated):
        return _edismax(f"{escape(node.prefix)}*", _fields(node.key))
    if isinstance(node, Wildcard):
        pattern = "*".join(escape(p) for p in node.pattern.split("*"))
        return _edismax(pattern, _fields(node.key))
    if isinstance(node, WildPhrase):
        text = " ".join("*".join(escape(p) for p in w.split("*")) for w in node.words)
        return _any(
            [
                {"complexphrase": {"query": f'{f}:"{text}"', "inOrder": "true"}}
                for f in _fields(node.key)
            ]
        )
    if isinstance(node, Years):
        return _range("year", node.low, node.high)
    if isinstance(node, Dates):
        return _range(node.key, node.low, node.high)
    if isinstance(node, HasAbstract):
        return _range("abstract", None, None)
    if isinstance(node, And):
        return {"bool": {"must": [to_solr(c, mesh) for c in node.children]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_solr(c, mesh) for c in node.children]}}
    assert isinstance(node, Not)
    return {
        "bool": {
            "must": [to_solr(node.positive, mesh)],
            "must_not": [to_solr(node.negative, mesh)],
        }
    }


def translate(
    query: str, refs: dict[int, str] | None = None, mesh: MeshContext | None = None
) -> Json:
    """The JSON Query DSL of a query in searchkit's (PubMed's) query language; ``mesh``:
    the collection's MeSH tree (and what explaining the query says of it)."""
    return to_solr(parse(query, refs), mesh)
