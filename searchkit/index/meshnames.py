"""How MeSH headings, qualifiers and entry terms are compared: :func:`normalize`.

Shared by the MeSH fields and tags (:mod:`searchkit.index.mesh`) and the MeSH tree
(:mod:`searchkit.index.meshtree`), so that a search loads the tree's module only when
a query explodes a heading.
"""

from __future__ import annotations

import re
import unicodedata

_WORDS = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """How headings and terms are compared: lower case, accents folded, words only
    (punctuation and runs of space become one space)."""
    if text.isascii():
        return " ".join(_WORDS.findall(text.lower()))
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_WORDS.findall(folded.casefold()))


__all__ = ["normalize"]
