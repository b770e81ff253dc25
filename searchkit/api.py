"""The documented Python API's searching entry point, with every stage plugged in.

:func:`searchkit.searching.search.search` ranks by words, and by meaning only when it is
handed the optional semantic stage: the searching layer never imports it. This module
is where the two meet, for ``searchkit.search``.
"""

from __future__ import annotations

from typing import Any

from searchkit.index.searchindex import SearchIndex
from searchkit.searching.search import SearchResult
from searchkit.searching.search import search as _search


def search(index: SearchIndex, query: str, **options: Any) -> SearchResult:
    """:func:`searchkit.searching.search.search` (see it for ``options``), re-ranking by
    meaning when the index has sentence vectors (``searchkit embed``) unless
    ``semantic_rank=False``."""
    if "meaning" not in options:
        from searchkit.semantic.provider import PROVIDER

        options["meaning"] = PROVIDER
    return _search(index, query, **options)


__all__ = ["search"]
