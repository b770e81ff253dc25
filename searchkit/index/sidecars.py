"""Data a later stage keeps in a folder of the index directory: a *sidecar*.

The optional semantic stage stores sentence vectors beside the index's own files.
The index layer must not import it, yet a rebuild has to carry those files over to
the new directory, and ``stats`` reports them. A :class:`Sidecar` is how the index
sees such data: the caller that knows the later stage (the CLI) passes its sidecars
in, and the index calls them without knowing what they hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Sidecar(Protocol):
    """Files another stage keeps in one folder of an index directory."""

    #: The name ``stats`` reports the sidecar's size under.
    name: str

    def carry_over(self, source_index: Path, target_index: Path) -> None:
        """Copy what is current in ``source_index`` into ``target_index`` (a rebuilt
        index that has none yet); called under the index lock."""

    def size(self, index_path: Path) -> int:
        """How many entries the sidecar holds for the index at ``index_path``."""


__all__ = ["Sidecar"]
