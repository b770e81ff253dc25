"""What storing sentence vectors reports, as every backend's ``embed`` does it (the
semantic stage locally, the collection's documents on a cluster): defined here, below
both, so that the :class:`~searchkit.searching.backend.Backend` interface names them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

#: Told (done, total, seconds so far) before the first record and as records are encoded.
EmbedProgress = Callable[[int, int, float], None]


@dataclass
class EmbedReport:
    records: int = 0  # records in the index
    encoded: int = 0  # texts encoded by this run
    current: int = 0  # records that already had a current vector
    no_text: int = 0  # records with neither title nor abstract (never encoded)
    stored: int = 0  # vectors in the store afterwards
    seconds: float = 0.0
    model: str = ""
    threads: int = 0  # encoder threads
    damaged: str | None = None  # why the stored vectors were discarded, if they were
