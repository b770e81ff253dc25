"""The semantic stage as searches take it, loaded only when an index can use it.

A search ranks by meaning only on an index with sentence vectors (``searchkit embed``)
or when ``--semantic`` asks for it; on any other index, finding that out needs one
file's absence, not the encoder's, models' and vector store's modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from searchkit.semantic import MANIFEST, VECTORS_DIR
from searchkit.semantic.topics import query_text

if TYPE_CHECKING:
    from searchkit.query.syntax import Node
    from searchkit.searching.pipeline import MeaningProvider, MeaningStage


class LazyProvider:
    """:class:`searchkit.searching.pipeline.MeaningProvider`: the semantic stage's
    (:data:`searchkit.semantic.stage.PROVIDER`), imported when first needed. Searches
    take it; ``searchkit embed`` takes the stage itself (a ``MeaningEmbedder``)."""

    def __init__(self) -> None:
        self._loaded: MeaningProvider | None = None

    def _provider(self) -> MeaningProvider:
        if self._loaded is None:
            from searchkit.semantic.stage import PROVIDER

            self._loaded = PROVIDER
        return self._loaded

    def wants(self, node: Node) -> bool:
        return bool(query_text(node))  # the stage's own test, without loading it

    def open(self, index_path: Path, wanted: bool | None) -> tuple[MeaningStage | None, str | None]:
        if wanted is False:
            return None, None
        if wanted is None and not (Path(index_path) / VECTORS_DIR / MANIFEST).exists():
            return None, None  # no vectors: the stage would find none
        return self._provider().open(index_path, wanted)

    def missing_note(self, missing: int) -> str | None:
        return self._provider().missing_note(missing)


#: What the command line and :func:`searchkit.search` hand a search.
PROVIDER = LazyProvider()
