"""The topical words of a query: what the semantic stage encodes (and whether there
are any, which a search asks before it loads the stage)."""

from __future__ import annotations

from searchkit.query.syntax import And, FreeText, Node, Not, Or, Phrase, Tagged

#: Field keys whose words describe the topic (encoded with the query's free text).
TOPIC_KEYS = frozenset(
    {"title", "abstract", "tiab", "textword", "keyword", "mesh", "majr", "mesh_noexp", "majr_noexp"}
)


def query_text(node: Node) -> str:
    """The topical words of a query, in order: free text, phrases and title/abstract
    tags; not the excluded side of a NOT, nor authors, journals, years or ids."""
    parts: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, FreeText):
            parts.append(" ".join(n.words))
        elif isinstance(n, Tagged):
            if n.key in TOPIC_KEYS:
                parts.append(" ".join(n.words))
        elif isinstance(n, Phrase):
            if n.key is None or n.key in TOPIC_KEYS:
                parts.append(n.text)
        elif isinstance(n, (And, Or)):
            for child in n.children:
                walk(child)
        elif isinstance(n, Not):
            walk(n.positive)

    walk(node)
    return " ".join(p for p in parts if p.strip())


__all__ = ["TOPIC_KEYS", "query_text"]
